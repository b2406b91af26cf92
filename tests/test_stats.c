/* test_stats: summaries against Python's statistics module, pooling over seeds,
 * the incomplete beta and Student-t quantiles against closed forms and tables. */
#include "testutil.h"

#include <math.h>

#include "harness/stats.h"

/* Thirty-seven accuracies. Reference values from Python 3.11:
 *   import random, statistics as st, math
 *   random.seed(2024); a = [round(random.random(), 4) for _ in range(37)]
 *   st.mean(a), st.stdev(a), 1.96 * st.stdev(a) / math.sqrt(len(a)) */
static const double set_a[37] = {
    0.4701, 0.7283, 0.3038, 0.8873, 0.4101, 0.7166, 0.2652, 0.2452, 0.8126, 0.4983,
    0.4159, 0.7278, 0.9632, 0.3095, 0.7041, 0.5194, 0.7314, 0.9997, 0.2064, 0.7526,
    0.4685, 0.709, 0.8719, 0.1484, 0.2126, 0.4119, 0.0585, 0.3494, 0.4166, 0.1242,
    0.7435, 0.7628, 0.3903, 0.3453, 0.2011, 0.4268, 0.3165,
};

static void summary_matches_python(void **state)
{
    struct stats_summary s;
    stats_summarise(set_a, 37, &s);
    assert_int_equal(s.n, 37);
    assert_close(s.mean, 0.503372972972973, 0, 1e-14);
    assert_close(s.std, 0.2568183335968666, 0, 1e-13);
    assert_close(s.ci95, 0.0827525209709576, 0, 1e-13);
}

/* Values 1e9 + u: the one-pass formula Σx² − n·mean² loses every digit here
 * (x² ≈ 1e18, one rounding ≈ 100 ≫ the spread). Python, continuing the
 * stream above: b = [1e9 + round(random.random(), 3) for _ in range(11)]
 *   st.mean(b), st.stdev(b), 1.96 * st.stdev(b) / math.sqrt(11) */
static void no_catastrophic_cancellation(void **state)
{
    const double b[11] = {
        1000000000.214, 1000000000.868, 1000000000.229, 1000000000.04,
        1000000000.225, 1000000000.019, 1000000000.865, 1000000000.844,
        1000000000.319, 1000000000.96, 1000000000.804,
    };
    struct stats_summary s;
    stats_summarise(b, 11, &s);
    assert_close(s.mean, 1000000000.4897273, 0, 1e-16);
    assert_close(s.std, 0.37368760200625306, 0, 1e-9);
    assert_close(s.ci95, 0.2208352606125733, 0, 1e-9);
}

static void small_samples(void **state)
{
    struct stats_summary s;
    /* n = 0: nothing applies. */
    stats_summarise(NULL, 0, &s);
    assert_int_equal(s.n, 0);
    assert_true(isnan(s.mean) && isnan(s.std) && isnan(s.ci95));
    /* n = 1: a mean, but no spread (left empty in the CSV). */
    const double one = 0.8;
    stats_summarise(&one, 1, &s);
    assert_int_equal(s.n, 1);
    assert_true(s.mean == 0.8);
    assert_true(isnan(s.std) && isnan(s.ci95));
    /* n = 2: std = |a − b|/√2; Python: st.stdev([3.5, 4.25]) = 0.5303300858899106,
     * 1.96 * that / math.sqrt(2) = 0.7349999999999998 (exactly 0.735 in reals). */
    const double two[2] = {3.5, 4.25};
    stats_summarise(two, 2, &s);
    assert_true(s.mean == 3.875);
    assert_close(s.std, 0.5303300858899106, 0, 1e-15);
    assert_close(s.ci95, 0.735, 0, 1e-15);
    /* Equal values: exactly zero spread, not a rounding residue. */
    const double same[5] = {0.1, 0.1, 0.1, 0.1, 0.1};
    stats_summarise(same, 5, &s);
    assert_true(s.mean == 0.1 && s.std == 0 && s.ci95 == 0);
}

/* Three seeds of 5, 7 and 6 episodes. Python:
 *   s1 = [0.62, 0.71, 0.58, 0.66, 0.69]; s2 = [0.55, 0.60, 0.52, 0.58, 0.61, 0.57, 0.49]
 *   s3 = [0.70, 0.74, 0.68, 0.77, 0.72, 0.71]; ms = [st.mean(s) for s in (s1, s2, s3)]
 *   t = (2*0.975 - 1) / math.sqrt(2*0.975*0.025)   # closed form t quantile, df 2
 *   st.mean(ms), st.stdev(ms), t * st.stdev(ms) / math.sqrt(3) */
static const double seed1[5] = {0.62, 0.71, 0.58, 0.66, 0.69};
static const double seed2[7] = {0.55, 0.60, 0.52, 0.58, 0.61, 0.57, 0.49};
static const double seed3[6] = {0.70, 0.74, 0.68, 0.77, 0.72, 0.71};

