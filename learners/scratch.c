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

const struct learner_kind learner_scratch = {
    .name = "scratch",
    .summary = "a fresh network trained on the support set alone (the no-transfer baseline)",
    .classification_only = false,
    .logits = true,
    .baseline = true,
    .keys = keys,
    .pretraining = pretraining,
    .no_source_hint = "",
    .init = init,
    .adapt = adapt,
    TRAINER_LIFECYCLE,
};
