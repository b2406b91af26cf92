/* slurm: `kshot slurm` — the submit script that runs an experiment as SLURM jobs.
 *
 * The script is bash for a login node. It calls `sbatch --parsable` up to
 * three times, each job after the one before: an array of pretraining
 * tasks (`kshot run --only pretrain`, left out when the plan has no
 * pretraining), an array of evaluation tasks after it (`--only eval`,
 * --dependency=afterok) and a merge (`kshot merge`, --dependency=afterany,
 * so that it runs and lists what is missing even when a task failed).
 * Each job's script goes to sbatch on standard input with its #SBATCH
 * resources; array tasks take their shard from SLURM's array variables.
 * Jobs are requeue-friendly (--requeue, logs appended): a requeued or
 * resubmitted task reruns the same command, which keeps finished units.
 * Every path and argument is single-quoted for the shell, whatever bytes it
 * holds. Not here: the plan (runner), running anything. */
#ifndef KSHOT_SLURM_H
#define KSHOT_SLURM_H

#include <stdio.h>

#include "harness/base/err.h"

struct slurm_opts {
    int tasks;               /* array tasks per array (0: from the plan) */
    int cpus;                /* --cpus-per-task, and kshot's -j */
    const char *partition, *time, *mem, *account;   /* NULL: the cluster's default */
    const char *out;         /* -o FILE; NULL: standard output */
};

struct slurm_job {
    const char *name;        /* the experiment's name (job names) */
    const char *kshot;       /* absolute paths */
    const char *config;
    const char *results;
    const char *workdir;     /* where relative paths of the config resolve */
    char *const *overrides;
    int n_overrides;
    int pretrain_units, eval_units;   /* units the arrays share out */
};

/* The shard of a SLURM array task: from SLURM_ARRAY_TASK_ID and the
 * array's SLURM_ARRAY_TASK_COUNT, or its _MIN and _MAX (with a step when
 * all three are set). Outside an array (no SLURM_ARRAY_TASK_ID) nothing is
 * set; variables that name no shard are ERR_USAGE, naming them. */
int slurm_array_shard(int *shard_i, int *shard_n, struct err *e);

/* The default array size for a plan: its eval units, at most 32. */
int slurm_default_tasks(int eval_units);

/* Write the submit script for job with o's resources to out. */
int slurm_script(FILE *out, const struct slurm_job *job, const struct slurm_opts *o,
                 struct err *e);

/* s quoted for the shell: '…' with each ' written '\''. */
void slurm_quote(FILE *out, const char *s);

#endif
