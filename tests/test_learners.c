/* test_learners: the few-shot learners on hand-built episodes, against
 * independent references — naive double loops through the documented
 * parameter layout for features, class means and distances, a double-
 * precision re-implementation of the head's Adam training, hand-placed
 * neighbours for knn — plus the contracts of learner.h: which steps are
 * recorded, that the shared pretrained network is never written, that the
 * same learner stream gives the same bits, and that the linear probe's
 * precomputed-feature path gives exactly the numbers of training the whole
 * network with the body frozen. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "learners/learner.h"
#include "learners/loss.h"
#include "learners/mlp.h"
#include "learners/optim.h"

#define MAX_ROWS 64    /* rows of any matrix a test builds */
#define MAX_WIDTH 16   /* widest layer of any test network */
#define MAX_RECORDS 8
#define MAX_SCORES (MAX_ROWS * MAX_WIDTH)

/* ---- the recorder --------------------------------------------------- */

/* What the learner reported: one entry per call, scores copied. */
struct capture {
    size_t n_scores;               /* n_query · out_dim of the episode */
    int stop_with;                 /* non-zero: return this from every call */
    int n;                         /* calls so far */
    int step[MAX_RECORDS];
    bool logits[MAX_RECORDS];
    float scores[MAX_RECORDS][MAX_SCORES];
};

static int capture_record(void *arg, int step, const float *scores, bool logits)
{
    struct capture *cap = arg;
    assert_true(cap->n < MAX_RECORDS);
    cap->step[cap->n] = step;
    cap->logits[cap->n] = logits;
    memcpy(cap->scores[cap->n], scores, sizeof *scores * cap->n_scores);
    cap->n++;
    return cap->stop_with;
}

/* Run learner s on t with a fresh capture; returns adapt's code. */
static int run(const struct learner_settings *s, const struct fewshot *t, struct learner_ctx *c,
               struct capture *cap)
{
    memset(cap, 0, sizeof *cap);
    cap->n_scores = (size_t)t->n_query * (size_t)t->out_dim;
    assert_true(cap->n_scores <= MAX_SCORES);
    struct err e;
    err_clear(&e);
    int rc = learner_kinds[s->kind].adapt(s, t, c, capture_record, cap, &e);
    if (rc && rc != cap->stop_with)
        print_error("adapt: %s\n", e.msg);
    return rc;
}

/* ---- settings and networks ------------------------------------------ */

/* The config schema's defaults for a learner of this kind. */
static struct learner_settings settings(const char *kind)
{
    struct learner_settings s;
    memset(&s, 0, sizeof s);
    s.kind = learner_find(kind);
    assert_true(s.kind >= 0);
    optim_defaults(&s.optim);
    s.steps = 20;
    s.freeze = FREEZE_NONE;
    s.head = INIT_ZERO;
    s.distance = DIST_EUCLIDEAN;
    s.k = 1;
    s.space = SPACE_FEATURES;
    return s;
}

static void net_with(struct mlp *net, const struct mlp_arch *a, const float *params, size_t n)
{
    struct err e;
    err_clear(&e);
    assert_int_equal(mlp_init(net, a, &e), 0);
    assert_int_equal(net->n_params, n);
    memcpy(net->params, params, sizeof *params * n);
}

/* Deterministic, irregular parameters for the larger test networks. */
static void net_formula(struct mlp *net, const struct mlp_arch *a, double salt)
{
    struct err e;
    err_clear(&e);
    assert_int_equal(mlp_init(net, a, &e), 0);
    for (size_t i = 0; i < net->n_params; i++)
        net->params[i] = (float)(0.7 * sin(1.37 * (double)i + salt));
}

/* The small pretrained network most tests share: 3 → 4 (ReLU) → 2. Layout
 * W0 (4, 3), b0 (4), W1 (2, 4), b1 (2), as mlp.h documents. */
static const struct mlp_arch small_arch = {2, {3, 4, 2}, ACT_RELU};
static const float small_params[] = {
    0.5f, -0.3f, 0.8f,   -0.6f, 0.9f, 0.1f,   0.2f, 0.4f, -0.7f,   0.7f, 0.1f, 0.3f,
    0.1f, -0.2f, 0.05f, 0.0f,
    0.3f, -0.1f, 0.2f, 0.4f,   -0.5f, 0.6f, 0.1f, -0.2f,
    0.01f, -0.02f,
};

/* A 3-way episode for it: 5 support rows (classes of 1, 2, 2 rows, so no
 * bias gradient of a zero head is exactly 0) and 4 queries. */
static const float small_xs[5 * 3] = {
    1.0f, 0.2f, 0.3f,
    -0.4f, 1.1f, 0.2f,   -0.2f, 0.8f, 0.6f,
    0.3f, -0.5f, -1.2f,  0.9f, 0.4f, -0.8f,
};
static const int small_ys[5] = {0, 1, 1, 2, 2};
static const float small_xq[4 * 3] = {
    0.8f, 0.1f, 0.5f,   -0.3f, 0.9f, 0.6f,   0.6f, -0.2f, -1.0f,   0.1f, 0.5f, 0.2f,
};

static struct fewshot small_task(void)
{
    return (struct fewshot){.ways = 3, .out_dim = 3, .dim = 3, .n_support = 5, .n_query = 4,
                            .xs = small_xs, .ys = small_ys, .xq = small_xq};
}

/* A snapshot of a network's parameters and counter. */
struct snapshot {
    float p[512];
    size_t n;
    uint64_t flops;
};

static void snap(struct snapshot *sn, const struct mlp *net)
{
    assert_true(net->n_params <= 512);
    sn->n = net->n_params;
    memcpy(sn->p, net->params, sizeof *sn->p * sn->n);
    sn->flops = net->flops;
}

