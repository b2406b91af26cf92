/* plan: variants, units and their ids — what will run, decided before anything runs. */
#include "harness/plan.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- canonical descriptions and their hash ---- */

struct desc {
    char buf[8192];
    size_t len;
};

static void add(struct desc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct desc *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->buf + d->len, sizeof d->buf - d->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        d->len += (size_t)n < sizeof d->buf - d->len ? (size_t)n : sizeof d->buf - d->len - 1;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* 128 bits from two differently seeded FNV-1a passes, each finalised. */
static void hash_hex(const struct desc *d, char out[33])
{
    uint64_t h1 = 0xcbf29ce484222325u, h2 = 0x84222325cbf29ce4u;
    for (size_t i = 0; i < d->len; i++) {
        unsigned char c = (unsigned char)d->buf[i];
        h1 = (h1 ^ c) * 0x100000001b3u;
        h2 = (h2 ^ c) * 0x100000001b3u;
        h2 ^= h2 >> 29;
    }
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)mix64(h1 ^ d->len),
             (unsigned long long)mix64(h2 + d->len));
}

static void add_labels(struct desc *d, const struct cfg_labels *l)
{
    add(d, "[");
    for (int i = 0; i < l->n; i++)
        add(d, "%s%s", i ? "," : "", l->v[i]);
    add(d, "]");
}

static void add_network(struct desc *d, const struct experiment *x)
{
    add(d, "|net=");
    for (int i = 0; i < x->n_hidden; i++)
        add(d, "%ld,", x->hidden[i]);
    add(d, "act%d,init%d", x->activation, x->init);
}

static void add_learner(struct desc *d, const struct learner_settings *s)
{
    add(d, "|kind=%s,steps=%ld,opt=%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g", learner_kinds[s->kind].name,
        s->steps, s->optim.kind, s->optim.lr, s->optim.momentum, s->optim.weight_decay,
        s->optim.beta1, s->optim.beta2, s->optim.eps);
    add(d, ",freeze=%d:", s->freeze);
    for (int i = 0; i < s->n_frozen; i++)
        add(d, "%ld,", s->frozen[i]);
    add(d, "head=%d,dist=%d,k=%ld,space=%d,record=", s->head, s->distance, s->k, s->space);
    for (int i = 0; i < s->n_record; i++)
        add(d, "%ld,", s->record_steps[i]);
}

static void pretrain_desc(struct desc *d, const struct plan *p, const struct variant *v, long seed)
{
    const struct experiment *x = &v->x;
    const struct cfg_source *s = &x->source;
    const struct cfg_train *t = &s->train;
    add(d, "kshot-unit/%d pretrain|core=%s|data=%08x|source=%s,%s,", PLAN_FORMAT, p->core,
        data_fingerprint(&v->store, s->data, seed), s->data, s->split);
    add_labels(d, &s->classes);
    add_network(d, x);
    add(d, "|train=%ld,%ld,%d,%.17g,%.17g,%.17g|seed=%ld", t->epochs, t->batch, t->optimizer, t->lr,
        t->momentum, t->weight_decay, seed);
}

static void eval_desc(struct desc *d, const struct plan *p, const struct variant *v,
                      const struct unit *u)
{
    const struct experiment *x = &v->x;
    const struct cfg_target *t = &x->targets[u->target];
    const struct cfg_data *c = config_data(x, t->data);
    add(d, "kshot-unit/%d eval|core=%s|experiment=%s|variant=%s|learner=%s", PLAN_FORMAT, p->core,
        x->name, v->name, x->learners[u->learner].name);
    add_learner(d, &x->learners[u->learner].s);
    add(d, "|pretrain=%s", u->pretrain >= 0 ? p->units[u->pretrain].id : "-");
    add(d, "|source=%s", x->source.data ? x->source.data : "");
    add(d, "|target=%s,%s,%08x,%s,", t->name, t->data, data_fingerprint(&v->store, t->data, u->seed),
        t->split);
    add_labels(d, &t->classes);
    add(d, ",ways=%ld,q=%ld,ep=%ld,perm=%d,rot=%.17g,noise=%.17g", t->ways, t->queries, t->episodes,
        t->permute, t->rotate, t->noise);
    if (c->format == FMT_SINUSOID)
        add(d, ",sine=%.17g,%.17g,%.17g,%.17g,%.17g,%.17g", c->amplitude[0], c->amplitude[1],
            c->phase[0], c->phase[1], c->x[0], c->x[1]);
    add_network(d, x);
    add(d, "|shots=%ld|seed=%ld", u->shots, u->seed);
}

