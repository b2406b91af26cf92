/* prototypes: nearest class mean in the pretrained feature space
 * (Snell et al. 2017, without episodic training). No gradient step is
 * taken, so the one record has step −1.
 *
 * The prototype μ_c is the mean of class c's support features, whatever
 * the distance. Scores are logits: −‖f − μ_c‖² for euclidean (squared, as
 * in the prototypical-networks paper) and the cosine similarity
 * f·μ_c / (‖f‖ ‖μ_c‖) for cosine, so softmax(scores) is the classifier's
 * predictive distribution, and its input gradient goes through these
 * logits with the prototypes held fixed. Features are computed at most 256
 * rows at a time. Not here: learned metrics, episodic training. */
#include "learners/learner_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learners/loss.h"

#define CHUNK 256   /* rows of one feature batch */

static const struct kind_key keys[] = {{"distance", NULL}, {NULL, NULL}};

static int pretraining(const struct learner_settings *s)
{
    return PRETRAIN_SHARED;
}

static int frozen(const struct learner_settings *s, const struct mlp_arch *pre)
{
    return pre->n_layers - 1;
}

struct protos {
    struct body body;   /* the pretrained network but its head */
    int rows;           /* rows of a feature batch */
    float *fs;          /* (n_support, fdim) support features */
    float *fq;          /* (rows, fdim) features of a batch being scored */
    float *mu;          /* (ways, fdim) prototypes; unit length for cosine */
    int *count;         /* (ways) */
    float *z;           /* (rows, ways) logits of a batch */
    float *g;           /* (rows, ways) loss gradient at the logits */
    float *df;          /* (rows, fdim) loss gradient at the features */
    double *dot;        /* (ways) cosines of one row */
    double *qt, *sums;  /* (fdim, rows), (rows, ways) scratch of feature_sums */
};

static int init(struct learner *l, struct err *e)
{
    const struct mlp *pre = l->env.pretrained;
    int rc = learner_check_pretrained(pre, &l->shape, false, e);
    if (rc)
        return rc;
    struct protos *p = calloc(1, sizeof *p);
    if (!p)
        return err_set(e, ERR_NOMEM, "out of memory for a learner");
    l->state = p;
    p->rows = l->cap < CHUNK ? l->cap : CHUNK;
    if ((rc = body_init(&p->body, pre, pre->arch.n_layers - 1, p->rows, e)))
        return rc;
    const size_t fdim = (size_t)p->body.width, ways = (size_t)l->shape.ways;
    p->fs = malloc(sizeof *p->fs * (size_t)l->shape.n_support * fdim);
    p->fq = malloc(sizeof *p->fq * (size_t)p->rows * fdim);
    p->mu = malloc(sizeof *p->mu * ways * fdim);
    p->count = malloc(sizeof *p->count * ways);
    p->z = malloc(sizeof *p->z * (size_t)p->rows * ways);
    p->g = malloc(sizeof *p->g * (size_t)p->rows * ways);
    p->df = malloc(sizeof *p->df * (size_t)p->rows * fdim);
    p->dot = malloc(sizeof *p->dot * ways);
    p->qt = malloc(sizeof *p->qt * feature_sums_scratch(p->rows, (int)ways, (int)fdim));
    p->sums = malloc(sizeof *p->sums * (size_t)p->rows * ways);
    if (!p->fs || !p->fq || !p->mu || !p->count || !p->z || !p->g || !p->df || !p->dot ||
        !p->qt || !p->sums)
        return err_set(e, ERR_NOMEM, "out of memory for prototype features");
    return ERR_OK;
}

static void release(struct learner *l)
{
    struct protos *p = l->state;
    if (p) {
        body_free(&p->body);
        free(p->fs), free(p->fq), free(p->mu), free(p->count), free(p->z), free(p->g), free(p->df);
        free(p->dot), free(p->qt), free(p->sums);
    }
    free(p);
}

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

/* mu (ways, fdim) = class means of fs (n, fdim). A class without examples
 * keeps a zero mean. */
