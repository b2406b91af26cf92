/* knn: the k nearest support examples vote, in the pretrained feature
 * space (space: features) or on the raw inputs (space: input, which needs
 * no pretraining at all — a reuse-free reference). k beyond the support set
 * means the whole support set.
 *
 * Votes are not a predictive distribution, so scores are reported with
 * logits = false (no loss row). A class's score is its number of votes
 * plus (k − r)/(k + 1), r being the rank (0 = nearest) of its nearest
 * neighbour among the k; classes without a vote score 0. The fraction is
 * below one, so the integer part is the vote count and more votes always
 * win; between equal counts the class holding the nearest tied neighbour
 * wins. Fractions of different ranks stay distinct in float while
 * (k + 1)² < 2²³ (k ≤ 2895; the config allows at most 1000). Equal
 * distances rank by support row. Not here: distance weighting, learned
 * metrics. */
#include "learners/learner.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int knn_adapt(const struct learner_settings *s, const struct fewshot *t,
              struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);

/* A support row and its distance to the current query. */
struct neighbour {
    double d;
    int row;
};

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

/* Nearest first, NaN distances last, equal ones by row: a total order, so
 * the ranking does not depend on qsort's algorithm. */
static int by_distance(const void *pa, const void *pb)
{
    const struct neighbour *a = pa, *b = pb;
    bool na = isnan(a->d), nb = isnan(b->d);
    if (na != nb)
        return na ? 1 : -1;
    if (!na && a->d != b->d)
        return a->d < b->d ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* scores (ways) from the k nearest nb (nearest first); count and first
 * (ways) are scratch. */
static void vote(const struct neighbour *nb, int k, const int *ys, int ways,
                 int *count, int *first, float *scores)
{
    for (int w = 0; w < ways; w++)
        count[w] = 0, first[w] = k;
    for (int r = 0; r < k; r++) {
        int w = ys[nb[r].row];
        if (count[w]++ == 0)
            first[w] = r;
    }
    for (int w = 0; w < ways; w++)
        scores[w] = count[w] ? (float)(count[w] + (double)(k - first[w]) / (k + 1)) : 0.0f;
}

int knn_adapt(const struct learner_settings *s, const struct fewshot *t,
              struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e)
{
    const bool feat = s->space == SPACE_FEATURES;
    int rc = feat ? learner_check_pretrained(c->pretrained, t, false, e) : ERR_OK;
    if (rc)
        return rc;
    const int fdim = feat ? c->pretrained->arch.sizes[c->pretrained->arch.n_layers - 1] : t->dim;
    const int k = (int)(s->k < t->n_support ? s->k : t->n_support);
    assert(k >= 1 && k <= 2895);
    float *fs = NULL, *fq = NULL;
    struct neighbour *nb = malloc(sizeof *nb * (size_t)t->n_support);  // (support)
    int *count = malloc(sizeof *count * 2 * (size_t)t->ways);          // (2, ways)
    float *scores = malloc(sizeof *scores * (size_t)t->n_query * t->ways);  // (query, ways)
    if (feat) {
        fs = malloc(sizeof *fs * (size_t)t->n_support * fdim);  // (support, fdim)
        fq = malloc(sizeof *fq * (size_t)t->n_query * fdim);    // (query, fdim)
    }
    if (!nb || !count || !scores || (feat && (!fs || !fq))) {
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
            nb[j] = (struct neighbour){distance(xq + (size_t)i * fdim, xs + (size_t)j * fdim,
                                                fdim, s->distance == DIST_COSINE), j};
        qsort(nb, (size_t)t->n_support, sizeof *nb, by_distance);
        vote(nb, k, t->ys, t->ways, count, count + t->ways, scores + (size_t)i * t->ways);
    }
    c->flops += 3ull * t->n_query * t->n_support * fdim;
    rc = rec(arg, -1, scores, false);
done:
    free(scores), free(count), free(nb), free(fq), free(fs);
    return rc;
}
