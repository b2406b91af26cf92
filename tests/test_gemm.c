/* test_gemm: the product seam against the naive loop — every transpose, odd
 * shapes, accumulation — on both its back ends: libxsmm's kernels (the
 * small products it has a kernel for) and OpenBLAS (the rest), each held to
 * the naive loop and to the other within float rounding, on the shapes of a
 * few-shot training step; the transposing copy keeps every value's bits. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "harness/blas.h"
#include "learners/gemm.h"

static void fill(struct rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rng_range(r, -1.0, 1.0);
}

/* One case: op(A) (m,k), op(B) (k,n), padded leading dimensions. */
static void check_case(bool ta, bool tb, int m, int n, int k, float alpha, float beta)
{
    struct rng r;
    rng_stream(&r, (uint64_t)(m * 10007 + n * 101 + k), RNG_DATA, (uint64_t)(ta * 2 + tb));
    int a_rows = ta ? k : m, a_cols = ta ? m : k;
    int b_rows = tb ? n : k, b_cols = tb ? k : n;
    int lda = a_cols + 3, ldb = b_cols + 1, ldc = n + 2;
    float *a = malloc(sizeof *a * (size_t)a_rows * lda);
    float *b = malloc(sizeof *b * (size_t)b_rows * ldb);
    float *c = malloc(sizeof *c * (size_t)m * ldc);
    float *ref = malloc(sizeof *ref * (size_t)m * ldc);
    fill(&r, a, (size_t)a_rows * lda);
    fill(&r, b, (size_t)b_rows * ldb);
    fill(&r, c, (size_t)m * ldc);
    for (size_t i = 0; i < (size_t)m * ldc; i++)
        ref[i] = c[i];
    uint64_t f1 = 0, f2 = 0;
    gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, &f1);
    gemm_naive(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, ref, ldc, &f2);
    double worst = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++) {
            double d = fabs((double)c[i * ldc + j] - ref[i * ldc + j]);
            /* Padding columns must be untouched (both copies started equal). */
            if (j >= n)
                assert_true(d == 0.0);
            worst = fmax(worst, d);
        }
    printf("  gemm %c%c m=%d n=%d k=%d: largest difference %.3g\n", ta ? 'T' : 'N',
           tb ? 'T' : 'N', m, n, k, worst);
    /* Each entry sums k products of magnitude ≤ 1: float32 rounding stays
     * well inside 1e-6·(k+1). */
    assert_true(worst <= 1e-6 * (k + 1) * (fabs(alpha) + fabs(beta) + 1));
    assert_true(f1 == 2ull * m * n * k && f2 == f1);
    free(a), free(b), free(c), free(ref);
}

