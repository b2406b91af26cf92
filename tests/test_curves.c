/* test_curves: the normalised area under a learning curve and shots to a
 * threshold, against closed forms.
 *
 * The trapezoid rule is exact for a curve linear in log2 K, so a curve
 * m(K) = a + b·log2 K over [K_min, K_max] has normalised area
 * a + b·(log2 K_min + log2 K_max)/2 however the points are spaced. */
#include "testutil.h"

#include <math.h>

#include "harness/curves.h"

static void accuracy_linear_in_log_shots_has_its_closed_form_area(void **state)
{
    /* m = 0.2 + 0.1·log2 K at K = 8, 1, 2 (unsorted, unevenly spaced), 5 ways */
    struct curve_point p[] = {{8, 0.5, 0}, {1, 0.2, 0}, {2, 0.3, 0}};
    double area = 0.2 + 0.1 * (0 + 3) / 2;   /* 0.35 */
    assert_close(curve_aulc(p, 3, false, 5), (area - 0.2) / 0.8, 1e-15, 1e-12);
    assert_int_equal(p[0].shots, 1);         /* sorted in place */
    /* chance everywhere is 0, perfect everywhere is 1 */
    struct curve_point chance[] = {{1, 0.5, 0}, {5, 0.5, 0}}, perfect[] = {{1, 1, 0}, {5, 1, 0}};
    assert_close(curve_aulc(chance, 2, false, 2), 0, 1e-15, 0);
    assert_close(curve_aulc(perfect, 2, false, 2), 1, 1e-15, 0);
}

static void mse_is_measured_against_predicting_zero(void **state)
{
    /* half the zero predictor's error at every K: 0.5; its error: 0; none: 1 */
    struct curve_point half[] = {{1, 1.0, 2.0}, {4, 0.5, 1.0}, {16, 2.0, 4.0}};
    assert_close(curve_aulc(half, 3, true, 0), 0.5, 1e-15, 1e-12);
    struct curve_point same[] = {{5, 3.0, 3.0}, {10, 2.5, 2.5}};
    assert_close(curve_aulc(same, 2, true, 0), 0, 1e-15, 0);
    /* linear in log2 K against a constant zero error Z = 4: 1 − (a + b·mid)/4 */
    struct curve_point lin[] = {{2, 3.0, 4}, {4, 2.0, 4}, {32, -1.0, 4}};
    assert_close(curve_aulc(lin, 3, true, 0), 1 - (4.0 - 1.0 * (1 + 5) / 2.0) / 4, 1e-15, 1e-12);
}

static void a_curve_needs_two_distinct_shot_counts(void **state)
{
    struct curve_point one[] = {{5, 0.7, 0}}, twice[] = {{5, 0.7, 0}, {5, 0.8, 0}};
    assert_true(isnan(curve_aulc(one, 1, false, 5)));
    assert_true(isnan(curve_aulc(twice, 2, false, 5)));
}

static void shots_to_threshold_is_the_smallest_shot_count_reaching_it(void **state)
{
    const struct curve_point acc[] = {{1, 0.4, 0}, {5, 0.7, 0}, {10, 0.65, 0}, {20, 0.9, 0}};
    assert_close(curve_shots_to(acc, 4, false, 0.6), 5, 0, 0);
    assert_close(curve_shots_to(acc, 4, false, 0.7), 5, 0, 0);    /* reaching is enough */
    assert_close(curve_shots_to(acc, 4, false, 0.8), 20, 0, 0);
    assert_true(isinf(curve_shots_to(acc, 4, false, 0.95)));      /* never: inf, not NaN */
    const struct curve_point mse[] = {{5, 2.0, 0}, {10, 0.5, 0}, {20, 0.2, 0}};
    assert_close(curve_shots_to(mse, 3, true, 1.0), 10, 0, 0);     /* at most, for MSE */
    assert_true(isinf(curve_shots_to(mse, 3, true, 0.1)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accuracy_linear_in_log_shots_has_its_closed_form_area),
        cmocka_unit_test(mse_is_measured_against_predicting_zero),
        cmocka_unit_test(a_curve_needs_two_distinct_shot_counts),
        cmocka_unit_test(shots_to_threshold_is_the_smallest_shot_count_reaching_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
