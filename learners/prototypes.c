/* prototypes: nearest class mean in the pretrained feature space
 * (Snell et al. 2017, without episodic training). No gradient step is
 * taken, so the one record has step −1.
 *
 * Scores are logits: −‖f − μ_c‖² for euclidean (squared, as in the
 * prototypical-networks paper) and the cosine similarity for cosine, so
 * softmax(scores) is the classifier's predictive distribution. */
#include "learners/learner.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int prototypes_adapt(const struct learner_settings *s, const struct fewshot *t,
                     struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e);

/* Unit-length copy of v in place (zero vectors stay zero). */
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

int prototypes_adapt(const struct learner_settings *s, const struct fewshot *t,
                     struct learner_ctx *c, learner_record_fn rec, void *arg, struct err *e)
{
    const int fdim = c->pretrained->arch.sizes[c->pretrained->arch.n_layers - 1];
    float *fs = malloc(sizeof *fs * (size_t)t->n_support * fdim);   // (support, fdim)
    float *fq = malloc(sizeof *fq * (size_t)t->n_query * fdim);     // (query, fdim)
    float *mu = calloc((size_t)t->ways * fdim, sizeof *mu);          // (ways, fdim)
    int *count = calloc((size_t)t->ways, sizeof *count);
    float *scores = malloc(sizeof *scores * (size_t)t->n_query * t->ways);  // (query, ways)
    int rc = ERR_OK;
    if (!fs || !fq || !mu || !count || !scores) {
        rc = err_set(e, ERR_NOMEM, "out of memory for prototype features");
        goto done;
    }
    if ((rc = learner_features(c->pretrained, t->xs, t->n_support, fs, &c->flops, e)) < 0 ||
        (rc = learner_features(c->pretrained, t->xq, t->n_query, fq, &c->flops, e)) < 0)
        goto done;
    rc = ERR_OK;
    const bool cosine = s->distance == DIST_COSINE;
    for (int i = 0; i < t->n_support; i++) {
        if (cosine)
            normalise(fs + (size_t)i * fdim, fdim);
        float *m = mu + (size_t)t->ys[i] * fdim;
        for (int j = 0; j < fdim; j++)
            m[j] += fs[(size_t)i * fdim + j];
        count[t->ys[i]]++;
    }
    for (int k = 0; k < t->ways; k++) {
        for (int j = 0; j < fdim; j++)
            mu[(size_t)k * fdim + j] /= (float)(count[k] ? count[k] : 1);
        if (cosine)
            normalise(mu + (size_t)k * fdim, fdim);
    }
    for (int i = 0; i < t->n_query; i++) {
        float *q = fq + (size_t)i * fdim;
        if (cosine)
            normalise(q, fdim);
        for (int k = 0; k < t->ways; k++) {
            const float *m = mu + (size_t)k * fdim;
            double acc = 0;
            for (int j = 0; j < fdim; j++)
                acc += cosine ? (double)q[j] * m[j] : ((double)q[j] - m[j]) * ((double)q[j] - m[j]);
            scores[(size_t)i * t->ways + k] = (float)(cosine ? acc : -acc);
        }
    }
    c->flops += (uint64_t)t->n_support * fdim + (uint64_t)t->ways * fdim +
                3ull * t->n_query * t->ways * fdim;
    rc = rec(arg, -1, scores, true);
done:
    free(scores), free(count), free(mu), free(fq), free(fs);
    return rc;
}
