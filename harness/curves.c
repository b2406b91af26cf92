/* curves: normalised area under a learning curve, and shots to a threshold. */
#include "harness/curves.h"

#include <math.h>
#include <stdlib.h>

static int by_shots(const void *a, const void *b)
{
    long x = ((const struct curve_point *)a)->shots, y = ((const struct curve_point *)b)->shots;
    return (x > y) - (x < y);
}

double curve_aulc(struct curve_point *p, int n, bool mse, int ways)
{
    if (n < 2 || (!mse && ways < 2))
        return NAN;
    qsort(p, (size_t)n, sizeof *p, by_shots);
    double area = 0, zero = 0;
    for (int i = 0; i + 1 < n; i++) {
        if (p[i].shots == p[i + 1].shots)
            return NAN;
        double dx = log2((double)p[i + 1].shots) - log2((double)p[i].shots);
        area += dx * (p[i].mean + p[i + 1].mean) / 2;
        zero += dx * (p[i].zero + p[i + 1].zero) / 2;
    }
    double span = log2((double)p[n - 1].shots / (double)p[0].shots);
    if (mse)
        return 1 - area / zero;
    double chance = 1.0 / ways;
    return (area / span - chance) / (1 - chance);
}

double curve_shots_to(const struct curve_point *p, int n, bool mse, double threshold)
{
    double best = INFINITY;
    for (int i = 0; i < n; i++)
        if ((mse ? p[i].mean <= threshold : p[i].mean >= threshold) && p[i].shots < best)
            best = (double)p[i].shots;
    return best;
}
