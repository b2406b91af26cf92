/* maml: Model-Agnostic Meta-Learning (Finn, Abbeel and Levine 2017) with the
 * exact second-order meta-gradient through every inner step.
 *
 * Meta-training (metalearn.h): per outer step, meta.batch tasks from the
 * source; on each, meta.inner_steps steps of plain SGD at meta.inner_lr on
 * the support set, then the query loss; its gradient with respect to the
 * initialisation, through the inner steps by exact Hessian-vector products,
 * averaged over the tasks, takes a step of meta.optimizer (Adam) at meta.lr.
 * Test time: the inner loop on the support set — `steps` SGD steps at `lr`,
 * by default the inner loop's — from the meta-learned initialisation (a new
 * zero head when the target's ways differ from meta.ways). */
#include "learners/metalearn.h"

static const struct meta_rule rule = {.second_order = true};

static const struct kind_key keys[] = {META_TEST_KEYS, META_KEYS, {"meta.inner_lr", NULL},
                                       META_GRAD_KEYS, {NULL, NULL}};

META_PRETRAIN(rule)

const struct learner_kind learner_maml = {
    .name = "maml",
    .summary = "an initialisation meta-learned by MAML with the exact second-order "
               "meta-gradient (Finn et al. 2017), then SGD steps on the support set",
    .classification_only = false,
    .logits = true,
    .keys = keys,
    META_OWN,
    .init = meta_init,
    .adapt = meta_adapt,
    TRAINER_LIFECYCLE,
};
