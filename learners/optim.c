/* optim: SGD and Adam steps over spans of a flat parameter arena.
 *
 * The update rules are PyTorch's (torch.optim.SGD with dampening 0 and
 * nesterov off; torch.optim.Adam with amsgrad off), computed elementwise in
 * float32 like PyTorch's float32 kernels; only the per-step scalars (Adam's
 * bias corrections) are formed in double, as Python does, then rounded once.
 * State is indexed by absolute arena offset, so a span always meets its own
 * moments whatever else is listed. Not here: gradient clipping, learning-
 * rate schedules, per-parameter learning rates (Meta-SGD keeps its own). */
#include "learners/optim.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/simd.h"

const char *const optim_names[] = {"sgd", "adam", NULL};

void optim_defaults(struct optim_settings *s)
{
    memset(s, 0, sizeof *s);
    s->kind = OPTIM_ADAM;
    s->lr = 0.001;
    s->momentum = 0.0;
    s->weight_decay = 0.0;
    s->beta1 = 0.9;
    s->beta2 = 0.999;
    s->eps = 1e-8;
}

/* Settings arrive from the experiment file through config, which bounds
 * them too; this is the last line before they reach the arithmetic. */
static int check_settings(const struct optim_settings *s, struct err *e)
{
    if (s->kind != OPTIM_SGD && s->kind != OPTIM_ADAM)
        return err_set(e, ERR_USAGE, "optimizer: kind %d (expected sgd or adam)", (int)s->kind);
    if (!isfinite(s->lr) || s->lr < 0)
        return err_set(e, ERR_USAGE, "optimizer: lr %g (expected a finite number ≥ 0)", s->lr);
    if (!isfinite(s->weight_decay) || s->weight_decay < 0)
        return err_set(e, ERR_USAGE, "optimizer: weight_decay %g (expected a finite "
                       "number ≥ 0)", s->weight_decay);
    if (!isfinite(s->momentum) || s->momentum < 0)
        return err_set(e, ERR_USAGE, "optimizer: momentum %g (expected a finite "
                       "number ≥ 0)", s->momentum);
    if (s->kind == OPTIM_ADAM) {
        if (!(s->beta1 >= 0 && s->beta1 < 1) || !(s->beta2 >= 0 && s->beta2 < 1))
            return err_set(e, ERR_USAGE, "optimizer: betas (%g, %g) (expected each "
                           "in [0, 1))", s->beta1, s->beta2);
        if (!isfinite(s->eps) || s->eps < 0)
            return err_set(e, ERR_USAGE, "optimizer: eps %g (expected a finite "
                           "number ≥ 0)", s->eps);
    }
    return 0;
}

int optim_init(struct optim *o, const struct optim_settings *s, size_t n, struct err *e)
{
    memset(o, 0, sizeof *o);
    int rc = check_settings(s, e);
    if (rc)
        return rc;
    o->s = *s;
    o->n = n;
    /* One float more than asked so an empty arena still gets real pointers. */
    o->m = calloc(n + 1, sizeof *o->m);
    if (!o->m)
        goto nomem;
    if (s->kind == OPTIM_ADAM && !(o->v = calloc(n + 1, sizeof *o->v)))
        goto nomem;
    return 0;
nomem:
    optim_free(o);
    return err_set(e, ERR_NOMEM, "optimizer: cannot allocate state for %zu parameters", n);
}

void optim_free(struct optim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
    o->n = 0;
    o->t = 0;
}

void optim_reset(struct optim *o)
{
    if (o->m)
        memset(o->m, 0, sizeof *o->m * o->n);
    if (o->v)
        memset(o->v, 0, sizeof *o->v * o->n);
    o->t = 0;
}

/* SGD over [off, off+n). A zero buffer makes momentum·buf + d equal d
 * exactly, which is PyTorch's "buf = d on the first step" without a flag. */
KSHOT_CLONES static void sgd_span(struct optim *o, float *p, const float *g, size_t off, size_t n)
{
    float lr = (float)o->s.lr, wd = (float)o->s.weight_decay;
    float mu = (float)o->s.momentum;
    float *buf = o->m;
    for (size_t i = off; i < off + n; i++) {
        float d = g[i];
        if (wd != 0.0f)
            d = d + wd * p[i];
        if (mu != 0.0f) {
            buf[i] = mu * buf[i] + d;
            d = buf[i];
        }
        p[i] -= lr * d;
    }
}

