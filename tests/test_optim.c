/* test_optim: SGD and Adam steps against hand-computed PyTorch updates; spans; reset. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "learners/optim.h"

static struct optim make(enum optim_kind kind, double lr, double momentum, double wd, size_t n)
{
    struct optim_settings s;
    optim_defaults(&s);
    s.kind = kind;
    s.lr = lr;
    s.momentum = momentum;
    s.weight_decay = wd;
    struct optim o;
    struct err e = {0};
    assert_int_equal(optim_init(&o, &s, n, &e), 0);
    return o;
}

static void defaults_are_pytorchs(void **state)
{
    struct optim_settings s;
    optim_defaults(&s);
    assert_int_equal(s.kind, OPTIM_ADAM);
    assert_true(s.lr == 0.001 && s.momentum == 0 && s.weight_decay == 0);
    assert_true(s.beta1 == 0.9 && s.beta2 == 0.999 && s.eps == 1e-8);
}

static void sgd_plain(void **state)
{
    /* p ← p − lr·g with lr 0.1: 1 − 0.05, −2 − 0.1, 0.5 + 0.2. */
    float p[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.5f, 1.0f, -2.0f};
    struct optim o = make(OPTIM_SGD, 0.1, 0, 0, 3);
    uint64_t flops = 0;
    optim_step(&o, p, g, NULL, 0, &flops);
    assert_close(p[0], 0.95, 1e-7, 0);
    assert_close(p[1], -2.1, 1e-7, 0);
    assert_close(p[2], 0.7, 1e-7, 0);
    assert_true(flops == 3 * 2);  // lr·d and the subtraction
    assert_int_equal(o.t, 1);
    optim_free(&o);
}

static void sgd_momentum_three_steps(void **state)
{
    /* μ = 0.9, lr = 0.1, gradients 1, 2, −1 from p = 0:
     *   buf₁ = 1                 p₁ = −0.1
     *   buf₂ = 0.9·1 + 2 = 2.9   p₂ = −0.1 − 0.29 = −0.39
     *   buf₃ = 2.61 − 1 = 1.61   p₃ = −0.39 − 0.161 = −0.551 */
    float p = 0.0f;
    const float g[3] = {1.0f, 2.0f, -1.0f};
    const double want_p[3] = {-0.1, -0.39, -0.551}, want_buf[3] = {1.0, 2.9, 1.61};
    struct optim o = make(OPTIM_SGD, 0.1, 0.9, 0, 1);
    uint64_t flops = 0;
    for (int t = 0; t < 3; t++) {
        optim_step(&o, &p, &g[t], NULL, 0, &flops);
        assert_close(p, want_p[t], 1e-6, 0);
        assert_close(o.m[0], want_buf[t], 1e-6, 0);
    }
    assert_true(flops == 3 * 4);  // + μ·buf and the add
    optim_free(&o);
}

static void sgd_weight_decay(void **state)
{
    /* wd = 0.1, lr = 0.5, p = 2, g = 1 twice:
     *   d₁ = 1 + 0.1·2 = 1.2      p₁ = 2 − 0.6 = 1.4
     *   d₂ = 1 + 0.1·1.4 = 1.14   p₂ = 1.4 − 0.57 = 0.83 */
    float p = 2.0f, g = 1.0f;
    struct optim o = make(OPTIM_SGD, 0.5, 0, 0.1, 1);
    uint64_t flops = 0;
    optim_step(&o, &p, &g, NULL, 0, &flops);
    assert_close(p, 1.4, 1e-6, 0);
    optim_step(&o, &p, &g, NULL, 0, &flops);
    assert_close(p, 0.83, 1e-6, 0);
    assert_true(flops == 2 * 4);  // + wd·p and the add
    optim_free(&o);
}

