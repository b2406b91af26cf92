/* learner: the registry, and the training loop and feature extractor the
 * learners share. Adding a learner = one file with its adapt function and
 * one row in learner_kinds[]. */
#include "learners/learner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learners/loss.h"

int scratch_adapt(const struct learner_settings *s, const struct fewshot *t,
                  struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);
int finetune_adapt(const struct learner_settings *s, const struct fewshot *t,
                   struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);
int prototypes_adapt(const struct learner_settings *s, const struct fewshot *t,
                     struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);
int knn_adapt(const struct learner_settings *s, const struct fewshot *t,
              struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);

static bool never(const struct learner_settings *s) { return false; }
static bool always(const struct learner_settings *s) { return true; }
static bool knn_needs(const struct learner_settings *s) { return s->space == SPACE_FEATURES; }

const struct learner_kind learner_kinds[] = {
    {"scratch", "a fresh network trained on the support set alone (the no-transfer baseline)",
     false, never, scratch_adapt},
    {"finetune", "the pretrained network with a new head, trained on the support set "
                 "(freeze: body makes it a linear probe)",
     false, always, finetune_adapt},
    {"prototypes", "nearest class mean of the pretrained features (Snell et al. 2017, no training)",
     true, always, prototypes_adapt},
    {"knn", "k nearest support examples in feature or input space",
     true, knn_needs, knn_adapt},
};
const int learner_n_kinds = (int)(sizeof learner_kinds / sizeof learner_kinds[0]);

int learner_find(const char *name)
{
    for (int i = 0; i < learner_n_kinds; i++)
        if (strcmp(learner_kinds[i].name, name) == 0)
            return i;
    return -1;
}

static bool recorded(const struct learner_settings *s, long step)
{
    if (s->n_record == 0)
        return step == s->steps;
    for (int i = 0; i < s->n_record; i++)
        if (s->record_steps[i] == step)
            return true;
    return false;
}

/* Query scores after the current step, handed to the recorder. */
static int report(struct mlp *net, struct mlp_work *w, const struct fewshot *t, int step,
                  learner_record_fn rec, void *arg)
{
    const float *out = mlp_forward(net, w, t->xq, t->n_query, net->arch.n_layers);
    return rec(arg, step, out, t->ways > 0);
}

int learner_train(struct mlp *net, const struct learner_settings *s,
                  const struct fewshot *t, const struct span *spans, int n_spans,
                  learner_record_fn rec, void *arg, struct err *e)
{
    struct mlp_work w = {0};
    struct optim o = {0};
    float *dout = NULL;
    int rc = mlp_work_init(&w, &net->arch, t->n_support > t->n_query ? t->n_support : t->n_query, e);
    if (rc)
        goto done;
    rc = optim_init(&o, &s->optim, net->n_params, e);
    if (rc)
        goto done;
    dout = malloc(sizeof *dout * (size_t)t->n_support * (size_t)t->out_dim);  // (support, out)
    if (!dout) {
        rc = err_set(e, ERR_NOMEM, "out of memory for the adaptation gradient");
        goto done;
    }
    /* Lowest trainable layer: backward need not go below it. */
    int first = spans ? net->arch.n_layers - 1 : 0;
    for (int l = 0; l < net->arch.n_layers; l++)
        for (int i = 0; i < n_spans; i++)
            if (spans[i].off == net->w_off[l] && l < first)
                first = l;
    for (long step = 0;; step++) {
        if (recorded(s, step) && (rc = report(net, &w, t, (int)step, rec, arg)) != 0)
            goto done;
        if (step == s->steps)
            break;
        const float *out = mlp_forward(net, &w, t->xs, t->n_support, net->arch.n_layers);
        if (t->ways > 0)
            loss_xent(out, t->ys, t->n_support, t->ways, dout, NULL, &net->flops);
        else
            loss_mse(out, t->ts, t->n_support, t->out_dim, dout, &net->flops);
        mlp_zero_grad(net);
        mlp_backward(net, &w, dout, first, NULL);
        optim_step(&o, net->params, net->grads, spans, n_spans, &net->flops);
    }
done:
    free(dout);
    optim_free(&o);
    mlp_work_free(&w);
    return rc;
}

int learner_check_pretrained(const struct mlp *pretrained, const struct fewshot *t,
                             bool keeps_head, struct err *e)
{
    if (!pretrained)
        return err_set(e, ERR_USAGE, "learner: this kind needs a pretrained network");
    const struct mlp_arch *a = &pretrained->arch;
    if (a->sizes[0] != t->dim)
        return err_set(e, ERR_USAGE, "learner: the pretrained network takes %d inputs but "
                       "the task has %d", a->sizes[0], t->dim);
    if (keeps_head && a->sizes[a->n_layers] != t->out_dim)
        return err_set(e, ERR_USAGE, "learner: the pretrained network has %d output%s but "
                       "the task's targets have %d", a->sizes[a->n_layers],
                       a->sizes[a->n_layers] == 1 ? "" : "s", t->out_dim);
    return ERR_OK;
}

int learner_features(const struct mlp *pretrained, const float *x, int n,
                     float *out, uint64_t *flops, struct err *e)
{
    const struct mlp_arch *a = &pretrained->arch;
    int body = a->n_layers - 1, fdim = a->sizes[body];
    if (body == 0) {  /* no hidden layer: the features are the inputs */
        memcpy(out, x, sizeof *out * (size_t)n * (size_t)fdim);
        return fdim;
    }
    /* Chunks bound the workspace whatever the number of rows. */
    enum { CHUNK = 256 };
    /* A view, not a copy: forward reads the parameters and writes only the
     * view's own flop counter, so the shared network stays untouched. */
    struct mlp view = *pretrained;
    view.flops = 0;
    struct mlp_work w = {0};
    int rc = mlp_work_init(&w, a, n < CHUNK ? n : CHUNK, e);
    if (rc)
        return rc;
    for (int i = 0; i < n; i += CHUNK) {
        int m = n - i < CHUNK ? n - i : CHUNK;
        const float *f = mlp_forward(&view, &w, x + (size_t)i * a->sizes[0], m, body);
        memcpy(out + (size_t)i * fdim, f, sizeof *out * (size_t)m * (size_t)fdim);
    }
    *flops += view.flops;
    mlp_work_free(&w);
    return fdim;
}
