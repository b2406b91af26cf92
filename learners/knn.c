/* knn: the k nearest support examples vote, in the pretrained feature
 * space (space: features) or on the raw inputs (space: input, which needs
 * no pretraining at all — a reuse-free reference). k beyond the support set
 * means the whole support set.
 *
 * Votes are not a predictive distribution, so the model's scores are not
 * logits (no loss row) and it has no input gradient (no gradient probes). A
 * class's score is its number of votes plus (k − r)/(k + 1), r being the
 * rank (0 = nearest) of its nearest neighbour among the k; classes without
 * a vote score 0. The fraction is below one, so the integer part is the
 * vote count and more votes always win; between equal counts the class
 * holding the nearest tied neighbour wins. Fractions of different ranks
 * stay distinct in float while (k + 1)² < 2²³ (k ≤ 2895; the config allows
 * at most 1000). Equal distances rank by support row. Features are
 * computed at most 256 rows at a time. Not here: distance weighting,
 * learned metrics. */
#include "learners/learner_impl.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 256   /* rows of one feature batch */

static const struct kind_key keys[] = {{"k", NULL}, {"distance", NULL}, {"space", NULL},
                                       {NULL, NULL}};

static int pretraining(const struct learner_settings *s)
{
    return s->space == SPACE_FEATURES ? PRETRAIN_SHARED : PRETRAIN_NONE;
}

static int frozen(const struct learner_settings *s, const struct mlp_arch *pre)
{
    return s->space == SPACE_FEATURES ? pre->n_layers - 1 : 0;
}

/* A support row and its distance to the current query. */
struct neighbour {
    double d;
    int row;
};

struct knn {
    struct body body;       /* features: the pretrained network but its head; input: empty */
    int rows;               /* rows of a feature batch */
    int fdim;
    int k;                  /* neighbours that vote, at most the support set */
    float *fs;              /* (n_support, fdim) the support set's features (or inputs) */
    int *ys;                /* (n_support) its labels */
    float *fq;              /* (rows, fdim) features of a batch being scored */
    struct neighbour *nb;   /* (k) the nearest, nearest first */
    int *count;             /* (2, ways) votes and first ranks */
    double *snorm;          /* (n_support) Σ f² of each support row (cosine) */
    double *dist;           /* (n_support) the current query's cosine distances */
    double *qt, *sums, *qnorm;  /* (fdim, rows), (rows, n_support), (rows): feature_sums */
};

static int init(struct learner *l, struct err *e)
{
    const bool feat = l->s.space == SPACE_FEATURES;
    const struct mlp *pre = l->env.pretrained;
    int rc = feat ? learner_check_pretrained(pre, &l->shape, false, e) : ERR_OK;
    if (rc)
        return rc;
    struct knn *k = calloc(1, sizeof *k);
    if (!k)
        return err_set(e, ERR_NOMEM, "out of memory for a learner");
    l->state = k;
    k->rows = l->cap < CHUNK ? l->cap : CHUNK;
    if (!feat)
        body_identity(&k->body, l->shape.dim);
    else if ((rc = body_init(&k->body, pre, pre->arch.n_layers - 1, k->rows, e)))
        return rc;
    k->fdim = k->body.width;
    k->k = (int)(l->s.k < l->shape.n_support ? l->s.k : l->shape.n_support);
    assert(k->k >= 1 && k->k <= 2895);
    const size_t S = (size_t)l->shape.n_support, fdim = (size_t)k->fdim;
    k->fs = malloc(sizeof *k->fs * S * fdim);
    k->ys = malloc(sizeof *k->ys * S);
    k->fq = malloc(sizeof *k->fq * (size_t)k->rows * fdim);
    k->nb = malloc(sizeof *k->nb * (size_t)k->k);
    k->count = malloc(sizeof *k->count * 2 * (size_t)l->shape.ways);
    k->snorm = malloc(sizeof *k->snorm * S);
    k->dist = malloc(sizeof *k->dist * S);
    k->qt = malloc(sizeof *k->qt * feature_sums_scratch(k->rows, (int)S, (int)fdim));
    k->sums = malloc(sizeof *k->sums * (size_t)k->rows * S);
    k->qnorm = malloc(sizeof *k->qnorm * (size_t)k->rows);
    if (!k->fs || !k->ys || !k->fq || !k->nb || !k->count || !k->snorm ||
        !k->dist || !k->qt || !k->sums || !k->qnorm)
        return err_set(e, ERR_NOMEM, "out of memory for nearest neighbours");
    return ERR_OK;
}

static void release(struct learner *l)
{
    struct knn *k = l->state;
    if (k) {
        body_free(&k->body);
        free(k->fs), free(k->ys), free(k->fq), free(k->nb), free(k->count);
        free(k->snorm), free(k->dist), free(k->qt), free(k->sums), free(k->qnorm);
    }
    free(k);
}

/* The distance between a query and a support row from their sums over
 * features (feature_sums): the squared euclidean distance, or one minus
 * the cosine (1 when either vector is zero). */
