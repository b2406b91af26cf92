/* pool: threads that run the items of a queue, the calling thread among them.
 *
 * Items are 0..n-1 in queue order; item i may wait for one earlier item
 * (after[i] < i, or -1 for none) and starts only once that one has
 * finished without error. Each free worker takes the first item in queue
 * order that may start, and sleeps while none may but some are running.
 * Workers stop taking items when *stop is set (a signal) or an item fails;
 * the first failure (any code but ERR_STOPPED) raises *stop so the others
 * finish their item and take no more. Workers are numbered 0..jobs-1 for
 * whoever tracks them (the progress line). BLAS stays single-threaded in
 * every worker (blas.h). Not here: what an item is (the runner's
 * pretrainings and blocks of episodes), progress, signals. */
#ifndef KSHOT_POOL_H
#define KSHOT_POOL_H

#include <signal.h>

#include "harness/base/err.h"

/* Run item number item on worker worker; 0, or a code with e filled. */
typedef int (*pool_fn)(void *arg, int item, int worker, struct err *e);

/* Run fn on items 0..n-1 with at most jobs workers (fewer when there are
 * fewer items), item i after item after[i] (after may be NULL: no waits).
 * Returns the first failure's code with its message in *e, or 0 (items
 * stopped by *stop are not failures). */
int pool_run(const int *after, int n, int jobs, pool_fn fn, void *arg,
             volatile sig_atomic_t *stop, struct err *e);

#endif
