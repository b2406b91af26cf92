/* plan: variants, units and their ids — what will run, decided before anything runs. */
#include "harness/plan.h"
#include "harness/probe.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/hash.h"

#define PLAN_PATH 320   /* a key path naming a learner */

/* ---- ids: canonical descriptions, digested by hash128 ----
 *
 * A description walks the resolved values of every key of the sections a
 * unit reads (config_hash), keeping those whose schema row feeds this kind
 * of unit. Names are labels, not inputs: the experiment's, the variant's,
 * the source's and the learner's are left out (the combined files add
 * them), so a unit serves every label that resolves to the same numbers.
 * The one name that is an input is the target's: it keys the stream the
 * episodes are drawn from. */

static void describe_data(struct hash128 *d, const struct variant *v, const char *name,
                          long seed, int feeds)
{
    const struct cfg_data *c = config_data(&v->x, name);
    hash128_printf(d, "|data=%08x", data_fingerprint(&v->store, name, seed));
    config_hash(d, S_DATA, c, config_formats[c->format], feeds);
}

/* The shared supervised pretraining (learner < 0), or learner's own, made
 * for tasks of `shots` shots (0: not per shot count). The own one reads the
 * learner's pretraining keys and not the supervised recipe. */
static void pretrain_desc(struct hash128 *d, const struct plan *p, const struct variant *v, long seed,
                          int learner, long shots, long queries)
{
    const struct experiment *x = &v->x;
    int feeds = learner < 0 ? FEEDS_PRETRAIN | FEEDS_SHARED : FEEDS_PRETRAIN;
    hash128_printf(d, "kshot-unit/%d pretrain|core=", PLAN_FORMAT);
    hash128_str(d, p->core);
    if (learner >= 0) {
        const struct cfg_learner *l = &x->learners[learner];
        hash128_printf(d, "|own=");
        config_hash(d, S_LEARNER, l, learner_kinds[l->s.kind]->name, FEEDS_PRETRAIN);
    }
    describe_data(d, v, x->source.data, seed, feeds);
    config_hash(d, S_NETWORK, x, NULL, feeds);
    config_hash(d, S_SOURCE, &x->source, NULL, feeds);
    hash128_printf(d, "|shots=%ld|seed=%ld", shots, seed);
    if (queries > 0)   /* the resolved meta.queries (its "target" hashes as 0) */
        hash128_printf(d, "|queries=%ld", queries);
    const struct cfg_probe *cue = learner < 0 ? plan_source_cue(x) : NULL;
    if (cue)   /* textures in the supervised pretraining's images */
        hash128_printf(d, "|cue=%zu:%s:%.17g", strlen(cue->name), cue->name, cue->strength[0]);
}

const struct cfg_probe *plan_source_cue(const struct experiment *x)
{
    for (int i = 0; i < x->n_probes; i++)
        if (x->probes[i].kind == PROBE_CUE && x->probes[i].cue_in_source &&
            x->probes[i].n_strength > 0)
            return &x->probes[i];
    return NULL;
}

static void eval_desc(struct hash128 *d, const struct plan *p, const struct variant *v,
                      const struct unit *u)
{
    const struct experiment *x = &v->x;
    const struct cfg_target *t = &x->targets[u->target];
    const struct cfg_learner *l = &x->learners[u->learner];
    hash128_printf(d, "kshot-unit/%d eval|core=", PLAN_FORMAT);
    hash128_str(d, p->core);
    config_hash(d, S_LEARNER, l, learner_kinds[l->s.kind]->name, FEEDS_EVAL);
    hash128_printf(d, "|pretrain=");
    hash128_str(d, u->pretrain >= 0 ? p->units[u->pretrain].id : "-");
    hash128_printf(d, "|target=");
    hash128_str(d, t->name);
    config_hash(d, S_TARGET, t, NULL, FEEDS_EVAL);
    describe_data(d, v, t->data, u->seed, FEEDS_EVAL);
    config_hash(d, S_NETWORK, x, NULL, FEEDS_EVAL);
    hash128_printf(d, "|shots=%ld|seed=%ld", u->shots, u->seed);
    /* the probes that run on this learner's models, on a classification
     * target (none: the text of the ids before probes) */
    const bool classifies = !config_data_regression(config_data(x, t->data));
    for (int i = 0; classifies && i < x->n_probes; i++)
        if (config_probe_applies(&x->probes[i], l)) {
            hash128_printf(d, "|probe=");
            hash128_str(d, x->probes[i].name);
            config_hash(d, S_PROBE, &x->probes[i], probe_kinds[x->probes[i].kind], FEEDS_EVAL);
        }
}

