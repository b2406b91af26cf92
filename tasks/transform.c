/* transform: the kind table and the permutation, rotation and noise kinds.
 *
 * Each kind precomputes what it can at _init (the permutation, the rotation's
 * bilinear taps) so that applying it is a loop over rows with no decisions
 * but the table lookup. Deliberately not here: resampling filters other than
 * bilinear, colour images, anything that mixes rows. */
#include "tasks/transform.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row in place; tmp is (dim) scratch. row is the dataset row id, or -1
 * when the caller gave none (only for kinds that do not need it). */
typedef void (*apply_row_fn)(const struct transform *t, float *x, int row, float *tmp);

static void identity_row(const struct transform *t, float *x, int row, float *tmp)
{
}

static void permutation_row(const struct transform *t, float *x, int row, float *tmp)
{
    memcpy(tmp, x, sizeof *tmp * t->dim);
    for (size_t j = 0; j < t->dim; j++)
        x[j] = tmp[t->perm[j]];
}

static void rotation_row(const struct transform *t, float *x, int row, float *tmp)
{
    memcpy(tmp, x, sizeof *tmp * t->dim);
    for (size_t p = 0; p < t->dim; p++) {
        const int *tap = t->taps + 4 * p;
        const float *w = t->weights + 4 * p;
        float v = 0.0f;
        for (int k = 0; k < 4; k++)
            if (tap[k] >= 0)
                v += w[k] * tmp[tap[k]];
        x[p] = v;
    }
}

static void noise_row(const struct transform *t, float *x, int row, float *tmp)
{
    assert(row >= 0);
    struct rng r;
    rng_child(&r, &t->root, RNG_DATA, (uint64_t)row);
    enum { CHUNK = 1024 };
    double z[CHUNK];
    for (size_t j0 = 0; j0 < t->dim; j0 += CHUNK) {
        size_t m = t->dim - j0 < CHUNK ? t->dim - j0 : CHUNK;
        rng_normal_fill(&r, z, m);   /* in order, as one by one */
        for (size_t j = 0; j < m; j++)
            x[j0 + j] += (float)(t->sigma * z[j]);
    }
}

static const struct {
    const char *name;
    int needs_rows; /* applying needs the dataset row ids */
    apply_row_fn apply_row;
} kinds[TRANSFORM_KINDS] = {
    [TRANSFORM_IDENTITY] = {"identity", 0, identity_row},
    [TRANSFORM_PERMUTATION] = {"permutation", 0, permutation_row},
    [TRANSFORM_ROTATION] = {"rotation", 0, rotation_row},
    [TRANSFORM_NOISE] = {"noise", 1, noise_row},
};

const char *transform_kind_name(enum transform_kind kind)
{
    assert(kind >= 0 && kind < TRANSFORM_KINDS);
    return kinds[kind].name;
}

int transform_kind_lookup(const char *name, struct err *e)
{
    char valid[256] = "";
    size_t used = 0;
    for (int k = 0; k < TRANSFORM_KINDS; k++) {
        if (strcmp(kinds[k].name, name) == 0)
            return k;
        int n = snprintf(valid + used, sizeof valid - used, "%s%s", k ? ", " : "",
                         kinds[k].name);
        if (n > 0 && (size_t)n < sizeof valid - used)
            used += (size_t)n;
    }
    return err_set(e, ERR_USAGE, "transform: unknown kind '%s' (expected one of: %s)", name,
                   valid);
}

void transform_init(struct transform *t)
{
    memset(t, 0, sizeof *t);
    t->kind = TRANSFORM_IDENTITY;
}

void transform_free(struct transform *t)
{
    if (!t)
        return;
    free(t->perm);
    free(t->taps);
    free(t->weights);
    transform_init(t);
}

int transform_permutation_init(struct transform *t, size_t dim, uint64_t seed,
                               uint64_t task_key, struct err *e)
{
    transform_init(t);
    if (dim < 1 || dim > (size_t)INT32_MAX)
        return err_set(e, ERR_USAGE, "permutation: %zu features (expected 1..%d)", dim,
                       INT32_MAX);
    t->perm = malloc(sizeof *t->perm * dim);
    if (!t->perm)
        return err_set(e, ERR_NOMEM, "permutation: out of memory for %zu features", dim);
    for (size_t j = 0; j < dim; j++)
        t->perm[j] = (int)j;
    struct rng r;
    rng_stream(&r, seed, RNG_TASK, task_key);
    rng_shuffle(&r, t->perm, dim);
    t->kind = TRANSFORM_PERMUTATION;
    t->dim = dim;
    return 0;
}

