/* compare: tables of learners × shot counts with paired differences and tests. */
#include "harness/compare.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/columns.h"
#include "harness/csvout.h"
#include "harness/runrec.h"
#include "harness/stats.h"
#include "harness/yamltree.h"

/* ---- episodes.csv in memory ---- */

struct strs {                    /* interned strings: an index per distinct text */
    char **s;
    int n, cap;
};

static int intern(struct strs *t, const char *s)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->s[i], s) == 0)
            return i;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        char **more = realloc(t->s, sizeof *more * (size_t)cap);
        if (!more)
            return -1;
        t->s = more, t->cap = cap;
    }
    return (t->s[t->n] = strdup(s)) ? t->n++ : -1;
}

static void strs_free(struct strs *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
}

struct row {
    int variant, target, learner, probe, param, metric;
    int shown;                         /* the variant printed (variant groups the tables) */
    long shots, seed, episode, step;   /* step −1: a learner without steps */
    double v;                          /* NaN: empty */
};

struct data {
    const char *path;
    const char *prefix;              /* "<dir>/" before each learner's name, or "" */
    struct strs variants, targets, learners, probes, params, metrics;
    struct row *r;
    long n, cap;
};

static int add_row(void *ctx, const char *const *f, int n_fields, long record, struct err *e)
{
    struct data *d = ctx;
    if (d->n == d->cap) {
        long cap = d->cap ? 2 * d->cap : 1024;
        struct row *more = realloc(d->r, sizeof *more * (size_t)cap);
        if (!more)
            return err_set(e, ERR_NOMEM, "%s: record %ld: out of memory", d->path, record);
        d->r = more, d->cap = cap;
    }
    struct row *r = &d->r[d->n];
    char *end;
    r->v = f[EP_VALUE][0] ? strtod(f[EP_VALUE], &end) : NAN;
    if (f[EP_VALUE][0] && *end)
        return err_set(e, ERR_IO, "%s: record %ld: value '%s' is not a number", d->path, record,
                       f[EP_VALUE]);
    r->shots = strtol(f[EP_SHOTS], NULL, 10), r->seed = strtol(f[EP_SEED], NULL, 10);
    r->episode = strtol(f[EP_EPISODE], NULL, 10);
    r->step = f[EP_STEP][0] ? strtol(f[EP_STEP], NULL, 10) : -1;
    r->variant = intern(&d->variants, f[EP_VARIANT]), r->target = intern(&d->targets, f[EP_TARGET]);
    char learner[512];
    snprintf(learner, sizeof learner, "%s%s", d->prefix, f[EP_LEARNER]);
    r->learner = intern(&d->learners, learner), r->probe = intern(&d->probes, f[EP_PROBE]);
    r->param = intern(&d->params, f[EP_PARAM]), r->metric = intern(&d->metrics, f[EP_METRIC]);
    r->shown = r->variant;
    if (r->variant < 0 || r->target < 0 || r->learner < 0 || r->probe < 0 || r->param < 0 ||
        r->metric < 0)
        return err_set(e, ERR_NOMEM, "%s: record %ld: out of memory", d->path, record);
    d->n++;
    return ERR_OK;
}

/* Rows of one table together, then by shots, learner, seed and episode. */
static int by_cell(const void *pa, const void *pb)
{
    const struct row *a = pa, *b = pb;
    const long ka[] = {a->variant, a->target, a->probe, a->param, a->shots, a->learner, a->seed,
                       a->episode};
    const long kb[] = {b->variant, b->target, b->probe, b->param, b->shots, b->learner, b->seed,
                       b->episode};
    for (int i = 0; i < 8; i++)
        if (ka[i] != kb[i])
            return ka[i] < kb[i] ? -1 : 1;
    return 0;
}

/* ---- statistics of a cell ---- */

struct pooled {
    long n;
    double mean, ci95, p_t;
};

/* Pooled like summary.csv (rows sorted by seed): per seed over episodes,
 * then over the seed means when there are two or more; p_t the t-test of
 * mean 0 on the same footing. */
