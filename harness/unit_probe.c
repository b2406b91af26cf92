/* unit_probe: after an episode's adaptation, what the evaluation job scores
 * beyond the query metrics — forgetting on the source task, and the
 * robustness probes (probe.h's arithmetic, run on the adapted model). */
#include "harness/unit_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/meter.h"
#include "harness/columns.h"
#include "learners/gemm.h"
#include "learners/loss.h"

void eval_forgetting_free(struct forgetting *fg)
{
    free(fg->x), free(fg->y);
    memset(fg, 0, sizeof *fg);
}

/* The forgetting sample of job j: when its target classifies, its learner
 * reuses the shared pretraining, and the source has a test split it does
 * not train on — target.forgetting rows of the source classes drawn from
 * that split without replacement, from a stream of their own (the same
 * for every learner, shot count and episode of the seed), and the
 * pretrained network's accuracy on them. */
int eval_forgetting_init(struct eval_job *j, uint64_t *flops, struct err *e)
{
    struct forgetting *fg = &j->fg;
    const struct variant *v = &j->p->variants[j->u->variant];
    const struct experiment *x = &v->x;
    const struct learner_settings *s = &j->lc->s;
    const struct mlp *net = j->env.pretrained;
    memset(fg, 0, sizeof *fg);
    if (!j->tv->d || j->tv->cfg->forgetting == 0 || !net ||
        learner_kinds[s->kind]->pretraining(s) != PRETRAIN_SHARED)
        return ERR_OK;
    const struct dataset *td = data_get(&v->store, x->source.data, "test", j->u->seed);
    if (!td || strcmp(x->source.split, "test") == 0 || td->kind != DATASET_CLASSIFICATION)
        return ERR_OK;
    const struct dataset *sd;
    int *rows = NULL, *labels = NULL, *ids = NULL, n = 0, k = 0;
    int rc = data_source_rows(&v->store, j->u->seed, &sd, &rows, &labels, &n, &k, &ids, e);
    free(rows), free(labels);
    int *pool = rc ? NULL : malloc(sizeof *pool * (td->n ? td->n : 1));
    int *lab = rc ? NULL : malloc(sizeof *lab * (td->n ? td->n : 1));
    if (!rc && (!pool || !lab))
        rc = err_set(e, ERR_NOMEM, "out of memory for the forgetting sample");
    int m = 0;
    for (size_t i = 0; !rc && i < td->n; i++)
        for (int c = 0; c < k; c++)
            if (td->labels[i] == ids[c])
                pool[m] = (int)i, lab[m++] = c;
    if (!rc && m > 0) {
        /* a partial Fisher–Yates shuffle: the first `want` of the pool */
        const int want = j->tv->cfg->forgetting < m ? (int)j->tv->cfg->forgetting : m;
        struct rng r;
        rng_stream(&r, (uint64_t)j->u->seed, RNG_DATA, rng_hash_str("forgetting"));
        for (int i = 0; i < want; i++) {
            int t = i + (int)rng_below(&r, (uint32_t)(m - i));
            int a = pool[i], b = lab[i];
            pool[i] = pool[t], lab[i] = lab[t], pool[t] = a, lab[t] = b;
        }
        fg->n = want, fg->k = k;
        fg->frozen = learner_frozen(s, &net->arch) >= net->arch.n_layers - 1;
        fg->x = malloc(sizeof *fg->x * (size_t)want * td->dim);
        fg->y = malloc(sizeof *fg->y * (size_t)want);
        float *logits = malloc(sizeof *logits * (size_t)want * (size_t)k);
        if (!fg->x || !fg->y || !logits)
            rc = err_set(e, ERR_NOMEM, "out of memory for the forgetting sample");
        if (!rc) {
            memcpy(fg->y, lab, sizeof *fg->y * (size_t)want);
            unit_rows_to_floats(td, data_pre(&v->store, x->source.data, j->u->seed), pool, want, fg->x);
            rc = learner_features(net, net->arch.n_layers, fg->x, want, logits, flops, e);
        }
        if (!rc)
            fg->before = (double)loss_correct(logits, fg->y, want, k) / want;
        free(logits);
    }
    free(pool), free(lab), free(ids);
    if (rc)
        eval_forgetting_free(fg);
    return rc;
}

