/* unit: pretraining and episode evaluation, one unit at a time.
 *
 * A pretrain unit hands the source task to the supervised pretraining
 * (learners/supervised.h) and evaluates what it made; an eval unit builds
 * one learner per block of episodes and evaluates every model it hands
 * back on the query set. When the learner has frozen layers, the unit
 * first computes the features of every image its episodes draw (once per
 * image, not once per draw; once per run for the units that draw the same
 * images: unit_tables.c) and the episodes gather them. Randomness: the
 * pretraining's own (supervised.h); episodes from the sampler's
 * (seed, target, shots, episode) stream; whatever a learner draws from
 * (seed, RNG_LEARNER, target) → shots → episode. Nothing depends on the
 * worker, the order of units or the learner's name, so two learners with
 * the same settings give the same numbers. */
#include "harness/unit_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/meter.h"
#include "harness/columns.h"
#include "harness/csvout.h"
#include "learners/ckpt.h"
#include "learners/learner.h"
#include "learners/loss.h"
#include "learners/optim.h"
#include "learners/supervised.h"

/* A unit's work is timed in pieces (a pretraining; an eval unit's
 * preparation and each block): each piece adds its seconds to the costs. */
struct stopwatch {
    double wall, cpu;
    struct energy_mark mark;
};

static struct stopwatch stopwatch_start(const struct unit_costs *c)
{
    struct stopwatch w = {.wall = meter_wall(), .cpu = meter_thread_cpu()};
    if (c->em)
        energy_mark(c->em, &w.mark);
    return w;
}

static void stopwatch_add(const struct stopwatch *w, struct unit_costs *c)
{
    double cpu = meter_thread_cpu() - w->cpu;
    c->cpu_s += cpu;
    c->wall_s += meter_wall() - w->wall;
    if (c->em) {
        struct energy_mark now;
        bool measured;
        energy_mark(c->em, &now);
        c->joules += energy_joules(c->em, &w->mark, &now, cpu, &measured);
        c->estimated |= !measured;
    } else {
        c->estimated = true;
    }
}

void unit_costs_add(struct unit_costs *a, const struct unit_costs *b)
{
    a->cpu_s += b->cpu_s, a->flops += b->flops, a->episodes += b->episodes;
    a->joules += b->joules, a->estimated |= b->estimated;
    for (int k = 0; k < b->n_probes; k++) {
        a->probes[k].name = b->probes[k].name;
        a->probes[k].cpu_s += b->probes[k].cpu_s, a->probes[k].flops += b->probes[k].flops;
    }
    a->n_probes = b->n_probes > a->n_probes ? b->n_probes : a->n_probes;
}

double unit_joules(const struct unit_costs *c, const char **method)
{
    *method = energy_method(!c->estimated && c->em);
    if (!c->estimated && c->em)
        return c->joules;
    return c->em ? c->cpu_s * c->em->watts_per_core : NAN;
}

/* Rows as floats, preprocessed. */
void unit_rows_to_floats(const struct dataset *d, const struct preprocess *pre, const int *idx,
                           int n, float *out)
{
    bool id = !pre || pre->dim == 0;
    dataset_rows(d, idx, (size_t)n, id ? NULL : pre->mul, id ? NULL : pre->add, out);
}

/* ---- pretraining ---- */

/* The source task as a learner_source: row i is the i-th source row. */
struct source_task {
    const struct dataset *d;
    const struct preprocess *pre;
    const int *rows, *labels;   /* (n) dataset rows, labels 0..k-1 */
    int *idx;                   /* (n) scratch: dataset rows of a batch */
    /* meta-training tasks (a learner's own pretraining) */
    struct sampler sampler;     /* the source classes' rows */
    const struct cfg_data *cfg; /* a sinusoid family's ranges */
    uint64_t seed;              /* the tasks' streams: apart from every evaluation's */
    struct episode ep;
    float *buf;                 /* xs, xq, ts, tq of the current task */
    size_t cap;                 /* floats in buf */
    /* cue_in_source: each row blended towards its class's texture */
    float *tex;                 /* (k, dim), or NULL */
    double strength;
    struct probe_space space;
};

