/* learner: the registry, the learner settings' keys, the lifecycle's
 * dispatch, and the body (feature extractor) the reusing kinds share.
 *
 * Adding a learner kind: one file defining its struct learner_kind (its
 * keys and their defaults, pretraining, lifecycle functions and cost), one
 * line naming it in learner_kinds[] below, one line in meson.build; a
 * setting no kind had before is also one row of learner_keys[] and one
 * field of struct learner_settings. Nothing outside learners/ names a kind. */
#include "learners/learner_impl.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/simd.h"

/* ---- the registry ---- */

extern const struct learner_kind learner_scratch, learner_finetune, learner_prototypes,
    learner_knn, learner_reptile, learner_maml, learner_fomaml, learner_anil, learner_metasgd;

const struct learner_kind *const learner_kinds[] = {
    &learner_scratch,
    &learner_finetune,
    &learner_prototypes,
    &learner_knn,
    &learner_reptile,
    &learner_maml,
    &learner_fomaml,
    &learner_anil,
    &learner_metasgd,
};
const int learner_n_kinds = (int)(sizeof learner_kinds / sizeof learner_kinds[0]);

const char *const learner_distances[] = {"euclidean", "cosine", NULL};
const char *const learner_spaces[] = {"features", "input", NULL};
/* the word of meta.queries (a K_EACH key names its word in choices[0]) */
static const char *const learner_each_target[] = {"target", NULL};

#define LS(f) offsetof(struct learner_settings, f)

/* Every setting a learner kind may accept; each kind lists its own. Test-time
 * settings feed the evaluation's id; a kind's own pretraining's settings
 * will feed its pretraining's. */
const struct keydef learner_keys[] = {
    {"steps", K_INT, 0, 1000000, "100", LS(steps), 0, NULL,
     "full-batch gradient steps on the support set", FEEDS_EVAL},
    {"optimizer", K_ENUM, 0, 0, "adam", LS(optim.kind), 0, optim_names,
     "optimizer of the adaptation: sgd or adam", FEEDS_EVAL},
    {"lr", K_NUM, 0, 100, "0.001", LS(optim.lr), 0, NULL, "learning rate", FEEDS_EVAL},
    {"momentum", K_NUM, 0, 1, "0", LS(optim.momentum), 0, NULL, OPTIM_HELP_MOMENTUM,
     FEEDS_EVAL},
    {"weight_decay", K_NUM, 0, HUGE_VAL, "0", LS(optim.weight_decay), 0, NULL,
     OPTIM_HELP_WEIGHT_DECAY, FEEDS_EVAL},
    {"beta1", K_NUM, 0, 1, "0.9", LS(optim.beta1), 0, NULL, OPTIM_HELP_BETA1, FEEDS_EVAL},
    {"beta2", K_NUM, 0, 1, "0.999", LS(optim.beta2), 0, NULL, OPTIM_HELP_BETA2, FEEDS_EVAL},
    {"epsilon", K_NUM, 0, 1, "1e-8", LS(optim.eps), 0, NULL, OPTIM_HELP_EPSILON, FEEDS_EVAL},
    {"record_steps", K_INTS, 0, 1000000, "[]", LS(n_record), LS(record_steps), NULL,
     "also record metrics after these steps (the final step is always recorded)", FEEDS_EVAL},
    {"freeze", K_FREEZE, 0, 0, "none", LS(freeze), 0, NULL,
     "none, body (train the head only: a linear probe) or a list of layer indices, 0 first",
     FEEDS_EVAL},
    {"head", K_ENUM, 0, 0, "zero", LS(head), 0, mlp_init_names,
     "initialisation of the new head: torch, he, glorot or zero", FEEDS_EVAL},
    {"distance", K_ENUM, 0, 0, "euclidean", LS(distance), 0, learner_distances,
     "euclidean (squared) or cosine", FEEDS_EVAL},
    {"k", K_INT, 1, 1000, "1", LS(k), 0, NULL, "neighbours that vote", FEEDS_EVAL},
    {"space", K_ENUM, 0, 0, "features", LS(space), 0, learner_spaces,
     "features (pretrained body) or input (raw inputs, no pretraining)", FEEDS_EVAL},
    /* meta-training: a kind's own pretraining on tasks drawn from the source */
    {"meta", K_SUB, 0, 0, "", LS(meta), 0, NULL,
     "meta-training on tasks drawn from the source task: meta.*", FEEDS_NONE},
    {"meta.iterations", K_INT, 1, 10000000, "1000", LS(meta.iterations), 0, NULL,
     "outer steps of the meta-training", FEEDS_PRETRAIN},
    {"meta.batch", K_INT, 1, 100000, "5", LS(meta.batch), 0, NULL, "tasks per outer step",
     FEEDS_PRETRAIN},
    {"meta.ways", K_INT, 2, 1000, "5", LS(meta.ways), 0, NULL,
     "classes of a meta-training task, drawn from the source's (classification; a target with "
     "other ways gets a new zero head)", FEEDS_PRETRAIN},
    {"meta.shots", K_EACH, 1, 100000, "each", LS(meta.shots), 0, NULL,
     "support examples per class (or points) of a meta-training task; each: one meta-training "
     "per evaluated shot count", FEEDS_PRETRAIN},
    {"meta.queries", K_EACH, 1, 100000, "target", LS(meta.queries), 0, learner_each_target,
     "query examples per class (or points) of a meta-training task, whose loss is meta-learned; "
     "target: the evaluated target's queries", FEEDS_PRETRAIN},
    {"meta.inner_steps", K_INT, 1, 100000, "5", LS(meta.inner_steps), 0, NULL,
     "full-batch steps of the inner loop on a task", FEEDS_PRETRAIN},
    {"meta.inner_lr", K_NUM, 0, 100, "0.01", LS(meta.inner_lr), 0, NULL,
     "the inner loop's learning rate", FEEDS_PRETRAIN},
    {"meta.inner_optimizer", K_ENUM, 0, 0, "sgd", LS(meta.inner_optimizer), 0, optim_names,
     "the inner loop's optimizer: sgd or adam", FEEDS_PRETRAIN},
    {"meta.lr", K_NUM, 0, 100, "0.1", LS(meta.lr), 0, NULL,
     "the outer step size (reptile: the fraction ε of the way to the adapted parameters)",
     FEEDS_PRETRAIN},
    {"meta.optimizer", K_ENUM, 0, 0, "adam", LS(meta.optimizer), 0, optim_names,
     "the outer step's optimizer on the meta-gradient: sgd or adam", FEEDS_PRETRAIN},
};
const int learner_n_keys = (int)(sizeof learner_keys / sizeof learner_keys[0]);

