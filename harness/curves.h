/* curves: a learner's metric over the shot counts of a target — sample
 * efficiency as one number per curve.
 *
 * A curve is the mean of the target's primary metric (accuracy, or MSE) at
 * each evaluated shot count K, for one learner, step, probe and seed. The
 * area under it is taken over log2 K, so doubling the examples counts the
 * same anywhere on the curve:
 *
 *   area = Σ_i (log2 K_{i+1} − log2 K_i)·(m_i + m_{i+1})/2 / log2(K_max/K_min)
 *
 *   aulc = (area − chance)/(1 − chance), chance = 1/ways   (accuracy: 0 is
 *          chance, 1 perfect at every K)
 *   aulc = 1 − area/area₀, area₀ the same area of predicting zero (MSE: 0 is
 *          no better than predicting zero, 1 perfect)
 *
 * Comparable only between curves of identical shot lists. shots_to reads
 * the curve the other way: the smallest K whose mean reaches a threshold
 * (at least it for accuracy, at most it for MSE). Not here: grouping
 * summary rows into curves (summary.c), statistics over seeds (stats). */
#ifndef KSHOT_CURVES_H
#define KSHOT_CURVES_H

#include <stdbool.h>

struct curve_point {
    long shots;     /* K ≥ 1 */
    double mean;    /* the metric's mean at K */
    double zero;    /* MSE: the mean MSE of predicting zero at K (else unused) */
};

/* The normalised area of points p[0..n) (sorted here by shots, in place):
 * accuracy with ways ≥ 2 classes, or MSE when mse. NaN when n < 2 or the
 * shots are not distinct. */
double curve_aulc(struct curve_point *p, int n, bool mse, int ways);

/* The smallest shots of p[0..n) whose mean reaches threshold (≥ for
 * accuracy, ≤ for MSE); INFINITY when none does. */
double curve_shots_to(const struct curve_point *p, int n, bool mse, double threshold);

#endif
