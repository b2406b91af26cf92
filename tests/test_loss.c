/* test_loss: cross-entropy and MSE against closed forms, hand-computed
 * numbers and central differences. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness/base/rng.h"
#include "learners/loss.h"

/* logits [1,2,3] with label 2: log(e¹+e²+e³) − 3; [0,0,0] with label 1:
 * log 3. The mean of the two, and the gradient (softmax − onehot)/2. */
static void xent_matches_closed_form(void **state)
{
    const float logits[6] = {1, 2, 3, 0, 0, 0};
    const int labels[2] = {2, 1};
    float d[6];
    int correct = -1;
    double l0 = log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0, l1 = log(3.0);
    double got = loss_xent(logits, labels, 2, 3, d, &correct, NULL);
    assert_close(got, (l0 + l1) / 2, 1e-12, 1e-12);
    /* Row 0 alone, against the number itself. */
    double row0 = loss_xent(logits, labels, 1, 3, NULL, NULL, NULL);
    assert_close(row0, 0.40760596444438, 1e-12, 0);
    double s = exp(1.0) + exp(2.0) + exp(3.0);
    const double want[6] = {exp(1.0) / s / 2, exp(2.0) / s / 2, (exp(3.0) / s - 1) / 2,
                            1.0 / 6, (1.0 / 3 - 1) / 2, 1.0 / 6};
    for (int i = 0; i < 6; i++)
        assert_close(d[i], want[i], 1e-7, 1e-6);
    /* Row 0's arg-max is its label; row 1 is a three-way tie won by class 0. */
    assert_int_equal(correct, 1);
    /* The value alone gives the same number without a gradient. */
    assert_close(loss_xent(logits, labels, 2, 3, NULL, NULL, NULL), got, 0, 0);
}

static void xent_large_logits_stay_finite(void **state)
{
    const float logits[3] = {1000, 0, -1000};
    float d[3];
    for (int y = 0; y < 3; y++) {
        double got = loss_xent(logits, &y, 1, 3, d, NULL, NULL);
        /* log(e¹⁰⁰⁰ + 1 + e⁻¹⁰⁰⁰) − logit_y = 1000 − logit_y up to e⁻¹⁰⁰⁰. */
        assert_true(isfinite(got));
        assert_close(got, 1000.0 - logits[y], 1e-12, 1e-12);
        for (int j = 0; j < 3; j++)
            assert_true(isfinite(d[j]));
        assert_close(d[0], 1.0 - (y == 0), 1e-12, 0);
        assert_close(d[1], -(double)(y == 1), 1e-12, 0);
        assert_close(d[2], -(double)(y == 2), 1e-12, 0);
    }
}

/* First arg-max decides ties; counts across rows; loss_correct counts the
 * same without the loss, a NaN logit included (it never wins a comparison). */
static void xent_counts_first_argmax(void **state)
{
    const float logits[15] = {2, 2, 1,  0, 5, 5,  -1, -3, -2,  7, 7, 7,  NAN, 1, 3};
    const int labels[5] = {1, 1, 0, 0, 0};
    int correct = -1;
    loss_xent(logits, labels, 4, 3, NULL, &correct, NULL);
    assert_int_equal(correct, 3);  /* rows 1, 2, 3 (row 0's first max is class 0) */
    assert_int_equal(loss_correct(logits, labels, 4, 3), 3);
    loss_xent(logits, labels, 5, 3, NULL, &correct, NULL);
    assert_int_equal(correct, 4);  /* row 4: NaN first, nothing beats it */
    assert_int_equal(loss_correct(logits, labels, 5, 3), 4);
    const int shifted[5] = {2, 1, 0, 0, 2};
    assert_int_equal(loss_correct(logits, shifted, 5, 3), 3);
}

/* dlogits against central differences of the loss itself (computed in
 * double, so a step of 1e-3 on the float logits is accurate to ~1e-6), for
 * a few-shot head's classes and for more classes than the loss keeps
 * exponentials of (loss.c: the rest are computed again). */
