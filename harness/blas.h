/* blas: what BLAS kshot runs on, whether it is trustworthy, whether it is fast.
 *
 * OpenBLAS picks a kernel ("core") for the CPU at load time. Versions that
 * do not know a CPU fall back to a generic core several times slower; the
 * fallback is detected by comparing the core with the vector units the CPU
 * has (AVX-512, AVX2), and the warning names the OPENBLAS_CORETYPE that
 * fixes it. The self-test multiplies a fixed matrix product through the
 * gemm seam and the naive loop and refuses a BLAS that disagrees. */
#ifndef KSHOT_BLAS_H
#define KSHOT_BLAS_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/base/err.h"

struct blas_info {
    char core[64];          /* openblas_get_corename(), e.g. "Haswell" */
    char xsmm[32];          /* libxsmm's target, e.g. "cpx"; "" when products go to OpenBLAS */
    char kernels[128];      /* both, as unit ids and records name them: "Haswell+libxsmm-cpx" */
    char config[256];       /* openblas_get_config() */
    int threads;            /* OpenBLAS threads at the time of the query */
    bool cpu_avx2;          /* the CPU has AVX2 and FMA */
    bool cpu_avx512;        /* the CPU has AVX-512F */
    bool generic;           /* core uses fewer vector units than the CPU has */
    char suggest[32];       /* OPENBLAS_CORETYPE that would fix it, or "" */
};

void blas_query(struct blas_info *info);

/* One-line warning for a generic fallback (empty when none). */
void blas_warning(const struct blas_info *info, char *buf, size_t cap);

/* Compare products through gemm() and gemm_naive(), in every form kshot
 * uses (A·B, Aᵀ·B and A·Bᵀ, so both libxsmm and OpenBLAS are tried); fails
 * with ERR_NUMERIC when the largest difference exceeds 1e-4 of the
 * product's largest magnitude. *max_rel receives the relative difference. */
int blas_selftest(double *max_rel, struct err *e);

/* Use one BLAS thread in this process (workers parallelise instead). */
void blas_single_thread(void);

#endif
