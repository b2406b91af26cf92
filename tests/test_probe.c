/* test_probe: the probes' arithmetic against closed forms — FGSM on a
 * linear softmax model, the input-unit scaling and clipping of IDX data,
 * the ε-ball projection, PGD's first step from x equal to FGSM, and noise
 * of σ = 0 leaving the inputs as drawn. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "harness/probe.h"
#include "learners/loss.h"
#include "learners/mlp.h"

enum { N = 4, D = 3, C = 2 };

static void fgsm_on_a_linear_softmax_model_equals_its_closed_form(void **state)
{
    /* z = x·W + b; for the mean cross-entropy, ∇x L = (softmax(z) − onehot)·Wᵀ / N */
    const struct mlp_arch a = {1, {D, C}, ACT_IDENTITY};
    struct mlp net;
    struct mlp_work w;
    struct err e;
    assert_int_equal(mlp_init(&net, &a, &e), 0);
    assert_int_equal(mlp_work_init(&w, &a, N, &e), 0);
    const float W[D * C] = {0.5f, -1.0f, 0.25f, 0.75f, -0.5f, 0.3f}, b[C] = {0.1f, -0.2f};
    memcpy(net.params + net.w_off[0], W, sizeof W);
    memcpy(net.params + net.b_off[0], b, sizeof b);
    const float x[N * D] = {0.2f, 0.5f, 0.9f, 0.0f, 1.0f, 0.4f, 0.7f, 0.1f, 0.3f, 0.6f, 0.6f, 0.6f};
    const int y[N] = {0, 1, 1, 0};
    float dz[N * C], dx[N * D], got[N * D];
    const float *z = mlp_forward(&net, &w, x, N, 1);
    loss_xent(z, y, N, C, dz, NULL, NULL);
    mlp_backward(&net, &w, dz, 1, dx);
    /* the closed form in double */
    double want_g[N * D];
    for (int i = 0; i < N; i++) {
        double zz[C], m = -INFINITY, s = 0;
        for (int c = 0; c < C; c++) {
            zz[c] = b[c];
            for (int j = 0; j < D; j++)
                zz[c] += (double)x[i * D + j] * W[j * C + c];
            m = fmax(m, zz[c]);
        }
        for (int c = 0; c < C; c++)
            s += exp(zz[c] - m);
        for (int j = 0; j < D; j++) {
            want_g[i * D + j] = 0;
            for (int c = 0; c < C; c++)
                want_g[i * D + j] += (exp(zz[c] - m) / s - (c == y[i])) * W[j * C + c] / N;
            assert_close(dx[i * D + j], want_g[i * D + j], 1e-7, 1e-5);
        }
    }
    /* bytes scaled by 255: one input unit is one model unit, clipped to [0, 1] */
    struct probe_space sp;
    const float mul[D] = {1 / 255.0f, 1 / 255.0f, 1 / 255.0f}, add[D] = {0, 0, 0};
    assert_int_equal(probe_space_init(&sp, D, 255, mul, add, true, &e), 0);
    probe_sign_step(&sp, x, dx, N, 0.3, got);
    for (int k = 0; k < N * D; k++) {
        double v = x[k] + 0.3 * (want_g[k] > 0 ? 1 : -1) * sp.a[k % D];
        v = fmin(fmax(v, 0.0), sp.hi[k % D]);
        assert_close(got[k], v, 1e-7, 0);
        assert_true(got[k] >= 0 && got[k] <= sp.hi[k % D]);
    }
    assert_close(sp.a[0], 1.0, 1e-7, 0);
    assert_close(sp.hi[0], 1.0, 1e-7, 0);
    /* PGD's first step from x, α = 2.5·ε, projected on the ε-ball: FGSM's point */
    float pgd[N * D];
    probe_sign_step(&sp, x, dx, N, 2.5 * 0.3, pgd);
    probe_project(&sp, x, N, 0.3, pgd);
    assert_memory_equal(pgd, got, sizeof got);
    probe_space_free(&sp);
    mlp_work_free(&w);
    mlp_free(&net);
}

