/* preprocess: per-feature affine maps x·mul + add, in the form dataset_rows() applies.
 *
 * Statistics come from the source rows only, never from target rows, so a
 * held-out task cannot leak into the preprocessing a learner is evaluated
 * with. Deliberately not here: whitening, per-row normalisation, applying
 * the map (dataset_rows does that while converting a batch). */
#ifndef KSHOT_PREPROCESS_H
#define KSHOT_PREPROCESS_H

#include <stddef.h>

#include "harness/base/err.h"
#include "tasks/dataset.h"

struct preprocess {
    size_t dim;  /* features */
    float *mul;  /* (dim) */
    float *add;  /* (dim) */
};

/* Zero p so that preprocess_free is safe on it. */
void preprocess_init(struct preprocess *p);

/* x / scale for every feature: mul = 1/scale, add = 0. scale finite, > 0
 * (e.g. 255 maps bytes to [0, 1]). */
int preprocess_scale(struct preprocess *p, size_t dim, double scale, struct err *e);

/* (x − mean) / std per feature, with mean and population std (divisor n)
 * accumulated in double over d's rows[0..n_rows) only, the SOURCE rows.
 * A constant feature (std exactly 0) gets std 1, so it maps to 0 rather than
 * dividing by zero. Row ids must lie in [0, d->n); n_rows ≥ 1. */
int preprocess_standardise(struct preprocess *p, const struct dataset *d, const int *rows,
                           size_t n_rows, struct err *e);

/* Release what p owns and zero it; safe on NULL. */
void preprocess_free(struct preprocess *p);

#endif
