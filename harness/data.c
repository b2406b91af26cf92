/* data: loading, preprocessing and class resolution for one experiment.
 *
 * Preprocessing is per data source: `scale` divides every feature, or
 * `standardise` z-scores each feature with statistics of the source task's
 * rows (source split and classes) when the source uses this data, else of
 * the data's train split — never of target rows. Standardising makes a
 * scale irrelevant, so with both only the z-score applies. */
#include "harness/data.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "harness/base/rng.h"
#include "harness/pool.h"
#include "tasks/csvdata.h"
#include "tasks/idx.h"

#define PATH_MAX_TEXT 300   /* a key path naming a data source or target */

/* A located error about target t's key (suffix ".rotate", or "" for the target). */
static int target_error(struct err *e, const struct cfg_target *t, const char *suffix,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int target_error(struct err *e, const struct cfg_target *t, const char *suffix,
                        const char *fmt, ...)
{
    char path[PATH_MAX_TEXT];
    snprintf(path, sizeof path, "targets.%s%s", t->name, suffix);
    va_list ap;
    va_start(ap, fmt);
    int rc = err_vat(e, ERR_USAGE, t->where.file, t->where.line, t->where.col, path, fmt, ap);
    va_end(ap);
    return rc;
}

static bool synthetic(const struct cfg_data *c)
{
    return c->format == FMT_SINUSOID || c->format == FMT_CLUSTERS;
}

static struct store_entry *find_entry(const struct store *s, const char *name, const char *split,
                                      long seed)
{
    for (int i = 0; i < s->n; i++) {
        struct store_entry *en = &s->entries[i];
        if (strcmp(en->cfg->name, name) == 0 && strcmp(en->split, split) == 0 &&
            (en->seed == -1 || en->seed == seed))
            return en;
    }
    return NULL;
}

const struct dataset *data_get(const struct store *s, const char *name, const char *split, long seed)
{
    struct store_entry *en = find_entry(s, name, split, seed);
    return en ? en->d : NULL;
}

const struct preprocess *data_pre(const struct store *s, const char *name, long seed)
{
    for (int i = 0; i < s->n_pre; i++)
        if (strcmp(s->pres[i].cfg->name, name) == 0 && s->pres[i].seed == seed)
            return &s->pres[i].p;
    return NULL;
}

const struct target_view *data_view(const struct store *s, long seed, int target)
{
    for (int i = 0; i < s->n_views; i++)
        if (s->views[i].seed == seed && s->views[i].cfg == &s->x->targets[target])
            return &s->views[i];
    return NULL;
}

static int load_idx(const struct cfg_data *c, const char *split, struct dataset *d,
                    const char *user, struct err *e)
{
    if (c->dir)
        return idx_load_dir(c->dir, split, d, e);
    bool train = strcmp(split, "train") == 0;
    const char *img = train ? c->images : c->test_images, *lab = train ? c->labels : c->test_labels;
    if (!img || !lab)
        return config_error(e, ERR_USAGE, &c->where, user, "data source \"%s\" has no %s split "
                            "(give data.%s.%s and %s, or dir)", c->name, split, c->name,
                            train ? "images" : "test_images", train ? "labels" : "test_labels");
    return idx_load(img, lab, d, e);
}

static int load_entry(const struct cfg_data *c, const char *split, long seed, struct dataset *d,
                      const char *user, struct err *e)
{
    switch (c->format) {
    case FMT_IDX:
        return load_idx(c, split, d, user, e);
    case FMT_CSV: {
        if (strcmp(split, "train") != 0)
            return err_set(e, ERR_USAGE, "%s: data source \"%s\" is a CSV file, which has only a "
                           "train split (set split: train)", user, c->name);
        struct csvdata_options o = {c->label, (const char *const *)c->targets, c->n_targets,
                                    (const char *const *)c->features, c->n_features};
        return csvdata_load(c->path, &o, d, e);
    }
    case FMT_SINUSOID: {
        struct sinusoid p = {c->amplitude[0], c->amplitude[1], c->phase[0], c->phase[1], c->x[0], c->x[1]};
        return synth_sinusoid_dataset(&p, (uint64_t)seed, (size_t)c->size, d, e);
    }
    case FMT_CLUSTERS: {
        struct clusters p = {(int)c->classes, (int)c->dim, c->separation, (int)c->per_class};
        return synth_clusters_dataset(&p, (uint64_t)seed, strcmp(split, "test") == 0, d, e);
    }
    }
    return ERR_OK;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_list(char *const *a, int na, char *const *b, int nb)
{
    if (na != nb)
        return false;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

/* Do a and b describe the same raw data set (preprocessing aside)? */
static bool same_source(const struct cfg_data *a, const struct cfg_data *b)
{
    if (a->format != b->format)
        return false;
    switch (a->format) {
    case FMT_IDX:
        return same_text(a->dir, b->dir) && same_text(a->images, b->images) &&
               same_text(a->labels, b->labels) && same_text(a->test_images, b->test_images) &&
               same_text(a->test_labels, b->test_labels);
    case FMT_CSV:
        return same_text(a->path, b->path) && same_text(a->label, b->label) &&
               same_list(a->targets, a->n_targets, b->targets, b->n_targets) &&
               same_list(a->features, a->n_features, b->features, b->n_features);
    case FMT_SINUSOID:
        return memcmp(a->amplitude, b->amplitude, sizeof a->amplitude) == 0 &&
               memcmp(a->phase, b->phase, sizeof a->phase) == 0 &&
               memcmp(a->x, b->x, sizeof a->x) == 0 && a->size == b->size;
    case FMT_CLUSTERS:
        return a->classes == b->classes && a->dim == b->dim && a->per_class == b->per_class &&
               memcmp(&a->separation, &b->separation, sizeof a->separation) == 0;
    }
    return false;
}

/* A data set an earlier store loaded from the same source, split and seed. */
static const struct dataset *borrow(const struct store *s, const struct cfg_data *c,
                                    const char *split, long key)
{
    for (int k = 0; k < s->n_share; k++)
        for (int i = 0; i < s->share[k]->n; i++) {
            const struct store_entry *en = &s->share[k]->entries[i];
            if (en->seed == key && strcmp(en->split, split) == 0 && same_source(en->cfg, c))
                return en->d;
        }
    return NULL;
}

/* The splits of one source must have the same features per row: the
 * preprocessing and the networks are sized from either. */
static int check_split_shape(const struct store *s, const struct store_entry *en, struct err *e)
{
    for (int i = 0; i < s->n; i++) {
        const struct store_entry *o = &s->entries[i];
        if (o->cfg == en->cfg && o->d->dim != en->d->dim) {
            char path[PATH_MAX_TEXT];
            snprintf(path, sizeof path, "data.%s", en->cfg->name);
            return config_error(e, ERR_USAGE, &en->cfg->where, path, "its %s split has %zu "
                                "features per row but its %s split has %zu (%s)", o->split,
                                o->d->dim, en->split, en->d->dim, en->d->name);
        }
    }
    return ERR_OK;
}

/* A file split loaded ahead of need(), on a thread of its own. */
struct preload {
    const struct cfg_data *c;
    const char *split;
    char user[PATH_MAX_TEXT];   /* the first key that asks for it, as need() gets it */
    struct dataset d;
    int rc;
    struct err e;
    bool taken;
};

/* need()'s data set for (c, split) if it was preloaded: moved into d, with
 * its load's code and message; 1 when it was not. */
static int take_preload(struct store *s, const struct cfg_data *c, const char *split,
                        struct dataset *d, struct err *e)
{
    for (int i = 0; i < s->n_preloads; i++) {
        struct preload *p = &s->preloads[i];
        if (!p->taken && p->c == c && strcmp(p->split, split) == 0) {
            p->taken = true;
            *d = p->d;
            dataset_init(&p->d);
            if (p->rc)
                *e = p->e;
            return p->rc;
        }
    }
    return 1;
}

/* Make sure (c, split, seed) is loaded; user names the key that asked. */
static int need(struct store *s, const struct cfg_data *c, const char *split, long seed,
                const char *user, struct err *e)
{
    long key = synthetic(c) ? seed : -1;
    if (find_entry(s, c->name, split, key))
        return ERR_OK;
    /* sized for every (source, split, seed) by data_prepare: never moved,
     * since samplers and views point into it */
    assert(s->n < s->cap);
    struct store_entry *en = &s->entries[s->n];
    memset(en, 0, sizeof *en);
    dataset_init(&en->own);
    en->cfg = c, en->seed = key;
    snprintf(en->split, sizeof en->split, "%s", split);
    en->d = borrow(s, c, split, key);
    if (!en->d) {
        int rc = take_preload(s, c, split, &en->own, e);
        if (rc == 1)
            rc = load_entry(c, split, seed, &en->own, user, e);
        if (rc) {
            dataset_free(&en->own);
            /* say which data source of the experiment it was, unless the
             * message already points into the experiment file */
            if (strncmp(e->msg, c->where.file, strlen(c->where.file)) != 0) {
                char path[PATH_MAX_TEXT];
                snprintf(path, sizeof path, "data.%s", c->name);
                config_prefix(e, &c->where, path);
            }
            return rc;
        }
        en->d = &en->own;
    }
    int rc = check_split_shape(s, en, e);
    if (rc)
        return rc;
    s->n++;
    return ERR_OK;
}

/* Resolve labels as written into class ids of d (empty: every class d has). */
static int resolve_classes(const struct dataset *d, const struct cfg_labels *l,
                           const struct cfg_where *owner, const char *path,
                           const char *data_name, int *ids, int *n, struct err *e)
{
    *n = 0;
    if (l->n == 0) {
        int *count = calloc((size_t)d->n_classes, sizeof *count);
        if (!count)
            return err_set(e, ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < d->n; i++)
            count[d->labels[i]]++;
        for (int c = 0; c < d->n_classes; c++) {
            if (count[c] && *n == CFG_MAX_LIST) {
                free(count);
                return config_error(e, ERR_USAGE, owner, path, "data source \"%s\" has more "
                                    "than %d classes; list the ones to use", data_name,
                                    CFG_MAX_LIST);
            }
            if (count[c])
                ids[(*n)++] = c;
        }
        free(count);
        return ERR_OK;
    }
    for (int i = 0; i < l->n; i++) {
        int id = dataset_class_lookup(d, l->v[i]);
        if (id < 0)
            return config_error(e, ERR_USAGE, &l->where, path, "data source \"%s\" has no class "
                                "\"%s\" (%s)", data_name, l->v[i],
                                d->class_names ? "its classes are named in the label column"
                                               : "class ids start at 0");
        for (int j = 0; j < *n; j++)
            if (ids[j] == id)
                return config_error(e, ERR_USAGE, &l->where, path, "class \"%s\" is listed twice",
                                    l->v[i]);
        ids[(*n)++] = id;
    }
    return ERR_OK;
}

static int source_classes(const struct store *s, long seed, const struct dataset **d, int *ids,
                          int *n, struct err *e)
{
    const struct cfg_source *src = &s->x->source;
    *d = data_get(s, src->data, src->split, seed);
    if ((*d)->kind != DATASET_CLASSIFICATION) {
        *n = 0;
        return ERR_OK;
    }
    return resolve_classes(*d, &src->classes, &src->where, "source.classes", src->data, ids, n, e);
}

int data_source_rows(const struct store *s, long seed, const struct dataset **d,
                     int **rows, int **labels, int *n_rows, int *n_classes, int **class_ids,
                     struct err *e)
{
    int ids[CFG_MAX_LIST], n;
    int rc = source_classes(s, seed, d, ids, &n, e);
    if (rc)
        return rc;
    *rows = malloc(sizeof **rows * ((*d)->n ? (*d)->n : 1));
    *labels = malloc(sizeof **labels * ((*d)->n ? (*d)->n : 1));
    *class_ids = malloc(sizeof **class_ids * (size_t)(n ? n : 1));
    if (!*rows || !*labels || !*class_ids)
        return err_set(e, ERR_NOMEM, "out of memory for the source rows");
    memcpy(*class_ids, ids, sizeof *ids * (size_t)n);
    *n_classes = n;
    *n_rows = 0;
    for (size_t i = 0; i < (*d)->n; i++) {
        int label = 0;
        if (n > 0) {
            label = -1;
            for (int c = 0; c < n; c++)
                if ((*d)->labels[i] == ids[c])
                    label = c;
            if (label < 0)
                continue;
        }
        (*rows)[*n_rows] = (int)i;
        (*labels)[(*n_rows)++] = label;
    }
    return ERR_OK;
}

static int make_pre(struct store *s, const struct cfg_data *c, long seed, struct err *e)
{
    if (data_pre(s, c->name, seed))
        return ERR_OK;
    struct store_pre *p = &s->pres[s->n_pre];
    p->cfg = c, p->seed = seed;
    preprocess_init(&p->p);
    int rc = ERR_OK;
    if (c->standardise) {
        const struct dataset *d = NULL;
        int *rows = NULL, *labels = NULL, *ids = NULL, n = 0, k;
        if (s->x->source.data && strcmp(s->x->source.data, c->name) == 0)
            rc = data_source_rows(s, seed, &d, &rows, &labels, &n, &k, &ids, e);
        else { /* any other rows of it could be a target's: no statistics to take */
            char path[PATH_MAX_TEXT];
            snprintf(path, sizeof path, "data.%s.standardise", c->name);
            rc = config_error(e, ERR_USAGE, &c->where, path, "statistics come from the source "
                              "task's rows only, and \"%s\" is not the source's data (use "
                              "scale, or standardise the source's data)", c->name);
        }
        if (!rc)
            rc = preprocess_standardise(&p->p, d, rows, (size_t)n, e);
        free(rows), free(labels), free(ids);
    } else if (c->scale > 0) {
        const struct store_entry *en = NULL;
        for (int i = 0; i < s->n && !en; i++)
            if (s->entries[i].cfg == c)
                en = &s->entries[i];
        if (en)
            rc = preprocess_scale(&p->p, en->d->dim, c->scale, e);
        /* a scale that takes a feature beyond float's range would make every
         * episode diverge: refuse it here, naming a value it overflows */
        const struct dataset *d = en ? en->d : NULL;
        const double mul = 1.0 / c->scale;
        double worst = d && d->storage == DATASET_U8 && d->n ? 255 : 0;
        size_t at = 0;
        for (size_t i = 0; !rc && d && d->storage == DATASET_F32 && i < d->n * d->dim; i++)
            if (fabs((double)d->x_f32[i]) > worst)
                worst = fabs((double)d->x_f32[i]), at = i;
        if (!rc && worst * mul > FLT_MAX) {
            char path[PATH_MAX_TEXT];
            snprintf(path, sizeof path, "data.%s.scale", c->name);
            rc = config_error(e, ERR_USAGE, &c->where, path, "%g makes a feature value of %g "
                              "(row %zu, feature %zu) %g, beyond the range of float (%g)",
                              c->scale, d->storage == DATASET_U8 ? 255.0 : (double)d->x_f32[at],
                              d->dim ? at / d->dim + 1 : 0, d->dim ? at % d->dim + 1 : 0,
                              worst * mul, (double)FLT_MAX);
        }
    }
    if (rc) {
        preprocess_free(&p->p);
        return rc;
    }
    s->n_pre++;
    return ERR_OK;
}

static int check_overlap(const struct cfg_target *t, const int *src, int n_src, const int *ids,
                         int n, const struct dataset *d, struct err *e)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n_src; j++)
            if (ids[i] == src[j]) {
                const struct cfg_where *w = t->classes.n ? &t->classes.where : &t->where;
                char name[64], path[PATH_MAX_TEXT];
                snprintf(name, sizeof name, "%d", ids[i]);
                snprintf(path, sizeof path, "targets.%s.classes", t->name);
                return config_error(e, ERR_USAGE, w, path, "class \"%s\" is also a source "
                                    "class, so the target is not held out (list disjoint "
                                    "classes, or set allow_overlap: true if you mean it)",
                                    d->class_names ? d->class_names[ids[i]] : name);
            }
    return ERR_OK;
}

static int view_transforms(struct target_view *v, struct err *e)
{
    const struct cfg_target *t = v->cfg;
    int rc = ERR_OK;
    for (int i = 0; i < 3; i++)
        transform_init(&v->transforms[i]);
    if (t->permute)
        rc = transform_permutation_init(&v->transforms[0], (size_t)v->dim, (uint64_t)v->seed, v->key, e);
    if (!rc && t->rotate != 0) {
        if (v->d->rows * v->d->cols != v->dim || v->d->rows == 0)
            return target_error(e, t, ".rotate", "the data are not images");
        rc = transform_rotation_init(&v->transforms[1], v->d->rows, v->d->cols, t->rotate, e);
    }
    if (!rc && t->noise > 0)
        rc = transform_noise_init(&v->transforms[2], (size_t)v->dim, t->noise, (uint64_t)v->seed,
                                  v->key, e);
    return rc;
}

static int check_shapes(const struct target_view *v, struct err *e)
{
    const struct cfg_target *t = v->cfg;
    if (t->ways > v->sampler->n_classes)
        return target_error(e, t, ".ways", "%ld ways need at least %ld classes, the target has %d",
                            t->ways, t->ways, v->sampler->n_classes);
    for (int i = 0; i < t->n_shots; i++) {
        int rc = sampler_check(v->sampler, (int)t->shots[i], (int)t->queries, e);
        if (rc) {
            char path[PATH_MAX_TEXT];
            snprintf(path, sizeof path, "targets.%s (split %s)", t->name, t->split);
            return config_prefix(e, &t->where, path);
        }
    }
    return ERR_OK;
}

/* A sampler an earlier store built over the same data set and classes. */
static const struct sampler *borrow_sampler(const struct store *s, const struct dataset *d,
                                            const int *ids, int n)
{
    for (int k = 0; k < s->n_share; k++)
        for (int i = 0; i < s->share[k]->n_views; i++) {
            const struct sampler *o = s->share[k]->views[i].sampler;
            if (o && o->d == d && o->n_classes == n && !memcmp(o->classes, ids, sizeof *ids * n))
                return o;
        }
    return NULL;
}

static int make_view(struct store *s, long seed, int ti, struct err *e)
{
    const struct cfg_target *t = &s->x->targets[ti];
    const struct cfg_data *c = config_data(s->x, t->data);
    struct target_view *v = &s->views[s->n_views++];
    memset(v, 0, sizeof *v);
    v->cfg = t, v->seed = seed, v->key = rng_hash_str(t->name);
    v->pre = data_pre(s, c->name, seed);
    if (c->format == FMT_SINUSOID) {
        v->sine = (struct sinusoid){c->amplitude[0], c->amplitude[1], c->phase[0], c->phase[1],
                                    c->x[0], c->x[1]};
        v->dim = 1;
        /* transforms act on dataset rows; a sinusoid episode has none */
        if (t->noise > 0)
            return target_error(e, t, ".noise", "a sinusoid target draws fresh inputs for every "
                                "episode, so noise cannot be added (expected noise: 0)");
        return view_transforms(v, e);
    }
    v->d = data_get(s, c->name, t->split, seed);
    v->dim = (int)v->d->dim;
    if (v->d->kind != DATASET_CLASSIFICATION)
        return target_error(e, t, "", "few-shot regression targets must be sinusoid data; "
                            "\"%s\" is a regression table", c->name);
    int ids[CFG_MAX_LIST], n, src[CFG_MAX_LIST], n_src = 0;
    char path[300];
    snprintf(path, sizeof path, "targets.%s.classes", t->name);
    int rc = resolve_classes(v->d, &t->classes, &t->where, path, c->name, ids, &n, e);
    if (!rc && s->x->source.data && strcmp(s->x->source.data, c->name) == 0 && !t->allow_overlap) {
        const struct dataset *sd;
        rc = source_classes(s, seed, &sd, src, &n_src, e);
        if (!rc)
            rc = check_overlap(t, src, n_src, ids, n, v->d, e);
    }
    if (!rc && !(v->sampler = borrow_sampler(s, v->d, ids, n))) {
        rc = sampler_init(&v->own, v->d, ids, n, e);
        v->sampler = &v->own;
    }
    if (!rc)
        rc = check_shapes(v, e);
    if (!rc)
        rc = view_transforms(v, e);
    return rc;
}

static bool has_test(const struct cfg_data *c)
{
    return (c->format == FMT_IDX && (c->dir || (c->test_images && c->test_labels))) ||
           c->format == FMT_CLUSTERS;
}

typedef int need_fn(struct store *s, const struct cfg_data *c, const char *split, long seed,
                    const char *user, struct err *e);

/* fn on every (data source, split) the units of a seed read, in the order
 * they are loaded, with the key that asks for it; stops at the first
 * failure and returns its code. */
static int each_need(struct store *s, long seed, need_fn *fn, struct err *e)
{
    const struct experiment *x = s->x;
    int rc = ERR_OK;
    if (x->source.data) {
        const struct cfg_data *c = config_data(x, x->source.data);
        rc = fn(s, c, x->source.split, seed, "source.split", e);
        if (!rc && has_test(c))
            rc = fn(s, c, "test", seed, "source", e);
    }
    for (int t = 0; !rc && t < x->n_targets; t++) {
        const struct cfg_data *c = config_data(x, x->targets[t].data);
        char user[PATH_MAX_TEXT];
        snprintf(user, sizeof user, "targets.%s.split", x->targets[t].name);
        if (c->format != FMT_SINUSOID)
            rc = fn(s, c, x->targets[t].split, seed, user, e);
    }
    return rc;
}

/* each_need's collector: a file split not yet listed nor lent by an earlier store. */
static int list_preload(struct store *s, const struct cfg_data *c, const char *split, long seed,
                        const char *user, struct err *e)
{
    if (synthetic(c) || borrow(s, c, split, -1))
        return ERR_OK;
    for (int i = 0; i < s->n_preloads; i++)
        if (s->preloads[i].c == c && strcmp(s->preloads[i].split, split) == 0)
            return ERR_OK;
    struct preload *p = realloc(s->preloads, sizeof *p * (size_t)(s->n_preloads + 1));
    if (!p)
        return err_set(e, ERR_NOMEM, "out of memory");
    s->preloads = p;
    p += s->n_preloads++;
    memset(p, 0, sizeof *p);
    p->c = c, p->split = split;
    snprintf(p->user, sizeof p->user, "%s", user);
    dataset_init(&p->d);
    return ERR_OK;
}

static int run_preload(void *arg, int item, int worker, struct err *e)
{
    struct preload *p = &((struct store *)arg)->preloads[item];
    p->rc = load_entry(p->c, p->split, -1, &p->d, p->user, &p->e);
    return ERR_OK;   /* need() reports it, in the order a sequential load would */
}

/* Load the file splits the seeds read, up to `threads` at once, for need()
 * to take (Fashion-MNIST's test split beside its training split: about
 * 30 ms less before the first unit starts, of 175). */
static int preload(struct store *s, int threads, struct err *e)
{
    int rc = ERR_OK;
    for (int i = 0; !rc && i < s->x->n_seeds; i++)
        rc = each_need(s, s->x->seeds[i], list_preload, e);
    if (rc || s->n_preloads < 2 || threads < 2) {
        s->n_preloads = 0;   /* one at a time, in need() */
        return rc;
    }
    volatile sig_atomic_t never = 0;
    return pool_run(NULL, s->n_preloads, threads, run_preload, s, &never, e);
}

static void free_preloads(struct store *s)
{
    for (int i = 0; i < s->n_preloads; i++)
        dataset_free(&s->preloads[i].d);
    free(s->preloads);
    s->preloads = NULL;
    s->n_preloads = 0;
}

/* Every data set, preprocessing and target view of one seed. */
static int load_seed(struct store *s, long seed, struct err *e)
{
    const struct experiment *x = s->x;
    int rc = each_need(s, seed, need, e);
    for (int i = 0; !rc && i < x->n_data; i++)
        rc = make_pre(s, &x->data[i], seed, e);
    for (int t = 0; !rc && t < x->n_targets; t++)
        rc = make_view(s, seed, t, e);
    return rc;
}

static int check_dims(const struct store *s, long seed, struct err *e)
{
    const struct experiment *x = s->x;
    if (!x->source.data)
        return ERR_OK;
    const struct dataset *sd = data_get(s, x->source.data, x->source.split, seed);
    for (int t = 0; t < x->n_targets; t++) {
        const struct target_view *v = data_view(s, seed, t);
        bool reg = v->d == NULL || v->d->kind == DATASET_REGRESSION;
        if ((int)sd->dim != v->dim)
            return target_error(e, v->cfg, "", "inputs have %d features but the source's have %zu",
                                v->dim, sd->dim);
        if (reg != (sd->kind == DATASET_REGRESSION))
            return target_error(e, v->cfg, "", "a %s target needs a %s source",
                                reg ? "regression" : "classification",
                                reg ? "regression" : "classification");
    }
    return ERR_OK;
}

/* Every source class has examples in the source split: pretraining would
 * otherwise fit an output it never sees (or, with no rows, nothing). */
static int check_source(const struct store *s, long seed, struct err *e)
{
    const struct cfg_source *src = &s->x->source;
    const struct dataset *d;
    int *rows = NULL, *labels = NULL, *ids = NULL, *count = NULL, n = 0, k = 0;
    int rc = data_source_rows(s, seed, &d, &rows, &labels, &n, &k, &ids, e);
    if (!rc && !(count = calloc((size_t)(k ? k : 1), sizeof *count)))
        rc = err_set(e, ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++)
        count[labels[i]]++;
    const struct cfg_where *w = src->classes.n ? &src->classes.where : &src->where;
    for (int c = 0; !rc && c < k; c++) {
        char num[16];
        snprintf(num, sizeof num, "%d", ids[c]);
        if (count[c] == 0)
            rc = config_error(e, ERR_USAGE, w, "source.classes", "class \"%s\" has no examples "
                              "in split %s of data source \"%s\"",
                              d->class_names ? d->class_names[ids[c]] : num, src->split, src->data);
    }
    if (!rc && n == 0)
        rc = config_error(e, ERR_USAGE, &src->where, "source", "data source \"%s\" has no rows "
                          "in split %s", src->data, src->split);
    free(rows), free(labels), free(ids), free(count);
    return rc;
}

int data_prepare(struct store *s, const struct experiment *x, struct err *e)
{
    return data_prepare_shared(s, x, NULL, 0, 1, e);
}

int data_prepare_shared(struct store *s, const struct experiment *x,
                        const struct store *const *share, int n_share, int threads,
                        struct err *e)
{
    memset(s, 0, sizeof *s);
    s->x = x;
    s->share = share, s->n_share = n_share;
    /* at most one entry per (source, split, seed): splits are train and test */
    s->cap = 2 * x->n_data * x->n_seeds;
    s->entries = calloc((size_t)s->cap, sizeof *s->entries);
    s->pres = calloc((size_t)x->n_seeds * (size_t)x->n_data, sizeof *s->pres);
    s->views = calloc((size_t)x->n_seeds * (size_t)x->n_targets, sizeof *s->views);
    if (!s->entries || !s->pres || !s->views) {
        data_free(s);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    int rc = preload(s, threads, e);
    for (int i = 0; !rc && i < x->n_seeds; i++)
        rc = load_seed(s, x->seeds[i], e);
    free_preloads(s);
    for (int i = 0; !rc && i < x->n_seeds; i++)
        rc = check_dims(s, x->seeds[i], e);
    for (int i = 0; !rc && x->source.data && i < x->n_seeds; i++)
        rc = check_source(s, x->seeds[i], e);
    if (rc)
        data_free(s);
    return rc;
}

void data_free(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_views; i++) {
        sampler_free(&s->views[i].own);
        for (int j = 0; j < 3; j++)
            transform_free(&s->views[i].transforms[j]);
    }
    for (int i = 0; i < s->n_pre; i++)
        preprocess_free(&s->pres[i].p);
    for (int i = 0; i < s->n; i++)
        dataset_free(&s->entries[i].own);
    free(s->views), free(s->pres), free(s->entries);
    memset(s, 0, sizeof *s);
}

uint32_t data_fingerprint(const struct store *s, const char *name, long seed)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    for (int i = 0; i < s->n; i++) {
        const struct store_entry *en = &s->entries[i];
        if (strcmp(en->cfg->name, name) != 0 || (en->seed != -1 && en->seed != seed))
            continue;
        crc = crc32(crc, (const Bytef *)en->split, (uInt)strlen(en->split));
        crc = crc32(crc, (const Bytef *)&en->d->checksum, sizeof en->d->checksum);
    }
    const struct preprocess *p = data_pre(s, name, seed);
    if (p && p->dim) {
        crc = crc32(crc, (const Bytef *)p->mul, (uInt)(p->dim * sizeof(float)));
        crc = crc32(crc, (const Bytef *)p->add, (uInt)(p->dim * sizeof(float)));
    }
    return (uint32_t)crc;
}
