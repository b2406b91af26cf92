/* trainer: full-batch training on the support set, predict and input gradients. */
#include "learners/trainer.h"

#include <stdlib.h>
#include <string.h>

#include "learners/loss.h"

int trainer_init(struct trainer *t, const struct mlp_arch *top, const struct mlp *pre, int p,
                 int cap, int n_support, const struct optim_settings *o, struct err *e)
{
    memset(t, 0, sizeof *t);
    const int out = top->sizes[top->n_layers];
    int rc = mlp_init(&t->net, top, e);
    if (!rc)
        rc = mlp_work_init(&t->w, top, cap, e);
    if (!rc)
        rc = mlp_work_init(&t->wb, top, cap, e);
    if (!rc)
        rc = optim_init(&t->o, o, t->net.n_params, e);
    if (!rc && p > 0)
        rc = body_init(&t->prefix, pre, p, cap, e);
    if (rc)
        return rc;
    t->dout = malloc(sizeof *t->dout * (size_t)cap * (size_t)out);  // (cap, out)
    if (p > 0) {
        t->fs = malloc(sizeof *t->fs * (size_t)n_support * (size_t)t->prefix.width);
        t->gx = malloc(sizeof *t->gx * (size_t)cap * (size_t)t->prefix.width);
    }
    if (!t->dout || (p > 0 && (!t->fs || !t->gx)))
        return err_set(e, ERR_NOMEM, "out of memory for the adaptation's workspace");
    return ERR_OK;
}

void trainer_trainable(struct trainer *t, bool (*trainable)(int layer, const void *arg),
                       const void *arg)
{
    const struct mlp_arch *a = &t->net.arch;
    t->n_spans = 0;
    t->first = a->n_layers - 1;
    /* a layer's W and b are contiguous in the arena */
    for (int l = 0; l < a->n_layers; l++)
        if (trainable(l, arg)) {
            t->spans[t->n_spans++] = (struct span){t->net.w_off[l],
                                                   (size_t)a->sizes[l] * a->sizes[l + 1] +
                                                       (size_t)a->sizes[l + 1]};
            t->first = l < t->first ? l : t->first;
        }
}

void trainer_free(struct trainer *t)
{
    if (!t)
        return;
    mlp_free(&t->net);
    mlp_work_free(&t->w);
    mlp_work_free(&t->wb);
    optim_free(&t->o);
    body_free(&t->prefix);
    free(t->dout), free(t->fs), free(t->gx);
    memset(t, 0, sizeof *t);
}

void trainer_load(struct trainer *t, const float *src, bool new_head, enum init_kind head,
                  struct rng *r)
{
    struct mlp *net = &t->net;
    t->kept_x = NULL;
    memcpy(net->params, src, sizeof(float) * (new_head ? mlp_body_size(net) : net->n_params));
    if (new_head)
        mlp_init_layer(net, net->arch.n_layers - 1, head, r);
}

/* Move net's operation count to the learner's. */
static void settle(struct trainer *t, struct learner *l)
{
    l->flops += t->net.flops;
    t->net.flops = 0;
}

double trainer_step(struct trainer *t, const float *x, const struct fewshot *ep)
{
    struct mlp *net = &t->net;
    t->kept_x = NULL;
    const float *out = mlp_forward(net, &t->w, x, ep->n_support, net->arch.n_layers);
    double loss = ep->ways > 0
                      ? loss_xent(out, ep->ys, ep->n_support, ep->ways, t->dout, NULL, &net->flops)
                      : loss_mse(out, ep->ts, ep->n_support, ep->out_dim, t->dout, &net->flops);
    mlp_backward(net, &t->w, t->dout, t->n_spans ? t->first : 0, NULL);
    if (t->rates) {
        const struct span all = {0, net->n_params};
        const struct span *sp = t->n_spans ? t->spans : &all;
        for (int k = 0; k < (t->n_spans ? t->n_spans : 1); k++) {
            for (size_t i = sp[k].off; i < sp[k].off + sp[k].n; i++)
                net->params[i] -= t->rates[i] * net->grads[i];
            net->flops += 2 * (uint64_t)sp[k].n;
        }
        return loss;
    }
    optim_step(&t->o, net->params, net->grads, t->n_spans ? t->spans : NULL, t->n_spans,
               &net->flops);
    return loss;
}

int trainer_fit(struct trainer *t, struct learner *l, const struct fewshot *ep,
                learner_record_fn rec, void *arg, struct err *e)
{
    const struct learner_settings *s = &l->s;
    const float *xs = ep->xs;  // (support, width of net's input)
    t->kept_x = NULL;
    if (t->prefix.upto > 0 && ep->fs) {
        xs = ep->fs;
    } else if (t->prefix.upto > 0) {
        const float *f = body_forward_keep(&t->prefix, ep->xs, ep->n_support, &l->flops);
        memcpy(t->fs, f, sizeof *t->fs * (size_t)ep->n_support * (size_t)t->prefix.width);
        xs = t->fs;
    }
    optim_reset(&t->o);
    int rc = ERR_OK;
    for (long step = 0;; step++) {
        if (learner_recorded(s, step)) {
            settle(t, l);
            if ((rc = rec(arg, (int)step, &l->model)) != 0)
                break;
        }
        if (step == s->steps)
            break;
        trainer_step(t, xs, ep);
    }
    settle(t, l);
    return rc;   /* a recorder's code, its message the recorder's */
}