static void source_rows(void *arg, const int *pos, int m, float *x, int *y, float *t)
{
    const struct source_task *s = arg;
    const struct dataset *d = s->d;
    for (int i = 0; i < m; i++)
        s->idx[i] = s->rows[pos[i]];
    unit_rows_to_floats(d, s->pre, s->idx, m, x);
    if (d->kind == DATASET_CLASSIFICATION) {
        for (int i = 0; i < m; i++) {
            y[i] = s->labels[pos[i]];
            if (s->tex)
                probe_blend(&s->space, x + (size_t)i * d->dim, s->tex + (size_t)y[i] * d->dim,
                            s->strength, x + (size_t)i * d->dim);
        }
        return;
    }
    for (int i = 0; i < m; i++)
        memcpy(t + (size_t)i * d->n_targets, d->targets + (size_t)s->idx[i] * d->n_targets,
               sizeof(float) * d->n_targets);
}

/* The source classes' textures of probe cue (the same as its evaluations
 * draw for those class ids), for a texture-biased pretraining. */
static int source_cue(struct source_task *st, const struct cfg_probe *cue, const struct cfg_data *c,
                      const int *ids, int k, long seed, struct err *e)
{
    const struct dataset *d = st->d;
    const bool pre = st->pre && st->pre->dim > 0;
    int rc = probe_space_init(&st->space, (int)d->dim, c->scale, pre ? st->pre->mul : NULL,
                              pre ? st->pre->add : NULL, true, e);
    if (rc)
        return rc;
    if (!(st->tex = malloc(sizeof *st->tex * (size_t)k * d->dim)))
        return err_set(e, ERR_NOMEM, "out of memory for the source's cues");
    for (int i = 0; i < k; i++) {
        struct rng rt;
        rng_stream(&rt, (uint64_t)seed, RNG_PROBE, rng_hash_str(cue->name));
        rng_child(&rt, &rt, RNG_PROBE, (uint64_t)ids[i]);
        probe_texture(&st->space, d->rows, d->cols, &rt, st->tex + (size_t)i * d->dim);
    }
    st->strength = cue->strength[0];
    return ERR_OK;
}

/* *acc: accuracy of net on the source classes of the test split (NaN if
 * there is none, or the source trains on it). */
static int source_test_accuracy(const struct variant *v, long seed, struct mlp *net,
                                const int *ids, int k, double *acc, struct err *e)
{
    const struct cfg_source *s = &v->x.source;
    const struct dataset *td = data_get(&v->store, s->data, "test", seed);
    *acc = NAN;
    if (!td || strcmp(s->split, "test") == 0 || td->kind != DATASET_CLASSIFICATION || k == 0)
        return ERR_OK;
    enum { CHUNK = 256 };
    struct mlp_work w = {0};
    float *xb = malloc(sizeof *xb * CHUNK * td->dim);
    int idx[CHUNK], lab[CHUNK], m = 0;
    long correct = 0, total = 0;
    int rc = xb ? mlp_work_init(&w, &net->arch, CHUNK, e)
                : err_set(e, ERR_NOMEM, "out of memory for the source test accuracy");
    if (rc) {
        free(xb);
        mlp_work_free(&w);
        return rc;
    }
    const struct preprocess *pre = data_pre(&v->store, s->data, seed);
    for (size_t i = 0; i <= td->n; i++) {
        if (i < td->n)
            for (int c = 0; c < k; c++)
                if (td->labels[i] == ids[c])
                    idx[m] = (int)i, lab[m++] = c;
        if (m == CHUNK || (i == td->n && m > 0)) {
            unit_rows_to_floats(td, pre, idx, m, xb);
            const float *y = mlp_forward(net, &w, xb, m, net->arch.n_layers);
            correct += loss_correct(y, lab, m, k), total += m, m = 0;
        }
    }
    free(xb);
    mlp_work_free(&w);
    if (total)
        *acc = (double)correct / (double)total;
    return ERR_OK;
}

