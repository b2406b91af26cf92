/* plan: variants, units and their ids — what will run, decided before anything runs. */
#include "harness/plan.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/hash.h"

/* ---- canonical descriptions, digested by hash128 ---- */

static void add_labels(struct hash128 *d, const struct cfg_labels *l)
{
    hash128_printf(d, "[%d:", l->n);
    for (int i = 0; i < l->n; i++)
        hash128_str(d, l->v[i]);
    hash128_printf(d, "]");
}

static void add_network(struct hash128 *d, const struct experiment *x)
{
    hash128_printf(d, "|net=");
    for (int i = 0; i < x->n_hidden; i++)
        hash128_printf(d, "%ld,", x->hidden[i]);
    hash128_printf(d, "act%d,init%d", x->activation, x->init);
}

static void add_learner(struct hash128 *d, const struct learner_settings *s)
{
    hash128_printf(d, "|kind=");
    hash128_str(d, learner_kinds[s->kind].name);
    hash128_printf(d, ",steps=%ld,opt=%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g", s->steps, s->optim.kind,
        s->optim.lr, s->optim.momentum, s->optim.weight_decay, s->optim.beta1, s->optim.beta2, s->optim.eps);
    hash128_printf(d, ",freeze=%d:", s->freeze);
    for (int i = 0; i < s->n_frozen; i++)
        hash128_printf(d, "%ld,", s->frozen[i]);
    hash128_printf(d, "head=%d,dist=%d,k=%ld,space=%d,record=", s->head, s->distance, s->k, s->space);
    for (int i = 0; i < s->n_record; i++)
        hash128_printf(d, "%ld,", s->record_steps[i]);
}

static void pretrain_desc(struct hash128 *d, const struct plan *p, const struct variant *v, long seed)
{
    const struct experiment *x = &v->x;
    const struct cfg_source *s = &x->source;
    const struct cfg_train *t = &s->train;
    /* the experiment's name is in the unit's pretrain.csv row */
    hash128_printf(d, "kshot-unit/%d pretrain|core=", PLAN_FORMAT);
    hash128_str(d, p->core);
    hash128_printf(d, "|experiment=");
    hash128_str(d, x->name);
    hash128_printf(d, "|data=%08x|source=", data_fingerprint(&v->store, s->data, seed));
    hash128_str(d, s->data);
    hash128_str(d, s->split);
    add_labels(d, &s->classes);
    add_network(d, x);
    hash128_printf(d, "|train=%ld,%ld,%d,%.17g,%.17g,%.17g|seed=%ld", t->epochs, t->batch, t->optimizer, t->lr,
        t->momentum, t->weight_decay, seed);
}

