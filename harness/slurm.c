/* slurm: the submit script — three chained sbatch calls, every word quoted. */
#include "harness/slurm.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int slurm_array_shard(int *shard_i, int *shard_n, struct err *e)
{
    const char *id_s = getenv("SLURM_ARRAY_TASK_ID");
    if (!id_s)
        return ERR_OK;
    const char *vars[] = {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT",
                          "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX"};
    long v[4];
    bool set[4];
    for (int k = 0; k < 4; k++) {
        const char *t = getenv(vars[k]);
        char *end;
        set[k] = t && t[0];
        v[k] = set[k] ? strtol(t, &end, 10) : 0;
        if (set[k] && (*end || v[k] < 0 || v[k] > (1L << 20)))
            return err_set(e, ERR_USAGE, "%s=%s: expected a number from 0 to %ld", vars[k], t,
                           1L << 20);
    }
    long id = v[0], count = v[1], min = v[2], max = v[3], index = -1, n = 0;
    if (set[1] && set[2] && set[3] && count > 1 && max > min) {   /* --array=MIN-MAX[:STEP] */
        long step = (max - min) / (count - 1);
        if (step > 0 && (max - min) % (count - 1) == 0 && (id - min) % step == 0)
            index = (id - min) / step, n = count;
    } else if (set[1] && set[2]) {
        index = id - min, n = count;
    } else if (set[2] && set[3]) {
        index = id - min, n = max - min + 1;
    } else if (set[1]) {
        index = id, n = count;
    }
    if (n < 1 || index < 0 || index >= n)
        return err_set(e, ERR_USAGE, "cannot tell this array task's shard from SLURM_ARRAY_TASK_ID"
                       "=%ld (COUNT %s, MIN %s, MAX %s); submit --array=0-N with an even step, or "
                       "give --shard I/N", id, set[1] ? getenv(vars[1]) : "unset",
                       set[2] ? getenv(vars[2]) : "unset", set[3] ? getenv(vars[3]) : "unset");
    *shard_i = (int)index, *shard_n = (int)n;
    return ERR_OK;
}

int slurm_default_tasks(int eval_units)
{
    return eval_units < 1 ? 1 : eval_units < 32 ? eval_units : 32;
}

void slurm_quote(FILE *out, const char *s)
{
    fputc('\'', out);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", out);
        else
            fputc(*s, out);
    fputc('\'', out);
}

