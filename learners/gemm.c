/* gemm: libxsmm's kernels for the products that fit in cache, cblas_sgemm
 * for the others, and the naive reference.
 *
 * libxsmm is column-major: the row-major product C (m, n) = op(A)·B is its
 * Cᵀ (n, m) = Bᵀ·op(A)ᵀ, where a row-major matrix read column-major is its
 * transpose, so B is its first operand as stored and A its second,
 * transposed (libxsmm's TRANS_B) when op(A) = Aᵀ. Its JIT has no kernel
 * for a transposed first operand, so op(B) = Bᵀ goes to OpenBLAS (mlp.c
 * computes an input gradient's products, dz·Wᵀ, as (W·dzᵀ)ᵀ instead,
 * which libxsmm takes). */
#include "learners/gemm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#ifdef KSHOT_HAVE_LIBXSMM
#include <libxsmm.h>
#endif

/* The three matrices of a product libxsmm takes: in a core's L2 cache. */
#define XSMM_MAX_BYTES ((size_t)2 << 20)

static void count(uint64_t *flops, int m, int n, int k)
{
    if (flops)
        *flops += 2u * (uint64_t)m * (uint64_t)n * (uint64_t)k;
}

static bool xsmm_on;
static char xsmm_target[32];
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

static void choose(void)
{
#ifdef KSHOT_HAVE_LIBXSMM
    const char *env = getenv("KSHOT_GEMM");
    xsmm_on = !env || strcmp(env, "openblas") != 0;
    if (xsmm_on) {
        libxsmm_init();
        snprintf(xsmm_target, sizeof xsmm_target, "%s", libxsmm_get_target_arch());
    }
#endif
}

const char *gemm_xsmm_target(void)
{
    pthread_once(&chosen, choose);
    return xsmm_target;
}

bool gemm_uses_xsmm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, float beta)
{
    pthread_once(&chosen, choose);
    size_t bytes = ((size_t)m * n + (size_t)n * k + (size_t)m * k) * sizeof(float);
    return xsmm_on && !trans_b && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && k > 0 &&
           bytes <= XSMM_MAX_BYTES;
}

void gemm_openblas(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                   const float *a, int lda, const float *b, int ldb, float beta,
                   float *c, int ldc, uint64_t *flops)
{
    if (m == 0 || n == 0)
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
                b, ldb, beta, c, ldc);
    count(flops, m, n, k);
}

void gemm_transpose(const float *a, int rows, int cols, int lda, float *t, int ldt)
{
    if (rows > 0 && cols > 0)
        cblas_somatcopy(CblasRowMajor, CblasTrans, rows, cols, 1.0f, a, lda, t, ldt);
}

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
          const float *a, int lda, const float *b, int ldb, float beta,
          float *c, int ldc, uint64_t *flops)
{
    if (m == 0 || n == 0)
        return;
#ifdef KSHOT_HAVE_LIBXSMM
    if (gemm_uses_xsmm(trans_a, trans_b, m, n, k, alpha, beta)) {
        const int flags = trans_a ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
        const libxsmm_blasint ld1 = ldb, ld2 = lda, ld3 = ldc;
        libxsmm_smmfunction f = libxsmm_smmdispatch(n, m, k, &ld1, &ld2, &ld3, &alpha, &beta,
                                                    &flags, NULL);
        if (f) {
            f(b, a, c);
            count(flops, m, n, k);
            return;
        }
    }
#endif
    gemm_openblas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, flops);
}

void gemm_naive(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta,
                float *c, int ldc, uint64_t *flops)
{
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int p = 0; p < k; p++) {
                float av = trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                float bv = trans_b ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                acc += (double)av * bv;
            }
            float *cij = &c[(size_t)i * ldc + j];
            /* beta = 0 ignores C, as BLAS does (C may hold garbage or NaN). */
            *cij = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *cij));
        }
    }
    count(flops, m, n, k);
}
