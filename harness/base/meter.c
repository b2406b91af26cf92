/* meter: clock_gettime, /proc/self/status and getrusage, in the units kshot reports. */
#include "harness/base/meter.h"

#include <stdio.h>
#include <string.h>
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

/* Linux's VmHWM, the high-water mark of this program's own memory: it
 * starts afresh at exec. getrusage's ru_maxrss does not — Linux carries the
 * parent's peak over fork and exec, so a kshot started by a 400 MB Python
 * script would report 400 MB — and is only the fallback where /proc is not. */
long meter_peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long kb = -1;
        while (kb < 0 && fgets(line, sizeof line, f))
            if (strncmp(line, "VmHWM:", 6) == 0 && sscanf(line + 6, "%ld", &kb) != 1)
                kb = -1;
        fclose(f);
        if (kb >= 0)
            return kb;
    }
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}