static void pool(const double *v, const long *seed, long n, struct pooled *out)
{
    struct stats_summary ps[256], all;
    int s = 0;
    if (n == 0) {
        *out = (struct pooled){0, NAN, NAN, NAN};
        return;
    }
    ps[0] = (struct stats_summary){0};   /* n > 0: the loop fills it; the compiler cannot see so */
    for (long i = 0; i < n && s < 256;) {
        long j = i;
        while (j < n && seed[j] == seed[i])
            j++;
        stats_summarise(v + i, j - i, &ps[s++]);
        i = j;
    }
    stats_pool_seeds(ps, s, &all);
    out->n = n, out->mean = all.mean, out->ci95 = all.ci95;
    double df = s >= 2 ? s - 1 : (double)n - 1, k = s >= 2 ? s : (double)n;
    out->p_t = df > 0 && all.std > 0 ? stats_t_p(all.mean / (all.std / sqrt(k)), df)
               : df > 0 && all.std == 0 ? (all.mean == 0 ? 1.0 : 0.0) : NAN;
}

struct cell {
    const struct row *r;         /* the learner's rows of the column, by seed and episode */
    long n;
    struct pooled stat;          /* of its values */
    bool has_diff;
    struct pooled diff;          /* the paired difference to the baseline */
    double p_wilcoxon, p_holm;
    bool best, tied;
};

/* The paired differences sign·(a − b) over episodes both have, pooled; the
 * Wilcoxon p-value over them. Scratch d and sd hold max(na, nb) each. */
static void paired(const struct cell *a, const struct cell *b, int sign, double *d, long *sd,
                   struct pooled *out, double *p_w)
{
    long m = 0;
    for (long i = 0, j = 0; i < a->n && j < b->n;) {
        const struct row *x = &a->r[i], *y = &b->r[j];
        if (x->seed != y->seed || x->episode != y->episode) {
            bool before = x->seed != y->seed ? x->seed < y->seed : x->episode < y->episode;
            i += before, j += !before;
            continue;
        }
        if (!isnan(x->v) && !isnan(y->v))
            d[m] = sign * (x->v - y->v), sd[m++] = x->seed;
        i++, j++;
    }
    pool(d, sd, m, out);
    if (p_w)
        *p_w = stats_wilcoxon_p(d, m);
}

/* ---- printing ---- */

static void num(char *buf, size_t cap, double v, const char *fmt)
{
    if (isnan(v))
        snprintf(buf, cap, "%s", "");
    else
        snprintf(buf, cap, fmt, v);
}

