/* merge: rebuild from parts and units.csv; say what is missing, foreign or computed twice. */
#include "harness/merge.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/base/keymap.h"
#include "harness/base/lockfile.h"
#include "harness/plot.h"
#include "harness/results.h"
#include "harness/runrec.h"
#include "harness/yamltree.h"

int merge_rebuild(const char *dir, const struct unitlist *ul, int *missing, bool *figures,
                  struct err *e)
{
    *figures = false;
    int rc = results_rebuild(dir, ul, missing, e);
    if (rc || *missing)
        return rc;
    /* the learning curves, rebuilt with the other combined files (a run
     * whose targets have one shot count still gets its points) */
    char sum[4200], fig[4200];
    snprintf(sum, sizeof sum, "%s/summary.csv", dir);
    *figures = true;
    for (int k = 0; *figures && k < 2 && !rc; k++) {
        snprintf(fig, sizeof fig, "%s/curves.%s", dir, k ? "png" : "svg");
        rc = plot_curves(sum, fig, e);
        if (rc == ERR_USAGE) {   /* nothing to draw: no stale figure either */
            unlink(fig);
            *figures = false, rc = ERR_OK;
        }
    }
    return rc;
}

/* One line per missing unit (the first 20), with its labels. */
static void list_missing(const char *dir, const struct unitlist *ul, FILE *out)
{
    int shown = 0;
    for (int i = 0; i < ul->n; i++) {
        const struct ulabel *u = &ul->u[i];
        if (!u->first || results_done(dir, u->id, u->kind))
            continue;
        if (shown++ == 20) {
            fprintf(out, "  …\n");
            break;
        }
        if (u->kind == UNIT_EVAL)
            fprintf(out, "  missing eval unit %s: variant %s, seed %ld, target %s, learner %s, "
                    "shots %ld\n", u->id, u->variant, u->seed, u->target, u->learner, u->shots);
        else
            fprintf(out, "  missing pretrain unit %s: seed %ld%s%s\n", u->id, u->seed,
                    u->learner ? ", learner " : "", u->learner ? u->learner : "");
    }
}

/* Parts in dir/parts that are not units of the plan (ids): another plan's
 * — a changed config, or another BLAS core (whose unit ids differ). Those
 * with a core other than ul's are named; returns how many. */
static int foreign_parts(const char *dir, const struct unitlist *ul, const struct keymap *ids,
                         FILE *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/parts", dir);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name), id;
        char unit[33], core[128];
        struct err ignored;
        if (len != 41 || strcmp(de->d_name + 32, ".cost.csv") != 0 ||
            keymap_find(ids, de->d_name, 32, &id) == 0)
            continue;
        snprintf(unit, sizeof unit, "%.32s", de->d_name);
        if (results_part_core(dir, unit, core, sizeof core, &ignored) == ERR_OK &&
            strcmp(core, ul->core) != 0 && n++ < 5)
            fprintf(out, "  parts/%s was computed under BLAS core %s, not %s\n", unit, core,
                    ul->core);
    }
    closedir(d);
    return n;
}

/* What the run records (run*.yaml) say about who computed the plan's units. */
struct records {
    int twice;                  /* units that two or more records list as computed */
    int binaries;               /* distinct binaries among the records that computed units of the plan */
    char first[4200], other[4200];   /* "<record>: <path> (crc32 <crc>)" of two of them */
};