static void all_transposes_odd_shapes(void **state)
{
    static const int shapes[][3] = {
        {1, 1, 1}, {1, 7, 3}, {5, 1, 9}, {7, 13, 1}, {17, 3, 31}, {33, 65, 129}, {64, 5, 784},
    };
    for (int t = 0; t < 4; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            check_case(t & 2, t & 1, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, 0.0f);
}

static void alpha_beta_accumulate(void **state)
{
    check_case(false, true, 19, 23, 29, 0.5f, 1.0f);
    check_case(true, false, 11, 4, 37, -2.0f, 0.25f);
    check_case(false, false, 19, 23, 29, 1.0f, 1.0f);   /* accumulation on libxsmm */
    check_case(true, false, 11, 4, 37, 1.0f, 1.0f);
}

/* The products of a training step of 784-256-128-5 on 5, 25 and 75 rows,
 * as mlp.c asks for them (forward X·W, weight gradient Xᵀ·dZ, input
 * gradient dZ·Wᵀ, W stored (in, out)): gemm against OpenBLAS and the naive
 * loop. The forward and weight gradient are libxsmm's where it is in the
 * build; the input gradient is always OpenBLAS's. */
static void training_step_shapes_on_both_back_ends(void **state)
{
    static const int rows[] = {5, 25, 75}, sizes[] = {784, 256, 128, 5};
    struct rng r;
    rng_stream(&r, 31, RNG_DATA, 0);
    float *x = malloc(sizeof *x * 75 * 784), *w = malloc(sizeof *w * 784 * 256);
    float *c = malloc(sizeof *c * 784 * 256), *o = malloc(sizeof *o * 784 * 256);
    float *ref = malloc(sizeof *ref * 784 * 256);
    fill(&r, x, 75 * 784), fill(&r, w, 784 * 256);
    bool any_xsmm = false;
    for (int ri = 0; ri < 3; ri++)
        for (int l = 0; l < 3; l++)
            for (int form = 0; form < 3; form++) {
                int b = rows[ri], in = sizes[l], out = sizes[l + 1];
                bool ta = form == 1, tb = form == 2;
                int m = form == 1 ? in : b, n = form == 2 ? in : out, k = form == 1 ? b : form == 2 ? out : in;
                int lda = form == 1 ? in : k, ldb = form == 2 ? out : n;
                /* forward: x (b, in)·w (in, out); weight gradient: x (b, in)ᵀ·dz (b, out)
                 * (dz read from w's first rows); input gradient: dz (b, out)·w (in, out)ᵀ */
                const float *a = x, *bm = w;
                gemm(ta, tb, m, n, k, 1.0f, a, lda, bm, ldb, 0.0f, c, n, NULL);
                gemm_openblas(ta, tb, m, n, k, 1.0f, a, lda, bm, ldb, 0.0f, o, n, NULL);
                gemm_naive(ta, tb, m, n, k, 1.0f, a, lda, bm, ldb, 0.0f, ref, n, NULL);
                double worst = 0, worst_ob = 0;
                for (int i = 0; i < m * n; i++) {
                    worst = fmax(worst, fabs((double)c[i] - ref[i]));
                    worst_ob = fmax(worst_ob, fabs((double)c[i] - o[i]));
                }
                any_xsmm |= gemm_uses_xsmm(ta, tb, m, n, k, 1.0f, 0.0f);
                assert_true(worst <= 1e-6 * (k + 1));
                assert_true(worst_ob <= 2e-6 * (k + 1));
            }
    printf("  libxsmm target: %s%s\n", gemm_xsmm_target()[0] ? gemm_xsmm_target() : "none",
           any_xsmm ? "; it ran the forward and weight-gradient products" : "");
    assert_int_equal(any_xsmm, gemm_xsmm_target()[0] != '\0');
    /* what libxsmm takes: B as stored, alpha 1, beta 0 or 1, small enough */
    if (gemm_xsmm_target()[0]) {
        assert_true(gemm_uses_xsmm(false, false, 25, 256, 784, 1.0f, 0.0f));
        assert_true(gemm_uses_xsmm(true, false, 784, 256, 25, 1.0f, 1.0f));
        assert_false(gemm_uses_xsmm(false, true, 25, 784, 256, 1.0f, 0.0f));
        assert_false(gemm_uses_xsmm(false, false, 25, 256, 784, 0.5f, 0.0f));
        assert_false(gemm_uses_xsmm(false, false, 25, 256, 784, 1.0f, 0.5f));
        assert_false(gemm_uses_xsmm(false, false, 1000, 1000, 1000, 1.0f, 0.0f));
    }
    free(x), free(w), free(c), free(o), free(ref);
}

static void beta_zero_ignores_nan_in_c(void **state)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1};
    float c[4] = {NAN, NAN, NAN, NAN}, ref[4] = {NAN, NAN, NAN, NAN};
    gemm(false, false, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2, NULL);
    gemm_naive(false, false, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, ref, 2, NULL);
    /* [1 2 3; 4 5 6]·[1 0; 0 1; 1 1] = [4 5; 10 11] */
    const float want[4] = {4, 5, 10, 11};
    for (int i = 0; i < 4; i++) {
        assert_close(c[i], want[i], 0, 0);
        assert_close(ref[i], want[i], 0, 0);
    }
}

/* The transposing copy moves every value, bits and all (negative zero,
 * infinities, subnormals), on the input gradient's shapes and odd ones,
 * with dense rows and with longer ones (an input gradient's rows of a
 * batch rounded up to 16 floats), whose padding it leaves alone. */
static void transpose_copies_every_value(void **state)
{
    const int shapes[][2] = {{784, 75}, {75, 256}, {1, 7}, {7, 1}, {13, 29}, {256, 75}};
    struct rng r;
    rng_stream(&r, 11, RNG_INIT, 0);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int pad = 0; pad < 2; pad++) {
            const int rows = shapes[s][0], cols = shapes[s][1];
            const int lda = pad ? cols + 3 : cols, ldt = pad ? (rows + 15) & ~15 : rows;
            const size_t na = (size_t)rows * lda, nt = (size_t)cols * ldt;
            float *a = malloc(sizeof *a * na), *t = malloc(sizeof *t * nt);
            fill(&r, a, na);
            a[0] = -0.0f, a[(size_t)(rows - 1) * lda + cols - 1] = INFINITY;
            if (cols > 2)
                a[1] = 1e-40f;   /* subnormal */
            memset(t, 0xff, sizeof *t * nt);
            gemm_transpose(a, rows, cols, lda, t, ldt);
            for (int j = 0; j < cols; j++)
                for (int i = 0; i < ldt; i++) {
                    uint32_t want = 0xffffffffu;   /* the padding, untouched */
                    if (i < rows)
                        memcpy(&want, &a[(size_t)i * lda + j], sizeof want);
                    assert_memory_equal(&t[(size_t)j * ldt + i], &want, sizeof want);
                }
            free(a), free(t);
        }
}

