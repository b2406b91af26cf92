/* test_knn: knn on hand-built episodes — hand-placed neighbours, votes,
 * ties, NaN distances, k clamped — and its euclidean screen against an
 * independent plain ranking, bit for bit. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
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
    struct fixture_ctx c = {0};
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
    struct fixture_ctx c = {0};  // no pretrained network: input space needs none
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
    struct fixture_ctx c = {.pretrained = &pre};
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
    struct fixture_ctx c = {0};
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

static void knn_equal_distances_rank_by_row_and_nan_ones_last(void **state)
{
    struct capture cap;
    // supports 0 and 1 both at distance 1 from the query: row 0 is nearer
    const float eq[3] = {1.0f, -1.0f, 1.0f};
    assert_int_equal(knn_line(eq, (const int[]){1, 0, 2}, 3, 3, 0, 1, &cap), 0);
    assert_votes(cap.scores[0], (const int[]){0, 1, 0}, 3);
    assert_int_equal(knn_line(eq, (const int[]){0, 1, 2}, 3, 3, 0, 1, &cap), 0);
    assert_votes(cap.scores[0], (const int[]){1, 0, 0}, 3);
    // k = 2 of three equal: rows 0 and 1 vote, row 0's class holds rank 0
    assert_int_equal(knn_line(eq, (const int[]){2, 0, 1}, 3, 3, 0, 2, &cap), 0);
    assert_votes(cap.scores[0], (const int[]){1, 0, 1}, 3);
    assert_int_equal(argmax(cap.scores[0], 3), 2);
    // a NaN distance ranks after every number, whatever its row
    const float with_nan[3] = {NAN, 3.0f, 2.0f};
    assert_int_equal(knn_line(with_nan, (const int[]){0, 1, 2}, 3, 3, 0, 1, &cap), 0);
    assert_votes(cap.scores[0], (const int[]){0, 0, 1}, 3);
    assert_int_equal(knn_line(with_nan, (const int[]){0, 1, 2}, 3, 3, 0, 3, &cap), 0);
    assert_votes(cap.scores[0], (const int[]){1, 1, 1}, 3);
    assert_int_equal(argmax(cap.scores[0], 3), 2);   // rank 0: row 2, then row 1, then NaN
    assert_true(cap.scores[0][0] < cap.scores[0][1]);
    // k = 1 takes its own path: an infinite distance before NaN ones, the
    // first of equal ones; every distance NaN (a NaN query): row 0
    const float far[3] = {NAN, INFINITY, -INFINITY};   /* distances NaN, inf, inf */
    assert_int_equal(knn_line(far, (const int[]){0, 1, 2}, 3, 3, 0, 1, &cap), 0);
    assert_votes(cap.scores[0], (const int[]){0, 1, 0}, 3);
    assert_int_equal(knn_line(eq, (const int[]){2, 1, 0}, 3, 3, NAN, 1, &cap), 0);
    assert_votes(cap.scores[0], (const int[]){0, 0, 1}, 3);
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

/* ---- knn's euclidean screen ------------------------------------------ */

enum { SCR_Q = 150, SCR_S = 40, SCR_D = 128, SCR_WAYS = 5 };

/* The documented knn scores of one query, independently: squared distances
 * by the plain double loop, ranked nearest first with NaN last and equal
 * ones by row, the k nearest voting count + (k − first rank)/(k + 1). */
static void knn_reference(const float *xs, const int *ys, int S, const float *q, int d, int k,
                          float *scores)
{
    double dist[SCR_S];
    bool used[SCR_S] = {false};
    int count[SCR_WAYS] = {0}, first[SCR_WAYS];
    for (int j = 0; j < S; j++) {
        double sum = 0;
        for (int t = 0; t < d; t++)
            sum += ((double)q[t] - xs[j * d + t]) * ((double)q[t] - xs[j * d + t]);
        dist[j] = sum;
    }
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int j = 0; j < S; j++) {
            if (used[j])
                continue;
            bool nearer = best < 0 || (isnan(dist[best]) && !isnan(dist[j])) ||
                          (!isnan(dist[j]) && dist[j] < dist[best]);
            best = nearer ? j : best;
        }
        used[best] = true;
        if (count[ys[best]]++ == 0)
            first[ys[best]] = r;
    }
    for (int w = 0; w < SCR_WAYS; w++)
        scores[w] = count[w] ? (float)(count[w] + (double)(k - first[w]) / (k + 1)) : 0.0f;
}

/* knn (input space, euclidean, k) on xs (S, d) and queries xq (SCR_Q, d)
 * against knn_reference, bit for bit; returns the operations it counted. */