static int print_table(FILE *out, const struct compare_opts *o, const struct data *dt,
                       const char *metric, const struct row *first, struct cell *cells,
                       int n_cells, bool header, int base)
{
    char mean[64], ci[64], diff[64], dci[64], pt[32], pw[32], ph[32], step[24], param[64];
    const char *target = dt->targets.s[first->target], *probe = dt->probes.s[first->probe];
    snprintf(param, sizeof param, "%s", dt->params.s[first->param]);
    if (o->format == COMPARE_CSV) {
        if (header)
            fprintf(out, "target,metric,step,probe,param,learner,shots,n,mean,ci95,diff,diff_ci95,"
                         "p_t,p_wilcoxon,p_holm,best,tied,variant\n");
        for (int c = 0; c < n_cells; c++) {
            const struct cell *x = &cells[c];
            struct csvrec r;
            if (csvrec_init(&r, 18))
                return ERR_NOMEM;
            csvrec_str(&r, 0, target), csvrec_str(&r, 1, metric);
            if (x->r[0].step >= 0)
                csvrec_int(&r, 2, x->r[0].step);
            else
                csvrec_empty(&r, 2);
            csvrec_str(&r, 3, probe), csvrec_str(&r, 4, param);
            csvrec_str(&r, 5, dt->learners.s[x->r[0].learner]), csvrec_int(&r, 6, x->r[0].shots);
            csvrec_int(&r, 7, x->stat.n), csvrec_f32(&r, 8, x->stat.mean);
            csvrec_f32(&r, 9, x->stat.ci95);
            csvrec_f32(&r, 10, x->has_diff ? x->diff.mean : NAN);
            csvrec_f32(&r, 11, x->has_diff ? x->diff.ci95 : NAN);
            csvrec_f32(&r, 12, x->has_diff ? x->diff.p_t : NAN);
            csvrec_f32(&r, 13, x->has_diff ? x->p_wilcoxon : NAN);
            csvrec_f32(&r, 14, x->has_diff ? x->p_holm : NAN);
            csvrec_int(&r, 15, x->best), csvrec_int(&r, 16, x->tied);
            csvrec_str(&r, 17, dt->variants.s[x->r[0].shown]);
            int rc = csvrec_write(out, &r, 0, 18);
            csvrec_free(&r);
            if (rc)
                return rc;
        }
        return ferror(out) ? ERR_IO : ERR_OK;
    }
    const bool md = o->format == COMPARE_MARKDOWN;
    fprintf(out, "\n%s%s: %s%s%s%s%s, variant %s; baseline %s%s\n", md ? "**" : "", target, metric,
            probe[0] ? " under " : "", probe, param[0] ? " " : "", param,
            dt->variants.s[first->variant], base >= 0 ? dt->learners.s[base] : "none",
            md ? "**" : "");
    if (md)
        fprintf(out, "\n| learner | shots | step | n | mean ± ci95 | diff ± ci95 | p_t | p_wilcoxon "
                     "| p_holm | |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    else
        fprintf(out, "  %-14s %5s %5s %6s  %-19s  %-20s  %-9s %-10s %-9s\n", "learner", "shots",
                "step", "n", "mean ± ci95", "diff ± ci95", "p_t", "p_wilcoxon", "p_holm");
    for (int c = 0; c < n_cells; c++) {
        const struct cell *x = &cells[c];
        num(mean, sizeof mean, x->stat.mean, "%.4f"), num(ci, sizeof ci, x->stat.ci95, "%.4f");
        num(diff, sizeof diff, x->has_diff ? x->diff.mean : NAN, "%+.4f");
        num(dci, sizeof dci, x->has_diff ? x->diff.ci95 : NAN, "%.4f");
        num(pt, sizeof pt, x->has_diff ? x->diff.p_t : NAN, "%.3g");
        num(pw, sizeof pw, x->has_diff ? x->p_wilcoxon : NAN, "%.3g");
        num(ph, sizeof ph, x->has_diff ? x->p_holm : NAN, "%.3g");
        snprintf(step, sizeof step, x->r[0].step >= 0 ? "%ld" : "-", x->r[0].step);
        char ms[160], ds[160];
        snprintf(ms, sizeof ms, "%s%s%s", mean, ci[0] ? " ± " : "", ci);
        snprintf(ds, sizeof ds, "%s%s%s", diff, dci[0] ? " ± " : "", dci);
        const char *mark = x->best ? "best" : x->tied ? "tied" : "";
        if (md)
            fprintf(out, "| %s | %ld | %s | %ld | %s%s%s | %s | %s | %s | %s | %s |\n",
                    dt->learners.s[x->r[0].learner], x->r[0].shots, step, x->stat.n,
                    x->best ? "**" : "", ms, x->best ? "**" : "", ds, pt, pw, ph, mark);
        else
            fprintf(out, "  %-14s %5ld %5s %6ld  %-19s  %-20s  %-9s %-10s %-9s %s\n",
                    dt->learners.s[x->r[0].learner], x->r[0].shots, step, x->stat.n, ms, ds, pt,
                    pw, ph, mark);
    }
    return ferror(out) ? ERR_IO : ERR_OK;
}

/* ---- the comparison ---- */

/* The learner without transfer_gain rows in summary.csv, when exactly one. */
struct gain_learners {
    struct strs with_gain;
};

static int read_gains(void *ctx, const char *const *f, int n_fields, long record, struct err *e)
{
    struct gain_learners *g = ctx;
    if (strcmp(f[SUM_METRIC], "transfer_gain") == 0 && intern(&g->with_gain, f[SUM_LEARNER]) < 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    return ERR_OK;
}

static int find(const struct strs *t, const char *s)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->s[i], s) == 0)
            return i;
    return -1;
}

/* ---- several runs side by side ---- */

/* A run's record: run.yaml, or a shard's run.*.yaml (they share the config). */
static int load_record(const char *dir, struct yt_doc *doc, struct err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    if (access(path, F_OK) != 0) {
        DIR *d = opendir(dir);
        path[0] = '\0';
        for (struct dirent *de; d && !path[0] && (de = readdir(d));)
            if (runrec_is_record(de->d_name))
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (d)
            closedir(d);
        if (!path[0])
            return err_set(e, ERR_USAGE, "%s: no run record (run.yaml): compare pairs several "
                           "runs' episodes only when their records show them to be the same", dir);
    }
    int rc = yt_load_file(path, doc, e);
    if (!rc && (!doc->root || doc->root->kind != YT_MAP || !yt_find(doc->root, "config.targets")))
        rc = err_set(e, ERR_IO, "%s: not a run record of kshot (no config.targets)", path);
    return rc;
}

