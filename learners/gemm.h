/* gemm: the one seam through which every matrix product in kshot passes.
 *
 * Row-major C = alpha·op(A)·op(B) + beta·C with op(X) = X or Xᵀ, shapes
 * op(A): (m, k), op(B): (k, n), C: (m, n); lda/ldb/ldc are row strides of
 * the matrices as stored. gemm() runs a product on libxsmm's kernels, which
 * it generates at run time for the CPU it runs on, when libxsmm has one for
 * it (op(B) = B, alpha 1, beta 0 or 1) and the three matrices fit in a
 * core's cache; every other product goes to OpenBLAS's cblas_sgemm, which
 * is faster on large matrices. The choice depends on the shapes alone, so a
 * product's bits do not depend on where it runs. KSHOT_GEMM=openblas in the
 * environment sends every product to OpenBLAS. gemm_naive() is the triple
 * loop (double accumulation) the tests hold both against. Both add 2·m·n·k
 * to *flops when flops is not NULL. */
#ifndef KSHOT_GEMM_H
#define KSHOT_GEMM_H

#include <stdbool.h>
#include <stdint.h>

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
          const float *a, int lda, const float *b, int ldb, float beta,
          float *c, int ldc, uint64_t *flops);

void gemm_naive(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta,
                float *c, int ldc, uint64_t *flops);

/* The product only OpenBLAS computes, for the tests and benchmarks that
 * compare the two. */
void gemm_openblas(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                   const float *a, int lda, const float *b, int ldb, float beta,
                   float *c, int ldc, uint64_t *flops);

/* t (cols, rows) = a (rows, cols)ᵀ, row-major with leading dimensions lda
 * ≥ cols and ldt ≥ rows: OpenBLAS's transposing copy (cblas_somatcopy), a
 * plain copy of every value. */
void gemm_transpose(const float *a, int rows, int cols, int lda, float *t, int ldt);

/* Whether gemm(trans_a, trans_b, m, n, k, alpha, beta) runs on libxsmm. */
bool gemm_uses_xsmm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, float beta);

/* libxsmm's target (e.g. "cpx", "hsw"), or "" when every product goes to
 * OpenBLAS (no libxsmm in this build, or KSHOT_GEMM=openblas). */
const char *gemm_xsmm_target(void);

#endif
