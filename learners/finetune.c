/* finetune: the pretrained network, a new head, trained on the support set.
 *
 * Classification gets a new head with one output per way, initialised as
 * settings.head says (zero by default); regression keeps the pretrained
 * head, whose outputs already mean the same thing. freeze: body trains the
 * head only (a linear probe); freeze: [layers] keeps the listed layers.
 *
 * Frozen layers at the bottom (layers 0..p−1, e.g. the whole body of a
 * linear probe) are the trainer's prefix: the support set goes through them
 * once per episode and only the layers above them are built and trained
 * (trainer.h says why the numbers are those of training the whole network).
 * Not here: layer-wise learning rates, unfreezing during training. */
#include "learners/trainer.h"

#include <stdlib.h>

static const struct kind_key keys[] = {TRAINER_KEYS, {"freeze", NULL}, {"head", NULL},
                                       {NULL, NULL}};

static int pretraining(const struct learner_settings *s)
{
    return PRETRAIN_SHARED;
}

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

/* Frozen layers at the bottom; the head always stays in the trained part. */
static int frozen_prefix(const struct learner_settings *s, int n_layers)
{
    int p = 0;
    while (p < n_layers - 1 && frozen(s, p, n_layers))
        p++;
    return p;
}

static int frozen_layers(const struct learner_settings *s, const struct mlp_arch *pre)
{
    return frozen_prefix(s, pre->n_layers);
}

struct finetune {
    struct trainer t;
    int p;               /* frozen prefix: the trainer's net is layers p.. */
};

struct which {
    const struct learner_settings *s;
    int p, n_layers;
};

/* Layer l of the trainer's net is layer p + l of the model. */
static bool trainable(int l, const void *arg)
{
    const struct which *w = arg;
    return !frozen(w->s, w->p + l, w->n_layers);
}

static int init(struct learner *l, struct err *e)
{
    const struct mlp *pre = l->env.pretrained;
    int rc = learner_check_pretrained(pre, &l->shape, l->shape.ways == 0, e);
    if (rc)
        return rc;
    struct finetune *f = calloc(1, sizeof *f);
    if (!f)
        return err_set(e, ERR_NOMEM, "out of memory for a learner");
    l->state = f;
    const struct mlp_arch *pa = &pre->arch;
    f->p = frozen_prefix(&l->s, pa->n_layers);
    struct mlp_arch top = {.n_layers = pa->n_layers - f->p, .act = pa->act};
    for (int i = 0; i <= top.n_layers; i++)
        top.sizes[i] = pa->sizes[f->p + i];
    top.sizes[top.n_layers] = l->shape.out_dim;
    if ((rc = trainer_init(&f->t, &top, pre, f->p, l->cap, l->shape.n_support, &l->s.optim, e)))
        return rc;
    trainer_trainable(&f->t, trainable, &(struct which){&l->s, f->p, pa->n_layers});
    return ERR_OK;
}

/* The trained layers: the pretrained ones from p on (a suffix of the
 * pretrained arena, its head last), then a new head (classification) or
 * the pretrained head (regression). */
static int adapt(struct learner *l, const struct fewshot *ep, struct rng *r,
                 learner_record_fn rec, void *arg, struct err *e)
{
    struct finetune *f = l->state;
    const struct mlp *pre = l->env.pretrained;
    trainer_load(&f->t, pre->params + pre->w_off[f->p], l->shape.ways > 0,
                 (enum init_kind)l->s.head, r);
    return trainer_fit(&f->t, l, ep, rec, arg, e);
}

const struct learner_kind learner_finetune = {
    .name = "finetune",
    .summary = "the pretrained network with a new head, trained on the support set "
               "(freeze: body makes it a linear probe)",
    .classification_only = false,
    .logits = true,
    .keys = keys,
    .pretraining = pretraining,
    .no_source_hint = "",
    .frozen = frozen_layers,
    .init = init,
    .adapt = adapt,
    TRAINER_LIFECYCLE,
    .body = trainer_kind_body,
};
