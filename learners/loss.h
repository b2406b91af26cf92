/* loss: the two losses kshot trains with, each returning the mean over the batch.
 *
 * Both compute in double internally and write the gradient of the *mean*
 * loss with respect to their input when the gradient pointer is not NULL,
 * adding their elementwise work to *flops when flops is not NULL. */
#ifndef KSHOT_LOSS_H
#define KSHOT_LOSS_H

#include <stdint.h>

/* Softmax cross-entropy: logits (batch, classes), labels in [0, classes).
 * dlogits (batch, classes) = (softmax − onehot)/batch. *correct (optional)
 * receives how many rows have the true label as their first arg-max. */
double loss_xent(const float *logits, const int *labels, int batch, int classes,
                 float *dlogits, int *correct, uint64_t *flops);

/* Mean squared error over all batch·dim elements; dpred = 2(pred−target)/(batch·dim). */
double loss_mse(const float *pred, const float *target, int batch, int dim,
                float *dpred, uint64_t *flops);

#endif
