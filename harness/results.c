/* results: parts, and episodes/pretrain/costs/summary files rebuilt from them. */
#include "harness/results.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness/columns.h"
#include "harness/csvout.h"
#include "harness/base/fsutil.h"
#include "harness/runrec.h"
#include "harness/summary.h"
#include "harness/unitlist.h"

void results_remove_combined(const char *dir)
{
    static const char *const names[] = {
        "episodes.csv", "summary.csv", "pretrain.csv", "costs.csv", "cost_summary.csv",
        "curves.svg", "curves.png",
    };
    char path[4200];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
}

/* Unlink every entry of directory path whose name matches. */
static void unlink_matching(const char *path, bool (*match)(const char *name))
{
    DIR *d = opendir(path);
    for (struct dirent *de; d && (de = readdir(d));) {
        char f[4600];
        snprintf(f, sizeof f, "%s/%s", path, de->d_name);
        if (match(de->d_name))
            unlink(f);
    }
    if (d)
        closedir(d);
}

static bool not_dot_file(const char *name)
{
    return name[0] != '.';
}

void results_start_over(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/parts", dir);
    unlink_matching(path, not_dot_file);
    snprintf(path, sizeof path, "%s/models", dir);
    unlink_matching(path, not_dot_file);
    results_remove_combined(dir);
    snprintf(path, sizeof path, "%s/units.csv", dir);
    unlink(path);
    unlink_matching(dir, runrec_is_record);   /* run.yaml and run.<…>.yaml */
}

int results_open(const char *dir, struct err *e)
{
    char path[4096];
    int rc = fsutil_mkdirs(dir, e);
    /* temporaries a killed run of this host left behind */
    if (!rc)
        fsutil_clean_stale(dir);
    snprintf(path, sizeof path, "%s/parts", dir);
    if (!rc && !(rc = fsutil_mkdirs(path, e)))
        fsutil_clean_stale(path);
    snprintf(path, sizeof path, "%s/models", dir);
    if (!rc && !(rc = fsutil_mkdirs(path, e)))
        fsutil_clean_stale(path);
    return rc;
}

void results_part_path(const char *dir, const char *id, const char *suffix, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/parts/%s%s", dir, id, suffix);
}

void results_model_path(const char *dir, const char *id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/models/%s.ckpt", dir, id);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool results_done(const char *dir, const char *id, int kind)
{
    char path[4096];
    results_part_path(dir, id, ".csv", path, sizeof path);
    if (!exists(path))
        return false;
    if (kind == UNIT_PRETRAIN) {
        results_model_path(dir, id, path, sizeof path);
        return exists(path);
    }
    return true;
}

/* ---- verified parts ----
 *
 * A part is its layout's header and rows (the body), behind one line
 *   #kshot-part 1 <unit id> <records> <crc32 of the body, 8 hex digits>
 * so that a part cut short (at a line or inside one), altered, or another
 * unit's saved under this unit's name is found before anything reads its
 * rows: a damaged part is removed and its unit recomputed, like a damaged
 * checkpoint, and combined files are written only from verified parts. */

#define PART_MAGIC "#kshot-part 1 "

/* CSV records in text: line ends outside quotes. */
static long records(const char *text, size_t len)
{
    long n = 0;
    bool quoted = false;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '"')
            quoted = !quoted;
        else if (text[i] == '\n' && !quoted)
            n++;
    return n;
}

void results_part_line(const char *id, const char *body, size_t len, char *line, size_t cap)
{
    snprintf(line, cap, PART_MAGIC "%s %ld %08lx\n", id, records(body, len) - 1,
             crc32(0L, (const Bytef *)body, (uInt)len));
}

/* Write the part of unit id (the header of layout l, then text) to path atomically. */
static int write_part(const char *path, const struct layout *l, const char *text, const char *id,
                      struct err *e)
{
    char *body = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&body, &len);
    if (!m || columns_header(m, l, l->part_first) || (text && fputs(text, m) == EOF) ||
        fclose(m)) {
        free(body);
        return err_set(e, ERR_NOMEM, "out of memory for %s", path);
    }
    struct afile f;
    char line[PART_LINE_MAX];
    results_part_line(id, body, len, line, sizeof line);
    int rc = afile_open(&f, path, e);
    if (!rc) {
        if (fputs(line, f.fp) == EOF || fwrite(body, 1, len, f.fp) != len) {
            int saved = errno;
            afile_abort(&f);
            rc = err_set(e, ERR_IO, "%s: cannot write: %s", path, strerror(saved));
        } else {
            rc = afile_commit(&f, e);
        }
    }
    free(body);
    return rc;
}