/* Source accuracy before adaptation minus after, for the adapted model m. */
void eval_forgetting_work_free(struct forgetting_work *w)
{
    free(w->f), free(w->logits);
    memset(w, 0, sizeof *w);
}

int eval_forgetting_work_init(struct forgetting_work *w, const struct eval_job *j, struct err *e)
{
    const struct forgetting *fg = &j->fg;
    memset(w, 0, sizeof *w);
    if (fg->n == 0 || fg->frozen)
        return ERR_OK;
    const struct mlp *net = j->env.pretrained;
    const int width = net->arch.sizes[net->arch.n_layers - 1];
    w->f = malloc(sizeof *w->f * (size_t)fg->n * (size_t)width);
    w->logits = malloc(sizeof *w->logits * (size_t)fg->n * (size_t)fg->k);
    if (w->f && w->logits)
        return ERR_OK;
    eval_forgetting_work_free(w);
    return err_set(e, ERR_NOMEM, "out of memory for the forgetting sample");
}

int eval_forgetting_of(const struct eval_job *j, struct forgetting_work *w,
                         struct learner_model *m, double *out, uint64_t *flops, struct err *e)
{
    const struct forgetting *fg = &j->fg;
    *out = 0;
    if (fg->frozen)
        return ERR_OK;
    const struct mlp *net = j->env.pretrained;
    const int h = net->arch.n_layers - 1, width = net->arch.sizes[h];
    int rc = model_body(m, fg->x, fg->n, w->f, e);
    if (rc)
        return rc;
    /* the pretrained source head: logits = f·W + b */
    gemm(false, false, fg->n, fg->k, width, 1.0f, w->f, width, net->params + net->w_off[h],
         fg->k, 0.0f, w->logits, fg->k, flops);
    const float *b = net->params + net->b_off[h];
    for (int i = 0; i < fg->n; i++)
        for (int c = 0; c < fg->k; c++)
            w->logits[(size_t)i * fg->k + c] += b[c];
    *flops += (uint64_t)fg->n * (uint64_t)fg->k;
    *out = fg->before - (double)loss_correct(w->logits, fg->y, fg->n, fg->k) / fg->n;
    return ERR_OK;
}

/* The probes of job j's learner, on a classification target, and the input
 * space they perturb. */
int eval_probes_init(struct eval_job *j, struct err *e)
{
    const struct experiment *x = &j->p->variants[j->u->variant].x;
    const struct target_view *tv = j->tv;
    if (!tv->d)
        return ERR_OK;
    for (int i = 0; i < x->n_probes; i++)
        if (config_probe_applies(&x->probes[i], j->lc))
            j->probes[j->n_probes++] = &x->probes[i];
    if (j->n_probes == 0)
        return ERR_OK;
    const struct cfg_data *d = config_data(x, tv->cfg->data);
    const bool pre = tv->pre && tv->pre->dim > 0;
    return probe_space_init(&j->space, tv->dim, d->scale, pre ? tv->pre->mul : NULL,
                            pre ? tv->pre->add : NULL, d->format == FMT_IDX, e);
}

void eval_probe_work_free(struct probe_work *w)
{
    free(w->x0), free(w->s0), free(w->x), free(w->g), free(w->xs), free(w->xq);
    free(w->pos), free(w->y), free(w->cue), free(w->tex);
    memset(w, 0, sizeof *w);
}

int eval_probe_work_init(struct probe_work *w, const struct eval_job *j, const struct fewshot *t,
                           struct err *e)
{
    memset(w, 0, sizeof *w);
    if (j->n_probes == 0)
        return ERR_OK;
    const int rows = t->n_support > t->n_query ? t->n_support : t->n_query;
    size_t n = (size_t)rows * (size_t)j->tv->dim;
    w->x0 = malloc(sizeof *w->x0 * n), w->x = malloc(sizeof *w->x * n);
    w->s0 = malloc(sizeof *w->s0 * n);
    w->g = malloc(sizeof *w->g * n), w->xs = malloc(sizeof *w->xs * n);
    w->xq = malloc(sizeof *w->xq * n);
    w->pos = malloc(sizeof *w->pos * 2 * (size_t)rows);
    w->y = malloc(sizeof *w->y * (size_t)rows), w->cue = malloc(sizeof *w->cue * (size_t)rows);
    w->tex = malloc(sizeof *w->tex * (size_t)t->ways * (size_t)j->tv->dim);
    if (w->x0 && w->s0 && w->x && w->g && w->xs && w->xq && w->pos && w->y && w->cue && w->tex)
        return ERR_OK;
    eval_probe_work_free(w);
    return err_set(e, ERR_NOMEM, "out of memory for the probes");
}

