/* runrec: the run record — a run's provenance and its resolved configuration, as YAML.
 *
 * run.yaml for an unsharded run, run.<I>-of-<N>.yaml for shard I of N (and
 * run.<only>.… for --only pretrain|eval), so no shard's record overwrites
 * another's. The record lists the units the run computed itself
 * (`computed:`) and those of its share it found done (`reused:`), and under
 * SLURM the job and array task it ran as; `binary:` names the executable and
 * the CRC-32 of its bytes, so that merge can refuse units of two binaries. Written atomically (fsutil's
 * afile) when a run starts and again when it ends, through kshot's YAML
 * emitter: what it writes reads back as what was run, whatever bytes the
 * command line held (bytes that are not UTF-8 read back as U+0080…U+00FF).
 * Not here: deciding the status (runner), the configuration's meaning. */
#ifndef KSHOT_RUNREC_H
#define KSHOT_RUNREC_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/base/err.h"
#include "harness/blas.h"
#include "harness/plan.h"
#include "harness/yamltree.h"

/* What a run did with each of its units (runrec.outcome). */
enum unit_outcome { OUTCOME_NONE, OUTCOME_COMPUTED, OUTCOME_REUSED };

struct runrec {
    int argc;                       /* the command line */
    char *const *argv;
    char started[64], finished[64]; /* UTC ISO 8601; finished "" while running */
    const char *status;             /* running, done, stopped, failed */
    const char *error;              /* the message when stopped or failed, else NULL */
    const struct blas_info *blas;
    int workers;
    int shard_i, shard_n;
    const char *only;               /* "pretrain", "eval", or NULL for both */
    const char *shard_from;         /* "--shard", "slurm" (the array's variables) or NULL */
    const signed char *outcome;     /* (plan->n_units) enum unit_outcome, or NULL */
    const struct plan *plan;        /* variants and the data they read */
    const struct yt_doc *config;    /* the resolved configuration */
};

/* dir/run.yaml, dir/run.<I>-of-<N>.yaml for a shard, and with --only
 * dir/run.<only>.yaml or dir/run.<only>.<I>-of-<N>.yaml. */
void runrec_path(const char *dir, const char *only, int shard_i, int shard_n, char *buf,
                 size_t cap);

/* This executable's path and the CRC-32 of its bytes (8 hex digits, or
 * "unknown"): which binary computed a run's units (`binary:` in the record). */
void runrec_binary(char *path, size_t path_cap, char *crc, size_t crc_cap);

/* Is name (a file name in a results directory) a run record: run.yaml or
 * run.<…>.yaml? */
bool runrec_is_record(const char *name);

/* The current UTC time as runrec's timestamps read. */
void runrec_now(char *buf, size_t cap);

/* Write r's record into dir (peak memory is read now). */
int runrec_write(const char *dir, const struct runrec *r, struct err *e);

#endif
