/* meter: the clocks and the memory figure that costs, progress and run
 * records report — wall seconds, this thread's CPU seconds, and the
 * process's peak resident memory. */
#ifndef KSHOT_METER_H
#define KSHOT_METER_H

/* Seconds on the monotonic clock (differences only mean something). */
double meter_wall(void);
/* CPU seconds of the calling thread so far. */
double meter_thread_cpu(void);
/* Peak resident memory of the process so far, in kB (0 if unknown). */
long meter_peak_kb(void);

#endif