/* The fraction of n predictions (first arg-max of scores, ways columns)
 * equal to want[i] (or, with want NULL, to the single class one). */
static double fraction(const float *scores, int n, int ways, const int *want, int one,
                       const int *except)
{
    int hit = 0, count = 0;
    for (int i = 0; i < n; i++) {
        if (except && except[i] == one)
            continue;
        int best = 0;
        for (int c = 1; c < ways; c++)
            if (scores[(size_t)i * ways + c] > scores[(size_t)i * ways + best])
                best = c;
        hit += best == (want ? want[i] : one), count++;
    }
    return count ? (double)hit / count : NAN;
}

/* An adversarial patch of each size, optimised on the support set of
 * episode i to turn predictions into a target class, scored on the queries
 * beside a random patch of the same size. */
static int probe_patch(const struct eval_job *j, struct probe_work *w, struct recorder *rc,
                       const struct episode_data *ed, struct learner_model *m,
                       const struct cfg_probe *p, const struct rng *base, const float *xs,
                       const float *xq, struct err *e)
{
    const struct dataset *d = j->tv->d;
    const int ns = ed->t.n_support, nq = ed->t.n_query, ways = ed->t.ways;
    double loss;
    int r = ERR_OK;
    for (int v = 0; !r && v < p->n_size; v++) {
        const int side = (int)p->size[v];
        if (side > d->rows || side > d->cols)
            return err_set(e, ERR_USAGE, "probes.%s.size: a patch of %d pixels does not fit "
                           "images of %d×%d", p->name, side, d->rows, d->cols);
        struct rng rv;
        rng_child(&rv, base, RNG_PROBE, (uint64_t)v);
        const int target = (int)rng_below(&rv, (uint32_t)ways);
        float *patch = malloc(sizeof *patch * (size_t)side * side);
        float *random = malloc(sizeof *random * (size_t)side * side);
        double *acc = malloc(sizeof *acc * (size_t)side * side);
        if (!patch || !random || !acc) {
            free(patch), free(random), free(acc);
            return err_set(e, ERR_NOMEM, "out of memory for a patch");
        }
        /* the range of the first pixel in input units (IDX: the same for every pixel) */
        const float span = (j->space.hi[0] - j->space.lo[0]) / j->space.a[0];
        for (int k = 0; k < side * side; k++)
            patch[k] = (float)rng_range(&rv, 0, span);
        for (int k = 0; k < side * side; k++)
            random[k] = (float)rng_range(&rv, 0, span);
        for (int k = 0; k < ns; k++)
            w->y[k] = target;
        for (long step = 0; !r && step < p->steps; step++) {
            probe_positions(&rv, d->rows, d->cols, side, ns, w->pos);
            probe_paste(&j->space, d->cols, xs, ns, patch, side, w->pos, w->x);
            if ((r = model_input_grad(m, w->x, w->y, NULL, ns, w->g, &loss, e)))
                break;
            memset(acc, 0, sizeof *acc * (size_t)side * side);
            probe_patch_grad(&j->space, d->cols, w->g, ns, side, w->pos, acc);
            for (int k = 0; k < side * side; k++) {   /* down the target's loss */
                float t = patch[k] - (float)p->lr * (acc[k] > 0 ? 1.0f : acc[k] < 0 ? -1.0f : 0.0f);
                patch[k] = t < 0 ? 0 : t > span ? span : t;
            }
        }
        probe_positions(&rv, d->rows, d->cols, side, nq, w->pos);
        rc->param = side;
        for (int k = 0; !r && k < 2; k++) {
            probe_paste(&j->space, d->cols, xq, nq, k ? random : patch, side, w->pos, w->x);
            if ((r = model_predict(m, w->x, nq, rc->scores, e)))
                break;
            double accuracy = fraction(rc->scores, nq, ways, ed->yq, 0, NULL);
            double sw = fraction(rc->scores, nq, ways, NULL, target, ed->yq);
            r = eval_put(rc, rc->last_step, k ? "accuracy_random" : "accuracy", accuracy, "ok");
            if (!r)
                r = eval_put(rc, rc->last_step, k ? "switch_rate_random" : "switch_rate", sw, "ok");
        }
        free(patch), free(random), free(acc);
    }
    return r;
}