int learner_find(const char *name)
{
    for (int i = 0; i < learner_n_kinds; i++)
        if (strcmp(learner_kinds[i]->name, name) == 0)
            return i;
    return -1;
}

static const struct keydef *find_key(const char *name)
{
    for (int i = 0; i < learner_n_keys; i++)
        if (strcmp(learner_keys[i].name, name) == 0)
            return &learner_keys[i];
    return NULL;
}

const char *learner_key_default(int kind, const char *key)
{
    if (kind < 0 || kind >= learner_n_kinds)
        return NULL;
    for (const struct kind_key *k = learner_kinds[kind]->keys; k->name; k++)
        if (strcmp(k->name, key) == 0) {
            const struct keydef *d = find_key(key);
            return k->def ? k->def : d ? d->def : NULL;
        }
    return NULL;
}

bool learner_recorded(const struct learner_settings *s, long step)
{
    if (step == s->steps)
        return true;
    for (int i = 0; i < s->n_record; i++)
        if (s->record_steps[i] == step)
            return true;
    return false;
}

int learner_frozen(const struct learner_settings *s, const struct mlp_arch *pre)
{
    const struct learner_kind *k = learner_kinds[s->kind];
    return pre && k->frozen ? k->frozen(s, pre) : 0;
}

int learner_features(const struct mlp *net, int depth, const float *x, int n, float *out,
                     uint64_t *flops, struct err *e)
{
    enum { CHUNK = 256 };   /* the kinds' feature batches (prototypes.c, knn.c) */
    struct body b;
    int rc = body_init(&b, net, depth, n < CHUNK ? n : CHUNK, e);
    if (!rc)
        body_forward(&b, x, n, out, flops);
    body_free(&b);
    return rc;
}

/* ---- the lifecycle ---- */

int learner_check_pretrained(const struct mlp *pretrained, const struct fewshot *shape,
                             bool keeps_head, struct err *e)
{
    if (!pretrained)
        return err_set(e, ERR_USAGE, "learner: this kind needs a pretrained network");
    const struct mlp_arch *a = &pretrained->arch;
    if (a->sizes[0] != shape->dim)
        return err_set(e, ERR_USAGE, "learner: the pretrained network takes %d inputs but "
                       "the task has %d", a->sizes[0], shape->dim);
    if (keeps_head && a->sizes[a->n_layers] != shape->out_dim)
        return err_set(e, ERR_USAGE, "learner: the pretrained network has %d output%s but "
                       "the task's targets have %d", a->sizes[a->n_layers],
                       a->sizes[a->n_layers] == 1 ? "" : "s", shape->out_dim);
    return ERR_OK;
}

