/* supervised: minibatch training of a fresh network on the source task. */
#include "learners/supervised.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "learners/loss.h"

struct batches {
    struct mlp_work w;
    struct optim o;
    float *x, *t, *dout;     /* (B, dim), (B, out) regression targets, (B, out) */
    int *idx, *y, *order;    /* (B), (B), (n) */
};

static void batches_free(struct batches *b)
{
    mlp_work_free(&b->w);
    optim_free(&b->o);
    free(b->x), free(b->t), free(b->dout), free(b->idx), free(b->y), free(b->order);
}

static int batches_init(struct batches *b, const struct mlp *net, const struct supervised_recipe *r,
                        const struct learner_source *src, int batch, struct err *e)
{
    memset(b, 0, sizeof *b);
    const size_t B = (size_t)batch, out = (size_t)src->out_dim;
    int rc = mlp_work_init(&b->w, &net->arch, batch, e);
    if (!rc)
        rc = optim_init(&b->o, &r->optim, net->n_params, e);
    b->x = malloc(sizeof *b->x * B * (size_t)src->dim);
    b->t = malloc(sizeof *b->t * B * out);
    b->dout = malloc(sizeof *b->dout * B * out);
    b->idx = malloc(sizeof *b->idx * B);
    b->y = malloc(sizeof *b->y * B);
    b->order = malloc(sizeof *b->order * (size_t)src->n);
    if (!rc && (!b->x || !b->t || !b->dout || !b->idx || !b->y || !b->order))
        rc = err_set(e, ERR_NOMEM, "out of memory for pretraining batches");
    return rc;
}

/* One minibatch step on rows b->idx[0..m); returns the batch's mean loss. */
static double step(struct mlp *net, struct batches *b, const struct learner_source *src, int m)
{
    src->rows(src->arg, b->idx, m, b->x, b->y, b->t);
    const float *out = mlp_forward(net, &b->w, b->x, m, net->arch.n_layers);
    double loss = src->classes > 0
                      ? loss_xent(out, b->y, m, src->out_dim, b->dout, NULL, &net->flops)
                      : loss_mse(out, b->t, m, src->out_dim, b->dout, &net->flops);
    mlp_backward(net, &b->w, b->dout, 0, NULL);
    optim_step(&b->o, net->params, net->grads, NULL, 0, &net->flops);
    return loss;
}

int supervised_pretrain(const struct supervised_recipe *r, const struct learner_source *src,
                        const struct mlp_arch *arch, uint64_t seed, volatile sig_atomic_t *stop,
                        struct mlp *net, struct pretrain_result *res, struct err *e)
{
    struct batches b;
    memset(res, 0, sizeof *res);
    memset(&b, 0, sizeof b);
    res->train_loss = NAN;
    if (src->n < 1)
        return err_set(e, ERR_USAGE, "pretraining: the source task has no rows");
    const int n = src->n, batch = (int)(r->batch < n ? r->batch : n);
    int rc = mlp_init(net, arch, e);
    if (!rc)
        rc = batches_init(&b, net, r, src, batch, e);
    if (rc)
        goto done;
    struct rng g;
    rng_stream(&g, seed, RNG_INIT, 0);
    mlp_init_params(net, (enum init_kind)r->init, &g);
    double loss_sum = 0;
    for (long ep = 0; ep < r->epochs && !res->diverged; ep++) {
        for (int i = 0; i < n; i++)
            b.order[i] = i;
        rng_stream(&g, seed, RNG_SHUFFLE, (uint64_t)ep);
        rng_shuffle(&g, b.order, (size_t)n);
        loss_sum = 0;
        for (int first = 0; first < n; first += batch) {
            int m = n - first < batch ? n - first : batch;
            memcpy(b.idx, b.order + first, sizeof *b.idx * (size_t)m);
            double loss = step(net, &b, src, m);
            res->examples += m;
            loss_sum += loss * m;
            if (!isfinite(loss)) {
                res->diverged = true;
                break;
            }
            if (*stop) {
                rc = err_set(e, ERR_STOPPED, "stopped");
                goto done;
            }
        }
    }
    res->train_loss = loss_sum / n;
done:
    batches_free(&b);
    if (rc)
        mlp_free(net);
    return rc;
}