static int ignore_record(void *arg, int step, struct learner_model *m)
{
    return 0;
}

/* Cue conflict in episode i: each class's texture blended into its support
 * images, the learner adapted again on them, and queries carrying another
 * class's texture; how its decisions split between content and cue. */
static int probe_cue(const struct eval_job *j, struct probe_work *w, struct recorder *rc,
                     const struct episode_data *ed, struct learner *l, const struct cfg_probe *p,
                     const struct rng *base, const float *xs, const float *xq, struct err *e)
{
    const struct target_view *tv = j->tv;
    const int ns = ed->t.n_support, nq = ed->t.n_query, ways = ed->t.ways, dim = tv->dim;
    int r = ERR_OK;
    for (int c = 0; c < ways; c++) {   /* a class's texture is the same in every episode */
        struct rng rt;
        rng_stream(&rt, (uint64_t)tv->seed, RNG_PROBE, rng_hash_str(p->name));
        rng_child(&rt, &rt, RNG_PROBE, (uint64_t)ed->ep.classes[c]);
        probe_texture(&j->space, tv->d->rows, tv->d->cols, &rt, w->tex + (size_t)c * dim);
    }
    for (int v = 0; !r && v < p->n_strength; v++) {
        struct rng rv, rl;
        rng_child(&rv, base, RNG_PROBE, (uint64_t)v);
        rng_child(&rl, &rv, RNG_LEARNER, 0);
        const double st = p->strength[v];
        for (int k = 0; k < ns; k++)
            probe_blend(&j->space, xs + (size_t)k * dim, w->tex + (size_t)ed->t.ys[k] * dim, st,
                        w->xs + (size_t)k * dim);
        for (int k = 0; k < nq; k++) {
            w->cue[k] = (ed->yq[k] + 1 + (int)rng_below(&rv, (uint32_t)(ways - 1))) % ways;
            probe_blend(&j->space, xq + (size_t)k * dim, w->tex + (size_t)w->cue[k] * dim, st,
                        w->xq + (size_t)k * dim);
        }
        struct fewshot t = ed->t;
        t.xs = w->xs, t.xq = w->xq, t.fs = t.fq = NULL;
        struct learner_model *m;
        if ((r = learner_adapt(l, &t, &rl, ignore_record, NULL, &m, e)) ||
            (r = model_predict(m, w->xq, nq, rc->scores, e)))
            break;
        const double content = fraction(rc->scores, nq, ways, ed->yq, 0, NULL);
        const double cue = fraction(rc->scores, nq, ways, w->cue, 0, NULL);
        rc->param = st;
        r = eval_put(rc, rc->last_step, "shape_bias",
                content + cue > 0 ? content / (content + cue) : NAN, "ok");
        if (!r)
            r = eval_put(rc, rc->last_step, "content_fraction", content, "ok");
        if (!r)
            r = eval_put(rc, rc->last_step, "cue_fraction", cue, "ok");
    }
    return r;
}

/* Scores of perturbed queries x, and their rows at param. */
static int probe_rows(struct recorder *rc, struct learner_model *m, const float *x, double param,
                      struct err *e)
{
    int r = model_predict(m, x, rc->ed->t.n_query, rc->scores, e);
    rc->param = param;
    return r ? r : eval_emit(rc, rc->last_step, model_logits(m));
}

/* Every probe of job j on the final model m of episode i (cue conflict
 * last: it adapts l again). */
