/* fomaml: first-order MAML (Finn, Abbeel and Levine 2017, section 5.2) —
 * maml.c's meta-training without the second-order terms: a task's
 * meta-gradient is the query loss's gradient at the adapted parameters, as
 * if the inner steps did not depend on where they started. Cheaper (no
 * Hessian-vector products, no tape per step needed after the forward), and
 * the comparison with maml shows what the second-order terms buy. Test time
 * as maml's. */
#include "learners/metalearn.h"

static const struct meta_rule rule = {.second_order = false};

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

const struct learner_kind learner_fomaml = {
    .name = "fomaml",
    .summary = "first-order MAML: maml's meta-training without the second-order terms, then "
               "SGD steps on the support set",
    .classification_only = false,
    .logits = true,
    .keys = keys,
    .pretraining = meta_pretraining,
    .no_source_hint = "",
    .pretrain = pretrain,
    .per_shots = meta_per_shots,
    .pretrain_cost = pretrain_cost,
    .init = meta_init,
    .adapt = meta_adapt,
    TRAINER_LIFECYCLE,
};