static void pooled_over_three_seeds(void **state)
{
    struct stats_summary per[3], pooled;
    stats_summarise(seed1, 5, &per[0]);
    stats_summarise(seed2, 7, &per[1]);
    stats_summarise(seed3, 6, &per[2]);
    /* The per-seed rows themselves (python: st.stdev(s), 1.96*st.stdev(s)/√n). */
    assert_close(per[0].std, 0.05263078946776307, 0, 1e-13);
    assert_close(per[1].ci95, 0.03200666597236685, 0, 1e-13);
    assert_close(per[2].mean, 0.72, 0, 1e-15);
    stats_pool_seeds(per, 3, &pooled);
    assert_int_equal(pooled.n, 18);
    assert_close(pooled.mean, 0.644, 0, 1e-14);
    assert_close(pooled.std, 0.08029943959953895, 0, 1e-12);
    assert_close(pooled.ci95, 0.1994748661416326, 0, 1e-12);
    /* A seed with no values carries no mean and is skipped. */
    struct stats_summary with_empty[4] = {per[0], {0, NAN, NAN, NAN}, per[1], per[2]};
    struct stats_summary again;
    stats_pool_seeds(with_empty, 4, &again);
    assert_int_equal(again.n, 18);
    assert_true(again.mean == pooled.mean && again.ci95 == pooled.ci95);
}

static void pooled_over_one_seed_repeats_it(void **state)
{
    struct stats_summary per, pooled;
    stats_summarise(set_a, 37, &per);
    stats_pool_seeds(&per, 1, &pooled);
    assert_int_equal(pooled.n, per.n);
    assert_true(pooled.mean == per.mean && pooled.std == per.std && pooled.ci95 == per.ci95);
    /* One seed of one episode: still a copy, std and ci95 empty. */
    stats_summarise(set_a, 1, &per);
    stats_pool_seeds(&per, 1, &pooled);
    assert_int_equal(pooled.n, 1);
    assert_true(pooled.mean == set_a[0] && isnan(pooled.std) && isnan(pooled.ci95));
    stats_pool_seeds(NULL, 0, &pooled);
    assert_true(pooled.n == 0 && isnan(pooled.mean));
}

static void incbeta_closed_forms(void **state)
{
    const double xs[] = {0, 1e-12, 0.03, 0.3, 0.5, 0.77, 0.999, 1};
    for (int i = 0; i < 8; i++) {
        double x = xs[i];
        assert_close(stats_incbeta(1, 1, x), x, 1e-15, 1e-13);              /* uniform */
        assert_close(stats_incbeta(3.5, 1, x), pow(x, 3.5), 1e-15, 1e-13);  /* I_x(a,1) = x^a */
        assert_close(stats_incbeta(1, 2.5, x), -expm1(2.5 * log1p(-x)), 1e-15, 1e-13);
        assert_close(stats_incbeta(0.5, 0.5, x), 2 / M_PI * asin(sqrt(x)), 1e-15, 1e-13);
        /* Symmetry I_x(a, b) = 1 − I_{1−x}(b, a), exercising both branches. */
        assert_close(stats_incbeta(7, 3, x), 1 - stats_incbeta(3, 7, 1 - x), 1e-14, 0);
    }
    /* I_x(2, 3) = 6x² − 8x³ + 3x⁴ (binomial sum). */
    assert_close(stats_incbeta(2, 3, 0.4), 6 * 0.16 - 8 * 0.064 + 3 * 0.0256, 0, 1e-14);
    assert_true(isnan(stats_incbeta(0, 1, 0.5)) && isnan(stats_incbeta(1, 1, 1.5)));
}

/* The 0.975 quantiles of the standard table (to 4 decimals). */
static void t_quantiles_match_table(void **state)
{
    const double df[7] = {1, 2, 3, 4, 9, 29, 100};
    const double table[7] = {12.7062, 4.3027, 3.1824, 2.7764, 2.2622, 2.0452, 1.9840};
    for (int i = 0; i < 7; i++) {
        assert_close(stats_t_quantile(0.975, df[i]), table[i], 5e-5, 0);
        assert_close(stats_t_quantile(0.025, df[i]), -table[i], 5e-5, 0);
    }
    for (int i = 0; i < 7; i++)
        assert_true(stats_t_quantile(0.5, df[i]) == 0);
}

/* df 1 (Cauchy) and 2 have closed forms: t = −1/tan(πp) and
 * t = (2p−1)/√(2p(1−p)); check them to 1e-10 across the range, including a
 * far tail where only careful tail arithmetic keeps the digits. */
static void t_quantiles_closed_forms(void **state)
{
    const double ps[] = {1e-10, 0.001, 0.05, 0.3, 0.6, 0.9, 0.975, 0.9999};
    for (int i = 0; i < 8; i++) {
        double p = ps[i];
        assert_close(stats_t_quantile(p, 1), -1 / tan(M_PI * p), 0, 1e-10);
        assert_close(stats_t_quantile(p, 2), (2 * p - 1) / sqrt(2 * p * (1 - p)), 0, 1e-10);
        /* The quantile inverts the distribution function. */
        assert_close(stats_t_cdf(stats_t_quantile(p, 7.5), 7.5), p, 0, 1e-12);
    }
}

