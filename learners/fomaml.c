/* fomaml: first-order MAML (Finn, Abbeel and Levine 2017, section 5.2) —
 * maml.c's meta-training without the second-order terms: a task's
 * meta-gradient is the query loss's gradient at the adapted parameters, as
 * if the inner steps did not depend on where they started. Cheaper (no
 * Hessian-vector products), and the comparison with maml shows what the
 * second-order terms buy. Test time as maml's. */
#include "learners/metalearn.h"

static const struct meta_rule rule = {.second_order = false};

static const struct kind_key keys[] = {META_TEST_KEYS, META_KEYS, {"meta.inner_lr", NULL},
                                       META_GRAD_KEYS, {NULL, NULL}};

META_PRETRAIN(rule)

const struct learner_kind learner_fomaml = {
    .name = "fomaml",
    .summary = "first-order MAML: maml's meta-training without the second-order terms, then "
               "SGD steps on the support set",
    .classification_only = false,
    .logits = true,
    .keys = keys,
    META_OWN,
    .init = meta_init,
    .adapt = meta_adapt,
    TRAINER_LIFECYCLE,
};
