/* runner: orchestration of a run — setup, signals, which units this run
 * computes (shards, finished work, shared units), the pool, the records. */
#define _GNU_SOURCE   /* sched_getaffinity: the CPUs this process may use */
#include "harness/runner.h"

#include <errno.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/base/fsutil.h"
#include "harness/base/lockfile.h"
#include "harness/base/meter.h"
#include "harness/blas.h"
#include "harness/config.h"
#include "harness/plan.h"
#include "harness/plot.h"
#include "harness/pool.h"
#include "harness/memory.h"
#include "harness/merge.h"
#include "harness/progress.h"
#include "harness/results.h"
#include "harness/runrec.h"
#include "harness/slurm.h"
#include "harness/summary.h"
#include "harness/unit.h"
#include "harness/unitlist.h"
#include "harness/yamltree.h"
#include "learners/ckpt.h"
#include "learners/gemm.h"

/* Workers poll stop_flag between minibatches and episodes; it is raised by
 * SIGINT/SIGTERM (which also count in signals) or by a failing worker. */
static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t signals;

/* The first signal asks for a clean stop; a second one (an impatient ^C)
 * ends the process at once, as if no handler were installed: finished
 * units are on disk either way, at worst a temporary file stays behind. */
static void on_signal(int sig)
{
    if (signals) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    signals = 1;
    stop_flag = 1;
}

struct handlers {
    struct sigaction old_int, old_term, old_xfsz;
};

static void handlers_install(struct handlers *h)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;   /* file writes in flight complete, never EINTR */
    stop_flag = 0, signals = 0;
    sigaction(SIGINT, &sa, &h->old_int);
    sigaction(SIGTERM, &sa, &h->old_term);
    /* past a file-size limit a write then fails with EFBIG, which names the
     * file, instead of the signal killing the run */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGXFSZ, &sa, &h->old_xfsz);
}

static void handlers_restore(const struct handlers *h)
{
    sigaction(SIGINT, &h->old_int, NULL);
    sigaction(SIGTERM, &h->old_term, NULL);
    sigaction(SIGXFSZ, &h->old_xfsz, NULL);
}

void runner_defaults(struct run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->shard_n = 1;
}

/* ---- setup shared by run and plan ---- */

struct setup {
    struct blas_info blas;
    struct experiment base;
    struct yt_doc doc;
    struct plan plan;
    char dir[4096];
};

static void setup_free(struct setup *s)
{
    plan_free(&s->plan);
    config_free(&s->base);
    yt_free(&s->doc);
}

static int check_blas(struct setup *s, bool quiet, struct err *e)
{
    blas_single_thread();
    blas_query(&s->blas);
    char warn[512];
    blas_note(&s->blas, warn, sizeof warn);
    if (warn[0] && !quiet)
        fprintf(stderr, "kshot: %s\n", warn);
    if (!quiet)
        fprintf(stderr, "kshot: BLAS: OpenBLAS, core %s, 1 thread per worker%s%s\n",
                s->blas.core, s->blas.xsmm[0] ? "; small products: libxsmm, target " : "",
                s->blas.xsmm);
    return blas_selftest(NULL, e);
}

/* The generic-core warning, with the better core's speed-up when gain
 * measured it (not when quiet: it takes a tenth of a second, which setup
 * overlaps with loading the experiment). */
static void warn_blas(const struct setup *s, struct blas_gain *gain)
{
    char warn[512];
    blas_warning(&s->blas, blas_gain_finish(gain), warn, sizeof warn);
    if (warn[0])
        fprintf(stderr, "kshot: %s\n", warn);
}

static int count_cpus(void);

/* The workers a run asks for: -j, else the CPUs it may use. */
static int jobs_of(const struct run_opts *o)
{
    return o->jobs > 0 ? o->jobs : count_cpus();
}

