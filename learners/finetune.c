/* finetune: the pretrained network, a new head, trained on the support set.
 *
 * Classification gets a new head with one output per way, initialised as
 * settings.head says (zero by default); regression keeps the pretrained
 * head, whose outputs already mean the same thing. freeze: body trains the
 * head only (a linear probe); freeze: [layers] keeps the listed layers.
 *
 * Frozen layers at the bottom (layers 0..p−1, e.g. the whole body of a
 * linear probe) map the support and query rows to the same values at every
 * step, so their outputs are computed once and only the layers above them
 * are built and trained. The numbers are those of training the whole
 * network with those layers left out of the optimizer, bit for bit (the same
 * products on the same rows in the same batches); only the work is less.
 * Not here: layer-wise learning rates, unfreezing during training. */
#include "learners/learner.h"

#include <stdlib.h>
#include <string.h>

int finetune_adapt(const struct learner_settings *s, const struct fewshot *t,
                   struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);

static bool frozen(const struct learner_settings *s, int layer, int n_layers)
{
    if (s->freeze == FREEZE_BODY)
        return layer < n_layers - 1;
    if (s->freeze == FREEZE_LAYERS)
        for (int i = 0; i < s->n_frozen; i++)
            if (s->frozen[i] == layer)
                return true;
    return false;
}

/* Frozen layers at the bottom; the head always stays in the trained part. */
static int frozen_prefix(const struct learner_settings *s, int n_layers)
{
    int p = 0;
    while (p < n_layers - 1 && frozen(s, p, n_layers))
        p++;
    return p;
}

/* Outputs of the pretrained layers 0..p−1 for the support and query rows,
 * each set in one batch as the whole-network forward would run it; ft gets
 * them as its inputs. *fs, *fq are the caller's to free. */
static int prefix_features(const struct mlp *pre, int p, const struct fewshot *t,
                           struct fewshot *ft, float **fs, float **fq, uint64_t *flops,
                           struct err *e)
{
    const int width = pre->arch.sizes[p];
    struct mlp view = *pre;  /* forward writes only the view's flop counter */
    view.flops = 0;
    struct mlp_work w = {0};
    const int rows = t->n_support > t->n_query ? t->n_support : t->n_query;
    int rc = mlp_work_init(&w, &pre->arch, rows, e);
    if (rc)
        return rc;
    *fs = malloc(sizeof **fs * (size_t)t->n_support * width);  // (support, width)
    *fq = malloc(sizeof **fq * (size_t)t->n_query * width);    // (query, width)
    if (!*fs || !*fq) {
        rc = err_set(e, ERR_NOMEM, "out of memory for the frozen layers' outputs");
        goto done;
    }
    memcpy(*fs, mlp_forward(&view, &w, t->xs, t->n_support, p),
           sizeof **fs * (size_t)t->n_support * width);
    memcpy(*fq, mlp_forward(&view, &w, t->xq, t->n_query, p),
           sizeof **fq * (size_t)t->n_query * width);
    ft->dim = width, ft->xs = *fs, ft->xq = *fq;
    *flops += view.flops;
done:
    mlp_work_free(&w);
    return rc;
}

/* Layers p.. of the adapted network: the pretrained ones, then a new head
 * (classification) or the pretrained head (regression). */
static int top_init(struct mlp *net, const struct mlp *pre, int p, const struct learner_settings *s,
                    const struct fewshot *t, struct rng *r, struct err *e)
{
    const struct mlp_arch *pa = &pre->arch;
    struct mlp_arch a = {.n_layers = pa->n_layers - p, .act = pa->act};
    for (int l = 0; l <= a.n_layers; l++)
        a.sizes[l] = pa->sizes[p + l];
    a.sizes[a.n_layers] = t->out_dim;
    int rc = mlp_init(net, &a, e);
    if (rc)
        return rc;
    /* Layers p.. are a suffix of the pretrained arena (its head last). */
    const float *src = pre->params + pre->w_off[p];
    if (t->ways > 0) {
        memcpy(net->params, src, sizeof(float) * mlp_body_size(net));
        mlp_init_layer(net, a.n_layers - 1, (enum init_kind)s->head, r);
    } else {
        memcpy(net->params, src, sizeof(float) * net->n_params);
    }
    return ERR_OK;
}

int finetune_adapt(const struct learner_settings *s, const struct fewshot *t,
                   struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e)
{
    const struct mlp *pre = c->pretrained;
    int rc = learner_check_pretrained(pre, t, t->ways == 0, e);
    if (rc)
        return rc;
    const int n_layers = pre->arch.n_layers, p = frozen_prefix(s, n_layers);
    struct mlp net = {0};
    float *fs = NULL, *fq = NULL;
    struct fewshot ft = *t;
    if (p > 0 && (rc = prefix_features(pre, p, t, &ft, &fs, &fq, &c->flops, e)))
        goto done;
    if ((rc = top_init(&net, pre, p, s, t, &c->rng, e)))
        goto done;
    /* Trainable layers are contiguous in the arena: W then b. */
    struct span spans[MLP_MAX_LAYERS];
    int n = 0;
    for (int l = p; l < n_layers; l++)
        if (!frozen(s, l, n_layers)) {
            const int *z = net.arch.sizes + (l - p);  // this layer's in, out
            spans[n++] = (struct span){net.w_off[l - p], (size_t)z[0] * z[1] + z[1]};
        }
    rc = learner_train(&net, s, &ft, spans, n, rec, arg, e);
    c->flops += net.flops;
done:
    mlp_free(&net);
    free(fq), free(fs);
    return rc;
}
