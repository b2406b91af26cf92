/* energy: the joules a unit cost — measured from the CPU packages' RAPL
 * energy counters (Linux powercap) when they are readable, otherwise
 * estimated from CPU time — and which of the two it is.
 *
 * Measured ("rapl"): the counters of every top-level powercap zone under
 * the root whose name is intel-rapl:N (one per package; AMD's RAPL appears
 * under the same name), read in µJ from energy_uj, a decrease taken as one
 * wrap of max_energy_range_uj. A counter is the whole package's energy, so a
 * piece of work that ran on one thread between two marks is given the
 * package energy between them times its share of this process's CPU time
 * over the same interval (thread CPU / process CPU, at most 1): several
 * workers split the package's energy by the CPU time each used, and other
 * processes on the machine are not charged to kshot beyond that share of
 * its own interval (their draw while kshot runs is, in part: a package
 * counter cannot tell them apart).
 *
 * Estimated ("estimate"): CPU seconds × watts_per_core (energy.watts_per_core,
 * default 10 W), never a measurement; used when no counter can be read
 * (most virtual machines, and these ones: /sys/class/powercap readable only
 * by root, or absent). */
#ifndef KSHOT_ENERGY_H
#define KSHOT_ENERGY_H

#include <stdbool.h>
#include <stdint.h>

#define ENERGY_MAX_ZONES 16

struct energy_meter {
    int n;                                   /* readable package zones (0: estimate) */
    char path[ENERGY_MAX_ZONES][512];        /* each zone's energy_uj */
    uint64_t range[ENERGY_MAX_ZONES];        /* each zone's max_energy_range_uj */
    double watts_per_core;                   /* for the estimate */
};

struct energy_mark {
    uint64_t uj[ENERGY_MAX_ZONES];
    double process_cpu;                      /* CPU seconds of the whole process */
    bool ok;                                 /* every zone was read */
};

/* Find the package zones under root (e.g. /sys/class/powercap) whose
 * counters can be read now; none means every piece is estimated. */
void energy_open(struct energy_meter *m, const char *root, double watts_per_core);

/* The counters and the process's CPU time now. */
void energy_mark(const struct energy_meter *m, struct energy_mark *out);

/* Joules of work that used cpu_s seconds of one thread's CPU between marks
 * a and b; *measured says whether they come from the counters. */
double energy_joules(const struct energy_meter *m, const struct energy_mark *a,
                     const struct energy_mark *b, double cpu_s, bool *measured);

/* The method's name in costs.csv: "rapl" or "estimate". */
const char *energy_method(bool measured);

#endif