static int setup(struct setup *s, const struct run_opts *o, struct err *e)
{
    memset(s, 0, sizeof *s);
    int rc = check_blas(s, o->quiet, e);
    struct blas_gain *gain = rc || o->quiet ? NULL : blas_gain_start(&s->blas);
    if (!rc)
        rc = config_load(o->config, o->overrides, o->n_overrides, &s->base, &s->doc, e);
    if (!rc)
        rc = plan_variants(&s->plan, &s->doc, &s->base, e);
    if (!rc)
        rc = plan_prepare(&s->plan, jobs_of(o), e);
    if (!rc)
        rc = plan_build(&s->plan, s->blas.kernels, e);
    const char *dir = o->out_dir ? o->out_dir : s->base.output_dir ? s->base.output_dir : "";
    if (!rc && strlen(dir) >= sizeof s->dir)
        rc = err_set(e, ERR_USAGE, "the results directory's path is %zu bytes long; at most %zu",
                     strlen(dir), sizeof s->dir - 1);
    if (!rc)
        snprintf(s->dir, sizeof s->dir, "%s", dir);
    if (!rc && !s->dir[0])
        snprintf(s->dir, sizeof s->dir, "results/%s", s->base.name);
    warn_blas(s, gain);
    return rc;
}

/* Refuse up front a run whose memory estimate exceeds its limit. */
static int check_memory(const struct setup *s, const struct run_opts *o, const bool *run,
                        int workers, struct err *e)
{
    struct mem_estimate m;
    memory_estimate(&s->plan, run, workers, &m);
    return memory_check(&m, workers, o->max_memory, e);
}

int runner_plan(const struct run_opts *o, struct err *e)
{
    struct setup s;
    int rc = setup(&s, o, e);
    if (!rc) {
        plan_print(&s.plan, stdout, blas_rate(false));
        char why[160];
        int base = config_baseline(&s.base, why, sizeof why);
        if (base >= 0)
            printf("transfer gains (summary.csv) against learner %s\n", s.base.learners[base].name);
        else
            printf("no transfer_gain rows in summary.csv: %s\n", why);
        printf("results directory: %s\n", s.dir);
        int workers = jobs_of(o);
        struct mem_estimate m;
        memory_estimate(&s.plan, NULL, workers, &m);
        memory_print(stdout, &m, workers, o->max_memory);
    }
    setup_free(&s);
    return rc;
}

/* An absolute form of path (which need not exist yet) into buf. */
static int absolute(const char *path, char *buf, size_t cap, struct err *e)
{
    char cwd[4096];
    int n;
    if (path[0] == '/') {
        n = snprintf(buf, cap, "%s", path);
    } else {
        if (!getcwd(cwd, sizeof cwd))
            return err_set(e, ERR_IO, "cannot tell the current directory: %s", strerror(errno));
        n = snprintf(buf, cap, "%s/%s", cwd, path);
    }
    if (n < 0 || (size_t)n >= cap)
        return err_set(e, ERR_USAGE, "%s: the path is too long (at most %zu bytes as an absolute path)",
                       path, cap - 1);
    return ERR_OK;
}

int runner_slurm(const struct run_opts *o, const struct slurm_opts *so, struct err *e)
{
    struct setup s;
    int rc = setup(&s, o, e);
    char exe[4096], config[4096], results[4200], workdir[4096];
    ssize_t n = rc ? 0 : readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (!rc && n <= 0)
        rc = err_set(e, ERR_IO, "cannot tell kshot's own path: %s", strerror(errno));
    else if (!rc)
        exe[n] = '\0';
    if (!rc && !realpath(o->config, config))
        rc = err_set(e, ERR_IO, "%s: %s", o->config, strerror(errno));
    if (!rc)
        rc = absolute(s.dir, results, sizeof results, e);
    if (!rc)
        rc = absolute(".", workdir, sizeof workdir, e);
    if (rc) {
        setup_free(&s);
        return rc;
    }
    workdir[strlen(workdir) - 2] = '\0';   /* without its "/." */
    struct slurm_job job = {.name = s.base.name, .kshot = exe, .config = config,
                            .results = results, .workdir = workdir,
                            .overrides = o->overrides, .n_overrides = o->n_overrides};
    for (int i = 0; i < s.plan.n_units; i++) {
        const struct unit *u = &s.plan.units[i];
        job.pretrain_units += u->kind == UNIT_PRETRAIN;
        job.eval_units += u->kind == UNIT_EVAL && u->same_as < 0;
    }
    struct afile f = {0};
    FILE *out = stdout;
    if (so->out && !(rc = afile_open(&f, so->out, e)))
        out = f.fp;
    if (!rc)
        rc = slurm_script(out, &job, so, e);
    if (so->out && f.fp) {
        if (!rc && fchmod(fileno(f.fp), 0755) != 0)
            rc = err_set(e, ERR_IO, "%s: cannot make it executable: %s", so->out, strerror(errno));
        if (rc)
            afile_abort(&f);
        else
            rc = afile_commit(&f, e);
    }
    if (!rc && so->out && !o->quiet)
        fprintf(stderr, "kshot: wrote %s: %d pretrain and %d eval units for SLURM arrays; submit "
                "with: bash %s\n", so->out, job.pretrain_units, job.eval_units, so->out);
    setup_free(&s);
    return rc;
}

