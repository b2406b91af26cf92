/* results: parts, and episodes/pretrain/costs/summary files rebuilt from them. */
#include "harness/results.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/csvout.h"
#include "harness/base/fsutil.h"
#include "harness/summary.h"

const char *const results_cost_columns[] = {
    "experiment", "variant", "seed", "unit", "kind", "target", "learner", "shots", "episodes",
    "phase", "cpu_seconds", "wall_seconds", "flops", "joules", "joules_method", "peak_rss_kb",
    "blas_core",
};
const int results_n_cost_columns = 17;

static const char *const cost_summary_columns[] = {
    "experiment", "variant", "kind", "target", "learner", "shots", "units", "episodes",
    "flops_total", "cpu_seconds_total", "flops_per_task", "cpu_seconds_per_task",
    "wall_seconds_per_task",
};
enum { N_COST_SUMMARY = 13 };

int results_open(const char *dir, struct err *e)
{
    char path[4096];
    int rc = fsutil_mkdirs(dir, e);
    snprintf(path, sizeof path, "%s/parts", dir);
    if (!rc)
        rc = fsutil_mkdirs(path, e);
    snprintf(path, sizeof path, "%s/models", dir);
    if (!rc)
        rc = fsutil_mkdirs(path, e);
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

bool results_done(const char *dir, const struct unit *u)
{
    char path[4096];
    results_part_path(dir, u->id, ".csv", path, sizeof path);
    if (!exists(path))
        return false;
    if (u->kind == UNIT_PRETRAIN) {
        results_model_path(dir, u->id, path, sizeof path);
        return exists(path);
    }
    return true;
}

/* Write header + text to path atomically. */
static int write_file(const char *path, const char *const *header, int n, const char *text,
                      struct err *e)
{
    struct afile f;
    int rc = afile_open(&f, path, e);
    if (rc)
        return rc;
    if (csvout_write_header(f.fp, header, n) || (text && fputs(text, f.fp) == EOF)) {
        int saved = errno;
        afile_abort(&f);
        return err_set(e, ERR_IO, "%s: cannot write: %s", path, strerror(saved));
    }
    return afile_commit(&f, e);
}

static int cost_row(const struct plan *p, const struct unit *u, const struct unit_costs *c,
                    long peak_kb, char **text, struct err *e)
{
    const struct variant *v = &p->variants[u->variant];
    const struct experiment *x = &v->x;
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    if (!f)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct csvout_row r;
    csvout_init(&r);
    bool eval = u->kind == UNIT_EVAL;
    csvout_str(&r, x->name), csvout_str(&r, eval ? v->name : NULL), csvout_int(&r, u->seed);
    csvout_str(&r, u->id), csvout_str(&r, eval ? "eval" : "pretrain");
    csvout_str(&r, eval ? x->targets[u->target].name : NULL);
    csvout_str(&r, eval ? x->learners[u->learner].name : NULL);
    if (eval)
        csvout_int(&r, u->shots), csvout_int(&r, c->episodes);
    else
        csvout_empty(&r), csvout_empty(&r);
    csvout_str(&r, eval ? "adapt+evaluate" : "pretrain");
    csvout_f64(&r, c->cpu_s), csvout_f64(&r, c->wall_s), csvout_int(&r, (long long)c->flops);
    csvout_empty(&r);
    csvout_str(&r, "not measured");
    csvout_int(&r, peak_kb), csvout_str(&r, p->core);
    int rc = csvout_write_row(f, &r);
    csvout_free(&r);
    fclose(f);
    return rc ? err_set(e, ERR_NOMEM, "out of memory") : ERR_OK;
}

int results_write_unit(const char *dir, const struct plan *p, const struct unit *u,
                       const char *rows, const struct unit_costs *c, long peak_kb,
                       struct err *e)
{
    char path[4096], *cost = NULL;
    int rc = cost_row(p, u, c, peak_kb, &cost, e);
    results_part_path(dir, u->id, ".cost.csv", path, sizeof path);
    if (!rc)
        rc = write_file(path, results_cost_columns, results_n_cost_columns, cost, e);
    free(cost);
    if (rc)
        return rc;
    results_part_path(dir, u->id, ".csv", path, sizeof path);
    if (u->kind == UNIT_EVAL)
        rc = write_file(path, unit_episode_columns, unit_n_episode_columns, rows, e);
    else
        rc = write_file(path, unit_pretrain_columns, unit_n_pretrain_columns, rows, e);
    if (rc) {
        /* the unit is not done: leave no part of it (a cost row alone would
         * be harmless, but parts/ should hold finished units only) */
        results_part_path(dir, u->id, ".cost.csv", path, sizeof path);
        unlink(path);
    }
    return rc;
}

/* Append a part's body (everything after its header line) to out. */
static int append_body(FILE *out, const char *path, const char *const *header, int n,
                       struct err *e)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        return err_set(e, ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL, want[4096] = "";
    size_t cap = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(want);
        snprintf(want + len, sizeof want - len, "%s%s", i ? "," : "", header[i]);
    }
    strncat(want, "\n", sizeof want - strlen(want) - 1);
    ssize_t got = getline(&line, &cap, in);
    int rc = ERR_OK;
    if (got < 0 || strcmp(line, want) != 0) {
        rc = err_set(e, ERR_IO, "%s: not a kshot part file of this version (its header differs "
                     "from \"%.*s\"); delete it to recompute the unit", path,
                     (int)strlen(want) - 1, want);
    } else {
        char buf[65536];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, in)) > 0)
            if (fwrite(buf, 1, k, out) != k) {
                rc = err_set(e, ERR_IO, "cannot write while copying %s", path);
                break;
            }
        if (!rc && ferror(in))
            rc = err_set(e, ERR_IO, "%s: read error", path);
    }
    free(line);
    fclose(in);
    return rc;
}

