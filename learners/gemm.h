/* gemm: the one seam through which every matrix product in kshot passes.
 *
 * Row-major C = alpha·op(A)·op(B) + beta·C with op(X) = X or Xᵀ, shapes
 * op(A): (m, k), op(B): (k, n), C: (m, n); lda/ldb/ldc are row strides of
 * the matrices as stored. gemm() calls cblas_sgemm; gemm_naive() is the
 * triple loop (double accumulation) the tests hold it against. Both add
 * 2·m·n·k to *flops when flops is not NULL. */
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

#endif