static void assert_unchanged(const struct snapshot *sn, const struct mlp *net)
{
    assert_int_equal(net->n_params, sn->n);
    assert_memory_equal(net->params, sn->p, sizeof *sn->p * sn->n);
    assert_true(net->flops == sn->flops);
}

/* ---- independent references ----------------------------------------- */

/* Rows x (n, sizes[0]) through layers 0..upto-1 in double, by naive loops
 * that walk the arena in the documented order (W row-major, then b).
 * Returns the smallest |pre-activation| of a hidden ReLU/tanh unit, so a
 * test can make sure no value sits on a kink. out: (n, sizes[upto]). */
static double ref_forward(const struct mlp *net, const float *x, int n, int upto, double *out)
{
    const struct mlp_arch *a = &net->arch;
    double cur[MAX_ROWS * MAX_WIDTH], nxt[MAX_ROWS * MAX_WIDTH], margin = INFINITY;
    assert_true(n <= MAX_ROWS);
    for (int i = 0; i < n * a->sizes[0]; i++)
        cur[i] = x[i];
    const float *p = net->params;
    for (int l = 0; l < upto; l++) {
        int nin = a->sizes[l], nout = a->sizes[l + 1];
        assert_true(nout <= MAX_WIDTH);
        const float *w = p, *b = p + nin * nout;
        bool hidden = l < a->n_layers - 1 && a->act != ACT_IDENTITY;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < nout; j++) {
                double z = b[j];
                for (int k = 0; k < nin; k++)
                    z += (double)w[j * nin + k] * cur[i * nin + k];
                if (hidden) {
                    margin = fmin(margin, fabs(z));
                    z = a->act == ACT_RELU ? fmax(z, 0.0) : tanh(z);
                }
                nxt[i * nout + j] = z;
            }
        memcpy(cur, nxt, sizeof(double) * (size_t)(n * nout));
        p += nin * nout + nout;
    }
    memcpy(out, cur, sizeof(double) * (size_t)(n * a->sizes[upto]));
    return margin;
}

/* A linear head in double: scores = f·Wᵀ + b, W (out, fdim). */
struct ref_head {
    int fdim, out;
    double w[MAX_WIDTH * MAX_WIDTH], b[MAX_WIDTH];
};

static void ref_head_scores(const struct ref_head *h, const double *f, int n, double *scores)
{
    for (int i = 0; i < n; i++)
        for (int c = 0; c < h->out; c++) {
            double z = h->b[c];
            for (int j = 0; j < h->fdim; j++)
                z += h->w[c * h->fdim + j] * f[i * h->fdim + j];
            scores[i * h->out + c] = z;
        }
}

/* `steps` full-batch Adam steps (PyTorch's rule, in double) on the mean
 * softmax cross-entropy (ys given) or the mean squared error (ts given) of
 * the head over features f (n, fdim). Returns the smallest non-zero
 * |gradient| met, so a test can check that no update hinged on a value
 * near zero (where Adam's normalisation would amplify rounding). */
static double ref_train_head(struct ref_head *h, const double *f, int n, const int *ys,
                             const float *ts, const struct optim_settings *o, long steps)
{
    enum { P = MAX_WIDTH * MAX_WIDTH + MAX_WIDTH };
    double m[P] = {0}, v[P] = {0}, g[P], s[MAX_ROWS * MAX_WIDTH], smallest = INFINITY;
    int nw = h->out * h->fdim;
    for (long t = 1; t <= steps; t++) {
        ref_head_scores(h, f, n, s);
        memset(g, 0, sizeof g);
        for (int i = 0; i < n; i++) {
            double *row = s + i * h->out, top = row[0], sum = 0;
            for (int c = 1; c < h->out; c++)
                top = fmax(top, row[c]);
            for (int c = 0; c < h->out; c++)
                sum += exp(row[c] - top);
            for (int c = 0; c < h->out; c++) {
                double d = ys ? (exp(row[c] - top) / sum - (ys[i] == c)) / n
                              : 2.0 * (row[c] - ts[i * h->out + c]) / (n * h->out);
                for (int j = 0; j < h->fdim; j++)
                    g[c * h->fdim + j] += d * f[i * h->fdim + j];
                g[nw + c] += d;
            }
        }
        double bc1 = 1 - pow(o->beta1, (double)t), bc2 = 1 - pow(o->beta2, (double)t);
        for (int i = 0; i < nw + h->out; i++) {
            if (g[i] != 0)
                smallest = fmin(smallest, fabs(g[i]));
            m[i] = o->beta1 * m[i] + (1 - o->beta1) * g[i];
            v[i] = o->beta2 * v[i] + (1 - o->beta2) * g[i] * g[i];
            double *p = i < nw ? &h->w[i] : &h->b[i - nw];
            *p -= o->lr / bc1 * m[i] / (sqrt(v[i]) / sqrt(bc2) + o->eps);
        }
    }
    return smallest;
}

static bool all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

