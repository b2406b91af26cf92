/* metalearn: inner loops, exact meta-gradients, meta-training and the test
 * time the meta-learners share. */
#include "learners/metalearn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int meta_first(const struct meta_rule *rule, const struct mlp_arch *arch)
{
    return rule->head_only ? arch->n_layers - 1 : 0;
}

int meta_work_init(struct meta_work *w, const struct mlp_arch *arch, int steps, int first,
                   int cap, struct err *e)
{
    memset(w, 0, sizeof *w);
    w->arch = *arch, w->steps = steps, w->first = first;
    w->n = mlp_arch_params(arch);
    if (!(w->tapes = calloc((size_t)steps + 1, sizeof *w->tapes)))
        return err_set(e, ERR_NOMEM, "out of memory for the meta-gradient");
    for (int i = 0; i <= steps; i++) {
        int rc = tape_init(&w->tapes[i], arch, cap, e);
        if (rc) {
            meta_work_free(w);
            return rc;
        }
    }
    w->theta = malloc(sizeof *w->theta * w->n * ((size_t)steps + 1));
    w->g = malloc(sizeof *w->g * w->n * (size_t)(steps > 0 ? steps : 1));
    w->v = malloc(sizeof *w->v * w->n);
    w->u = malloc(sizeof *w->u * w->n);
    w->hv = malloc(sizeof *w->hv * w->n);
    if (!w->theta || !w->g || !w->v || !w->u || !w->hv) {
        meta_work_free(w);
        return err_set(e, ERR_NOMEM, "out of memory for the meta-gradient");
    }
    return ERR_OK;
}

void meta_work_free(struct meta_work *w)
{
    if (!w)
        return;
    if (w->tapes)
        for (int i = 0; i <= w->steps; i++)
            tape_free(&w->tapes[i]);
    free(w->tapes), free(w->theta), free(w->g), free(w->v), free(w->u), free(w->hv);
    memset(w, 0, sizeof *w);
}

double meta_task(struct meta_work *w, const struct meta_rule *rule, const float *theta,
                 const float *a, const struct fewshot *t, float *dtheta, float *da,
                 uint64_t *flops)
{
    const size_t n = w->n, off = w->tapes[0].w_off[w->first];   /* the adapted: [off, n) */
    const int k = w->steps;
    memcpy(w->theta, theta, sizeof *theta * n);
    for (int i = 0; i < k; i++) {
        const float *th = w->theta + (size_t)i * n;
        float *g = w->g + (size_t)i * n, *next = w->theta + (size_t)(i + 1) * n;
        tape_forward(&w->tapes[i], th, t->xs, t->n_support, flops);
        tape_backward(&w->tapes[i], t->ways, t->ys, t->ts, w->first, g, NULL, flops);
        memcpy(next, th, sizeof *th * off);
        for (size_t j = off; j < n; j++)
            next[j] = th[j] - a[j] * g[j];
        *flops += 2 * (uint64_t)(n - off);
    }
    struct tape *q = &w->tapes[k];
    tape_forward(q, w->theta + (size_t)k * n, t->xq, t->n_query, flops);
    double loss = tape_backward(q, t->ways, t->yq, t->tq, 0, w->v, NULL, flops);
    if (da)
        memset(da, 0, sizeof *da * n);
    if (rule->second_order)
        for (int i = k - 1; i >= 0; i--) {
            /* v holds dL/dθ_{i+1}: the step's rates, then its Jacobian I − H_i·diag(a) */
            const float *g = w->g + (size_t)i * n;
            if (da) {
                for (size_t j = off; j < n; j++)
                    da[j] -= g[j] * w->v[j];
                *flops += 2 * (uint64_t)(n - off);
            }
            for (size_t j = off; j < n; j++)
                w->u[j] = a[j] * w->v[j];
            *flops += n - off;
            tape_hvp(&w->tapes[i], w->u, w->first, w->hv, flops);
            for (size_t j = 0; j < n; j++)
                w->v[j] -= w->hv[j];
            *flops += n;
        }
    memcpy(dtheta, w->v, sizeof *dtheta * n);
    return loss;
}

/* ---- meta-training ---- */

int meta_pretraining(const struct learner_settings *s)
{
    return PRETRAIN_OWN;
}

bool meta_per_shots(const struct learner_settings *s)
{
    return s->meta.shots == 0;
}