/* A node as one line of flow YAML, into buf ("" when absent). */
static void flow(const struct yt_node *n, char *buf, size_t cap)
{
    char *t = NULL;
    struct err ignored;
    buf[0] = '\0';
    if (n && yt_flow_text(n, &t, &ignored) == 0)
        snprintf(buf, cap, "%s", t);
    free(t);
}

/* Every entry of a record's data list for data name, as
 * "split S, seed N: rows R, crc32 X; …" in the record's order ("" if none). */
static void data_entries(const struct yt_node *root, const char *name, char *buf, size_t cap)
{
    const struct yt_node *list = yt_get(root, "data");
    buf[0] = '\0';
    for (int i = 0; list && list->kind == YT_SEQ && i < list->n_items; i++) {
        const struct yt_node *m = list->items[i];
        const struct yt_node *n = m->kind == YT_MAP ? yt_get(m, "name") : NULL;
        if (!n || n->kind != YT_SCALAR || strcmp(n->value, name) != 0)
            continue;
        const struct yt_node *sp = yt_get(m, "split"), *sd = yt_get(m, "seed");
        const struct yt_node *rows = yt_get(m, "rows"), *crc = yt_get(m, "crc32");
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%ssplit %s, seed %s: rows %s, crc32 %s", len ? "; " : "",
                 sp && sp->value ? sp->value : "?", sd && sd->value ? sd->value : "?",
                 rows && rows->value ? rows->value : "?", crc && crc->value ? crc->value : "?");
    }
}

/* Do runs a and b (records ra, rb) draw the same episodes for every target
 * they share? ERR_USAGE naming what differs otherwise. */
static int same_episodes(const char *a, const struct yt_node *ra, const char *b,
                         const struct yt_node *rb, struct err *e)
{
    const struct yt_node *ta = yt_find(ra, "config.targets"), *tb = yt_find(rb, "config.targets");
    char fa[2048], fb[2048];
    bool shared = false;
    for (int i = 0; ta->kind == YT_MAP && tb->kind == YT_MAP && i < ta->n_items; i++) {
        const char *name = ta->keys[i];
        const struct yt_node *x = ta->items[i], *y = yt_get(tb, name);
        if (!y)
            continue;
        shared = true;
        flow(x, fa, sizeof fa), flow(y, fb, sizeof fb);
        if (strcmp(fa, fb) != 0)
            return err_set(e, ERR_USAGE, "compare: %s and %s set target \"%s\" differently "
                           "(%s: %s; %s: %s), so their episodes are not the same and cannot be "
                           "paired", a, b, name, a, fa, b, fb);
        /* the data it reads: the same splits, seeds, rows and checksums in both */
        const struct yt_node *data = x->kind == YT_MAP ? yt_get(x, "data") : NULL;
        if (!data || data->kind != YT_SCALAR)
            continue;
        data_entries(ra, data->value, fa, sizeof fa), data_entries(rb, data->value, fb, sizeof fb);
        if (strcmp(fa, fb) != 0)
            return err_set(e, ERR_USAGE, "compare: %s and %s read different data \"%s\" for "
                           "target \"%s\" (%s: %s; %s: %s), so their episodes cannot be paired",
                           a, b, data->value, name, a, fa[0] ? fa : "none", b,
                           fb[0] ? fb : "none");
    }
    if (!shared)
        return err_set(e, ERR_USAGE, "compare: %s and %s have no target in common", a, b);
    return ERR_OK;
}

/* The runs' records agree on every shared target and its data. */
static int check_pairable(const struct compare_opts *o, struct err *e)
{
    struct yt_doc docs[COMPARE_MAX_DIRS];
    memset(docs, 0, sizeof docs);
    int rc = ERR_OK;
    for (int i = 0; !rc && i < o->n_dirs; i++)
        rc = load_record(o->dirs[i], &docs[i], e);
    for (int i = 1; !rc && i < o->n_dirs; i++)
        rc = same_episodes(o->dirs[0], docs[0].root, o->dirs[i], docs[i].root, e);
    for (int i = 0; i < o->n_dirs; i++)
        yt_free(&docs[i]);
    return rc;
}