static int argmax(const float *row, int n)
{
    int best = 0;
    for (int j = 1; j < n; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

/* ---- registry ------------------------------------------------------- */

static void registry_finds_each_kind_and_says_what_needs_pretraining(void **state)
{
    static const char *names[] = {"scratch", "finetune", "prototypes", "knn"};
    assert_int_equal(learner_n_kinds, 4);
    for (int i = 0; i < 4; i++) {
        int k = learner_find(names[i]);
        assert_true(k >= 0 && k < learner_n_kinds);
        assert_string_equal(learner_kinds[k].name, names[i]);
        assert_non_null(learner_kinds[k].adapt);
        assert_true(strlen(learner_kinds[k].summary) > 10);
    }
    assert_int_equal(learner_find("maml"), -1);
    assert_int_equal(learner_find("Scratch"), -1);
    assert_int_equal(learner_find("knn "), -1);
    assert_int_equal(learner_find(""), -1);

    struct learner_settings s = settings("scratch");
    s.space = SPACE_FEATURES;  // a knn-only setting changes nothing for scratch
    assert_false(learner_kinds[learner_find("scratch")].needs_pretrain(&s));
    for (int f = FREEZE_NONE; f <= FREEZE_LAYERS; f++) {
        s.freeze = f;
        assert_true(learner_kinds[learner_find("finetune")].needs_pretrain(&s));
    }
    s.distance = DIST_COSINE;
    assert_true(learner_kinds[learner_find("prototypes")].needs_pretrain(&s));
    s.space = SPACE_FEATURES;
    assert_true(learner_kinds[learner_find("knn")].needs_pretrain(&s));
    s.space = SPACE_INPUT;
    assert_false(learner_kinds[learner_find("knn")].needs_pretrain(&s));

    assert_false(learner_kinds[learner_find("scratch")].classification_only);
    assert_false(learner_kinds[learner_find("finetune")].classification_only);
    assert_true(learner_kinds[learner_find("prototypes")].classification_only);
    assert_true(learner_kinds[learner_find("knn")].classification_only);
}

/* ---- prototypes ----------------------------------------------------- */

/* Class means (ways, fdim) of the reference features of the support set. */
static void ref_means(const double *fs, const int *ys, int n, int ways, int fdim, double *mu)
{
    int count[MAX_WIDTH] = {0};
    memset(mu, 0, sizeof *mu * (size_t)(ways * fdim));
    for (int i = 0; i < n; i++) {
        count[ys[i]]++;
        for (int j = 0; j < fdim; j++)
            mu[ys[i] * fdim + j] += fs[i * fdim + j];
    }
    for (int c = 0; c < ways; c++)
        for (int j = 0; j < fdim; j++)
            mu[c * fdim + j] /= count[c];
}

static void prototypes_euclidean_scores_are_minus_squared_distances(void **state)
{
    struct mlp pre;
    net_with(&pre, &small_arch, small_params, sizeof small_params / sizeof *small_params);
    struct snapshot before;
    snap(&before, &pre);
    struct fewshot t = small_task();
    double fs[5 * 4], fq[4 * 4], mu[3 * 4];
    double margin = fmin(ref_forward(&pre, t.xs, 5, 1, fs), ref_forward(&pre, t.xq, 4, 1, fq));
    assert_true(margin > 0.01);  // no feature sits on the ReLU kink
    ref_means(fs, t.ys, 5, 3, 4, mu);

    struct learner_settings s = settings("prototypes");
    struct learner_ctx c = {.pretrained = &pre};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.step[0], -1);
    assert_true(cap.logits[0]);
    // at least the two body forwards: 2·rows·3·4 multiply-adds
    assert_true(c.flops >= 2ull * (5 + 4) * 3 * 4);
    double spread = 0;
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++) {
            double d2 = 0;
            for (int j = 0; j < 4; j++)
                d2 += (fq[i * 4 + j] - mu[k * 4 + j]) * (fq[i * 4 + j] - mu[k * 4 + j]);
            assert_close(cap.scores[0][i * 3 + k], -d2, 1e-6, 1e-5);
            spread = fmax(spread, d2);
        }
    assert_true(spread > 0.1);  // the distances are not all alike
    assert_unchanged(&before, &pre);
    mlp_free(&pre);
}

static void prototypes_cosine_scores_are_cosines_to_the_class_means(void **state)
{
    struct mlp pre;
    net_with(&pre, &small_arch, small_params, sizeof small_params / sizeof *small_params);
    struct fewshot t = small_task();
    double fs[5 * 4], fq[4 * 4], mu[3 * 4];
    ref_forward(&pre, t.xs, 5, 1, fs);
    ref_forward(&pre, t.xq, 4, 1, fq);
    ref_means(fs, t.ys, 5, 3, 4, mu);

    struct learner_settings s = settings("prototypes");
    s.distance = DIST_COSINE;
    struct learner_ctx c = {.pretrained = &pre};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.step[0], -1);
    assert_true(cap.logits[0]);
    assert_true(c.flops > 0);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++) {
            double dot = 0, nq = 0, nm = 0;
            for (int j = 0; j < 4; j++) {
                dot += fq[i * 4 + j] * mu[k * 4 + j];
                nq += fq[i * 4 + j] * fq[i * 4 + j];
                nm += mu[k * 4 + j] * mu[k * 4 + j];
            }
            assert_close(cap.scores[0][i * 3 + k], dot / sqrt(nq * nm), 1e-6, 1e-5);
        }
    mlp_free(&pre);
}

/* With no hidden layer the body is empty: the features are the inputs. */
static void prototypes_of_a_headonly_network_use_the_inputs(void **state)
{
    const struct mlp_arch a = {1, {2, 5}, ACT_RELU};
    struct mlp pre;
    net_formula(&pre, &a, 0.3);
    const float xs[4 * 2] = {0, 0, 0, 2, 4, 0, 4, 2};  // means (0, 1) and (4, 1)
    const int ys[4] = {0, 0, 1, 1};
    const float xq[2 * 2] = {1, 1, 3, -1};
    struct fewshot t = {.ways = 2, .out_dim = 2, .dim = 2, .n_support = 4, .n_query = 2,
                        .xs = xs, .ys = ys, .xq = xq};
    struct learner_settings s = settings("prototypes");
    struct learner_ctx c = {.pretrained = &pre};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    const float want[4] = {-1, -9, -13, -5};
    for (int i = 0; i < 4; i++)
        assert_close(cap.scores[0][i], want[i], 0, 0);
    mlp_free(&pre);
}

/* ---- knn ------------------------------------------------------------ */

