/* scratch: a fresh network trained on the support set alone — the
 * no-transfer baseline every transfer gain is measured against. Its
 * architecture is the experiment's network with a head of the episode's
 * size, initialised from the episode's learner stream. */
#include "learners/learner.h"

int scratch_adapt(const struct learner_settings *s, const struct fewshot *t,
                  struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);

int scratch_adapt(const struct learner_settings *s, const struct fewshot *t,
                  struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e)
{
    struct mlp_arch a = c->arch;
    a.sizes[0] = t->dim;
    a.sizes[a.n_layers] = t->out_dim;
    struct mlp net = {0};
    int rc = mlp_init(&net, &a, e);
    if (rc)
        return rc;
    mlp_init_params(&net, (enum init_kind)c->init, &c->rng);
    rc = learner_train(&net, s, t, NULL, 0, rec, arg, e);
    c->flops += net.flops;
    mlp_free(&net);
    return rc;
}