/* ---- variants ----
 *
 * A variant is the resolved tree, emitted and read back, with its sweep
 * values applied as overrides, then parsed like any experiment. Reading the
 * emitted text back would locate every node in that text, which the user
 * never saw; so the copy takes the positions of the tree it came from, and
 * each swept value the position of its value in the sweep list. Errors found
 * in a variant (a class its data lacks, too many ways) then point into the
 * user's file or command line. */

static int emit_text(const struct yt_doc *doc, char **text, struct err *e)
{
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    if (!f)
        return err_set(e, ERR_NOMEM, "out of memory");
    int rc = yt_emit(doc->root, f, e);
    if (fclose(f) && !rc)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    return rc;
}

static void set_position(struct yt_node *n, const struct yt_node *from)
{
    n->file = from->file, n->line = from->line, n->col = from->col;
}

/* dst is a copy of src read back from yt_emit's text: the same shape (stop
 * wherever it is not, to be safe). Node positions become src's. */
static void copy_positions(struct yt_node *dst, const struct yt_node *src)
{
    if (!dst || !src || dst->kind != src->kind || dst->n_items != src->n_items)
        return;
    set_position(dst, src);
    for (int i = 0; i < dst->n_items; i++) {
        if (dst->kind == YT_MAP)
            set_position(dst->key_nodes[i], src->key_nodes[i]);
        copy_positions(dst->items[i], src->items[i]);
    }
}

/* Every node of the subtree n (an override's value) at position from. */
static void locate_subtree(struct yt_node *n, const struct yt_node *from)
{
    set_position(n, from);
    for (int i = 0; i < n->n_items; i++) {
        if (n->kind == YT_MAP)
            set_position(n->key_nodes[i], from);
        locate_subtree(n->items[i], from);
    }
}

/* Value number j of sweep key path in the original tree (NULL if absent). */
static const struct yt_node *sweep_value(const struct yt_doc *doc, const char *path, int j)
{
    const struct yt_node *list = yt_get(yt_get(doc->root, "sweep"), path);
    return list && list->kind == YT_SEQ && j < list->n_items ? list->items[j] : NULL;
}

/* v->name: "path=value" per swept key, in sweep order, joined by ';' (a
 * value may hold commas: [0, 1]). Rows and ids carry it, so it must not be
 * cut: too long is an error. */
static int variant_name(struct variant *v, const struct experiment *base, int idx,
                        struct err *e)
{
    size_t len = 0;
    for (int k = 0; k < base->n_sweep; k++) {
        const struct cfg_sweep *s = &base->sweep[k];
        int stride = 1;
        for (int m = k + 1; m < base->n_sweep; m++)
            stride *= base->sweep[m].n_values;
        int n = snprintf(v->name + len, sizeof v->name - len, "%s%s=%s", k ? ";" : "", s->path,
                         s->values[idx / stride % s->n_values]);
        if (n < 0 || (size_t)n >= sizeof v->name - len)
            return err_set(e, ERR_USAGE, "%s: sweep: the name of variant %d (its swept paths and "
                           "values) is longer than %zu characters (sweep shorter values)",
                           base->file, idx + 1, sizeof v->name - 1);
        len += (size_t)n;
    }
    return ERR_OK;
}

/* Variant number idx (the last swept key varies fastest) from text, the
 * emitted form of doc. */
