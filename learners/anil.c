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

META_PRETRAIN(rule)

static int frozen(const struct learner_settings *s, const struct mlp_arch *pre)
{
    return pre->n_layers - 1;
}

/* The trainer's net is the head alone, behind the body as its prefix. */
static int init(struct learner *l, struct err *e)
{
    struct trainer *t = calloc(1, sizeof *t);
    if (!t)
        return err_set(e, ERR_NOMEM, "out of memory for a learner");
    l->state = t;
    return meta_trainer(l, t, l->env.pretrained->arch.n_layers - 1, e);
}

static int adapt(struct learner *l, const struct fewshot *ep, struct rng *r,
                 learner_record_fn rec, void *arg, struct err *e)
{
    return meta_adapt_from(l, l->state, l->env.pretrained->arch.n_layers - 1, ep, r, rec, arg, e);
}

const struct learner_kind learner_anil = {
    .name = "anil",
    .summary = "MAML whose inner loop adapts the head alone (Raghu et al. 2020): a "
               "meta-learned body, frozen at test time, and SGD steps on a head",
    .classification_only = false,
    .logits = true,
    .keys = keys,
    META_OWN,
    .frozen = frozen,
    .init = init,
    .adapt = adapt,
    TRAINER_LIFECYCLE,
};