/* sin and cos of an angle in degrees, exact at multiples of 90°. */
static void sincos_degrees(double degrees, double *s, double *c)
{
    double a = fmod(degrees, 360.0);
    if (a < 0)
        a += 360.0;
    static const double quarter[4][2] = {{0, 1}, {1, 0}, {0, -1}, {-1, 0}};
    if (a == 0 || a == 90 || a == 180 || a == 270) {
        *s = quarter[(int)(a / 90)][0];
        *c = quarter[(int)(a / 90)][1];
        return;
    }
    *s = sin(a * M_PI / 180.0);
    *c = cos(a * M_PI / 180.0);
}

/* Bilinear taps of output pixel (r, c): the inverse rotation of its centre
 * lands at (rs, cs) in the source; taps outside the image or with zero
 * weight are -1 (zero padding, and exact results on the pixel grid). */
static void rotation_taps(struct transform *t, int r, int c, double sn, double cn)
{
    double cy = (t->rows - 1) / 2.0, cx = (t->cols - 1) / 2.0;
    double x = c - cx, y = cy - r;          /* right and up from the centre */
    double xs = cn * x + sn * y;            /* rotate by −θ */
    double ys = -sn * x + cn * y;
    double rs = cy - ys, cs = cx + xs;
    double r0 = floor(rs), c0 = floor(cs), fr = rs - r0, fc = cs - c0;
    const double w[4] = {(1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc};
    const double tr[4] = {r0, r0, r0 + 1, r0 + 1}, tc[4] = {c0, c0 + 1, c0, c0 + 1};
    size_t p = (size_t)r * (size_t)t->cols + (size_t)c;
    for (int k = 0; k < 4; k++) {
        int inside = tr[k] >= 0 && tr[k] < t->rows && tc[k] >= 0 && tc[k] < t->cols;
        t->taps[4 * p + k] = inside && w[k] != 0 ? (int)tr[k] * t->cols + (int)tc[k] : -1;
        t->weights[4 * p + k] = (float)w[k];
    }
}

int transform_rotation_init(struct transform *t, int rows, int cols, double degrees,
                            struct err *e)
{
    transform_init(t);
    if (rows < 1 || cols < 1 || (size_t)rows > (size_t)INT32_MAX / 4 / (size_t)cols)
        return err_set(e, ERR_USAGE, "rotation: a %d×%d image (expected a positive shape)",
                       rows, cols);
    if (!isfinite(degrees))
        return err_set(e, ERR_USAGE, "rotation: angle %g (expected a finite number of degrees)",
                       degrees);
    size_t dim = (size_t)rows * (size_t)cols;
    t->taps = malloc(sizeof *t->taps * 4 * dim);
    t->weights = malloc(sizeof *t->weights * 4 * dim);
    if (!t->taps || !t->weights) {
        transform_free(t);
        return err_set(e, ERR_NOMEM, "rotation: out of memory for a %d×%d image", rows, cols);
    }
    t->rows = rows;
    t->cols = cols;
    t->degrees = degrees;
    double sn, cn;
    sincos_degrees(degrees, &sn, &cn);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            rotation_taps(t, r, c, sn, cn);
    t->kind = TRANSFORM_ROTATION;
    t->dim = dim;
    return 0;
}

int transform_noise_init(struct transform *t, size_t dim, double sigma, uint64_t seed,
                         uint64_t task_key, struct err *e)
{
    transform_init(t);
    if (dim < 1)
        return err_set(e, ERR_USAGE, "noise: 0 features (expected at least 1)");
    if (!isfinite(sigma) || sigma < 0)
        return err_set(e, ERR_USAGE, "noise: sigma %g (expected finite, ≥ 0)", sigma);
    rng_stream(&t->root, seed, RNG_TASK, task_key);
    t->sigma = sigma;
    t->kind = TRANSFORM_NOISE;
    t->dim = dim;
    return 0;
}

int transform_apply(const struct transform *t, float *x, const int *rows, int batch,
                    struct err *e)
{
    assert(t->kind >= 0 && t->kind < TRANSFORM_KINDS);
    if (kinds[t->kind].needs_rows && !rows && batch > 0)
        return err_set(e, ERR_USAGE, "transform %s: needs the dataset row ids of the batch",
                       kinds[t->kind].name);
    if (t->dim == 0 || batch <= 0) /* the identity has no shape */
        return 0;
    float *tmp = malloc(sizeof *tmp * t->dim);
    if (!tmp)
        return err_set(e, ERR_NOMEM, "transform %s: out of memory for a %zu-feature row",
                       kinds[t->kind].name, t->dim);
    for (int i = 0; i < batch; i++)
        kinds[t->kind].apply_row(t, x + (size_t)i * t->dim, rows ? rows[i] : -1, tmp);
    free(tmp);
    return 0;
}
