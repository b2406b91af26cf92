/* test_mlp: the network engine against an independent double-precision
 * reference (naive loops over the layout mlp.h documents), central
 * differences, closed-form FLOP counts and initialisation statistics. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "harness/blas.h"
#include "learners/gemm.h"
#include "learners/loss.h"
#include "learners/mlp.h"

#define REF_ROWS 8
#define REF_WIDTH 32

/* The small network most tests use: 4 → 6 → 5 → 3. */
static struct mlp_arch small_arch(enum act act)
{
    struct mlp_arch a = {.n_layers = 3, .sizes = {4, 6, 5, 3}, .act = act};
    return a;
}

static void new_net(struct mlp *net, struct mlp_work *w, const struct mlp_arch *a, int cap)
{
    struct err e;
    err_clear(&e);
    assert_int_equal(mlp_init(net, a, &e), 0);
    assert_int_equal(mlp_work_init(w, a, cap, &e), 0);
}

/* new_net with PyTorch's initialisation drawn from (seed, RNG_INIT, key) into *r. */
static void torch_net(struct mlp *net, struct mlp_work *w, const struct mlp_arch *a, int cap,
                      uint64_t seed, uint64_t key, struct rng *r)
{
    new_net(net, w, a, cap);
    rng_stream(r, seed, RNG_INIT, key);
    mlp_init_params(net, INIT_TORCH, r);
}

static void fill(struct rng *r, float *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rng_range(r, lo, hi);
}

/* ---- the independent reference --------------------------------------- */

/* Forward in double by naive loops over the documented layout: W (in, out)
 * row-major then b, layer by layer. *margin (may be NULL) receives the
 * smallest |z| of any hidden unit, to keep gradient checks off ReLU kinks. */
static void ref_forward(const struct mlp_arch *a, const double *p, const double *x,
                        int batch, int upto, double *out, double *margin)
{
    double cur[REF_ROWS * REF_WIDTH], nxt[REF_ROWS * REF_WIDTH], low = INFINITY;
    assert_true(batch <= REF_ROWS);
    memcpy(cur, x, sizeof *x * (size_t)batch * (size_t)a->sizes[0]);
    const double *w = p;
    for (int l = 0; l < upto; l++) {
        int nin = a->sizes[l], nout = a->sizes[l + 1];
        const double *b = w + nin * nout;
        bool hidden = l < a->n_layers - 1;
        for (int i = 0; i < batch; i++)
            for (int j = 0; j < nout; j++) {
                double z = b[j];
                for (int k = 0; k < nin; k++)
                    z += cur[i * nin + k] * w[k * nout + j];
                if (hidden)
                    low = fmin(low, fabs(z));
                if (hidden && a->act == ACT_RELU)
                    z = z > 0 ? z : 0;
                if (hidden && a->act == ACT_TANH)
                    z = tanh(z);
                nxt[i * nout + j] = z;
            }
        memcpy(cur, nxt, sizeof cur);
        w = b + nout;
    }
    memcpy(out, cur, sizeof *out * (size_t)batch * (size_t)a->sizes[upto]);
    if (margin)
        *margin = low;
}

/* Mean softmax cross-entropy (labels) or mean squared error (target). */
static double ref_loss(const double *out, int batch, int dim, const int *labels,
                       const float *target)
{
    double total = 0;
    for (int i = 0; i < batch; i++) {
        const double *row = out + i * dim;
        if (labels) {
            double m = row[0], s = 0;
            for (int j = 1; j < dim; j++)
                m = fmax(m, row[j]);
            for (int j = 0; j < dim; j++)
                s += exp(row[j] - m);
            total += m + log(s) - row[labels[i]];
        } else {
            for (int j = 0; j < dim; j++)
                total += (row[j] - target[i * dim + j]) * (row[j] - target[i * dim + j]);
        }
    }
    return labels ? total / batch : total / (batch * dim);
}

static double ref_loss_at(const struct mlp_arch *a, const double *p, const double *x,
                          int batch, const int *labels, const float *target)
{
    double out[REF_ROWS * REF_WIDTH];
    ref_forward(a, p, x, batch, a->n_layers, out, NULL);
    return ref_loss(out, batch, a->sizes[a->n_layers], labels, target);
}

/* Central difference of the reference loss in v[i] (double, step 1e-5:
 * truncation ~1e-10, rounding ~1e-11 — far below float's analytic error). */
