/* summary: episodes.csv rows hashed into per-seed value arrays, summarised, pooled and printed.
 *
 * episodes.csv may hold millions of rows, so a row finds its values array
 * with one hash lookup on (cell key, seed), plus one on the cell key the
 * first time a seed shows up in a cell: no scan over cells or seeds. A key
 * is its fields joined by NUL bytes, which no field contains (csvin rejects
 * them), so the joining is unambiguous and the stored key splits back into
 * C strings.
 *
 * Not here: the statistics (stats), quoting and number text (csvout),
 * atomic replacement (fsutil). The printed table is for reading, not for
 * parsing: summary.csv is the contract, the table's layout may change. */
#include "harness/summary.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/keymap.h"
#include "harness/columns.h"
#include "harness/curves.h"
#include "harness/csvout.h"
#include "harness/base/fsutil.h"
#include "harness/stats.h"


/* The double text spells: all of it one number in strtod's syntax ('.' as
 * the decimal point: kshot never calls setlocale), not NaN, no blanks. */
static int parse_number(const char *text, double *v)
{
    char *end;
    if (text[0] == '\0' || isspace((unsigned char)text[0]))
        return -1;
    *v = strtod(text, &end);
    return *end == '\0' && !isnan(*v) ? 0 : -1;
}

/* ---- grouping episodes.csv ---- */

struct sample {             /* one seed's values in one cell */
    double *v;              /* (n) non-empty values, in file order */
    size_t n, cap;
    long n_failed;          /* empty values */
};

struct group {              /* one cell key */
    size_t *samples;        /* (n) sample ids, seeds in order of first appearance */
    size_t n, cap;
};

struct builder {
    const char *path;
    struct keymap group_ids;    /* cell key → group id */
    struct keymap sample_ids;   /* cell key NUL seed → sample id */
    struct group *groups;       /* (n_groups) */
    size_t n_groups, groups_cap;
    struct sample *samples;     /* (n_samples) */
    size_t n_samples, samples_cap;
    char *key;                  /* the current record's key (scratch) */
    size_t key_cap;
};

static void builder_free(struct builder *b)
{
    for (size_t i = 0; i < b->n_groups; i++)
        free(b->groups[i].samples);
    for (size_t i = 0; i < b->n_samples; i++)
        free(b->samples[i].v);
    free(b->groups);
    free(b->samples);
    free(b->key);
    keymap_free(&b->group_ids);
    keymap_free(&b->sample_ids);
}

static void builder_init(struct builder *b, const char *path)
{
    memset(b, 0, sizeof *b);
    b->path = path;
}

/* The cell key (summary.csv's first SUM_N_KEY columns, read from these
 * columns of episodes.csv), then the seed: a sample's key. */
static const int sample_col[SUM_N_KEY + 1] = {
    EP_EXPERIMENT, EP_VARIANT, EP_SOURCE, EP_TARGET, EP_LEARNER, EP_WAYS, EP_SHOTS, EP_STEP,
    EP_PROBE, EP_PARAM, EP_METRIC, EP_SEED,
};

/* b->key = the record's key fields, then seed, each followed by a NUL;
 * *key_len its length without the last NUL, *group_len the length of the
 * cell key alone (without the NUL before the seed). */
static int build_key(struct builder *b, const char *const *f, size_t *key_len, size_t *group_len)
{
    long len = keymap_join(&b->key, &b->key_cap, f, sample_col, SUM_N_KEY + 1);
    if (len < 0)
        return ERR_NOMEM;
    *key_len = (size_t)len;
    *group_len = (size_t)len - strlen(f[EP_SEED]) - 1;
    return 0;
}

/* Sample id (just added to sample_ids) for b->key: add it to its group,
 * making the group if the cell key is new. */
static int new_sample(struct builder *b, size_t id, size_t group_len)
{
    assert(id == b->n_samples);
    struct sample *samples = keymap_reserve(b->samples, &b->samples_cap, id + 1, sizeof *samples);
    if (!samples)
        return ERR_NOMEM;
    b->samples = samples;
    samples[b->n_samples++] = (struct sample){0};
    size_t g;
    int added = keymap_put(&b->group_ids, b->key, group_len, &g);
    if (added < 0)
        return ERR_NOMEM;
    if (added) {
        struct group *groups = keymap_reserve(b->groups, &b->groups_cap, g + 1, sizeof *groups);
        if (!groups)
            return ERR_NOMEM;
        b->groups = groups;
        groups[b->n_groups++] = (struct group){0};
    }
    struct group *gr = &b->groups[g];
    size_t *ids = keymap_reserve(gr->samples, &gr->cap, gr->n + 1, sizeof *ids);
    if (!ids)
        return ERR_NOMEM;
    gr->samples = ids;
    ids[gr->n++] = id;
    return 0;
}

