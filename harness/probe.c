/* probe: signed-gradient steps, ε-ball projection, noise, in input units. */
#include "harness/probe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const probe_kinds[] = {"fgsm", "pgd", "noise", NULL};

bool probe_needs_gradient(int kind)
{
    return kind == PROBE_FGSM || kind == PROBE_PGD;
}

int probe_space_init(struct probe_space *s, int dim, double scale, const float *mul,
                     const float *add, bool bytes, struct err *e)
{
    memset(s, 0, sizeof *s);
    s->dim = dim;
    s->a = malloc(sizeof *s->a * (size_t)dim);
    s->lo = malloc(sizeof *s->lo * (size_t)dim);
    s->hi = malloc(sizeof *s->hi * (size_t)dim);
    if (!s->a || !s->lo || !s->hi) {
        probe_space_free(s);
        return err_set(e, ERR_NOMEM, "out of memory for a probe");
    }
    for (int j = 0; j < dim; j++) {
        double m = mul ? mul[j] : 1.0, b = add ? add[j] : 0.0;
        s->a[j] = (float)(m * (scale > 0 ? scale : 1.0));
        s->lo[j] = bytes ? (float)b : -INFINITY;
        s->hi[j] = bytes ? (float)(255.0 * m + b) : INFINITY;
    }
    return ERR_OK;
}

void probe_space_free(struct probe_space *s)
{
    if (!s)
        return;
    free(s->a), free(s->lo), free(s->hi);
    memset(s, 0, sizeof *s);
}

static float clip(const struct probe_space *s, int j, float v)
{
    return v < s->lo[j] ? s->lo[j] : v > s->hi[j] ? s->hi[j] : v;
}

void probe_sign_step(const struct probe_space *s, const float *x, const float *g, int n,
                     double step, float *out)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s->dim; j++) {
            size_t k = (size_t)i * s->dim + j;
            float d = g[k] > 0 ? 1.0f : g[k] < 0 ? -1.0f : 0.0f;
            out[k] = clip(s, j, x[k] + (float)step * s->a[j] * d);
        }
}

void probe_project(const struct probe_space *s, const float *x0, int n, double eps, float *x)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s->dim; j++) {
            size_t k = (size_t)i * s->dim + j;
            float r = (float)eps * s->a[j];
            float v = x[k] < x0[k] - r ? x0[k] - r : x[k] > x0[k] + r ? x0[k] + r : x[k];
            x[k] = clip(s, j, v);
        }
}

void probe_random_start(const struct probe_space *s, const float *x0, int n, double eps,
                        struct rng *r, float *out)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s->dim; j++) {
            size_t k = (size_t)i * s->dim + j;
            out[k] = clip(s, j, x0[k] + (float)(rng_range(r, -eps, eps) * s->a[j]));
        }
}

void probe_noise(const struct probe_space *s, const float *x0, int n, double sigma, struct rng *r,
                 float *out)
{
    if (sigma == 0) {
        memcpy(out, x0, sizeof *out * (size_t)n * (size_t)s->dim);
        return;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s->dim; j++) {
            size_t k = (size_t)i * s->dim + j;
            out[k] = clip(s, j, x0[k] + (float)(sigma * rng_normal(r) * s->a[j]));
        }
}