/* ---- computing units ---- */

/* What the pool runs: a pretraining, the preparation of an eval unit (its
 * feature table), or a block of an eval unit's episodes. */
enum task_kind { TASK_PRETRAIN, TASK_PREPARE, TASK_BLOCK };

struct task {
    enum task_kind kind;
    int unit;
    int block;                     /* TASK_BLOCK: its number in the unit */
    long first, end;               /* TASK_BLOCK: episodes */
};

/* An eval unit under way: what its blocks share and hand in. */
struct eval_run {
    struct eval_job *job;
    int blocks, ended;             /* blocks, and how many have ended */
    bool failed;                   /* a block failed or stopped: the unit has no part */
    char **rows;                   /* (blocks) each block's rows */
    struct unit_costs c;           /* the unit's costs so far (episodes unused) */
    double t0;                     /* when its first task started */
    struct lockfile lock;          /* held from its preparation to its part */
    bool reused;                   /* another process finished it meanwhile */
};

/* What every worker shares while units run. */
struct run {
    const struct plan *p;
    const char *dir;
    struct pretrained *models;     /* (n_units) what pretrain units made, by unit index */
    bool *redo;                    /* (n_units) done, but its checkpoint is unreadable */
    struct eval_run *evals;        /* (n_units) eval units under way */
    struct table_cache *tables;    /* feature tables the eval units share */
    const struct task *tasks;
    pthread_mutex_t lock;          /* models, evals, outcome */
    struct progress *pr;
    struct energy_meter em;        /* how every unit's joules are found */
    signed char *outcome;          /* (n_units) OUTCOME_*: what this run did with each unit */
    bool quiet;
};

/* ---- unit locks ----
 *
 * A unit is computed under parts/<id>.lock (lockfile.h), so that runs
 * sharing a results directory — shards by design, two runs by mistake —
 * compute it once: the others wait for the lock, then find the unit done
 * and reuse it. */

static void set_outcome(struct run *r, int idx, int outcome)
{
    pthread_mutex_lock(&r->lock);
    r->outcome[idx] = (signed char)outcome;
    pthread_mutex_unlock(&r->lock);
}

struct waiter {
    const struct run *r;
    const struct unit *u;
};

static void say_waiting(void *ctx, const char *holder)
{
    const struct waiter *w = ctx;
    if (!w->r->quiet)
        fprintf(stderr, "%skshot: waiting for %s unit %s, which %s%s is computing\n",
                isatty(2) ? "\n" : "", w->u->kind == UNIT_EVAL ? "eval" : "pretrain", w->u->id,
                holder[0] ? "process " : "another process", holder);
}

/* Load the finished pretraining idx's checkpoint into r->models[idx]. The
 * checkpoint is part of its unit's result, so one that cannot be read back
 * as that unit's network (truncated, corrupted, another unit's) means the
 * pretraining is not done: 1 after a warning naming the file (the caller
 * recomputes it; the same unit gives the same network, bit for bit), 0
 * when loaded, ERR_NOMEM. */
static int load_model(struct run *r, int idx, struct err *e)
{
    const struct unit *pre = &r->p->units[idx];
    struct pretrained m = {0};
    char path[4096], tag[CKPT_TAG_MAX] = "";
    struct err why;
    err_clear(&why);
    results_model_path(r->dir, pre->id, path, sizeof path);
    int rc = ckpt_read(path, &m.net, NULL, tag, &m.extra, &m.n_extra, &why);
    if (rc == ERR_NOMEM) {
        *e = why;
        return rc;
    }
    if (!rc && strcmp(tag, pre->id) != 0)
        rc = err_set(&why, ERR_IO, "%s: checkpoint of unit %s, expected %s", path, tag, pre->id);
    if (rc) {
        pretrained_free(&m);
        fprintf(stderr, "kshot: warning: %s; recomputing pretrain unit %s\n", why.msg, pre->id);
        return 1;
    }
    pthread_mutex_lock(&r->lock);
    r->models[idx] = m;
    pthread_mutex_unlock(&r->lock);
    return ERR_OK;
}