static int make_variant(struct variant *v, const char *text, const struct yt_doc *doc,
                        const struct experiment *base, int idx, struct err *e)
{
    struct yt_doc vdoc = {0};
    int rc = variant_name(v, base, idx, e);
    if (rc)
        return rc;
    rc = yt_load_string(base->file, text, &vdoc, e);
    if (!rc)
        copy_positions(vdoc.root, doc->root);
    for (int k = base->n_sweep - 1, r = idx; !rc && k >= 0; k--) {
        const struct cfg_sweep *s = &base->sweep[k];
        int j = r % s->n_values;
        r /= s->n_values;
        char arg[1024];
        if (snprintf(arg, sizeof arg, "%s=%s", s->path, s->values[j]) >= (int)sizeof arg) {
            rc = err_set(e, ERR_USAGE, "sweep: %s: value too long", s->path);
            break;
        }
        rc = yt_override(&vdoc, arg, k + 1, e);
        struct yt_node *at = rc ? NULL : yt_find(vdoc.root, s->path);
        const struct yt_node *from = sweep_value(doc, s->path, j);
        if (at && from)
            locate_subtree(at, from);
    }
    if (!rc)
        rc = config_from_tree(&vdoc, &v->x, e);
    if (rc)
        err_prefix(e, "sweep variant %s", v->name);
    yt_free(&vdoc);
    return rc;
}

/* Bytes one variant of x holds besides its data sets (which variants share):
 * its configuration and its store's tables. */
static size_t variant_bytes(const struct experiment *x)
{
    size_t seeds = (size_t)x->n_seeds, data = (size_t)x->n_data;
    return sizeof(struct variant) + config_footprint(x) +
           seeds * (size_t)x->n_targets * sizeof(struct target_view) +
           2 * data * seeds * sizeof(struct store_entry) + data * seeds * sizeof(struct store_pre);
}

int plan_variants(struct plan *p, const struct yt_doc *doc, const struct experiment *base,
                  struct err *e)
{
    memset(p, 0, sizeof *p);
    int n = 1;
    for (int k = 0; k < base->n_sweep; k++) {
        n *= base->sweep[k].n_values;
        if (n > PLAN_MAX_VARIANTS)
            return err_set(e, ERR_USAGE, "%s: sweep: more than %d variants", base->file,
                           PLAN_MAX_VARIANTS);
    }
    /* every variant holds a configuration like the base's: refuse a sweep
     * whose variants would not fit before making any */
    size_t each = variant_bytes(base);
    p->config_bytes = each * (size_t)n;
    if (p->config_bytes > PLAN_MAX_CONFIG_BYTES)
        return err_set(e, ERR_USAGE, "%s: sweep: %d variants of %zu KB each would hold %zu MB of "
                       "configuration (at most %zu MB); sweep fewer values", base->file, n,
                       each / 1024, p->config_bytes >> 20, PLAN_MAX_CONFIG_BYTES >> 20);
    p->variants = calloc((size_t)n, sizeof *p->variants);
    if (!p->variants)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (base->n_sweep == 0) {
        snprintf(p->variants[0].name, sizeof p->variants[0].name, "base");
        p->n_variants = 1;
        return config_from_tree(doc, &p->variants[0].x, e);
    }
    char *text = NULL;
    int rc = emit_text(doc, &text, e);
    for (int i = 0; !rc && i < n; i++) {
        rc = make_variant(&p->variants[i], text, doc, base, i, e);
        p->n_variants++;
    }
    free(text);
    return rc;
}

int plan_prepare(struct plan *p, int threads, struct err *e)
{
    if (!(p->shared = calloc((size_t)p->n_variants, sizeof *p->shared)))
        return err_set(e, ERR_NOMEM, "out of memory");
    for (int i = 0; i < p->n_variants; i++) {
        int rc = data_prepare_shared(&p->variants[i].store, &p->variants[i].x,
                                     (const struct store *const *)p->shared, i, threads, e);
        p->shared[i] = &p->variants[i].store;
        if (rc)
            return p->variants[i].x.n_sweep ? err_prefix(e, "sweep variant %s", p->variants[i].name)
                                            : rc;
    }
    return ERR_OK;
}