static double central(const struct mlp_arch *a, double *p, double *x, double *v, size_t i,
                      int batch, const int *labels, const float *target)
{
    const double h = 1e-5;
    double keep = v[i];
    v[i] = keep + h;
    double up = ref_loss_at(a, p, x, batch, labels, target);
    v[i] = keep - h;
    double dn = ref_loss_at(a, p, x, batch, labels, target);
    v[i] = keep;
    return (up - dn) / (2 * h);
}

/* Largest difference relative to the block's largest numeric entry < 1e-3,
 * and the block's gradient clearly not zero. */
static void compare_block(const char *what, int layer, const float *an, const double *num,
                          size_t n)
{
    double worst = 0, big = 0, norm = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs(an[i] - num[i]));
        big = fmax(big, fabs(num[i]));
        norm += num[i] * num[i];
    }
    printf("    %s%d: |grad| %.3g, largest relative difference %.2g\n", what, layer,
           sqrt(norm), worst / big);
    assert_true(sqrt(norm) > 1e-3);
    assert_true(worst < 1e-3 * big);
}

/* ---- architecture, allocation ---------------------------------------- */

static void arch_layout_and_checks(void **state)
{
    struct mlp_arch a = small_arch(ACT_RELU);
    struct err e;
    err_clear(&e);
    assert_int_equal(mlp_arch_check(&a, &e), 0);
    /* (4·6 + 6) + (6·5 + 5) + (5·3 + 3) */
    assert_int_equal(mlp_arch_params(&a), 30 + 35 + 18);
    struct mlp net;
    assert_int_equal(mlp_init(&net, &a, &e), 0);
    assert_int_equal(net.n_params, 83);
    const size_t w_off[3] = {0, 30, 65}, b_off[3] = {24, 60, 80};
    for (int l = 0; l < 3; l++) {
        assert_int_equal(net.w_off[l], w_off[l]);
        assert_int_equal(net.b_off[l], b_off[l]);
    }
    assert_int_equal(mlp_body_size(&net), 65);
    for (size_t i = 0; i < net.n_params; i++)
        assert_true(net.params[i] == 0.0f && net.grads[i] == 0.0f);
    /* both arenas start on a cache line (the first layer's vector loads) */
    assert_true((uintptr_t)net.params % 64 == 0 && (uintptr_t)net.grads % 64 == 0);
    mlp_free(&net);

    struct mlp_arch bad[4] = {a, a, a, a};
    bad[0].n_layers = 0;
    bad[1].n_layers = MLP_MAX_LAYERS + 1;
    bad[2].sizes[2] = 0;
    bad[3].act = (enum act)7;
    for (int i = 0; i < 4; i++) {
        err_clear(&e);
        assert_int_equal(mlp_init(&net, &bad[i], &e), ERR_USAGE);
        assert_true(strstr(e.msg, "network") != NULL);
        assert_null(net.params);
        mlp_free(&net);
    }
}

static void free_is_safe_on_null_zeroed_and_freed(void **state)
{
    mlp_free(NULL);
    mlp_work_free(NULL);
    struct mlp net = {0};
    struct mlp_work w = {0};
    mlp_free(&net);
    mlp_work_free(&w);
    /* Identity aliases every h to its z: freeing must not free twice. */
    for (int act = 0; act < 3; act++) {
        struct mlp_arch a = small_arch((enum act)act);
        new_net(&net, &w, &a, 5);
        mlp_work_free(&w);
        mlp_work_free(&w);
        mlp_free(&net);
        mlp_free(&net);
        assert_null(net.params);
        assert_null(w.z[0]);
        assert_null(w.h[2]);
        assert_null(w.d[1]);
    }
    struct err e;
    struct mlp_arch a = small_arch(ACT_RELU);
    assert_int_equal(mlp_work_init(&w, &a, 0, &e), ERR_USAGE);
    mlp_work_free(&w);
}

/* ---- forward --------------------------------------------------------- */

