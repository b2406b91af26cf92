/* progress: what a run tells the person waiting for it.
 *
 * On a terminal, one live line redrawn twice a second: units done of all,
 * elapsed time, an ETA from the work done (finished episodes of running
 * units count), and what each worker runs now with the episode it is at
 * (several workers may share a unit's episodes). In a log
 * (standard error not a terminal), one line per finished unit. Quiet: none
 * of it. Thread-safe: workers report through it as they go.
 * Not here: the final table (summary), errors (main). */
#ifndef KSHOT_PROGRESS_H
#define KSHOT_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "harness/plan.h"
#include "harness/unit.h"

struct progress;

/* Track total units of plan p worth flops_total estimated operations,
 * run by up to workers workers; starts the live line when tty and not quiet.
 * NULL when out of memory. */
struct progress *progress_new(const struct plan *p, bool quiet, bool tty, int total,
                              uint64_t flops_total, int workers);
/* Worker worker starts work on unit: a pretraining, or an eval unit's
 * episodes from first on (costs c, whose episode count it reads live). */
void progress_start(struct progress *pr, int worker, int unit, const struct unit_costs *c,
                    long first);
/* Worker worker ended that work (its episodes count as done); finished:
 * the unit is complete, after wall seconds secs. */
void progress_end(struct progress *pr, int worker, bool finished, double secs);
/* Units finished so far. */
int progress_done(const struct progress *pr);
/* Stop the live line (drawing it a last time) and free pr; NULL is fine. */
void progress_free(struct progress *pr);

#endif
