/* runner: `kshot run` and `kshot plan` — load, plan, run the units a pool of workers, rebuild results.
 *
 * Workers are threads, each with single-threaded BLAS, pulling units from
 * one queue: pretrain units first, then eval units. A unit's numbers depend
 * only on its id's inputs, never on the worker or the order, so any -j and
 * any --shard give the same files. SIGINT/SIGTERM (from the start, data
 * loading included) stop the workers between minibatches or episodes;
 * finished units are already on disk, so the run exits with status 3 and
 * the same command finishes the rest; a second signal ends the process at
 * once. A checkpoint that an unfinished unit needs and that cannot be read
 * back (truncated, corrupted) makes its pretraining not done: it is
 * recomputed, after a warning naming the file. run.yaml is rewritten
 * atomically at the start and the end, with the status (running, done,
 * stopped, failed) and the error.
 *
 * Runs that share a results directory (shards, SLURM array tasks) compute
 * each unit once: a unit is computed under its lock (parts/<id>.lock), and
 * whoever waited for it finds it done. Inside a SLURM array task without
 * --shard, the shard is taken from SLURM_ARRAY_TASK_ID with
 * SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MIN/MAX. Every run writes
 * units.csv, from which a complete run — or `kshot merge` — rebuilds the
 * combined files. */
#ifndef KSHOT_RUNNER_H
#define KSHOT_RUNNER_H

#include <stdbool.h>

#include "harness/base/err.h"

enum run_only { RUN_ONLY_ALL, RUN_ONLY_PRETRAIN, RUN_ONLY_EVAL };

struct run_opts {
    const char *config;     /* experiment file */
    char **overrides;       /* KEY=VALUE */
    int n_overrides;
    const char *out_dir;    /* -o; NULL: output.dir or results/<name> */
    int jobs;               /* workers; 0: the number of CPUs */
    bool quiet;             /* -q: no progress, no table */
    int shard_i, shard_n;   /* --shard I/N; N = 1: everything */
    bool shard_given;       /* --shard was given (else SLURM's array variables, if set) */
    int only;               /* enum run_only: --only pretrain|eval */
    bool fresh;             /* --fresh: start the results directory over */
    unsigned long long max_memory;   /* --max-memory in bytes; 0: the cgroup's or machine's */
    int argc;               /* the command line, for run.yaml */
    char **argv;
};

void runner_defaults(struct run_opts *o);

int runner_run(const struct run_opts *o, struct err *e);

struct slurm_opts;

/* `kshot slurm`: the submit script for o's experiment (slurm.h). */
int runner_slurm(const struct run_opts *o, const struct slurm_opts *so, struct err *e);

/* Validate and print the units without running anything. */
int runner_plan(const struct run_opts *o, struct err *e);

#endif
