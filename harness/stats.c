/* stats: episode and seed summaries, and the Student-t quantile they need.
 *
 * The t quantile is computed from the incomplete beta function,
 *   P(T > t) = ½·I_x(df/2, ½),  x = df/(df + t²),
 * evaluated by its continued fraction (modified Lentz) and inverted by a
 * Newton iteration kept inside a bisection bracket. No tables, no
 * approximations with a fixed accuracy below double precision.
 *
 * Not here: which values form a cell, paired comparisons, I/O. */
#include "harness/stats.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <stddef.h>

/* Neumaier's compensated sum: *sum + *comp is Σv to about one rounding. */
static void sum_add(double *sum, double *comp, double v)
{
    double t = *sum + v;
    if (fabs(*sum) >= fabs(v))
        *comp += (*sum - t) + v;
    else
        *comp += (v - t) + *sum;
    *sum = t;
}

/* Sample std from the second pass of the corrected two-pass algorithm:
 * ss = Σd², c = Σd with d = x − mean; c²/n removes the first-order error
 * left by a rounded mean (Chan, Golub & LeVeque 1983). */
static double two_pass_std(double ss, double c, long n)
{
    double var = (ss - c * c / (double)n) / (double)(n - 1);
    return sqrt(var > 0 ? var : 0);
}

void stats_summarise(const double *x, long n, struct stats_summary *out)
{
    assert(n >= 0 && (n == 0 || x));
    out->n = n;
    out->mean = out->std = out->ci95 = NAN;
    if (n == 0)
        return;
    /* Sum relative to x[0]: values like 1e9 + small then add exactly. */
    double shift = x[0], sum = 0, comp = 0;
    for (long i = 0; i < n; i++)
        sum_add(&sum, &comp, x[i] - shift);
    double mean = shift + (sum + comp) / (double)n;
    out->mean = mean;
    if (n < 2)
        return;
    double ss = 0, c = 0;
    for (long i = 0; i < n; i++) {
        double d = x[i] - mean;
        ss += d * d;
        c += d;
    }
    out->std = two_pass_std(ss, c, n);
    out->ci95 = 1.96 * out->std / sqrt((double)n);
}

void stats_pool_seeds(const struct stats_summary *per_seed, int n_seeds,
                      struct stats_summary *out)
{
    assert(n_seeds >= 0 && (n_seeds == 0 || per_seed));
    const struct stats_summary *only = NULL;
    long s = 0, total = 0;
    double shift = 0, sum = 0, comp = 0;
    for (int i = 0; i < n_seeds; i++) {
        if (per_seed[i].n == 0)
            continue;
        if (s++ == 0) {
            only = &per_seed[i];
            shift = per_seed[i].mean;
        }
        total += per_seed[i].n;
        sum_add(&sum, &comp, per_seed[i].mean - shift);
    }
    if (s <= 1) {
        if (only)
            *out = *only;
        else
            *out = (struct stats_summary){0, NAN, NAN, NAN};
        return;
    }
    double mean = shift + (sum + comp) / (double)s, ss = 0, c = 0;
    for (int i = 0; i < n_seeds; i++) {
        if (per_seed[i].n == 0)
            continue;
        double d = per_seed[i].mean - mean;
        ss += d * d;
        c += d;
    }
    out->n = total;
    out->mean = mean;
    out->std = two_pass_std(ss, c, s);
    out->ci95 = stats_t_quantile(0.975, (double)(s - 1)) * out->std / sqrt((double)s);
}

/* ---- incomplete beta ---- */

/* ln B(a, b). lgamma_r, not lgamma: lgamma writes the global signgam,
 * a data race when workers summarise concurrently. */
static double log_beta(double a, double b)
{
    int sign;
    return lgamma_r(a, &sign) + lgamma_r(b, &sign) - lgamma_r(a + b, &sign);
}

