/* plantest: the experiment and plan-building helpers test_plan and test_results share. */
#ifndef KSHOT_PLANTEST_H
#define KSHOT_PLANTEST_H

#include "harness/base/err.h"
#include "harness/plan.h"

/* ---- the experiment most cases edit ---- */

/* Line numbers matter: expected messages name them. Per seed the plan is one
 * pretraining (finetune and prototypes reuse it, scratch does not), then
 * target t × learners (a, s, p) × shots (1, 2), then target u × learners ×
 * shot 1: 10 units per seed, 20 in all. */
extern const char *const base_yaml;

enum { LA, LS, LP };   /* learner indices in base_yaml */
enum { TT, TU };       /* target indices */

#define CORE "TESTCORE"

/* ---- building plans ---- */

/* Load text, apply overrides (numbered from 1 like the command line's),
 * expand, prepare and build with the given BLAS core name. */
int plan_core(struct plan *p, const char *text, const char *const *ovr, int n,
              const char *core, struct err *e);

/* The plan of text + overrides; the test fails on any error. */
void plan_ok(struct plan *p, const char *text, const char *const *ovr, int n);

#endif
