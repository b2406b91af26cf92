/* runner: orchestration of a run — setup, the worker pool, progress, signals, run.yaml. */
#include "harness/runner.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "harness/blas.h"
#include "harness/config.h"
#include "harness/base/fsutil.h"
#include "harness/plan.h"
#include "harness/results.h"
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
    struct sigaction old_int, old_term;
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
}

static void handlers_restore(const struct handlers *h)
{
    sigaction(SIGINT, &h->old_int, NULL);
    sigaction(SIGTERM, &h->old_term, NULL);
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
    bool *redo;                    /* (n_units) done, but its checkpoint is unreadable */
    pthread_mutex_t lock;
    int failed;                    /* first error code, 0 while none */
    struct err first;
    /* progress */
    bool quiet, tty;
    int done, total;
    uint64_t flops_done, flops_total;
    double t0;
    int n_workers;                 /* workers registered in slots */
    struct slot {                  /* what each worker is running, for the live line */
        int unit;                  /* -1: idle */
        const struct unit_costs *c;
    } slots[256];
    bool ticking;                  /* the live-line thread runs while set */
};

static void describe(const struct plan *p, const struct unit *u, char *buf, size_t cap)
{
    const struct experiment *x = &p->variants[u->variant].x;
    /* a pretraining serves every variant that shares it; it is named by the first */
    const char *sep = p->n_variants > 1 ? " " : "";
    const char *variant = p->n_variants > 1 ? p->variants[u->variant].name : "";
    if (u->kind == UNIT_PRETRAIN)
        snprintf(buf, cap, "pretrain seed %ld%s%s", u->seed, sep, variant);
    else
        snprintf(buf, cap, "%s %s %ld-shot seed %ld%s%s", x->learners[u->learner].name,
                 x->targets[u->target].name, u->shots, u->seed, sep, variant);
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
/* Fraction of the estimated work done, counting the finished episodes of
 * running units. Called with the lock held. */
static double fraction_done(const struct pool *pl)
{
    double f = (double)pl->flops_done;
    for (int w = 0; w < pl->n_workers; w++) {
        const struct slot *s = &pl->slots[w];
        if (s->unit < 0 || !s->c)
            continue;
        const struct unit *u = &pl->p->units[s->unit];
        const struct experiment *x = &pl->p->variants[u->variant].x;
        if (u->kind == UNIT_EVAL)
            f += (double)u->flops * (double)s->c->episodes / (double)x->targets[u->target].episodes;
    }
    return pl->flops_total ? f / (double)pl->flops_total : (double)pl->done / pl->total;
}

static int terminal_width(void)
{
    struct winsize ws;
    return ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 100;
}

/* The live line: units done, what runs now (with its episodes), elapsed, ETA.
 * Called with the lock held. */
static void live_line(struct pool *pl)
{
    char line[2048], what[1024], el[32], eta[32];
    double elapsed = now() - pl->t0, frac = fraction_done(pl);
    fmt_time(elapsed, el, sizeof el);
    fmt_time(frac > 0 ? elapsed * (1 - frac) / frac : -1, eta, sizeof eta);
    int n = snprintf(line, sizeof line, "[%d/%d] %s elapsed, ETA %s |", pl->done, pl->total, el, eta);
    for (int w = 0; w < pl->n_workers && n < (int)sizeof line; w++) {
        const struct slot *s = &pl->slots[w];
        if (s->unit < 0 || !s->c)
            continue;
        const struct unit *u = &pl->p->units[s->unit];
        describe(pl->p, u, what, sizeof what);
        if (u->kind == UNIT_EVAL)
            n += snprintf(line + n, sizeof line - n, " %s %ld/%ld;", what, (long)s->c->episodes,
                          pl->p->variants[u->variant].x.targets[u->target].episodes);
        else
            n += snprintf(line + n, sizeof line - n, " %s;", what);
    }
    int width = terminal_width() - 1;
    fprintf(stderr, "\r\033[K%.*s", width, line);
    fflush(stderr);
}

static void *ticker(void *arg)
{
    struct pool *pl = arg;
    const struct timespec half = {0, 500000000};
    for (;;) {
        pthread_mutex_lock(&pl->lock);
        bool on = pl->ticking;
        if (on)
            live_line(pl);
        pthread_mutex_unlock(&pl->lock);
        if (!on)
            return NULL;
        nanosleep(&half, NULL);
    }
}

static void progress(struct pool *pl, const struct unit *u, double secs)
{
    if (pl->quiet || pl->tty)
        return;  /* the terminal gets the live line instead */
    char what[1024], el[32], eta[32];
    describe(pl->p, u, what, sizeof what);
    double elapsed = now() - pl->t0;
    double frac = pl->flops_total ? (double)pl->flops_done / (double)pl->flops_total
                                  : (double)pl->done / pl->total;
    fmt_time(elapsed, el, sizeof el);
    fmt_time(frac > 0 ? elapsed * (1 - frac) / frac : -1, eta, sizeof eta);
    fprintf(stderr, "kshot: [%d/%d] %s done in %.1fs (elapsed %s, ETA %s)\n", pl->done,
                pl->total, what, secs, el, eta);
    fflush(stderr);
}

static int run_one(struct pool *pl, int idx, struct slot *slot, struct err *e)
{
    const struct unit *u = &pl->p->units[idx];
    struct unit_costs c = {0};
    char *rows = NULL;
    int rc;
    pthread_mutex_lock(&pl->lock);
    slot->unit = idx, slot->c = &c;
    pthread_mutex_unlock(&pl->lock);
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
    pthread_mutex_lock(&pl->lock);
    slot->unit = -1, slot->c = NULL;
    pthread_mutex_unlock(&pl->lock);
    return rc;
}

static void *worker(void *arg)
{
    struct pool *pl = arg;
    struct err e;
    pthread_mutex_lock(&pl->lock);
    struct slot *slot = &pl->slots[pl->n_workers++];
    slot->unit = -1, slot->c = NULL;
    pthread_mutex_unlock(&pl->lock);
    for (;;) {
        pthread_mutex_lock(&pl->lock);
        int idx = -1;
        if (!stop_flag && !pl->failed && pl->next < pl->n_queue)
            idx = pl->queue[pl->next++];
        pthread_mutex_unlock(&pl->lock);
        if (idx < 0)
            break;
        err_clear(&e);
        int rc = run_one(pl, idx, slot, &e);
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
    pl->n_workers = 0;
    if (jobs > pl->n_queue)
        jobs = pl->n_queue;
    pthread_t th[256], tick;
    int started = 0;
    for (int i = 1; i < jobs && i < 256; i++)
        if (pthread_create(&th[started], NULL, worker, pl) == 0)
            started++;
    pl->ticking = pl->tty && !pl->quiet;
    bool ticker_on = pl->ticking && pthread_create(&tick, NULL, ticker, pl) == 0;
    worker(pl);  /* the main thread works too */
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (ticker_on) {
        pthread_mutex_lock(&pl->lock);
        pl->ticking = false;
        live_line(pl);  /* the final counts */
        pthread_mutex_unlock(&pl->lock);
        pthread_join(tick, NULL);
    }
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

/* ---- run.yaml ---- */

/* The code point of the UTF-8 sequence starting at s and its length in
 * bytes, or 0 if s does not start a valid one (overlong forms, surrogates
 * and values past U+10FFFF are not valid). */
static int utf8_decode(const unsigned char *s, unsigned long *cp)
{
    static const unsigned long least[] = {0, 0, 0x80, 0x800, 0x10000};
    int n = *s < 0x80 ? 1 : (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3
            : (*s & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0)
        return 0;
    unsigned long v = n == 1 ? *s : *s & (0x7fu >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3fu);
    }
    if (v < least[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* Written as is inside "…": YAML's printable characters, less the quote,
 * the backslash and anything a reader could take for a line break or a
 * byte-order mark. */
static bool yaml_plain_char(unsigned long c)
{
    return (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') || (c >= 0xa0 && c <= 0xd7ff &&
           c != 0x2028 && c != 0x2029) || (c >= 0xe000 && c <= 0xfffd && c != 0xfeff) ||
           c >= 0x10000;
}

/* s as a YAML double-quoted scalar, which reads back as s whatever it
 * holds; only bytes that are not UTF-8 (YAML text must be) change: byte
 * 0xNN reads back as U+00NN. */
static void yaml_quoted(FILE *f, const char *s)
{
    const unsigned char *c = (const unsigned char *)(s ? s : "");
    fputc('"', f);
    while (*c) {
        unsigned long cp = *c;
        int n = utf8_decode(c, &cp);
        if (n > 0 && yaml_plain_char(cp))
            fwrite(c, 1, (size_t)n, f);
        else if (cp == '"' || cp == '\\')
            fprintf(f, "\\%c", (int)cp);
        else
            fprintf(f, cp <= 0xff ? "\\x%02lx" : cp <= 0xffff ? "\\u%04lx" : "\\U%08lx", cp);
        c += n > 0 ? n : 1;
    }
    fputc('"', f);
}

/* The data every variant read, each (source, split, seed, checksum) once. */
static void yaml_data(FILE *f, const struct plan *p)
{
    int n = 0, cap = 0;
    for (int v = 0; v < p->n_variants; v++)
        cap += p->variants[v].store.n;
    const struct store_entry **shown = malloc(sizeof *shown * (size_t)(cap ? cap : 1));
    fprintf(f, "data:%s\n", shown && cap ? "" : " []");
    for (int v = 0; shown && v < p->n_variants; v++) {
        const struct store *st = &p->variants[v].store;
        for (int i = 0; i < st->n; i++) {
            const struct store_entry *en = &st->entries[i];
            bool seen = false;
            for (int j = 0; j < n && !seen; j++)
                seen = !strcmp(shown[j]->cfg->name, en->cfg->name) &&
                       !strcmp(shown[j]->split, en->split) && shown[j]->seed == en->seed &&
                       shown[j]->d->checksum == en->d->checksum;
            if (seen)
                continue;
            shown[n++] = en;
            fprintf(f, "  - {name: ");
            yaml_quoted(f, en->cfg->name);
            fprintf(f, ", split: %s, seed: %ld, rows: %zu, crc32: \"%08x\"}\n", en->split,
                    en->seed, en->d->n, en->d->checksum);
        }
    }
    free(shown);
}

/* The resolved configuration, as a block under `config:`. */
static void yaml_config(FILE *f, const struct yt_doc *doc)
{
    char *cfg = NULL;
    size_t len = 0;
    struct err ignore;
    FILE *m = open_memstream(&cfg, &len);
    if (!m || yt_emit(doc->root, m, &ignore) != 0) {
        if (m)
            fclose(m);
        free(cfg);
        fprintf(f, "config: ~\n");
        return;
    }
    fclose(m);
    fprintf(f, "config:\n");
    for (char *line = cfg; line && *line;) {
        char *nl = strchr(line, '\n');
        int n = (int)(nl ? nl - line : (long)strlen(line));
        fprintf(f, n ? "  %.*s\n" : "%.*s\n", n, line);
        line = nl ? nl + 1 : NULL;
    }
    free(cfg);
}

struct run_record {
    int jobs;
    char started[64], finished[64];   /* finished: "" while running */
    const char *status;               /* running, done, stopped, failed */
    const char *error;                /* the message when stopped or failed */
};

/* Write dir/run.yaml atomically: provenance, then the resolved configuration. */
static int write_run_yaml(const struct setup *s, const struct run_opts *o,
                          const struct run_record *r, struct err *e)
{
    char path[4200], host[256] = "";
    snprintf(path, sizeof path, "%s/run.yaml", s->dir);
    gethostname(host, sizeof host - 1);
    struct afile af;
    int rc = afile_open(&af, path, e);
    if (rc)
        return rc;
    FILE *f = af.fp;
    fprintf(f, "# kshot run record: provenance and the resolved configuration.\n");
    fprintf(f, "kshot_version: \"%s\"\nunit_format: %d\ncommand: [", KSHOT_VERSION, PLAN_FORMAT);
    for (int i = 0; i < o->argc; i++) {
        fprintf(f, "%s", i ? ", " : "");
        yaml_quoted(f, o->argv[i]);
    }
    fprintf(f, "]\nhost: ");
    yaml_quoted(f, host);
    fprintf(f, "\nstarted: \"%s\"\nfinished: ", r->started);
    if (r->finished[0])
        fprintf(f, "\"%s\"\n", r->finished);
    else
        fprintf(f, "~\n");
    fprintf(f, "status: %s\n", r->status);
    if (r->error) {
        fprintf(f, "error: ");
        yaml_quoted(f, r->error);
        fprintf(f, "\n");
    }
    fprintf(f, "blas: {library: OpenBLAS, core: ");
    yaml_quoted(f, s->blas.core);
    fprintf(f, ", threads_per_worker: 1, config: ");
    yaml_quoted(f, s->blas.config);
    fprintf(f, "}\nworkers: %d\nshard: \"%d/%d\"\npeak_rss_kb: %ld\n", r->jobs, o->shard_i,
            o->shard_n, peak_kb());
    yaml_data(f, &s->plan);
    fprintf(f, "variants: [");
    for (int i = 0; i < s->plan.n_variants; i++) {
        fprintf(f, "%s", i ? ", " : "");
        yaml_quoted(f, s->plan.variants[i].name);
    }
    fprintf(f, "]\n");
    yaml_config(f, &s->doc);
    return afile_commit(&af, e);
}

static void timestamp(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- run ---- */

/* Must unit i be computed by this run? */
static bool to_run(const struct pool *pl, const bool *mine, int i)
{
    return mine[i] && (pl->redo[i] || !results_done(pl->dir, &pl->p->units[i]));
}

/* Queue the units of one kind this run must compute. */
static void enqueue(struct pool *pl, int kind, const bool *mine)
{
    pl->n_queue = 0;
    for (int i = 0; i < pl->p->n_units; i++)
        if (pl->p->units[i].kind == kind && to_run(pl, mine, i))
            pl->queue[pl->n_queue++] = i;
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
static int load_models(struct pool *pl, const bool *mine, struct err *e)
{
    const struct plan *p = pl->p;
    for (int i = 0; i < p->n_units; i++) {
        const struct unit *u = &p->units[i];
        if (!to_run(pl, mine, i) || u->kind != UNIT_EVAL || u->pretrain < 0)
            continue;
        const struct unit *pre = &p->units[u->pretrain];
        if (pl->models[u->pretrain].params || pl->redo[u->pretrain] || !results_done(pl->dir, pre))
            continue;
        char path[4096], tag[CKPT_TAG_MAX] = "";
        struct err why;
        err_clear(&why);
        results_model_path(pl->dir, pre->id, path, sizeof path);
        int rc = ckpt_read(path, &pl->models[u->pretrain], NULL, tag, NULL, NULL, &why);
        if (rc == ERR_NOMEM) {
            *e = why;
            return rc;
        }
        if (!rc && strcmp(tag, pre->id) != 0)
            rc = err_set(&why, ERR_IO, "%s: checkpoint of unit %s, expected %s", path, tag, pre->id);
        if (rc) {
            mlp_free(&pl->models[u->pretrain]);
            pl->redo[u->pretrain] = true;
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
static int run_units(struct pool *pl, const struct setup *s, const struct run_opts *o,
                     const bool *mine, int jobs, struct err *e)
{
    int rc = load_models(pl, mine, e);
    if (rc)
        return rc;
    for (int i = 0; i < s->plan.n_units; i++)
        if (to_run(pl, mine, i))
            pl->total++, pl->flops_total += s->plan.units[i].flops;
    int workers = jobs < pl->total ? jobs : pl->total > 0 ? pl->total : 1;
    if (!o->quiet)
        fprintf(stderr, "kshot: %s: %d units, %d to run with %d worker%s -> %s\n", s->base.name,
                s->plan.n_units, pl->total, workers, workers == 1 ? "" : "s", s->dir);
    if (o->shard_n == 1 && pl->total > 0)
        remove_combined(s->dir);
    pl->t0 = now();
    enqueue(pl, UNIT_PRETRAIN, mine);
    run_pool(pl, jobs);
    if (!pl->failed && !stop_flag) {
        enqueue(pl, UNIT_EVAL, mine);
        run_pool(pl, jobs);
    }
    if (pl->tty && !o->quiet && pl->done)
        fprintf(stderr, "\n");
    if (pl->failed) {
        *e = pl->first;
        return pl->failed;
    }
    if (signals)
        return err_set(e, ERR_STOPPED, "stopped by a signal after %d of %d units; finished units "
                       "are saved in %s, run the same command again to finish", pl->done,
                       pl->total, s->dir);
    return ERR_OK;
}

int runner_run(const struct run_opts *o, struct err *e)
{
    struct setup s;
    struct pool pl = {0};
    struct handlers h;
    struct run_record r = {.status = "running"};
    bool *mine = NULL, locked = false;
    timestamp(r.started, sizeof r.started);
    handlers_install(&h);   /* before loading: a ^C while loading is a clean stop too */
    int rc = setup(&s, o, e);
    if (!rc && signals)
        rc = err_set(e, ERR_STOPPED, "stopped by a signal before any unit ran; run the same "
                     "command again");
    if (rc || (rc = results_open(s.dir, e)))
        goto done;
    r.jobs = o->jobs > 0 ? o->jobs : count_cpus();
    if ((rc = write_run_yaml(&s, o, &r, e)))
        goto done;
    pl.p = &s.plan, pl.dir = s.dir, pl.quiet = o->quiet, pl.tty = isatty(2);
    pl.queue = malloc(sizeof *pl.queue * (size_t)s.plan.n_units);
    pl.models = calloc((size_t)s.plan.n_units, sizeof *pl.models);
    pl.redo = calloc((size_t)s.plan.n_units, sizeof *pl.redo);
    mine = malloc(sizeof *mine * (size_t)s.plan.n_units);
    if (!pl.queue || !pl.models || !pl.redo || !mine) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    pthread_mutex_init(&pl.lock, NULL);
    locked = true;
    select_units(&s.plan, o, mine);
    rc = run_units(&pl, &s, o, mine, r.jobs, e);
    if (!rc)
        rc = finish(&s, o, e);
    timestamp(r.finished, sizeof r.finished);
    r.status = rc == 0 ? "done" : rc == ERR_STOPPED ? "stopped" : "failed";
    r.error = rc ? e->msg : NULL;
    struct err werr;
    err_clear(&werr);
    int wrc = write_run_yaml(&s, o, &r, &werr);
    if (wrc && !rc)
        rc = wrc, *e = werr;
done:
    if (pl.models)
        for (int i = 0; i < s.plan.n_units; i++)
            mlp_free(&pl.models[i]);
    if (locked)
        pthread_mutex_destroy(&pl.lock);
    free(pl.models), free(pl.queue), free(pl.redo), free(mine);
    setup_free(&s);
    handlers_restore(&h);
    return rc;
}