static uint64_t knn_screened(const float *xs, const int *ys, int S, const float *xq, int d,
                             int k, const char *what)
{
    struct fewshot t = {.ways = SCR_WAYS, .out_dim = SCR_WAYS, .dim = d, .n_support = S,
                        .n_query = SCR_Q, .xs = xs, .ys = ys, .xq = xq};
    struct learner_settings s = settings("knn");
    s.space = SPACE_INPUT;
    s.distance = DIST_EUCLIDEAN;
    s.k = k;
    struct fixture_ctx c = {0};
    struct capture cap;
    assert_int_equal(run(&s, &t, &c, &cap), 0);
    for (int i = 0; i < SCR_Q; i++) {
        float want[SCR_WAYS];
        knn_reference(xs, ys, S, xq + (size_t)i * d, d, k, want);
        if (memcmp(want, cap.scores[0] + i * SCR_WAYS, sizeof want) != 0)
            fail_msg("%s, k %d: query %d scores %g %g %g %g %g, the plain ranking %g %g %g %g %g",
                     what, k, i, cap.scores[0][i * SCR_WAYS], cap.scores[0][i * SCR_WAYS + 1],
                     cap.scores[0][i * SCR_WAYS + 2], cap.scores[0][i * SCR_WAYS + 3],
                     cap.scores[0][i * SCR_WAYS + 4], want[0], want[1], want[2], want[3],
                     want[4]);
    }
    return c.flops;
}

/* What the screen counts when it sums no pair exactly: the support norms
 * and their share of the error bound, the float products over S rounded
 * up to 16 columns, the query norms and their share, five per pair for the
 * bounds; an exact sum adds 3·d. */
static uint64_t screen_only(int S, int d)
{
    const uint64_t sp = (uint64_t)(S + 15) / 16 * 16;
    return 2ull * S * d + 2ull * S + 2ull * SCR_Q * sp * d + 2ull * SCR_Q * d + SCR_Q +
           5ull * SCR_Q * sp;
}

/* The screen gives the plain loop's neighbours, in its order, with its
 * ties: on plain random points (where it sums no pair at all for k = 1 and
 * ranks from the float products alone), on exact duplicates, one-ulp
 * neighbours and exactly tied distances (where it must sum), on values
 * whose float products overflow or underflow, NaN and infinite features,
 * and on points far from the origin and close together (where the float
 * products cannot tell and every pair is summed). */
