/* anil: Almost No Inner Loop (Raghu, Raghu, Bengio and Vinyals 2020) — MAML
 * whose inner loop adapts the head alone. The body is meta-learned through
 * the head's inner steps (second order: the Hessian's body–head block,
 * metalearn.h); at test time the body is frozen and `steps` SGD steps at
 * `lr` (by default the inner loop's) train the head on the support set's
 * features — a new zero head when the target's ways differ from meta.ways.
 * The body never changes at test time, so the harness may compute its
 * features once per image (learner_kind.frozen). */
#include "learners/metalearn.h"

#include <stdlib.h>

static const struct meta_rule rule = {.second_order = true, .head_only = true};

static const struct kind_key keys[] = {META_TEST_KEYS, META_KEYS, {"meta.inner_lr", NULL},
                                       META_GRAD_KEYS, {NULL, NULL}};

static int pretrain(const struct learner_settings *s, const struct pretrain_env *env,
                    struct mlp *net, float **extra, size_t *n_extra, struct pretrain_result *res,
                    struct err *e)
{
    return meta_pretrain(&rule, s, env, net, extra, n_extra, res, e);
}

static uint64_t pretrain_cost(const struct learner_settings *s, int rows, int qrows,
                              const struct mlp_arch *net)
{
    return meta_pretrain_cost(&rule, s, rows, qrows, net);
}

static int frozen(const struct learner_settings *s, const struct mlp_arch *pre)
{
    return pre->n_layers - 1;
}

/* The trainer's net is the head alone, behind the body as its prefix. */
static int init(struct learner *l, struct err *e)
{
    const struct mlp *pre = l->env.pretrained;
    int rc = learner_check_pretrained(pre, &l->shape, l->shape.ways == 0, e);
    if (rc)
        return rc;
    struct trainer *t = calloc(1, sizeof *t);
    if (!t)
        return err_set(e, ERR_NOMEM, "out of memory for a learner");
    l->state = t;
    const int p = pre->arch.n_layers - 1;
    struct mlp_arch head = {.n_layers = 1, .act = pre->arch.act,
                            .sizes = {pre->arch.sizes[p], l->shape.out_dim}};
    return trainer_init(t, &head, pre, p, l->cap, l->shape.n_support, &l->s.optim, e);
}

static int adapt(struct learner *l, const struct fewshot *ep, struct rng *r,
                 learner_record_fn rec, void *arg, struct err *e)
{
    struct trainer *t = l->state;
    const struct mlp *pre = l->env.pretrained;
    const int p = pre->arch.n_layers - 1;
    trainer_load(t, pre->params + pre->w_off[p], pre->arch.sizes[p + 1] != l->shape.out_dim,
                 INIT_ZERO, r);
    return trainer_fit(t, l, ep, rec, arg, e);
}

const struct learner_kind learner_anil = {
    .name = "anil",
    .summary = "MAML whose inner loop adapts the head alone (Raghu et al. 2020): a "
               "meta-learned body, frozen at test time, and SGD steps on a head",
    .classification_only = false,
    .logits = true,
    .keys = keys,
    .pretraining = meta_pretraining,
    .no_source_hint = "",
    .pretrain = pretrain,
    .per_shots = meta_per_shots,
    .pretrain_cost = pretrain_cost,
    .frozen = frozen,
    .init = init,
    .adapt = adapt,
    TRAINER_LIFECYCLE,
};