/* knn in input space on 1-d points (dim 1) with the given labels. */
static int knn_line(const float *xs, const int *ys, int n, int ways, float q, long k,
                    struct capture *cap)
{
    struct fewshot t = {.ways = ways, .out_dim = ways, .dim = 1, .n_support = n, .n_query = 1,
                        .xs = xs, .ys = ys, .xq = &q};
    struct learner_settings s = settings("knn");
    s.space = SPACE_INPUT;
    s.k = k;
    struct learner_ctx c = {0};
    int rc = run(&s, &t, &c, cap);
    assert_int_equal(cap->n, 1);
    assert_int_equal(cap->step[0], -1);
    assert_false(cap->logits[0]);
    assert_true(c.flops > 0);
    return rc;
}

/* The integer part of each score is the class's vote count. */
static void assert_votes(const float *scores, const int *votes, int ways)
{
    for (int c = 0; c < ways; c++)
        assert_int_equal((int)floorf(scores[c]), votes[c]);
}

static void knn_k1_picks_the_nearest_support_example_in_input_space(void **state)
{
    // 2-d, 3 classes; each query's nearest example is worked out by hand
    const float xs[4 * 2] = {0, 0, 5, 5, 0, 5, 5.2f, 4.8f};
    const int ys[4] = {0, 1, 2, 0};
    const float xq[3 * 2] = {4.9f, 4.9f, 1, 4, 5.3f, 4.6f};
    const int want[3] = {1, 2, 0};  // (5,5) at 0.02 vs (5.2,4.8) at 0.2; (0,5); (5.2,4.8)
    struct fewshot t = {.ways = 3, .out_dim = 3, .dim = 2, .n_support = 4, .n_query = 3,
                        .xs = xs, .ys = ys, .xq = xq};
    struct learner_settings s = settings("knn");
    s.space = SPACE_INPUT;
    struct learner_ctx c = {0};  // no pretrained network: input space needs none
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.step[0], -1);
    assert_false(cap.logits[0]);
    for (int i = 0; i < 3; i++) {
        int votes[3] = {0, 0, 0};
        votes[want[i]] = 1;
        assert_votes(cap.scores[0] + i * 3, votes, 3);
        assert_int_equal(argmax(cap.scores[0] + i * 3, 3), want[i]);
    }
}

static void knn_k1_in_feature_space_differs_from_input_space(void **state)
{
    // body 2 → 2 (ReLU) keeping relu(x0) only: the second input is ignored
    const struct mlp_arch a = {2, {2, 2, 1}, ACT_RELU};
    const float p[] = {1, 0, 0, 0, /* b0 */ 0, 0, /* head */ 1, 1, 0};
    struct mlp pre;
    net_with(&pre, &a, p, sizeof p / sizeof *p);
    struct snapshot before;
    snap(&before, &pre);
    const float xs[2 * 2] = {0.0f, 0.1f, 1.0f, 5.0f};
    const int ys[2] = {0, 1};
    const float xq[2] = {0.9f, 0.2f};  // input: (0, 0.1) is nearer; features: 0.9 is nearer 1
    struct fewshot t = {.ways = 2, .out_dim = 2, .dim = 2, .n_support = 2, .n_query = 1,
                        .xs = xs, .ys = ys, .xq = xq};
    struct learner_settings s = settings("knn");
    struct learner_ctx c = {.pretrained = &pre};
    struct capture cap;
    s.space = SPACE_INPUT;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(argmax(cap.scores[0], 2), 0);
    s.space = SPACE_FEATURES;
    c.flops = 0;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(argmax(cap.scores[0], 2), 1);
    assert_votes(cap.scores[0], (const int[]){0, 1}, 2);
    assert_false(cap.logits[0]);
    assert_true(c.flops > 0);
    assert_unchanged(&before, &pre);
    mlp_free(&pre);
}

static void knn_cosine_compares_directions(void **state)
{
    // (10, 1) points the query's way but is far; (0.5, 0.5) is near at 45°
    const float xs[2 * 2] = {10, 1, 0.5f, 0.5f};
    const int ys[2] = {0, 1};
    const float xq[2] = {1, 0};
    struct fewshot t = {.ways = 2, .out_dim = 2, .dim = 2, .n_support = 2, .n_query = 1,
                        .xs = xs, .ys = ys, .xq = xq};
    struct learner_settings s = settings("knn");
    s.space = SPACE_INPUT;
    struct learner_ctx c = {0};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(argmax(cap.scores[0], 2), 1);
    s.distance = DIST_COSINE;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(argmax(cap.scores[0], 2), 0);
}

static void knn_k3_takes_the_majority_vote(void **state)
{
    // from the query at 0: class 0 at 1 (nearest), class 1 at 2 and 3, class 0 at 10
    const float xs[4] = {10, 3, -1, 2};
    const int ys[4] = {0, 1, 0, 1};
    struct capture cap;
    assert_int_equal(knn_line(xs, ys, 4, 2, 0, 1, &cap), 0);
    assert_int_equal(argmax(cap.scores[0], 2), 0);
    assert_votes(cap.scores[0], (const int[]){1, 0}, 2);
    assert_int_equal(knn_line(xs, ys, 4, 2, 0, 3, &cap), 0);
    assert_int_equal(argmax(cap.scores[0], 2), 1);
    assert_votes(cap.scores[0], (const int[]){1, 2}, 2);
}

