/* runner: orchestration of a run — setup, signals, which units this run
 * computes (shards, finished work, shared units), the pool, the records. */
#include "harness/runner.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "harness/blas.h"
#include "harness/config.h"
#include "harness/plan.h"
#include "harness/pool.h"
#include "harness/progress.h"
#include "harness/results.h"
#include "harness/runrec.h"
#include "harness/summary.h"
#include "harness/unit.h"
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

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long peak_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
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
    blas_warning(&s->blas, warn, sizeof warn);
    if (warn[0])
        fprintf(stderr, "kshot: %s\n", warn);
    if (!quiet)
        fprintf(stderr, "kshot: BLAS: OpenBLAS, core %s, 1 thread per worker%s%s\n",
                s->blas.core, s->blas.xsmm[0] ? "; small products: libxsmm, target " : "",
                s->blas.xsmm);
    return blas_selftest(NULL, e);
}

static int setup(struct setup *s, const struct run_opts *o, struct err *e)
{
    memset(s, 0, sizeof *s);
    int rc = check_blas(s, o->quiet, e);
    if (!rc)
        rc = config_load(o->config, o->overrides, o->n_overrides, &s->base, &s->doc, e);
    if (!rc)
        rc = plan_variants(&s->plan, &s->doc, &s->base, e);
    if (!rc)
        rc = plan_prepare(&s->plan, e);
    if (!rc)
        rc = plan_build(&s->plan, s->blas.kernels, e);
    if (!rc)
        snprintf(s->dir, sizeof s->dir, "%s",
                 o->out_dir ? o->out_dir : s->base.output_dir ? s->base.output_dir : "");
    if (!rc && !s->dir[0])
        snprintf(s->dir, sizeof s->dir, "results/%s", s->base.name);
    return rc;
}

/* GFLOP/s of one thread on a layer-sized product, for estimates only. */
static double calibrate(void)
{
    enum { M = 64, K = 784, N = 256 };
    float *a = calloc(M * K, sizeof *a), *b = calloc(K * N, sizeof *b), *c = calloc(M * N, sizeof *c);
    double rate = 0;
    if (a && b && c) {
        uint64_t flops = 0;
        double t0 = now();
        while (now() - t0 < 0.05)
            gemm(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N, &flops);
        rate = (double)flops / (now() - t0) / 1e9;
    }
    free(a), free(b), free(c);
    return rate;
}

int runner_plan(const struct run_opts *o, struct err *e)
{
    struct setup s;
    int rc = setup(&s, o, e);
    if (!rc) {
        plan_print(&s.plan, stdout, calibrate());
        printf("results directory: %s\n", s.dir);
    }
    setup_free(&s);
    return rc;
}

/* ---- computing units ---- */

/* What every worker shares while units run. */
struct run {
    const struct plan *p;
    const char *dir;
    struct pretrained *models;     /* (n_units) what pretrain units made, by unit index */
    bool *redo;                    /* (n_units) done, but its checkpoint is unreadable */
    pthread_mutex_t lock;          /* models */
    struct progress *pr;
};

/* The pool's job: compute unit idx and write its part. */
static int run_one(void *arg, int idx, int worker, struct err *e)
{
    struct run *r = arg;
    const struct unit *u = &r->p->units[idx];
    struct unit_costs c = {0};
    char *rows = NULL;
    int rc;
    progress_start(r->pr, worker, idx, &c);
    if (u->kind == UNIT_PRETRAIN) {
        char path[4096];
        struct pretrained made;
        results_model_path(r->dir, u->id, path, sizeof path);
        rc = unit_pretrain(r->p, u, path, &made, &rows, &c, &stop_flag, e);
        if (!rc) {
            pthread_mutex_lock(&r->lock);
            r->models[idx] = made;
            pthread_mutex_unlock(&r->lock);
        }
    } else {
        pthread_mutex_lock(&r->lock);
        const struct pretrained *pre = u->pretrain >= 0 ? &r->models[u->pretrain] : NULL;
        pthread_mutex_unlock(&r->lock);
        rc = unit_eval(r->p, u, pre, &rows, &c, &stop_flag, e);
    }
    if (!rc)
        rc = results_write_unit(r->dir, r->p, u, rows, &c, peak_kb(), e);
    free(rows);
    progress_end(r->pr, worker, rc == 0, c.wall_s);
    return rc;
}