/* ---- units ---- */

static int pretraining_of(const struct experiment *x, int l)
{
    return learner_kinds[x->learners[l].s.kind]->pretraining(&x->learners[l].s);
}

bool plan_needs_pretrain(const struct experiment *x)
{
    for (int i = 0; i < x->n_learners; i++)
        if (pretraining_of(x, i) == PRETRAIN_SHARED)
            return true;
    return false;
}

struct mlp_arch plan_arch(const struct experiment *x, int dim, int out)
{
    struct mlp_arch a = {.n_layers = x->n_hidden + 1, .act = (enum act)x->activation};
    a.sizes[0] = dim;
    for (int i = 0; i < x->n_hidden; i++)
        a.sizes[i + 1] = (int)x->hidden[i];
    a.sizes[a.n_layers] = out;
    return a;
}

/* The operations of an eval unit: its learner kind's estimate per episode. */
static uint64_t eval_flops(const struct variant *v, const struct unit *u)
{
    const struct experiment *x = &v->x;
    const struct target_view *tv = data_view(&v->store, u->seed, u->target);
    const struct cfg_target *t = tv->cfg;
    const struct learner_settings *s = &x->learners[u->learner].s;
    bool reg = tv->d == NULL;
    int ways = reg ? 0 : (int)t->ways, mult = reg ? 1 : ways, out = reg ? 1 : ways;
    struct fewshot shape = {.ways = ways, .out_dim = out, .dim = tv->dim,
                            .n_support = mult * (int)u->shots, .n_query = mult * (int)t->queries};
    struct mlp_arch a = plan_arch(x, tv->dim, out);
    /* the probes: a forward per scored row, three per input gradient, and
     * an adaptation per cue strength */
    const uint64_t row = mlp_forward_flops(&a, a.n_layers), fwd = (uint64_t)shape.n_query * row;
    const uint64_t adapt = learner_kinds[s->kind]->cost(s, &shape, &a);
    uint64_t probes = 0;
    for (int i = 0; !reg && i < x->n_probes; i++) {
        const struct cfg_probe *p = &x->probes[i];
        if (!config_probe_applies(p, &x->learners[u->learner]))
            continue;
        if (p->kind == PROBE_FGSM)
            probes += 3 * fwd + (uint64_t)p->n_eps * fwd;
        else if (p->kind == PROBE_PGD)
            probes += (uint64_t)p->n_eps * ((uint64_t)p->steps * 3 * fwd + fwd);
        else if (p->kind == PROBE_NOISE)
            probes += (uint64_t)p->n_sigma * fwd;
        else if (p->kind == PROBE_PATCH)
            probes += (uint64_t)p->n_size *
                      ((uint64_t)p->steps * 3 * (uint64_t)shape.n_support * row + 2 * fwd);
        else
            probes += (uint64_t)p->n_strength * (adapt + fwd);
    }
    return (adapt + probes) * (uint64_t)t->episodes;
}

/* Append u, or return the index of the equal pretrain unit already there
 * (eval units with equal ids all stay: each carries its own labels). */
static int push(struct plan *p, const struct unit *u, struct err *e)
{
    for (int i = 0; u->kind == UNIT_PRETRAIN && i < p->n_units; i++)
        if (p->units[i].kind == UNIT_PRETRAIN && strcmp(p->units[i].id, u->id) == 0)
            return i;
    if (p->n_units == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        struct unit *n = realloc(p->units, sizeof *n * (size_t)cap);
        if (!n)
            return err_set(e, ERR_NOMEM, "out of memory for the plan");
        p->units = n, p->cap = cap;
    }
    p->units[p->n_units] = *u;
    return p->n_units++;
}

