/* probe: signed-gradient steps, ε-ball projection, noise, in input units. */
#include "harness/probe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/simd.h"

const char *const probe_kinds[] = {"fgsm", "pgd", "noise", "patch", "cue_conflict", NULL};

bool probe_needs_gradient(int kind)
{
    return kind == PROBE_FGSM || kind == PROBE_PGD || kind == PROBE_PATCH;
}

bool probe_needs_images(int kind)
{
    return kind == PROBE_PATCH || kind == PROBE_CUE;
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

/* The two loops below run once or many times per episode over every query
 * value: compiled for the CPU's vector units (elementwise IEEE operations
 * and comparisons, the same bits in any clone), one row at a time. out may
 * be x itself. */
KSHOT_CLONES static void sign_step_row(int dim, const float *a, const float *lo, const float *hi,
                                       const float *x, const float *g, float step, float *out)
{
    for (int j = 0; j < dim; j++) {
        float d = g[j] > 0 ? 1.0f : g[j] < 0 ? -1.0f : 0.0f;
        float v = x[j] + step * a[j] * d;
        out[j] = v < lo[j] ? lo[j] : v > hi[j] ? hi[j] : v;
    }
}

void probe_sign_step(const struct probe_space *s, const float *x, const float *g, int n,
                     double step, float *out)
{
    for (int i = 0; i < n; i++) {
        size_t k = (size_t)i * s->dim;
        sign_step_row(s->dim, s->a, s->lo, s->hi, x + k, g + k, (float)step, out + k);
    }
}

KSHOT_CLONES static void project_row(int dim, const float *a, const float *lo, const float *hi,
                                     const float *x0, float eps, float *x)
{
    for (int j = 0; j < dim; j++) {
        float r = eps * a[j];
        float v = x[j] < x0[j] - r ? x0[j] - r : x[j] > x0[j] + r ? x0[j] + r : x[j];
        x[j] = v < lo[j] ? lo[j] : v > hi[j] ? hi[j] : v;
    }
}

void probe_project(const struct probe_space *s, const float *x0, int n, double eps, float *x)
{
    for (int i = 0; i < n; i++) {
        size_t k = (size_t)i * s->dim;
        project_row(s->dim, s->a, s->lo, s->hi, x0 + k, (float)eps, x + k);
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
    enum { CHUNK = 1024 };
    double z[CHUNK];
    for (int i = 0; i < n; i++)
        for (int j0 = 0; j0 < s->dim; j0 += CHUNK) {
            const int m = s->dim - j0 < CHUNK ? s->dim - j0 : CHUNK;
            rng_normal_fill(r, z, (size_t)m);   /* row order, as one by one */
            for (int j = j0; j < j0 + m; j++) {
                size_t k = (size_t)i * s->dim + j;
                out[k] = clip(s, j, x0[k] + (float)(sigma * z[j - j0] * s->a[j]));
            }
        }
}

/* ---- patches ---- */

/* Input-unit value v of feature j in the model's units, inside the data's range. */
static float to_model(const struct probe_space *s, int j, float v)
{
    float b = isinf(s->lo[j]) ? 0.0f : s->lo[j];   /* bytes: raw 0 is lo, the offset b */
    return clip(s, j, v * s->a[j] + b);
}

void probe_paste(const struct probe_space *s, int cols, const float *x, int n, const float *patch,
                 int side, const int *pos, float *out)
{
    memcpy(out, x, sizeof *out * (size_t)n * (size_t)s->dim);
    for (int i = 0; i < n; i++)
        for (int r = 0; r < side; r++)
            for (int c = 0; c < side; c++) {
                int j = (pos[2 * i] + r) * cols + pos[2 * i + 1] + c;
                out[(size_t)i * s->dim + j] = to_model(s, j, patch[r * side + c]);
            }
}

void probe_patch_grad(const struct probe_space *s, int cols, const float *g, int n, int side,
                      const int *pos, double *acc)
{
    for (int i = 0; i < n; i++)
        for (int r = 0; r < side; r++)
            for (int c = 0; c < side; c++) {
                int j = (pos[2 * i] + r) * cols + pos[2 * i + 1] + c;
                acc[r * side + c] += (double)g[(size_t)i * s->dim + j] * s->a[j];
            }
}

void probe_positions(struct rng *r, int rows, int cols, int side, int n, int *pos)
{
    for (int i = 0; i < n; i++) {
        pos[2 * i] = (int)rng_below(r, (uint32_t)(rows - side + 1));
        pos[2 * i + 1] = (int)rng_below(r, (uint32_t)(cols - side + 1));
    }
}

/* ---- cue conflict ---- */

void probe_texture(const struct probe_space *s, int rows, int cols, struct rng *r, float *tex)
{
    const double pi = 3.14159265358979323846;
    double f = rng_range(r, 0.1, 0.4), theta = rng_range(r, 0, pi), phi = rng_range(r, 0, 2 * pi);
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) {
            int j = y * cols + x;
            double u = 0.5 + 0.5 * sin(2 * pi * f * (x * cos(theta) + y * sin(theta)) + phi);
            double span = (s->hi[j] - s->lo[j]) / s->a[j];   /* the range in input units */
            tex[j] = to_model(s, j, (float)(u * span));
        }
}

void probe_blend(const struct probe_space *s, const float *x, const float *tex, double strength,
                 float *out)
{
    for (int j = 0; j < s->dim; j++)
        out[j] = (float)((1 - strength) * x[j] + strength * tex[j]);
}
