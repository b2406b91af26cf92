/* finetune: the pretrained network, a new head, trained on the support set.
 *
 * Classification gets a new head with one output per way, initialised as
 * settings.head says (zero by default); regression keeps the pretrained
 * head, whose outputs already mean the same thing. freeze: body trains the
 * head only (a linear probe); freeze: [layers] keeps the listed layers. */
#include "learners/learner.h"

#include <string.h>

int finetune_adapt(const struct learner_settings *s, const struct fewshot *t,
                   struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);

static bool frozen(const struct learner_settings *s, int layer, int n_layers)
{
    if (s->freeze == FREEZE_BODY)
        return layer < n_layers - 1;
    if (s->freeze == FREEZE_LAYERS)
        for (int i = 0; i < s->n_frozen; i++)
            if (s->frozen[i] == layer)
                return true;
    return false;
}

int finetune_adapt(const struct learner_settings *s, const struct fewshot *t,
                   struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e)
{
    const struct mlp *pre = c->pretrained;
    struct mlp_arch a = pre->arch;
    a.sizes[a.n_layers] = t->out_dim;
    struct mlp net = {0};
    int rc = mlp_init(&net, &a, e);
    if (rc)
        return rc;
    int head = a.n_layers - 1;
    if (t->ways > 0) {
        memcpy(net.params, pre->params, sizeof(float) * mlp_body_size(pre));
        mlp_init_layer(&net, head, (enum init_kind)s->head, &c->rng);
    } else {
        mlp_copy_params(&net, pre);
    }
    /* Trainable layers are contiguous in the arena: W then b. */
    struct span spans[MLP_MAX_LAYERS];
    int n = 0;
    for (int l = 0; l < a.n_layers; l++)
        if (!frozen(s, l, a.n_layers))
            spans[n++] = (struct span){net.w_off[l],
                                       (size_t)a.sizes[l] * a.sizes[l + 1] + a.sizes[l + 1]};
    rc = learner_train(&net, s, t, spans, n, rec, arg, e);
    c->flops += net.flops;
    mlp_free(&net);
    return rc;
}