static int pretrain_rows(int k, const int *ids, const struct dataset *d, long examples,
                         double loss, double acc, const char *status, char **rows, struct err *e)
{
    size_t len = 0;
    FILE *f = open_memstream(rows, &len);
    if (!f)
        return err_set(e, ERR_NOMEM, "out of memory");
    char classes[1024] = "";
    for (int c = 0; c < k; c++) {
        size_t n = strlen(classes);
        char num[16];
        snprintf(num, sizeof num, "%d", ids[c]);
        snprintf(classes + n, sizeof classes - n, "%s%s", c ? " " : "",
                 d->class_names ? d->class_names[ids[c]] : num);
    }
    struct csvrec r;
    int rc = csvrec_init(&r, PRE_N);
    if (!rc) {
        csvrec_str(&r, PRE_CLASSES, classes), csvrec_int(&r, PRE_EXAMPLES, examples);
        csvrec_f32(&r, PRE_TRAIN_LOSS, loss), csvrec_f32(&r, PRE_SOURCE_TEST_ACCURACY, acc);
        csvrec_str(&r, PRE_STATUS, status);
        rc = csvrec_write(f, &r, columns_pretrain.part_first, PRE_N);
    }
    csvrec_free(&r);
    if (fclose(f) && !rc)
        rc = ERR_NOMEM;
    return rc ? err_set(e, ERR_NOMEM, "out of memory for the pretrain row") : ERR_OK;
}

/* Meta-training task index of the source. Its stream: the sampler's (or the
 * sinusoid family's) under a seed that is the first draw of (seed, RNG_META)
 * with the top bit set — never a user's seed, which is below 2³², so never
 * an evaluation episode — and a fixed key. A task of no queries draws one
 * (the sampler draws at least one) and hands none. */
static int source_episode(void *arg, uint64_t index, int ways, int shots, int queries,
                          struct fewshot *out, struct err *e)
{
    struct source_task *s = arg;
    const bool reg = s->d->kind == DATASET_REGRESSION;
    const int dim = reg ? 1 : (int)s->d->dim, q = queries > 0 ? queries : 1;
    const int ns = reg ? shots : ways * shots, nq = reg ? q : ways * q;
    const uint64_t key = rng_hash_str("meta-training");
    size_t need = (size_t)(ns + nq) * (size_t)dim + (size_t)(ns + nq);
    if (need > s->cap) {
        float *b = realloc(s->buf, sizeof *b * need);
        if (!b)
            return err_set(e, ERR_NOMEM, "out of memory for a meta-training task");
        s->buf = b, s->cap = need;
    }
    float *xs = s->buf, *xq = xs + (size_t)ns * dim, *ts = xq + (size_t)nq * dim, *tq = ts + ns;
    *out = (struct fewshot){.ways = reg ? 0 : ways, .out_dim = reg ? 1 : ways, .dim = dim,
                            .n_support = ns, .n_query = queries > 0 ? nq : 0, .xs = xs,
                            .ts = ts, .xq = xq, .tq = tq};
    if (reg) {
        const struct cfg_data *c = s->cfg;
        struct sinusoid sine = {c->amplitude[0], c->amplitude[1], c->phase[0], c->phase[1],
                                c->x[0], c->x[1]};
        synth_sinusoid_episode(&sine, s->seed, key, shots, q, index, xs, ts, xq, tq, NULL, NULL);
        return ERR_OK;
    }
    int rc = sampler_episode(&s->sampler, s->seed, key, ways, shots, q, index, &s->ep, e);
    if (rc)
        return rc;
    unit_rows_to_floats(s->d, s->pre, s->ep.support, ns, xs);
    unit_rows_to_floats(s->d, s->pre, s->ep.query, nq, xq);
    out->ys = s->ep.support_y, out->yq = s->ep.query_y;
    return ERR_OK;
}

