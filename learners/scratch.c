/* scratch: a fresh network trained on the support set alone — the
 * no-transfer baseline every transfer gain is measured against. Its
 * architecture is the experiment's network with a head of the episode's
 * size, initialised from the episode's learner stream. */
#include "learners/trainer.h"

#include <stdlib.h>

static const struct kind_key keys[] = {TRAINER_KEYS, {NULL, NULL}};

static int pretraining(const struct learner_settings *s)
{
    return PRETRAIN_NONE;
}

static int init(struct learner *l, struct err *e)
{
    struct trainer *t = calloc(1, sizeof *t);
    if (!t)
        return err_set(e, ERR_NOMEM, "out of memory for a learner");
    l->state = t;
    struct mlp_arch a = l->env.arch;
    a.sizes[0] = l->shape.dim;
    a.sizes[a.n_layers] = l->shape.out_dim;
    return trainer_init(t, &a, NULL, 0, l->cap, l->shape.n_support, &l->s.optim, e);
}

static int adapt(struct learner *l, const struct fewshot *ep, struct rng *r,
                 learner_record_fn rec, void *arg, struct err *e)
{
    struct trainer *t = l->state;
    mlp_init_params(&t->net, (enum init_kind)l->env.init, r);
    return trainer_fit(t, l, ep, rec, arg, e);
}

static int predict(struct learner *l, const float *x, int n, float *scores, struct err *e)
{
    return trainer_predict(l->state, l, x, n, scores);
}

static int input_grad(struct learner *l, const float *x, const int *y, const float *tg, int n,
                      float *dx, double *loss, struct err *e)
{
    return trainer_input_grad(l->state, l, x, y, tg, n, dx, loss);
}

static void release(struct learner *l)
{
    trainer_free(l->state);
    free(l->state);
}

static uint64_t cost(const struct learner_settings *s, const struct fewshot *shape,
                     const struct mlp_arch *net)
{
    return trainer_cost(s, shape, net);
}

const struct learner_kind learner_scratch = {
    .name = "scratch",
    .summary = "a fresh network trained on the support set alone (the no-transfer baseline)",
    .classification_only = false,
    .logits = true,
    .keys = keys,
    .pretraining = pretraining,
    .no_source_hint = "",
    .init = init,
    .adapt = adapt,
    .predict = predict,
    .input_grad = input_grad,
    .release = release,
    .cost = cost,
};
