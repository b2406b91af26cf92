/* metasgd: Meta-SGD (Li, Zhou, Chen and Li 2017) — MAML that also
 * meta-learns one inner learning rate per parameter.
 *
 * The inner step is θ ← θ − α ⊙ ∇L_s(θ); meta-training learns θ and α by
 * the exact second-order meta-gradient (metalearn.h gives dL/dα beside
 * dL/dθ), α drawn from U[0.005, 0.1] at the start, one inner step by
 * default. α is saved with the checkpoint (its extra state) and used at
 * test time: `steps` steps of θ ← θ − α ⊙ ∇ on the support set (no
 * optimizer or learning rate: α is both). When the target's ways differ
 * from meta.ways, the new zero head's weights take the mean of the learned
 * head weights' rates, and its biases the mean of the learned bias rates. */
#include "learners/metalearn.h"

#include <stdlib.h>
#include <string.h>

static const struct meta_rule rule = {.second_order = true, .learn_rates = true};

static const struct kind_key keys[] = {{"steps", "=meta.inner_steps"}, {"record_steps", NULL},
                                       META_KEYS, META_GRAD_KEYS, {NULL, NULL}};

META_PRETRAIN(rule)

struct metasgd {
    struct trainer t;   /* first: the trainer's lifecycle functions read it */
    float *rates;       /* (t.net.n_params) */
};

static double mean(const float *a, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i];
    return s / (double)n;
}

static int init(struct learner *l, struct err *e)
{
    const struct mlp *pre = l->env.pretrained;
    if (pre && (!l->env.extra || l->env.n_extra != pre->n_params))
        return err_set(e, ERR_USAGE, "metasgd: the pretraining holds %zu learned rates for a "
                       "network of %zu parameters (expected one per parameter)", l->env.n_extra,
                       pre->n_params);
    struct metasgd *m = calloc(1, sizeof *m);
    if (!m)
        return err_set(e, ERR_NOMEM, "out of memory for a learner");
    l->state = m;
    int rc = meta_trainer(l, &m->t, 0, e);
    if (rc)
        return rc;
    const struct mlp_arch a = m->t.net.arch;
    const struct mlp *net = &m->t.net;
    if (!(m->rates = malloc(sizeof *m->rates * net->n_params)))
        return err_set(e, ERR_NOMEM, "out of memory for a learner");
    const size_t body = mlp_body_size(net);
    memcpy(m->rates, l->env.extra, sizeof *m->rates * body);
    if (net->n_params == pre->n_params) {
        memcpy(m->rates + body, l->env.extra + body, sizeof *m->rates * (net->n_params - body));
    } else {
        const int h = a.n_layers - 1;
        const float *old = l->env.extra;
        float rw = (float)mean(old + pre->w_off[h], pre->b_off[h] - pre->w_off[h]);
        float rb = (float)mean(old + pre->b_off[h], pre->n_params - pre->b_off[h]);
        for (size_t i = net->w_off[h]; i < net->n_params; i++)
            m->rates[i] = i < net->b_off[h] ? rw : rb;
    }
    m->t.rates = m->rates;
    return ERR_OK;
}

static int adapt(struct learner *l, const struct fewshot *ep, struct rng *r,
                 learner_record_fn rec, void *arg, struct err *e)
{
    return meta_adapt_from(l, &((struct metasgd *)l->state)->t, 0, ep, r, rec, arg, e);
}

static void release(struct learner *l)
{
    struct metasgd *m = l->state;
    if (m)
        free(m->rates);
    trainer_kind_release(l);
}

const struct learner_kind learner_metasgd = {
    .name = "metasgd",
    .summary = "Meta-SGD (Li et al. 2017): an initialisation and one inner learning rate per "
               "parameter, meta-learned second order; test time steps with those rates",
    .classification_only = false,
    .logits = true,
    .keys = keys,
    META_OWN,
    .init = init,
    .adapt = adapt,
    .predict = trainer_kind_predict,
    .input_grad = trainer_kind_input_grad,
    .release = release,
    .cost = trainer_cost,
};
