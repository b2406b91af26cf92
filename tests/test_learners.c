/* test_learners: the registry and the learners that adapt without
 * training — prototypes and knn — on hand-built episodes, against
 * independent references: naive double loops through the documented
 * parameter layout for features, class means and distances, hand-placed
 * neighbours for knn; plus the contracts of learner.h every kind keeps: a
 * recorder's error stops it with its code, a pretrained network of another
 * shape is refused, the shared pretrained network is never written.
 * Finetune, scratch and learner_train are test_finetune's. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "harness/base/rng.h"
#include "learners/learner.h"
#include "learners/mlp.h"
#include "learnertest.h"

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
    struct snapshot before;
    struct fewshot t = small_fixture(&pre, &before);
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
    small_net(&pre);
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

/* ---- the recorder's code, errors ------------------------------------ */

static void a_recorder_error_stops_every_learner_with_its_code(void **state)
{
    struct mlp pre;
    small_net(&pre);
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
    small_net(&pre);
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
        cmocka_unit_test(a_recorder_error_stops_every_learner_with_its_code),
        cmocka_unit_test(a_pretrained_network_of_another_shape_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
