/* bench_shapes: the rate the BLAS in use reaches on the products of kshot's
 * reference workload, the yardstick vs_torch.py sets kshot's phases against.
 *
 * Usage: bench_shapes
 * Prints one line per workload: name, GFLOP/s (median of 7 runs of ~0.2 s),
 * for the products alone, through the gemm seam, single-threaded:
 *   step25   a training step of 784-256-128-5 on 25 rows (a 5-shot support
 *            set): three forward products, three weight gradients, two
 *            input gradients
 *   step64   the same on 64 rows (a pretraining minibatch)
 *   fwd100   a forward of 100 rows through 784-256-128 (features)
 * Not a test: nothing is asserted. */
#include <stdio.h>
#include <stdlib.h>

#include "harness/base/meter.h"
#include "harness/blas.h"
#include "learners/gemm.h"
#include "tests/bench/benchutil.h"

enum { REPS = 7 };

static const int sizes[] = {784, 256, 128, 5};

/* The products of one step on b rows (backward when step), or a forward
 * through the first `layers` layers, in the forms mlp.c uses (W stored
 * (in, out)); operations added to *flops. */
static void products(int b, int layers, int step, float *x, float *w, float *y, float *g,
                     uint64_t *flops)
{
    for (int l = 0; l < layers; l++)   /* y (b, out) = x (b, in)·W (in, out) */
        gemm(false, false, b, sizes[l + 1], sizes[l], 1, x, sizes[l], w, sizes[l + 1], 0, y,
             sizes[l + 1], flops);
    for (int l = layers - 1; step && l >= 0; l--) {
        /* dW (in, out) += xᵀ (in, b)·dz (b, out); dx (b, in) = dz (b, out)·Wᵀ */
        gemm(true, false, sizes[l], sizes[l + 1], b, 1, x, sizes[l], g, sizes[l + 1], 1, w,
             sizes[l + 1], flops);
        if (l > 0)
            gemm(false, true, b, sizes[l], sizes[l + 1], 1, g, sizes[l + 1], w, sizes[l + 1], 0,
                 y, sizes[l], flops);
    }
}

static double rate(int b, int layers, int step, float *x, float *w, float *y, float *g)
{
    double r[REPS];
    for (int k = 0; k < REPS; k++) {
        uint64_t flops = 0;
        double t0 = meter_wall(), t;
        do
            products(b, layers, step, x, w, y, g, &flops);
        while ((t = meter_wall() - t0) < 0.2);
        r[k] = (double)flops / t / 1e9;
    }
    return bench_median(r, REPS);
}

int main(int argc, char **argv)
{
    (void)argc;
    blas_auto_select(argv);   /* kshot's core: the generic one replaced, as kshot run does */
    blas_single_thread();
    float *x = calloc(128 * 784, sizeof *x), *w = calloc(784 * 256, sizeof *w);
    float *y = calloc(128 * 784, sizeof *y), *g = calloc(128 * 784, sizeof *g);
    if (!x || !w || !y || !g)
        return 1;
    for (int i = 0; i < 128 * 784; i++)
        x[i] = (float)(i % 17) / 17, g[i] = (float)(i % 13) / 13 - 0.5f;
    for (int i = 0; i < 784 * 256; i++)
        w[i] = (float)(i % 11) / 11 - 0.5f;
    struct blas_info bi;
    blas_query(&bi);
    printf("# kernels %s\n", bi.kernels);
    printf("step25 %.2f\n", rate(25, 3, 1, x, w, y, g));
    printf("step64 %.2f\n", rate(64, 3, 1, x, w, y, g));
    printf("fwd100 %.2f\n", rate(100, 2, 0, x, w, y, g));
    free(x), free(w), free(y), free(g);
    return 0;
}