int trainer_predict(struct trainer *t, struct learner *l, const float *x, const float *f, int n,
                    float *scores)
{
    const int dim = l->shape.dim, out = l->shape.out_dim, width = t->net.arch.sizes[0];
    const float *y = NULL;
    for (int i = 0; i < n; i += l->cap) {
        int m = n - i < l->cap ? n - i : l->cap;
        const float *in = x ? body_forward_keep(&t->prefix, x + (size_t)i * dim, m, &l->flops)
                            : f + (size_t)i * width;
        y = mlp_forward(&t->net, &t->w, in, m, t->net.arch.n_layers);
        memcpy(scores + (size_t)i * out, y, sizeof *scores * (size_t)m * (size_t)out);
    }
    /* one chunk from the inputs: the whole forward pass is still in w */
    const bool whole = x && n <= l->cap;
    t->kept_x = whole ? x : NULL, t->kept_z = whole ? y : NULL, t->kept_n = whole ? n : 0;
    settle(t, l);
    return ERR_OK;
}

int trainer_input_grad(struct trainer *t, struct learner *l, const float *x, const int *y,
                       const float *tg, int n, bool predicted, float *dx, double *loss)
{
    const int dim = l->shape.dim, out = l->shape.out_dim, top = t->net.arch.n_layers;
    const bool prefix = t->prefix.upto > 0;
    /* the forward pass of the last predict, when it was of these inputs */
    const float *kept = predicted && t->kept_x == x && t->kept_n == n ? t->kept_z : NULL;
    t->kept_x = NULL;   /* the backward pass below overwrites the scratch */
    *loss = 0;
    for (int i = 0; i < n; i += l->cap) {
        int m = n - i < l->cap ? n - i : l->cap;
        const float *z = kept;
        if (!z) {
            const float *in = body_forward_keep(&t->prefix, x + (size_t)i * dim, m, &l->flops);
            z = mlp_forward(&t->net, &t->w, in, m, top);
        }
        double part = l->shape.ways > 0
                          ? loss_xent(z, y + i, m, out, t->dout, NULL, &t->net.flops)
                          : loss_mse(z, tg + (size_t)i * out, m, out, t->dout, &t->net.flops);
        /* each loss is the chunk's mean: weigh chunks by their rows */
        double w = (double)m / n;
        *loss += part * w;
        if (m < n) {
            for (size_t j = 0; j < (size_t)m * (size_t)out; j++)
                t->dout[j] = (float)(t->dout[j] * w);
            t->net.flops += (uint64_t)m * (uint64_t)out;
        }
        float *d = dx + (size_t)i * dim;
        mlp_backward(&t->net, &t->w, t->dout, top, prefix ? t->gx : d);
        if (prefix)
            body_backward(&t->prefix, t->gx, m, d, &l->flops);
    }
    settle(t, l);
    return ERR_OK;
}

int trainer_body(struct trainer *t, struct learner *l, const float *x, int n, float *out)
{
    const int dim = l->shape.dim, top = t->net.arch.n_layers;
    const int width = top > 1 ? t->net.arch.sizes[top - 1] : t->net.arch.sizes[0];
    if (t->prefix.upto > 0)   /* its work is the predict's */
        t->kept_x = NULL;
    for (int i = 0; i < n; i += l->cap) {
        int m = n - i < l->cap ? n - i : l->cap;
        const float *y = body_forward_keep(&t->prefix, x + (size_t)i * dim, m, &l->flops);
        if (top > 1)
            y = mlp_forward(&t->net, &t->wb, y, m, top - 1);
        memcpy(out + (size_t)i * width, y, sizeof *out * (size_t)m * (size_t)width);
    }
    settle(t, l);
    return ERR_OK;
}

int trainer_kind_body(struct learner *l, const float *x, int n, float *out, struct err *e)
{
    return trainer_body(l->state, l, x, n, out);
}

int trainer_kind_predict(struct learner *l, const float *x, const float *f, int n, float *scores,
                         struct err *e)
{
    return trainer_predict(l->state, l, x, f, n, scores);
}

int trainer_kind_input_grad(struct learner *l, const float *x, const int *y, const float *tg,
                            int n, bool predicted, float *dx, double *loss, struct err *e)
{
    return trainer_input_grad(l->state, l, x, y, tg, n, predicted, dx, loss);
}

void trainer_kind_release(struct learner *l)
{
    trainer_free(l->state);   /* the trainer is the state's first member */
    free(l->state);
    l->state = NULL;
}

uint64_t trainer_cost(const struct learner_settings *s, const struct fewshot *shape,
                      const struct mlp_arch *net)
{
    uint64_t fwd = mlp_forward_flops(net, net->n_layers), records = 1;
    for (int i = 0; i < s->n_record; i++)
        records += s->record_steps[i] != s->steps;
    return (uint64_t)s->steps * (uint64_t)shape->n_support * 3 * fwd +
           records * (uint64_t)shape->n_query * fwd;
}