static void class_means(const float *fs, const int *ys, int n, int ways, int fdim, float *mu,
                        int *count)
{
    memset(mu, 0, sizeof *mu * (size_t)ways * (size_t)fdim);
    memset(count, 0, sizeof *count * (size_t)ways);
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

static int adapt(struct learner *l, const struct fewshot *ep, struct rng *r,
                 learner_record_fn rec, void *arg, struct err *e)
{
    struct protos *p = l->state;
    const int fdim = p->body.width, ways = ep->ways;
    const bool cosine = l->s.distance == DIST_COSINE;
    const float *fs = ep->fs;
    if (!fs)
        body_forward(&p->body, ep->xs, ep->n_support, p->fs, &l->flops), fs = p->fs;
    class_means(fs, ep->ys, ep->n_support, ways, fdim, p->mu, p->count);
    for (int k = 0; cosine && k < ways; k++)
        normalise(p->mu + (size_t)k * fdim, fdim);
    /* the sums and divisions of the means; cosine: square, add, scale each mean */
    l->flops += (uint64_t)ep->n_support * fdim + (uint64_t)ways * fdim +
                (cosine ? 3ull * ways * fdim : 0);
    return rec(arg, -1, &l->model);
}

/* scores (m, ways) of the features fq (m, fdim); for cosine fq is
 * normalised in place first. */
static void score(struct learner *l, float *fq, int m, float *scores)
{
    const struct protos *p = l->state;
    const int fdim = p->body.width, ways = l->shape.ways;
    const bool cosine = l->s.distance == DIST_COSINE;
    for (int i = 0; cosine && i < m; i++)
        normalise(fq + (size_t)i * fdim, fdim);
    feature_sums(fq, m, p->mu, ways, fdim, cosine, p->qt, p->sums, NULL);
    for (size_t i = 0; i < (size_t)m * (size_t)ways; i++)
        scores[i] = (float)(cosine ? p->sums[i] : -p->sums[i]);
    /* 3 per element and pair (a difference or product, a square or nothing,
     * an add); cosine adds 3 per element for normalising each row */
    l->flops += 3ull * m * ways * fdim + (cosine ? 3ull * m * fdim : 0);
}

static int predict(struct learner *l, const float *x, const float *f, int n, float *scores,
                   struct err *e)
{
    struct protos *p = l->state;
    const size_t fdim = (size_t)p->body.width;
    for (int i = 0; i < n; i += p->rows) {
        int m = n - i < p->rows ? n - i : p->rows;
        if (x)
            body_forward(&p->body, x + (size_t)i * l->shape.dim, m, p->fq, &l->flops);
        else   /* score() may normalise the rows in place */
            memcpy(p->fq, f + (size_t)i * fdim, sizeof *p->fq * (size_t)m * fdim);
        score(l, p->fq, m, scores + (size_t)i * l->shape.ways);
    }
    return ERR_OK;
}

/* df (m, fdim) += the gradient at the features f (m, fdim, as scored) of
 * the logits' gradient g (m, ways), the prototypes held fixed. */
static void logits_backward(struct learner *l, const float *f, const float *g, int m, float *df)
{
    const struct protos *p = l->state;
    const int fdim = p->body.width, ways = l->shape.ways;
    const bool cosine = l->s.distance == DIST_COSINE;
    for (int i = 0; i < m; i++) {
        const float *fi = f + (size_t)i * fdim;
        float *d = df + (size_t)i * fdim;
        double norm = 0, *dot = p->dot;
        for (int j = 0; cosine && j < fdim; j++)
            norm += (double)fi[j] * fi[j];
        norm = sqrt(norm);
        for (int k = 0; k < ways; k++) {
            dot[k] = 0;
            for (int j = 0; cosine && norm > 0 && j < fdim; j++)
                dot[k] += (double)fi[j] / norm * p->mu[(size_t)k * fdim + j];
        }
        for (int j = 0; j < fdim; j++) {
            double acc = 0;
            for (int k = 0; k < ways; k++) {
                double mu = p->mu[(size_t)k * fdim + j], gk = g[(size_t)i * ways + k];
                if (!cosine)   /* d/df of −‖f − μ‖² */
                    acc += gk * -2.0 * ((double)fi[j] - mu);
                else if (norm > 0)   /* d/df of f̂·μ̂ = (μ̂ − (f̂·μ̂) f̂) / ‖f‖ */
                    acc += gk * (mu - dot[k] * fi[j] / norm) / norm;
            }
            d[j] = (float)acc;
        }
    }
    l->flops += 4ull * m * ways * fdim + (cosine ? 5ull * m * ways * fdim : 0);
}

static int input_grad(struct learner *l, const float *x, const int *y, const float *tg, int n,
                      bool predicted, float *dx, double *loss, struct err *e)
{
    struct protos *p = l->state;
    const int dim = l->shape.dim, ways = l->shape.ways, fdim = p->body.width;
    *loss = 0;
    for (int i = 0; i < n; i += p->rows) {
        int m = n - i < p->rows ? n - i : p->rows;
        const float *f = body_forward_keep(&p->body, x + (size_t)i * dim, m, &l->flops);
        memcpy(p->fq, f, sizeof *p->fq * (size_t)m * (size_t)fdim);
        score(l, p->fq, m, p->z);
        *loss += loss_xent(p->z, y + i, m, ways, p->g, NULL, &l->flops) * m / n;
        for (size_t j = 0; j < (size_t)m * (size_t)ways; j++)
            p->g[j] = (float)(p->g[j] * ((double)m / n));
        logits_backward(l, f, p->g, m, p->df);
        body_backward(&p->body, p->df, m, dx + (size_t)i * dim, &l->flops);
    }
    return ERR_OK;
}

static uint64_t cost(const struct learner_settings *s, const struct fewshot *shape,
                     const struct mlp_arch *net)
{
    uint64_t rows = (uint64_t)shape->n_support + (uint64_t)shape->n_query;
    uint64_t fdim = (uint64_t)net->sizes[net->n_layers - 1];
    return rows * mlp_forward_flops(net, net->n_layers - 1) +
           3 * (uint64_t)shape->n_query * (uint64_t)shape->ways * fdim;
}

const struct learner_kind learner_prototypes = {
    .name = "prototypes",
    .summary = "nearest class mean of the pretrained features (Snell et al. 2017, no training)",
    .classification_only = true,
    .logits = true,
    .keys = keys,
    .pretraining = pretraining,
    .no_source_hint = "",
    .frozen = frozen,
    .init = init,
    .adapt = adapt,
    .predict = predict,
    .input_grad = input_grad,
    .release = release,
    .cost = cost,
};