/* A directory's label: its last path component (the whole path when two
 * runs' last components are equal). */
static void dir_label(const struct compare_opts *o, int i, char *buf, size_t cap)
{
    char names[COMPARE_MAX_DIRS][512];
    for (int k = 0; k < o->n_dirs; k++) {
        snprintf(names[k], sizeof names[k], "%s", o->dirs[k]);
        size_t len = strlen(names[k]);
        while (len > 1 && names[k][len - 1] == '/')
            names[k][--len] = '\0';
        const char *slash = strrchr(names[k], '/');
        if (slash)
            memmove(names[k], slash + 1, strlen(slash + 1) + 1);
    }
    bool unique = true;
    for (int k = 0; k < o->n_dirs; k++)
        unique &= k == i || strcmp(names[k], names[i]) != 0;
    snprintf(buf, cap, "%s", unique ? names[i] : o->dirs[i]);
}

/* ---- a sweep's variant chosen on validation targets ---- */

/* Which targets of dt the run record of dir marks `role: validation`
 * (val[t]); how many. */
static int validation_targets(const char *dir, const struct data *dt, bool *val, struct err *e)
{
    struct yt_doc doc = {0};
    struct err ignored;
    int n = 0;
    if (load_record(dir, &doc, &ignored) == 0) {
        const struct yt_node *ts = yt_find(doc.root, "config.targets");
        for (int t = 0; t < dt->targets.n; t++) {
            const struct yt_node *x = ts && ts->kind == YT_MAP ? yt_get(ts, dt->targets.s[t]) : NULL;
            const struct yt_node *role = x && x->kind == YT_MAP ? yt_get(x, "role") : NULL;
            val[t] = role && role->kind == YT_SCALAR && strcmp(role->value, "validation") == 0;
            n += val[t];
        }
    }
    yt_free(&doc);
    return n;
}

/* Where x is among shots[0..S), or S. */
static int shot_index(const long *shots, int S, long x)
{
    int s = 0;
    while (s < S && shots[s] != x)
        s++;
    return s;
}

/* With validation targets: for each learner, the variant whose mean over
 * the validation targets' cells (each target and shot count, clean inputs,
 * at the learner's final step; oriented by sign) is best; then only the
 * test targets' rows of that variant are kept (r[0..*n)), grouped into one
 * table per target whatever their variants. The choice is printed to out
 * (text and markdown). */
