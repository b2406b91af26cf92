/* runner: orchestration of a run — setup, the worker pool, progress, signals, run.yaml. */
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
#include "harness/results.h"
#include "harness/summary.h"
#include "harness/unit.h"
#include "harness/yamltree.h"
#include "learners/ckpt.h"
#include "learners/gemm.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
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
        fprintf(stderr, "kshot: BLAS: OpenBLAS, core %s, 1 thread per worker\n", s->blas.core);
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
        rc = plan_build(&s->plan, s->blas.core, e);
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

/* ---- the pool ---- */

struct pool {
    const struct plan *p;
    const char *dir;
    int *queue, n_queue, next;     /* unit indices to run, in plan order */
    struct mlp *models;            /* (n_units) pretrained networks by unit index */
    pthread_mutex_t lock;
    int failed;                    /* first error code, 0 while none */
    struct err first;
    /* progress */
    bool quiet, tty;
    int done, total;
    uint64_t flops_done, flops_total;
    double t0;
};

static void describe(const struct plan *p, const struct unit *u, char *buf, size_t cap)
{
    const struct experiment *x = &p->variants[u->variant].x;
    if (u->kind == UNIT_PRETRAIN)
        snprintf(buf, cap, "pretrain seed %ld", u->seed);
    else
        snprintf(buf, cap, "%s %s %ld-shot seed %ld%s%s", x->learners[u->learner].name,
                 x->targets[u->target].name, u->shots, u->seed,
                 p->n_variants > 1 ? " " : "", p->n_variants > 1 ? p->variants[u->variant].name : "");
}