int eval_run_probes(const struct eval_job *j, struct probe_work *w, struct recorder *rc,
                      const struct episode_data *ed, struct learner *l, struct learner_model *m,
                      long i, struct unit_costs *c, struct err *e)
{
    const struct target_view *tv = j->tv;
    const int nq = ed->t.n_query;
    const int *y = ed->yq;
    const float *x0 = ed->t.xq, *xs = ed->t.xs;
    double loss;
    int r = ERR_OK;
    if (j->ft.depth > 0) {   /* the episode holds features: the probes perturb inputs */
        if ((r = eval_inputs(tv, ed->ep.query, nq, w->x0, e)) ||
            (r = eval_inputs(tv, ed->ep.support, ed->t.n_support, w->s0, e)))
            return r;
        x0 = w->x0, xs = w->s0;
    }
    for (int pass = 0; pass < 2; pass++)
    for (int k = 0; !r && k < j->n_probes; k++) {
        const struct cfg_probe *p = j->probes[k];
        if ((p->kind == PROBE_CUE) != (pass == 1))
            continue;
        /* its own costs: time on this thread, the learner's operations */
        const double cpu0 = meter_thread_cpu();
        const uint64_t flops0 = learner_flops(l);
        struct rng base;
        rng_stream(&base, (uint64_t)tv->seed, RNG_PROBE, tv->key);
        rng_child(&base, &base, RNG_PROBE, (uint64_t)j->u->shots);
        rng_child(&base, &base, RNG_PROBE, (uint64_t)i);
        rng_child(&base, &base, RNG_PROBE, rng_hash_str(p->name));
        rc->probe = p->name;
        if (p->kind == PROBE_FGSM) {
            /* the evaluation's last scoring of m was of the clean queries
             * (the final record), unless the episode held features */
            r = x0 == ed->t.xq ? model_input_grad_predicted(m, x0, y, NULL, nq, w->g, &loss, e)
                               : model_input_grad(m, x0, y, NULL, nq, w->g, &loss, e);
            for (int v = 0; !r && v < p->n_eps; v++) {
                probe_sign_step(&j->space, x0, w->g, nq, p->eps[v], w->x);
                r = probe_rows(rc, m, w->x, p->eps[v], e);
            }
        } else if (p->kind == PROBE_PGD) {
            for (int v = 0; !r && v < p->n_eps; v++) {
                struct rng rv;
                rng_child(&rv, &base, RNG_PROBE, (uint64_t)v);
                if (p->random_start)
                    probe_random_start(&j->space, x0, nq, p->eps[v], &rv, w->x);
                else
                    memcpy(w->x, x0, sizeof *w->x * (size_t)nq * (size_t)tv->dim);
                const double alpha = 2.5 * p->eps[v] / (double)p->steps;
                for (long s = 0; !r && s < p->steps; s++) {
                    if (!(r = model_input_grad(m, w->x, y, NULL, nq, w->g, &loss, e))) {
                        probe_sign_step(&j->space, w->x, w->g, nq, alpha, w->x);
                        probe_project(&j->space, x0, nq, p->eps[v], w->x);
                    }
                }
                if (!r)
                    r = probe_rows(rc, m, w->x, p->eps[v], e);
            }
        } else if (p->kind == PROBE_NOISE) {
            for (int v = 0; !r && v < p->n_sigma; v++) {
                struct rng rv;
                rng_child(&rv, &base, RNG_PROBE, (uint64_t)v);
                probe_noise(&j->space, x0, nq, p->sigma[v], &rv, w->x);
                r = probe_rows(rc, m, w->x, p->sigma[v], e);
            }
        } else if (p->kind == PROBE_PATCH) {
            r = probe_patch(j, w, rc, ed, m, p, &base, xs, x0, e);
        } else {
            r = probe_cue(j, w, rc, ed, l, p, &base, xs, x0, e);
        }
        struct probe_cost *pc = &c->probes[k];
        pc->name = p->name;
        pc->cpu_s += meter_thread_cpu() - cpu0, pc->flops += learner_flops(l) - flops0;
    }
    c->n_probes = j->n_probes;
    rc->probe = NULL;
    return r;
}

