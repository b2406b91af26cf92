/* bench_engine: speed of the engine's hot paths under the BLAS core in use.
 *
 * Prints one line per case: median and min over REPS runs of a fixed amount
 * of work, and the GFLOP/s the engine's own FLOP counter implies (none for
 * the initialisation, which counts no operations). Run it
 * through tests/bench/blas_cores.sh to compare BLAS cores side by side.
 * Not a test: nothing is asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/meter.h"
#include "harness/blas.h"
#include "learners/gemm.h"
#include "learners/loss.h"
#include "learners/mlp.h"
#include "learners/optim.h"
#include "tests/bench/benchutil.h"

enum { REPS = 7 };

/* Full-batch training steps of the quickstart network on `batch` rows. */
static double train_steps(int batch, int steps, uint64_t *flops)
{
    struct mlp_arch a = {.n_layers = 3, .sizes = {784, 256, 128, 5}, .act = ACT_RELU};
    struct mlp net = {0};
    struct mlp_work w = {0};
    struct optim o = {0};
    struct optim_settings s;
    optim_defaults(&s);
    struct rng r;
    rng_stream(&r, 1, RNG_INIT, 0);
    if (mlp_init(&net, &a, NULL) || mlp_work_init(&w, &a, batch, NULL) ||
        optim_init(&o, &s, net.n_params, NULL))
        exit(1);
    mlp_init_params(&net, INIT_TORCH, &r);
    float *x = malloc(sizeof *x * (size_t)batch * 784), *d = malloc(sizeof *d * (size_t)batch * 5);
    int *y = malloc(sizeof *y * (size_t)batch);
    for (int i = 0; i < batch * 784; i++)
        x[i] = (float)rng_uniform(&r);
    for (int i = 0; i < batch; i++)
        y[i] = i % 5;
    double t0 = meter_wall();
    for (int k = 0; k < steps; k++) {
        const float *out = mlp_forward(&net, &w, x, batch, 3);
        loss_xent(out, y, batch, 5, d, NULL, &net.flops);
        mlp_backward(&net, &w, d, 0, NULL);
        optim_step(&o, net.params, net.grads, NULL, 0, &net.flops);
    }
    double t = meter_wall() - t0;
    *flops = net.flops;
    free(x), free(d), free(y);
    optim_free(&o), mlp_work_free(&w), mlp_free(&net);
    return t;
}

static double sgemm(int m, int n, int k, int reps, uint64_t *flops)
{
    float *a = calloc((size_t)m * k, 4), *b = calloc((size_t)k * n, 4), *c = calloc((size_t)m * n, 4);
    *flops = 0;
    double t0 = meter_wall();
    for (int i = 0; i < reps; i++)
        gemm(false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n, flops);
    double t = meter_wall() - t0;
    free(a), free(b), free(c);
    return t;
}

/* Fresh initialisations of the quickstart network (scratch does one per
 * episode): PyTorch's uniform init, drawn from one stream. */
static double init_params(int reps, uint64_t *flops)
{
    struct mlp_arch a = {.n_layers = 3, .sizes = {784, 256, 128, 5}, .act = ACT_RELU};
    struct mlp net = {0};
    if (mlp_init(&net, &a, NULL))
        exit(1);
    struct rng r;
    rng_stream(&r, 1, RNG_INIT, 0);
    double t0 = meter_wall();
    for (int i = 0; i < reps; i++)
        mlp_init_params(&net, INIT_TORCH, &r);
    double t = meter_wall() - t0;
    *flops = 0;
    mlp_free(&net);
    return t;
}

static void report(const char *name, double *t, uint64_t flops)
{
    double med = bench_median(t, REPS);
    printf("%-36s median %8.2f ms  min %8.2f ms", name, 1e3 * med, 1e3 * t[0]);
    if (flops)
        printf("  %6.2f GFLOP/s", (double)flops / med / 1e9);
    printf("\n");
}

int main(void)
{
    blas_single_thread();
    struct blas_info info;
    blas_query(&info);
    printf("kernels: %s (1 thread)\n", info.kernels);
    double t[REPS];
    uint64_t f = 0;
    for (int i = 0; i < REPS; i++)
        t[i] = train_steps(25, 50, &f);
    report("train 784-256-128-5, batch 25, 50 st", t, f);
    for (int i = 0; i < REPS; i++)
        t[i] = train_steps(64, 50, &f);
    report("train 784-256-128-5, batch 64, 50 st", t, f);
    for (int i = 0; i < REPS; i++)
        t[i] = sgemm(64, 256, 784, 50, &f);
    report("sgemm 64x784 . 784x256, x50", t, f);
    for (int i = 0; i < REPS; i++)
        t[i] = sgemm(512, 512, 512, 5, &f);
    report("sgemm 512x512x512, x5", t, f);
    for (int i = 0; i < REPS; i++)
        t[i] = init_params(50, &f);
    report("init 784-256-128-5 (torch), x50", t, f);
    return 0;
}
