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

/* Adam over [off, off+n) at step t (already incremented, ≥ 1). The four
 * arrays never overlap (restrict), so the compiler vectorises the loop;
 * elementwise IEEE operations give the same bits vectorised or not. */
KSHOT_CLONES static void adam_span(struct optim *o, float *p_, const float *g_, size_t off,
                                   size_t n)
{
    const struct optim_settings *s = &o->s;
    double bc1 = 1.0 - pow(s->beta1, (double)o->t);
    double bc2 = 1.0 - pow(s->beta2, (double)o->t);
    const float step = (float)(s->lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float b1 = (float)s->beta1, b2 = (float)s->beta2;
    const float c1 = (float)(1.0 - s->beta1), c2 = (float)(1.0 - s->beta2);
    const float wd = (float)s->weight_decay, eps = (float)s->eps;
    float *restrict p = p_ + off, *restrict m = o->m + off, *restrict v = o->v + off;
    const float *restrict g = g_ + off;
    if (wd != 0.0f) {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * p[i];
            m[i] = b1 * m[i] + c1 * d;
            v[i] = b2 * v[i] + c2 * (d * d);
            p[i] -= step * (m[i] / (sqrtf(v[i]) / bc2_sqrt + eps));
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float d = g[i];
        m[i] = b1 * m[i] + c1 * d;
        v[i] = b2 * v[i] + c2 * (d * d);
        p[i] -= step * (m[i] / (sqrtf(v[i]) / bc2_sqrt + eps));
    }
}

/* Operations per element, matching the loops above (see optim.h). */
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
