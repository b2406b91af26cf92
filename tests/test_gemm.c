/* test_gemm: the BLAS seam against the naive loop, every transpose, odd shapes. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

int main(void)
{
    blas_single_thread();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_transposes_odd_shapes),
        cmocka_unit_test(alpha_beta_accumulate),
        cmocka_unit_test(beta_zero_ignores_nan_in_c),
        cmocka_unit_test(selftest_passes_and_core_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
