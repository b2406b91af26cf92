/* knn: the k nearest support examples vote, in the pretrained feature
 * space (space: features) or on the raw inputs (space: input, which needs
 * no pretraining at all — a reuse-free reference).
 *
 * Votes are not a predictive distribution, so scores are reported with
 * logits = false (no loss row). A tie between classes is broken in favour
 * of the class with the nearest tied neighbour: the neighbour of rank r
 * adds 1 + 2^−(r+2), and the fractions of all later ranks sum to less than
 * one earlier fraction (and all of them to less than one vote). */
#include "learners/learner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int knn_adapt(const struct learner_settings *s, const struct fewshot *t,
              struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);

static double distance(const float *a, const float *b, int n, bool cosine)
{
    double d = 0, na = 0, nb = 0;
    for (int j = 0; j < n; j++) {
        if (cosine) {
            d += (double)a[j] * b[j];
            na += (double)a[j] * a[j];
            nb += (double)b[j] * b[j];
        } else {
            d += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
        }
    }
    if (!cosine)
        return d;
    return na > 0 && nb > 0 ? 1.0 - d / sqrt(na * nb) : 1.0;
}

/* Indices of the k smallest d[] (ties: lower index first), nearest first. */
static void nearest(const double *d, int n, int k, int *out)
{
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            bool used = false;
            for (int q = 0; q < r; q++)
                used |= out[q] == i;
            if (!used && (best < 0 || d[i] < d[best]))
                best = i;
        }
        out[r] = best;
    }
}

int knn_adapt(const struct learner_settings *s, const struct fewshot *t,
              struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e)
{
    const bool feat = s->space == SPACE_FEATURES;
    const int fdim = feat ? c->pretrained->arch.sizes[c->pretrained->arch.n_layers - 1] : t->dim;
    const int k = (int)(s->k < t->n_support ? s->k : t->n_support);
    float *fs = NULL, *fq = NULL, *scores = NULL;
    double *d = malloc(sizeof *d * (size_t)t->n_support);
    int *nn = malloc(sizeof *nn * (size_t)k);
    scores = calloc((size_t)t->n_query * t->ways, sizeof *scores);  // (query, ways)
    int rc = ERR_OK;
    if (feat) {
        fs = malloc(sizeof *fs * (size_t)t->n_support * fdim);
        fq = malloc(sizeof *fq * (size_t)t->n_query * fdim);
    }
    if (!d || !nn || !scores || (feat && (!fs || !fq))) {
        rc = err_set(e, ERR_NOMEM, "out of memory for nearest neighbours");
        goto done;
    }
    const float *xs = t->xs, *xq = t->xq;
    if (feat) {
        if ((rc = learner_features(c->pretrained, t->xs, t->n_support, fs, &c->flops, e)) < 0 ||
            (rc = learner_features(c->pretrained, t->xq, t->n_query, fq, &c->flops, e)) < 0)
            goto done;
        xs = fs, xq = fq;
    }
    for (int i = 0; i < t->n_query; i++) {
        for (int j = 0; j < t->n_support; j++)
            d[j] = distance(xq + (size_t)i * fdim, xs + (size_t)j * fdim, fdim,
                            s->distance == DIST_COSINE);
        nearest(d, t->n_support, k, nn);
        for (int r = 0; r < k; r++)
            scores[(size_t)i * t->ways + t->ys[nn[r]]] += 1.0f + (float)ldexp(0.5, -(r + 1));
    }
    c->flops += 3ull * t->n_query * t->n_support * fdim;
    rc = rec(arg, -1, scores, false);
done:
    free(scores), free(nn), free(d), free(fq), free(fs);
    return rc;
}