/* Adam's per-step scalars, formed once per step. */
struct adam_k {
    float step;          /* lr / bc1 */
    float bc2_sqrt, rc;  /* √bc2, and RN(1 / √bc2) for the quotient below */
    float b1, b2, c1, c2, wd, eps;
};

/* x / c rounded to nearest without a division, for x = √v (so ±0, a normal
 * number at least 2⁻⁷⁵, +∞ or NaN) and c = √bc2 in [1e-8, 1] with rc =
 * RN(1/c). q = RN(x·rc) is within an ulp of x/c, the remainder x − q·c is
 * exact in an FMA, and RN(q + rem·rc) is then RN(x/c): Markstein's theorem
 * (IBM J. Res. Dev. 34(1), 1990; Muller et al., Handbook of Floating-Point
 * Arithmetic, the division theorems), whose conditions — no underflow of
 * the remainder, no overflow of q — hold on this range. A zero remainder
 * means q is exact (x = ±0 among them, whose sign it keeps); a NaN one means
 * x is ∞ or NaN, and so is q, as x/c is. test_optim checks it bit for bit
 * against the division on every x in a binade for one c, a sweep over the
 * range for 25 more, and the edges. */
static inline __attribute__((always_inline)) float quotient(float x, float c, float rc)
{
    float q = x * rc, rem = fmaf(-q, c, x);
    return rem == 0.0f || isnan(rem) ? q : fmaf(rem, rc, q);
}

/* The Adam loop over n elements. The four arrays never overlap (restrict),
 * so the compiler vectorises it; elementwise IEEE operations give the same
 * bits vectorised or not. Per element it takes a square root and two
 * divisions, which share one divider; on Intel's AVX-512 cores a 16-wide
 * division holds it for about ten cycles, in which the two FMA units could
 * do twenty. Where the CPU has FMA, fma is true and quotient() replaces the
 * division by √bc2 with the same bits: finetune's unit 1.08–1.13× faster
 * on such a core (README, "Against PyTorch"). */
static inline __attribute__((always_inline)) void adam_loop(const struct adam_k *k,
                                                            float *restrict p,
                                                            const float *restrict g,
                                                            float *restrict m,
                                                            float *restrict v, size_t n, bool fma)
{
    const float b1 = k->b1, b2 = k->b2, c1 = k->c1, c2 = k->c2, wd = k->wd, eps = k->eps;
    const float step = k->step, c = k->bc2_sqrt, rc = k->rc;
    if (wd != 0.0f) {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            m[i] = b1 * m[i] + c1 * d;
            v[i] = b2 * v[i] + c2 * (d * d);
            float s = fma ? quotient(sqrtf(v[i]), c, rc) : sqrtf(v[i]) / c;
            p[i] -= step * (m[i] / (s + eps));
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float d = g[i];
        m[i] = b1 * m[i] + c1 * d;
        v[i] = b2 * v[i] + c2 * (d * d);
        float s = fma ? quotient(sqrtf(v[i]), c, rc) : sqrtf(v[i]) / c;
        p[i] -= step * (m[i] / (s + eps));
    }
}

typedef void adam_fn(const struct adam_k *k, float *restrict p, const float *restrict g,
                     float *restrict m, float *restrict v, size_t n);

KSHOT_CLONES static void adam_divide(const struct adam_k *k, float *restrict p,
                                     const float *restrict g, float *restrict m,
                                     float *restrict v, size_t n)
{
    adam_loop(k, p, g, m, v, n, false);
}

#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_FMA_ADAM 1
/* The FMA loop compiled for a vector unit: NAME for target TARGET. */
#define ADAM_FMA(NAME, TARGET)                                                          \
    __attribute__((target(TARGET))) static void NAME(                                   \
        const struct adam_k *k, float *restrict p, const float *restrict g,             \
        float *restrict m, float *restrict v, size_t n)                                 \
    {                                                                                   \
        adam_loop(k, p, g, m, v, n, true);                                              \
    }