static void knn_ties_go_to_the_class_of_the_nearest_tied_neighbour(void **state)
{
    struct capture cap;
    // k = 2: one vote each; class 1 holds the nearest, so it wins over the
    // lower index a plain arg-max would pick
    const float xs2[2] = {2, 1};
    const int ys2[2] = {0, 1};
    assert_int_equal(knn_line(xs2, ys2, 2, 2, 0, 2, &cap), 0);
    assert_votes(cap.scores[0], (const int[]){1, 1}, 2);
    assert_int_equal(argmax(cap.scores[0], 2), 1);
    // k = 4 over three classes: by rank the classes are 2, 1, 2, 1, so 1 and
    // 2 tie at two votes each and class 2, holding rank 0, wins
    const float xs4[5] = {1.5f, 1.0f, 2.5f, 2.0f, 9.0f};
    const int ys4[5] = {1, 2, 1, 2, 0};
    assert_int_equal(knn_line(xs4, ys4, 5, 3, 0, 4, &cap), 0);
    assert_votes(cap.scores[0], (const int[]){0, 2, 2}, 3);
    assert_int_equal(argmax(cap.scores[0], 3), 2);
    // ties stay decided however large k is: k = 40, class 1 holds rank 0
    // and ranks 21..39, class 0 ranks 1..20 (20 votes each)
    float xs40[40];
    int ys40[40];
    for (int r = 0; r < 40; r++) {
        xs40[r] = (float)(r + 1);
        ys40[r] = r == 0 || r > 20;
    }
    assert_int_equal(knn_line(xs40, ys40, 40, 2, 0, 40, &cap), 0);
    assert_votes(cap.scores[0], (const int[]){20, 20}, 2);
    assert_int_equal(argmax(cap.scores[0], 2), 1);
    // and the mirror image, so neither class index is favoured
    for (int r = 0; r < 40; r++)
        ys40[r] = !ys40[r];
    assert_int_equal(knn_line(xs40, ys40, 40, 2, 0, 40, &cap), 0);
    assert_int_equal(argmax(cap.scores[0], 2), 0);
}

static void knn_k_beyond_the_support_set_is_clamped(void **state)
{
    const float xs[3] = {1, 2, 3};
    const int ys[3] = {0, 1, 1};
    struct capture all, clamped;
    assert_int_equal(knn_line(xs, ys, 3, 2, 0, 3, &all), 0);
    assert_int_equal(knn_line(xs, ys, 3, 2, 0, 1000, &clamped), 0);
    assert_votes(clamped.scores[0], (const int[]){1, 2}, 2);
    assert_memory_equal(clamped.scores[0], all.scores[0], 2 * sizeof(float));
}

/* ---- finetune ------------------------------------------------------- */

static void probe_trains_the_head_only_as_an_independent_adam_would(void **state)
{
    struct mlp pre;
    net_with(&pre, &small_arch, small_params, sizeof small_params / sizeof *small_params);
    struct snapshot before;
    snap(&before, &pre);
    struct fewshot t = small_task();
    struct learner_settings s = settings("finetune");
    s.freeze = FREEZE_BODY;
    s.steps = 6;
    s.optim.lr = 0.05;
    struct learner_ctx c = {.pretrained = &pre};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_unchanged(&before, &pre);
    assert_int_equal(cap.n, 1);  // no record_steps: the final step only
    assert_int_equal(cap.step[0], 6);
    assert_true(cap.logits[0]);
    assert_true(c.flops > 0);

    // the reference: pretrained features by naive loops, a zero head
    // trained in double with the same Adam settings
    double fs[5 * 4], fq[4 * 4], want[4 * 3];
    ref_forward(&pre, t.xs, 5, 1, fs);
    ref_forward(&pre, t.xq, 4, 1, fq);
    struct ref_head h = {.fdim = 4, .out = 3};
    double smallest = ref_train_head(&h, fs, 5, t.ys, NULL, &s.optim, s.steps);
    assert_true(smallest > 1e-4);  // no Adam step hinged on a rounding-sized gradient
    ref_head_scores(&h, fq, 4, want);
    double moved = 0;
    for (int i = 0; i < 12; i++) {
        assert_close(cap.scores[0][i], want[i], 1e-5, 1e-4);
        moved = fmax(moved, fabs(want[i]));
    }
    assert_true(moved > 0.1);  // the head did learn something
    mlp_free(&pre);
}

/* The pretrained body under a new head of `ways` outputs drawn from a copy
 * of r (finetune draws its head from the learner stream). */
static void body_with_head(struct mlp *net, const struct mlp *pre, int ways, enum init_kind head,
                           const struct rng *r)
{
    struct mlp_arch a = pre->arch;
    a.sizes[a.n_layers] = ways;
    struct err e;
    err_clear(&e);
    assert_int_equal(mlp_init(net, &a, &e), 0);
    memcpy(net->params, pre->params, sizeof(float) * mlp_body_size(pre));
    struct rng copy = *r;
    mlp_init_layer(net, a.n_layers - 1, head, &copy);
}

static struct span layer_span(const struct mlp *net, int l)
{
    const struct mlp_arch *a = &net->arch;
    return (struct span){net->w_off[l], (size_t)a->sizes[l] * a->sizes[l + 1] + a->sizes[l + 1]};
}

/* Train net by learner_train over the given layers (the whole network seen,
 * frozen layers simply not stepped): the straightforward path finetune's
 * frozen prefix must reproduce bit for bit. */
static void train_layers(struct mlp *net, const struct learner_settings *s,
                         const struct fewshot *t, const int *layers, int n,
                         struct capture *cap)
{
    struct span spans[MLP_MAX_LAYERS];
    for (int i = 0; i < n; i++)
        spans[i] = layer_span(net, layers[i]);
    memset(cap, 0, sizeof *cap);
    cap->n_scores = (size_t)t->n_query * (size_t)t->out_dim;
    struct err e;
    err_clear(&e);
    assert_int_equal(learner_train(net, s, t, spans, n, capture_record, cap, &e), 0);
}

static void assert_same_records(const struct capture *a, const struct capture *b)
{
    assert_int_equal(a->n, b->n);
    for (int r = 0; r < a->n; r++) {
        assert_int_equal(a->step[r], b->step[r]);
        assert_int_equal(a->logits[r], b->logits[r]);
        assert_memory_equal(a->scores[r], b->scores[r], sizeof(float) * a->n_scores);
    }
}

/* 3 → 4 → 4 → 2 (ReLU), 3 ways: finetune with a frozen prefix against the
 * whole network trained with those layers left out of the optimizer, with a
 * zero head and with one drawn from the learner stream. */