static void knn_screen_ranks_as_the_plain_loop(void **state)
{
    static float xs[SCR_S * SCR_D], xq[SCR_Q * SCR_D];
    int ys[SCR_S];
    for (int j = 0; j < SCR_S; j++)
        ys[j] = j % SCR_WAYS;
    const int ks[] = {1, 2, 3, SCR_S - 1};
    struct rng r;
    rng_stream(&r, 11, RNG_DATA, 0);

    /* plain random points, d = 128 and d = 37 (not a multiple of 8 or 32) */
    for (int di = 0; di < 2; di++) {
        const int d = di ? 37 : SCR_D;
        rng_range_fill(&r, -3, 3, xs, (size_t)SCR_S * d);
        rng_range_fill(&r, -3, 3, xq, (size_t)SCR_Q * d);
        for (int a = 0; a < 4; a++) {
            uint64_t f = knn_screened(xs, ys, SCR_S, xq, d, ks[a], "random points");
            if (ks[a] == 1)
                assert_true(f == screen_only(SCR_S, d));
        }
        uint64_t f = knn_screened(xs, ys, 25, xq, d, 1, "random points, 25 rows");
        assert_true(f == screen_only(25, d));
    }

    /* duplicates (equal distances rank by row), one-ulp neighbours, exact
     * ties at ±h in one feature, queries on support rows or near them */
    const int d = SCR_D;
    rng_range_fill(&r, -3, 3, xs, (size_t)SCR_S * d);
    /* each pair of rows below of different classes, so the order shows in the votes */
    memcpy(xs + 6 * d, xs + 2 * d, sizeof(float) * d);          /* row 6 = row 2 */
    memcpy(xs + 13 * d, xs + 2 * d, sizeof(float) * d);         /* row 13 = row 2 */
    xs[13 * d + 5] = nextafterf(xs[13 * d + 5], INFINITY);       /* one ulp off */
    memcpy(xs + 8 * d, xs + 4 * d, sizeof(float) * d);
    xs[4 * d] = 1.0f, xs[8 * d] = 1.5f;                          /* rows 4, 8: ±0.25 */
    for (int i = 0; i < SCR_Q; i++) {
        float *q = xq + (size_t)i * d;
        const int on = (int[]){2, 13, 4, 0, 30}[i % 5];
        memcpy(q, xs + (size_t)on * d, sizeof(float) * d);
        if (on == 4)
            q[0] = 1.25f;                        /* tied between rows 4 and 8 */
        else if (i % 3 == 1)
            q[i % d] = nextafterf(q[i % d], -INFINITY);
        else if (i % 3 == 2)
            for (int t = 0; t < d; t++)
                q[t] += (float)rng_range(&r, -1e-3, 1e-3);
    }
    for (int a = 0; a < 4; a++) {
        uint64_t f = knn_screened(xs, ys, SCR_S, xq, d, ks[a], "duplicates and ties");
        assert_true(f > screen_only(SCR_S, d));   /* some pairs summed */
    }

    /* pairs of rows a = 2m, b = 2m + 1 (other classes) one ulp apart in
     * feature t = 3m: b is nearer to a query 2 away from a in t, by less
     * than the float products can tell, so b must rank first */
    rng_range_fill(&r, -3, 3, xs, (size_t)SCR_S * d);
    for (int m = 0; m < SCR_S / 2; m++) {
        float *a = xs + (size_t)(2 * m) * d, *b = a + d;
        a[3 * m] = 0.5f;
        memcpy(b, a, sizeof(float) * d);
        b[3 * m] = nextafterf(0.5f, 1.0f);
    }
    for (int i = 0; i < SCR_Q; i++) {
        const int m = i % (SCR_S / 2);
        memcpy(xq + (size_t)i * d, xs + (size_t)(2 * m) * d, sizeof(float) * d);
        xq[(size_t)i * d + 3 * m] = 2.5f;
    }
    for (int a = 0; a < 4; a++) {
        uint64_t f = knn_screened(xs, ys, SCR_S, xq, d, ks[a], "an order the floats cannot see");
        assert_true(f > screen_only(SCR_S, d));
    }

    /* float products that overflow, underflow (1e-25), NaN and infinite
     * features, in support rows and queries: query 6 is row 3, whose float
     * product with it is finite, and row 5 is farther, whose product
     * overflows; the alternating rows' products overflow too */
    rng_range_fill(&r, -3, 3, xs, (size_t)SCR_S * d);
    rng_range_fill(&r, -3, 3, xq, (size_t)SCR_Q * d);
    memset(xs + 3 * d, 0, sizeof(float) * d);
    memset(xs + 5 * d, 0, sizeof(float) * d);
    memset(xq + 6 * d, 0, sizeof(float) * d);
    xs[3 * d] = xq[6 * d] = 1e19f;
    xs[5 * d] = 4e19f;
    for (int t = 0; t < d; t++) {
        xs[1 * d + t] = (t % 2 ? 1e20f : -1e20f);
        xs[6 * d + t] = 1e-25f * (float)(t + 1);
        xq[4 * d + t] = (t % 2 ? -1e20f : 1e20f);
        xq[5 * d + t] = (t % 2 ? 1e20f : -1e20f);      /* nearest: row 1 */
        xq[8 * d + t] = 1e-25f * (float)t;             /* nearest: row 6 */
    }
    xs[8 * d + 3] = NAN;
    xs[10 * d + 7] = INFINITY;
    xq[10 * d + 1] = NAN;
    xq[11 * d + 2] = -INFINITY;
    for (int a = 0; a < 4; a++)
        knn_screened(xs, ys, SCR_S, xq, d, ks[a], "overflow, underflow, NaN, infinity");

    /* far from the origin, close together: every pair summed */
    for (size_t i = 0; i < (size_t)SCR_S * d; i++)
        xs[i] = 1e4f + (float)rng_range(&r, 0, 1e-2);
    for (size_t i = 0; i < (size_t)SCR_Q * d; i++)
        xq[i] = 1e4f + (float)rng_range(&r, 0, 1e-2);
    for (int a = 0; a < 4; a++) {
        uint64_t f = knn_screened(xs, ys, SCR_S, xq, d, ks[a], "far and close");
        assert_true(f == screen_only(SCR_S, d) + 3ull * SCR_Q * SCR_S * d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(knn_k1_picks_the_nearest_support_example_in_input_space),
        cmocka_unit_test(knn_k1_in_feature_space_differs_from_input_space),
        cmocka_unit_test(knn_cosine_compares_directions),
        cmocka_unit_test(knn_k3_takes_the_majority_vote),
        cmocka_unit_test(knn_ties_go_to_the_class_of_the_nearest_tied_neighbour),
        cmocka_unit_test(knn_equal_distances_rank_by_row_and_nan_ones_last),
        cmocka_unit_test(knn_k_beyond_the_support_set_is_clamped),
        cmocka_unit_test(knn_screen_ranks_as_the_plain_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
