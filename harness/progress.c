/* progress: the live line and the log lines, under one mutex. */
#include "harness/progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

#include "harness/base/meter.h"

struct slot {                   /* what one worker runs */
    int unit;                   /* -1: idle */
    const struct unit_costs *c;
    long first;                 /* eval: the block's first episode */
};

struct progress {
    const struct plan *p;
    bool quiet, tty;
    int done, total, workers;
    double flops_done;          /* finished pretrainings and blocks of episodes */
    uint64_t flops_total;
    double t0;
    pthread_mutex_t lock;
    bool ticking;               /* the live-line thread runs while set */
    pthread_t ticker;
    bool ticker_on;
    struct slot slots[];        /* (workers) */
};

static void describe(const struct plan *p, const struct unit *u, char *buf, size_t cap)
{
    const struct experiment *x = &p->variants[u->variant].x;
    /* a pretraining serves every variant that shares it; it is named by the first */
    const char *sep = p->n_variants > 1 ? " " : "";
    const char *variant = p->n_variants > 1 ? p->variants[u->variant].name : "";
    if (u->kind == UNIT_PRETRAIN && u->learner >= 0 && u->shots > 0)
        snprintf(buf, cap, "%s meta-training %ld-shot seed %ld%s%s", x->learners[u->learner].name,
                 u->shots, u->seed, sep, variant);
    else if (u->kind == UNIT_PRETRAIN && u->learner >= 0)
        snprintf(buf, cap, "%s meta-training seed %ld%s%s", x->learners[u->learner].name, u->seed,
                 sep, variant);
    else if (u->kind == UNIT_PRETRAIN)
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

/* Fraction of the estimated work done, counting the finished episodes of
 * running units. Called with the lock held. */
static double fraction_done(const struct progress *pr)
{
    double f = pr->flops_done;
    for (int w = 0; w < pr->workers; w++) {
        const struct slot *s = &pr->slots[w];
        if (s->unit < 0 || !s->c)
            continue;
        const struct unit *u = &pr->p->units[s->unit];
        const struct experiment *x = &pr->p->variants[u->variant].x;
        if (u->kind == UNIT_EVAL)
            f += (double)u->flops * (double)s->c->episodes / (double)x->targets[u->target].episodes;
    }
    return pr->flops_total ? f / (double)pr->flops_total : (double)pr->done / pr->total;
}

static int terminal_width(void)
{
    struct winsize ws;
    return ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 100;
}

/* Called with the lock held. */
static void live_line(struct progress *pr)
{
    char line[2048], what[1024], el[32], eta[32];
    double elapsed = meter_wall() - pr->t0, frac = fraction_done(pr);
    fmt_time(elapsed, el, sizeof el);
    fmt_time(frac > 0 ? elapsed * (1 - frac) / frac : -1, eta, sizeof eta);
    int n = snprintf(line, sizeof line, "[%d/%d] %s elapsed, ETA %s |", pr->done, pr->total, el, eta);
    for (int w = 0; w < pr->workers && n < (int)sizeof line; w++) {
        const struct slot *s = &pr->slots[w];
        if (s->unit < 0 || !s->c)
            continue;
        const struct unit *u = &pr->p->units[s->unit];
        describe(pr->p, u, what, sizeof what);
        if (u->kind == UNIT_EVAL)
            n += snprintf(line + n, sizeof line - n, " %s %ld/%ld;", what,
                          s->first + (long)s->c->episodes,
                          pr->p->variants[u->variant].x.targets[u->target].episodes);
        else
            n += snprintf(line + n, sizeof line - n, " %s;", what);
    }
    fprintf(stderr, "\r\033[K%.*s", terminal_width() - 1, line);
    fflush(stderr);
}

static void *tick(void *arg)
{
    struct progress *pr = arg;
    const struct timespec half = {0, 500000000};
    for (;;) {
        pthread_mutex_lock(&pr->lock);
        bool on = pr->ticking;
        if (on)
            live_line(pr);
        pthread_mutex_unlock(&pr->lock);
        if (!on)
            return NULL;
        nanosleep(&half, NULL);
    }
}

struct progress *progress_new(const struct plan *p, bool quiet, bool tty, int total,
                              uint64_t flops_total, int workers)
{
    workers = workers > 0 ? workers : 1;
    struct progress *pr = calloc(1, sizeof *pr + sizeof pr->slots[0] * (size_t)workers);
    if (!pr)
        return NULL;
    pr->p = p, pr->quiet = quiet, pr->tty = tty, pr->total = total;
    pr->flops_total = flops_total, pr->workers = workers, pr->t0 = meter_wall();
    for (int w = 0; w < workers; w++)
        pr->slots[w] = (struct slot){-1, NULL, 0};
    pthread_mutex_init(&pr->lock, NULL);
    pr->ticking = tty && !quiet && total > 0;
    pr->ticker_on = pr->ticking && pthread_create(&pr->ticker, NULL, tick, pr) == 0;
    return pr;
}

void progress_start(struct progress *pr, int worker, int unit, const struct unit_costs *c,
                    long first)
{
    pthread_mutex_lock(&pr->lock);
    if (worker < pr->workers)
        pr->slots[worker] = (struct slot){unit, c, first};
    pthread_mutex_unlock(&pr->lock);
}

void progress_end(struct progress *pr, int worker, bool finished, double secs)
{
    pthread_mutex_lock(&pr->lock);
    struct slot s = worker < pr->workers ? pr->slots[worker] : (struct slot){-1, NULL, 0};
    if (worker < pr->workers)
        pr->slots[worker] = (struct slot){-1, NULL, 0};
    const struct unit *u = s.unit >= 0 ? &pr->p->units[s.unit] : NULL;
    if (u && u->kind == UNIT_EVAL && s.c)   /* the episodes this worker finished */
        pr->flops_done += (double)u->flops * (double)s.c->episodes /
                          (double)pr->p->variants[u->variant].x.targets[u->target].episodes;
    else if (u && finished)
        pr->flops_done += (double)u->flops;
    if (finished && u) {
        pr->done++;
        if (!pr->quiet && !pr->tty) {   /* a terminal gets the live line instead */
            char what[1024], el[32], eta[32];
            double elapsed = meter_wall() - pr->t0;
            double frac = pr->flops_total ? pr->flops_done / (double)pr->flops_total
                                          : (double)pr->done / pr->total;
            describe(pr->p, u, what, sizeof what);
            fmt_time(elapsed, el, sizeof el);
            fmt_time(frac > 0 ? elapsed * (1 - frac) / frac : -1, eta, sizeof eta);
            fprintf(stderr, "kshot: [%d/%d] %s done in %.1fs (elapsed %s, ETA %s)\n", pr->done,
                    pr->total, what, secs, el, eta);
            fflush(stderr);
        }
    }
    pthread_mutex_unlock(&pr->lock);
}

int progress_done(const struct progress *pr)
{
    return pr->done;
}

void progress_free(struct progress *pr)
{
    if (!pr)
        return;
    if (pr->ticker_on) {
        pthread_mutex_lock(&pr->lock);
        pr->ticking = false;
        live_line(pr);   /* the final counts */
        pthread_mutex_unlock(&pr->lock);
        pthread_join(pr->ticker, NULL);
        if (pr->done)
            fprintf(stderr, "\n");
    }
    pthread_mutex_destroy(&pr->lock);
    free(pr);
}