static void fmt_time(double s, char *buf, size_t cap)
{
    if (s < 0 || s != s)
        snprintf(buf, cap, "?");
    else if (s < 60)
        snprintf(buf, cap, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, cap, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

/* Called with the lock held after a unit finished. */
static void progress(struct pool *pl, const struct unit *u, double secs)
{
    if (pl->quiet)
        return;
    char what[1024], el[32], eta[32];
    describe(pl->p, u, what, sizeof what);
    double elapsed = now() - pl->t0;
    double frac = pl->flops_total ? (double)pl->flops_done / (double)pl->flops_total
                                  : (double)pl->done / pl->total;
    fmt_time(elapsed, el, sizeof el);
    fmt_time(frac > 0 ? elapsed * (1 - frac) / frac : -1, eta, sizeof eta);
    if (pl->tty)
        fprintf(stderr, "\r\033[K[%d/%d] %s done | %s elapsed, ETA %s", pl->done, pl->total, what,
                el, eta);
    else
        fprintf(stderr, "kshot: [%d/%d] %s done in %.1fs (elapsed %s, ETA %s)\n", pl->done,
                pl->total, what, secs, el, eta);
    fflush(stderr);
}

static int run_one(struct pool *pl, int idx, struct err *e)
{
    const struct unit *u = &pl->p->units[idx];
    struct unit_costs c = {0};
    char *rows = NULL;
    int rc;
    if (u->kind == UNIT_PRETRAIN) {
        char path[4096];
        struct mlp net;
        results_model_path(pl->dir, u->id, path, sizeof path);
        rc = unit_pretrain(pl->p, u, path, &net, &rows, &c, &stop_flag, e);
        if (!rc) {
            pthread_mutex_lock(&pl->lock);
            pl->models[idx] = net;
            pthread_mutex_unlock(&pl->lock);
        }
    } else {
        const struct mlp *pre = u->pretrain >= 0 ? &pl->models[u->pretrain] : NULL;
        rc = unit_eval(pl->p, u, pre, &rows, &c, &stop_flag, e);
    }
    if (!rc)
        rc = results_write_unit(pl->dir, pl->p, u, rows, &c, peak_kb(), e);
    free(rows);
    if (!rc) {
        pthread_mutex_lock(&pl->lock);
        pl->done++;
        pl->flops_done += u->flops;
        progress(pl, u, c.wall_s);
        pthread_mutex_unlock(&pl->lock);
    }
    return rc;
}

static void *worker(void *arg)
{
    struct pool *pl = arg;
    struct err e;
    for (;;) {
        pthread_mutex_lock(&pl->lock);
        int idx = -1;
        if (!stop_flag && !pl->failed && pl->next < pl->n_queue)
            idx = pl->queue[pl->next++];
        pthread_mutex_unlock(&pl->lock);
        if (idx < 0)
            break;
        err_clear(&e);
        int rc = run_one(pl, idx, &e);
        if (rc && rc != ERR_STOPPED) {
            pthread_mutex_lock(&pl->lock);
            if (!pl->failed) {
                pl->failed = rc;
                pl->first = e;
                stop_flag = 1;
            }
            pthread_mutex_unlock(&pl->lock);
        }
    }
    return NULL;
}

static void run_pool(struct pool *pl, int jobs)
{
    if (pl->n_queue == 0)
        return;
    pl->next = 0;
    if (jobs > pl->n_queue)
        jobs = pl->n_queue;
    pthread_t th[256];
    int started = 0;
    for (int i = 1; i < jobs && i < 256; i++)
        if (pthread_create(&th[started], NULL, worker, pl) == 0)
            started++;
    worker(pl);  /* the main thread works too */
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

/* ---- run ---- */

static void write_run_yaml(const struct setup *s, const struct run_opts *o, int jobs,
                           const char *started, const char *finished, const char *status,
                           struct err *e)
{
    char path[4200], host[256] = "";
    snprintf(path, sizeof path, "%s/run.yaml", s->dir);
    gethostname(host, sizeof host - 1);
    char *cfg = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&cfg, &len);
    if (!m)
        return;
    struct err ignore;
    yt_emit(s->doc.root, m, &ignore);
    fclose(m);
    FILE *f = fopen(path, "w");
    if (!f) {
        free(cfg);
        return;
    }
    fprintf(f, "# kshot run record: provenance and the resolved configuration.\n");
    fprintf(f, "kshot_version: %s\nunit_format: %d\n", KSHOT_VERSION, PLAN_FORMAT);
    fprintf(f, "command: [");
    for (int i = 0; i < o->argc; i++) {
        fprintf(f, "%s\"", i ? ", " : "");
        for (const char *c = o->argv[i]; *c; c++)
            fprintf(f, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
        fprintf(f, "\"");
    }
    fprintf(f, "]\nhost: \"%s\"\nstarted: %s\nfinished: %s\nstatus: %s\n", host, started,
            finished ? finished : "~", status);
    fprintf(f, "blas: {library: OpenBLAS, core: %s, threads_per_worker: 1, config: \"%s\"}\n",
            s->blas.core, s->blas.config);
    fprintf(f, "workers: %d\nshard: \"%d/%d\"\npeak_rss_kb: %ld\n", jobs, o->shard_i, o->shard_n,
            peak_kb());
    fprintf(f, "data:\n");
    const struct store *st = &s->plan.variants[0].store;
    for (int i = 0; i < st->n; i++)
        fprintf(f, "  - {name: %s, split: %s, seed: %ld, rows: %zu, crc32: \"%08x\"}\n",
                st->entries[i].cfg->name, st->entries[i].split, st->entries[i].seed,
                st->entries[i].d.n, st->entries[i].d.checksum);
    fprintf(f, "variants: [");
    for (int i = 0; i < s->plan.n_variants; i++)
        fprintf(f, "%s\"%s\"", i ? ", " : "", s->plan.variants[i].name);
    fprintf(f, "]\nconfig:\n");
    for (char *line = cfg; line && *line;) {
        char *nl = strchr(line, '\n');
        fprintf(f, "  %.*s\n", (int)(nl ? nl - line : (long)strlen(line)), line);
        line = nl ? nl + 1 : NULL;
    }
    free(cfg);
    if (fclose(f) != 0)
        err_set(e, ERR_IO, "%s: cannot write", path);
}

static void timestamp(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Queue the units of one kind this run must compute. */
static void enqueue(struct pool *pl, const struct run_opts *o, int kind, const bool *mine)
{
    pl->n_queue = 0;
    for (int i = 0; i < pl->p->n_units; i++) {
        const struct unit *u = &pl->p->units[i];
        if (u->kind == kind && mine[i] && !results_done(pl->dir, u))
            pl->queue[pl->n_queue++] = i;
    }
}

/* Units of this shard, and the pretrain units its eval units need. */
static void select_units(const struct plan *p, const struct run_opts *o, bool *mine)
{
    for (int i = 0; i < p->n_units; i++)
        mine[i] = p->units[i].kind == UNIT_EVAL && i % o->shard_n == o->shard_i;
    for (int i = 0; i < p->n_units; i++)
        if (mine[i] && p->units[i].pretrain >= 0)
            mine[p->units[i].pretrain] = true;
}

static int load_models(struct pool *pl, const bool *mine, struct err *e)
{
    for (int i = 0; i < pl->p->n_units; i++) {
        const struct unit *u = &pl->p->units[i];
        if (!mine[i] || u->kind != UNIT_EVAL || u->pretrain < 0 || results_done(pl->dir, u) ||
            pl->models[u->pretrain].params)
            continue;
        char path[4096], tag[CKPT_TAG_MAX];
        results_model_path(pl->dir, pl->p->units[u->pretrain].id, path, sizeof path);
        int rc = ckpt_read(path, &pl->models[u->pretrain], NULL, tag, NULL, NULL, e);
        if (rc)
            return rc;
        if (strcmp(tag, pl->p->units[u->pretrain].id) != 0)
            return err_set(e, ERR_IO, "%s: checkpoint of unit %s, expected %s; delete it to "
                           "recompute", path, tag, pl->p->units[u->pretrain].id);
    }
    return ERR_OK;
}

static int count_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int finish(struct setup *s, const struct run_opts *o, struct pool *pl, struct err *e)
{
    int missing = 0, rc = ERR_OK;
    if (o->shard_n == 1 && (rc = results_rebuild(s->dir, &s->plan, &missing, e)))
        return rc;
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

int runner_run(const struct run_opts *o, struct err *e)
{
    struct setup s;
    struct pool pl = {0};
    bool *mine = NULL;
    char started[64];
    timestamp(started, sizeof started);
    int rc = setup(&s, o, e);
    if (rc)
        goto done;
    if ((rc = results_open(s.dir, e)))
        goto done;
    int jobs = o->jobs > 0 ? o->jobs : count_cpus();
    write_run_yaml(&s, o, jobs, started, NULL, "running", e);
    pl.p = &s.plan, pl.dir = s.dir, pl.quiet = o->quiet, pl.tty = isatty(2);
    pl.queue = malloc(sizeof *pl.queue * (size_t)s.plan.n_units);
    pl.models = calloc((size_t)s.plan.n_units, sizeof *pl.models);
    mine = malloc(sizeof *mine * (size_t)s.plan.n_units);
    if (!pl.queue || !pl.models || !mine) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    pthread_mutex_init(&pl.lock, NULL);
    select_units(&s.plan, o, mine);
    for (int i = 0; i < s.plan.n_units; i++)
        if (mine[i] && !results_done(s.dir, &s.plan.units[i]))
            pl.total++, pl.flops_total += s.plan.units[i].flops;
    if (!o->quiet)
        fprintf(stderr, "kshot: %s: %d units, %d to run with %d worker%s -> %s\n", s.base.name,
                s.plan.n_units, pl.total, jobs, jobs == 1 ? "" : "s", s.dir);
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    pl.t0 = now();
    enqueue(&pl, o, UNIT_PRETRAIN, mine);
    run_pool(&pl, jobs);
    if (!pl.failed && !stop_flag && !(rc = load_models(&pl, mine, e))) {
        enqueue(&pl, o, UNIT_EVAL, mine);
        run_pool(&pl, jobs);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (pl.tty && !o->quiet && pl.done)
        fprintf(stderr, "\n");
    if (!rc && pl.failed) {
        *e = pl.first;
        rc = pl.failed;
    } else if (!rc && stop_flag) {
        rc = err_set(e, ERR_STOPPED, "stopped by a signal after %d of %d units; finished units "
                     "are saved in %s, run the same command again to finish", pl.done, pl.total,
                     s.dir);
    }
    if (!rc)
        rc = finish(&s, o, &pl, e);
    char finished[64];
    timestamp(finished, sizeof finished);
    struct err ignore;
    write_run_yaml(&s, o, jobs, started, finished, rc == 0 ? "done" : rc == ERR_STOPPED ? "stopped" : "failed",
                   &ignore);
done:
    if (pl.models)
        for (int i = 0; i < s.plan.n_units; i++)
            mlp_free(&pl.models[i]);
    free(pl.models), free(pl.queue), free(mine);
    setup_free(&s);
    return rc;
}