/* The source's rows, and for classification the rows of its smallest class. */
static int source_size(const struct variant *v, long seed, const struct dataset **sd, int *n,
                       int *k, int *smallest, struct err *e)
{
    int *rows = NULL, *labels = NULL, *ids = NULL, *count = NULL;
    int rc = data_source_rows(&v->store, seed, sd, &rows, &labels, n, k, &ids, e);
    *smallest = *n;
    if (!rc && *k > 0 && !(count = calloc((size_t)*k, sizeof *count)))
        rc = err_set(e, ERR_NOMEM, "out of memory for the plan");
    for (int i = 0; !rc && *k > 0 && i < *n; i++)
        count[labels[i]]++;
    for (int c = 0; !rc && c < *k; c++)
        *smallest = count[c] < *smallest ? count[c] : *smallest;
    free(rows), free(labels), free(ids), free(count);
    return rc;
}

/* A learner's own pretraining draws tasks from the source: classes enough
 * for meta.ways and rows enough for its shots, or a sinusoid family. */
static int check_own(const struct variant *v, int l, long shots, long queries,
                     const struct dataset *sd, int k, int smallest, struct err *e)
{
    const struct experiment *x = &v->x;
    const struct cfg_learner *cl = &x->learners[l];
    const struct cfg_data *c = config_data(x, x->source.data);
    char path[PLAN_PATH];
    snprintf(path, sizeof path, "learners.%s", cl->name);
    if (sd->kind == DATASET_REGRESSION && c->format != FMT_SINUSOID)
        return config_error(e, ERR_USAGE, &cl->where, path, "a %s learner draws its meta-training "
                            "tasks from the source, which needs classes or a sinusoid family; "
                            "\"%s\" is a regression table", learner_kinds[cl->s.kind]->name,
                            c->name);
    if (sd->kind == DATASET_CLASSIFICATION && cl->s.meta.ways > k)
        return config_error(e, ERR_USAGE, &cl->where, path, "meta.ways is %ld, but the source "
                            "has %d classes", cl->s.meta.ways, k);
    /* a task's sampler draws at least one query row beside the shots, used or not */
    const long q = queries > 0 ? queries : 1;
    char qtext[48] = "";
    if (queries > 0)
        snprintf(qtext, sizeof qtext, " and %ld quer%s", queries, queries == 1 ? "y" : "ies");
    if (sd->kind == DATASET_CLASSIFICATION && shots + q > smallest)
        return config_error(e, ERR_USAGE, &cl->where, path, "meta-training tasks of %ld shots%s "
                            "need %ld rows of every source class, and one has %d", shots, qtext,
                            shots + q, smallest);
    return ERR_OK;
}

/* The pretrain unit of seed for the shared supervised pretraining (learner
 * < 0) or learner's own for tasks of `shots` shots; its index (an equal one
 * already planned is reused), or a negative code. */
static int pretrain_unit(struct plan *p, int vi, long seed, int learner, long shots, long queries,
                         struct err *e)
{
    const struct variant *v = &p->variants[vi];
    const struct experiment *x = &v->x;
    struct unit u = {.kind = UNIT_PRETRAIN, .variant = vi, .seed = seed, .target = -1,
                     .learner = learner, .shots = learner >= 0 ? shots : 0,
                     .queries = learner >= 0 ? queries : 0, .pretrain = -1,
                     .same_as = -1};
    struct hash128 d;
    hash128_init(&d);
    pretrain_desc(&d, p, v, seed, learner, u.shots, u.queries);
    hash128_hex(&d, u.id);
    for (int i = 0; i < p->n_units; i++)   /* planned already: by another variant or learner */
        if (p->units[i].kind == UNIT_PRETRAIN && strcmp(p->units[i].id, u.id) == 0)
            return i;
    const struct dataset *sd;
    int n = 0, k = 0, smallest = 0;
    int rc = source_size(v, seed, &sd, &n, &k, &smallest, e);
    if (rc)
        return rc;
    bool reg = sd->kind == DATASET_REGRESSION;
    if (learner < 0) {
        struct mlp_arch a = plan_arch(x, (int)sd->dim, reg ? (int)sd->n_targets : k);
        u.flops = (uint64_t)x->source.train.epochs * (uint64_t)n * 3 *
                  mlp_forward_flops(&a, a.n_layers);
    } else {
        const struct learner_settings *s = &x->learners[learner].s;
        if ((rc = check_own(v, learner, shots, queries, sd, k, smallest, e)))
            return rc;
        int ways = reg ? 0 : (int)s->meta.ways, rows = reg ? (int)shots : ways * (int)shots;
        int qrows = reg ? (int)queries : ways * (int)queries;
        struct mlp_arch a = plan_arch(x, (int)sd->dim, reg ? (int)sd->n_targets : ways);
        u.flops = learner_kinds[s->kind]->pretrain_cost(s, rows, qrows, &a);
    }
    return push(p, &u, e);
}