/* Take unit idx's lock, waiting while another process or worker holds it.
 * ERR_OK: the unit is to be computed under *lk; 1: it was found finished
 * once the lock was free (its checkpoint loaded, for a pretraining), and
 * nothing is held; an error code otherwise. */
static int take_unit(struct run *r, int idx, struct lockfile *lk, struct err *e)
{
    const struct unit *u = &r->p->units[idx];
    char path[4096];
    results_part_path(r->dir, u->id, ".lock", path, sizeof path);
    struct waiter w = {r, u};
    int rc = lockfile_wait(lk, path, &stop_flag, say_waiting, &w, e);
    if (rc)
        return rc;
    struct err why;
    err_clear(&why);
    int vrc = results_verify(r->dir, u->id, &why);   /* a damaged part: computed again */
    if (vrc == ERR_IO)
        fprintf(stderr, "kshot: warning: %s; recomputing unit %s\n", why.msg, u->id);
    else if (vrc) {
        lockfile_release(lk);
        *e = why;
        return vrc;
    }
    bool done = !r->redo[idx] && results_done(r->dir, u->id, u->kind);
    if (done && u->kind == UNIT_PRETRAIN && (rc = load_model(r, idx, e)) != ERR_OK) {
        if (rc < 0) {
            lockfile_release(lk);
            return rc;
        }
        done = false;   /* its checkpoint is damaged: computed again */
    }
    if (!done)
        return ERR_OK;
    lockfile_release(lk);
    set_outcome(r, idx, OUTCOME_REUSED);
    return 1;
}

static int run_pretrain(struct run *r, int idx, int worker, struct err *e)
{
    const struct unit *u = &r->p->units[idx];
    struct unit_costs c = {.em = &r->em};
    char *rows = NULL, path[4096];
    struct pretrained made;
    struct lockfile lk;
    progress_start(r->pr, worker, idx, &c, 0);
    int rc = take_unit(r, idx, &lk, e);
    if (rc == 1) {   /* another process computed it meanwhile */
        progress_end(r->pr, worker, true, 0);
        return ERR_OK;
    }
    if (rc) {
        progress_end(r->pr, worker, false, 0);
        return rc;
    }
    results_model_path(r->dir, u->id, path, sizeof path);
    rc = unit_pretrain(r->p, u, path, &made, &rows, &c, &stop_flag, e);
    if (!rc) {
        pthread_mutex_lock(&r->lock);
        r->models[idx] = made;
        pthread_mutex_unlock(&r->lock);
        rc = results_write_unit(r->dir, r->p, u, rows, &c, meter_peak_kb(), e);
    }
    lockfile_release(&lk);
    if (!rc)
        set_outcome(r, idx, OUTCOME_COMPUTED);
    free(rows);
    progress_end(r->pr, worker, rc == 0, c.wall_s);
    return rc;
}

static int run_prepare(struct run *r, int idx, int worker, struct err *e)
{
    const struct unit *u = &r->p->units[idx];
    struct eval_run *ev = &r->evals[idx];
    struct unit_costs c = {.em = &r->em};
    progress_start(r->pr, worker, idx, &c, 0);
    ev->t0 = meter_wall();
    int rc = take_unit(r, idx, &ev->lock, e);
    if (rc == 1) {   /* another process computed it meanwhile: its blocks do nothing */
        ev->reused = true;
        progress_end(r->pr, worker, false, 0);
        return ERR_OK;
    }
    if (rc) {
        progress_end(r->pr, worker, false, 0);
        return rc;
    }
    pthread_mutex_lock(&r->lock);
    const struct pretrained *pre = u->pretrain >= 0 ? &r->models[u->pretrain] : NULL;
    pthread_mutex_unlock(&r->lock);
    rc = eval_job_new(r->p, u, pre, r->tables, &ev->job, &c, &stop_flag, e);
    if (rc)
        lockfile_release(&ev->lock);   /* its blocks will not run */
    ev->c.em = &r->em;
    unit_costs_add(&ev->c, &c);   /* before any block of it starts */
    progress_end(r->pr, worker, false, c.wall_s);
    return rc;
}