static void selftest_passes_and_core_is_named(void **state)
{
    struct err e;
    err_clear(&e);
    double rel = 1;
    assert_int_equal(blas_selftest(&rel, &e), 0);
    assert_true(rel <= 1e-4);
    struct blas_info info;
    blas_query(&info);
    assert_true(info.core[0] != '\0');
    printf("  OpenBLAS core %s, relative self-test difference %.2g\n", info.core, rel);
}

/* The features table (harness/unit.c) computes an image's features in a
 * batch of up to 256 rows, an episode in a batch of its own: the shipped
 * networks' layer shapes must give a row the same bits in any batch. */
static void shipped_layer_shapes_give_a_row_the_same_bits_in_any_batch(void **state)
{
    if (!gemm_xsmm_target()[0]) {
        print_message("  skipped: no libxsmm in this build\n");
        return;
    }
    static const int shapes[][2] = {{784, 256}, {256, 128}, {1, 40}, {40, 40}};
    enum { ROWS = 256 };
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
        const int k = shapes[sh][0], n = shapes[sh][1];
        float *x = malloc(sizeof *x * ROWS * k), *w = malloc(sizeof *w * k * n);
        float *one = malloc(sizeof *one * ROWS * n), *c = malloc(sizeof *c * ROWS * n);
        struct rng r;
        rng_stream(&r, 11, RNG_DATA, sh);
        for (int i = 0; i < ROWS * k; i++)
            x[i] = (float)rng_range(&r, -1, 1);
        for (int i = 0; i < k * n; i++)
            w[i] = (float)rng_range(&r, -0.1, 0.1);
        for (int i = 0; i < ROWS; i++)   /* each row alone */
            gemm(false, false, 1, n, k, 1, x + (size_t)i * k, k, w, n, 0, one + (size_t)i * n, n,
                 NULL);
        /* batch sizes of episodes (5·1 … 5·20 rows, 75 queries …) and of the
         * table's chunks, the last one full; not all 256: valgrind runs this */
        static const int sizes[] = {2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,  15,  16,
                                    17, 20, 25, 31, 32, 50, 64, 75, 80, 100, 125, 200, 256};
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            const int m = sizes[si];
            gemm(false, false, m, n, k, 1, x, k, w, n, 0, c, n, NULL);
            if (memcmp(c, one, sizeof *c * (size_t)m * n) != 0)
                fail_msg("%d -> %d: a batch of %d rows gives a row other bits than alone", k, n,
                         m);
        }
        free(x), free(w), free(one), free(c);
    }
    print_message("  libxsmm %s: 27 batch sizes from 2 to 256 rows agree with single rows\n",
                  gemm_xsmm_target());
}

/* kshot picks the better core only when OpenBLAS fell back to a generic one
 * and nobody set OPENBLAS_CORETYPE, and only once; and the messages say
 * what happened. */
static void a_better_core_is_selected_only_when_nobody_chose(void **state)
{
    struct blas_info generic = {.core = "Prescott", .cpu_avx2 = true, .generic = true,
                                .suggest = "Haswell"};
    struct blas_info fine = {.core = "Haswell", .cpu_avx2 = true};
    assert_string_equal(blas_auto_core(&generic, NULL, false), "Haswell");
    assert_null(blas_auto_core(&generic, "Prescott", false));   // the user's value is kept
    assert_null(blas_auto_core(&generic, "", false));           // even an empty one
    assert_null(blas_auto_core(&generic, NULL, true));          // selected once already
    assert_null(blas_auto_core(&fine, NULL, false));
    char buf[512];
    blas_warning(&generic, 2.5, buf, sizeof buf);
    assert_contains(buf, "'Prescott'");
    assert_contains(buf, "OPENBLAS_CORETYPE=Haswell");
    assert_contains(buf, "2.5x faster");
    blas_warning(&generic, 0, buf, sizeof buf);
    assert_null(strstr(buf, "faster on"));   // no number when none was measured
    blas_warning(&fine, 0, buf, sizeof buf);
    assert_string_equal(buf, "");
    struct blas_info selected = fine;
    snprintf(selected.openblas_chose, sizeof selected.openblas_chose, "Prescott");
    blas_note(&selected, buf, sizeof buf);
    assert_contains(buf, "generic 'Prescott'");
    assert_contains(buf, "selected 'Haswell'");
    blas_note(&fine, buf, sizeof buf);
    assert_string_equal(buf, "");
}

int main(void)
{
    blas_single_thread();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_transposes_odd_shapes),
        cmocka_unit_test(alpha_beta_accumulate),
        cmocka_unit_test(training_step_shapes_on_both_back_ends),
        cmocka_unit_test(beta_zero_ignores_nan_in_c),
        cmocka_unit_test(transpose_copies_every_value),
        cmocka_unit_test(selftest_passes_and_core_is_named),
        cmocka_unit_test(a_better_core_is_selected_only_when_nobody_chose),
        cmocka_unit_test(shipped_layer_shapes_give_a_row_the_same_bits_in_any_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
