/* bench_engine: speed of the engine's hot paths under the BLAS core in use.
 *
 * Prints one line per case: median and min over REPS runs of a fixed amount
 * of work, and the GFLOP/s the engine's own FLOP counter implies (none for
 * the initialisation, which counts no operations). Run it
 * through tests/bench/blas_cores.sh to compare BLAS cores side by side.
 * Not a test: nothing is asserted. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/meter.h"
#include "harness/blas.h"
#include "harness/probe.h"
#include "learners/gemm.h"
#include "learners/loss.h"
#include "learners/mlp.h"
#include "learners/optim.h"
#include "tests/bench/benchutil.h"

enum { REPS = 7 };

/* The quickstart network (784-256-128-5 ReLU, PyTorch's initialisation)
 * with a workspace for `batch` rows, uniform inputs x, labels y and a loss
 * gradient d, from the stream (seed, RNG_INIT). */
struct fixture {
    struct mlp_arch a;
    struct mlp net;
    struct mlp_work w;
    float *x, *d;
    int *y;
};

static void fixture_init(struct fixture *f, int batch, uint64_t seed)
{
    *f = (struct fixture){.a = {.n_layers = 3, .sizes = {784, 256, 128, 5}, .act = ACT_RELU}};
    struct rng r;
    rng_stream(&r, seed, RNG_INIT, 0);
    if (mlp_init(&f->net, &f->a, NULL) || mlp_work_init(&f->w, &f->a, batch, NULL))
        exit(1);
    mlp_init_params(&f->net, INIT_TORCH, &r);
    f->x = malloc(sizeof *f->x * (size_t)batch * 784);
    f->d = malloc(sizeof *f->d * (size_t)batch * 5);
    f->y = malloc(sizeof *f->y * (size_t)batch);
    if (!f->x || !f->d || !f->y)
        exit(1);
    for (int i = 0; i < batch * 784; i++)
        f->x[i] = (float)rng_uniform(&r);
    for (int i = 0; i < batch; i++)
        f->y[i] = i % 5;
}

static void fixture_free(struct fixture *f)
{
    free(f->x), free(f->d), free(f->y);
    mlp_work_free(&f->w), mlp_free(&f->net);
}

/* Full-batch training steps of the quickstart network on `batch` rows. */
static double train_steps(int batch, int steps, uint64_t *flops)
{
    struct fixture f;
    fixture_init(&f, batch, 1);
    struct optim o = {0};
    struct optim_settings s;
    optim_defaults(&s);
    if (optim_init(&o, &s, f.net.n_params, NULL))
        exit(1);
    double t0 = meter_wall();
    for (int k = 0; k < steps; k++) {
        const float *out = mlp_forward(&f.net, &f.w, f.x, batch, 3);
        loss_xent(out, f.y, batch, 5, f.d, NULL, &f.net.flops);
        mlp_backward(&f.net, &f.w, f.d, 0, NULL);
        optim_step(&o, f.net.params, f.net.grads, NULL, 0, &f.net.flops);
    }
    double t = meter_wall() - t0;
    *flops = f.net.flops;
    optim_free(&o), fixture_free(&f);
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

/* FGSM's attack as the probe runs it on the quickstart's network (PyTorch's
 * initialisation: the time does not depend on the weights), `reps` times
 * on 75 queries (5 ways × 15): from the kept forward pass, the
 * loss's gradient back to the input, the signed step in the input's
 * space, and the forward pass of the perturbed queries. part[] gets the
 * seconds of the three (backward, step, forward). */
static double attack(int reps, uint64_t *flops, double part[3])
{
    enum { N = 75 };
    struct fixture f;
    fixture_init(&f, N, 2);
    struct probe_space sp;
    float *g = malloc(sizeof *g * N * 784), *adv = malloc(sizeof *adv * N * 784);
    if (!g || !adv || probe_space_init(&sp, 784, 255, NULL, NULL, true, NULL))
        exit(1);
    part[0] = part[1] = part[2] = 0;
    for (int k = 0; k < reps; k++) {
        const float *out = mlp_forward(&f.net, &f.w, f.x, N, 3);   /* the clean scoring, kept */
        double t0 = meter_wall();
        loss_xent(out, f.y, N, 5, f.d, NULL, &f.net.flops);
        mlp_backward(&f.net, &f.w, f.d, 3, g);
        double t1 = meter_wall();
        probe_sign_step(&sp, f.x, g, N, 0.1, adv);
        double t2 = meter_wall();
        mlp_forward(&f.net, &f.w, adv, N, 3);
        double t3 = meter_wall();
        part[0] += t1 - t0, part[1] += t2 - t1, part[2] += t3 - t2;
    }
    /* the attack's own: less the clean scorings */
    *flops = f.net.flops - (uint64_t)reps * N * mlp_forward_flops(&f.a, 3);
    free(g), free(adv);
    probe_space_free(&sp), fixture_free(&f);
    return part[0] + part[1] + part[2];
}

static void report(const char *name, double *t, uint64_t flops)
{
    double med = bench_median(t, REPS);
    printf("%-36s median %8.2f ms  min %8.2f ms", name, 1e3 * med, 1e3 * t[0]);
    if (flops)
        printf("  %6.2f GFLOP/s", (double)flops / med / 1e9);
    printf("\n");
}

int main(int argc, char **argv)
{
    /* `bench_engine attack`: the attack alone (for a profiler) */
    const bool all = argc < 2 || strcmp(argv[1], "attack") != 0;
    blas_auto_select(argv);   /* kshot's core: the generic one replaced, as kshot run does */
    blas_single_thread();
    struct blas_info info;
    blas_query(&info);
    printf("kernels: %s (1 thread)\n", info.kernels);
    double t[REPS];
    uint64_t f = 0;
    if (all) {
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
    }
    double parts[REPS][3], p[3][REPS];
    for (int i = 0; i < REPS; i++)
        t[i] = attack(400, &f, parts[i]);
    report("fgsm attack (75 queries), x400", t, f);
    static const char *const part_name[3] = {"  of which backward to the input", "  of which signed step",
                                             "  of which forward of the perturbed"};
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < REPS; i++)
            p[k][i] = parts[i][k];
        report(part_name[k], p[k], 0);
    }
    return 0;
}