/* *body (malloc'd, *len bytes): the verified body of unit id's part at
 * path. ERR_IO naming the file and what is wrong otherwise (ERR_NOMEM for
 * memory); a missing file is ERR_IO with errno ENOENT left in *missing. */
static int read_part(const char *path, const char *id, char **body, size_t *len, bool *missing,
                     struct err *e)
{
    *body = NULL, *len = 0, *missing = false;
    FILE *f = fopen(path, "rb");
    if (!f) {
        *missing = errno == ENOENT;
        return err_set(e, ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    char *all = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            char *more = realloc(all, cap = cap ? 2 * cap : 1 << 16);
            if (!more) {
                free(all), fclose(f);
                return err_set(e, ERR_NOMEM, "out of memory reading %s", path);
            }
            all = more;
        }
        size_t got = fread(all + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool bad_read = ferror(f);
    fclose(f);
    char want_id[64], line[160] = "";
    long rows;
    unsigned long crc;
    const char *why = NULL;
    char *nl = all ? memchr(all, '\n', n) : NULL;
    if (nl && (size_t)(nl - all) < sizeof line)   /* the check line, as a C string */
        memcpy(line, all, (size_t)(nl - all)), line[nl - all] = '\0';
    if (bad_read)
        why = "cannot be read";
    else if (!line[0] || strncmp(line, PART_MAGIC, strlen(PART_MAGIC)) != 0 ||
             sscanf(line + strlen(PART_MAGIC), "%63s %ld %8lx", want_id, &rows, &crc) != 3)
        why = "has no part line (expected '" PART_MAGIC "<unit> <records> <crc32>')";
    if (why) {
        free(all);
        return err_set(e, ERR_IO, "%s %s", path, why);
    }
    char *b = nl + 1;
    size_t blen = n - (size_t)(b - all);
    int rc = ERR_OK;
    if (strcmp(want_id, id) != 0)
        rc = err_set(e, ERR_IO, "%s belongs to unit %s, not to unit %s", path, want_id, id);
    else if (records(b, blen) - 1 != rows || (blen > 0 && b[blen - 1] != '\n'))
        rc = err_set(e, ERR_IO, "%s is cut short: %ld of %ld records", path,
                     records(b, blen) > 0 ? records(b, blen) - 1 : 0, rows);
    else if (crc32(0L, (const Bytef *)b, (uInt)blen) != crc)
        rc = err_set(e, ERR_IO, "%s is damaged: its checksum is %08lx, its part line says %08lx",
                     path, (unsigned long)crc32(0L, (const Bytef *)b, (uInt)blen), crc);
    if (rc) {
        free(all);
        return rc;
    }
    memmove(all, b, blen);
    *body = all, *len = blen;
    return ERR_OK;
}

/* Read the verified part of unit id at path as layout l's part columns. */
static int read_part_rows(const char *path, const char *id, const struct layout *l,
                          csvin_row_fn fn, void *ctx, struct err *e)
{
    char *body;
    size_t len;
    bool missing;
    int rc = read_part(path, id, &body, &len, &missing, e);
    if (rc)
        return rc;
    FILE *m = fmemopen(body, len ? len : 1, "r");
    if (!m) {
        free(body);
        return err_set(e, ERR_NOMEM, "out of memory reading %s", path);
    }
    rc = columns_read_stream(m, path, l, l->part_first, fn, ctx, e);
    fclose(m);
    free(body);
    return rc;
}

/* csvin callback: the first cost record's blas_core. */
static int first_core(void *ctx, const char *const *f, int n, long record, struct err *e)
{
    char *core = ctx;
    if (!core[0])
        snprintf(core, 128, "%s", f[COST_BLAS_CORE]);
    return ERR_OK;
}

int results_part_core(const char *dir, const char *id, char *core, size_t cap,
                      struct err *e)
{
    char path[4096], buf[128] = "";
    results_part_path(dir, id, ".cost.csv", path, sizeof path);
    int rc = read_part_rows(path, id, &columns_costs, first_core, buf, e);
    snprintf(core, cap, "%s", rc ? "" : buf);
    return rc;
}

int results_verify(const char *dir, const char *id, struct err *e)
{
    static const char *const suffixes[] = {".csv", ".cost.csv"};
    for (int k = 0; k < 2; k++) {
        char path[4096], *body;
        size_t len;
        bool missing;
        results_part_path(dir, id, suffixes[k], path, sizeof path);
        int rc = read_part(path, id, &body, &len, &missing, e);
        free(body);
        if (rc == ERR_NOMEM)
            return rc;
        if (rc && !missing) {
            char other[4096];   /* neither part of a damaged unit may stay */
            results_part_path(dir, id, suffixes[1 - k], other, sizeof other);
            unlink(path), unlink(other);
            return rc;
        }
    }
    err_clear(e);
    return ERR_OK;
}

/* The part columns of a unit's costs.csv row. */
static int cost_part(const struct plan *p, const struct unit *u, const struct unit_costs *c,
                     long peak_kb, char **text, struct err *e)
{
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    if (!f)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct csvrec r;
    int rc = csvrec_init(&r, COST_N);
    /* the unit's row without its probes, then a row per probe: wall time
     * and joules split by CPU time (a unit's blocks run on several workers
     * at once, so a probe's own wall time has no place in the unit's) */
    struct unit_costs own = *c;
    for (int k = 0; k < c->n_probes; k++)
        own.cpu_s -= c->probes[k].cpu_s, own.flops -= c->probes[k].flops;
    const char *method;
    const double joules = unit_joules(c, &method);
    for (int k = -1; !rc && k < c->n_probes; k++) {
        bool eval = u->kind == UNIT_EVAL;
        const double cpu = k < 0 ? own.cpu_s : c->probes[k].cpu_s;
        char phase[160];
        snprintf(phase, sizeof phase, "probe:%s", k < 0 ? "" : c->probes[k].name);
        csvrec_reset(&r);
        if (eval && k < 0)
            csvrec_int(&r, COST_EPISODES, c->episodes);
        else
            csvrec_empty(&r, COST_EPISODES);
        csvrec_str(&r, COST_PHASE, k >= 0 ? phase : eval ? "adapt+evaluate" : "pretrain");
        csvrec_f64(&r, COST_CPU_SECONDS, cpu);
        csvrec_f64(&r, COST_WALL_SECONDS, c->cpu_s > 0 ? c->wall_s * cpu / c->cpu_s : c->wall_s);
        csvrec_int(&r, COST_FLOPS, (long long)(k < 0 ? own.flops : c->probes[k].flops));
        csvrec_f64(&r, COST_JOULES, c->cpu_s > 0 ? joules * cpu / c->cpu_s : joules * (k < 0));
        csvrec_str(&r, COST_JOULES_METHOD, method);
        csvrec_int(&r, COST_PEAK_RSS_KB, peak_kb), csvrec_str(&r, COST_BLAS_CORE, p->core);
        rc = csvrec_write(f, &r, columns_costs.part_first, COST_N);
    }
    csvrec_free(&r);
    if (fclose(f) && !rc)
        rc = ERR_NOMEM;
    return rc ? err_set(e, ERR_NOMEM, "out of memory") : ERR_OK;
}

int results_write_unit(const char *dir, const struct plan *p, const struct unit *u,
                       const char *rows, const struct unit_costs *c, long peak_kb,
                       struct err *e)
{
    char path[4096], *cost = NULL;
    int rc = cost_part(p, u, c, peak_kb, &cost, e);
    results_part_path(dir, u->id, ".cost.csv", path, sizeof path);
    if (!rc)
        rc = write_part(path, &columns_costs, cost, u->id, e);
    free(cost);
    if (rc)
        return rc;
    results_part_path(dir, u->id, ".csv", path, sizeof path);
    rc = write_part(path, u->kind == UNIT_EVAL ? &columns_episodes : &columns_pretrain, rows,
                    u->id, e);
    if (rc) {
        /* the unit is not done: leave no part of it (a cost row alone would
         * be harmless, but parts/ should hold finished units only) */
        results_part_path(dir, u->id, ".cost.csv", path, sizeof path);
        unlink(path);
    }
    return rc;
}

/* ---- combined files: each part's rows behind its labels from the plan ---- */

/* The label columns (those before the part's) of unit u's rows in file l. */
static void labels(struct csvrec *r, const struct layout *l, const struct ulabel *u)
{
    bool eval = u->kind == UNIT_EVAL;
    bool shots = eval || u->shots > 0;   /* a per-shot-count pretraining names its count */
    if (l == &columns_episodes) {
        csvrec_str(r, EP_EXPERIMENT, u->experiment), csvrec_str(r, EP_VARIANT, u->variant);
        csvrec_int(r, EP_SEED, u->seed), csvrec_str(r, EP_SOURCE, u->source);
        csvrec_str(r, EP_TARGET, u->target), csvrec_str(r, EP_LEARNER, u->learner);
        if (u->ways > 0)   /* classification */
            csvrec_int(r, EP_WAYS, u->ways);
        else
            csvrec_empty(r, EP_WAYS);
        csvrec_int(r, EP_SHOTS, u->shots);
    } else if (l == &columns_pretrain) {
        csvrec_str(r, PRE_EXPERIMENT, u->experiment), csvrec_str(r, PRE_UNIT, u->id);
        csvrec_int(r, PRE_SEED, u->seed), csvrec_str(r, PRE_SOURCE, u->source);
        csvrec_str(r, PRE_LEARNER, u->learner);
        if (shots)
            csvrec_int(r, PRE_SHOTS, u->shots);
        else
            csvrec_empty(r, PRE_SHOTS);
    } else {
        assert(l == &columns_costs);
        csvrec_str(r, COST_EXPERIMENT, u->experiment), csvrec_str(r, COST_VARIANT, u->variant);
        csvrec_int(r, COST_SEED, u->seed), csvrec_str(r, COST_UNIT, u->id);
        csvrec_str(r, COST_KIND, eval ? "eval" : "pretrain");
        csvrec_str(r, COST_TARGET, u->target), csvrec_str(r, COST_LEARNER, u->learner);
        if (shots)
            csvrec_int(r, COST_SHOTS, u->shots);
        else
            csvrec_empty(r, COST_SHOTS);
    }
}

struct joiner {
    const struct layout *l;
    struct csvrec rec;      /* labels set once per unit, part columns per record */
    FILE *out;
    const char *path;       /* the combined file, for messages */
};

/* columns_read callback: one part record behind the unit's labels. */
static int join_row(void *ctx, const char *const *f, int n, long record, struct err *e)
{
    struct joiner *j = ctx;
    for (int c = j->l->part_first; c < j->l->n; c++)
        csvrec_str(&j->rec, c, f[c]);
    int rc = csvrec_write(j->out, &j->rec, 0, j->l->n);
    if (rc)
        return err_set(e, rc, "%s: cannot write: %s", j->path,
                       rc == ERR_NOMEM ? "out of memory" : strerror(errno));
    return ERR_OK;
}

/* Combine the parts (suffix) of the units of one kind (-1: all) into
 * dir/<l->file>: each part's records behind its unit's labels. costs.csv
 * lists a unit computed once for several labels once, under the first. */
static int combine(const char *dir, const struct unitlist *ul, int kind, const char *suffix,
                   const struct layout *l, struct err *e)
{
    char path[4096], part[4096];
    snprintf(path, sizeof path, "%s/%s", dir, l->file);
    struct joiner j = {.l = l, .path = path};
    struct afile f;
    int rc = afile_open(&f, path, e);
    if (rc)
        return rc;
    j.out = f.fp;
    if (csvrec_init(&j.rec, l->n))
        rc = err_set(e, ERR_NOMEM, "%s: out of memory", path);
    else if (columns_header(f.fp, l, 0))
        rc = err_set(e, ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    for (int i = 0; !rc && i < ul->n; i++) {
        const struct ulabel *u = &ul->u[i];
        if ((kind >= 0 && u->kind != kind) || (l == &columns_costs && !u->first))
            continue;
        csvrec_reset(&j.rec);
        labels(&j.rec, l, u);
        results_part_path(dir, u->id, suffix, part, sizeof part);
        rc = read_part_rows(part, u->id, l, join_row, &j, e);
    }
    csvrec_free(&j.rec);
    if (rc) {
        afile_abort(&f);
        return rc;
    }
    return afile_commit(&f, e);
}

/* ---- cost summary ---- */

struct cost_group {
    const struct ulabel *u; /* first unit of the group */
    int units;
    long episodes;
    double flops, cpu, wall, joules;
    int measured, estimated;   /* units by joules_method */
};

/* Units of one line of cost_summary.csv: pretrainings by learner (none for
 * the shared one) and shot count, evaluations by variant, target, learner
 * and shots. */
static bool same_name(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool same_group(const struct ulabel *a, const struct ulabel *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == UNIT_PRETRAIN)
        return same_name(a->learner, b->learner) && a->shots == b->shots;
    return same_name(a->variant, b->variant) && same_name(a->target, b->target) &&
           same_name(a->learner, b->learner) && a->shots == b->shots;
}

struct cost_reader {
    struct cost_group *g;
    const char *path;   /* the part, for messages */
};

/* A cost field: a finite number ≥ 0 (empty: 0 when allowed). */
static int cost_number(const char *const *f, int col, bool empty_ok, const char *path,
                       long record, double *out, struct err *e)
{
    char *end;
    const char *t = f[col];
    if (!t[0] && empty_ok) {
        *out = 0;
        return ERR_OK;
    }
    *out = strtod(t, &end);
    if (!t[0] || *end || !isfinite(*out) || *out < 0)
        return err_set(e, ERR_IO, "%s: record %ld: %s is '%s' (expected a number ≥ 0)", path,
                       record, columns_costs.cols[col].name, t);
    return ERR_OK;
}

static int read_cost(void *ctx, const char *const *f, int n, long record, struct err *e)
{
    struct cost_reader *cr = ctx;
    struct cost_group *g = cr->g;
    double episodes, cpu, wall, flops, joules;
    int rc = cost_number(f, COST_EPISODES, true, cr->path, record, &episodes, e);
    if (!rc)
        rc = cost_number(f, COST_CPU_SECONDS, false, cr->path, record, &cpu, e);
    if (!rc)
        rc = cost_number(f, COST_WALL_SECONDS, false, cr->path, record, &wall, e);
    if (!rc)
        rc = cost_number(f, COST_FLOPS, false, cr->path, record, &flops, e);
    if (!rc)
        rc = cost_number(f, COST_JOULES, true, cr->path, record, &joules, e);
    if (rc)
        return rc;
    g->episodes += (long)episodes, g->cpu += cpu, g->wall += wall, g->flops += flops;
    g->joules += joules;
    if (strcmp(f[COST_JOULES_METHOD], "rapl") == 0)
        g->measured++;
    else
        g->estimated++;
    return ERR_OK;
}

/* The pooled transfer gains at each learner's final step, from summary.csv. */
struct gain {
    char variant[256], target[128], learner[128], shots[24];
    long step;             /* −1: a learner without steps */
    double mean, ci95;
};

struct gains {
    struct gain *g;
    int n, cap;
};

static int read_gain(void *ctx, const char *const *f, int n_fields, long record, struct err *e)
{
    struct gains *gs = ctx;
    if (strcmp(f[SUM_METRIC], "transfer_gain") != 0 || strcmp(f[SUM_SEED], "all") != 0)
        return ERR_OK;
    long step = f[SUM_STEP][0] ? strtol(f[SUM_STEP], NULL, 10) : -1;
    struct gain *g = NULL;
    for (int i = 0; i < gs->n && !g; i++)
        if (!strcmp(gs->g[i].variant, f[SUM_VARIANT]) && !strcmp(gs->g[i].target, f[SUM_TARGET]) &&
            !strcmp(gs->g[i].learner, f[SUM_LEARNER]) && !strcmp(gs->g[i].shots, f[SUM_SHOTS]))
            g = &gs->g[i];
    if (g && g->step >= step)
        return ERR_OK;
    if (!g) {
        if (gs->n == gs->cap) {
            int cap = gs->cap ? 2 * gs->cap : 16;
            struct gain *more = realloc(gs->g, sizeof *more * (size_t)cap);
            if (!more)
                return err_set(e, ERR_NOMEM, "out of memory");
            gs->g = more, gs->cap = cap;
        }
        g = &gs->g[gs->n++];
        snprintf(g->variant, sizeof g->variant, "%s", f[SUM_VARIANT]);
        snprintf(g->target, sizeof g->target, "%s", f[SUM_TARGET]);
        snprintf(g->learner, sizeof g->learner, "%s", f[SUM_LEARNER]);
        snprintf(g->shots, sizeof g->shots, "%s", f[SUM_SHOTS]);
    }
    g->step = step;
    g->mean = f[SUM_MEAN][0] ? strtod(f[SUM_MEAN], NULL) : NAN;
    g->ci95 = f[SUM_CI95][0] ? strtod(f[SUM_CI95], NULL) : NAN;
    return ERR_OK;
}

/* Joules per point (0.01) of the group's gain, NaN unless its interval lies above 0. */
static double per_gain_point(const struct gains *gs, const char *variant, const char *target,
                             const char *learner, long shots, double joules_per_task)
{
    char k[24];
    snprintf(k, sizeof k, "%ld", shots);
    for (int i = 0; i < gs->n; i++) {
        const struct gain *g = &gs->g[i];
        if (!strcmp(g->variant, variant) && !strcmp(g->target, target) &&
            !strcmp(g->learner, learner) && !strcmp(g->shots, k))
            return g->mean - g->ci95 > 0 ? joules_per_task / (100 * g->mean) : NAN;
    }
    return NAN;
}

static int write_cost_summary(const char *dir, const struct unitlist *ul, const char *summary,
                              struct err *e)
{
    struct gains gs = {0};
    int grc = columns_read(summary, &columns_summary, 0, read_gain, &gs, e);
    if (grc) {
        free(gs.g);
        return grc;
    }
    struct cost_group *groups = calloc((size_t)ul->n, sizeof *groups);
    int n = 0, rc = ERR_OK;
    if (!groups) {
        free(gs.g);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    for (int i = 0; !rc && i < ul->n; i++) {
        const struct ulabel *u = &ul->u[i];
        int g = 0;
        while (g < n && !same_group(groups[g].u, u))
            g++;
        if (g == n)
            groups[n++].u = u;
        groups[g].units++;
        char path[4096];
        results_part_path(dir, u->id, ".cost.csv", path, sizeof path);
        struct cost_reader r = {&groups[g], path};
        rc = read_part_rows(path, u->id, &columns_costs, read_cost, &r, e);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/cost_summary.csv", dir);
    struct afile f;
    if (!rc)
        rc = afile_open(&f, path, e);
    if (rc) {
        free(groups), free(gs.g);
        return rc;
    }
    struct csvrec r;
    rc = csvrec_init(&r, CS_N) ? ERR_NOMEM : columns_header(f.fp, &columns_cost_summary, 0);
    for (int g = 0; !rc && g < n; g++) {
        const struct ulabel *u = groups[g].u;
        bool eval = u->kind == UNIT_EVAL;
        /* per task: an adapted episode for eval, one pretraining for pretrain */
        double tasks = eval ? (double)groups[g].episodes : (double)groups[g].units;
        csvrec_reset(&r);
        csvrec_str(&r, CS_EXPERIMENT, u->experiment), csvrec_str(&r, CS_VARIANT, u->variant);
        csvrec_str(&r, CS_KIND, eval ? "eval" : "pretrain");
        csvrec_str(&r, CS_TARGET, u->target), csvrec_str(&r, CS_LEARNER, u->learner);
        if (eval || u->shots > 0)
            csvrec_int(&r, CS_SHOTS, u->shots);
        else
            csvrec_empty(&r, CS_SHOTS);
        csvrec_int(&r, CS_UNITS, groups[g].units), csvrec_int(&r, CS_EPISODES, groups[g].episodes);
        csvrec_f64(&r, CS_FLOPS_TOTAL, groups[g].flops);
        csvrec_f64(&r, CS_CPU_SECONDS_TOTAL, groups[g].cpu);
        csvrec_f64(&r, CS_FLOPS_PER_TASK, groups[g].flops / tasks);
        csvrec_f64(&r, CS_CPU_SECONDS_PER_TASK, groups[g].cpu / tasks);
        csvrec_f64(&r, CS_WALL_SECONDS_PER_TASK, groups[g].wall / tasks);
        if (eval)   /* ways × shots, or shots for regression */
            csvrec_int(&r, CS_SUPPORT_EXAMPLES_PER_TASK, (u->ways > 0 ? u->ways : 1) * u->shots);
        else
            csvrec_empty(&r, CS_SUPPORT_EXAMPLES_PER_TASK);
        const struct cost_group *cg = &groups[g];
        double watts = cg->cpu > 0 ? cg->joules / cg->cpu : NAN;
        csvrec_f64(&r, CS_JOULES_TOTAL, cg->joules);
        csvrec_f64(&r, CS_JOULES_PER_TASK, cg->joules / tasks);
        csvrec_f64(&r, CS_WATTS, watts);
        csvrec_f64(&r, CS_WATTS_VS_BRAIN, watts / 20);
        csvrec_str(&r, CS_JOULES_METHOD, !cg->estimated ? "rapl" : !cg->measured ? "estimate"
                                                                              : "mixed");
        csvrec_f64(&r, CS_JOULES_PER_GAIN_POINT,
                   eval ? per_gain_point(&gs, u->variant, u->target, u->learner, u->shots,
                                         cg->joules / tasks)
                        : NAN);
        rc = csvrec_write(f.fp, &r, 0, CS_N);
    }
    csvrec_free(&r);
    free(groups), free(gs.g);
    if (rc) {
        afile_abort(&f);
        return err_set(e, rc, "%s: cannot write: %s", path,
                       rc == ERR_NOMEM ? "out of memory" : strerror(errno));
    }
    return afile_commit(&f, e);
}

int results_rebuild(const char *dir, const struct unitlist *ul, int *missing, struct err *e)
{
    *missing = 0;
    for (int i = 0; i < ul->n; i++)
        *missing += ul->u[i].first && !results_done(dir, ul->u[i].id, ul->u[i].kind);
    if (*missing)
        return ERR_OK;
    /* every part verified before any combined file is written: a damaged
     * one is removed, and the run that finds it reports it */
    for (int i = 0; i < ul->n; i++) {
        int rc = ul->u[i].first ? results_verify(dir, ul->u[i].id, e) : ERR_OK;
        if (rc == ERR_IO)
            return err_set(e, ERR_IO, "%s; it is removed, and running the same command again "
                           "recomputes its unit (no combined file was written)", e->msg);
        if (rc)
            return rc;
    }
    char eps[4096], sum[4096];
    snprintf(eps, sizeof eps, "%s/episodes.csv", dir);
    snprintf(sum, sizeof sum, "%s/summary.csv", dir);
    int rc = combine(dir, ul, UNIT_EVAL, ".csv", &columns_episodes, e);
    if (!rc)
        rc = combine(dir, ul, UNIT_PRETRAIN, ".csv", &columns_pretrain, e);
    if (!rc)
        rc = combine(dir, ul, -1, ".cost.csv", &columns_costs, e);
    /* the targets' thresholds, each from its first unit (the variants share
     * their targets' names) */
    struct summary_target *t = calloc((size_t)ul->n + 1, sizeof *t);
    int n_targets = 0;
    if (!rc && !t)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < ul->n; i++) {
        const struct ulabel *u = &ul->u[i];
        bool seen = u->kind != UNIT_EVAL;
        for (int k = 0; k < n_targets && !seen; k++)
            seen = strcmp(t[k].name, u->target) == 0;
        if (!seen)
            t[n_targets++] = (struct summary_target){u->target, u->n_thresholds, u->thresholds};
    }
    struct summary_opts o = {.baseline = ul->baseline, .targets = t, .n_targets = n_targets};
    if (!rc)
        rc = summary_write(eps, sum, &o, e);
    free(t);
    if (!rc)   /* after summary.csv: it reads the gains */
        rc = write_cost_summary(dir, ul, sum, e);
    return rc;
}