/* A job name from the experiment's: letters, digits, '.', '_' and '-'. */
static void job_name(char *buf, size_t cap, const char *name, const char *what)
{
    snprintf(buf, cap, "kshot-%s-%s", name, what);
    for (char *c = buf; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-')
            *c = '_';
}

/* The #SBATCH lines every job shares, then its own name and log. */
static void sbatch_header(FILE *out, const struct slurm_job *j, const struct slurm_opts *o,
                          const char *what, int cpus)
{
    char name[256];
    job_name(name, sizeof name, j->name, what);
    fprintf(out, "#!/bin/bash\n#SBATCH --job-name=%s\n", name);
    /* #SBATCH lines are not shell words: a path with a space or a quote
     * cannot be written there, so chdir and the log go on sbatch's command
     * line (quoted) instead; the resources are plain tokens */
    fprintf(out, "#SBATCH --cpus-per-task=%d\n#SBATCH --ntasks=1\n", cpus);
    if (o->partition)
        fprintf(out, "#SBATCH --partition=%s\n", o->partition);
    if (o->time)
        fprintf(out, "#SBATCH --time=%s\n", o->time);
    if (o->mem)
        fprintf(out, "#SBATCH --mem=%s\n", o->mem);
    if (o->account)
        fprintf(out, "#SBATCH --account=%s\n", o->account);
    fprintf(out, "#SBATCH --requeue\n#SBATCH --open-mode=append\n");
}

/* `kshot run CONFIG OVERRIDES -o RESULTS -q -j C --only what`, quoted. */
static void run_command(FILE *out, const struct slurm_job *j, const struct slurm_opts *o,
                        const char *only)
{
    fputs("exec ", out);
    slurm_quote(out, j->kshot);
    fputs(" run ", out);
    slurm_quote(out, j->config);
    for (int i = 0; i < j->n_overrides; i++) {
        fputc(' ', out);
        slurm_quote(out, j->overrides[i]);
    }
    fputs(" -o ", out);
    slurm_quote(out, j->results);
    fprintf(out, " -q -j %d --only %s\n", o->cpus, only);
}

/* A resource value goes into #SBATCH lines unquoted: refuse what would
 * change their meaning. */
static int check_token(const char *flag, const char *v, struct err *e)
{
    for (const char *c = v; c && *c; c++)
        if (isspace((unsigned char)*c) || *c == '#' || *c == '\'' || *c == '"' || *c == '\\' ||
            !isprint((unsigned char)*c))
            return err_set(e, ERR_USAGE, "slurm: %s '%s': expected one word without spaces, "
                           "quotes or '#'", flag, v);
    return ERR_OK;
}

/* A word of the job scripts: any byte but a line break, which would end
 * the here-document that carries the script. */
static int check_word(const char *what, const char *v, struct err *e)
{
    if (strchr(v, '\n') || strchr(v, '\r'))
        return err_set(e, ERR_USAGE, "slurm: the %s '%s' holds a line break; a submit script "
                       "cannot carry it", what, v);
    return ERR_OK;
}

int slurm_script(FILE *out, const struct slurm_job *j, const struct slurm_opts *o, struct err *e)
{
    const char *const words[][2] = {{"path", j->kshot}, {"config path", j->config},
                                    {"results directory", j->results},
                                    {"working directory", j->workdir}};
    const char *const tokens[][2] = {{"--partition", o->partition}, {"--time", o->time},
                                     {"--mem", o->mem}, {"--account", o->account}};
    int rc = ERR_OK;
    for (size_t i = 0; !rc && i < sizeof words / sizeof words[0]; i++)
        rc = check_word(words[i][0], words[i][1], e);
    for (int i = 0; !rc && i < j->n_overrides; i++)
        rc = check_word("override", j->overrides[i], e);
    for (size_t i = 0; !rc && i < sizeof tokens / sizeof tokens[0]; i++)
        rc = check_token(tokens[i][0], tokens[i][1], e);
    if (rc)
        return rc;
    int tasks = o->tasks > 0 ? o->tasks : slurm_default_tasks(j->eval_units);
    int pre = j->pretrain_units < tasks ? j->pretrain_units : tasks;
    int ev = j->eval_units < tasks ? j->eval_units : tasks;
    if (ev < 1)
        ev = 1;
    char when[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);

    fprintf(out,
            "#!/usr/bin/env bash\n"
            "# Submit script for the kshot experiment '%s', written by `kshot slurm` at %s.\n"
            "# Run it on a login node: bash THIS_FILE. It submits, each after the one before:\n",
            j->name, when);
    if (pre > 0)
        fprintf(out, "#   1. the pretraining: an array of %d task%s (%d pretrain unit%s), "
                "kshot run --only pretrain\n", pre, pre == 1 ? "" : "s", j->pretrain_units,
                j->pretrain_units == 1 ? "" : "s");
    fprintf(out,
            "#   2. the evaluation: an array of %d task%s (%d eval unit%s), kshot run --only "
            "eval%s\n"
            "#   3. the merge: kshot merge, after the evaluation ended however (afterany), so\n"
            "#      it lists what is missing when a task failed\n"
            "# Array tasks take their shard from SLURM_ARRAY_TASK_ID. A requeued or resubmitted\n"
            "# task keeps the units that are done; running this script again after a failure\n"
            "# computes only what is missing. Logs: <results>/slurm/.\n"
            "set -euo pipefail\n\n",
            ev, ev == 1 ? "" : "s", j->eval_units, j->eval_units == 1 ? "" : "s",
            pre > 0 ? ", after 1 succeeded (afterok)" : "");
    fputs("results=", out);
    slurm_quote(out, j->results);
    fputs("\nworkdir=", out);
    slurm_quote(out, j->workdir);
    fputs("\nmkdir -p \"$results/slurm\"\n"
          "# sbatch --parsable prints JOBID or JOBID;CLUSTER\n"
          "submit() { local id; id=$(sbatch --parsable --chdir=\"$workdir\" \"$@\"); "
          "echo \"${id%%;*}\"; }\n\n", out);

    if (pre > 0) {
        fprintf(out, "pretrain=$(submit --array=0-%d --output=\"$results/slurm/pretrain-%%A_%%a.out\" "
                "<<'KSHOT_JOB'\n", pre - 1);
        sbatch_header(out, j, o, "pretrain", o->cpus);
        run_command(out, j, o, "pretrain");
        fputs("KSHOT_JOB\n)\n", out);
    }
    fprintf(out, "evaluate=$(submit --array=0-%d %s--output=\"$results/slurm/eval-%%A_%%a.out\" "
            "<<'KSHOT_JOB'\n", ev - 1, pre > 0 ? "--dependency=afterok:\"$pretrain\" " : "");
    sbatch_header(out, j, o, "eval", o->cpus);
    run_command(out, j, o, "eval");
    fputs("KSHOT_JOB\n)\n", out);
    fputs("merge=$(submit --dependency=afterany:\"$evaluate\" "
          "--output=\"$results/slurm/merge-%j.out\" <<'KSHOT_JOB'\n", out);
    sbatch_header(out, j, o, "merge", 1);
    fputs("exec ", out);
    slurm_quote(out, j->kshot);
    fputs(" merge ", out);
    slurm_quote(out, j->results);
    fputs("\nKSHOT_JOB\n)\n\n", out);
    fprintf(out, "echo \"submitted: %sevaluation $evaluate, merge $merge\"\n"
            "echo \"results: $results (when job $merge ends: kshot compare $results)\"\n"
            "echo \"$merge\" > \"$results/slurm/merge.jobid\"\n",
            pre > 0 ? "pretraining $pretrain, " : "");
    if (ferror(out))
        return err_set(e, ERR_IO, "cannot write the submit script: %s", strerror(errno));
    return ERR_OK;
}