static void adam_first_step_moves_by_lr_times_sign(void **state)
{
    /* Step 1: m̂ = g, v̂ = g², so every parameter moves by lr·g/(|g| + eps):
     * lr·sign(g) for |g| ≫ eps, lr·(1 − 1e−5) for |g| = 1e−3 with eps 1e−8,
     * nothing for g = 0. */
    float p[5] = {0, 0, 0, 0, 1};
    const float g[5] = {3.0f, -0.5f, 1e-3f, 0.0f, 1e4f};
    struct optim o = make(OPTIM_ADAM, 0.01, 0, 0, 5);
    uint64_t flops = 0;
    optim_step(&o, p, g, NULL, 0, &flops);
    assert_close(p[0], -0.01, 0, 1e-6);
    assert_close(p[1], 0.01, 0, 1e-6);
    assert_close(p[2], -0.0099999, 0, 1e-6);
    assert_true(p[3] == 0.0f);
    assert_close(p[4], 0.99, 0, 1e-6);
    assert_true(flops == 5 * 13);
    optim_free(&o);
}

static void adam_second_step(void **state)
{
    /* lr 0.1, β = (0.9, 0.999), p = 0. bc₁ = 1 − 0.81 = 0.19,
     * bc₂ = 1 − 0.998001 = 0.001999.
     * Gradients 1 then −1: m₂ = 0.09 − 0.1 = −0.01, m̂₂ = −1/19;
     *   v₂ = 0.000999 + 0.001 = 0.001999, v̂₂ = 1; p₂ = −0.1 + 0.1/19 = −0.0947368.
     * Gradients 2 then 1: m₂ = 0.18 + 0.1 = 0.28, m̂₂ = 1.4736842;
     *   v₂ = 0.003996 + 0.001 = 0.004996, v̂₂ = 2.4992496, √ = 1.5809015;
     *   p₂ = −0.1 − 0.1·1.4736842/1.5809015 = −0.1932180. */
    float p[2] = {0, 0};
    const float g1[2] = {1.0f, 2.0f}, g2[2] = {-1.0f, 1.0f};
    struct optim o = make(OPTIM_ADAM, 0.1, 0, 0, 2);
    optim_step(&o, p, g1, NULL, 0, NULL);
    assert_close(p[0], -0.1, 1e-6, 0);
    assert_close(p[1], -0.1, 1e-6, 0);
    optim_step(&o, p, g2, NULL, 0, NULL);
    assert_close(o.m[0], -0.01, 1e-7, 0);
    assert_close(o.v[1], 0.004996, 1e-8, 0);
    assert_close(p[0], -0.0947368, 1e-6, 0);
    assert_close(p[1], -0.1932180, 1e-6, 0);
    assert_int_equal(o.t, 2);
    optim_free(&o);
}

static void adam_weight_decay_is_l2_in_the_gradient(void **state)
{
    /* torch.optim.Adam (not AdamW): g' = g + wd·p = −0.05 + 0.1·1 = +0.05,
     * so the first step moves p down by lr although g points up. */
    float p = 1.0f, g = -0.05f;
    struct optim o = make(OPTIM_ADAM, 0.01, 0, 0.1, 1);
    uint64_t flops = 0;
    optim_step(&o, &p, &g, NULL, 0, &flops);
    assert_close(p, 0.99, 0, 1e-6);
    assert_close(o.m[0], 0.1 * 0.05, 1e-9, 0);
    assert_true(flops == 15);
    optim_free(&o);
}

/* The Adam loops' √v/√bc2 without a division (optim.c, quotient) against
 * the division, bit for bit: every x in [1, 2) for the default β₂'s first
 * step — scaling x by a power of two scales both exactly, so this covers
 * every x a square root gives — then every 4099th float over that range
 * for 25 more c, and the edges. (A session checked every float x for five
 * c once, 2³² each: the same bits except x = −0, handled since.) */