static int choose_variants(const struct compare_opts *o, struct data *dt, const bool *val,
                           int sign, long *n, FILE *out, struct err *e)
{
    for (int v = 0; v < dt->variants.n; v++)
        if (strstr(dt->variants.s[v], "targets."))
            return err_set(e, ERR_USAGE, "compare: variant \"%s\" changes a target's settings, "
                           "so the variants' episodes differ and one cannot be chosen on "
                           "validation targets for another's test targets", dt->variants.s[v]);
    const int L = dt->learners.n, V = dt->variants.n, T = dt->targets.n;
    const int clean = find(&dt->probes, "");
    long shots[64];   /* the validation cells' shot counts, in order of appearance */
    int S = 0;
    for (long i = 0; i < *n; i++) {
        const struct row *r = &dt->r[i];
        if (val[r->target] && r->probe == clean && shot_index(shots, S, r->shots) == S && S < 64)
            shots[S++] = r->shots;
    }
    size_t cells = (size_t)L * (size_t)V * (size_t)T * (size_t)(S ? S : 1);
    double *sum = calloc(cells, sizeof *sum);
    long *cnt = calloc(cells, sizeof *cnt);
    int *chosen = malloc(sizeof *chosen * (size_t)(L ? L : 1));
    if (!sum || !cnt || !chosen) {
        free(sum), free(cnt), free(chosen);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    for (long i = 0; i < *n; i++) {
        const struct row *r = &dt->r[i];
        const int s = shot_index(shots, S, r->shots);
        if (!val[r->target] || r->probe != clean || isnan(r->v) || s == S)
            continue;
        size_t k = (((size_t)r->learner * V + r->variant) * T + r->target) * S + s;
        sum[k] += r->v, cnt[k]++;
    }
    bool md = o->format == COMPARE_MARKDOWN, csv = o->format == COMPARE_CSV;
    if (!csv)
        fprintf(out, "%sVariants chosen on the validation targets%s (mean of %s over their cells; "
                "the tables below show the test targets only):\n", md ? "\n**" : "\n",
                md ? "**" : "", dt->metrics.s[dt->r[0].metric]);
    for (int l = 0; l < L; l++) {
        double best = NAN;
        chosen[l] = -1;
        for (int v = 0; v < V; v++) {
            double total = 0;
            int m = 0;
            for (int t = 0; t < T; t++)
                for (int s = 0; s < S; s++) {
                    size_t k = (((size_t)l * V + v) * T + t) * S + s;
                    if (cnt[k])
                        total += sum[k] / (double)cnt[k], m++;
                }
            if (m && (chosen[l] < 0 || sign * total / m > sign * best))
                chosen[l] = v, best = total / m;
        }
        if (!csv && chosen[l] >= 0)
            fprintf(out, "%s%s: %s (%.4f)\n", md ? "- " : "  ", dt->learners.s[l],
                    dt->variants.s[chosen[l]], best);
    }
    int group = intern(&dt->variants, "chosen on validation");
    long m = 0;
    for (long i = 0; group >= 0 && i < *n; i++) {
        struct row r = dt->r[i];
        if (val[r.target] || chosen[r.learner] != r.variant)
            continue;
        r.variant = group;
        dt->r[m++] = r;
    }
    *n = m;
    free(sum), free(cnt), free(chosen);
    return group < 0 ? err_set(e, ERR_NOMEM, "out of memory") : ERR_OK;
}

int compare_run(const struct compare_opts *o, FILE *out, struct err *e)
{
    char path[4200], prefix[600] = "";
    struct data dt = {.path = path, .prefix = prefix};
    struct gain_learners gl = {0};
    double *d = NULL;
    long *sd = NULL, *final = NULL;
    struct cell *cells = NULL;
    int rc = o->n_dirs > 1 ? check_pairable(o, e) : ERR_OK;
    for (int k = 0; !rc && k < o->n_dirs; k++) {
        if (o->n_dirs > 1) {
            dir_label(o, k, prefix, sizeof prefix - 1);
            strcat(prefix, "/");
        }
        snprintf(path, sizeof path, "%s/episodes.csv", o->dirs[k]);
        rc = columns_read(path, &columns_episodes, 0, add_row, &dt, e);
    }
    if (rc)
        goto done;
    /* the metric */
    const char *metric = o->metric ? o->metric : find(&dt.metrics, "accuracy") >= 0 ? "accuracy"
                                                                                   : "mse";
    const int mi = find(&dt.metrics, metric);
    if (mi < 0) {
        rc = err_set(e, ERR_USAGE, "%s has no metric \"%s\"", path, metric);
        goto done;
    }
    const int sign = columns_metric_sign(metric);
    /* the baseline */
    int base = -1;
    if (o->baseline) {
        if ((base = find(&dt.learners, o->baseline)) < 0) {
            rc = err_set(e, ERR_USAGE, "%s has no learner \"%s\" to compare with", path,
                         o->baseline);
            goto done;
        }
    } else {
        /* the first run's: its learner without gain rows, in the first run's names */
        char sum[4200], name[700];
        snprintf(sum, sizeof sum, "%s/summary.csv", o->dirs[0]);
        if ((rc = columns_read(sum, &columns_summary, 0, read_gains, &gl, e)))
            goto done;
        if (o->n_dirs > 1)
            dir_label(o, 0, prefix, sizeof prefix - 1), strcat(prefix, "/");
        for (int l = 0; gl.with_gain.n > 0 && l < dt.learners.n; l++) {
            const char *full = dt.learners.s[l];
            if (strncmp(full, prefix, strlen(prefix)) != 0)
                continue;
            snprintf(name, sizeof name, "%s", full + strlen(prefix));
            if (find(&gl.with_gain, name) < 0)
                base = base == -1 ? l : -2;
        }
        base = base < 0 ? -1 : base;
    }
    /* each learner's final step, then its rows of the metric at that step */
    final = malloc(sizeof *final * (size_t)(dt.learners.n ? dt.learners.n : 1));
    if (!final) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int l = 0; l < dt.learners.n; l++)
        final[l] = -2;
    for (long i = 0; i < dt.n; i++)
        if (dt.r[i].metric == mi && dt.r[i].step > final[dt.r[i].learner])
            final[dt.r[i].learner] = dt.r[i].step;
    long n = 0;
    for (long i = 0; i < dt.n; i++)
        if (dt.r[i].metric == mi && dt.r[i].step == final[dt.r[i].learner])
            dt.r[n++] = dt.r[i];
    /* validation targets (one run): each learner's variant chosen on them */
    bool *val = calloc((size_t)dt.targets.n + 1, sizeof *val);
    if (!val) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    if (o->n_dirs == 1 && n > 0 && validation_targets(o->dirs[0], &dt, val, e) > 0)
        rc = choose_variants(o, &dt, val, sign, &n, out, e);
    free(val);
    if (rc)
        goto done;
    qsort(dt.r, (size_t)n, sizeof *dt.r, by_cell);
    d = malloc(sizeof *d * (size_t)(n ? n : 1)), sd = malloc(sizeof *sd * (size_t)(n ? n : 1));
    cells = malloc(sizeof *cells * (size_t)(dt.learners.n ? dt.learners.n : 1) * 64);
    if (!d || !sd || !cells) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    bool header = true;
    for (long t0 = 0; t0 < n && !rc;) {
        /* one table: the rows of a variant, target, probe and param */
        long t1 = t0;
        while (t1 < n && dt.r[t1].variant == dt.r[t0].variant && dt.r[t1].target == dt.r[t0].target &&
               dt.r[t1].probe == dt.r[t0].probe && dt.r[t1].param == dt.r[t0].param)
            t1++;
        int nc = 0, cap = dt.learners.n * 64;
        for (long i = t0; i < t1 && nc < cap;) {   /* cells: shots, then learner */
            long j = i;
            while (j < t1 && dt.r[j].shots == dt.r[i].shots && dt.r[j].learner == dt.r[i].learner)
                j++;
            struct cell *x = &cells[nc++];
            memset(x, 0, sizeof *x);
            x->r = &dt.r[i], x->n = j - i;
            long m = 0;
            for (long k = i; k < j; k++)
                if (!isnan(dt.r[k].v))
                    d[m] = dt.r[k].v, sd[m++] = dt.r[k].seed;
            pool(d, sd, m, &x->stat);
            i = j;
        }
        double *holm = malloc(sizeof *holm * (size_t)(nc ? nc : 1));
        if (!holm) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            break;
        }
        for (int c = 0; c < nc; c++) {
            struct cell *x = &cells[c];
            holm[c] = NAN;
            for (int b = 0; b < nc; b++)   /* the baseline of the same column */
                if (base >= 0 && cells[b].r[0].learner == base &&
                    cells[b].r[0].shots == x->r[0].shots && x->r[0].learner != base) {
                    paired(x, &cells[b], sign, d, sd, &x->diff, &x->p_wilcoxon);
                    x->has_diff = true, holm[c] = x->diff.p_t;
                }
        }
        stats_holm(holm, nc);
        for (int c = 0; c < nc; c++)
            cells[c].p_holm = holm[c];
        free(holm);
        for (int c = 0; c < nc; c++) {   /* the best of each column, and who ties it */
            int best = -1;
            for (int k = 0; k < nc; k++)
                if (cells[k].r[0].shots == cells[c].r[0].shots && !isnan(cells[k].stat.mean) &&
                    (best < 0 || sign * cells[k].stat.mean > sign * cells[best].stat.mean))
                    best = k;
            if (best == c) {
                cells[c].best = true;
            } else if (best >= 0) {
                struct pooled pd;
                paired(&cells[c], &cells[best], sign, d, sd, &pd, NULL);
                cells[c].tied = !isnan(pd.ci95) && fabs(pd.mean) <= pd.ci95;
            }
        }
        rc = print_table(out, o, &dt, metric, &dt.r[t0], cells, nc, header, base);
        header = false;
        if (rc)
            rc = err_set(e, rc, "cannot print the comparison: %s", strerror(errno));
        t0 = t1;
    }
done:
    free(d), free(sd), free(final), free(cells), free(dt.r);
    strs_free(&dt.variants), strs_free(&dt.targets), strs_free(&dt.learners);
    strs_free(&dt.probes), strs_free(&dt.params), strs_free(&dt.metrics);
    strs_free(&gl.with_gain);
    return rc;
}