static void forward_matches_naive_loops(void **state)
{
    enum { B = 7 };
    for (int act = 0; act < 3; act++) {
        struct mlp_arch a = {.n_layers = 3, .sizes = {13, 17, 11, 5}, .act = (enum act)act};
        struct mlp net;
        struct mlp_work w;
        struct rng r;
        torch_net(&net, &w, &a, B, 3, (uint64_t)act, &r);
        float x[B * 13];
        double xd[B * 13], ref[REF_ROWS * REF_WIDTH], *p = malloc(sizeof *p * net.n_params);
        fill(&r, x, B * 13, -2.0, 2.0);
        for (int i = 0; i < B * 13; i++)
            xd[i] = x[i];
        for (size_t i = 0; i < net.n_params; i++)
            p[i] = net.params[i];
        for (int upto = 1; upto <= 3; upto++) {
            const float *out = mlp_forward(&net, &w, x, B, upto);
            ref_forward(&a, p, xd, B, upto, ref, NULL);
            double worst = 0;
            for (int i = 0; i < B * a.sizes[upto]; i++) {
                worst = fmax(worst, fabs(out[i] - ref[i]));
                assert_close(out[i], ref[i], 1e-6, 1e-5);
            }
            printf("  forward act %d upto %d: largest difference %.3g\n", act, upto, worst);
            assert_int_equal(w.upto, upto);
            assert_int_equal(w.batch, B);
        }
        free(p);
        mlp_work_free(&w);
        mlp_free(&net);
    }
}

/* A layer's forward is the seam's product, then the bias added, then the
 * activation, each rounded to float: bit for bit, on a width that is no
 * multiple of a vector, with a NaN passing ReLU (a diverged run must not
 * look healthy). */
static void forward_is_product_then_bias_then_activation(void **state)
{
    enum { B = 5, IN = 13, OUT = 37 };
    for (int act = 0; act < 3; act++) {
        struct mlp_arch a = {.n_layers = 2, .sizes = {IN, OUT, 3}, .act = (enum act)act};
        struct mlp net;
        struct mlp_work w;
        struct rng r;
        torch_net(&net, &w, &a, B, 9, (uint64_t)act, &r);
        float x[B * IN], z[B * OUT], h[B * OUT];
        fill(&r, x, B * IN, -2.0, 2.0);
        x[2 * IN + 4] = NAN;   /* row 2's every output is NaN */
        mlp_forward(&net, &w, x, B, 1);
        gemm(false, false, B, OUT, IN, 1.0f, x, IN, net.params + net.w_off[0], OUT, 0.0f, z, OUT,
             NULL);
        const float *b = net.params + net.b_off[0];
        for (int i = 0; i < B; i++)
            for (int j = 0; j < OUT; j++) {
                volatile float v = z[i * OUT + j] + b[j];
                z[i * OUT + j] = v;
                h[i * OUT + j] = act == ACT_RELU ? (v < 0.0f ? 0.0f : v)
                                 : act == ACT_TANH ? tanhf(v) : v;
            }
        assert_memory_equal(w.z[0], z, sizeof z);
        assert_memory_equal(w.h[0], h, sizeof h);
        for (int j = 0; j < OUT; j++)
            assert_true(isnan(w.h[0][2 * OUT + j]));
        mlp_work_free(&w);
        mlp_free(&net);
    }
}

/* ---- gradients against central differences -------------------------- */

static void check_gradients(enum act act, bool xent)
{
    enum { B = 3 };
    struct mlp_arch a = small_arch(act);
    struct mlp net;
    struct mlp_work w;
    struct rng r;
    torch_net(&net, &w, &a, B, 11, (uint64_t)act, &r);
    float x[B * 4], target[B * 3], dout[B * 3], dx[B * 4];
    const int labels[B] = {2, 0, 1};
    fill(&r, x, B * 4, -1.5, 1.5);
    fill(&r, target, B * 3, -1.0, 1.0);

    mlp_zero_grad(&net);
    const float *out = mlp_forward(&net, &w, x, B, 3);
    if (xent)
        loss_xent(out, labels, B, 3, dout, NULL, NULL);
    else
        loss_mse(out, target, B, 3, dout, NULL);
    mlp_backward(&net, &w, dout, 0, dx);

    double *p = malloc(sizeof *p * net.n_params), *num = malloc(sizeof *num * net.n_params);
    double xd[B * 4], numx[B * 4], ref[REF_ROWS * REF_WIDTH], margin;
    for (size_t i = 0; i < net.n_params; i++)
        p[i] = net.params[i];
    for (int i = 0; i < B * 4; i++)
        xd[i] = x[i];
    ref_forward(&a, p, xd, B, 3, ref, &margin);
    /* Steps of 1e-5 move no hidden unit across a ReLU kink. */
    assert_true(act != ACT_RELU || margin > 1e-3);
    const int *lab = xent ? labels : NULL;
    for (size_t i = 0; i < net.n_params; i++)
        num[i] = central(&a, p, xd, p, i, B, lab, target);
    for (int i = 0; i < B * 4; i++)
        numx[i] = central(&a, p, xd, xd, (size_t)i, B, lab, target);
    printf("  act %d, %s (hidden margin %.3g):\n", act, xent ? "xent" : "mse", margin);
    for (int l = 0; l < 3; l++) {
        size_t nw = (size_t)a.sizes[l] * a.sizes[l + 1];
        compare_block("dW", l, net.grads + net.w_off[l], num + net.w_off[l], nw);
        compare_block("db", l, net.grads + net.b_off[l], num + net.b_off[l],
                      (size_t)a.sizes[l + 1]);
    }
    compare_block("dx", 0, dx, numx, B * 4);
    free(p), free(num);
    mlp_work_free(&w);
    mlp_free(&net);
}