/* A learner's own pretraining: meta-training on tasks from the source. */
static int own_pretrain(const struct plan *p, const struct unit *u, struct source_task *st,
                        const int *ids, int k, struct learner_source *src,
                        volatile sig_atomic_t *stop, struct pretrained *out,
                        struct pretrain_result *res, struct err *e)
{
    const struct variant *v = &p->variants[u->variant];
    const struct experiment *x = &v->x;
    const struct learner_settings *s = &x->learners[u->learner].s;
    struct rng g;
    rng_stream(&g, (uint64_t)u->seed, RNG_META, 0);
    st->seed = rng_u64(&g) | (uint64_t)1 << 63;
    st->cfg = config_data(x, x->source.data);
    episode_init(&st->ep);
    src->episode = source_episode;
    int rc = src->classes > 0 ? sampler_init(&st->sampler, st->d, ids, k, e) : ERR_OK;
    if (rc)
        return rc;
    struct pretrain_env env = {.src = src, .init = x->init, .seed = (uint64_t)u->seed,
                               .shots = u->shots, .queries = u->queries, .stop = stop,
                               .arch = plan_arch(x, src->dim, src->classes > 0 ? (int)s->meta.ways
                                                                               : src->out_dim)};
    return learner_kinds[s->kind]->pretrain(s, &env, &out->net, &out->extra, &out->n_extra, res,
                                            e);
}

/* The source recipe of x as the supervised pretraining reads it. */
static struct supervised_recipe recipe(const struct experiment *x)
{
    const struct cfg_train *tc = &x->source.train;
    struct supervised_recipe r = {.epochs = tc->epochs, .batch = tc->batch, .init = x->init};
    optim_defaults(&r.optim);
    r.optim.kind = (enum optim_kind)tc->optimizer, r.optim.lr = tc->lr;
    r.optim.momentum = tc->momentum, r.optim.weight_decay = tc->weight_decay;
    r.optim.beta1 = tc->beta1, r.optim.beta2 = tc->beta2, r.optim.eps = tc->epsilon;
    return r;
}

void pretrained_free(struct pretrained *p)
{
    if (!p)
        return;
    mlp_free(&p->net);
    free(p->extra);
    p->extra = NULL, p->n_extra = 0;
}

int unit_pretrain(const struct plan *p, const struct unit *u, const char *ckpt_path,
                  struct pretrained *out, char **rows, struct unit_costs *c,
                  volatile sig_atomic_t *stop, struct err *e)
{
    const struct variant *v = &p->variants[u->variant];
    const struct experiment *x = &v->x;
    struct stopwatch w = stopwatch_start(c);
    struct source_task st = {0};
    int *rows_ = NULL, *labels = NULL, *ids = NULL, n = 0, k = 0;
    struct mlp *net = &out->net;
    memset(out, 0, sizeof *out);
    int rc = data_source_rows(&v->store, u->seed, &st.d, &rows_, &labels, &n, &k, &ids, e);
    if (rc)
        goto done;
    st.pre = data_pre(&v->store, x->source.data, u->seed);
    st.rows = rows_, st.labels = labels;
    if (!(st.idx = malloc(sizeof *st.idx * (size_t)(n ? n : 1)))) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    const struct cfg_probe *cue = u->learner < 0 ? plan_source_cue(x) : NULL;
    if (cue && (rc = source_cue(&st, cue, config_data(x, x->source.data), ids, k, u->seed, e)))
        goto done;
    bool reg = st.d->kind == DATASET_REGRESSION;
    int outputs = reg ? (int)st.d->n_targets : k;
    struct learner_source src = {.dim = (int)st.d->dim, .classes = reg ? 0 : k,
                                 .out_dim = outputs, .n = n, .arg = &st, .rows = source_rows};
    struct mlp_arch a = plan_arch(x, (int)st.d->dim, outputs);
    struct supervised_recipe r = recipe(x);
    struct pretrain_result res;
    double acc = NAN;
    if (u->learner >= 0)   /* a meta-trained network has no source classifier to score */
        rc = own_pretrain(p, u, &st, ids, k, &src, stop, out, &res, e);
    else if (!(rc = supervised_pretrain(&r, &src, &a, (uint64_t)u->seed, stop, net, &res, e)) &&
             !res.diverged)
        rc = source_test_accuracy(v, u->seed, net, ids, k, &acc, e);
    if (rc || (rc = ckpt_write(ckpt_path, net, u->id, out->extra, out->n_extra, e)))
        goto done;
    rc = pretrain_rows(k, ids, st.d, res.examples, res.train_loss, acc,
                       res.diverged ? "diverged" : "ok", rows, e);
done:
    c->flops = net->flops;
    stopwatch_add(&w, c);
    sampler_free(&st.sampler);
    episode_free(&st.ep);
    free(st.buf), free(st.idx), free(rows_), free(labels), free(ids), free(st.tex);
    probe_space_free(&st.space);
    if (rc)
        pretrained_free(out);
    return rc;
}