/* The unit's part, from its blocks' rows in block (= episode) order. */
static int write_eval_part(struct run *r, int idx, struct eval_run *ev, struct err *e)
{
    size_t len = 0;
    char *all = NULL;
    FILE *f = open_memstream(&all, &len);
    bool ok = f != NULL;
    for (int b = 0; ok && b < ev->blocks; b++)
        ok = fputs(ev->rows[b], f) >= 0;
    if (f && fclose(f))
        ok = false;
    int rc = ok ? results_write_unit(r->dir, r->p, &r->p->units[idx], all, &ev->c, meter_peak_kb(), e)
                : err_set(e, ERR_NOMEM, "out of memory for a unit's rows");
    free(all);
    return rc;
}

static int run_block(struct run *r, const struct task *t, int worker, struct err *e)
{
    struct eval_run *ev = &r->evals[t->unit];
    struct unit_costs c = {.em = &r->em};
    char *rows = NULL;
    progress_start(r->pr, worker, t->unit, &c, t->first);
    int rc = ev->reused ? ERR_OK : eval_job_run(ev->job, t->first, t->end, &rows, &c, &stop_flag, e);
    pthread_mutex_lock(&r->lock);
    ev->rows[t->block] = rows;
    unit_costs_add(&ev->c, &c);
    ev->failed |= rc != 0;
    bool last = ++ev->ended == ev->blocks;
    pthread_mutex_unlock(&r->lock);
    if (last) {   /* every other block has ended: this worker finishes the unit */
        ev->c.wall_s = meter_wall() - ev->t0;
        bool complete = !ev->failed;
        if (complete && !ev->reused)
            rc = write_eval_part(r, t->unit, ev, e);
        lockfile_release(&ev->lock);
        if (complete && !rc && !ev->reused)
            set_outcome(r, t->unit, OUTCOME_COMPUTED);
        eval_job_free(ev->job);
        ev->job = NULL;
        for (int b = 0; b < ev->blocks; b++)
            free(ev->rows[b]), ev->rows[b] = NULL;
        progress_end(r->pr, worker, !rc && complete, ev->c.wall_s);
    } else {
        progress_end(r->pr, worker, false, 0);
    }
    return rc;
}

/* The pool's job: task idx. */
static int run_task(void *arg, int idx, int worker, struct err *e)
{
    struct run *r = arg;
    const struct task *t = &r->tasks[idx];
    switch (t->kind) {
    case TASK_PRETRAIN: return run_pretrain(r, t->unit, worker, e);
    case TASK_PREPARE: return run_prepare(r, t->unit, worker, e);
    default: return run_block(r, t, worker, e);
    }
}

/* ---- run ---- */

/* Must unit i be computed by this run? */
static bool to_run(const struct run *r, const bool *mine, int i)
{
    const struct unit *u = &r->p->units[i];
    return mine[i] && (r->redo[i] || !results_done(r->dir, u->id, u->kind));
}

/* The units of this shard. Evaluation (the default, and --only eval): every
 * N-th eval unit computed, in plan order (a unit the same as an earlier one
 * is that one's), and the pretrain units they need, computed under their
 * locks by whichever shard gets there first unless an earlier pretraining
 * array has. --only pretrain: every N-th pretrain unit. */
static void select_units(const struct plan *p, const struct run_opts *o, bool *mine)
{
    int kind = o->only == RUN_ONLY_PRETRAIN ? UNIT_PRETRAIN : UNIT_EVAL;
    for (int i = 0, k = 0; i < p->n_units; i++) {
        const struct unit *u = &p->units[i];
        mine[i] = u->kind == kind && (kind == UNIT_PRETRAIN || u->same_as < 0) &&
                  k++ % o->shard_n == o->shard_i;
    }
    for (int i = 0; kind == UNIT_EVAL && i < p->n_units; i++)
        if (mine[i] && p->units[i].pretrain >= 0)
            mine[p->units[i].pretrain] = true;
}

/* Load the checkpoints of finished pretrainings that unfinished eval units
 * of this run need; one that cannot be read back is recomputed
 * (load_model). Running out of memory is an error. */
static int load_models(struct run *r, const bool *mine, struct err *e)
{
    const struct plan *p = r->p;
    for (int i = 0; i < p->n_units; i++) {
        const struct unit *u = &p->units[i];
        if (!to_run(r, mine, i) || u->kind != UNIT_EVAL || u->pretrain < 0)
            continue;
        const struct unit *pre = &p->units[u->pretrain];
        if (r->models[u->pretrain].net.params || r->redo[u->pretrain] ||
            !results_done(r->dir, pre->id, pre->kind))
            continue;
        int rc = load_model(r, u->pretrain, e);
        if (rc < 0)
            return rc;
        r->redo[u->pretrain] = rc == 1;
    }
    return ERR_OK;
}

