/* unitlist: units.csv — the plan's units and their labels. */
#include "harness/unitlist.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/base/fsutil.h"
#include "harness/base/keymap.h"
#include "harness/columns.h"
#include "harness/csvout.h"

void unitlist_free(struct unitlist *l)
{
    for (int i = 0; i < l->n; i++) {
        struct ulabel *u = &l->u[i];
        free(u->experiment), free(u->variant), free(u->source), free(u->target);
        free(u->learner);
    }
    free(l->u), free(l->baseline);
    memset(l, 0, sizeof *l);
}

/* A copy of s, NULL for NULL or ""; *ok is cleared when out of memory. */
static char *dup_or_null(const char *s, bool *ok)
{
    if (!s || !s[0])
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

/* Set the first flags: the first label of each id. */
static int mark_first(struct unitlist *l, struct err *e)
{
    struct keymap ids = {0};
    int rc = ERR_OK;
    for (int i = 0; !rc && i < l->n; i++) {
        size_t id;
        int put = keymap_put(&ids, l->u[i].id, 32, &id);
        if (put < 0)
            rc = err_set(e, ERR_NOMEM, "out of memory for the unit list");
        l->u[i].first = put == 1;
    }
    keymap_free(&ids);
    return rc;
}

int unitlist_from_plan(struct unitlist *l, const struct plan *p, struct err *e)
{
    memset(l, 0, sizeof *l);
    snprintf(l->core, sizeof l->core, "%s", p->core);
    bool ok = (l->u = calloc((size_t)(p->n_units ? p->n_units : 1), sizeof *l->u)) != NULL;
    const struct experiment *x0 = p->n_variants > 0 ? &p->variants[0].x : NULL;
    int base = x0 ? config_baseline(x0, NULL, 0) : -1;
    if (ok && base >= 0)
        l->baseline = dup_or_null(x0->learners[base].name, &ok);
    for (int i = 0; ok && i < p->n_units; i++, l->n++) {
        const struct unit *u = &p->units[i];
        const struct variant *v = &p->variants[u->variant];
        const struct experiment *x = &v->x;
        struct ulabel *o = &l->u[i];
        memcpy(o->id, u->id, sizeof o->id);
        o->kind = u->kind, o->seed = u->seed, o->shots = u->shots;
        o->experiment = dup_or_null(x->name, &ok);
        o->source = dup_or_null(x->source.data, &ok);
        o->learner = u->learner >= 0 ? dup_or_null(x->learners[u->learner].name, &ok) : NULL;
        if (u->kind != UNIT_EVAL)
            continue;
        const struct cfg_target *t = &x->targets[u->target];
        o->variant = dup_or_null(v->name, &ok);
        o->target = dup_or_null(t->name, &ok);
        o->ways = data_view(&v->store, u->seed, u->target)->d ? t->ways : 0;
        o->n_thresholds = t->n_thresholds;
        memcpy(o->thresholds, t->thresholds, sizeof *t->thresholds * (size_t)t->n_thresholds);
    }
    if (!ok) {
        unitlist_free(l);
        return err_set(e, ERR_NOMEM, "out of memory for the unit list");
    }
    int rc = mark_first(l, e);
    if (rc)
        unitlist_free(l);
    return rc;
}

void unitlist_path(const char *dir, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/units.csv", dir);
}

int unitlist_write(const char *dir, const struct unitlist *l, struct err *e)
{
    char path[4200];
    unitlist_path(dir, path, sizeof path);
    struct afile f;
    int rc = afile_open(&f, path, e);
    if (rc)
        return rc;
    struct csvrec r;
    int wrc = csvrec_init(&r, UNITS_N) ? ERR_NOMEM : columns_header(f.fp, &columns_units, 0);
    for (int i = 0; !wrc && i < l->n; i++) {
        const struct ulabel *u = &l->u[i];
        bool eval = u->kind == UNIT_EVAL;
        char th[UNITLIST_MAX_THRESHOLDS * 26] = "";
        for (int k = 0; k < u->n_thresholds; k++)   /* %.17g: read back exactly */
            snprintf(th + strlen(th), sizeof th - strlen(th), "%s%.17g", k ? " " : "",
                     u->thresholds[k]);
        csvrec_reset(&r);
        csvrec_str(&r, UNITS_UNIT, u->id), csvrec_str(&r, UNITS_KIND, eval ? "eval" : "pretrain");
        csvrec_str(&r, UNITS_EXPERIMENT, u->experiment), csvrec_str(&r, UNITS_VARIANT, u->variant);
        csvrec_int(&r, UNITS_SEED, u->seed), csvrec_str(&r, UNITS_SOURCE, u->source);
        csvrec_str(&r, UNITS_TARGET, u->target), csvrec_str(&r, UNITS_LEARNER, u->learner);
        if (eval && u->ways > 0)
            csvrec_int(&r, UNITS_WAYS, u->ways);
        else
            csvrec_empty(&r, UNITS_WAYS);
        if (eval || u->shots > 0)
            csvrec_int(&r, UNITS_SHOTS, u->shots);
        else
            csvrec_empty(&r, UNITS_SHOTS);
        csvrec_str(&r, UNITS_THRESHOLDS, th), csvrec_str(&r, UNITS_BASELINE, l->baseline);
        csvrec_str(&r, UNITS_BLAS_CORE, l->core);
        wrc = csvrec_write(f.fp, &r, 0, UNITS_N);
    }
    csvrec_free(&r);
    if (wrc) {
        int saved = errno;
        afile_abort(&f);
        return err_set(e, wrc == ERR_NOMEM ? ERR_NOMEM : ERR_IO, "%s: cannot write: %s", path,
                       wrc == ERR_NOMEM ? "out of memory" : strerror(saved));
    }
    return afile_commit(&f, e);
}

struct reader {
    struct unitlist *l;
    int cap;
    const char *path;
};

static int bad(struct err *e, const struct reader *rd, long record, int col, const char *v,
               const char *expected)
{
    return err_set(e, ERR_IO, "%s: record %ld: %s is '%s' (expected %s)", rd->path, record,
                   columns_units.cols[col].name, v, expected);
}

static int read_long(const struct reader *rd, const char *const *f, int col, long record,
                     long lo, bool empty_ok, long *out, struct err *e)
{
    char *end;
    if (!f[col][0] && empty_ok) {
        *out = 0;
        return ERR_OK;
    }
    errno = 0;
    *out = strtol(f[col], &end, 10);
    if (!f[col][0] || *end || errno || *out < lo)
        return bad(e, rd, record, col, f[col], "an integer");
    return ERR_OK;
}

static int read_row(void *ctx, const char *const *f, int n, long record, struct err *e)
{
    struct reader *rd = ctx;
    struct unitlist *l = rd->l;
    if (l->n == rd->cap) {
        int cap = rd->cap ? 2 * rd->cap : 64;
        struct ulabel *more = realloc(l->u, sizeof *more * (size_t)cap);
        if (!more)
            return err_set(e, ERR_NOMEM, "%s: out of memory", rd->path);
        l->u = more, rd->cap = cap;
    }
    struct ulabel *u = &l->u[l->n];
    memset(u, 0, sizeof *u);
    size_t idlen = strlen(f[UNITS_UNIT]);
    if (idlen != 32 || strspn(f[UNITS_UNIT], "0123456789abcdef") != 32)
        return bad(e, rd, record, UNITS_UNIT, f[UNITS_UNIT], "32 hex digits");
    memcpy(u->id, f[UNITS_UNIT], 33);
    if (strcmp(f[UNITS_KIND], "eval") == 0)
        u->kind = UNIT_EVAL;
    else if (strcmp(f[UNITS_KIND], "pretrain") == 0)
        u->kind = UNIT_PRETRAIN;
    else
        return bad(e, rd, record, UNITS_KIND, f[UNITS_KIND], "eval or pretrain");
    bool eval = u->kind == UNIT_EVAL;
    int rc = read_long(rd, f, UNITS_SEED, record, 0, false, &u->seed, e);
    if (!rc)
        rc = read_long(rd, f, UNITS_SHOTS, record, eval ? 1 : 0, !eval, &u->shots, e);
    if (!rc)
        rc = read_long(rd, f, UNITS_WAYS, record, 1, true, &u->ways, e);
    if (rc)
        return rc;
    const char *t = f[UNITS_THRESHOLDS];
    while (*t) {
        char *end;
        if (u->n_thresholds == UNITLIST_MAX_THRESHOLDS)
            return bad(e, rd, record, UNITS_THRESHOLDS, f[UNITS_THRESHOLDS],
                       "at most 64 numbers");
        double v = strtod(t, &end);
        if (end == t || (*end && *end != ' ') || !isfinite(v))
            return bad(e, rd, record, UNITS_THRESHOLDS, f[UNITS_THRESHOLDS],
                       "space-separated numbers");
        u->thresholds[u->n_thresholds++] = v;
        t = *end ? end + 1 : end;
    }
    bool ok = true;
    u->experiment = dup_or_null(f[UNITS_EXPERIMENT], &ok);
    u->variant = dup_or_null(f[UNITS_VARIANT], &ok);
    u->source = dup_or_null(f[UNITS_SOURCE], &ok);
    u->target = dup_or_null(f[UNITS_TARGET], &ok);
    u->learner = dup_or_null(f[UNITS_LEARNER], &ok);
    l->n++;   /* owns its strings from here: freed with the list */
    if (ok && !l->baseline && f[UNITS_BASELINE][0])
        l->baseline = dup_or_null(f[UNITS_BASELINE], &ok);
    if (!l->core[0])
        snprintf(l->core, sizeof l->core, "%s", f[UNITS_BLAS_CORE]);
    if (!ok)
        return err_set(e, ERR_NOMEM, "%s: out of memory", rd->path);
    if (eval && (!u->variant || !u->target || !u->learner))
        return err_set(e, ERR_IO, "%s: record %ld: an eval unit needs its variant, target and "
                       "learner", rd->path, record);
    return ERR_OK;
}

int unitlist_read(const char *dir, struct unitlist *l, struct err *e)
{
    char path[4200];
    memset(l, 0, sizeof *l);
    unitlist_path(dir, path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return err_set(e, ERR_USAGE, "%s: no unit list: is %s a results directory of "
                       "`kshot run`? (every run writes units.csv before it computes)", path, dir);
    struct reader rd = {l, 0, path};
    int rc = columns_read(path, &columns_units, 0, read_row, &rd, e);
    if (!rc && l->n == 0)
        rc = err_set(e, ERR_IO, "%s: lists no unit", path);
    if (!rc)
        rc = mark_first(l, e);
    if (rc)
        unitlist_free(l);
    return rc;
}