static void gradients_relu(void **state)
{
    check_gradients(ACT_RELU, true);
    check_gradients(ACT_RELU, false);
}

static void gradients_tanh(void **state)
{
    check_gradients(ACT_TANH, true);
    check_gradients(ACT_TANH, false);
}

static void gradients_identity(void **state)
{
    check_gradients(ACT_IDENTITY, true);
    check_gradients(ACT_IDENTITY, false);
}

/* A single linear layer: dx = dout·Wᵀ, with dout the caller's buffer (left
 * unwritten) and the product filling the workspace's scratch exactly (a
 * full batch at the widest layer), against the naive double product. */
static void input_gradient_of_one_layer_is_dout_times_w_transposed(void **state)
{
    enum { B = 9, IN = 70, OUT = 3 };
    struct mlp_arch a = {.n_layers = 1, .sizes = {IN, OUT}, .act = ACT_RELU};
    struct mlp net;
    struct mlp_work w;
    struct rng r;
    torch_net(&net, &w, &a, B, 13, 0, &r);
    float x[B * IN], dout[B * OUT], keep[B * OUT], dx[B * IN];
    fill(&r, x, B * IN, -1, 1);
    fill(&r, dout, B * OUT, -1, 1);
    memcpy(keep, dout, sizeof dout);
    mlp_forward(&net, &w, x, B, 1);
    mlp_backward(&net, &w, dout, 0, dx);
    assert_memory_equal(dout, keep, sizeof dout);
    for (int i = 0; i < B; i++)
        for (int k = 0; k < IN; k++) {
            double want = 0;
            for (int j = 0; j < OUT; j++)
                want += (double)dout[i * OUT + j] * net.params[net.w_off[0] + (size_t)k * OUT + j];
            assert_close(dx[i * IN + k], want, 1e-6, 1e-5);
        }
    mlp_work_free(&w);
    mlp_free(&net);
}

/* An attack's input gradient: 75 queries (a batch that is no multiple of
 * the scratch's 16-float rows) back through 784-256-128-5 ReLU, every
 * layer frozen, against the chain in double by naive loops from the same
 * forward pass: δ ← δ·Wᵀ, then zeroed where z ≤ 0, layer by layer. */
static void input_gradient_at_an_attack_shape_matches_naive_loops(void **state)
{
    enum { B = 75 };
    struct mlp_arch a = {.n_layers = 3, .sizes = {784, 256, 128, 5}, .act = ACT_RELU};
    struct mlp net;
    struct mlp_work w;
    struct rng r;
    torch_net(&net, &w, &a, B, 17, 0, &r);
    float *x = malloc(sizeof *x * B * 784), *dx = malloc(sizeof *dx * B * 784), dout[B * 5];
    double *d = malloc(sizeof *d * B * 784), *next = malloc(sizeof *next * B * 784);
    fill(&r, x, (size_t)B * 784, 0, 1);
    fill(&r, dout, B * 5, -1, 1);
    mlp_forward(&net, &w, x, B, 3);
    mlp_backward(&net, &w, dout, 3, dx);
    for (int i = 0; i < B * 5; i++)
        d[i] = dout[i];
    for (int l = 2; l >= 0; l--) {
        const int in = a.sizes[l], out = a.sizes[l + 1];
        const float *wl = net.params + net.w_off[l];
        for (int i = 0; i < B; i++)
            for (int k = 0; k < in; k++) {
                double s = 0;
                for (int j = 0; j < out; j++)
                    s += d[i * out + j] * wl[(size_t)k * out + j];
                next[i * in + k] = l > 0 && w.z[l - 1][i * in + k] <= 0.0f ? 0.0 : s;
            }
        memcpy(d, next, sizeof *d * (size_t)B * in);
    }
    for (int i = 0; i < B * 784; i++)
        assert_close(dx[i], d[i], 1e-6, 1e-4);
    free(x), free(dx), free(d), free(next);
    mlp_work_free(&w);
    mlp_free(&net);
}