/* Continued fraction of I_x(a, b)·a·B(a,b)/(x^a·y^b) in its reciprocal form
 *   1 + d1/(1 + d2/(1 + …)),
 *   d(2m+1) = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)),
 *   d(2m)   =  m(b−m)x / ((a+2m−1)(a+2m)),
 * evaluated by the modified Lentz method. Converges fast for
 * x < (a+1)/(a+b+2). */
static double incbeta_cf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-16;
    double f = 1, C = 1, D = 0;
    for (int j = 1; j < 100000; j++) {
        int m = j / 2;
        double d = (j % 2)
            ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        D = 1 + d * D;
        D = fabs(D) < tiny ? tiny : D;
        C = 1 + d / C;
        C = fabs(C) < tiny ? tiny : C;
        D = 1 / D;
        f *= C * D;
        if (fabs(C * D - 1) < eps)
            break;
    }
    return f;
}

/* I_x(a, b) given both x and y = 1 − x, so that callers who know y more
 * accurately than 1 − x (the t tail near t = 0) keep it. */
static double incbeta_xy(double a, double b, double x, double y)
{
    if (x <= 0)
        return 0;
    if (y <= 0)
        return 1;
    if (x > (a + 1) / (a + b + 2))
        return 1 - incbeta_xy(b, a, y, x);
    /* Take each logarithm from whichever of x, y is the smaller (exact) one. */
    double log_x = x < 0.5 ? log(x) : log1p(-y);
    double log_y = y < 0.5 ? log(y) : log1p(-x);
    double front = exp(a * log_x + b * log_y - log_beta(a, b)) / a;
    return front / incbeta_cf(a, b, x);
}

double stats_incbeta(double a, double b, double x)
{
    if (!(a > 0 && b > 0 && x >= 0 && x <= 1))
        return NAN;
    return incbeta_xy(a, b, x, 1 - x);
}

/* ---- Student t and normal ---- */

/* P(T > t) for t ≥ 0: ½·I_x(df/2, ½) with x = df/(df+t²), y = t²/(df+t²),
 * written so that neither overflows nor cancels for tiny or huge t. */
static double t_tail(double t, double df)
{
    if (t == 0)
        return 0.5;
    double x, y;
    if (t * t < df) {
        double r = t * t / df;
        x = 1 / (1 + r), y = r / (1 + r);
    } else {
        double r = df / t / t;
        x = r / (1 + r), y = 1 / (1 + r);
    }
    return 0.5 * incbeta_xy(df / 2, 0.5, x, y);
}

static double t_density(double t, double df)
{
    return exp(-(df + 1) / 2 * log1p(t * t / df) - log_beta(df / 2, 0.5)) / sqrt(df);
}

static double normal_tail(double z, double unused)
{
    return 0.5 * erfc(z / sqrt(2.0));
}

static double normal_density(double z, double unused)
{
    return exp(-0.5 * z * z) / sqrt(2 * M_PI);
}

/* The x ≥ 0 with tail(x) = alpha, 0 < alpha < ½, for a decreasing tail
 * with tail(0) = ½ and −tail' = dens: Newton steps, falling back to
 * bisection whenever a step leaves the bracket [lo, hi] known to hold x. */
static double invert_tail(double (*tail)(double, double), double (*dens)(double, double),
                          double df, double alpha)
{
    double lo = 0, hi = 1;
    while (tail(hi, df) > alpha && hi < DBL_MAX / 4)
        lo = hi, hi *= 2;
    double x = 0.5 * (lo + hi);
    for (int it = 0; it < 400; it++) {
        double g = tail(x, df) - alpha;
        if (g == 0)
            return x;
        if (g > 0)
            lo = x;
        else
            hi = x;
        double next = x + g / dens(x, df);
        if (!(next > lo && next < hi))
            next = 0.5 * (lo + hi);
        if (fabs(next - x) <= 1e-14 * next || hi - lo <= 1e-15 * hi)
            return next;
        x = next;
    }
    return x;
}