/* Workers by default: the CPUs this process may run on (a SLURM task's
 * or a taskset's share), else those online. */
static int count_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Does this run end by rebuilding the combined files (it had every unit)? */
static bool completes_plan(const struct run_opts *o)
{
    return o->shard_n == 1 && o->only != RUN_ONLY_PRETRAIN;
}

static int finish(struct setup *s, const struct unitlist *ul, const struct run_opts *o,
                  struct err *e)
{
    int missing = 0, rc = ERR_OK;
    bool figures = false;
    if (completes_plan(o) && (rc = merge_rebuild(s->dir, ul, &missing, &figures, e)))
        return rc;
    if (missing)   /* every unit ran, yet some part is gone: someone removed it meanwhile */
        return err_set(e, ERR_IO, "%s: %d unit%s of the plan have no part file after the run; "
                       "run the same command again", s->dir, missing, missing == 1 ? "" : "s");
    if (o->quiet)
        return ERR_OK;
    if (!completes_plan(o)) {
        if (o->shard_n > 1)
            printf("shard %d/%d%s done; when every shard is, `kshot merge %s` combines them "
                   "(and lists what is missing)\n", o->shard_i, o->shard_n,
                   o->only == RUN_ONLY_PRETRAIN ? " of the pretraining" : "", s->dir);
        else
            printf("pretraining done; run again without --only (or with --only eval) to "
                   "evaluate\n");
        return ERR_OK;
    }
    char sum[4200];
    snprintf(sum, sizeof sum, "%s/summary.csv", s->dir);
    printf("\n");
    if ((rc = summary_print(sum, stdout, "accuracy", e)) == 0)
        rc = summary_print(sum, stdout, "mse", e);
    printf("\nresults: %s/ (episodes.csv, summary.csv, pretrain.csv, costs.csv, run.yaml%s)\n",
           s->dir, figures ? ", curves.svg, curves.png" : "");
    return rc;
}

/* Blocks an eval unit of `episodes` episodes is split into for `jobs`
 * workers: enough that workers share the last units instead of one of
 * them finishing alone (its episodes' numbers do not depend on it). */
static int blocks_of(long episodes, int jobs)
{
    long b = jobs > 1 ? 4L * jobs : 1;
    return (int)(b < episodes ? b : episodes > 0 ? episodes : 1);
}

/* The tasks of this run, in queue order: pretrainings first, then each
 * eval unit's preparation and blocks; an eval unit waits for the
 * pretraining it needs when this run computes it. *after gets the waits.
 * Returns how many, or -1 when out of memory. */
static int make_tasks(struct run *r, const bool *mine, int jobs, struct task **tasks, int **after)
{
    const struct plan *p = r->p;
    size_t n = 0, cap = 16;
    struct task *t = malloc(sizeof *t * cap);
    int *task_of = malloc(sizeof *task_of * (size_t)(p->n_units ? p->n_units : 1));
    int *a = NULL;
    if (!t || !task_of)
        goto oom;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->n_units; i++) {
            const struct unit *u = &p->units[i];
            if ((u->kind == UNIT_PRETRAIN) != (pass == 0) || !to_run(r, mine, i))
                continue;
            long episodes = u->kind == UNIT_EVAL
                                ? p->variants[u->variant].x.targets[u->target].episodes : 0;
            int blocks = u->kind == UNIT_EVAL ? blocks_of(episodes, jobs) : 0;
            if (n + 1 + (size_t)blocks > cap) {
                cap = 2 * (n + 1 + (size_t)blocks);
                struct task *g = realloc(t, sizeof *t * cap);
                if (!g)
                    goto oom;
                t = g;
            }
            task_of[i] = (int)n;
            if (u->kind == UNIT_PRETRAIN) {
                t[n++] = (struct task){TASK_PRETRAIN, i, 0, 0, 0};
                continue;
            }
            struct eval_run *ev = &r->evals[i];
            ev->blocks = blocks;
            if (!(ev->rows = calloc((size_t)blocks, sizeof *ev->rows)))
                goto oom;
            t[n++] = (struct task){TASK_PREPARE, i, 0, 0, 0};
            for (int b = 0; b < blocks; b++)
                t[n++] = (struct task){TASK_BLOCK, i, b, episodes * b / blocks,
                                       episodes * (b + 1) / blocks};
        }
    if (!(a = malloc(sizeof *a * (n ? n : 1))))
        goto oom;
    for (size_t k = 0; k < n; k++) {
        const struct unit *u = &p->units[t[k].unit];
        if (t[k].kind == TASK_BLOCK)
            a[k] = task_of[t[k].unit];   /* its preparation */
        else if (t[k].kind == TASK_PREPARE && u->pretrain >= 0 && to_run(r, mine, u->pretrain))
            a[k] = task_of[u->pretrain];
        else
            a[k] = -1;
    }
    free(task_of);
    *tasks = t, *after = a;
    return (int)n;
