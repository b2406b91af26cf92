/* prototypes: nearest class mean in the pretrained feature space
 * (Snell et al. 2017, without episodic training). No gradient step is
 * taken, so the one record has step −1.
 *
 * The prototype μ_c is the mean of class c's support features, whatever
 * the distance. Scores are logits: −‖f − μ_c‖² for euclidean (squared, as
 * in the prototypical-networks paper) and the cosine similarity
 * f·μ_c / (‖f‖ ‖μ_c‖) for cosine, so softmax(scores) is the classifier's
 * predictive distribution. Not here: learned metrics, episodic training. */
#include "learners/learner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int prototypes_adapt(const struct learner_settings *s, const struct fewshot *t,
                     struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);

/* Scale v (n) to unit length in place (zero vectors stay zero). */
static void normalise(float *v, int n)
{
    double ss = 0;
    for (int j = 0; j < n; j++)
        ss += (double)v[j] * v[j];
    if (ss > 0) {
        float inv = (float)(1.0 / sqrt(ss));
        for (int j = 0; j < n; j++)
            v[j] *= inv;
    }
}

/* mu (ways, fdim) = class means of fs (n, fdim); count (ways) is scratch,
 * zeroed by the caller like mu. A class without examples keeps a zero mean. */
static void class_means(const float *fs, const int *ys, int n, int ways, int fdim,
                        float *mu, int *count)
{
    for (int i = 0; i < n; i++) {
        float *m = mu + (size_t)ys[i] * fdim;
        for (int j = 0; j < fdim; j++)
            m[j] += fs[(size_t)i * fdim + j];
        count[ys[i]]++;
    }
    for (int k = 0; k < ways; k++)
        for (int j = 0; j < fdim; j++)
            mu[(size_t)k * fdim + j] /= (float)(count[k] ? count[k] : 1);
}

/* scores (query, ways) of fq (query, fdim) against mu (ways, fdim); for
 * cosine both are normalised in place first. */
static void score(float *fq, int n_query, float *mu, int ways, int fdim, bool cosine,
                  float *scores)
{
    for (int k = 0; cosine && k < ways; k++)
        normalise(mu + (size_t)k * fdim, fdim);
    for (int i = 0; i < n_query; i++) {
        float *q = fq + (size_t)i * fdim;
        if (cosine)
            normalise(q, fdim);
        for (int k = 0; k < ways; k++) {
            const float *m = mu + (size_t)k * fdim;
            double acc = 0;
            for (int j = 0; j < fdim; j++)
                acc += cosine ? (double)q[j] * m[j] : ((double)q[j] - m[j]) * ((double)q[j] - m[j]);
            scores[(size_t)i * ways + k] = (float)(cosine ? acc : -acc);
        }
    }
}

int prototypes_adapt(const struct learner_settings *s, const struct fewshot *t,
                     struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e)
{
    int rc = learner_check_pretrained(c->pretrained, t, false, e);
    if (rc)
        return rc;
    const int fdim = c->pretrained->arch.sizes[c->pretrained->arch.n_layers - 1];
    const bool cosine = s->distance == DIST_COSINE;
    float *fs = malloc(sizeof *fs * (size_t)t->n_support * fdim);   // (support, fdim)
    float *fq = malloc(sizeof *fq * (size_t)t->n_query * fdim);     // (query, fdim)
    float *mu = calloc((size_t)t->ways * fdim, sizeof *mu);          // (ways, fdim)
    int *count = calloc((size_t)t->ways, sizeof *count);             // (ways)
    float *scores = malloc(sizeof *scores * (size_t)t->n_query * t->ways);  // (query, ways)
    if (!fs || !fq || !mu || !count || !scores) {
        rc = err_set(e, ERR_NOMEM, "out of memory for prototype features");
        goto done;
    }
    if ((rc = learner_features(c->pretrained, t->xs, t->n_support, fs, &c->flops, e)) < 0 ||
        (rc = learner_features(c->pretrained, t->xq, t->n_query, fq, &c->flops, e)) < 0)
        goto done;
    class_means(fs, t->ys, t->n_support, t->ways, fdim, mu, count);
    score(fq, t->n_query, mu, t->ways, fdim, cosine, scores);
    /* Sums and divisions of the means, then 3 per element and pair (a
     * difference or product, a square or nothing, an add); cosine adds 3 per
     * element for normalising each query and mean (square, add, scale). */
    c->flops += (uint64_t)t->n_support * fdim + (uint64_t)t->ways * fdim +
                3ull * t->n_query * t->ways * fdim +
                (cosine ? 3ull * ((uint64_t)t->n_query + t->ways) * fdim : 0);
    rc = rec(arg, -1, scores, true);
done:
    free(scores), free(count), free(mu), free(fq), free(fs);
    return rc;
}
