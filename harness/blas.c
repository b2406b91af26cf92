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
    snprintf(info->xsmm, sizeof info->xsmm, "%s", gemm_xsmm_target());
    snprintf(info->kernels, sizeof info->kernels, "%s%s%s", info->core,
             info->xsmm[0] ? "+libxsmm-" : "", info->xsmm);
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

/* The largest difference of gemm from the naive product in one form,
 * relative to the product's largest magnitude. */
static double check_form(bool ta, bool tb, int m, int n, int k, const float *a, const float *b,
                         float *c, float *ref)
{
    int lda = ta ? m : k, ldb = tb ? k : n;
    gemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n, NULL);
    gemm_naive(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, ref, n, NULL);
    double diff = 0.0, mag = 0.0;
    for (int i = 0; i < m * n; i++) {
        diff = fmax(diff, fabs((double)c[i] - ref[i]));
        mag = fmax(mag, fabs((double)ref[i]));
    }
    return diff / (mag > 0 ? mag : 1.0);
}

int blas_selftest(double *max_rel, struct err *e)
{
    enum { M = 67, K = 45, N = 53 };
    static float a[M * K], b[K * N], c[M * N], ref[M * N];
    static const bool forms[3][2] = {{false, false}, {true, false}, {false, true}};
    struct rng r;
    rng_stream(&r, 0x5e1f7e57u, RNG_DATA, 0);
    for (int i = 0; i < M * K; i++)
        a[i] = (float)rng_range(&r, -1.0, 1.0);
    for (int i = 0; i < K * N; i++)
        b[i] = (float)rng_range(&r, -1.0, 1.0);
    double rel = 0;
    for (int f = 0; f < 3; f++)
        rel = fmax(rel, check_form(forms[f][0], forms[f][1], M, N, K, a, b, c, ref));
    if (max_rel)
        *max_rel = rel;
    if (!(rel <= 1e-4))
        return err_set(e, ERR_NUMERIC,
                       "BLAS self-test failed: a product differs from the naive one by %.3g of "
                       "its magnitude (allowed 1e-4); the loaded kernels ('%s'%s%s) compute "
                       "wrong results on this CPU — try another OPENBLAS_CORETYPE, or "
                       "KSHOT_GEMM=openblas", rel, openblas_get_corename(),
                       gemm_xsmm_target()[0] ? ", libxsmm " : "", gemm_xsmm_target());
    return ERR_OK;
}

void blas_single_thread(void)
{
    openblas_set_num_threads(1);
}