/* W0 = 0, b0 = 0 puts every hidden unit exactly on the kink: the derivative
 * there is 0, so nothing flows to layer 0 or to the input. */
static void relu_derivative_at_zero_is_zero(void **state)
{
    enum { B = 2 };
    struct mlp_arch a = {.n_layers = 2, .sizes = {3, 4, 2}, .act = ACT_RELU};
    struct mlp net;
    struct mlp_work w;
    struct rng r;
    torch_net(&net, &w, &a, B, 5, 0, &r);
    memset(net.params, 0, sizeof(float) * (3 * 4 + 4));
    const float x[B * 3] = {1, -2, 3, 0.5f, 0.25f, -1};
    const float dout[B * 2] = {1, 1, 1, 1};
    float dx[B * 3];
    mlp_zero_grad(&net);
    mlp_forward(&net, &w, x, B, 2);
    mlp_backward(&net, &w, dout, 0, dx);
    for (int i = 0; i < 3 * 4 + 4; i++)
        assert_true(net.grads[i] == 0.0f);
    for (int i = 0; i < B * 3; i++)
        assert_true(dx[i] == 0.0f);
    /* The head still learns its bias: db1 = Σ_rows dout = 2 per output. */
    assert_close(net.grads[net.b_off[1]], 2.0, 0, 0);
    assert_close(net.grads[net.b_off[1] + 1], 2.0, 0, 0);
    mlp_work_free(&w);
    mlp_free(&net);
}

/* ---- backward: accumulation, frozen layers --------------------------- */

struct fixture {
    struct mlp_arch a;
    struct mlp net;
    struct mlp_work w;
    float x[3 * 4], dout[3 * 3];
};

static void fixture_init(struct fixture *f)
{
    f->a = small_arch(ACT_TANH);
    new_net(&f->net, &f->w, &f->a, 3);
    struct rng r;
    rng_stream(&r, 13, RNG_INIT, 0);
    mlp_init_params(&f->net, INIT_TORCH, &r);
    fill(&r, f->x, 12, -1.0, 1.0);
    fill(&r, f->dout, 9, -1.0, 1.0);
    mlp_forward(&f->net, &f->w, f->x, 3, 3);
}

static void fixture_free(struct fixture *f)
{
    mlp_work_free(&f->w);
    mlp_free(&f->net);
}

static void backward_writes_gradients_whatever_they_held(void **state)
{
    struct fixture f;
    fixture_init(&f);
    size_t n = f.net.n_params;
    float *once = malloc(sizeof *once * n), dx1[12], dx2[12];
    mlp_zero_grad(&f.net);
    mlp_backward(&f.net, &f.w, f.dout, 0, dx1);
    memcpy(once, f.net.grads, sizeof *once * n);
    /* garbage, even NaN, in the arena is overwritten, not added to */
    for (size_t i = 0; i < n; i++)
        f.net.grads[i] = i % 2 ? NAN : 3.0f;
    mlp_backward(&f.net, &f.w, f.dout, 0, dx2);
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(f.net.grads[i] == once[i]);
        norm += (double)once[i] * once[i];
    }
    assert_true(sqrt(norm) > 0.1);
    /* dx is written too */
    for (int i = 0; i < 12; i++)
        assert_true(dx1[i] == dx2[i]);
    mlp_zero_grad(&f.net);
    for (size_t i = 0; i < n; i++)
        assert_true(f.net.grads[i] == 0.0f);
    free(once);
    fixture_free(&f);
}

static void first_layer_leaves_lower_layers_untouched(void **state)
{
    struct fixture f;
    fixture_init(&f);
    size_t n = f.net.n_params, below = f.net.w_off[1];
    float *full = malloc(sizeof *full * n), dx_full[12], dx[12];
    mlp_zero_grad(&f.net);
    mlp_backward(&f.net, &f.w, f.dout, 0, dx_full);
    memcpy(full, f.net.grads, sizeof *full * n);
    for (int with_dx = 0; with_dx < 2; with_dx++) {
        /* A sentinel in layer 0's gradients must survive first_layer = 1. */
        mlp_zero_grad(&f.net);
        for (size_t i = 0; i < below; i++)
            f.net.grads[i] = 7.0f;
        mlp_backward(&f.net, &f.w, f.dout, 1, with_dx ? dx : NULL);
        for (size_t i = 0; i < below; i++)
            assert_true(f.net.grads[i] == 7.0f);
        for (size_t i = below; i < n; i++)
            assert_true(f.net.grads[i] == full[i]);
        /* dx: the same within rounding (below first_layer, its products
         * take libxsmm, whose sums round differently from OpenBLAS's). */
        for (int i = 0; with_dx && i < 12; i++)
            assert_close(dx[i], dx_full[i], 1e-7, 1e-5);
    }
    /* Every layer frozen, input gradient only (what an attack asks for). */
    mlp_zero_grad(&f.net);
    mlp_backward(&f.net, &f.w, f.dout, 3, dx);
    for (size_t i = 0; i < n; i++)
        assert_true(f.net.grads[i] == 0.0f);
    for (int i = 0; i < 12; i++)
        assert_close(dx[i], dx_full[i], 1e-7, 1e-5);
    free(full);
    fixture_free(&f);
}

