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

/* plan_core reading the data's files `threads` at a time (plan_core: 2). */
int plan_core_threads(struct plan *p, const char *text, const char *const *ovr, int n,
                      const char *core, int threads, struct err *e);

/* The plan of text + overrides; the test fails on any error. */
void plan_ok(struct plan *p, const char *text, const char *const *ovr, int n);

/* ---- data ---- */

/* An experiment on the IDX files of plantest_write_idx in directory
 * "%s/%s" (a format: the directory's two parts), source classes 0-2,
 * target classes 3-5, one finetune learner. */
#define PLANTEST_IDX_YAML                                                                   \
    "name: t\n"                                                                             \
    "data:\n"                                                                               \
    "  imgs: {format: idx, dir: %s/%s, scale: 255}\n"                                       \
    "network: {hidden: [4]}\n"                                                              \
    "source: {data: imgs, classes: [0, 1, 2], train: {epochs: 1, batch: 8}}\n"              \
    "targets:\n"                                                                            \
    "  t: {data: imgs, classes: [3, 4, 5], ways: 2, shots: [1], queries: 2, episodes: 3}\n" \
    "learners:\n"                                                                           \
    "  a: {kind: finetune, steps: 2}\n"

/* IDX files DIR/PREFIX-images-idx3-ubyte and -labels-idx1-ubyte: 6 classes
 * × 5 images of 4×4 bytes, a class-dependent pattern shifted by salt. */
void plantest_write_idx(const char *dir, const char *prefix, int salt);

#endif
