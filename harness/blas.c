/* blas: BLAS identification, fallback detection and the start-up self-test. */
#include "harness/blas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cblas.h>

#include "harness/base/rng.h"
#include "learners/gemm.h"

/* Declared by OpenBLAS's cblas.h on Debian, but not by every cblas.h. */
char *openblas_get_corename(void);
char *openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);

/* Cores whose kernels use AVX2/FMA or better, and those using AVX-512. */
static const char *const avx2_cores[] = {
    "Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", "Excavator", NULL,
};
static const char *const avx512_cores[] = {
    "SkylakeX", "Cooperlake", "SapphireRapids", NULL,
};

static bool listed(const char *const *list, const char *core)
{
    for (; *list; list++)
        if (strcasecmp(*list, core) == 0)
            return true;
    return false;
}

void blas_query(struct blas_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->core, sizeof info->core, "%s", openblas_get_corename());
    snprintf(info->config, sizeof info->config, "%s", openblas_get_config());
    info->threads = openblas_get_num_threads();
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    info->cpu_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    info->cpu_avx512 = __builtin_cpu_supports("avx512f");
#endif
    if (info->cpu_avx512 && !listed(avx512_cores, info->core)) {
        info->generic = true;
        snprintf(info->suggest, sizeof info->suggest, "SkylakeX");
    } else if (info->cpu_avx2 && !listed(avx2_cores, info->core)) {
        info->generic = true;
        snprintf(info->suggest, sizeof info->suggest, "Haswell");
    }
}

void blas_warning(const struct blas_info *info, char *buf, size_t cap)
{
    if (!info->generic) {
        if (cap)
            buf[0] = '\0';
        return;
    }
    snprintf(buf, cap,
             "warning: OpenBLAS is using its '%s' kernel, but this CPU has %s; "
             "products run several times slower than they could. "
             "Set OPENBLAS_CORETYPE=%s in the environment to use the faster kernel "
             "(results may differ in the last digits from runs on '%s').",
             info->core, info->cpu_avx512 ? "AVX-512" : "AVX2/FMA", info->suggest,
             info->core);
}

int blas_selftest(double *max_rel, struct err *e)
{
    enum { M = 67, K = 45, N = 53 };
    static float a[M * K], b[K * N], c[M * N], ref[M * N];
    struct rng r;
    rng_stream(&r, 0x5e1f7e57u, RNG_DATA, 0);
    for (int i = 0; i < M * K; i++)
        a[i] = (float)rng_range(&r, -1.0, 1.0);
    for (int i = 0; i < K * N; i++)
        b[i] = (float)rng_range(&r, -1.0, 1.0);
    gemm(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N, NULL);
    gemm_naive(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, ref, N, NULL);
    double diff = 0.0, mag = 0.0;
    for (int i = 0; i < M * N; i++) {
        diff = fmax(diff, fabs((double)c[i] - ref[i]));
        mag = fmax(mag, fabs((double)ref[i]));
    }
    double rel = diff / (mag > 0 ? mag : 1.0);
    if (max_rel)
        *max_rel = rel;
    if (!(rel <= 1e-4))
        return err_set(e, ERR_NUMERIC,
                       "BLAS self-test failed: cblas_sgemm differs from the naive product "
                       "by %.3g of its magnitude (allowed 1e-4); the loaded BLAS ('%s') "
                       "computes wrong results on this CPU — try another OPENBLAS_CORETYPE",
                       rel, openblas_get_corename());
    return ERR_OK;
}

void blas_single_thread(void)
{
    openblas_set_num_threads(1);
}