/* ---- body / head ----------------------------------------------------- */

static void body_is_a_prefix(void **state)
{
    struct mlp_arch a = small_arch(ACT_TANH);
    struct mlp src, dst;
    struct mlp_work ws, wd;
    new_net(&src, &ws, &a, 2);
    new_net(&dst, &wd, &a, 2);
    struct rng r1, r2;
    rng_stream(&r1, 1, RNG_INIT, 0);
    rng_stream(&r2, 2, RNG_INIT, 0);
    mlp_init_params(&src, INIT_TORCH, &r1);
    mlp_init_params(&dst, INIT_TORCH, &r2);
    size_t body = mlp_body_size(&src);
    assert_int_equal(body, (4 * 6 + 6) + (6 * 5 + 5));
    float head[18];
    memcpy(head, dst.params + body, sizeof head);
    memcpy(dst.params, src.params, sizeof(float) * body);
    assert_memory_equal(dst.params + body, head, sizeof head);
    const float x[8] = {0.1f, -0.2f, 0.3f, 0.4f, 1, 0, -1, 0.5f};
    const float *fs = mlp_forward(&src, &ws, x, 2, 2);
    const float *fd = mlp_forward(&dst, &wd, x, 2, 2);
    assert_memory_equal(fs, fd, sizeof(float) * 2 * 5);
    /* The heads differ, so the outputs do. */
    fs = mlp_forward(&src, &ws, x, 2, 3);
    fd = mlp_forward(&dst, &wd, x, 2, 3);
    assert_true(memcmp(fs, fd, sizeof(float) * 2 * 3) != 0);
    mlp_copy_params(&dst, &src);
    assert_memory_equal(dst.params, src.params, sizeof(float) * src.n_params);
    mlp_work_free(&ws), mlp_work_free(&wd);
    mlp_free(&src), mlp_free(&dst);
}

/* ---- initialisation -------------------------------------------------- */

static void moments(const float *v, size_t n, double *mean, double *var, double *maxabs)
{
    double s = 0, s2 = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        s += v[i];
        s2 += (double)v[i] * v[i];
        m = fmax(m, fabs(v[i]));
    }
    *mean = s / n;
    *var = s2 / n - *mean * *mean;
    *maxabs = m;
}

static bool all_zero(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != 0.0f)
            return false;
    return true;
}

/* Layer 0 of 400 → 300 → 10: 120,000 weights, so the sample variance is
 * within 3% of the true one with ≥ 7 standard errors to spare. */
static void init_statistics(void **state)
{
    struct mlp_arch a = {.n_layers = 2, .sizes = {400, 300, 10}, .act = ACT_RELU};
    struct mlp net;
    struct err e;
    assert_int_equal(mlp_init(&net, &a, &e), 0);
    const size_t nw = 400 * 300;
    const float *w = net.params, *b = net.params + nw;
    double mean, var, maxabs, t = 1 / sqrt(400.0), g = sqrt(6.0 / 700);
    struct rng r;
    rng_stream(&r, 0, RNG_INIT, 0);

    mlp_init_params(&net, INIT_TORCH, &r);
    moments(w, nw, &mean, &var, &maxabs);
    assert_true(maxabs <= t && maxabs > 0.99 * t);
    assert_close(var, 1 / (3 * 400.0), 0, 0.03);
    assert_true(fabs(mean) < 5 * sqrt(var / nw));
    moments(b, 300, &mean, &var, &maxabs);
    assert_true(maxabs <= t && maxabs > 0.9 * t);

    mlp_init_params(&net, INIT_HE, &r);
    moments(w, nw, &mean, &var, &maxabs);
    assert_close(var, 2 / 400.0, 0, 0.03);
    assert_true(fabs(mean) < 5 * sqrt(var / nw));
    assert_true(all_zero(b, 300));

    mlp_init_params(&net, INIT_GLOROT, &r);
    moments(w, nw, &mean, &var, &maxabs);
    assert_true(maxabs <= g && maxabs > 0.99 * g);
    assert_close(var, g * g / 3, 0, 0.03);
    assert_true(all_zero(b, 300));

    mlp_init_params(&net, INIT_ZERO, &r);
    assert_true(all_zero(net.params, net.n_params));
    mlp_free(&net);
}