/* File a value (NaN: an empty one) under the cell and seed of fields f. */
static int builder_add(struct builder *b, const char *const *f, double v, long record,
                       struct err *e)
{
    size_t key_len, group_len, id = 0;
    int rc = build_key(b, f, &key_len, &group_len);
    if (rc == 0)
        rc = keymap_put(&b->sample_ids, b->key, key_len, &id);
    if (rc == 1)   /* a seed new to its cell */
        rc = new_sample(b, id, group_len);
    if (rc < 0)
        return err_set(e, ERR_NOMEM, "%s: record %ld: out of memory", b->path, record);
    struct sample *s = &b->samples[id];
    if (isnan(v)) {
        s->n_failed++;
        return 0;
    }
    double *x = keymap_reserve(s->v, &s->cap, s->n + 1, sizeof *x);
    if (!x)
        return err_set(e, ERR_NOMEM, "%s: record %ld: out of memory", b->path, record);
    s->v = x;
    x[s->n++] = v;
    return 0;
}

/* A record's value: a number, or NaN when empty. */
static int record_value(const char *path, const char *const *f, long record, double *v,
                        struct err *e)
{
    const char *text = f[EP_VALUE];
    *v = NAN;
    if (text[0] != '\0' && parse_number(text, v) != 0)
        return err_set(e, ERR_IO, "%s: record %ld: value '%s' is not a number (expected a "
                       "decimal number, or empty for a failed episode)", path, record, text);
    return 0;
}

/* csvin callback: file one episodes.csv record under its cell and seed. */
static int add_record(void *ctx, const char *const *f, int n_fields, long record, struct err *e)
{
    struct builder *b = ctx;
    double v;
    int rc = record_value(b->path, f, record, &v, e);
    return rc ? rc : builder_add(b, f, v, record, e);
}

/* ---- transfer gain: paired differences to the baseline ----
 *
 * The primary metric of a target is accuracy (classification) or mse
 * (regression, its sign flipped so that a positive gain is always better
 * than the baseline). A pass over episodes.csv keeps the baseline's value
 * at its final (largest) step for every episode — keyed by experiment,
 * variant, source, target, ways, shots, probe, param, metric, seed and
 * episode — and a second pass files every other learner's value at every
 * step minus that, under its cell with metric transfer_gain. An episode
 * either side left empty counts as failed. */

static const int pair_col[] = {
    EP_EXPERIMENT, EP_VARIANT, EP_SOURCE, EP_TARGET, EP_WAYS, EP_SHOTS, EP_PROBE, EP_PARAM,
    EP_METRIC, EP_SEED, EP_EPISODE,
};
#define N_PAIR ((int)(sizeof pair_col / sizeof pair_col[0]))

struct kept {
    long step;                  /* the baseline's final step so far; −1: a kind without steps */
    double value;               /* its value there, NaN when empty */
};

struct pairing {
    const char *path, *baseline;
    struct keymap ids;          /* pair key → index into kept */
    struct kept *kept;
    size_t cap;
    char *key;
    size_t key_cap;
    struct builder *gains;
};

/* The primary metrics' orientation (accuracy +1, mse −1); 0 for the others. */
static int primary_sign(const char *metric)
{
    bool primary = strcmp(metric, "accuracy") == 0 || strcmp(metric, "mse") == 0;
    return primary ? columns_metric_sign(metric) : 0;
}

/* pr->key = the record's pair key; its length, or −1 out of memory. */
static long pair_key(struct pairing *pr, const char *const *f)
{
    return keymap_join(&pr->key, &pr->key_cap, f, pair_col, N_PAIR);
}

/* csvin callback, first pass: the baseline's values at its final step. */
static int add_baseline(void *ctx, const char *const *f, int n_fields, long record,
                        struct err *e)
{
    struct pairing *pr = ctx;
    if (strcmp(f[EP_LEARNER], pr->baseline) != 0 || !primary_sign(f[EP_METRIC]))
        return 0;
    double v;
    int rc = record_value(pr->path, f, record, &v, e);
    if (rc)
        return rc;
    long step = f[EP_STEP][0] ? strtol(f[EP_STEP], NULL, 10) : -1;
    long len = pair_key(pr, f);
    size_t id;
    int added = len < 0 ? ERR_NOMEM : keymap_put(&pr->ids, pr->key, (size_t)len, &id);
    if (added == 1) {
        struct kept *k = keymap_reserve(pr->kept, &pr->cap, id + 1, sizeof *k);
        if (k)
            pr->kept = k, k[id] = (struct kept){LONG_MIN, NAN};
        else
            added = ERR_NOMEM;
    }
    if (added < 0)
        return err_set(e, ERR_NOMEM, "%s: record %ld: out of memory", pr->path, record);
    if (step > pr->kept[id].step)
        pr->kept[id] = (struct kept){step, v};
    return 0;
}

