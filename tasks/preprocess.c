/* preprocess: scale and standardisation maps for dataset_rows().
 *
 * Standardisation makes two passes (mean, then squared deviations from it),
 * so a constant feature has a variance of exactly zero rather than a
 * rounding residue. Deliberately not here: clipping, robust statistics. */
#include "tasks/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void preprocess_init(struct preprocess *p)
{
    memset(p, 0, sizeof *p);
}

void preprocess_free(struct preprocess *p)
{
    if (!p)
        return;
    free(p->mul);
    free(p->add);
    preprocess_init(p);
}

static int alloc_maps(struct preprocess *p, size_t dim, struct err *e)
{
    p->mul = malloc(sizeof *p->mul * dim);
    p->add = malloc(sizeof *p->add * dim);
    if (!p->mul || !p->add) {
        preprocess_free(p);
        return err_set(e, ERR_NOMEM, "preprocess: out of memory for %zu features", dim);
    }
    p->dim = dim;
    return 0;
}

int preprocess_scale(struct preprocess *p, size_t dim, double scale, struct err *e)
{
    preprocess_init(p);
    if (dim < 1)
        return err_set(e, ERR_USAGE, "scale: 0 features (expected at least 1)");
    if (!isfinite(scale) || scale <= 0)
        return err_set(e, ERR_USAGE, "scale: %g (expected a finite number > 0)", scale);
    int rc = alloc_maps(p, dim, e);
    if (rc)
        return rc;
    for (size_t j = 0; j < dim; j++) {
        p->mul[j] = (float)(1.0 / scale);
        p->add[j] = 0.0f;
    }
    return 0;
}

/* Add each listed row (as floats, no preprocessing) to acc (dim): the row
 * itself when mean is NULL, else its squared deviation from mean. */
static void accumulate(const struct dataset *d, const int *rows, size_t n_rows,
                       const double *mean, float *row, double *acc)
{
    for (size_t i = 0; i < n_rows; i++) {
        dataset_rows(d, rows + i, 1, NULL, NULL, row);
        for (size_t j = 0; j < d->dim; j++) {
            double v = mean ? (row[j] - mean[j]) * (row[j] - mean[j]) : row[j];
            acc[j] += v;
        }
    }
}

int preprocess_standardise(struct preprocess *p, const struct dataset *d, const int *rows,
                           size_t n_rows, struct err *e)
{
    preprocess_init(p);
    if (n_rows < 1 || d->dim < 1)
        return err_set(e, ERR_USAGE, "standardise: %zu rows of %zu features (expected at least one of each)",
                       n_rows, d->dim);
    for (size_t i = 0; i < n_rows; i++)
        if (rows[i] < 0 || (size_t)rows[i] >= d->n)
            return err_set(e, ERR_USAGE, "standardise: row %d of %s (expected 0..%zu)", rows[i],
                           d->name ? d->name : "the dataset", d->n - 1);
    int rc = ERR_NOMEM;
    double *mean = calloc(d->dim, sizeof *mean), *var = calloc(d->dim, sizeof *var);
    float *row = malloc(sizeof *row * d->dim);
    if (!mean || !var || !row)
        goto fail;
    if ((rc = alloc_maps(p, d->dim, e)))
        goto fail;
    accumulate(d, rows, n_rows, NULL, row, mean);
    for (size_t j = 0; j < d->dim; j++)
        mean[j] /= (double)n_rows;
    accumulate(d, rows, n_rows, mean, row, var);
    for (size_t j = 0; j < d->dim; j++) {
        double sd = sqrt(var[j] / (double)n_rows);
        if (sd == 0)
            sd = 1; /* constant feature: map it to 0 */
        p->mul[j] = (float)(1.0 / sd);
        p->add[j] = (float)(-mean[j] / sd);
    }
    rc = 0;
fail:
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, "standardise: out of memory for %zu features", d->dim);
    free(mean);
    free(var);
    free(row);
    return rc;
}