/* ---- variants ---- */

static int emit_text(const struct yt_doc *doc, char **text, struct err *e)
{
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    if (!f)
        return err_set(e, ERR_NOMEM, "out of memory");
    int rc = yt_emit(doc->root, f, e);
    fclose(f);
    return rc;
}

/* Variant number idx: its name and its (path=value) overrides applied to text. */
static int make_variant(struct variant *v, const char *text, const struct experiment *base,
                        int idx, struct err *e)
{
    struct yt_doc doc = {0};
    int rc = yt_load_string(base->file, text, &doc, e);
    v->name[0] = '\0';
    for (int k = base->n_sweep - 1, r = idx; !rc && k >= 0; k--) {
        const struct cfg_sweep *s = &base->sweep[k];
        const char *val = s->values[r % s->n_values];
        r /= s->n_values;
        char arg[1024], name[sizeof v->name];
        snprintf(arg, sizeof arg, "%s=%s", s->path, val);
        /* name = arg [";" name], cut to the buffer */
        size_t a = strnlen(arg, sizeof name - 1), rest = strlen(v->name);
        memcpy(name, arg, a);
        if (rest && a + 1 < sizeof name) {
            name[a++] = ';';
            size_t m = rest < sizeof name - 1 - a ? rest : sizeof name - 1 - a;
            memcpy(name + a, v->name, m);
            a += m;
        }
        name[a] = '\0';
        memcpy(v->name, name, sizeof name);
        rc = yt_override(&doc, arg, k + 1, e);
    }
    if (!rc)
        rc = config_from_tree(&doc, &v->x, e);
    if (rc)
        err_prefix(e, "sweep variant %s", v->name);
    yt_free(&doc);
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
        rc = make_variant(&p->variants[i], text, base, i, e);
        p->n_variants++;
    }
    free(text);
    return rc;
}

int plan_prepare(struct plan *p, struct err *e)
{
    for (int i = 0; i < p->n_variants; i++) {
        int rc = data_prepare(&p->variants[i].store, &p->variants[i].x, e);
        if (rc)
            return p->n_variants > 1 ? err_prefix(e, "sweep variant %s", p->variants[i].name) : rc;
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

static struct mlp_arch arch_of(const struct experiment *x, int dim, int out)
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
    struct mlp_arch a = arch_of(x, tv->dim, (int)out);
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

static int push(struct plan *p, const struct unit *u, struct err *e)
{
    for (int i = 0; i < p->n_units; i++)
        if (strcmp(p->units[i].id, u->id) == 0)
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
    struct desc d = {.len = 0};
    pretrain_desc(&d, p, v, seed);
    hash_hex(&d, u.id);
    const struct dataset *sd;
    int *rows = NULL, *labels = NULL, *ids = NULL, n = 0, k = 0;
    int rc = data_source_rows(&v->store, seed, &sd, &rows, &labels, &n, &k, &ids, e);
    free(rows), free(labels), free(ids);
    if (rc)
        return rc;
    struct mlp_arch a = arch_of(&v->x, (int)sd->dim, sd->kind == DATASET_REGRESSION ? 1 : k);
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
                        struct desc d = {.len = 0};
                        eval_desc(&d, p, v, &u);
                        hash_hex(&d, u.id);
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
    for (int i = 0; i < p->n_variants; i++) {
        data_free(&p->variants[i].store);
        config_free(&p->variants[i].x);
    }
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