/* csvin callback, second pass: every other learner's paired differences. */
static int add_gain(void *ctx, const char *const *f, int n_fields, long record, struct err *e)
{
    struct pairing *pr = ctx;
    int sign = primary_sign(f[EP_METRIC]);
    if (!sign || strcmp(f[EP_LEARNER], pr->baseline) == 0)
        return 0;
    long len = pair_key(pr, f);
    if (len < 0)
        return err_set(e, ERR_NOMEM, "%s: record %ld: out of memory", pr->path, record);
    size_t id;
    if (keymap_find(&pr->ids, pr->key, (size_t)len, &id) != 0)
        return 0;   /* the baseline did not run this episode */
    double v;
    int rc = record_value(pr->path, f, record, &v, e);
    if (rc)
        return rc;
    const char *g[EP_N];
    memcpy(g, f, sizeof g);
    g[EP_METRIC] = "transfer_gain";
    return builder_add(pr->gains, g, sign * (v - pr->kept[id].value), record, e);
}

/* The first pass files every record, and keeps the baseline's values: the
 * second (add_gain) needs them all. */
struct first_pass {
    struct builder *b;
    struct pairing *pr;   /* NULL: no baseline */
};

static int add_first(void *ctx, const char *const *f, int n_fields, long record, struct err *e)
{
    struct first_pass *fp = ctx;
    int rc = add_record(fp->b, f, n_fields, record, e);
    return !rc && fp->pr ? add_baseline(fp->pr, f, n_fields, record, e) : rc;
}

static void pairing_free(struct pairing *pr)
{
    keymap_free(&pr->ids);
    free(pr->kept), free(pr->key);
}

/* ---- writing summary.csv ---- */

/* One summary.csv row; key is the group's stored key (SUM_N_KEY C strings
 * back to back, in summary.csv's column order), its metric replaced by
 * metric when that is not NULL. */
static int write_row(FILE *fp, struct csvrec *r, const char *key, const char *metric,
                     const char *seed, const struct stats_summary *s, long n_failed)
{
    csvrec_reset(r);
    for (int k = 0; k < SUM_N_KEY; k++, key += strlen(key) + 1)
        csvrec_str(r, k, k == SUM_METRIC && metric ? metric : key);
    csvrec_str(r, SUM_SEED, seed);
    csvrec_int(r, SUM_N, s->n);
    csvrec_int(r, SUM_N_FAILED, n_failed);
    csvrec_f32(r, SUM_MEAN, s->mean);
    csvrec_f32(r, SUM_STD, s->std);
    csvrec_f32(r, SUM_CI95, s->ci95);
    return csvrec_write(fp, r, 0, SUM_N_COLS);
}

/* 1 when an interval lies wholly below zero, 0 when not, NaN without one. */
static double below_zero(const struct stats_summary *s)
{
    return isnan(s->ci95) ? NAN : s->mean + s->ci95 < 0 ? 1.0 : 0.0;
}

/* Group g's rows: one per seed, then the pooled one; with negative set
 * (transfer gains), then as many negative_transfer rows: 1 where the gain's
 * interval lies wholly below zero. per_seed is scratch. */
