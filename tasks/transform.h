/* transform: per-task input transforms (pixel permutation, rotation, noise) applied to float batches.
 *
 * A task family is derived from an image dataset by transforming each batch
 * after it is converted to floats (dataset_rows with the preprocessing), so
 * images stay u8 in memory and "zero" below means zero in the preprocessed
 * units. A transform is read-only after its _init, so workers share one.
 * Every kind's randomness is a pure function of (seed, task_key) and, for
 * noise, the dataset row id: never of batch composition or order.
 * Kinds live in one table in transform.c (name, needs row ids, per-row
 * apply); a new kind adds an enum value, a row there and an _init here.
 * Deliberately not here: choosing which task uses which transform (the
 * config), attacks that need gradients (the evaluator). */
#ifndef KSHOT_TRANSFORM_H
#define KSHOT_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "harness/base/err.h"
#include "harness/base/rng.h"

enum transform_kind {
    TRANSFORM_IDENTITY,    /* leaves rows unchanged (what transform_init gives) */
    TRANSFORM_PERMUTATION, /* out[j] = in[perm[j]], one fixed perm per (seed, task_key) */
    TRANSFORM_ROTATION,    /* rotate by an angle about the image centre, bilinear */
    TRANSFORM_NOISE,       /* add N(0, σ²) per feature, keyed by dataset row id */
    TRANSFORM_KINDS
};

struct transform {
    enum transform_kind kind;
    size_t dim;          /* features per row the transform expects */
    int *perm;           /* permutation: (dim) source feature of each output */
    int rows, cols;      /* rotation: image shape, rows·cols == dim */
    double degrees;      /* rotation: counter-clockwise as displayed */
    int *taps;           /* rotation: (dim, 4) source pixels, -1 for none */
    float *weights;      /* rotation: (dim, 4) bilinear weights of the taps */
    double sigma;        /* noise: standard deviation */
    struct rng root;     /* noise: rng_stream(seed, RNG_TASK, task_key); only its key is used */
};

/* --- building --- */

/* The identity transform; transform_free is safe on it. */
void transform_init(struct transform *t);
/* A uniform random permutation of dim features drawn (rng_shuffle) from
 * rng_stream(seed, RNG_TASK, task_key): fixed per task, different across tasks. */
int transform_permutation_init(struct transform *t, size_t dim, uint64_t seed,
                               uint64_t task_key, struct err *e);
/* Rotation of a (rows, cols) image by `degrees`, counter-clockwise as displayed
 * (row 0 at the top), about the centre ((rows−1)/2, (cols−1)/2), with bilinear
 * interpolation and zero outside the image. Multiples of 90° use exact sines,
 * so a quarter turn of a square image is an exact index rotation. */
int transform_rotation_init(struct transform *t, int rows, int cols, double degrees,
                            struct err *e);
/* Additive Gaussian noise of std sigma ≥ 0; row r's noise is drawn from
 * rng_child(rng_stream(seed, RNG_TASK, task_key), RNG_DATA, r). */
int transform_noise_init(struct transform *t, size_t dim, double sigma, uint64_t seed,
                         uint64_t task_key, struct err *e);
/* Release what t owns and reset it to the identity; safe on NULL. */
void transform_free(struct transform *t);

/* --- applying --- */

/* Transform x (batch, t->dim) in place. rows (batch) are the dataset row ids
 * of x's rows; kinds that need them (noise) refuse NULL with ERR_USAGE.
 * Returns 0, or ERR_NOMEM if its (dim) scratch row cannot be allocated. */
int transform_apply(const struct transform *t, float *x, const int *rows, int batch,
                     struct err *e);

/* --- kinds by name --- */

/* "identity", "permutation", "rotation", "noise". */
const char *transform_kind_name(enum transform_kind kind);
/* The kind called name, or ERR_USAGE listing the valid names. */
int transform_kind_lookup(const char *name, struct err *e);

#endif