static void check_xent_gradient(int classes)
{
    enum { B = 4, MAX_C = 100 };
    assert_true(classes <= MAX_C);
    const int n = B * classes;
    struct rng r;
    rng_stream(&r, 7, RNG_DATA, (uint64_t)classes);
    float x[B * MAX_C], d[B * MAX_C];
    for (int i = 0; i < n; i++)
        x[i] = (float)rng_range(&r, -3.0, 3.0);
    const int labels[B] = {0, classes - 1, 2, 2};
    loss_xent(x, labels, B, classes, d, NULL, NULL);
    double norm = 0, worst = 0;
    for (int i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + 1e-3f;
        double up = loss_xent(x, labels, B, classes, NULL, NULL, NULL), hu = (double)x[i] - keep;
        x[i] = keep - 1e-3f;
        double dn = loss_xent(x, labels, B, classes, NULL, NULL, NULL), hd = keep - (double)x[i];
        x[i] = keep;
        double num = (up - dn) / (hu + hd);
        worst = fmax(worst, fabs(num - d[i]));
        norm += num * num;
    }
    printf("  xent gradient, %d classes: largest difference %.3g, norm %.3g\n", classes, worst,
           sqrt(norm));
    assert_true(sqrt(norm) > 0.1);
    assert_true(worst < 1e-3 * sqrt(norm));
}

static void xent_gradient_matches_central_differences(void **state)
{
    check_xent_gradient(5);
}

static void xent_gradient_beyond_the_kept_exponentials(void **state)
{
    check_xent_gradient(100);
}

static void xent_flops_as_documented(void **state)
{
    const float logits[6] = {1, 2, 3, 0, 0, 0};
    const int labels[2] = {2, 1};
    float d[6];
    uint64_t f = 0;
    loss_xent(logits, labels, 2, 3, NULL, NULL, &f);
    assert_int_equal(f, 3 * 2 * 3 + 4 * 2 + 2);
    f = 0;
    loss_xent(logits, labels, 2, 3, d, NULL, &f);
    assert_int_equal(f, (3 * 2 * 3 + 4 * 2 + 2) + (3 * 2 * 3 + 2 * 2));
}

/* pred [1 2; 3 4] against [0 2; 5 4.5]: differences 1, 0, −2, −0.5, squares
 * sum to 5.25 over 4 elements; gradient 2·diff/4. */
static void mse_matches_hand_computation(void **state)
{
    const float pred[4] = {1, 2, 3, 4}, target[4] = {0, 2, 5, 4.5f};
    float d[4];
    uint64_t f = 0;
    assert_close(loss_mse(pred, target, 2, 2, d, &f), 1.3125, 0, 1e-15);
    const float want[4] = {0.5f, 0.0f, -1.0f, -0.25f};
    for (int i = 0; i < 4; i++)
        assert_close(d[i], want[i], 0, 0);
    assert_int_equal(f, (3 * 4 + 1) + (4 + 1));
    f = 0;
    assert_close(loss_mse(pred, target, 2, 2, NULL, &f), 1.3125, 0, 1e-15);
    assert_int_equal(f, 3 * 4 + 1);
}

static void mse_gradient_matches_central_differences(void **state)
{
    enum { N = 12 };
    struct rng r;
    rng_stream(&r, 8, RNG_DATA, 0);
    float p[N], t[N], d[N];
    for (int i = 0; i < N; i++) {
        p[i] = (float)rng_range(&r, -2.0, 2.0);
        t[i] = (float)rng_range(&r, -2.0, 2.0);
    }
    loss_mse(p, t, 3, 4, d, NULL);
    double norm = 0, worst = 0;
    for (int i = 0; i < N; i++) {
        float keep = p[i];
        p[i] = keep + 1e-3f;
        double up = loss_mse(p, t, 3, 4, NULL, NULL), hu = (double)p[i] - keep;
        p[i] = keep - 1e-3f;
        double dn = loss_mse(p, t, 3, 4, NULL, NULL), hd = keep - (double)p[i];
        p[i] = keep;
        double num = (up - dn) / (hu + hd);
        worst = fmax(worst, fabs(num - d[i]));
        norm += num * num;
    }
    assert_true(sqrt(norm) > 0.1);
    assert_true(worst < 1e-3 * sqrt(norm));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xent_matches_closed_form),
        cmocka_unit_test(xent_large_logits_stay_finite),
        cmocka_unit_test(xent_counts_first_argmax),
        cmocka_unit_test(xent_gradient_matches_central_differences),
        cmocka_unit_test(xent_gradient_beyond_the_kept_exponentials),
        cmocka_unit_test(xent_flops_as_documented),
        cmocka_unit_test(mse_matches_hand_computation),
        cmocka_unit_test(mse_gradient_matches_central_differences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
