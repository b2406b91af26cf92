/* meter: clock_gettime and getrusage, in the units kshot reports. */
#include "harness/base/meter.h"

#include <sys/resource.h>
#include <time.h>

static double seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double meter_wall(void)
{
    return seconds(CLOCK_MONOTONIC);
}

double meter_thread_cpu(void)
{
    return seconds(CLOCK_THREAD_CPUTIME_ID);
}

long meter_peak_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}