static int write_group(const struct builder *b, size_t g, bool negative, FILE *fp,
                       struct csvrec *r, struct stats_summary **per_seed, size_t *cap)
{
    const struct group *gr = &b->groups[g];
    const char *key = keymap_key(&b->group_ids, g);
    size_t group_len = b->group_ids.keys[g].len;
    assert(gr->n > 0 && gr->n <= INT_MAX);
    struct stats_summary *ps = keymap_reserve(*per_seed, cap, gr->n, sizeof *ps);
    if (!ps)
        return ERR_NOMEM;
    *per_seed = ps;
    long failed = 0;
    for (size_t i = 0; i < gr->n; i++) {
        const struct sample *s = &b->samples[gr->samples[i]];
        const char *seed = keymap_key(&b->sample_ids, gr->samples[i]) + group_len + 1;
        stats_summarise(s->v, (long)s->n, &ps[i]);
        failed += s->n_failed;
        int rc = write_row(fp, r, key, NULL, seed, &ps[i], s->n_failed);
        if (rc)
            return rc;
    }
    struct stats_summary pooled;
    stats_pool_seeds(ps, (int)gr->n, &pooled);
    int rc = write_row(fp, r, key, NULL, "all", &pooled, failed);
    for (size_t i = 0; negative && i <= gr->n && rc == 0; i++) {
        const struct stats_summary *from = i < gr->n ? &ps[i] : &pooled;
        struct stats_summary nt = {from->n, below_zero(from), NAN, NAN};
        const struct sample *s = i < gr->n ? &b->samples[gr->samples[i]] : NULL;
        const char *seed = s ? keymap_key(&b->sample_ids, gr->samples[i]) + group_len + 1 : "all";
        rc = write_row(fp, r, key, "negative_transfer", seed, &nt, s ? s->n_failed : failed);
    }
    return rc;
}

/* ---- curves over shot counts: aulc and shots_to_threshold ---- */

struct cseed {
    const char *seed;            /* in the builder's sample key */
    struct curve_point *pt;      /* (n) */
    int n, cap;
};

struct curve {
    size_t group;                /* its first cell: the key's other fields */
    struct cseed *seeds;         /* (n) in order of appearance */
    int n, cap;
};

struct curves {
    struct keymap ids;           /* cell key with shots "" → curve */
    struct curve *c;
    size_t n, cap;
    struct keymap targets;       /* experiment…target → id */
    struct keymap target_shots;  /* experiment…target NUL shots: distinct shot counts */
    int *n_shots;                /* (targets.n) shot counts each target has in the file */
    size_t n_shots_cap;
    char *key;
    size_t key_cap;
};

static void curves_free(struct curves *cv)
{
    for (size_t i = 0; i < cv->n; i++) {
        for (int k = 0; k < cv->c[i].n; k++)
            free(cv->c[i].seeds[k].pt);
        free(cv->c[i].seeds);
    }
    free(cv->c), free(cv->n_shots), free(cv->key);
    keymap_free(&cv->ids), keymap_free(&cv->targets), keymap_free(&cv->target_shots);
}

static void split_key(const char *key, const char *f[SUM_N_KEY])
{
    for (int k = 0; k < SUM_N_KEY; k++, key += strlen(key) + 1)
        f[k] = key;
}

/* cv->key = the first n fields of f joined, each followed by a NUL; the length
 * without the last NUL, or −1 out of memory. */
static long join(struct curves *cv, const char *const *f, int n)
{
    return keymap_join(&cv->key, &cv->key_cap, f, NULL, n);
}

static double sample_mean(const struct sample *s)
{
    struct stats_summary st;
    stats_summarise(s->v, (long)s->n, &st);
    return st.mean;
}

/* The mean of the cell f (with its step and metric replaced) for seed, NaN when absent. */
static double cell_mean(const struct builder *b, struct curves *cv, const char *const *f,
                        const char *step, const char *metric, const char *seed)
{
    const char *g[SUM_N_KEY + 1];
    memcpy(g, f, sizeof(const char *) * SUM_N_KEY);
    g[SUM_STEP] = step, g[SUM_METRIC] = metric, g[SUM_N_KEY] = seed;
    long len = join(cv, g, SUM_N_KEY + 1);
    size_t id;
    if (len < 0 || keymap_find(&b->sample_ids, cv->key, (size_t)len, &id) != 0)
        return NAN;
    return sample_mean(&b->samples[id]);
}

/* The target fields of f (experiment, variant, source, target) joined; its id. */
static int target_id(struct curves *cv, const char *const *f, size_t *id)
{
    const char *t[4] = {f[SUM_EXPERIMENT], f[SUM_VARIANT], f[SUM_SOURCE], f[SUM_TARGET]};
    long len = join(cv, t, 4);
    if (len < 0)
        return ERR_NOMEM;
    int added = keymap_put(&cv->targets, cv->key, (size_t)len, id);
    if (added == 1) {
        int *n = keymap_reserve(cv->n_shots, &cv->n_shots_cap, *id + 1, sizeof *n);
        if (!n)
            return ERR_NOMEM;
        cv->n_shots = n, n[*id] = 0;
    }
    return added < 0 ? ERR_NOMEM : 0;
}

/* Every cell of b into cv: the shot counts of each target, and the points
 * of every primary-metric curve, per seed. */
