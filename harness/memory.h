/* memory: what a run will hold in memory, and how much it may.
 *
 * The estimate is the process as planned (its peak resident memory after
 * the config and the data are loaded: measured, not guessed), the
 * pretrained networks a run keeps until it ends, and per worker the largest
 * unit's needs: a unit's rows are held as CSV text until its last episode
 * (twice, while its part is joined), beside the network's copies (weights,
 * gradients, optimizer moments), activations (for an inner loop's every
 * step) and a frozen body's feature table of the target split, and the
 * tables kept for the units that share them. The parts are
 * upper estimates: the refusal is meant for what clearly does not fit.
 * The limit is the cgroup's memory.max where one is set (what SLURM's --mem
 * becomes), else the machine's memory. Not here: refusing (runner). */
#ifndef KSHOT_MEMORY_H
#define KSHOT_MEMORY_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "harness/base/err.h"
#include "harness/plan.h"

struct mem_estimate {
    uint64_t base;        /* the process after planning (peak so far) */
    uint64_t models;      /* pretrained networks kept until the run ends */
    uint64_t per_worker;  /* the largest unit's rows, networks, activations, feature table */
    uint64_t rows;        /* the most rows a unit holds (part of its per_worker) */
    uint64_t tables;      /* feature tables kept between units (unit.h's TABLES_KEPT_BYTES at most) */
    uint64_t total;       /* base + models + tables + workers × per_worker */
};

/* The estimate for running plan p's units (those run[i] marks, or every
 * unit when run is NULL) with workers workers. */
void memory_estimate(const struct plan *p, const bool *run, int workers, struct mem_estimate *m);

/* Keep freed blocks of up to 32 MB in the heap for reuse (glibc's mallopt)
 * instead of giving each back to the system and faulting its pages in
 * again on the next allocation — the workspaces and feature tables a unit
 * makes and frees. Does nothing when the environment tunes malloc
 * (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES) or
 * without glibc. */
void memory_keep_heap(void);

/* The memory this process may use, in bytes: the smallest memory.max of
 * its cgroup (v2) and the cgroup's parents, or memory.limit_in_bytes (v1),
 * else the machine's memory. what names the source ("cgroup memory.max",
 * "the machine's memory"). */
uint64_t memory_limit(char *what, size_t cap);

/* ERR_NOMEM with the estimate's parts when m->total exceeds the limit
 * (max, --max-memory in bytes, when not 0; else memory_limit's). */
int memory_check(const struct mem_estimate *m, int workers, uint64_t max, struct err *e);

/* `kshot plan`'s memory line: the estimate, its parts and the limit. */
void memory_print(FILE *out, const struct mem_estimate *m, int workers, uint64_t max);

/* A size as --max-memory takes it: bytes, or a number with K, M, G or T
 * (powers of 1024; a trailing B or iB allowed). ERR_USAGE when it is not one. */
int memory_parse(const char *s, uint64_t *bytes, struct err *e);

#endif
