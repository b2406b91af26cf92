/* learnertest: fixtures and references shared by test_learners and test_finetune. */
#ifndef KSHOT_LEARNERTEST_H
#define KSHOT_LEARNERTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learners/learner.h"
#include "learners/mlp.h"

#define MAX_ROWS 64    /* rows of any matrix a test builds */
#define MAX_WIDTH 16   /* widest layer of any test network */
#define MAX_RECORDS 8
#define MAX_SCORES (MAX_ROWS * MAX_WIDTH)

/* ---- the recorder ---- */

/* What the learner reported: one entry per call, scores copied. */
struct capture {
    size_t n_scores;               /* n_query · out_dim of the episode */
    int stop_with;                 /* non-zero: return this from every call */
    int n;                         /* calls so far */
    int step[MAX_RECORDS];
    bool logits[MAX_RECORDS];
    float scores[MAX_RECORDS][MAX_SCORES];
};

/* A learner_record_fn filling the struct capture arg points at. */
int capture_record(void *arg, int step, const float *scores, bool logits);

/* Run learner s on t with a fresh capture; returns adapt's code. */
int run(const struct learner_settings *s, const struct fewshot *t, struct learner_ctx *c,
        struct capture *cap);

/* ---- settings and networks ---- */

/* The config schema's defaults for a learner of this kind. */
struct learner_settings settings(const char *kind);

/* A network of arch a holding exactly the n given parameters. */
void net_with(struct mlp *net, const struct mlp_arch *a, const float *params, size_t n);

/* Deterministic, irregular parameters for the larger test networks. */
void net_formula(struct mlp *net, const struct mlp_arch *a, double salt);

/* The small pretrained network most tests share: 3 → 4 (ReLU) → 2 with
 * fixed parameters (small_net), and a 3-way episode for it (small_task):
 * 5 support rows (classes of 1, 2, 2 rows, so no bias gradient of a zero
 * head is exactly 0) and 4 queries, small_xq (4, 3). */
extern const struct mlp_arch small_arch;
extern const float small_xq[4 * 3];
void small_net(struct mlp *net);
struct fewshot small_task(void);

/* A snapshot of a network's parameters and counter. */
struct snapshot {
    float p[512];
    size_t n;
    uint64_t flops;
};

void snap(struct snapshot *sn, const struct mlp *net);
void assert_unchanged(const struct snapshot *sn, const struct mlp *net);

/* small_net(net), snap(before, net), then small_task(): how the tests that
 * check the pretrained network is never written begin. */
struct fewshot small_fixture(struct mlp *net, struct snapshot *before);

/* ---- independent references ---- */

/* Rows x (n, sizes[0]) through layers 0..upto-1 in double, by naive loops
 * that walk the arena in the documented order (W row-major, then b).
 * Returns the smallest |pre-activation| of a hidden ReLU/tanh unit, so a
 * test can make sure no value sits on a kink. out: (n, sizes[upto]). */
double ref_forward(const struct mlp *net, const float *x, int n, int upto, double *out);

#endif