/* The combined files describe the plan of the run that wrote them. Before
 * this run computes anything they are removed, so a run that stops or fails
 * never leaves files of an older plan looking current; the parts they are
 * rebuilt from stay, and the end of a complete run writes them again. */
static void remove_combined(const char *dir)
{
    static const char *const names[] = {
        "episodes.csv", "summary.csv", "pretrain.csv", "costs.csv", "cost_summary.csv",
    };
    char path[4200];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
}

/* ---- run ---- */

/* Must unit i be computed by this run? */
static bool to_run(const struct run *r, const bool *mine, int i)
{
    return mine[i] && (r->redo[i] || !results_done(r->dir, &r->p->units[i]));
}

/* The units of one kind this run must compute, in plan order; returns how many. */
static int queue_of(const struct run *r, int kind, const bool *mine, int *queue)
{
    int n = 0;
    for (int i = 0; i < r->p->n_units; i++)
        if (r->p->units[i].kind == kind && to_run(r, mine, i))
            queue[n++] = i;
    return n;
}

/* Eval units of this shard (every N-th unit computed, in plan order; a unit
 * the same as an earlier one is that one's), and the pretrain units they
 * need. */
static void select_units(const struct plan *p, const struct run_opts *o, bool *mine)
{
    for (int i = 0, k = 0; i < p->n_units; i++) {
        const struct unit *u = &p->units[i];
        mine[i] = u->kind == UNIT_EVAL && u->same_as < 0 && k++ % o->shard_n == o->shard_i;
    }
    for (int i = 0; i < p->n_units; i++)
        if (mine[i] && p->units[i].pretrain >= 0)
            mine[p->units[i].pretrain] = true;
}

/* Load the checkpoints of finished pretrainings that unfinished eval units
 * of this run need. The checkpoint is part of its unit's result, so one that
 * cannot be read back as that unit's network (truncated, corrupted, another
 * unit's) means the pretraining is not done: it is recomputed (the same
 * unit gives the same network, bit for bit) after a warning naming the
 * file. Running out of memory is an error. */
static int load_models(struct run *r, const bool *mine, struct err *e)
{
    const struct plan *p = r->p;
    for (int i = 0; i < p->n_units; i++) {
        const struct unit *u = &p->units[i];
        if (!to_run(r, mine, i) || u->kind != UNIT_EVAL || u->pretrain < 0)
            continue;
        const struct unit *pre = &p->units[u->pretrain];
        struct pretrained *m = &r->models[u->pretrain];
        if (m->net.params || r->redo[u->pretrain] || !results_done(r->dir, pre))
            continue;
        char path[4096], tag[CKPT_TAG_MAX] = "";
        struct err why;
        err_clear(&why);
        results_model_path(r->dir, pre->id, path, sizeof path);
        int rc = ckpt_read(path, &m->net, NULL, tag, &m->extra, &m->n_extra, &why);
        if (rc == ERR_NOMEM) {
            *e = why;
            return rc;
        }
        if (!rc && strcmp(tag, pre->id) != 0)
            rc = err_set(&why, ERR_IO, "%s: checkpoint of unit %s, expected %s", path, tag, pre->id);
        if (rc) {
            pretrained_free(m);
            r->redo[u->pretrain] = true;
            fprintf(stderr, "kshot: warning: %s; recomputing pretrain unit %s\n", why.msg, pre->id);
        }
    }
    return ERR_OK;
}