static void quotient_is_the_division(void **state)
{
    enum { BINADE = 1 << 23, CHUNK = 1 << 16 };
    static float x[CHUNK], got[CHUNK];
    const double beta2[] = {0.999, 0.99, 0.9, 0.5, 1.0 - 0x1p-53};
    const int steps[] = {1, 2, 3, 20, 1000};
    float c[26];
    int n_c = 0;
    for (int b = 0; b < 5; b++)
        for (int t = 0; t < 5; t++)
            c[n_c++] = (float)sqrt(1.0 - pow(beta2[b], steps[t]));
    c[n_c++] = 1.0f;
    if (!optim_quotients(x, c[0], got, 1))
        skip();   /* no FMA here: optim_step divides */
    const float lowest = sqrtf(0x1p-149f);   /* a root is 0 or at least this, below 2⁶⁴ */
    uint32_t low;
    memcpy(&low, &lowest, sizeof low);
    long checked = 0;
    for (int k = 0; k < n_c; k++) {
        const bool whole = k == 0;   /* β₂ = 0.999, t = 1 */
        const uint32_t first = whole ? 0x3f800000u : low, last = whole ? 0x40000000u : 0x5f800000u;
        const uint32_t stride = whole ? 1 : 4099;
        for (uint64_t b = first; b < last;) {
            size_t n = 0;
            for (; n < CHUNK && b < last; n++, b += stride) {
                uint32_t bits = (uint32_t)b;
                memcpy(&x[n], &bits, sizeof bits);
            }
            assert_true(optim_quotients(x, c[k], got, n));
            for (size_t i = 0; i < n; i++) {
                float want = x[i] / c[k];
                if (memcmp(&got[i], &want, sizeof want) != 0)
                    fail_msg("%a / %a: %a, the division gives %a", (double)x[i], (double)c[k],
                             (double)got[i], (double)want);
            }
            checked += (long)n;
        }
    }
    assert_true(checked > BINADE + 25L * 200000);
    /* ±0, the smallest and largest roots of a float, ∞ and NaN */
    const float edge[] = {0.0f, -0.0f, sqrtf(0x1p-149f), sqrtf(0x1p-126f), sqrtf(0x1.fffffep127f),
                          INFINITY, NAN};
    enum { N_EDGE = sizeof edge / sizeof edge[0] };
    for (int k = 0; k < n_c; k++) {
        assert_true(optim_quotients(edge, c[k], got, N_EDGE));
        for (int i = 0; i < N_EDGE; i++) {
            float want = edge[i] / c[k];
            assert_true(isnan(want) ? isnan(got[i]) : memcmp(&got[i], &want, sizeof want) == 0);
        }
    }
}

/* Every Adam loop this CPU can run gives the division loop's bits: steps
 * over gradients from 1e-30 to 1e10 and zeros, with and without weight
 * decay, eps 0, a long second moment. */
static void adam_loops_agree_bit_for_bit(void **state)
{
    enum { N = 4099, STEPS = 12 };
    static float g[N], p[3][N], ref_m[N], ref_v[N];
    const char *kinds[] = {"divide", "fma256", "fma512"};
    struct { double wd, eps, beta2; } cases[] = {{0, 1e-8, 0.999}, {0.01, 1e-8, 0.999},
                                                 {0, 0, 0.9999}, {0.1, 1e-3, 0.5}};
    int ran = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int k = 0; k < 3; k++) {
            if (!optim_use_adam(kinds[k]))
                continue;
            struct optim o = make(OPTIM_ADAM, 0.003, 0, cases[c].wd, N);
            o.s.eps = cases[c].eps;
            o.s.beta2 = cases[c].beta2;
            uint32_t seed = 12345;
            for (int i = 0; i < N; i++) {
                seed = seed * 1664525u + 1013904223u;
                p[k][i] = (float)((int)(seed >> 8) % 2001 - 1000) / 1000.0f;
            }
            for (int t = 0; t < STEPS; t++) {
                for (int i = 0; i < N; i++) {
                    seed = seed * 1664525u + 1013904223u;
                    int e = (int)(seed >> 26) - 30;   /* 1e-30 … 1e33, zeros below */
                    float mant = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
                    g[i] = e > 10 ? 0.0f : mant * powf(10.0f, (float)e);
                }
                optim_step(&o, p[k], g, NULL, 0, NULL);
            }
            if (k == 0) {
                memcpy(ref_m, o.m, sizeof ref_m);
                memcpy(ref_v, o.v, sizeof ref_v);
            } else {
                assert_memory_equal(p[k], p[0], sizeof p[0]);
                assert_memory_equal(o.m, ref_m, sizeof ref_m);
                assert_memory_equal(o.v, ref_v, sizeof ref_v);
                ran++;
            }
            optim_free(&o);
        }
    }
    assert_true(optim_use_adam("auto"));
    assert_false(optim_use_adam("nonesuch"));
    if (!ran)
        skip();   /* only the division loop runs on this CPU */
}

