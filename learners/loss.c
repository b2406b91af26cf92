/* loss: softmax cross-entropy and mean squared error, in double, with gradients.
 *
 * Each loss is one pass over its input; the value is the mean over the
 * batch and the gradient is that of the mean. Not here: regularisers,
 * label smoothing, class weights (none is used by any learner). */
#include "learners/loss.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

static void add_flops(uint64_t *flops, uint64_t n)
{
    if (flops)
        *flops += n;
}

/* Index of the first largest entry of row (ties go to the lower index). */
static int first_argmax(const float *row, int n)
{
    int best = 0;
    for (int j = 1; j < n; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

/* One row: returns log Σ exp(row) − row[label], stably (shifted by the max);
 * writes (softmax − onehot)·inv_b into d when d is not NULL. The gradient
 * reuses the first KEPT exponentials of the sum (every one of a few-shot
 * head's; exp is most of a small loss's time) and computes any further
 * ones again, to the same bits. */
static double xent_row(const float *row, int label, int classes, double inv_b,
                       int arg, float *d)
{
    enum { KEPT = 64 };
    double m = row[arg], s = 0.0, e[KEPT];
    for (int j = 0; j < classes; j++) {
        double ej = exp((double)row[j] - m);
        if (j < KEPT)
            e[j] = ej;
        s += ej;
    }
    if (d) {
        double scale = inv_b / s;
        for (int j = 0; j < classes; j++)
            d[j] = (float)((j < KEPT ? e[j] : exp((double)row[j] - m)) * scale);
        d[label] = (float)((double)d[label] - inv_b);
    }
    return m + log(s) - row[label];
}

double loss_xent(const float *logits, const int *labels, int batch, int classes,
                 float *dlogits, int *correct, uint64_t *flops)
{
    assert(batch >= 1 && classes >= 1);
    double inv_b = 1.0 / batch, total = 0.0;
    int right = 0;
    for (int i = 0; i < batch; i++) {
        const float *row = logits + (size_t)i * classes;  // (classes)
        assert(labels[i] >= 0 && labels[i] < classes);
        int arg = first_argmax(row, classes);
        right += arg == labels[i];
        total += xent_row(row, labels[i], classes, inv_b, arg,
                          dlogits ? dlogits + (size_t)i * classes : NULL);
    }
    if (correct)
        *correct = right;
    uint64_t bc = (uint64_t)batch * (uint64_t)classes, b = (uint64_t)batch;
    add_flops(flops, 3 * bc + 4 * b + 2);
    if (dlogits)
        add_flops(flops, 3 * bc + 2 * b);
    return total * inv_b;
}

int loss_correct(const float *logits, const int *labels, int batch, int classes)
{
    assert(batch >= 1 && classes >= 1);
    int right = 0;
    for (int i = 0; i < batch; i++)
        right += first_argmax(logits + (size_t)i * classes, classes) == labels[i];
    return right;
}

double loss_mse(const float *pred, const float *target, int batch, int dim,
                float *dpred, uint64_t *flops)
{
    assert(batch >= 1 && dim >= 1);
    size_t n = (size_t)batch * (size_t)dim;
    double scale = 2.0 / (double)n, total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double diff = (double)pred[i] - target[i];
        total += diff * diff;
        if (dpred)
            dpred[i] = (float)(diff * scale);
    }
    add_flops(flops, 3 * (uint64_t)n + 1);
    if (dpred)
        add_flops(flops, (uint64_t)n + 1);
    return total / (double)n;
}