static int count_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int finish(struct setup *s, const struct run_opts *o, struct err *e)
{
    int missing = 0, rc = ERR_OK;
    if (o->shard_n == 1 && (rc = results_rebuild(s->dir, &s->plan, &missing, e)))
        return rc;
    if (missing)   /* every unit ran, yet some part is gone: someone removed it meanwhile */
        return err_set(e, ERR_IO, "%s: %d unit%s of the plan have no part file after the run; "
                       "run the same command again", s->dir, missing, missing == 1 ? "" : "s");
    if (o->quiet)
        return ERR_OK;
    if (o->shard_n > 1) {
        printf("shard %d/%d done; `kshot merge %s` combines the shards\n", o->shard_i, o->shard_n,
               s->dir);
        return ERR_OK;
    }
    char sum[4200];
    snprintf(sum, sizeof sum, "%s/summary.csv", s->dir);
    printf("\n");
    if ((rc = summary_print(sum, stdout, "accuracy", e)) == 0)
        rc = summary_print(sum, stdout, "mse", e);
    printf("\nresults: %s/ (episodes.csv, summary.csv, pretrain.csv, costs.csv, run.yaml)\n", s->dir);
    return rc;
}

/* The units: checkpoints of earlier runs, then pretraining, then evaluation. */
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
    int workers = jobs < total ? jobs : total > 0 ? total : 1;
    if (!o->quiet)
        fprintf(stderr, "kshot: %s: %d units, %d to run with %d worker%s -> %s\n", s->base.name,
                s->plan.n_units, total, workers, workers == 1 ? "" : "s", s->dir);
    if (o->shard_n == 1 && total > 0)
        remove_combined(s->dir);
    int *queue = malloc(sizeof *queue * (size_t)(s->plan.n_units ? s->plan.n_units : 1));
    if (!queue || !(r->pr = progress_new(&s->plan, o->quiet, isatty(2), total, flops, workers))) {
        free(queue);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    rc = pool_run(queue, queue_of(r, UNIT_PRETRAIN, mine, queue), jobs, run_one, r, &stop_flag, e);
    if (!rc && !stop_flag)
        rc = pool_run(queue, queue_of(r, UNIT_EVAL, mine, queue), jobs, run_one, r, &stop_flag, e);
    int done = progress_done(r->pr);
    progress_free(r->pr);
    r->pr = NULL;
    free(queue);
    if (!rc && signals)
        rc = err_set(e, ERR_STOPPED, "stopped by a signal after %d of %d units; finished units "
                     "are saved in %s, run the same command again to finish", done, total, s->dir);
    return rc;
}

int runner_run(const struct run_opts *o, struct err *e)
{
    struct setup s;
    struct run r = {0};
    struct handlers h;
    struct runrec rec = {.status = "running", .argc = o->argc, .argv = o->argv,
                         .shard_i = o->shard_i, .shard_n = o->shard_n};
    bool *mine = NULL, locked = false;
    runrec_now(rec.started, sizeof rec.started);
    handlers_install(&h);   /* before loading: a ^C while loading is a clean stop too */
    int rc = setup(&s, o, e);
    if (!rc && signals)
        rc = err_set(e, ERR_STOPPED, "stopped by a signal before any unit ran; run the same "
                     "command again");
    if (rc || (rc = results_open(s.dir, e)))
        goto done;
    rec.workers = o->jobs > 0 ? o->jobs : count_cpus();
    rec.blas = &s.blas, rec.plan = &s.plan, rec.config = &s.doc;
    if ((rc = runrec_write(s.dir, &rec, e)))
        goto done;
    r.p = &s.plan, r.dir = s.dir;
    r.models = calloc((size_t)s.plan.n_units, sizeof *r.models);
    r.redo = calloc((size_t)s.plan.n_units, sizeof *r.redo);
    mine = malloc(sizeof *mine * (size_t)s.plan.n_units);
    if (!r.models || !r.redo || !mine) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    pthread_mutex_init(&r.lock, NULL);
    locked = true;
    select_units(&s.plan, o, mine);
    rc = run_units(&r, &s, o, mine, rec.workers, e);
    if (!rc)
        rc = finish(&s, o, e);
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
    if (locked)
        pthread_mutex_destroy(&r.lock);
    free(r.models), free(r.redo), free(mine);
    setup_free(&s);
    handlers_restore(&h);
    return rc;
}