struct learner *learner_new(const struct learner_settings *s, const struct learner_env *env,
                            const struct fewshot *shape, struct err *e)
{
    if (s->kind < 0 || s->kind >= learner_n_kinds) {
        err_set(e, ERR_USAGE, "learner kind %d does not exist", s->kind);
        return NULL;
    }
    if (shape->n_support < 1 || shape->n_query < 1 || shape->dim < 1 || shape->out_dim < 1 ||
        shape->ways < 0) {
        err_set(e, ERR_USAGE, "learner: an episode of %d support and %d query rows, %d inputs "
                "and %d outputs (expected each at least 1)", shape->n_support, shape->n_query,
                shape->dim, shape->out_dim);
        return NULL;
    }
    struct learner *l = calloc(1, sizeof *l);
    if (!l) {
        err_set(e, ERR_NOMEM, "out of memory for a learner");
        return NULL;
    }
    l->kind = learner_kinds[s->kind];
    l->s = *s;
    l->env = *env;
    l->shape = (struct fewshot){.ways = shape->ways, .out_dim = shape->out_dim, .dim = shape->dim,
                                .n_support = shape->n_support, .n_query = shape->n_query};
    l->cap = shape->n_support > shape->n_query ? shape->n_support : shape->n_query;
    l->model.l = l;
    if (l->kind->init(l, e) != ERR_OK) {
        learner_free(l);
        return NULL;
    }
    return l;
}

int learner_adapt(struct learner *l, const struct fewshot *t, struct rng *r,
                  learner_record_fn rec, void *arg, struct learner_model **out, struct err *e)
{
    const struct fewshot *s = &l->shape;
    if (t->ways != s->ways || t->out_dim != s->out_dim || t->dim != s->dim ||
        t->n_support != s->n_support || t->n_query != s->n_query)
        return err_set(e, ERR_USAGE, "learner: an episode of another shape than the learner "
                       "was made for");
    if ((t->fs || t->fq) && (!t->fs || !t->fq || learner_frozen(&l->s, l->env.pretrained
                                                                         ? &l->env.pretrained->arch
                                                                         : NULL) == 0))
        return err_set(e, ERR_USAGE, "learner: features given for a %s learner without frozen "
                       "layers, or for only one of the support and query sets", l->kind->name);
    int rc = l->kind->adapt(l, t, r, rec, arg, e);
    if (out)
        *out = rc ? NULL : &l->model;
    return rc;
}

uint64_t learner_flops(const struct learner *l)
{
    return l->flops;
}

void learner_free(struct learner *l)
{
    if (!l)
        return;
    if (l->kind->release)
        l->kind->release(l);
    free(l);
}

int model_predict(struct learner_model *m, const float *x, int n, float *scores, struct err *e)
{
    return n > 0 ? m->l->kind->predict(m->l, x, NULL, n, scores, e) : ERR_OK;
}

int model_predict_features(struct learner_model *m, const float *f, int n, float *scores,
                           struct err *e)
{
    struct learner *l = m->l;
    if (learner_frozen(&l->s, l->env.pretrained ? &l->env.pretrained->arch : NULL) == 0)
        return err_set(e, ERR_USAGE, "a %s model has no frozen layers to take features of",
                       l->kind->name);
    return n > 0 ? l->kind->predict(l, NULL, f, n, scores, e) : ERR_OK;
}

bool model_logits(const struct learner_model *m)
{
    return m->l->kind->logits && m->l->shape.ways > 0;
}

int model_body(struct learner_model *m, const float *x, int n, float *out, struct err *e)
{
    struct learner *l = m->l;
    if (!l->kind->body)
        return err_set(e, ERR_USAGE, "a %s model has no adapted body", l->kind->name);
    return n > 0 ? l->kind->body(l, x, n, out, e) : ERR_OK;
}

bool model_has_body(const struct learner_model *m)
{
    return m->l->kind->body != NULL;
}

bool model_has_input_grad(const struct learner_model *m)
{
    return m->l->kind->input_grad != NULL;
}