int meta_pretrain(const struct meta_rule *rule, const struct learner_settings *s,
                  const struct pretrain_env *env, struct mlp *net, float **extra,
                  size_t *n_extra, struct pretrain_result *res, struct err *e)
{
    const struct learner_source *src = env->src;
    const struct meta_settings *m = &s->meta;
    const int ways = src->classes > 0 ? (int)m->ways : 0;
    const int rows = ways > 0 ? ways * (int)env->shots : (int)env->shots;
    const int qrows = ways > 0 ? ways * (int)env->queries : (int)env->queries;
    struct meta_work w;
    struct optim o;
    memset(&w, 0, sizeof w), memset(&o, 0, sizeof o);
    float *p = NULL, *grad = NULL;   /* (np): θ, then the rates when learned */
    float *fixed = NULL;             /* (n) the rates when not learned */
    double *sum = NULL;              /* (np) the meta-batch's gradients */
    *extra = NULL, *n_extra = 0;
    memset(res, 0, sizeof *res);
    int rc = mlp_init(net, &env->arch, e);
    if (rc)
        return rc;
    const size_t n = net->n_params, np = rule->learn_rates ? 2 * n : n;
    const int first = meta_first(rule, &env->arch);
    struct optim_settings outer;
    optim_defaults(&outer);
    outer.kind = (enum optim_kind)m->optimizer, outer.lr = m->lr;
    if ((rc = meta_work_init(&w, &env->arch, (int)m->inner_steps, first,
                             rows > qrows ? rows : qrows, e)) ||
        (rc = optim_init(&o, &outer, np, e)))
        goto done;
    p = malloc(sizeof *p * np), grad = malloc(sizeof *grad * np);
    sum = malloc(sizeof *sum * np);
    fixed = rule->learn_rates ? NULL : malloc(sizeof *fixed * n);
    if (!p || !grad || !sum || (!rule->learn_rates && !fixed)) {
        rc = err_set(e, ERR_NOMEM, "out of memory for the meta-training");
        goto done;
    }
    float *rates = rule->learn_rates ? p + n : fixed;
    struct rng g;
    rng_stream(&g, env->seed, RNG_INIT, 0);
    mlp_init_params(net, (enum init_kind)env->init, &g);
    memcpy(p, net->params, sizeof *p * n);
    if (rule->learn_rates) {
        /* Meta-SGD's α ~ U[0.005, 0.1], from a stream of its own */
        rng_stream(&g, env->seed, RNG_INIT, 1);
        rng_range_fill(&g, 0.005, 0.1, rates, n);
    } else {
        const size_t off = w.tapes[0].w_off[first];
        for (size_t j = 0; j < n; j++)
            rates[j] = j < off ? 0.0f : (float)m->inner_lr;
    }
    double loss_sum = NAN;
    for (long it = 0; it < m->iterations && !res->diverged; it++) {
        memset(sum, 0, sizeof *sum * np);
        loss_sum = 0;
        for (long b = 0; b < m->batch; b++) {
            struct fewshot ep;
            if ((rc = src->episode(src->arg, (uint64_t)(it * m->batch + b), ways, (int)env->shots,
                                   (int)env->queries, &ep, e)))
                goto done;
            loss_sum += meta_task(&w, rule, p, rates, &ep, grad,
                                  rule->learn_rates ? grad + n : NULL, &net->flops);
            for (size_t j = 0; j < np; j++)
                sum[j] += grad[j];
            res->examples += rows + qrows;
        }
        for (size_t j = 0; j < np; j++)
            grad[j] = (float)(sum[j] / (double)m->batch);
        net->flops += (uint64_t)np * ((uint64_t)m->batch + 1);
        optim_step(&o, p, grad, NULL, 0, &net->flops);
        res->diverged = !isfinite(loss_sum);
        if (*env->stop) {
            rc = err_set(e, ERR_STOPPED, "stopped");
            goto done;
        }
    }
    res->train_loss = loss_sum / (double)m->batch;
    memcpy(net->params, p, sizeof *p * n);
    if (rule->learn_rates) {
        if (!(*extra = malloc(sizeof **extra * n))) {
            rc = err_set(e, ERR_NOMEM, "out of memory for the learned rates");
            goto done;
        }
        memcpy(*extra, p + n, sizeof **extra * n);
        *n_extra = n;
    }
done:
    meta_work_free(&w);
    optim_free(&o);
    free(p), free(grad), free(sum), free(fixed);
    if (rc)
        mlp_free(net);
    return rc;
}

uint64_t meta_pretrain_cost(const struct meta_rule *rule, const struct learner_settings *s,
                            int rows, int qrows, const struct mlp_arch *net)
{
    /* a forward and about twice that backward per inner step and row, the
     * same for the query set, and about five forwards per row and step for
     * a Hessian-vector product */
    const uint64_t f = mlp_forward_flops(net, net->n_layers), k = (uint64_t)s->meta.inner_steps;
    uint64_t task = k * (uint64_t)rows * 3 * f + (uint64_t)qrows * 3 * f;
    if (rule->second_order)
        task += k * (uint64_t)rows * 5 * f;
    return (uint64_t)s->meta.iterations * (uint64_t)s->meta.batch * task;
}

/* ---- test time ---- */

int meta_trainer(struct learner *l, struct trainer *t, int p, struct err *e)
{
    const struct mlp *pre = l->env.pretrained;
    int rc = learner_check_pretrained(pre, &l->shape, l->shape.ways == 0, e);
    if (rc)
        return rc;
    const struct mlp_arch *pa = &pre->arch;
    struct mlp_arch top = {.n_layers = pa->n_layers - p, .act = pa->act};
    for (int i = 0; i <= top.n_layers; i++)
        top.sizes[i] = pa->sizes[p + i];
    top.sizes[top.n_layers] = l->shape.out_dim;
    return trainer_init(t, &top, pre, p, l->cap, l->shape.n_support, &l->s.optim, e);
}

int meta_adapt_from(struct learner *l, struct trainer *t, int p, const struct fewshot *ep,
                    struct rng *r, learner_record_fn rec, void *arg, struct err *e)
{
    const struct mlp *pre = l->env.pretrained;
    trainer_load(t, pre->params + pre->w_off[p],
                 pre->arch.sizes[pre->arch.n_layers] != l->shape.out_dim, INIT_ZERO, r);
    return trainer_fit(t, l, ep, rec, arg, e);
}

int meta_init(struct learner *l, struct err *e)
{
    struct trainer *t = calloc(1, sizeof *t);
    if (!t)
        return err_set(e, ERR_NOMEM, "out of memory for a learner");
    l->state = t;
    return meta_trainer(l, t, 0, e);
}

int meta_adapt(struct learner *l, const struct fewshot *ep, struct rng *r,
               learner_record_fn rec, void *arg, struct err *e)
{
    return meta_adapt_from(l, l->state, 0, ep, r, rec, arg, e);
}