static int curves_build(const struct builder *b, struct curves *cv)
{
    for (size_t g = 0; g < b->n_groups; g++) {
        const char *f[SUM_N_KEY];
        split_key(keymap_key(&b->group_ids, g), f);
        size_t t, ts;
        if (target_id(cv, f, &t))
            return ERR_NOMEM;
        const char *k[5] = {f[SUM_EXPERIMENT], f[SUM_VARIANT], f[SUM_SOURCE], f[SUM_TARGET],
                            f[SUM_SHOTS]};
        long len = join(cv, k, 5);
        int added = len < 0 ? ERR_NOMEM : keymap_put(&cv->target_shots, cv->key, (size_t)len, &ts);
        if (added < 0)
            return ERR_NOMEM;
        cv->n_shots[t] += added;
    }
    for (size_t g = 0; g < b->n_groups; g++) {
        const char *f[SUM_N_KEY];
        split_key(keymap_key(&b->group_ids, g), f);
        const bool mse = strcmp(f[SUM_METRIC], "mse") == 0;
        if (!mse && strcmp(f[SUM_METRIC], "accuracy") != 0)
            continue;
        const char *shots = f[SUM_SHOTS];
        f[SUM_SHOTS] = "";
        long len = join(cv, f, SUM_N_KEY);
        size_t id;
        int added = len < 0 ? ERR_NOMEM : keymap_put(&cv->ids, cv->key, (size_t)len, &id);
        if (added == 1) {
            struct curve *c = keymap_reserve(cv->c, &cv->cap, id + 1, sizeof *c);
            if (!c)
                return ERR_NOMEM;
            cv->c = c, cv->n++;
            c[id] = (struct curve){.group = g};
        }
        if (added < 0)
            return ERR_NOMEM;
        f[SUM_SHOTS] = shots;
        struct curve *c = &cv->c[id];
        const struct group *gr = &b->groups[g];
        size_t group_len = b->group_ids.keys[g].len;
        for (size_t i = 0; i < gr->n; i++) {
            const char *seed = keymap_key(&b->sample_ids, gr->samples[i]) + group_len + 1;
            int k = 0;
            while (k < c->n && strcmp(c->seeds[k].seed, seed) != 0)
                k++;
            if (k == c->n) {
                if (c->n == c->cap) {
                    int cap = c->cap ? 2 * c->cap : 4;
                    struct cseed *more = realloc(c->seeds, sizeof *more * (size_t)cap);
                    if (!more)
                        return ERR_NOMEM;
                    c->seeds = more, c->cap = cap;
                }
                c->seeds[c->n++] = (struct cseed){.seed = seed};
            }
            struct cseed *sd = &c->seeds[k];
            double m = sample_mean(&b->samples[gr->samples[i]]);
            double z = mse ? cell_mean(b, cv, f, "", "mse_zero", seed) : 0;
            if (isnan(m) || isnan(z))
                continue;   /* no point: this seed's curve stays incomplete */
            if (sd->n == sd->cap) {
                int cap = sd->cap ? 2 * sd->cap : 4;
                struct curve_point *more = realloc(sd->pt, sizeof *more * (size_t)cap);
                if (!more)
                    return ERR_NOMEM;
                sd->pt = more, sd->cap = cap;
            }
            sd->pt[sd->n++] = (struct curve_point){strtol(shots, NULL, 10), m, z};
        }
    }
    return 0;
}

static int by_point_shots(const void *a, const void *b)
{
    long x = ((const struct curve_point *)a)->shots, y = ((const struct curve_point *)b)->shots;
    return (x > y) - (x < y);
}

/* One derived row of curve fields f: metric, param and seed replaced. */
static int write_derived(FILE *fp, struct csvrec *r, struct curves *cv, const char *const *f,
                         const char *metric, const char *param, const char *seed,
                         const struct stats_summary *s)
{
    const char *g[SUM_N_KEY];
    memcpy(g, f, sizeof g);
    g[SUM_METRIC] = metric;
    if (param)
        g[SUM_PARAM] = param;
    if (join(cv, g, SUM_N_KEY) < 0)
        return ERR_NOMEM;
    return write_row(fp, r, cv->key, NULL, seed, s, 0);
}

/* The thresholds of target name, or none. */
static const struct summary_target *thresholds_of(const struct summary_opts *o, const char *name)
{
    for (int i = 0; o && i < o->n_targets; i++)
        if (strcmp(o->targets[i].name, name) == 0)
            return &o->targets[i];
    return NULL;
}