static int input_grad(struct learner_model *m, const float *x, const int *y, const float *t,
                      int n, bool predicted, float *dx, double *loss, struct err *e)
{
    struct learner *l = m->l;
    if (!l->kind->input_grad)
        return err_set(e, ERR_USAGE, "a %s model has no input gradient", l->kind->name);
    if (n < 1)
        return err_set(e, ERR_USAGE, "input gradient of an empty batch");
    double dummy;
    return l->kind->input_grad(l, x, y, t, n, predicted, dx, loss ? loss : &dummy, e);
}

int model_input_grad(struct learner_model *m, const float *x, const int *y, const float *t,
                     int n, float *dx, double *loss, struct err *e)
{
    return input_grad(m, x, y, t, n, false, dx, loss, e);
}

int model_input_grad_predicted(struct learner_model *m, const float *x, const int *y,
                               const float *t, int n, float *dx, double *loss, struct err *e)
{
    return input_grad(m, x, y, t, n, true, dx, loss, e);
}

/* ---- the body ---- */

int body_init(struct body *b, const struct mlp *net, int upto, int cap, struct err *e)
{
    memset(b, 0, sizeof *b);
    b->upto = upto;
    b->dim = net->arch.sizes[0];
    b->width = net->arch.sizes[upto];
    b->view = *net;
    b->view.flops = 0;
    return upto > 0 ? mlp_work_init(&b->w, &net->arch, cap, e) : ERR_OK;
}

void body_identity(struct body *b, int dim)
{
    memset(b, 0, sizeof *b);
    b->dim = b->width = dim;
}

void body_free(struct body *b)
{
    if (b)
        mlp_work_free(&b->w);
}

const float *body_forward_keep(struct body *b, const float *x, int m, uint64_t *flops)
{
    if (b->upto == 0)
        return x;
    assert(m <= b->w.cap);
    b->view.flops = 0;
    const float *out = mlp_forward(&b->view, &b->w, x, m, b->upto);
    *flops += b->view.flops;
    return out;
}

void body_forward(struct body *b, const float *x, int n, float *out, uint64_t *flops)
{
    const int dim = b->dim;
    if (b->upto == 0) {
        memcpy(out, x, sizeof *out * (size_t)n * (size_t)dim);
        return;
    }
    for (int i = 0; i < n; i += b->w.cap) {
        int m = n - i < b->w.cap ? n - i : b->w.cap;
        const float *f = body_forward_keep(b, x + (size_t)i * dim, m, flops);
        memcpy(out + (size_t)i * b->width, f, sizeof *out * (size_t)m * (size_t)b->width);
    }
}

void body_backward(struct body *b, const float *dout, int m, float *dx, uint64_t *flops)
{
    if (b->upto == 0) {
        memcpy(dx, dout, sizeof *dx * (size_t)m * (size_t)b->width);
        return;
    }
    assert(m == b->w.batch);
    /* no layer's parameters get a gradient: only dx is wanted */
    b->view.flops = 0;
    mlp_backward(&b->view, &b->w, dout, b->upto, dx);
    *flops += b->view.flops;
}

/* ---- sums over features ---- */

static int strip_rows(int m)
{
    return (m + SUM_ROWS - 1) / SUM_ROWS * SUM_ROWS;
}

size_t feature_sums_scratch(int m, int k, int d)
{
    return ((size_t)strip_rows(m) + (size_t)k) * (size_t)d;
}

/* The sums of SUM_ROWS rows (qt's columns i0…, stride mp) against C centres
 * cv[0..C) (in double) at once, SUM_ROWS·C running sums in vector registers
 * (eight doubles each: one AVX-512 register, two AVX2 ones, whichever the
 * clone has), so no sum waits on the one before it; each sum is still
 * accumulated over j = 0, 1, … in order, elementwise, as the plain loop.
 * A column is read straight from qt and a centre's feature broadcast from
 * memory, so the vector units do only the sums' own operations. Inlined
 * into feature_sums, so each of its clones has its own. vec8d: simd.h;
 * vec8u, the same lanes read from any double. */
typedef double vec8u __attribute__((vector_size(64), aligned(8), may_alias));
enum { V = SUM_ROWS / 8 };