ADAM_FMA(adam_fma512, "avx512f")
ADAM_FMA(adam_fma256, "avx2,fma")
#undef ADAM_FMA
#endif

static const struct {
    const char *name;
    adam_fn *fn;
} adam_kinds[] = {
#ifdef HAVE_FMA_ADAM
    {"fma512", adam_fma512},
    {"fma256", adam_fma256},
#endif
    {"divide", adam_divide},
};
enum { N_ADAM_KINDS = sizeof adam_kinds / sizeof adam_kinds[0] };
static int forced_adam = -1;   /* optim_use_adam; -1: the fastest the CPU has */

static bool adam_runs_here(const char *name)
{
#ifdef HAVE_FMA_ADAM
    if (strcmp(name, "fma512") == 0)
        return __builtin_cpu_supports("avx512f");
    if (strcmp(name, "fma256") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return strcmp(name, "divide") == 0;
}

bool optim_use_adam(const char *name)
{
    if (strcmp(name, "auto") == 0) {
        forced_adam = -1;
        return true;
    }
    for (int i = 0; i < N_ADAM_KINDS; i++)
        if (strcmp(adam_kinds[i].name, name) == 0 && adam_runs_here(name)) {
            forced_adam = i;
            return true;
        }
    return false;
}

static adam_fn *pick_adam(void)
{
    if (forced_adam >= 0)
        return adam_kinds[forced_adam].fn;
    for (int i = 0; i < N_ADAM_KINDS; i++)
        if (adam_runs_here(adam_kinds[i].name))
            return adam_kinds[i].fn;
    return adam_divide;
}

#ifdef HAVE_FMA_ADAM
__attribute__((target("avx2,fma"))) static void quotients_fma(const float *x, float c, float *out,
                                                             size_t n)
{
    const float rc = 1.0f / c;
    for (size_t i = 0; i < n; i++)
        out[i] = quotient(x[i], c, rc);
}
#endif

bool optim_quotients(const float *x, float c, float *out, size_t n)
{
#ifdef HAVE_FMA_ADAM
    if (adam_runs_here("fma256")) {
        quotients_fma(x, c, out, n);
        return true;
    }
#endif
    return false;
}

/* Adam over [off, off+n) at step t (already incremented, ≥ 1). */
static void adam_span(struct optim *o, float *p, const float *g, size_t off, size_t n)
{
    const struct optim_settings *s = &o->s;
    double bc1 = 1.0 - pow(s->beta1, (double)o->t);
    double bc2 = 1.0 - pow(s->beta2, (double)o->t);
    struct adam_k k = {
        .step = (float)(s->lr / bc1), .bc2_sqrt = (float)sqrt(bc2),
        .b1 = (float)s->beta1, .b2 = (float)s->beta2,
        .c1 = (float)(1.0 - s->beta1), .c2 = (float)(1.0 - s->beta2),
        .wd = (float)s->weight_decay, .eps = (float)s->eps,
    };
    k.rc = 1.0f / k.bc2_sqrt;
    pick_adam()(&k, p + off, g + off, o->m + off, o->v + off, n);
}

/* Operations per element, matching the loops above (see optim.h); the FMA
 * loops' quotient counts as the one division it replaces. */
static uint64_t flops_per_element(const struct optim_settings *s)
{
    uint64_t f = s->weight_decay != 0 ? 2 : 0;
    if (s->kind == OPTIM_SGD)
        return f + 2 + (s->momentum != 0 ? 2 : 0);
    return f + 13;
}

void optim_step(struct optim *o, float *params, const float *grads,
                const struct span *spans, int n_spans, uint64_t *flops)
{
    struct span all = {0, o->n};
    if (!spans) {
        spans = &all;
        n_spans = 1;
    }
    assert(n_spans >= 0);
    o->t++;
    uint64_t touched = 0;
    for (int k = 0; k < n_spans; k++) {
        assert(spans[k].off <= o->n && spans[k].n <= o->n - spans[k].off);
        if (o->s.kind == OPTIM_SGD)
            sgd_span(o, params, grads, spans[k].off, spans[k].n);
        else
            adam_span(o, params, grads, spans[k].off, spans[k].n);
        touched += spans[k].n;
    }
    if (flops)
        *flops += touched * flops_per_element(&o->s);
}