/* The pretraining eval unit (l, shots) of seed reuses: shared, the
 * learner's own, or none (-1); a negative code below -1 on failure. */
static int pretrain_of(struct plan *p, int vi, long seed, int l, int target, long shots,
                       int shared, struct err *e)
{
    const struct experiment *x = &p->variants[vi].x;
    const struct learner_settings *s = &x->learners[l].s;
    const struct learner_kind *kind = learner_kinds[s->kind];
    switch (kind->pretraining(s)) {
    case PRETRAIN_SHARED:
        return shared;
    case PRETRAIN_OWN: {
        /* the tasks' queries, for kinds whose meta-training reads any */
        long queries = 0;
        if (learner_key_default(s->kind, "meta.queries"))
            queries = s->meta.queries > 0 ? s->meta.queries : x->targets[target].queries;
        int rc = pretrain_unit(p, vi, seed, l, kind->per_shots(s) ? shots : s->meta.shots,
                               queries, e);
        return rc < 0 ? rc - 1 : rc;   /* keep -1 for "none" */
    }
    default:
        return -1;
    }
}

static const struct plan *sorting;   /* by_id's plan: qsort has no context argument */

static int by_id(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    int c = strcmp(sorting->units[i].id, sorting->units[j].id);
    return c ? c : (i > j) - (i < j);
}

/* same_as of every eval unit: the first unit of its id, or -1 for that one. */
static int mark_shared(struct plan *p, struct err *e)
{
    int *order = malloc(sizeof *order * (size_t)(p->n_units ? p->n_units : 1));
    if (!order)
        return err_set(e, ERR_NOMEM, "out of memory for the plan");
    for (int i = 0; i < p->n_units; i++)
        order[i] = i;
    sorting = p;   /* plans are built by one thread (the runner's setup) */
    qsort(order, (size_t)p->n_units, sizeof *order, by_id);
    sorting = NULL;
    for (int i = 1; i < p->n_units; i++) {
        struct unit *u = &p->units[order[i]];
        const struct unit *prev = &p->units[order[i - 1]];
        if (u->kind == UNIT_EVAL && strcmp(u->id, prev->id) == 0)
            u->same_as = prev->same_as >= 0 ? prev->same_as : order[i - 1];
    }
    free(order);
    return ERR_OK;
}

int plan_build(struct plan *p, const char *core, struct err *e)
{
    snprintf(p->core, sizeof p->core, "%s", core);
    for (int vi = 0; vi < p->n_variants; vi++) {
        const struct variant *v = &p->variants[vi];
        const struct experiment *x = &v->x;
        for (int si = 0; si < x->n_seeds; si++) {
            long seed = x->seeds[si];
            int shared = -1;
            if (plan_needs_pretrain(x) && (shared = pretrain_unit(p, vi, seed, -1, 0, 0, e)) < 0)
                return shared;
            for (int t = 0; t < x->n_targets; t++)
                for (int l = 0; l < x->n_learners; l++)
                    for (int k = 0; k < x->targets[t].n_shots; k++) {
                        long shots = x->targets[t].shots[k];
                        int pre = pretrain_of(p, vi, seed, l, t, shots, shared, e);
                        if (pre < -1)
                            return pre + 1;
                        struct unit u = {.kind = UNIT_EVAL, .variant = vi, .seed = seed,
                                         .target = t, .learner = l, .shots = shots,
                                         .pretrain = pre, .same_as = -1};
                        struct hash128 d;
                        hash128_init(&d);
                        eval_desc(&d, p, v, &u);
                        hash128_hex(&d, u.id);
                        u.flops = eval_flops(v, &u);
                        int rc = push(p, &u, e);
                        if (rc < 0)
                            return rc;
                    }
        }
    }
    return mark_shared(p, e);
}