/* Curve i's rows: aulc per complete seed and pooled, then per threshold. */
static int write_curve(const struct builder *b, struct curves *cv, size_t i,
                       const struct summary_opts *o, FILE *fp, struct csvrec *r)
{
    const struct curve *c = &cv->c[i];
    const char *f[SUM_N_KEY];
    split_key(keymap_key(&b->group_ids, c->group), f);
    f[SUM_SHOTS] = "";
    const bool mse = strcmp(f[SUM_METRIC], "mse") == 0;
    size_t t;
    if (target_id(cv, f, &t))
        return ERR_NOMEM;
    const int need = cv->n_shots[t];
    if (need < 2)
        return 0;
    struct stats_summary *ps = malloc(sizeof *ps * (size_t)c->n), pooled;
    const struct cseed **done = malloc(sizeof *done * (size_t)c->n);
    struct curve_point *tmp = malloc(sizeof *tmp * (size_t)need);
    int n = 0, rc = !ps || !done || !tmp ? ERR_NOMEM : 0;
    for (int k = 0; k < c->n && !rc; k++) {
        struct cseed *sd = &c->seeds[k];
        if (sd->n != need)
            continue;   /* a shot count without a mean: no curve for this seed */
        qsort(sd->pt, (size_t)need, sizeof *sd->pt, by_point_shots);
        memcpy(tmp, sd->pt, sizeof *tmp * (size_t)need);
        double v = curve_aulc(tmp, need, mse, atoi(f[SUM_WAYS]));
        if (isnan(v))
            continue;
        done[n] = sd;
        ps[n] = (struct stats_summary){need, v, NAN, NAN};
        rc = write_derived(fp, r, cv, f, "aulc", NULL, sd->seed, &ps[n]);
        n++;
    }
    if (!rc && n > 0) {
        stats_pool_seeds(ps, n, &pooled);
        rc = write_derived(fp, r, cv, f, "aulc", NULL, "all", &pooled);
    }
    const struct summary_target *th = n > 0 ? thresholds_of(o, f[SUM_TARGET]) : NULL;
    for (int h = 0; th && h < th->n_thresholds && !rc; h++) {
        char param[32];
        snprintf(param, sizeof param, "%.9g", th->thresholds[h]);
        for (int j = 0; j < need; j++) {   /* the curve of seed means */
            tmp[j] = (struct curve_point){done[0]->pt[j].shots, 0, 0};
            for (int k = 0; k < n; k++)
                tmp[j].mean += done[k]->pt[j].mean / n;
        }
        for (int k = 0; k < n && !rc; k++) {
            struct stats_summary st = {need,
                                       curve_shots_to(done[k]->pt, need, mse, th->thresholds[h]),
                                       NAN, NAN};
            rc = write_derived(fp, r, cv, f, "shots_to_threshold", param, done[k]->seed, &st);
        }
        struct stats_summary st = {(long)need * n,
                                   curve_shots_to(tmp, need, mse, th->thresholds[h]), NAN, NAN};
        if (!rc)
            rc = write_derived(fp, r, cv, f, "shots_to_threshold", param, "all", &st);
    }
    free(ps), free(done), free(tmp);
    return rc;
}

int summary_write(const char *episodes_path, const char *summary_path, const struct summary_opts *o,
                  struct err *e)
{
    const char *baseline = o ? o->baseline : NULL;
    struct builder b, gains;
    struct pairing pr = {.path = episodes_path, .baseline = baseline, .gains = &gains};
    struct curves cv;
    memset(&cv, 0, sizeof cv);
    struct afile f = {0};
    struct csvrec r;
    struct stats_summary *per_seed = NULL;
    size_t per_seed_cap = 0;
    builder_init(&b, episodes_path);
    builder_init(&gains, episodes_path);
    int rc = csvrec_init(&r, SUM_N_COLS) ? err_set(e, ERR_NOMEM, "out of memory") : ERR_OK;
    struct first_pass fp = {&b, baseline ? &pr : NULL};
    if (!rc)
        rc = columns_read(episodes_path, &columns_episodes, 0, add_first, &fp, e);
    if (!rc && baseline)
        rc = columns_read(episodes_path, &columns_episodes, 0, add_gain, &pr, e);
    if (rc)
        goto fail;
    rc = afile_open(&f, summary_path, e);
    if (rc)
        goto fail;
    rc = columns_header(f.fp, &columns_summary, 0);
    for (size_t g = 0; g < b.n_groups && rc == 0; g++)
        rc = write_group(&b, g, false, f.fp, &r, &per_seed, &per_seed_cap);
    for (size_t g = 0; g < gains.n_groups && rc == 0; g++)
        rc = write_group(&gains, g, true, f.fp, &r, &per_seed, &per_seed_cap);
    if (rc == 0)
        rc = curves_build(&b, &cv);
    for (size_t i = 0; i < cv.n && rc == 0; i++)
        rc = write_curve(&b, &cv, i, o, f.fp, &r);
    if (rc) {
        rc = err_set(e, rc, "%s: cannot write: %s", summary_path,
                     rc == ERR_NOMEM ? "out of memory" : strerror(errno));
        goto fail;
    }
    rc = afile_commit(&f, e);
fail:
    afile_abort(&f);
    free(per_seed);
    csvrec_free(&r);
    builder_free(&b);
    builder_free(&gains);
    pairing_free(&pr);
    curves_free(&cv);
    return rc;
}