#define STRIP(NAME, C, TERM)                                                              \
    static inline __attribute__((always_inline)) void NAME(                               \
        const double *qt, int mp, const double *const *cv, int d, double out[][SUM_ROWS]) \
    {                                                                                     \
        vec8d s[C][V];                                                                     \
        for (int c = 0; c < C; c++)                                                       \
            for (int v = 0; v < V; v++)                                                   \
                s[c][v] = (vec8d){0};                                                      \
        for (int j = 0; j < d; j++) {                                                     \
            const vec8u *col = (const vec8u *)(qt + (size_t)j * mp);                      \
            for (int c = 0; c < C; c++) {                                                 \
                const double cj = cv[c][j];                                               \
                for (int v = 0; v < V; v++)                                               \
                    s[c][v] += TERM;                                                      \
            }                                                                             \
        }                                                                                 \
        memcpy(out, s, sizeof s);                                                         \
    }
STRIP(dot1, 1, col[v] * cj)
STRIP(dot4, 4, col[v] * cj)
STRIP(sq1, 1, (col[v] - cj) * (col[v] - cj))
STRIP(sq4, 4, (col[v] - cj) * (col[v] - cj))
#undef STRIP

KSHOT_CLONES
void feature_sums(const float *q, int m, const float *c, int k, int d, bool dot, double *qt,
                  double *out, double *norms)
{
    enum { C = 4 };
    const int mp = strip_rows(m);
    /* qt (d, mp): feature j of every row side by side, eight rows (one
     * cache line of qt) at a time; padding rows are computed, never stored */
    for (int i0 = 0; i0 < mp; i0 += 8) {
        const int n = m - i0 < 8 ? (m > i0 ? m - i0 : 0) : 8;
        for (int j = 0; j < d; j++) {
            double *t = qt + (size_t)j * mp + i0;
            if (n == 8)
                for (int i = 0; i < 8; i++)
                    t[i] = q[(size_t)(i0 + i) * d + j];
            else   /* no pointer formed past the rows */
                for (int i = 0; i < 8; i++)
                    t[i] = i < n ? q[(size_t)(i0 + i) * d + j] : 0;
        }
    }
    double *cd = qt + (size_t)mp * d;   /* (k, d): the centres in double, once */
    for (size_t i = 0; i < (size_t)k * (size_t)d; i++)
        cd[i] = c[i];
    double s[C][SUM_ROWS];
    for (int i0 = 0; i0 < m; i0 += SUM_ROWS) {
        const int n = m - i0 < SUM_ROWS ? m - i0 : SUM_ROWS;
        for (int cc = 0; cc < k;) {
            const int g = k - cc >= C ? C : 1;
            const double *cv[C];
            for (int t = 0; t < g; t++)
                cv[t] = cd + (size_t)(cc + t) * d;
            if (g == C && dot)
                dot4(qt + i0, mp, cv, d, s);
            else if (g == C)
                sq4(qt + i0, mp, cv, d, s);
            else if (dot)
                dot1(qt + i0, mp, cv, d, s);
            else
                sq1(qt + i0, mp, cv, d, s);
            for (int t = 0; t < g; t++)
                for (int i = 0; i < n; i++)
                    out[(size_t)(i0 + i) * k + cc + t] = s[t][i];
            cc += g;
        }
        if (!norms)
            continue;
        for (int i = 0; i < SUM_ROWS; i++)
            s[0][i] = 0;
        for (int j = 0; j < d; j++) {
            const double *col = qt + (size_t)j * mp + i0;
            for (int i = 0; i < SUM_ROWS; i++)
                s[0][i] += col[i] * col[i];
        }
        for (int i = 0; i < n; i++)
            norms[i0 + i] = s[0][i];
    }
}

/* ---- sums of picked pairs ---- */

/* Eight pairs at a time, each its own chain of adds in its own register,
 * so no add waits on another pair's; per pair the plain loop's arithmetic,
 * hence its bits (test_learners holds it to them). */
void feature_pair_sums(const float *q, const float *c, int k, int d, const int *pick, int n,
                       double *out)
{
    for (int p0 = 0; p0 < n; p0 += 8) {
        const int g = n - p0 < 8 ? n - p0 : 8;
        const float *a[8], *b[8];
        for (int i = 0; i < 8; i++) {   /* past n, the group's first pair again */
            const int p = pick[p0 + (i < g ? i : 0)];
            a[i] = q + (size_t)(p / k) * d, b[i] = c + (size_t)(p % k) * d;
        }
        double s[8] = {0};
        for (int j = 0; j < d; j++)
            for (int i = 0; i < 8; i++) {
                const double x = (double)a[i][j] - (double)b[i][j];
                s[i] += x * x;
            }
        for (int i = 0; i < g; i++)
            out[pick[p0 + i]] = s[i];
    }
}