/* ---- evaluation (the job's types: unit_impl.h) ---- */

int eval_put(struct recorder *rc, int step, const char *metric, double value, const char *status)
{
    struct csvrec *r = &rc->row;
    csvrec_reset(r);
    csvrec_int(r, EP_EPISODE, rc->episode);
    if (step >= 0)
        csvrec_int(r, EP_STEP, step);
    else
        csvrec_empty(r, EP_STEP);
    if (rc->probe)
        csvrec_str(r, EP_PROBE, rc->probe), csvrec_f32(r, EP_PARAM, rc->param);
    else
        csvrec_empty(r, EP_PROBE), csvrec_empty(r, EP_PARAM);   /* clean inputs */
    csvrec_str(r, EP_METRIC, metric);
    csvrec_f32(r, EP_VALUE, value);
    csvrec_str(r, EP_STATUS, status);
    rc->n_rows++;
    return csvrec_write(rc->out, r, columns_episodes.part_first, EP_N) ? ERR_NOMEM : ERR_OK;
}

/* The MSE of predicting zero for targets t[0..n): the mean of t², in double. */
static double mse_zero(const float *t, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)t[i] * t[i];
    return s / n;
}

/* The query metrics of the model after step: the harness's evaluation,
 * the same for every learner kind. */
static int record(void *arg, int step, struct learner_model *m)
{
    struct recorder *rc = arg;
    const struct fewshot *t = &rc->ed->t;
    const bool logits = model_logits(m);
    rc->last_step = step;
    int r = t->fq ? model_predict_features(m, t->fq, t->n_query, rc->scores, rc->e)
                  : model_predict(m, t->xq, t->n_query, rc->scores, rc->e);
    return r ? r : eval_emit(rc, step, logits);
}

/* The query metrics of rc->scores, after step. */
int eval_emit(struct recorder *rc, int step, bool logits)
{
    const struct fewshot *t = &rc->ed->t;
    const float *scores = rc->scores;
    int r;
    size_t n = (size_t)t->n_query * (size_t)t->out_dim;
    bool finite = true;
    for (size_t i = 0; i < n; i++)
        finite &= isfinite(scores[i]) != 0;
    const char *status = finite ? "ok" : "diverged";
    if (t->ways == 0)
        return eval_put(rc, step, "mse", finite ? loss_mse(scores, rc->ed->tq, t->n_query, 1, NULL, NULL)
                                           : NAN, status);
    int correct = 0;
    double loss = NAN;   /* only scores that are logits have one */
    if (finite && logits)
        loss = loss_xent(scores, rc->ed->yq, t->n_query, t->ways, NULL, &correct, NULL);
    else if (finite)
        correct = loss_correct(scores, rc->ed->yq, t->n_query, t->ways);
    r = eval_put(rc, step, "accuracy", finite ? (double)correct / t->n_query : NAN, status);
    if (!r && logits)
        r = eval_put(rc, step, "loss", loss, status);
    return r;
}

static void episode_data_free(struct episode_data *ed)
{
    free(ed->s), free(ed->q), free(ed->ts), free(ed->tq), free(ed->yq);
    episode_free(&ed->ep);
}

/* Buffers for episodes of tv with shots; features of width `width` instead
 * of inputs when width > 0. */