static void read_records(const char *dir, const struct keymap *plan, struct records *out,
                         FILE *msg)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct keymap ids = {0};
    int *count = NULL;
    size_t cap = 0;
    char crc1[16] = "";
    for (struct dirent *de; (de = readdir(d));) {
        if (!runrec_is_record(de->d_name))
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct yt_doc doc = {0};
        struct err ignored;
        if (yt_load_file(path, &doc, &ignored) != 0 || !doc.root || doc.root->kind != YT_MAP) {
            yt_free(&doc);
            continue;
        }
        const struct yt_node *c = yt_get(doc.root, "computed");
        bool of_plan = false;
        for (int i = 0; c && c->kind == YT_SEQ && i < c->n_items; i++) {
            const struct yt_node *v = c->items[i];
            size_t id;
            if (v->kind != YT_SCALAR || strlen(v->value) != 32)
                continue;
            of_plan |= keymap_find(plan, v->value, 32, &id) == 0;
            int put = keymap_put(&ids, v->value, 32, &id);
            int *more = put >= 0 ? keymap_reserve(count, &cap, ids.n, sizeof *count) : NULL;
            if (!more)
                continue;
            count = more;
            count[id] = put == 1 ? 1 : count[id] + 1;
        }
        const struct yt_node *bin = yt_get(doc.root, "binary");
        const struct yt_node *crc = bin && bin->kind == YT_MAP ? yt_get(bin, "crc32") : NULL;
        const struct yt_node *exe = bin && bin->kind == YT_MAP ? yt_get(bin, "path") : NULL;
        if (of_plan && crc && crc->kind == YT_SCALAR && strcmp(crc->value, "unknown") != 0) {
            char line[4200];
            snprintf(line, sizeof line, "%s: %s (crc32 %s)", de->d_name,
                     exe && exe->kind == YT_SCALAR ? exe->value : "?", crc->value);
            if (!crc1[0]) {
                snprintf(crc1, sizeof crc1, "%s", crc->value);
                snprintf(out->first, sizeof out->first, "%s", line);
                out->binaries = 1;
            } else if (strcmp(crc1, crc->value) != 0 && out->binaries == 1) {
                snprintf(out->other, sizeof out->other, "%s", line);
                out->binaries = 2;
            }
        }
        yt_free(&doc);
    }
    closedir(d);
    for (size_t i = 0; i < ids.n; i++)
        if (count[i] > 1 && out->twice++ < 5)
            fprintf(msg, "  unit %s was computed by %d runs\n", keymap_key(&ids, i), count[i]);
    free(count);
    keymap_free(&ids);
}

int merge_run(const char *dir, FILE *out, struct err *e)
{
    struct unitlist ul;
    int rc = unitlist_read(dir, &ul, e);
    if (rc)
        return rc;
    char path[4200];
    snprintf(path, sizeof path, "%s/.kshot.lock", dir);
    struct lockfile dl;
    if ((rc = lockfile_shared(&dl, path, e))) {   /* not while --fresh empties it */
        unitlist_free(&ul);
        return rc;
    }
    int units = 0;
    struct keymap plan = {0};   /* the plan's unit ids */
    for (int i = 0; !rc && i < ul.n; i++) {
        size_t id;
        units += ul.u[i].first;
        if (keymap_put(&plan, ul.u[i].id, 32, &id) < 0)
            rc = err_set(e, ERR_NOMEM, "out of memory");
    }
    struct records rec = {0};
    if (!rc)
        read_records(dir, &plan, &rec, stderr);
    if (rec.twice)
        fprintf(stderr, "kshot: note: %d unit%s computed by more than one run (the runs' "
                "records list them under computed:); the work was repeated, the results are "
                "the same bytes\n", rec.twice, rec.twice == 1 ? " was" : "s were");
    int missing = 0;
    bool figures = false;
    if (!rc && rec.binaries > 1)   /* another compiler or build may change the last digits */
        rc = err_set(e, ERR_IO, "%s: units of this plan were computed by two kshot binaries "
                     "(%s; %s): kshot does not mix them, since another build may change the "
                     "last digits. Run every shard with one binary (`kshot run --fresh` "
                     "starts the directory over); nothing was written", dir, rec.first,
                     rec.other);
    else if (!rc)
        rc = merge_rebuild(dir, &ul, &missing, &figures, e);
    if (!rc && missing) {
        list_missing(dir, &ul, stderr);
        int foreign = foreign_parts(dir, &ul, &plan, stderr);
        if (foreign)
            rc = err_set(e, ERR_IO, "%s: %d of %d units are missing, and %d part%s in parts/ "
                         "were computed under another BLAS core (a unit's id names "
                         "its core): kshot does not mix them. Run the missing units' shards "
                         "on machines with core %s (see units.csv), or all of them again on "
                         "one kind of machine; nothing was written", dir, missing, units,
                         foreign, foreign == 1 ? "" : "s", ul.core);
        else
            rc = err_set(e, ERR_IO, "%s: %d of %d units are missing (listed above); run the "
                         "shards that did not finish again (the same command: finished units "
                         "are kept), then merge; nothing was written", dir, missing, units);
    }
    if (!rc)
        fprintf(out, "merged %d units into %s/ (episodes.csv, summary.csv, pretrain.csv, "
                "costs.csv, cost_summary.csv%s)\n", units, dir,
                figures ? ", curves.svg, curves.png" : "");
    keymap_free(&plan);
    lockfile_close(&dl);
    unitlist_free(&ul);
    return rc;
}
