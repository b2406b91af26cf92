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

/* What the learner reported: one entry per recorded step, the model's
 * query scores (model_predict on the episode's queries, or
 * model_predict_features on their features when the episode gives them)
 * copied. */
struct capture {
    size_t n_scores;               /* n_query · out_dim of the episode */
    const float *xq;               /* the episode's queries */
    const float *fq;               /* their features, or NULL */
    int n_query;
    int stop_with;                 /* non-zero: return this from every call */
    int n;                         /* calls so far */
    int step[MAX_RECORDS];
    bool logits[MAX_RECORDS];
    float scores[MAX_RECORDS][MAX_SCORES];
};

/* A learner_record_fn filling the struct capture arg points at. */
int capture_record(void *arg, int step, struct learner_model *m);
/* A fresh capture for episode t. */
void capture_init(struct capture *cap, const struct fewshot *t);

/* What a test's learner is built on, and what it did. */
struct fixture_ctx {
    const struct mlp *pretrained;
    struct mlp_arch arch;          /* fresh networks */
    int init;
    struct rng rng;                /* the episode's learner stream */
    uint64_t flops;                /* out: operations, added up over runs */
};

/* An environment on pre (may be NULL) for fresh networks of arch: with one
 * rate of 0.05 per parameter of pre as its extra state, what a Meta-SGD
 * pretraining saves (other kinds ignore it). */
struct learner_env test_env(const struct mlp *pre, const struct mlp_arch *arch, int init);

/* Build a learner of s for t's shape on c, adapt it to t with a fresh
 * capture, free it; returns the first failing code (learner_new's or
 * adapt's). It also checks that predict on the model adapt returns gives
 * exactly the scores recorded after the last step (from features when t
 * gives them). */
int run(const struct learner_settings *s, const struct fewshot *t, struct fixture_ctx *c,
        struct capture *cap);

/* run(), but the learner is kept for further checks on its model (*m);
 * the caller frees it. */
struct learner *run_kept(const struct learner_settings *s, const struct fewshot *t,
                         struct fixture_ctx *c, struct capture *cap, struct learner_model **m);

/* The largest |dx − reference|, relative to the largest |reference|, of
 * the model's input gradient at (x, y) (n rows of dim inputs, labels y)
 * against central differences of loss, a double-precision reference of the
 * model's mean cross-entropy: loss(arg, x) for inputs x (n, dim). */
double input_grad_vs(struct learner_model *m, const float *x, const int *y, int n, int dim,
                     double (*loss)(const void *arg, const double *x), const void *arg);

/* Mean softmax cross-entropy of scores (n, classes) in double. */
double ref_xent(const double *scores, const int *y, int n, int classes);

/* ---- settings and networks ---- */

/* Fixture settings of a learner of this kind: PyTorch's Adam at lr 0.001,
 * 20 steps, a zero head, euclidean distance, k 1, feature space; each test
 * sets what it exercises. */
struct learner_settings settings(const char *kind);

/* A network of arch a holding exactly the n given parameters, listed in
 * PyTorch's order (each layer's W (out, in) row-major, then its b). */
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
 * that walk the arena in the documented order (W (in, out) row-major, then b).
 * Returns the smallest |pre-activation| of a hidden ReLU/tanh unit, so a
 * test can make sure no value sits on a kink. out: (n, sizes[upto]). */
double ref_forward(const struct mlp *net, const float *x, int n, int upto, double *out);
/* The same for double inputs. */
double ref_forward_d(const struct mlp *net, const double *x, int n, int upto, double *out);

#endif