/* ---- the printed table ---- */

/* Text columns of a printed row, and their summary.csv columns. */
enum { T_VARIANT, T_TARGET, T_LEARNER, T_SHOTS, T_STEP, T_PROBE, T_PARAM, N_TEXT };
static const int text_col[N_TEXT] = {
    SUM_VARIANT, SUM_TARGET, SUM_LEARNER, SUM_SHOTS, SUM_STEP, SUM_PROBE, SUM_PARAM,
};
/* Displayed columns: the text ones, then n; "mean ± ci95" follows, unpadded. */
enum { D_N = N_TEXT, N_DISPLAY };
static const char *const display_name[N_DISPLAY] = {
    "variant", "target", "learner", "shots", "step", "probe", "param", "n",
};
static const bool display_right[N_DISPLAY] = {0, 0, 0, 1, 1, 0, 0, 1};

struct printed {
    char *text[N_TEXT];     /* owned copies */
    char n[24], mean[32], ci95[32];
    double mean_v, ci95_v;  /* NaN when empty */
    int rank[3];            /* first-appearance order of variant, target, learner */
    size_t order;           /* row number in the file */
};

struct table {
    const char *path, *metric;
    struct printed *rows;   /* (n) */
    size_t n, cap;
};

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++)
        for (int c = 0; c < N_TEXT; c++)
            free(t->rows[i].text[c]);
    free(t->rows);
}

/* A statistic column: a number, or NaN for an empty field. */
static int parse_stat(const struct table *t, const char *const *f, int col, long record,
                      double *v, struct err *e)
{
    *v = NAN;
    if (f[col][0] == '\0' || parse_number(f[col], v) == 0)
        return 0;
    return err_set(e, ERR_IO, "%s: record %ld: %s is '%s' (expected a number or empty)",
                   t->path, record, columns_summary.cols[col].name, f[col]);
}

/* csvin callback: keep the pooled rows of t->metric. */
static int add_pooled(void *ctx, const char *const *f, int n_fields, long record, struct err *e)
{
    struct table *t = ctx;
    if (strcmp(f[SUM_SEED], "all") != 0 || strcmp(f[SUM_METRIC], t->metric) != 0)
        return 0;
    char *end;
    long n = strtol(f[SUM_N], &end, 10);
    if (f[SUM_N][0] == '\0' || *end != '\0' || n < 0)
        return err_set(e, ERR_IO, "%s: record %ld: n is '%s' (expected a count)", t->path,
                       record, f[SUM_N]);
    double mean, ci95;
    int rc = parse_stat(t, f, SUM_MEAN, record, &mean, e);
    if (rc == 0)
        rc = parse_stat(t, f, SUM_CI95, record, &ci95, e);
    if (rc)
        return rc;
    struct printed *rows = keymap_reserve(t->rows, &t->cap, t->n + 1, sizeof *rows);
    if (!rows)
        return err_set(e, ERR_NOMEM, "%s: record %ld: out of memory", t->path, record);
    t->rows = rows;
    struct printed *p = &rows[t->n++];
    *p = (struct printed){.mean_v = mean, .ci95_v = ci95, .order = t->n};
    snprintf(p->n, sizeof p->n, "%ld", n);
    for (int c = 0; c < N_TEXT; c++)
        if (!(p->text[c] = strdup(f[text_col[c]])))
            return err_set(e, ERR_NOMEM, "%s: record %ld: out of memory", t->path, record);
    return 0;
}

/* rank[k] of every row = order of first appearance of its text in column col. */
static int rank_column(struct table *t, int col, int k)
{
    const char **seen = malloc(t->n * sizeof *seen);
    if (!seen)
        return ERR_NOMEM;
    size_t n_seen = 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *s = t->rows[i].text[col];
        size_t j = 0;
        while (j < n_seen && strcmp(seen[j], s) != 0)
            j++;
        if (j == n_seen)
            seen[n_seen++] = s;
        t->rows[i].rank[k] = (int)j;
    }
    free(seen);
    return 0;
}

