/* benchutil: what every benchmark reports — a median of repeated runs. */
#ifndef KSHOT_BENCHUTIL_H
#define KSHOT_BENCHUTIL_H

#include <stdlib.h>

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (v is sorted in place, so v[0] is then the least). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp);
    return v[n / 2];
}

#endif