static int episode_data_init(struct episode_data *ed, const struct target_view *tv, long shots,
                             int width, struct err *e)
{
    memset(ed, 0, sizeof *ed);
    episode_init(&ed->ep);
    const struct cfg_target *t = tv->cfg;
    bool reg = tv->d == NULL;
    int ways = reg ? 0 : (int)t->ways, mult = reg ? 1 : ways;
    ed->t = (struct fewshot){.ways = ways, .out_dim = reg ? 1 : ways, .dim = tv->dim,
                             .n_support = mult * (int)shots, .n_query = mult * (int)t->queries};
    const size_t S = (size_t)ed->t.n_support, Q = (size_t)ed->t.n_query;
    const size_t cols = width > 0 ? (size_t)width : (size_t)tv->dim;
    ed->s = malloc(sizeof(float) * S * cols);
    ed->q = malloc(sizeof(float) * Q * cols);
    ed->ts = malloc(sizeof(float) * S);
    ed->tq = malloc(sizeof(float) * Q);
    ed->yq = malloc(sizeof(int) * Q);
    if (!ed->s || !ed->q || !ed->ts || !ed->tq || !ed->yq)
        return err_set(e, ERR_NOMEM, "out of memory for an episode");
    if (width > 0)
        ed->t.fs = ed->s, ed->t.fq = ed->q;
    else
        ed->t.xs = ed->s, ed->t.xq = ed->q;
    ed->t.ts = ed->ts;
    return ERR_OK;
}

static int transform_all(const struct target_view *tv, float *x, const int *rows, int n,
                         struct err *e)
{
    static const int order[3] = {1, 0, 2};  /* rotate, then permute, then add noise */
    for (int i = 0; i < 3; i++) {
        const struct transform *tr = &tv->transforms[order[i]];
        if (tr->kind != TRANSFORM_IDENTITY) {
            int rc = transform_apply(tr, x, rows, n, e);
            if (rc)
                return rc;
        }
    }
    return ERR_OK;
}

/* Inputs of dataset rows as a learner sees them: preprocessed, transformed. */
int eval_inputs(const struct target_view *tv, const int *rows, int n, float *x, struct err *e)
{
    unit_rows_to_floats(tv->d, tv->pre, rows, n, x);
    return transform_all(tv, x, rows, n, e);
}

/* out (n, width) = the table's rows for dataset rows. */
static void gather(const struct features *ft, const int *rows, int n, float *out)
{
    const size_t w = (size_t)ft->width;
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * w, ft->f + (size_t)ft->slot[rows[i]] * w, sizeof *out * w);
}

/* Draw episode i into ed: matrices (or features) for the learner, labels
 * for scoring. */
static int draw(struct episode_data *ed, const struct target_view *tv, const struct features *ft,
                long shots, long i, struct err *e)
{
    const struct cfg_target *t = tv->cfg;
    uint64_t seed = (uint64_t)tv->seed;
    if (tv->d == NULL) {
        synth_sinusoid_episode(&tv->sine, seed, tv->key, (int)shots, (int)t->queries, (uint64_t)i,
                               ed->s, ed->ts, ed->q, ed->tq, NULL, NULL);
        return ERR_OK;
    }
    int rc = sampler_episode(tv->sampler, seed, tv->key, (int)t->ways, (int)shots,
                             (int)t->queries, (uint64_t)i, &ed->ep, e);
    if (rc)
        return rc;
    memcpy(ed->yq, ed->ep.query_y, sizeof(int) * (size_t)ed->t.n_query);
    ed->t.ys = ed->ep.support_y;
    if (ft->depth > 0) {
        gather(ft, ed->ep.support, ed->t.n_support, ed->s);
        gather(ft, ed->ep.query, ed->t.n_query, ed->q);
        return ERR_OK;
    }
    if ((rc = eval_inputs(tv, ed->ep.support, ed->t.n_support, ed->s, e)))
        return rc;
    return eval_inputs(tv, ed->ep.query, ed->t.n_query, ed->q, e);
}

int eval_job_new(const struct plan *p, const struct unit *u, const struct pretrained *pre,
                 struct table_cache *tc, struct eval_job **out, struct unit_costs *c,
                 volatile sig_atomic_t *stop, struct err *e)
{
    struct stopwatch w = stopwatch_start(c);
    const struct variant *v = &p->variants[u->variant];
    const struct experiment *x = &v->x;
    struct eval_job *j = calloc(1, sizeof *j);
    *out = NULL;
    if (!j)
        return err_set(e, ERR_NOMEM, "out of memory");
    j->p = p, j->u = u;
    j->tv = data_view(&v->store, u->seed, u->target);
    j->lc = &x->learners[u->learner];
    const bool reg = j->tv->d == NULL;
    j->env = (struct learner_env){.pretrained = pre ? &pre->net : NULL,
                                  .extra = pre ? pre->extra : NULL,
                                  .n_extra = pre ? pre->n_extra : 0, .init = x->init,
                                  .arch = plan_arch(x, j->tv->dim,
                                                    reg ? 1 : (int)j->tv->cfg->ways)};
    int rc = eval_table_take(j, tc, &c->flops, stop, e);
    if (!rc)
        rc = eval_forgetting_init(j, &c->flops, e);
    if (!rc)
        rc = eval_probes_init(j, e);
    stopwatch_add(&w, c);
    if (rc) {
        eval_job_free(j);
        return rc;
    }
    *out = j;
    return ERR_OK;
}