/* Combine the parts of units of one kind (suffix) into dir/name. */
static int combine(const char *dir, const struct plan *p, int kind, const char *suffix,
                   const char *name, const char *const *header, int n, struct err *e)
{
    char path[4096], part[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct afile f;
    int rc = afile_open(&f, path, e);
    if (rc)
        return rc;
    if (csvout_write_header(f.fp, header, n))
        rc = err_set(e, ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    for (int i = 0; !rc && i < p->n_units; i++) {
        if (kind >= 0 && p->units[i].kind != kind)
            continue;
        results_part_path(dir, p->units[i].id, suffix, part, sizeof part);
        rc = append_body(f.fp, part, header, n, e);
    }
    if (rc) {
        afile_abort(&f);
        return rc;
    }
    return afile_commit(&f, e);
}

/* ---- cost summary ---- */

struct cost_group {
    const struct unit *u;   /* first unit of the group */
    int units;
    long episodes;
    double flops, cpu, wall;
};

static bool same_group(const struct plan *p, const struct unit *a, const struct unit *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == UNIT_PRETRAIN)
        return true;
    return a->variant == b->variant && a->target == b->target && a->learner == b->learner &&
           a->shots == b->shots;
}

struct cost_reader {
    struct cost_group *g;
};

static int read_cost(void *ctx, const char *const *f, int n, long record, struct err *e)
{
    struct cost_group *g = ((struct cost_reader *)ctx)->g;
    g->episodes += strtol(f[8], NULL, 10);
    g->cpu += strtod(f[10], NULL);
    g->wall += strtod(f[11], NULL);
    g->flops += strtod(f[12], NULL);
    return ERR_OK;
}

static int write_cost_summary(const char *dir, const struct plan *p, struct err *e)
{
    struct cost_group *groups = calloc((size_t)p->n_units, sizeof *groups);
    int n = 0, rc = ERR_OK;
    if (!groups)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < p->n_units; i++) {
        const struct unit *u = &p->units[i];
        int g = 0;
        while (g < n && !same_group(p, groups[g].u, u))
            g++;
        if (g == n)
            groups[n++].u = u;
        groups[g].units++;
        char path[4096];
        results_part_path(dir, u->id, ".cost.csv", path, sizeof path);
        struct cost_reader r = {&groups[g]};
        rc = csvin_read(path, results_cost_columns, results_n_cost_columns, read_cost, &r, e);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/cost_summary.csv", dir);
    struct afile f;
    if (!rc)
        rc = afile_open(&f, path, e);
    if (rc) {
        free(groups);
        return rc;
    }
    csvout_write_header(f.fp, cost_summary_columns, N_COST_SUMMARY);
    struct csvout_row r;
    csvout_init(&r);
    for (int g = 0; g < n; g++) {
        const struct unit *u = groups[g].u;
        const struct experiment *x = &p->variants[u->variant].x;
        bool eval = u->kind == UNIT_EVAL;
        /* per task: an adapted episode for eval, one pretraining for pretrain */
        double tasks = eval ? (double)groups[g].episodes : (double)groups[g].units;
        csvout_reset(&r);
        csvout_str(&r, x->name), csvout_str(&r, eval ? p->variants[u->variant].name : NULL);
        csvout_str(&r, eval ? "eval" : "pretrain");
        csvout_str(&r, eval ? x->targets[u->target].name : NULL);
        csvout_str(&r, eval ? x->learners[u->learner].name : NULL);
        if (eval)
            csvout_int(&r, u->shots);
        else
            csvout_empty(&r);
        csvout_int(&r, groups[g].units), csvout_int(&r, groups[g].episodes);
        csvout_f64(&r, groups[g].flops), csvout_f64(&r, groups[g].cpu);
        csvout_f64(&r, groups[g].flops / tasks), csvout_f64(&r, groups[g].cpu / tasks);
        csvout_f64(&r, groups[g].wall / tasks);
        csvout_write_row(f.fp, &r);
    }
    csvout_free(&r);
    free(groups);
    return afile_commit(&f, e);
}

int results_rebuild(const char *dir, const struct plan *p, int *missing, struct err *e)
{
    *missing = 0;
    for (int i = 0; i < p->n_units; i++)
        *missing += !results_done(dir, &p->units[i]);
    if (*missing)
        return ERR_OK;
    char eps[4096], sum[4096];
    snprintf(eps, sizeof eps, "%s/episodes.csv", dir);
    snprintf(sum, sizeof sum, "%s/summary.csv", dir);
    int rc = combine(dir, p, UNIT_EVAL, ".csv", "episodes.csv", unit_episode_columns,
                     unit_n_episode_columns, e);
    if (!rc)
        rc = combine(dir, p, UNIT_PRETRAIN, ".csv", "pretrain.csv", unit_pretrain_columns,
                     unit_n_pretrain_columns, e);
    if (!rc)
        rc = combine(dir, p, -1, ".cost.csv", "costs.csv", results_cost_columns,
                     results_n_cost_columns, e);
    if (!rc)
        rc = write_cost_summary(dir, p, e);
    if (!rc)
        rc = summary_write(eps, sum, e);
    return rc;
}