/* The draw order is W in PyTorch's (out, in) order — stored at (in, out) —
 * then b, layer by layer; b = 0 draws nothing. */
static void init_draw_order_and_identity(void **state)
{
    struct mlp_arch a = {.n_layers = 2, .sizes = {2, 3, 1}, .act = ACT_TANH};
    struct mlp n1, n2;
    struct err e;
    assert_int_equal(mlp_init(&n1, &a, &e), 0);
    assert_int_equal(mlp_init(&n2, &a, &e), 0);
    struct rng r, mine;
    rng_stream(&r, 9, RNG_INIT, 4);
    rng_stream(&mine, 9, RNG_INIT, 4);
    mlp_init_params(&n1, INIT_TORCH, &r);
    /* layer 0: W (2 in, 3 out) drawn output by output, then b (3); layer 1:
     * W (3, 1) and b (1): the arena position of the i-th draw */
    const int torch_index[13] = {0, 3, 1, 4, 2, 5, 6, 7, 8, 9, 10, 11, 12};
    for (int i = 0; i < 13; i++) {
        double t = 1.0 / sqrt(i < 9 ? 2.0 : 3.0);  /* fan-in 2, then 3 */
        assert_true(n1.params[torch_index[i]] == (float)rng_range(&mine, -t, t));
    }
    rng_stream(&r, 9, RNG_INIT, 4);
    rng_stream(&mine, 9, RNG_INIT, 4);
    mlp_init_params(&n1, INIT_HE, &r);
    const int w_index[9] = {0, 3, 1, 4, 2, 5, 9, 10, 11};
    for (int i = 0; i < 9; i++)
        assert_true(n1.params[w_index[i]] ==
                    (float)(sqrt(2.0 / (i < 6 ? 2 : 3)) * rng_normal(&mine)));
    /* Same key, same parameters; another key, others. */
    for (int kind = 0; kind < 3; kind++) {
        rng_stream(&r, 9, RNG_INIT, 4);
        mlp_init_params(&n1, (enum init_kind)kind, &r);
        rng_stream(&r, 9, RNG_INIT, 4);
        mlp_init_params(&n2, (enum init_kind)kind, &r);
        assert_memory_equal(n1.params, n2.params, sizeof(float) * n1.n_params);
        rng_stream(&r, 9, RNG_INIT, 5);
        mlp_init_params(&n2, (enum init_kind)kind, &r);
        assert_true(memcmp(n1.params, n2.params, sizeof(float) * n1.n_params) != 0);
    }
    mlp_free(&n1), mlp_free(&n2);
}

/* Layers wider than the initialiser's buffer (one output's fan-in drawn in
 * pieces), just under half of it (one output per pass) and narrow ones with
 * an output count that is not a multiple of its pass: every weight is still
 * the draw a naive output-by-output loop gives it, biases after. */
static void init_draw_order_wide_layers(void **state)
{
    struct mlp_arch a = {.n_layers = 3, .sizes = {20000, 37, 9000, 3}, .act = ACT_RELU};
    struct mlp net;
    struct err e;
    assert_int_equal(mlp_init(&net, &a, &e), 0);
    struct rng r, mine;
    rng_stream(&r, 5, RNG_INIT, 1);
    rng_stream(&mine, 5, RNG_INIT, 1);
    rng_u32(&r), rng_u32(&mine);   /* start mid-block */
    mlp_init_params(&net, INIT_TORCH, &r);
    const float *p = net.params;
    for (int l = 0; l < a.n_layers; l++) {
        int fan_in = a.sizes[l], fan_out = a.sizes[l + 1];
        double t = 1.0 / sqrt((double)fan_in);
        for (int o = 0; o < fan_out; o++)
            for (int i = 0; i < fan_in; i++) {
                float want = (float)rng_range(&mine, -t, t);
                if (p[(size_t)i * fan_out + o] != want)
                    fail_msg("layer %d: weight (%d, %d) is %.9g, the naive loop draws %.9g", l,
                             i, o, p[(size_t)i * fan_out + o], want);
            }
        p += (size_t)fan_in * fan_out;
        for (int o = 0; o < fan_out; o++)
            assert_true(p[o] == (float)rng_range(&mine, -t, t));
        p += fan_out;
    }
    assert_int_equal(rng_u32(&r), rng_u32(&mine));   /* the streams go on alike */
    mlp_free(&net);
}