void eval_job_free(struct eval_job *j)
{
    if (!j)
        return;
    eval_table_release(j);
    eval_forgetting_free(&j->fg);
    probe_space_free(&j->space);
    free(j);
}

int eval_job_run(struct eval_job *j, long first, long end, char **rows, struct unit_costs *c,
                 volatile sig_atomic_t *stop, struct err *e)
{
    const struct unit *u = j->u;
    const struct target_view *tv = j->tv;
    struct stopwatch w = stopwatch_start(c);
    struct episode_data ed;
    struct recorder rc = {.ed = &ed, .e = e};
    struct learner *l = NULL;
    size_t len = 0;
    *rows = NULL;
    int r = episode_data_init(&ed, tv, u->shots, j->ft.width, e);
    if (csvrec_init(&rc.row, EP_N) && !r)
        r = err_set(e, ERR_NOMEM, "out of memory");
    rc.scores = malloc(sizeof *rc.scores * (size_t)ed.t.n_query * (size_t)ed.t.out_dim);
    if (!r && (!rc.scores || !(rc.out = open_memstream(rows, &len))))
        r = err_set(e, ERR_NOMEM, "out of memory");
    if (!r && !(l = learner_new(&j->lc->s, &j->env, &ed.t, e)))
        r = e->code ? e->code : ERR_NOMEM;
    struct forgetting_work fw = {0};
    struct probe_work pw = {0};
    if (!r)
        r = eval_forgetting_work_init(&fw, j, e);
    if (!r)
        r = eval_probe_work_init(&pw, j, &ed.t, e);
    struct rng base;
    rng_stream(&base, (uint64_t)u->seed, RNG_LEARNER, tv->key);
    rng_child(&base, &base, RNG_LEARNER, (uint64_t)u->shots);
    for (long i = first; !r && i < end; i++) {
        if (*stop) {
            r = err_set(e, ERR_STOPPED, "stopped");
            break;
        }
        if ((r = draw(&ed, tv, &j->ft, u->shots, i, e)))
            break;
        struct rng lr;
        rng_child(&lr, &base, RNG_LEARNER, (uint64_t)i);
        rc.episode = i;
        struct learner_model *m = NULL;
        r = learner_adapt(l, &ed.t, &lr, record, &rc, &m, e);
        if (!r && ed.t.ways == 0)   /* the reference of aulc's normalisation */
            r = eval_put(&rc, -1, "mse_zero", mse_zero(ed.tq, ed.t.n_query * ed.t.out_dim), "ok");
        double forgot;
        if (!r && j->fg.n > 0 && !(r = eval_forgetting_of(j, &fw, m, &forgot, &c->flops, e)))
            r = eval_put(&rc, rc.last_step, "forgetting", forgot, "ok");
        if (!r && j->n_probes > 0)
            r = eval_run_probes(j, &pw, &rc, &ed, l, m, i, c, e);
        if (r == ERR_NOMEM && !e->msg[0])
            err_set(e, ERR_NOMEM, "out of memory writing rows");
        c->episodes++;
    }
    c->flops += l ? learner_flops(l) : 0;
    learner_free(l);
    eval_forgetting_work_free(&fw);
    eval_probe_work_free(&pw);
    if (rc.out && fclose(rc.out) && !r)
        r = err_set(e, ERR_NOMEM, "out of memory for rows");
    free(rc.scores);
    csvrec_free(&rc.row);
    episode_data_free(&ed);
    stopwatch_add(&w, c);
    if (r) {
        free(*rows);
        *rows = NULL;
    }
    return r;
}