double stats_t_cdf(double t, double df)
{
    if (!(df > 0) || isnan(t))
        return NAN;
    if (isinf(df))
        return 0.5 * erfc(-t / sqrt(2.0));
    if (isinf(t))
        return t > 0 ? 1 : 0;
    return t >= 0 ? 1 - t_tail(t, df) : t_tail(-t, df);
}

double stats_normal_quantile(double p)
{
    if (!(p > 0 && p < 1))
        return NAN;
    if (p == 0.5)
        return 0;
    double z = invert_tail(normal_tail, normal_density, 0, p < 0.5 ? p : 1 - p);
    return p < 0.5 ? -z : z;
}

/* Cornish–Fisher series of the t quantile in powers of 1/df around the
 * normal quantile z (Abramowitz & Stegun 26.7.5); the first omitted term is
 * below 2/df⁴, so beyond df = 1e4 the series is exact to double precision
 * and avoids ln B(df/2, ½) losing digits to cancellation between lgammas. */
static double t_series(double z, double df)
{
    double z2 = z * z;
    double g1 = (z2 + 1) * z / 4;
    double g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
    double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
    return z + (g1 + (g2 + g3 / df) / df) / df;
}

double stats_t_quantile(double p, double df)
{
    if (!(p > 0 && p < 1) || !(df > 0))
        return NAN;
    if (p == 0.5)
        return 0;
    if (df > 1e4)
        return isinf(df) ? stats_normal_quantile(p) : t_series(stats_normal_quantile(p), df);
    double t = invert_tail(t_tail, t_density, df, p < 0.5 ? p : 1 - p);
    return p < 0.5 ? -t : t;
}

/* ---- tests ---- */

double stats_t_p(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    if (isinf(t))
        return 0;
    return 2 * (1 - stats_t_cdf(fabs(t), df));
}

static int by_abs(const void *a, const void *b)
{
    double x = fabs(*(const double *)a), y = fabs(*(const double *)b);
    return (x > y) - (x < y);
}

double stats_wilcoxon_p(double *d, long n)
{
    long m = 0;
    for (long i = 0; i < n; i++)   /* drop the zero differences */
        if (d[i] != 0 && !isnan(d[i]))
            d[m++] = d[i];
    if (m == 0)
        return NAN;
    qsort(d, (size_t)m, sizeof *d, by_abs);
    double w = 0, ties = 0;
    for (long i = 0; i < m;) {
        long j = i;
        while (j + 1 < m && fabs(d[j + 1]) == fabs(d[i]))
            j++;
        double rank = (double)(i + j + 2) / 2, t = (double)(j - i + 1);   /* ranks i+1..j+1 */
        for (long k = i; k <= j; k++)
            w += d[k] > 0 ? rank : 0;
        ties += t * t * t - t;
        i = j + 1;
    }
    double mm = (double)m;
    double var = mm * (mm + 1) * (2 * mm + 1) / 24 - ties / 48;
    if (!(var > 0))
        return NAN;
    double z = (w - mm * (mm + 1) / 4) / sqrt(var);
    return erfc(fabs(z) / sqrt(2.0));
}

static const double *holm_base;   /* by_p's array: qsort has no context argument */

static int by_p(const void *a, const void *b)
{
    double x = holm_base[*(const int *)a], y = holm_base[*(const int *)b];
    return (x > y) - (x < y);
}

void stats_holm(double *p, int n)
{
    int *order = malloc(sizeof *order * (size_t)(n > 0 ? n : 1)), m = 0;
    if (!order)
        return;
    for (int i = 0; i < n; i++)
        if (!isnan(p[i]))
            order[m++] = i;
    holm_base = p;
    qsort(order, (size_t)m, sizeof *order, by_p);
    holm_base = NULL;
    double run = 0;
    for (int j = 0; j < m; j++) {
        double v = (double)(m - j) * p[order[j]];
        run = fmax(run, v > 1 ? 1 : v);
        p[order[j]] = run;
    }
    free(order);
}