void plan_free(struct plan *p)
{
    if (!p)
        return;
    /* later variants may borrow earlier variants' data sets: free them first */
    for (int i = p->n_variants - 1; i >= 0; i--) {
        data_free(&p->variants[i].store);
        config_free(&p->variants[i].x);
    }
    free(p->shared);
    free(p->variants);
    free(p->units);
    memset(p, 0, sizeof *p);
}

/* ---- printing ---- */

static void print_time(FILE *out, double s)
{
    if (s < 60)
        fprintf(out, "%.1f s", s);
    else if (s < 3600)
        fprintf(out, "%.1f min", s / 60);
    else
        fprintf(out, "%.1f h", s / 3600);
}

void plan_print(const struct plan *p, FILE *out, double gflops)
{
    uint64_t f_pre = 0, f_eval = 0;
    int n_pre = 0, n_eval = 0, n_shared = 0;
    for (int i = 0; i < p->n_units; i++) {
        const struct unit *u = &p->units[i];
        const struct experiment *x = &p->variants[u->variant].x;
        if (u->kind == UNIT_PRETRAIN) {
            fprintf(out, "%s  pretrain  variant %s  seed %ld  source %s", u->id,
                    p->variants[u->variant].name, u->seed, x->source.data);
            if (u->learner >= 0)
                fprintf(out, "  learner %s (its own)", x->learners[u->learner].name);
            if (u->shots > 0)
                fprintf(out, "  shots %ld", u->shots);
            fprintf(out, "\n");
            f_pre += u->flops, n_pre++;
        } else {
            const struct cfg_learner *l = &x->learners[u->learner];
            fprintf(out, "%s  eval      variant %s  seed %ld  learner %s (%s)  target %s  shots %ld%s\n",
                    u->id, p->variants[u->variant].name, u->seed, l->name,
                    learner_kinds[l->s.kind]->name, x->targets[u->target].name, u->shots,
                    u->same_as >= 0 ? "  (the same unit as above: computed once)" : "");
            n_eval++;
            if (u->same_as >= 0)
                n_shared++;
            else
                f_eval += u->flops;
        }
    }
    double rate = gflops > 0 ? gflops * 1e9 : 1e10;
    fprintf(out, "\n%d variant%s, holding %.1f MB of configuration in memory (at most %zu MB)\n",
            p->n_variants, p->n_variants == 1 ? "" : "s", (double)p->config_bytes / (1 << 20),
            PLAN_MAX_CONFIG_BYTES >> 20);
    fprintf(out, "%d units: %d pretrain, %d eval", p->n_units, n_pre, n_eval);
    if (n_shared)
        fprintf(out, " (%d of them the same as an earlier one, computed once)", n_shared);
    fprintf(out, "\n");
    fprintf(out, "  pretrain: %.3g GFLOP, about ", (double)f_pre / 1e9);
    print_time(out, (double)f_pre / rate);
    fprintf(out, " of one worker\n  eval:     %.3g GFLOP, about ", (double)f_eval / 1e9);
    print_time(out, (double)f_eval / rate);
    fprintf(out, " of one worker\n  (estimates: closed-form FLOPs at %.1f GFLOP/s, the rate this "
            "machine's BLAS reached just now on a layer-sized product; small batches run slower)\n",
            rate / 1e9);
}