static double distance(double sum, double qnorm, double snorm, bool cosine)
{
    if (!cosine)
        return sum;
    return qnorm > 0 && snorm > 0 ? 1.0 - sum / sqrt(qnorm * snorm) : 1.0;
}

/* Whether distance a ranks before b: nearest first, NaN distances last. */
static inline bool before(double a, double b)
{
    return !isnan(a) && (isnan(b) || a < b);
}

/* nb[0..k) = the k nearest of the distances d[0..S) of support rows
 * 0..S-1, nearest first, NaN ones last, equal ones by row (a total order,
 * so the ranking does not depend on how it is found): an insertion into a
 * sorted prefix, far cheaper for the small k of few-shot episodes than
 * sorting them all. Rows arrive in order, so an equal distance goes after
 * those already kept. */
static void nearest(const double *d, int S, int k, struct neighbour *nb)
{
    if (k == 1) {   /* the same order in two passes, the first without a data-dependent branch: */
        double least = INFINITY;   /* the smallest non-NaN distance (NaN never compares), */
        for (int j = 0; j < S; j++)
            least = d[j] < least ? d[j] : least;
        int row = 0;               /* its first row; every distance NaN: row 0 */
        while (row < S && !(d[row] == least))
            row++;
        row = row < S ? row : 0;
        nb[0] = (struct neighbour){d[row], row};
        return;
    }
    int have = 0;
    for (int j = 0; j < S; j++) {
        const double dj = d[j];
        if (have == k && !before(dj, nb[k - 1].d))
            continue;
        int pos = have < k ? have++ : k - 1;
        while (pos > 0 && before(dj, nb[pos - 1].d)) {
            nb[pos] = nb[pos - 1];
            pos--;
        }
        nb[pos] = (struct neighbour){dj, j};
    }
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

static int adapt(struct learner *l, const struct fewshot *ep, struct rng *r,
                 learner_record_fn rec, void *arg, struct err *e)
{
    struct knn *k = l->state;
    if (ep->fs)
        memcpy(k->fs, ep->fs, sizeof *k->fs * (size_t)ep->n_support * (size_t)k->fdim);
    else
        body_forward(&k->body, ep->xs, ep->n_support, k->fs, &l->flops);
    memcpy(k->ys, ep->ys, sizeof *k->ys * (size_t)ep->n_support);
    for (int j = 0; l->s.distance == DIST_COSINE && j < ep->n_support; j++) {
        const float *f = k->fs + (size_t)j * k->fdim;   /* cosine's norms */
        double ss = 0;
        for (int i = 0; i < k->fdim; i++)
            ss += (double)f[i] * f[i];
        k->snorm[j] = ss;
    }
    return rec(arg, -1, &l->model);
}

static int predict(struct learner *l, const float *x, const float *f, int n, float *scores,
                   struct err *e)
{
    struct knn *k = l->state;
    const int S = l->shape.n_support, ways = l->shape.ways;
    const bool cosine = l->s.distance == DIST_COSINE;
    for (int i0 = 0; i0 < n; i0 += k->rows) {
        int m = n - i0 < k->rows ? n - i0 : k->rows;
        const float *fq = k->fq;
        if (x)
            body_forward(&k->body, x + (size_t)i0 * l->shape.dim, m, k->fq, &l->flops);
        else
            fq = f + (size_t)i0 * k->fdim;
        feature_sums(fq, m, k->fs, S, k->fdim, cosine, k->qt, k->sums, cosine ? k->qnorm : NULL);
        for (int i = 0; i < m; i++) {
            const double *d = k->sums + (size_t)i * S;   /* euclidean: the sums */
            if (cosine) {
                for (int j = 0; j < S; j++)
                    k->dist[j] = distance(d[j], k->qnorm[i], k->snorm[j], true);
                d = k->dist;
            }
            nearest(d, S, k->k, k->nb);
            vote(k->nb, k->k, k->ys, ways, k->count, k->count + ways,
                 scores + (size_t)(i0 + i) * ways);
        }
    }
    l->flops += 3ull * (uint64_t)n * (uint64_t)S * (uint64_t)k->fdim;
    return ERR_OK;
}

static uint64_t cost(const struct learner_settings *s, const struct fewshot *shape,
                     const struct mlp_arch *net)
{
    bool feat = s->space == SPACE_FEATURES;
    uint64_t rows = (uint64_t)shape->n_support + (uint64_t)shape->n_query;
    uint64_t fdim = feat ? (uint64_t)net->sizes[net->n_layers - 1] : (uint64_t)shape->dim;
    return (feat ? rows * mlp_forward_flops(net, net->n_layers - 1) : 0) +
           3 * (uint64_t)shape->n_query * (uint64_t)shape->n_support * fdim;
}

const struct learner_kind learner_knn = {
    .name = "knn",
    .summary = "k nearest support examples in feature or input space",
    .classification_only = true,
    .logits = false,
    .keys = keys,
    .pretraining = pretraining,
    .no_source_hint = " (add one, or set space: input)",
    .frozen = frozen,
    .init = init,
    .adapt = adapt,
    .predict = predict,
    .input_grad = NULL,
    .release = release,
    .cost = cost,
};
