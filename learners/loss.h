/* loss: the two losses kshot trains with, each returning the mean over the batch.
 *
 * Both compute in double internally and write the gradient of the *mean*
 * loss with respect to their input when the gradient pointer is not NULL,
 * adding their elementwise work to *flops when flops is not NULL.
 *
 * FLOPs added (B = batch, C = classes, D = dim; comparisons not counted):
 *   loss_xent  3·B·C + 4·B + 2 for the value (shift, exp, sum per element;
 *              log, add max, subtract label logit, accumulate per row; 1/B
 *              and the mean once), and 3·B·C + 2·B more with dlogits (shift,
 *              exp, scale per element; the row's scale and the one-hot
 *              subtraction per row).
 *   loss_mse   3·B·D + 1 for the value (difference, square, sum; the mean)
 *              and B·D + 1 more with dpred (scale per element; 2/(B·D) once).
 * batch and classes/dim must be ≥ 1 (asserted). */
#ifndef KSHOT_LOSS_H
#define KSHOT_LOSS_H

#include <stdint.h>

/* Softmax cross-entropy: logits (batch, classes), labels in [0, classes).
 * dlogits (batch, classes) = (softmax − onehot)/batch. *correct (optional)
 * receives how many rows have the true label as their first arg-max. */
double loss_xent(const float *logits, const int *labels, int batch, int classes,
                 float *dlogits, int *correct, uint64_t *flops);

/* How many rows have the true label as their first arg-max, as loss_xent's
 * *correct, without the loss (no operations counted: comparisons). */
int loss_correct(const float *logits, const int *labels, int batch, int classes);

/* Mean squared error over all batch·dim elements; dpred = 2(pred−target)/(batch·dim). */
double loss_mse(const float *pred, const float *target, int batch, int dim,
                float *dpred, uint64_t *flops);

#endif
