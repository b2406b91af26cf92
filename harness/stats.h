/* stats: the summary statistics of summary.csv — mean, std, ci95, per seed and pooled.
 *
 * Per seed, over episodes (the few-shot literature's convention):
 *   mean = Σx/n, std = sample standard deviation (divisor n − 1),
 *   ci95 = 1.96·std/√n.
 * Pooled over s seeds (DESIGN.md "Outputs"): episodes that share a
 * pretrained network are not independent, so the interval is a Student-t
 * interval over the s seed means, with s − 1 degrees of freedom.
 *
 * Values that do not apply are NaN here: std and ci95 when n < 2, and all
 * three when n = 0. The CSV writer prints NaN as an empty field
 * (csvout_f32/csvout_f64), which is how summary.csv leaves them empty.
 *
 * Deliberately not here: grouping rows into cells, paired tests between
 * learners (compare), anything that reads or writes files. */
#ifndef KSHOT_STATS_H
#define KSHOT_STATS_H

struct stats_summary {
    long n;        /* number of values summarised (episodes; pooled: all seeds' episodes) */
    double mean;   /* NaN when n = 0 */
    double std;    /* sample std, n − 1 divisor; NaN when n < 2 (see pooled rules) */
    double ci95;   /* half-width of the 95% interval; NaN when std is */
};

/* ---- summaries ---- */

/* Summarise x[0..n), n ≥ 0. The values should be finite (a NaN or inf
 * makes mean and std NaN/inf). Numerically stable: the mean is accumulated
 * relative to x[0] and the variance by the corrected two-pass formula, so
 * values like 1e9 + small keep their spread. */
void stats_summarise(const double *x, long n, struct stats_summary *out);

/* Pool per-seed summaries into the `seed = all` row. Seeds with n = 0
 * carry no mean and are skipped; let s be the number of the others.
 *   s = 0:  n = 0, mean = std = ci95 = NaN.
 *   s = 1:  out is that seed's row, field for field (n, mean, std, ci95).
 *   s ≥ 2:  n    = Σ n_i, the total number of episodes;
 *           mean = the unweighted mean of the s seed means;
 *           std  = the sample std (divisor s − 1) of the s seed means —
 *                  the spread between seeds, not between episodes;
 *           ci95 = t_{0.975, s−1}·std/√s, half-width of the t-interval for
 *                  the mean over seeds. */
void stats_pool_seeds(const struct stats_summary *per_seed, int n_seeds,
                      struct stats_summary *out);

/* ---- distributions ---- */

/* Regularised incomplete beta function I_x(a, b), a > 0, b > 0,
 * 0 ≤ x ≤ 1 (continued fraction, relative accuracy ~1e-14); NaN outside. */
double stats_incbeta(double a, double b, double x);

/* Student-t distribution function P(T ≤ t) with df > 0 degrees of freedom
 * (df may be non-integer or INFINITY, which gives the normal). */
double stats_t_cdf(double t, double df);

/* Quantile t with P(T ≤ t) = p, 0 < p < 1, df > 0; accurate to 1e-10
 * relative. Beyond df = 1e4 it uses the asymptotic series in 1/df (A&S
 * 26.7.5, error < 1e-15), and df = INFINITY gives the normal quantile.
 * NaN when p or df is out of range. */
double stats_t_quantile(double p, double df);

/* Standard normal quantile z with Φ(z) = p, 0 < p < 1; NaN outside. */
double stats_normal_quantile(double p);

/* ---- tests ---- */

/* Two-sided p-value of Student's t statistic t with df degrees of freedom:
 * 2·P(T ≥ |t|); NaN when t or df is. */
double stats_t_p(double t, double df);

/* Two-sided p-value of the Wilcoxon signed-rank test of d[0..n) against a
 * median of 0: zero differences dropped, tied |d| given their average rank,
 * W+ the sum of the positive differences' ranks, and the normal
 * approximation with the tie correction,
 *   z = (W+ − m(m+1)/4) / √(m(m+1)(2m+1)/24 − Σ(t³ − t)/48),
 * m the non-zero differences and t each group of tied |d|'s size (no
 * continuity correction). NaN when m = 0 or the variance is 0. d is
 * reordered. */
double stats_wilcoxon_p(double *d, long n);

/* Holm's step-down adjustment of p[0..n) in place (NaN entries are left
 * out and stay NaN): sorted ascending, the i-th (0-based) of m becomes
 * max over j ≤ i of min(1, (m − j)·p_(j)). */
void stats_holm(double *p, int n);

#endif
