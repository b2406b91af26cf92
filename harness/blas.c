/* blas: BLAS identification, fallback detection and the start-up self-test. */
#include "harness/blas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>

#include "harness/base/meter.h"
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

/* Set in the environment of the restarted process: the core OpenBLAS chose. */
#define AUTO_ENV "KSHOT_BLAS_AUTO_FROM"

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
    const char *chose = getenv(AUTO_ENV);
    if (chose && getenv("OPENBLAS_CORETYPE"))
        snprintf(info->openblas_chose, sizeof info->openblas_chose, "%s", chose);
    if (info->cpu_avx512 && !listed(avx512_cores, info->core)) {
        info->generic = true;
        snprintf(info->suggest, sizeof info->suggest, "SkylakeX");
    } else if (info->cpu_avx2 && !listed(avx2_cores, info->core)) {
        info->generic = true;
        snprintf(info->suggest, sizeof info->suggest, "Haswell");
    }
}

const char *blas_auto_core(const struct blas_info *info, const char *coretype, bool selected)
{
    if (!info->generic || !info->suggest[0] || selected || coretype)
        return NULL;
    return info->suggest;
}

void blas_auto_select(char **argv)
{
    struct blas_info info;
    blas_query(&info);
    const char *core = blas_auto_core(&info, getenv("OPENBLAS_CORETYPE"),
                                      getenv(AUTO_ENV) != NULL);
    if (!core)
        return;
    /* kshot multiplies on one BLAS thread per worker (blas_single_thread);
     * OpenBLAS started with more makes helper threads that spin for about
     * 0.1 s before they sleep, on the core the data's loading uses. Unset,
     * the restart sets OPENBLAS_NUM_THREADS to 1 (never over a value). */
    if (setenv(AUTO_ENV, info.core, 1) == 0 && setenv("OPENBLAS_CORETYPE", core, 1) == 0 &&
        setenv("OPENBLAS_NUM_THREADS", "1", 0) == 0)
        execv("/proc/self/exe", argv);
    /* no restart: run on, with the generic core and its warning */
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(AUTO_ENV);
}

double blas_rate(bool openblas_only)
{
    enum { M = 64, K = 784, N = 256, REPS = 5 };
    float *a = calloc((size_t)M * K, sizeof *a), *b = calloc((size_t)K * N, sizeof *b);
    float *c = calloc((size_t)M * N, sizeof *c);
    double best = 0;
    for (int i = 0; a && b && c && i < M * K; i++)
        a[i] = (float)(i % 7) * 0.25f;
    for (int r = 0; a && b && c && r < REPS; r++) {
        uint64_t flops = 0;
        double t0 = meter_wall(), dt;
        do {
            (openblas_only ? gemm_openblas : gemm)(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f,
                                                   c, N, &flops);
        } while ((dt = meter_wall() - t0) < 0.01);
        best = fmax(best, (double)flops / dt / 1e9);
    }
    free(a), free(b), free(c);
    return best;
}

struct blas_gain {
    FILE *child;   /* the suggested core's rate, printed by `kshot blas-rate` */
};

struct blas_gain *blas_gain_start(const struct blas_info *info)
{
    if (!info->generic || !info->suggest[0])
        return NULL;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "OPENBLAS_CORETYPE=%s OPENBLAS_NUM_THREADS=1 /proc/%ld/exe blas-rate",
             info->suggest, (long)getpid());
    struct blas_gain *g = malloc(sizeof *g);
    if (g && !(g->child = popen(cmd, "r"))) {
        free(g);
        g = NULL;
    }
    return g;
}

double blas_gain_finish(struct blas_gain *g)
{
    if (!g)
        return 0;
    double other = 0;
    if (fscanf(g->child, "%lf", &other) != 1)
        other = 0;
    if (pclose(g->child) != 0)
        other = 0;
    free(g);
    double mine = other > 0 ? blas_rate(true) : 0;
    return mine > 0 ? other / mine : 0;
}

double blas_measure_gain(const struct blas_info *info)
{
    return blas_gain_finish(blas_gain_start(info));
}

void blas_note(const struct blas_info *info, char *buf, size_t cap)
{
    if (!info->openblas_chose[0]) {
        if (cap)
            buf[0] = '\0';
        return;
    }
    snprintf(buf, cap,
             "note: OpenBLAS chose its generic '%s' kernel on this CPU; kshot selected '%s' "
             "(OPENBLAS_CORETYPE was unset; set it to choose yourself)",
             info->openblas_chose, info->core);
}

void blas_warning(const struct blas_info *info, double gain, char *buf, size_t cap)
{
    if (!info->generic) {
        if (cap)
            buf[0] = '\0';
        return;
    }
    char speed[96] = "";
    if (gain > 0)
        snprintf(speed, sizeof speed, " (%.1fx faster on a 64x784 product, measured now)", gain);
    snprintf(buf, cap,
             "warning: OpenBLAS is using its '%s' kernel, but this CPU has %s; "
             "OPENBLAS_CORETYPE=%s would run OpenBLAS's products faster%s. "
             "The value set in the environment is kept "
             "(results may differ in the last digits between kernels).",
             info->core, info->cpu_avx512 ? "AVX-512" : "AVX2/FMA", info->suggest, speed);
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