static void standardised_inputs_step_in_the_units_after_scale(void **state)
{
    /* x = (raw/255 − 0.5)/0.25: a step of 0.1 after scale is 0.4 in the model's units,
     * and raw bytes 0..255 bound the model's inputs to [−2, 2] */
    const float mul[1] = {1 / (255.0f * 0.25f)}, add[1] = {-2.0f};
    struct probe_space sp;
    struct err e;
    assert_int_equal(probe_space_init(&sp, 1, 255, mul, add, true, &e), 0);
    assert_close(sp.a[0], 4.0, 1e-6, 0);
    assert_close(sp.lo[0], -2.0, 1e-6, 0);
    assert_close(sp.hi[0], 2.0, 1e-6, 0);
    const float x[2] = {0.0f, 1.9f}, g[2] = {-3.0f, 5.0f};
    float out[2];
    probe_sign_step(&sp, x, g, 2, 0.1, out);
    assert_close(out[0], -0.4, 1e-6, 0);
    assert_close(out[1], 2.0, 1e-6, 0);   /* clipped to the data's range */
    /* the ε-ball: at most ε·a from where it started */
    float far[2] = {3.0f, -3.0f};
    probe_project(&sp, x, 2, 0.05, far);
    assert_close(far[0], 0.2, 1e-6, 0);
    assert_close(far[1], 1.7, 1e-6, 0);
    probe_space_free(&sp);
    /* unbounded data (CSV, synthetic) is not clipped */
    assert_int_equal(probe_space_init(&sp, 1, 0, NULL, NULL, false, &e), 0);
    probe_sign_step(&sp, (const float[]){1000.0f}, (const float[]){1.0f}, 1, 7, out);
    assert_close(out[0], 1007.0, 0, 0);
    probe_space_free(&sp);
}

static void noise_of_sigma_zero_leaves_the_inputs_as_drawn(void **state)
{
    struct probe_space sp;
    struct err e;
    const float mul[D] = {0.5f, 0.5f, 0.5f};
    assert_int_equal(probe_space_init(&sp, D, 2, mul, NULL, true, &e), 0);
    const float x[D] = {0.1f, 127.6f, -0.0f};   /* even a value outside the range */
    float out[D];
    struct rng r;
    rng_stream(&r, 1, RNG_PROBE, 0);
    probe_noise(&sp, x, 1, 0, &r, out);
    assert_memory_equal(out, x, sizeof x);
    /* σ > 0 draws, in row order, from the stream given */
    struct rng r1, r2;
    rng_stream(&r1, 1, RNG_PROBE, 5), rng_stream(&r2, 1, RNG_PROBE, 5);
    float a[D], b[D];
    probe_noise(&sp, x, 1, 0.1, &r1, a);
    probe_noise(&sp, x, 1, 0.1, &r2, b);
    assert_memory_equal(a, b, sizeof a);
    assert_true(a[0] != x[0]);
    probe_space_free(&sp);
}

/* The sign step and the projection over rows wide enough for the vector
 * loops (101 values: full registers and a tail), in place as PGD calls
 * them, equal the elementwise formulas bit for bit: zero gradients stay,
 * both bounds clip, the ball's edges hold. */
static void sign_step_and_projection_equal_the_elementwise_formulas(void **state)
{
    enum { R = 3, W = 101 };
    struct probe_space sp;
    struct err e;
    float mul[W], add[W];
    for (int j = 0; j < W; j++)
        mul[j] = 1.0f / (200.0f + (float)j), add[j] = -0.01f * (float)(j % 7);
    assert_int_equal(probe_space_init(&sp, W, 255, mul, add, true, &e), 0);
    float x0[R * W], g[R * W], x[R * W], want[R * W];
    for (int k = 0; k < R * W; k++) {
        int j = k % W;
        x0[k] = sp.lo[j] + (sp.hi[j] - sp.lo[j]) * (float)((k * 37) % 100) / 99.0f;
        g[k] = k % 5 == 0 ? 0.0f : (k % 3 == 0 ? -1.0f : 1.0f) * (float)(k % 11);
    }
    const float step = 0.2f, eps = 0.05f;
    for (int k = 0; k < R * W; k++) {
        int j = k % W;
        float d = g[k] > 0 ? 1.0f : g[k] < 0 ? -1.0f : 0.0f;
        float v = x0[k] + step * sp.a[j] * d;
        want[k] = v < sp.lo[j] ? sp.lo[j] : v > sp.hi[j] ? sp.hi[j] : v;
    }
    memcpy(x, x0, sizeof x);
    probe_sign_step(&sp, x, g, R, step, x);   /* in place */
    assert_memory_equal(x, want, sizeof x);
    for (int k = 0; k < R * W; k++) {
        int j = k % W;
        float r = eps * sp.a[j];
        float v = want[k] < x0[k] - r ? x0[k] - r : want[k] > x0[k] + r ? x0[k] + r : want[k];
        want[k] = v < sp.lo[j] ? sp.lo[j] : v > sp.hi[j] ? sp.hi[j] : v;
    }
    probe_project(&sp, x0, R, eps, x);
    assert_memory_equal(x, want, sizeof x);
    probe_space_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fgsm_on_a_linear_softmax_model_equals_its_closed_form),
        cmocka_unit_test(standardised_inputs_step_in_the_units_after_scale),
        cmocka_unit_test(noise_of_sigma_zero_leaves_the_inputs_as_drawn),
        cmocka_unit_test(sign_step_and_projection_equal_the_elementwise_formulas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