static void eval_desc(struct hash128 *d, const struct plan *p, const struct variant *v,
                      const struct unit *u)
{
    const struct experiment *x = &v->x;
    const struct cfg_target *t = &x->targets[u->target];
    const struct cfg_data *c = config_data(x, t->data);
    /* experiment, variant, source, target and learner names are in its rows */
    hash128_printf(d, "kshot-unit/%d eval|core=", PLAN_FORMAT);
    hash128_str(d, p->core);
    hash128_printf(d, "|experiment=");
    hash128_str(d, x->name);
    hash128_printf(d, "|variant=");
    hash128_str(d, v->name);
    hash128_printf(d, "|learner=");
    hash128_str(d, x->learners[u->learner].name);
    add_learner(d, &x->learners[u->learner].s);
    hash128_printf(d, "|pretrain=");
    hash128_str(d, u->pretrain >= 0 ? p->units[u->pretrain].id : "-");
    hash128_printf(d, "|source=");
    hash128_str(d, x->source.data);
    hash128_printf(d, "|target=");
    hash128_str(d, t->name);
    hash128_str(d, t->data);
    hash128_printf(d, "%08x", data_fingerprint(&v->store, t->data, u->seed));
    hash128_str(d, t->split);
    add_labels(d, &t->classes);
    hash128_printf(d, ",ways=%ld,q=%ld,ep=%ld,perm=%d,rot=%.17g,noise=%.17g", t->ways, t->queries, t->episodes,
        t->permute, t->rotate, t->noise);
    if (c->format == FMT_SINUSOID)
        hash128_printf(d, ",sine=%.17g,%.17g,%.17g,%.17g,%.17g,%.17g", c->amplitude[0], c->amplitude[1],
            c->phase[0], c->phase[1], c->x[0], c->x[1]);
    add_network(d, x);
    hash128_printf(d, "|shots=%ld|seed=%ld", u->shots, u->seed);
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

int plan_variants(struct plan *p, const struct yt_doc *doc, const struct experiment *base,
                  struct err *e)
{
    memset(p, 0, sizeof *p);
    int n = 1;
    for (int k = 0; k < base->n_sweep; k++) {
        n *= base->sweep[k].n_values;
        if (n > 4096)
            return err_set(e, ERR_USAGE, "%s: sweep: more than 4096 variants", base->file);
    }
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

int plan_prepare(struct plan *p, struct err *e)
{
    if (!(p->shared = calloc((size_t)p->n_variants, sizeof *p->shared)))
        return err_set(e, ERR_NOMEM, "out of memory");
    for (int i = 0; i < p->n_variants; i++) {
        int rc = data_prepare_shared(&p->variants[i].store, &p->variants[i].x,
                                     (const struct store *const *)p->shared, i, e);
        p->shared[i] = &p->variants[i].store;
        if (rc)
            return p->variants[i].x.n_sweep ? err_prefix(e, "sweep variant %s", p->variants[i].name)
                                            : rc;
    }
    return ERR_OK;
}

/* ---- units ---- */

bool plan_needs_pretrain(const struct experiment *x)
{
    for (int i = 0; i < x->n_learners; i++)
        if (learner_kinds[x->learners[i].s.kind].needs_pretrain(&x->learners[i].s))
            return true;
    return false;
}

uint64_t plan_forward_flops(const struct mlp_arch *a)
{
    uint64_t f = 0;
    for (int l = 0; l < a->n_layers; l++) {
        uint64_t in = (uint64_t)a->sizes[l], out = (uint64_t)a->sizes[l + 1];
        f += 2 * in * out + out + (l < a->n_layers - 1 && a->act != ACT_IDENTITY ? out : 0);
    }
    return f;
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

static uint64_t eval_flops(const struct variant *v, const struct unit *u)
{
    const struct experiment *x = &v->x;
    const struct target_view *tv = data_view(&v->store, u->seed, u->target);
    const struct cfg_target *t = tv->cfg;
    const struct learner_settings *s = &x->learners[u->learner].s;
    bool reg = tv->d == NULL;
    uint64_t ways = reg ? 1 : (uint64_t)t->ways, out = reg ? 1 : ways;
    uint64_t S = ways * (uint64_t)u->shots, Q = ways * (uint64_t)t->queries;
    struct mlp_arch a = plan_arch(x, tv->dim, (int)out);
    uint64_t fwd = plan_forward_flops(&a), per;
    const char *kind = learner_kinds[s->kind].name;
    if (strcmp(kind, "scratch") == 0 || strcmp(kind, "finetune") == 0)
        per = (uint64_t)s->steps * S * 3 * fwd + (uint64_t)(s->n_record ? s->n_record : 1) * Q * fwd;
    else if (strcmp(kind, "knn") == 0 && s->space == SPACE_INPUT)
        per = 3 * Q * S * (uint64_t)tv->dim;
    else
        per = (S + Q) * fwd + 3 * Q * S * (uint64_t)a.sizes[a.n_layers - 1];
    return per * (uint64_t)t->episodes;
}

/* Append u, or return the index of the equal pretrain unit already there.
 * Eval ids hold the variant, target, learner and shots, so they never repeat. */
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

static int pretrain_unit(struct plan *p, int vi, long seed, struct err *e)
{
    const struct variant *v = &p->variants[vi];
    struct unit u = {.kind = UNIT_PRETRAIN, .variant = vi, .seed = seed, .target = -1,
                     .learner = -1, .pretrain = -1};
    struct hash128 d;
    hash128_init(&d);
    pretrain_desc(&d, p, v, seed);
    hash128_hex(&d, u.id);
    const struct dataset *sd;
    int *rows = NULL, *labels = NULL, *ids = NULL, n = 0, k = 0;
    int rc = data_source_rows(&v->store, seed, &sd, &rows, &labels, &n, &k, &ids, e);
    free(rows), free(labels), free(ids);
    if (rc)
        return rc;
    struct mlp_arch a = plan_arch(&v->x, (int)sd->dim, sd->kind == DATASET_REGRESSION ? 1 : k);
    u.flops = (uint64_t)v->x.source.train.epochs * (uint64_t)n * 3 * plan_forward_flops(&a);
    return push(p, &u, e);
}

int plan_build(struct plan *p, const char *core, struct err *e)
{
    snprintf(p->core, sizeof p->core, "%s", core);
    for (int vi = 0; vi < p->n_variants; vi++) {
        const struct variant *v = &p->variants[vi];
        const struct experiment *x = &v->x;
        for (int si = 0; si < x->n_seeds; si++) {
            int pre = -1;
            if (plan_needs_pretrain(x) && (pre = pretrain_unit(p, vi, x->seeds[si], e)) < 0)
                return pre;
            for (int t = 0; t < x->n_targets; t++)
                for (int l = 0; l < x->n_learners; l++)
                    for (int k = 0; k < x->targets[t].n_shots; k++) {
                        const struct learner_settings *s = &x->learners[l].s;
                        struct unit u = {.kind = UNIT_EVAL, .variant = vi, .seed = x->seeds[si],
                                         .target = t, .learner = l, .shots = x->targets[t].shots[k],
                                         .pretrain = learner_kinds[s->kind].needs_pretrain(s) ? pre : -1};
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
    return ERR_OK;
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
    int n_pre = 0, n_eval = 0;
    for (int i = 0; i < p->n_units; i++) {
        const struct unit *u = &p->units[i];
        const struct experiment *x = &p->variants[u->variant].x;
        if (u->kind == UNIT_PRETRAIN) {
            fprintf(out, "%s  pretrain  variant %s  seed %ld  source %s\n", u->id,
                    p->variants[u->variant].name, u->seed, x->source.data);
            f_pre += u->flops, n_pre++;
        } else {
            const struct cfg_learner *l = &x->learners[u->learner];
            fprintf(out, "%s  eval      variant %s  seed %ld  learner %s (%s)  target %s  shots %ld\n",
                    u->id, p->variants[u->variant].name, u->seed, l->name,
                    learner_kinds[l->s.kind].name, x->targets[u->target].name, u->shots);
            f_eval += u->flops, n_eval++;
        }
    }
    double rate = gflops > 0 ? gflops * 1e9 : 1e10;
    fprintf(out, "\n%d units: %d pretrain, %d eval\n", p->n_units, n_pre, n_eval);
    fprintf(out, "  pretrain: %.3g GFLOP, about ", (double)f_pre / 1e9);
    print_time(out, (double)f_pre / rate);
    fprintf(out, " of one worker\n  eval:     %.3g GFLOP, about ", (double)f_eval / 1e9);
    print_time(out, (double)f_eval / rate);
    fprintf(out, " of one worker\n  (estimates: closed-form FLOPs at %.1f GFLOP/s, the rate this "
            "machine's BLAS reached just now on a layer-sized product; small batches run slower)\n",
            rate / 1e9);
}
