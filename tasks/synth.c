/* synth: sinusoid regression and Gaussian-cluster classification families.
 *
 * All draws come from Philox streams named in synth.h; nothing keeps state
 * between calls. Values are computed in double and stored as float, the
 * dataset's storage type. Deliberately not here: noise-free variants, other
 * function families, class names. */
#include "tasks/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"

void synth_sinusoid_defaults(struct sinusoid *p)
{
    p->amp_lo = 0.1;
    p->amp_hi = 5.0;
    p->phase_lo = 0.0;
    p->phase_hi = M_PI;
    p->x_lo = -5.0;
    p->x_hi = 5.0;
}

static int check_range(const char *key, double lo, double hi, struct err *e)
{
    if (!isfinite(lo) || !isfinite(hi) || lo > hi)
        return err_set(e, ERR_USAGE, "sinusoid: %s: [%g, %g] (expected finite lo ≤ hi)",
                       key, lo, hi);
    return 0;
}

int synth_sinusoid_check(const struct sinusoid *p, struct err *e)
{
    int rc = check_range("amplitude", p->amp_lo, p->amp_hi, e);
    if (!rc)
        rc = check_range("phase", p->phase_lo, p->phase_hi, e);
    if (!rc)
        rc = check_range("x", p->x_lo, p->x_hi, e);
    return rc;
}

/* Fill n points of the function (amp, phase) with x drawn from r. */
static void sinusoid_points(const struct sinusoid *p, struct rng *r, double amp,
                            double phase, int n, float *x, float *y)
{
    for (int i = 0; i < n; i++) {
        x[i] = (float)rng_range(r, p->x_lo, p->x_hi);
        y[i] = (float)(amp * sin((double)x[i] - phase));
    }
}

void synth_sinusoid_episode(const struct sinusoid *p, uint64_t seed, uint64_t target_key,
                            int shots, int queries, uint64_t index, float *xs, float *ys,
                            float *xq, float *yq, double *amp, double *phase)
{
    struct rng root, per_shots, r;
    rng_stream(&root, seed, RNG_TASK, target_key);
    rng_child(&per_shots, &root, RNG_TASK, (uint64_t)shots);
    rng_child(&r, &per_shots, RNG_TASK, index);
    double a = rng_range(&r, p->amp_lo, p->amp_hi);
    double ph = rng_range(&r, p->phase_lo, p->phase_hi);
    sinusoid_points(p, &r, a, ph, shots, xs, ys);
    sinusoid_points(p, &r, a, ph, queries, xq, yq);
    if (amp)
        *amp = a;
    if (phase)
        *phase = ph;
}

int synth_sinusoid_dataset(const struct sinusoid *p, uint64_t seed, size_t size,
                           struct dataset *out, struct err *e)
{
    dataset_init(out);
    int rc = synth_sinusoid_check(p, e);
    if (rc)
        return rc;
    if (size < 1)
        return err_set(e, ERR_USAGE, "sinusoid: size: 0 (expected at least 1 point)");
    out->name = strdup("sinusoid");
    out->x_f32 = malloc(sizeof *out->x_f32 * size);
    out->targets = malloc(sizeof *out->targets * size);
    if (!out->name || !out->x_f32 || !out->targets) {
        dataset_free(out);
        return err_set(e, ERR_NOMEM, "sinusoid: out of memory for %zu points", size);
    }
    out->kind = DATASET_REGRESSION;
    out->storage = DATASET_F32;
    out->n = size;
    out->dim = 1;
    out->n_targets = 1;
    struct rng r;
    rng_stream(&r, seed, RNG_DATA, rng_hash_str("sinusoid"));
    for (size_t i = 0; i < size; i++) {
        double a = rng_range(&r, p->amp_lo, p->amp_hi);
        double ph = rng_range(&r, p->phase_lo, p->phase_hi);
        sinusoid_points(p, &r, a, ph, 1, out->x_f32 + i, out->targets + i);
    }
    dataset_checksum(out);
    return 0;
}

void synth_clusters_defaults(struct clusters *p)
{
    p->classes = 10;
    p->dim = 20;
    p->separation = 0.5;
    p->per_class = 200;
}

int synth_clusters_check(const struct clusters *p, struct err *e)
{
    if (p->classes < 2)
        return err_set(e, ERR_USAGE, "clusters: classes: %d (expected at least 2)", p->classes);
    if (p->dim < 1)
        return err_set(e, ERR_USAGE, "clusters: dim: %d (expected at least 1)", p->dim);
    if (p->per_class < 1)
        return err_set(e, ERR_USAGE, "clusters: per_class: %d (expected at least 1)",
                       p->per_class);
    if (!isfinite(p->separation) || p->separation < 0)
        return err_set(e, ERR_USAGE, "clusters: separation: %g (expected finite, ≥ 0)",
                       p->separation);
    if ((size_t)p->classes * (size_t)p->per_class > (size_t)INT32_MAX / (size_t)p->dim)
        return err_set(e, ERR_USAGE, "clusters: %d classes × %d points × %d features is too large",
                       p->classes, p->per_class, p->dim);
    return 0;
}

void synth_clusters_centres(const struct clusters *p, uint64_t seed, double *centres)
{
    struct rng r;
    rng_stream(&r, seed, RNG_TASK, rng_hash_str("clusters"));
    for (size_t i = 0; i < (size_t)p->classes * (size_t)p->dim; i++)
        centres[i] = p->separation * rng_normal(&r);
}

/* Rows i = 0..n: label i mod classes, point centre + N(0, I) drawn from r. */
static void clusters_points(const struct clusters *p, const double *centres, struct rng *r,
                            struct dataset *out)
{
    const size_t dim = (size_t)p->dim;
    for (size_t i = 0; i < out->n; i++) {
        int c = (int)(i % (size_t)p->classes);
        const double *mu = centres + (size_t)c * dim;
        for (size_t j = 0; j < dim; j++)
            out->x_f32[i * dim + j] = (float)(mu[j] + rng_normal(r));
        out->labels[i] = c;
    }
}

int synth_clusters_dataset(const struct clusters *p, uint64_t seed, int split,
                           struct dataset *out, struct err *e)
{
    dataset_init(out);
    int rc = synth_clusters_check(p, e);
    if (rc)
        return rc;
    if (split != 0 && split != 1)
        return err_set(e, ERR_USAGE, "clusters: split %d (expected 0 train or 1 test)", split);
    size_t n = (size_t)p->classes * (size_t)p->per_class, dim = (size_t)p->dim;
    double *centres = malloc(sizeof *centres * (size_t)p->classes * dim);
    out->name = strdup("clusters");
    out->x_f32 = malloc(sizeof *out->x_f32 * n * dim);
    out->labels = malloc(sizeof *out->labels * n);
    if (!centres || !out->name || !out->x_f32 || !out->labels) {
        rc = err_set(e, ERR_NOMEM, "clusters: out of memory for %zu points", n);
        goto fail;
    }
    out->kind = DATASET_CLASSIFICATION;
    out->storage = DATASET_F32;
    out->n = n;
    out->dim = dim;
    out->n_classes = p->classes;
    synth_clusters_centres(p, seed, centres);
    struct rng root, r;
    rng_stream(&root, seed, RNG_DATA, rng_hash_str("clusters"));
    rng_child(&r, &root, RNG_DATA, (uint64_t)split);
    clusters_points(p, centres, &r, out);
    dataset_checksum(out);
    free(centres);
    return 0;
fail:
    free(centres);
    dataset_free(out);
    return rc;
}
