/* dataset: n rows of dim values plus labels or targets, shared read-only.
 *
 * Images stay 8-bit (u8) and are converted to floats per batch with the
 * dataset's preprocessing (x·mul + add, per feature), so Fashion-MNIST train
 * costs 47 MB, not 188 MB. Other sources store floats (f32). A loaded
 * dataset is never modified; every worker reads it concurrently. */
#ifndef KSHOT_DATASET_H
#define KSHOT_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "harness/base/err.h"

enum dataset_kind { DATASET_CLASSIFICATION, DATASET_REGRESSION };
enum dataset_storage { DATASET_U8, DATASET_F32 };

struct dataset {
    char *name;                /* for messages: file path or family name */
    enum dataset_kind kind;
    enum dataset_storage storage;
    size_t n;                  /* rows */
    size_t dim;                /* features per row */
    uint8_t *x_u8;             /* (n, dim) when storage == DATASET_U8 */
    float *x_f32;              /* (n, dim) when storage == DATASET_F32 */
    int *labels;               /* (n) class ids, classification only */
    size_t n_targets;          /* regression: outputs per row */
    float *targets;            /* (n, n_targets), regression only */
    int n_classes;             /* distinct class ids are 0..n_classes-1 */
    char **class_names;        /* (n_classes) names for CSV labels, or NULL */
    int rows, cols;            /* image shape when dim == rows·cols, else 0 */
    uint32_t checksum;         /* CRC32 of the stored bytes, for run.yaml and unit ids */
};

/* Zero a dataset so that dataset_free is safe on it. */
void dataset_init(struct dataset *d);
/* Release what d owns; safe on an initialised or partly filled dataset. */
void dataset_free(struct dataset *d);

/* Copy rows idx[0..count) into out (count, dim) as floats, applying
 * x·mul[j] + add[j] per feature (mul/add NULL: identity). */
void dataset_rows(const struct dataset *d, const int *idx, size_t count,
                  const float *mul, const float *add, float *out);

/* Class id of a label as written by a user (config `classes:`): a class
 * name when d->class_names is set, else a decimal integer in
 * [0, n_classes). Returns -1 when there is no such class. */
int dataset_class_lookup(const struct dataset *d, const char *label);

/* Recompute d->checksum over the stored values and labels/targets. */
void dataset_checksum(struct dataset *d);

#endif