/* Larger df, both sides of the switch to the series at df = 1e4, against
 * Python's bisection on the closed-form t distribution function for integer
 * df (Abramowitz & Stegun 26.7.3–4, a finite sum in cos θ, θ = atan(t/√df)). */
static void t_quantiles_large_df_and_limit(void **state)
{
    assert_close(stats_t_quantile(0.975, 1000), 1.9623390808263812, 0, 1e-11);
    assert_close(stats_t_quantile(0.975, 10000), 1.9602012398914161, 0, 1e-11);
    assert_close(stats_t_quantile(0.975, 20000), 1.9600826051594016, 0, 1e-11);
    assert_close(stats_t_quantile(0.999, 7), 4.785289628638317, 0, 1e-11);
    assert_close(stats_t_quantile(0.6, 3), 0.27667066233268955, 0, 1e-11);
    /* df → ∞: the normal quantile, Φ⁻¹(0.975) = 1.959963984540054. */
    assert_close(stats_t_quantile(0.975, INFINITY), 1.959963984540054, 0, 1e-14);
    assert_close(stats_t_quantile(0.975, 1e12), 1.959963984540054, 0, 1e-11);
    assert_true(stats_t_quantile(0.975, 1e6) > stats_t_quantile(0.975, 1e7));
    assert_true(isnan(stats_t_quantile(1, 3)) && isnan(stats_t_quantile(0.5, 0)));
}

static void normal_quantiles(void **state)
{
    /* Known values: Φ⁻¹(0.975), Φ⁻¹(0.3), and the far tail Φ⁻¹(1e-300)
     * checked through erfc, which is accurate there. */
    assert_close(stats_normal_quantile(0.975), 1.959963984540054, 0, 1e-14);
    assert_close(stats_normal_quantile(0.3), -0.5244005127080407, 0, 1e-13);
    assert_true(stats_normal_quantile(0.5) == 0);
    double z = stats_normal_quantile(1e-300);
    assert_close(0.5 * erfc(-z / sqrt(2.0)), 1e-300, 0, 1e-12);
    assert_true(isnan(stats_normal_quantile(0)) && isnan(stats_normal_quantile(NAN)));
}

/* ---- tests of differences ---- */

static void t_p_values_are_two_sided(void **state)
{
    assert_close(stats_t_p(stats_t_quantile(0.975, 9), 9), 0.05, 1e-12, 1e-9);
    assert_close(stats_t_p(-stats_t_quantile(0.995, 3), 3), 0.01, 1e-12, 1e-9);
    assert_close(stats_t_p(0, 5), 1, 0, 0);
    assert_true(isnan(stats_t_p(NAN, 5)) && isnan(stats_t_p(1, 0)));
}

static void wilcoxon_drops_zeros_and_averages_tied_ranks(void **state)
{
    /* |d| of 1, 2, 3, 3, 4 (the 0 dropped): ranks 1, 2, 3.5, 3.5, 5; W+ = 1 + 3.5 + 3.5 + 5;
     * m = 5: mean 7.5, variance 5·6·11/24 − (2³ − 2)/48 */
    double d[] = {1, -2, 3, 0, 3, 4};
    double z = (13 - 7.5) / sqrt(13.75 - 6.0 / 48);
    assert_close(stats_wilcoxon_p(d, 6), erfc(z / sqrt(2.0)), 1e-15, 1e-12);
    /* symmetric differences: W+ at its mean, p = 1 */
    double s[] = {-1, 1, -2, 2};
    assert_close(stats_wilcoxon_p(s, 4), 1, 1e-15, 0);
    double zero[] = {0, 0};
    assert_true(isnan(stats_wilcoxon_p(zero, 2)));
}

static void holm_steps_down_and_keeps_the_order(void **state)
{
    double p[] = {0.01, 0.04, 0.03, NAN, 0.005};
    stats_holm(p, 5);
    assert_close(p[4], 4 * 0.005, 1e-15, 0);   /* smallest of m = 4: × 4 */
    assert_close(p[0], 3 * 0.01, 1e-15, 0);
    assert_close(p[2], 2 * 0.03, 1e-15, 0);
    assert_close(p[1], 2 * 0.03, 1e-15, 0);    /* 0.04 × 1 < the running maximum */
    assert_true(isnan(p[3]));
    double big[] = {0.5, 0.6};
    stats_holm(big, 2);
    assert_close(big[0], 1, 0, 0);             /* capped at 1 */
    assert_close(big[1], 1, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_p_values_are_two_sided),
        cmocka_unit_test(wilcoxon_drops_zeros_and_averages_tied_ranks),
        cmocka_unit_test(holm_steps_down_and_keeps_the_order),
        cmocka_unit_test(summary_matches_python),
        cmocka_unit_test(no_catastrophic_cancellation),
        cmocka_unit_test(small_samples),
        cmocka_unit_test(pooled_over_three_seeds),
        cmocka_unit_test(pooled_over_one_seed_repeats_it),
        cmocka_unit_test(incbeta_closed_forms),
        cmocka_unit_test(t_quantiles_match_table),
        cmocka_unit_test(t_quantiles_closed_forms),
        cmocka_unit_test(t_quantiles_large_df_and_limit),
        cmocka_unit_test(normal_quantiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