static int by_rank(const void *pa, const void *pb)
{
    const struct printed *a = pa, *b = pb;
    for (int k = 0; k < 3; k++)
        if (a->rank[k] != b->rank[k])
            return a->rank[k] < b->rank[k] ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Four decimals, unless a mean is too small or too large to read that way. */
static void format_stats(struct table *t)
{
    const char *fmt = "%.4f";
    for (size_t i = 0; i < t->n; i++) {
        double m = fabs(t->rows[i].mean_v);
        if (isfinite(m) && m != 0 && (m < 1e-3 || m >= 1e5))
            fmt = "%.4e";
    }
    for (size_t i = 0; i < t->n; i++) {
        struct printed *p = &t->rows[i];
        if (isnan(p->mean_v))
            snprintf(p->mean, sizeof p->mean, "-");
        else
            snprintf(p->mean, sizeof p->mean, fmt, p->mean_v);
        if (!isnan(p->ci95_v))
            snprintf(p->ci95, sizeof p->ci95, fmt, p->ci95_v);
    }
}

static const char *display_text(const struct printed *p, int c)
{
    return c == D_N ? p->n : p->text[c];
}

/* Which columns show, and the widths of all (header names included). */
static void layout(const struct table *t, bool show[N_DISPLAY], int width[N_DISPLAY + 2])
{
    for (int c = 0; c < N_DISPLAY; c++) {
        show[c] = c != T_VARIANT && c != T_STEP && c != T_PROBE && c != T_PARAM;
        width[c] = (int)strlen(display_name[c]);
    }
    width[N_DISPLAY] = width[N_DISPLAY + 1] = 0;   /* mean, ci95 parts */
    for (size_t i = 0; i < t->n; i++) {
        const struct printed *p = &t->rows[i];
        show[T_VARIANT] |= strcmp(p->text[T_VARIANT], "base") != 0;
        for (int c = T_STEP; c <= T_PARAM; c++)
            show[c] |= p->text[c][0] != '\0';
        for (int c = 0; c < N_DISPLAY; c++) {
            int w = (int)strlen(display_text(p, c));
            width[c] = w > width[c] ? w : width[c];
        }
        int wm = (int)strlen(p->mean), wc = (int)strlen(p->ci95);
        width[N_DISPLAY] = wm > width[N_DISPLAY] ? wm : width[N_DISPLAY];
        width[N_DISPLAY + 1] = wc > width[N_DISPLAY + 1] ? wc : width[N_DISPLAY + 1];
    }
}

static void print_table(const struct table *t, FILE *out)
{
    bool show[N_DISPLAY];
    int w[N_DISPLAY + 2];
    layout(t, show, w);
    fprintf(out, "%s (mean ± 95%% CI over seeds' means, or over episodes with one seed)\n",
            t->metric);
    for (int c = 0; c < N_DISPLAY; c++)
        if (show[c])
            fprintf(out, display_right[c] ? "%*s  " : "%-*s  ", w[c], display_name[c]);
    fputs("mean ± ci95\n", out);
    for (size_t i = 0; i < t->n; i++) {
        const struct printed *p = &t->rows[i];
        for (int c = 0; c < N_DISPLAY; c++)
            if (show[c])
                fprintf(out, display_right[c] ? "%*s  " : "%-*s  ", w[c], display_text(p, c));
        fprintf(out, "%*s", w[N_DISPLAY], p->mean);
        if (p->ci95[0])
            fprintf(out, " ± %*s", w[N_DISPLAY + 1], p->ci95);
        putc('\n', out);
    }
}

int summary_print(const char *summary_path, FILE *out, const char *metric, struct err *e)
{
    struct table t = {.path = summary_path, .metric = metric};
    int rc = columns_read(summary_path, &columns_summary, 0, add_pooled, &t, e);
    if (rc || t.n == 0)
        goto fail;
    for (int k = 0; k < 3 && rc == 0; k++)
        rc = rank_column(&t, k, k);   /* T_VARIANT, T_TARGET, T_LEARNER are 0, 1, 2 */
    if (rc) {
        rc = err_set(e, ERR_NOMEM, "%s: out of memory", summary_path);
        goto fail;
    }
    qsort(t.rows, t.n, sizeof *t.rows, by_rank);
    format_stats(&t);
    print_table(&t, out);
    if (ferror(out))
        rc = err_set(e, ERR_IO, "%s: cannot print the %s table: %s", summary_path, metric,
                     strerror(errno));
fail:
    table_free(&t);
    return rc;
}