static void spans_leave_the_rest_untouched(void **state)
{
    enum { N = 10 };
    float p[N], g[N], p0[N];
    for (int i = 0; i < N; i++) {
        p[i] = p0[i] = 0.1f * (float)i;
        g[i] = 1.0f;
    }
    const struct span spans[2] = {{1, 3}, {6, 2}};
    struct optim o = make(OPTIM_ADAM, 0.01, 0, 0, N);
    uint64_t flops = 0;
    optim_step(&o, p, g, spans, 2, &flops);
    for (int i = 0; i < N; i++) {
        bool listed = (i >= 1 && i < 4) || (i >= 6 && i < 8);
        if (listed) {
            assert_close(p[i], p0[i] - 0.01, 1e-7, 0);
            assert_close(o.m[i], 0.1, 1e-7, 0);
            assert_close(o.v[i], 0.001, 1e-9, 0);
        } else {
            assert_true(p[i] == p0[i] && o.m[i] == 0.0f && o.v[i] == 0.0f);
        }
    }
    assert_true(flops == 5 * 13);
    /* SGD with momentum: the buffer outside the spans stays zero too. */
    struct optim s = make(OPTIM_SGD, 0.1, 0.9, 0, N);
    optim_step(&s, p, g, &spans[1], 1, NULL);
    for (int i = 0; i < N; i++)
        assert_true(s.m[i] == (i == 6 || i == 7 ? 1.0f : 0.0f));
    optim_free(&s);
    optim_free(&o);
}

static void reset_forgets_state(void **state)
{
    /* After reset the optimizer behaves exactly like a fresh one. */
    float a[3] = {0.3f, -0.7f, 1.1f}, b[3], g[3] = {0.2f, -1.5f, 0.01f};
    memcpy(b, a, sizeof a);
    struct optim used = make(OPTIM_ADAM, 0.05, 0, 0.01, 3);
    struct optim fresh = make(OPTIM_ADAM, 0.05, 0, 0.01, 3);
    float scratch[3] = {0, 0, 0};
    for (int t = 0; t < 4; t++)
        optim_step(&used, scratch, g, NULL, 0, NULL);
    optim_reset(&used);
    assert_int_equal(used.t, 0);
    for (int i = 0; i < 3; i++)
        assert_true(used.m[i] == 0.0f && used.v[i] == 0.0f);
    for (int t = 0; t < 3; t++) {
        optim_step(&used, a, g, NULL, 0, NULL);
        optim_step(&fresh, b, g, NULL, 0, NULL);
    }
    assert_memory_equal(a, b, sizeof a);
    optim_free(&used);
    optim_free(&fresh);
}

static void bad_settings_refused_and_free_is_safe(void **state)
{
    struct optim_settings s;
    optim_defaults(&s);
    s.lr = -1;
    struct optim o;
    struct err e = {0};
    assert_int_equal(optim_init(&o, &s, 4, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "lr -1"));
    optim_free(&o);
    optim_defaults(&s);
    s.beta2 = 1.0;
    assert_int_equal(optim_init(&o, &s, 4, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "betas"));
    struct optim zero;
    memset(&zero, 0, sizeof zero);
    optim_free(&zero);
    optim_reset(&zero);
    optim_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_pytorchs),
        cmocka_unit_test(sgd_plain),
        cmocka_unit_test(sgd_momentum_three_steps),
        cmocka_unit_test(sgd_weight_decay),
        cmocka_unit_test(adam_first_step_moves_by_lr_times_sign),
        cmocka_unit_test(adam_second_step),
        cmocka_unit_test(adam_weight_decay_is_l2_in_the_gradient),
        cmocka_unit_test(quotient_is_the_division),
        cmocka_unit_test(adam_loops_agree_bit_for_bit),
        cmocka_unit_test(spans_leave_the_rest_untouched),
        cmocka_unit_test(reset_forgets_state),
        cmocka_unit_test(bad_settings_refused_and_free_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