oom:
    free(t), free(task_of), free(a);
    return -1;
}

/* The units: checkpoints of earlier runs, then pretraining and evaluation. */
static int run_units(struct run *r, const struct setup *s, const struct run_opts *o,
                     const bool *mine, int jobs, struct err *e)
{
    int rc = load_models(r, mine, e), total = 0;
    if (rc)
        return rc;
    uint64_t flops = 0;
    for (int i = 0; i < s->plan.n_units; i++)
        if (to_run(r, mine, i))
            total++, flops += s->plan.units[i].flops;
        else if (mine[i])
            r->outcome[i] = OUTCOME_REUSED;   /* found done */
    struct task *tasks = NULL;
    int *after = NULL, n = make_tasks(r, mine, jobs, &tasks, &after);
    int workers = jobs < n ? jobs : n > 0 ? n : 1;
    if (n < 0 || !(r->pr = progress_new(&s->plan, o->quiet, isatty(2), total, flops, workers))) {
        free(tasks), free(after);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    if (!o->quiet)
        fprintf(stderr, "kshot: %s: %d units, %d to run with %d worker%s -> %s\n", s->base.name,
                s->plan.n_units, total, workers, workers == 1 ? "" : "s", s->dir);
    if (completes_plan(o) && total > 0)
        results_remove_combined(s->dir);
    r->tasks = tasks;
    rc = pool_run(after, n, jobs, run_task, r, &stop_flag, e);
    int done = progress_done(r->pr);
    progress_free(r->pr);
    r->pr = NULL;
    free(tasks), free(after);
    if (!rc && signals)
        rc = err_set(e, ERR_STOPPED, "stopped by a signal after %d of %d units; finished units "
                     "are saved in %s, run the same command again to finish", done, total, s->dir);
    return rc;
}

/* --fresh: alone in the directory (no other run holds its lock), remove
 * everything kshot wrote there, then go on like any run. */
static int start_over(const char *dir, struct lockfile *dl, struct err *e)
{
    if (lockfile_upgrade(dl) != ERR_OK)
        return err_set(e, ERR_IO, "%s: another kshot process is using this results directory; "
                       "--fresh starts it over only when nothing else does (wait for it, or "
                       "stop it)", dir);
    results_start_over(dir);
    lockfile_downgrade(dl);
    return ERR_OK;
}

static const char *only_name(int only)
{
    return only == RUN_ONLY_PRETRAIN ? "pretrain" : only == RUN_ONLY_EVAL ? "eval" : NULL;
}

int runner_run(const struct run_opts *opts, struct err *e)
{
    struct setup s;
    struct run r = {0};
    struct handlers h;
    struct run_opts ob = *opts, *o = &ob;
    struct unitlist ul = {0};
    struct lockfile dl = {.fd = -1};
    struct runrec rec = {.status = "running", .argc = o->argc, .argv = o->argv};
    bool *mine = NULL, locked = false;
    runrec_now(rec.started, sizeof rec.started);
    handlers_install(&h);   /* before loading: a ^C while loading is a clean stop too */
    int rc = o->shard_given ? ERR_OK : slurm_array_shard(&o->shard_i, &o->shard_n, e);
    if (!rc && o->fresh && o->shard_n > 1)
        rc = err_set(e, ERR_USAGE, "--fresh with a shard (%d/%d%s) would remove the other "
                     "shards' work; start the directory over once, without a shard",
                     o->shard_i, o->shard_n, o->shard_given ? "" : ", from SLURM's array");
    if (!rc)
        rc = setup(&s, o, e);
    else
        memset(&s, 0, sizeof s);
    rec.shard_i = o->shard_i, rec.shard_n = o->shard_n, rec.only = only_name(o->only);
    rec.shard_from = o->shard_n == 1 ? NULL : o->shard_given ? "--shard" : "slurm";
    if (!rc && signals)
        rc = err_set(e, ERR_STOPPED, "stopped by a signal before any unit ran; run the same "
                     "command again");
    if (rc || (rc = results_open(s.dir, e)))
        goto done;
    char dlpath[4200];
    snprintf(dlpath, sizeof dlpath, "%s/.kshot.lock", s.dir);
    if ((rc = lockfile_shared(&dl, dlpath, e)) || (o->fresh && (rc = start_over(s.dir, &dl, e))))
        goto done;
    if ((rc = unitlist_from_plan(&ul, &s.plan, e)) || (rc = unitlist_write(s.dir, &ul, e)))
        goto done;
    rec.workers = jobs_of(o);
    rec.blas = &s.blas, rec.plan = &s.plan, rec.config = &s.doc;
    r.p = &s.plan, r.dir = s.dir, r.quiet = o->quiet;
    r.outcome = calloc((size_t)s.plan.n_units + 1, sizeof *r.outcome);
    rec.outcome = r.outcome;
    if (!r.outcome || (rc = runrec_write(s.dir, &rec, e)))
        goto done;
    energy_open(&r.em, s.base.powercap, s.base.watts_per_core);
    r.models = calloc((size_t)s.plan.n_units, sizeof *r.models);
    r.redo = calloc((size_t)s.plan.n_units, sizeof *r.redo);
    r.evals = calloc((size_t)s.plan.n_units, sizeof *r.evals);
    mine = malloc(sizeof *mine * (size_t)s.plan.n_units);
    r.tables = table_cache_new(TABLES_KEPT_BYTES);
    if (!r.models || !r.redo || !r.evals || !mine || !r.tables) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < s.plan.n_units; i++)
        r.evals[i].lock.fd = -1;
    pthread_mutex_init(&r.lock, NULL);
    locked = true;
    select_units(&s.plan, o, mine);
    if ((rc = check_memory(&s, o, mine, rec.workers, e)))
        goto record;
    /* a part that fails its check is removed (with a warning): its unit runs again */
    for (int i = 0; !rc && i < s.plan.n_units; i++) {
        struct err why;
        err_clear(&why);
        int vrc = mine[i] ? results_verify(s.dir, s.plan.units[i].id, &why) : ERR_OK;
        if (vrc == ERR_IO)
            fprintf(stderr, "kshot: warning: %s; recomputing %s unit %s\n", why.msg,
                    s.plan.units[i].kind == UNIT_EVAL ? "eval" : "pretrain", s.plan.units[i].id);
        else if (vrc)
            rc = err_set(e, vrc, "%s", why.msg);
    }
    if (!rc)
        rc = run_units(&r, &s, o, mine, rec.workers, e);
    if (!rc)
        rc = finish(&s, &ul, o, e);
record:
    if (lockfile_unsupported())
        fprintf(stderr, "kshot: warning: the file system of %s does not support fcntl locks; "
                "runs sharing it may compute a unit twice (the results are the same bytes)\n",
                s.dir);
    runrec_now(rec.finished, sizeof rec.finished);
    rec.status = rc == 0 ? "done" : rc == ERR_STOPPED ? "stopped" : "failed";
    rec.error = rc ? e->msg : NULL;
    struct err werr;
    err_clear(&werr);
    int wrc = runrec_write(s.dir, &rec, &werr);
    if (wrc && !rc)
        rc = wrc, *e = werr;
done:
    if (r.models)
        for (int i = 0; i < s.plan.n_units; i++)
            pretrained_free(&r.models[i]);
    if (r.evals)   /* units a failure or a signal left unfinished */
        for (int i = 0; i < s.plan.n_units; i++) {
            eval_job_free(r.evals[i].job);
            lockfile_release(&r.evals[i].lock);
            for (int b = 0; r.evals[i].rows && b < r.evals[i].blocks; b++)
                free(r.evals[i].rows[b]);
            free(r.evals[i].rows);
        }
    table_cache_free(r.tables);   /* after the jobs that hold its tables */
    if (locked)
        pthread_mutex_destroy(&r.lock);
    free(r.models), free(r.redo), free(r.evals), free(mine), free(r.outcome);
    unitlist_free(&ul);
    lockfile_close(&dl);
    setup_free(&s);
    handlers_restore(&h);
    return rc;
}