static void frozen_prefix_matches_training_the_whole_network_bit_for_bit(void **state)
{
    const struct mlp_arch a = {3, {3, 4, 4, 2}, ACT_RELU};
    struct mlp pre;
    net_formula(&pre, &a, 0.5);
    struct snapshot before;
    snap(&before, &pre);
    struct fewshot t = small_task();
    struct learner_settings s = settings("finetune");
    s.steps = 5;
    s.optim.lr = 0.05;
    s.n_record = 3;
    s.record_steps[0] = 0, s.record_steps[1] = 2, s.record_steps[2] = 5;
    static const struct {
        int freeze, n_frozen, frozen[2], n_train, train[3], head;
    } cases[] = {
        {FREEZE_BODY, 0, {0}, 1, {2}, INIT_ZERO},
        {FREEZE_BODY, 0, {0}, 1, {2}, INIT_GLOROT},
        {FREEZE_LAYERS, 1, {0}, 2, {1, 2}, INIT_ZERO},
        {FREEZE_LAYERS, 2, {1, 0}, 1, {2}, INIT_TORCH},
        {FREEZE_LAYERS, 1, {1}, 2, {0, 2}, INIT_ZERO},  // not a prefix: nothing to precompute
        {FREEZE_LAYERS, 1, {2}, 2, {0, 1}, INIT_HE},    // a frozen drawn head
        {FREEZE_NONE, 0, {0}, 3, {0, 1, 2}, INIT_ZERO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s.head = cases[i].head;
        s.freeze = cases[i].freeze;
        s.n_frozen = cases[i].n_frozen;
        for (int j = 0; j < s.n_frozen; j++)
            s.frozen[j] = cases[i].frozen[j];
        struct learner_ctx c = {.pretrained = &pre};
        rng_stream(&c.rng, 11, RNG_LEARNER, i);
        struct mlp net;
        body_with_head(&net, &pre, 3, (enum init_kind)s.head, &c.rng);
        struct capture old, got;
        train_layers(&net, &s, &t, cases[i].train, cases[i].n_train, &old);
        // frozen layers of the trained network are the pretrained ones, bit
        // for bit; trained layers moved
        for (int l = 0; l < 3; l++) {
            bool trained = false;
            for (int j = 0; j < cases[i].n_train; j++)
                trained |= cases[i].train[j] == l;
            struct span sp = layer_span(&net, l);
            if (l < 2 && !trained)
                assert_memory_equal(net.params + sp.off, pre.params + sp.off, sizeof(float) * sp.n);
            if (l < 2 && trained)
                assert_true(memcmp(net.params + sp.off, pre.params + sp.off, sizeof(float) * sp.n));
        }
        assert_int_equal(run(&s, &t, &c, &got), 0);
        assert_same_records(&old, &got);
        assert_unchanged(&before, &pre);
        // a frozen prefix runs the frozen layers once, not at every step
        if (i == 0)
            printf("  probe: %llu flops, %llu through the whole network\n",
                   (unsigned long long)c.flops, (unsigned long long)net.flops);
        if (cases[i].train[0] > 0)
            assert_true(c.flops < net.flops);
        else
            assert_true(c.flops == net.flops);
        mlp_free(&net);
    }
    mlp_free(&pre);
}

static void record_steps_are_exactly_the_listed_ones(void **state)
{
    struct mlp pre;
    net_with(&pre, &small_arch, small_params, sizeof small_params / sizeof *small_params);
    struct fewshot t = small_task();
    struct learner_settings s = settings("finetune");
    s.steps = 7;   // the final step is not listed, so it is not recorded
    s.optim.lr = 0.05;
    s.n_record = 3;
    s.record_steps[0] = 0, s.record_steps[1] = 2, s.record_steps[2] = 5;
    for (int f = FREEZE_NONE; f <= FREEZE_BODY; f++) {
        s.freeze = f;
        struct learner_ctx c = {.pretrained = &pre};
        struct capture cap;
        assert_int_equal(run(&s, &t, &c, &cap), 0);
        assert_int_equal(cap.n, 3);
        assert_int_equal(cap.step[0], 0);
        assert_int_equal(cap.step[1], 2);
        assert_int_equal(cap.step[2], 5);
        for (int i = 0; i < 12; i++)  // a zero head scores 0 before any step
            assert_true(cap.scores[0][i] == 0.0f);
        assert_true(memcmp(cap.scores[1], cap.scores[2], sizeof(float) * 12) != 0);
        for (int r = 0; r < 3; r++)
            assert_true(cap.logits[r]);
    }
    mlp_free(&pre);
}

/* Regression (ways 0): the pretrained head is kept, so step 0 reports the
 * pretrained network's own outputs, and the probe trains that head by MSE. */
static void regression_keeps_the_pretrained_head_and_fits_it_by_mse(void **state)
{
    const struct mlp_arch a = {2, {1, 4, 1}, ACT_TANH};
    struct mlp pre;
    net_formula(&pre, &a, 0.2);
    struct snapshot before;
    snap(&before, &pre);
    const float xs[5] = {-2, -1, 0, 1, 2}, ts[5] = {1.5f, 0.4f, -0.2f, 0.3f, 1.1f};
    const float xq[3] = {-1.5f, 0.5f, 1.5f};
    struct fewshot t = {.ways = 0, .out_dim = 1, .dim = 1, .n_support = 5, .n_query = 3,
                        .xs = xs, .ts = ts, .xq = xq};
    struct learner_settings s = settings("finetune");
    s.freeze = FREEZE_BODY;
    s.steps = 4;
    s.optim.lr = 0.05;
    s.n_record = 2;
    s.record_steps[0] = 0, s.record_steps[1] = 4;
    struct learner_ctx c = {.pretrained = &pre};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_unchanged(&before, &pre);
    assert_int_equal(cap.n, 2);
    assert_false(cap.logits[0]);
    assert_false(cap.logits[1]);

    double out[3], fs[5 * 4], fq[3 * 4], want[3];
    ref_forward(&pre, xq, 3, 2, out);
    for (int i = 0; i < 3; i++)
        assert_close(cap.scores[0][i], out[i], 1e-6, 1e-5);
    ref_forward(&pre, xs, 5, 1, fs);
    ref_forward(&pre, xq, 3, 1, fq);
    struct ref_head h = {.fdim = 4, .out = 1};
    for (int j = 0; j < 4; j++)
        h.w[j] = pre.params[pre.w_off[1] + j];
    h.b[0] = pre.params[pre.b_off[1]];
    double smallest = ref_train_head(&h, fs, 5, NULL, ts, &s.optim, s.steps);
    assert_true(smallest > 1e-4);
    ref_head_scores(&h, fq, 3, want);
    for (int i = 0; i < 3; i++) {
        assert_close(cap.scores[1][i], want[i], 1e-5, 1e-4);
        assert_true(fabs(want[i] - out[i]) > 0.01);  // training moved the outputs
    }
    // unfrozen, the whole network trains, and still leaves the shared one alone
    s.freeze = FREEZE_NONE;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_unchanged(&before, &pre);
    assert_int_equal(cap.n, 2);
    for (int i = 0; i < 3; i++)
        assert_close(cap.scores[0][i], out[i], 1e-6, 1e-5);
    mlp_free(&pre);
}

/* ---- scratch -------------------------------------------------------- */

/* Three well-separated classes in 2-d; queries = the 9 support rows, then
 * 6 new points, so one run reports both the support loss and accuracy. */
static const float toy_xs[9 * 2] = {
    0.0f, 3.0f, 0.3f, 2.8f, -0.2f, 3.3f,
    3.0f, -2.0f, 2.7f, -1.8f, 3.2f, -2.3f,
    -3.0f, -2.0f, -2.8f, -2.4f, -3.3f, -1.7f,
};
static const int toy_ys[9] = {0, 0, 0, 1, 1, 1, 2, 2, 2};
static const float toy_new[6 * 2] = {0.1f, 3.2f, -0.3f, 2.6f, 2.9f, -2.2f, 3.4f, -1.6f,
                                     -2.6f, -2.1f, -3.1f, -2.5f};
static const int toy_new_ys[6] = {0, 0, 1, 1, 2, 2};

static struct fewshot toy_task(float *xq)
{
    memcpy(xq, toy_xs, sizeof toy_xs);
    memcpy(xq + 9 * 2, toy_new, sizeof toy_new);
    return (struct fewshot){.ways = 3, .out_dim = 3, .dim = 2, .n_support = 9, .n_query = 15,
                            .xs = toy_xs, .ys = toy_ys, .xq = xq};
}

static struct learner_ctx toy_ctx(uint64_t key)
{
    struct learner_ctx c = {.arch = {2, {0, 8, 0}, ACT_RELU}, .init = INIT_HE};
    rng_stream(&c.rng, 7, RNG_LEARNER, key);
    return c;
}

static void scratch_learns_a_separable_problem(void **state)
{
    float xq[15 * 2];
    struct fewshot t = toy_task(xq);
    struct learner_settings s = settings("scratch");
    s.steps = 50;
    s.optim.lr = 0.05;
    s.n_record = 2;
    s.record_steps[0] = 0, s.record_steps[1] = 50;
    struct learner_ctx c = toy_ctx(0);
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(cap.n, 2);
    assert_true(cap.logits[0] && cap.logits[1]);
    double first = loss_xent(cap.scores[0], toy_ys, 9, 3, NULL, NULL, NULL);
    double last = loss_xent(cap.scores[1], toy_ys, 9, 3, NULL, NULL, NULL);
    int correct = 0;
    loss_xent(cap.scores[1] + 9 * 3, toy_new_ys, 6, 3, NULL, &correct, NULL);
    printf("  scratch: support loss %.4g → %.4g, %d/6 new points right\n", first, last, correct);
    assert_true(first > 0.3);
    assert_true(last < 0.05 * first);
    assert_int_equal(correct, 6);
    assert_true(c.flops > 0);
}

static void scratch_is_a_function_of_its_learner_stream(void **state)
{
    float xq[15 * 2];
    struct fewshot t = toy_task(xq);
    struct learner_settings s = settings("scratch");
    s.steps = 3;
    struct capture a, b, other;
    struct learner_ctx c = toy_ctx(1);
    assert_int_equal(run(&s, &t, &c, &a), 0);
    c = toy_ctx(1);
    assert_int_equal(run(&s, &t, &c, &b), 0);
    c = toy_ctx(2);
    assert_int_equal(run(&s, &t, &c, &other), 0);
    assert_same_records(&a, &b);
    assert_true(memcmp(a.scores[0], other.scores[0], sizeof(float) * 45) != 0);
}

/* ---- learner_train -------------------------------------------------- */

static void zero_steps_record_step_zero_without_training(void **state)
{
    struct mlp net;
    net_with(&net, &small_arch, small_params, sizeof small_params / sizeof *small_params);
    struct snapshot before;
    snap(&before, &net);
    struct fewshot t = small_task();
    t.ways = t.out_dim = 2;
    const int ys[5] = {0, 1, 1, 0, 1};
    t.ys = ys;
    struct learner_settings s = settings("scratch");
    s.steps = 0;
    struct capture cap = {.n_scores = 4 * 2};
    struct err e;
    err_clear(&e);
    assert_int_equal(learner_train(&net, &s, &t, NULL, 0, capture_record, &cap, &e), 0);
    assert_int_equal(cap.n, 1);
    assert_int_equal(cap.step[0], 0);
    assert_true(cap.logits[0]);
    assert_memory_equal(net.params, before.p, sizeof(float) * before.n);
    double out[4 * 2];
    ref_forward(&net, t.xq, 4, 2, out);
    for (int i = 0; i < 8; i++)
        assert_close(cap.scores[0][i], out[i], 1e-6, 1e-5);
    mlp_free(&net);
}

static void divergence_is_reported_as_non_finite_scores(void **state)
{
    float xq[15 * 2];
    struct fewshot t = toy_task(xq);
    struct learner_settings s = settings("scratch");
    s.steps = 30;
    // SGD: Adam's step is bounded by lr per element, so even lr 1e6 leaves
    // Adam's scores finite on this problem; plain gradient steps explode
    s.optim.kind = OPTIM_SGD;
    s.optim.lr = 1e6;
    s.n_record = 2;
    s.record_steps[0] = 0, s.record_steps[1] = 30;
    struct learner_ctx c = toy_ctx(3);
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    assert_int_equal(cap.n, 2);
    assert_true(all_finite(cap.scores[0], cap.n_scores));
    assert_false(all_finite(cap.scores[1], cap.n_scores));
}

/* ---- the recorder's code, errors ------------------------------------ */

static void a_recorder_error_stops_every_learner_with_its_code(void **state)
{
    struct mlp pre;
    net_with(&pre, &small_arch, small_params, sizeof small_params / sizeof *small_params);
    struct fewshot t = small_task();
    for (int k = 0; k < learner_n_kinds; k++) {
        struct learner_settings s = settings(learner_kinds[k].name);
        s.steps = 4;
        s.n_record = 2;
        s.record_steps[0] = 0, s.record_steps[1] = 4;
        struct learner_ctx c = {.pretrained = &pre, .arch = small_arch, .init = INIT_HE};
        rng_stream(&c.rng, 1, RNG_LEARNER, 0);
        struct capture cap;
        memset(&cap, 0, sizeof cap);
        cap.n_scores = 12;
        cap.stop_with = 7;
        struct err e;
        err_clear(&e);
        assert_int_equal(learner_kinds[k].adapt(&s, &t, &c, capture_record, &cap, &e), 7);
        assert_int_equal(cap.n, 1);
    }
    mlp_free(&pre);
}

static void a_pretrained_network_of_another_shape_is_refused(void **state)
{
    struct mlp pre;
    net_with(&pre, &small_arch, small_params, sizeof small_params / sizeof *small_params);
    const float xs[2 * 2] = {0, 1, 1, 0};
    const int ys[2] = {0, 1};
    struct fewshot t = {.ways = 2, .out_dim = 2, .dim = 2, .n_support = 2, .n_query = 2,
                        .xs = xs, .ys = ys, .xq = xs};
    static const char *kinds[] = {"finetune", "prototypes", "knn"};
    for (int i = 0; i < 3; i++) {
        struct learner_settings s = settings(kinds[i]);
        struct learner_ctx c = {.pretrained = &pre};
        struct capture cap = {.n_scores = 4};
        struct err e;
        err_clear(&e);
        assert_int_equal(learner_kinds[s.kind].adapt(&s, &t, &c, capture_record, &cap, &e),
                         ERR_USAGE);
        assert_int_equal(cap.n, 0);
        assert_non_null(strstr(e.msg, "3 inputs"));
    }
    // regression keeps the pretrained head, so its outputs must match too
    const float ts[2 * 2] = {0, 1, 1, 0};
    struct fewshot r = {.ways = 0, .out_dim = 2, .dim = 3, .n_support = 2, .n_query = 1,
                        .xs = small_xq, .ts = ts, .xq = small_xq};
    const struct mlp_arch one = {2, {3, 4, 1}, ACT_RELU};
    struct mlp pre1;
    net_formula(&pre1, &one, 0.1);
    struct learner_settings s = settings("finetune");
    struct learner_ctx c = {.pretrained = &pre1};
    struct capture cap = {.n_scores = 2};
    struct err e;
    err_clear(&e);
    assert_int_equal(learner_kinds[s.kind].adapt(&s, &r, &c, capture_record, &cap, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "1 output"));
    mlp_free(&pre1);
    mlp_free(&pre);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_finds_each_kind_and_says_what_needs_pretraining),
        cmocka_unit_test(prototypes_euclidean_scores_are_minus_squared_distances),
        cmocka_unit_test(prototypes_cosine_scores_are_cosines_to_the_class_means),
        cmocka_unit_test(prototypes_of_a_headonly_network_use_the_inputs),
        cmocka_unit_test(knn_k1_picks_the_nearest_support_example_in_input_space),
        cmocka_unit_test(knn_k1_in_feature_space_differs_from_input_space),
        cmocka_unit_test(knn_cosine_compares_directions),
        cmocka_unit_test(knn_k3_takes_the_majority_vote),
        cmocka_unit_test(knn_ties_go_to_the_class_of_the_nearest_tied_neighbour),
        cmocka_unit_test(knn_k_beyond_the_support_set_is_clamped),
        cmocka_unit_test(probe_trains_the_head_only_as_an_independent_adam_would),
        cmocka_unit_test(frozen_prefix_matches_training_the_whole_network_bit_for_bit),
        cmocka_unit_test(record_steps_are_exactly_the_listed_ones),
        cmocka_unit_test(regression_keeps_the_pretrained_head_and_fits_it_by_mse),
        cmocka_unit_test(scratch_learns_a_separable_problem),
        cmocka_unit_test(scratch_is_a_function_of_its_learner_stream),
        cmocka_unit_test(zero_steps_record_step_zero_without_training),
        cmocka_unit_test(divergence_is_reported_as_non_finite_scores),
        cmocka_unit_test(a_recorder_error_stops_every_learner_with_its_code),
        cmocka_unit_test(a_pretrained_network_of_another_shape_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