static void init_layer_touches_only_its_layer(void **state)
{
    struct mlp_arch a = small_arch(ACT_RELU);
    struct mlp net;
    struct err e;
    assert_int_equal(mlp_init(&net, &a, &e), 0);
    struct rng r;
    rng_stream(&r, 2, RNG_INIT, 0);
    mlp_init_params(&net, INIT_TORCH, &r);
    float before[83];
    memcpy(before, net.params, sizeof before);
    mlp_init_layer(&net, 1, INIT_ZERO, &r);
    assert_memory_equal(net.params, before, sizeof(float) * 30);
    assert_true(all_zero(net.params + 30, 35));
    assert_memory_equal(net.params + 65, before + 65, sizeof(float) * 18);
    mlp_free(&net);
}

/* ---- FLOPs ------------------------------------------------------------ */

/* 784 → 256 → 128 → 5 with ReLU, counted by hand from mlp.h's convention. */
static void flops_match_closed_form(void **state)
{
    struct mlp_arch a = {.n_layers = 3, .sizes = {784, 256, 128, 5}, .act = ACT_RELU};
    struct mlp net;
    struct mlp_work w;
    new_net(&net, &w, &a, 64);
    float *x = calloc(64 * 784, sizeof *x), *dx = malloc(sizeof *dx * 64 * 784);
    float *dout = calloc(64 * 5, sizeof *dout);
    const uint64_t fwd = (2ull * 784 * 256 + 256 + 256)   /* product, bias, relu */
                         + (2ull * 256 * 128 + 128 + 128) /* product, bias, relu */
                         + (2ull * 128 * 5 + 5);          /* head: product, bias */
    /* Top down: head dW, db, δ to layer 1; relu', dW, db, δ to layer 0;
     * relu', dW, db (no δ below layer 0 unless dx is asked for). */
    const uint64_t bwd = (2ull * 5 * 128 + 5) + 2ull * 5 * 128
                         + 128 + (2ull * 128 * 256 + 128) + 2ull * 128 * 256
                         + 256 + (2ull * 256 * 784 + 256);
    net.flops = 0;
    mlp_forward(&net, &w, x, 1, 3);
    assert_int_equal(net.flops, fwd);
    assert_int_equal(fwd, 468997);
    net.flops = 0;
    mlp_forward(&net, &w, x, 64, 3);
    assert_int_equal(net.flops, 64 * fwd);
    net.flops = 0;
    mlp_backward(&net, &w, dout, 0, NULL);
    assert_int_equal(net.flops, 64 * bwd);
    net.flops = 0;
    mlp_backward(&net, &w, dout, 0, dx);
    assert_int_equal(net.flops, 64 * (bwd + 2ull * 256 * 784));
    /* A linear probe (only the head learns): the head's dW and db, nothing below. */
    net.flops = 0;
    mlp_backward(&net, &w, dout, 2, NULL);
    assert_int_equal(net.flops, 64 * (2ull * 5 * 128 + 5));
    free(x), free(dx), free(dout);
    mlp_work_free(&w);
    mlp_free(&net);
}

int main(void)
{
    blas_single_thread();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arch_layout_and_checks),
        cmocka_unit_test(free_is_safe_on_null_zeroed_and_freed),
        cmocka_unit_test(forward_matches_naive_loops),
        cmocka_unit_test(forward_is_product_then_bias_then_activation),
        cmocka_unit_test(gradients_relu),
        cmocka_unit_test(gradients_tanh),
        cmocka_unit_test(gradients_identity),
        cmocka_unit_test(input_gradient_of_one_layer_is_dout_times_w_transposed),
        cmocka_unit_test(input_gradient_at_an_attack_shape_matches_naive_loops),
        cmocka_unit_test(relu_derivative_at_zero_is_zero),
        cmocka_unit_test(backward_writes_gradients_whatever_they_held),
        cmocka_unit_test(first_layer_leaves_lower_layers_untouched),
        cmocka_unit_test(body_is_a_prefix),
        cmocka_unit_test(init_statistics),
        cmocka_unit_test(init_draw_order_and_identity),
        cmocka_unit_test(init_draw_order_wide_layers),
        cmocka_unit_test(init_layer_touches_only_its_layer),
        cmocka_unit_test(flops_match_closed_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
