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
 * at most 1000). Equal distances rank by support row.
 *
 * Distances are sums over features in double, in order (feature_sums);
 * the ranking is theirs. Euclidean ones are first screened with float
 * products and a proven error bound (below), which finds most queries'
 * neighbours, in order, with no sum in double at all. Features are
 * computed at most 256 rows at a time. Not here: distance weighting,
 * learned metrics. */
#include "learners/learner_impl.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/simd.h"
#include "learners/gemm.h"

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
    /* the euclidean screen */
    bool screen;            /* euclidean, and fewer neighbours than support rows */
    int sp;                 /* n_support rounded up to 16: the columns below */
    float *fst;             /* (fdim, sp) the support set's features transposed, 0 past S */
    float *dots;            /* (rows, sp) their float products with a batch */
    double *sn, *serr;      /* (sp) support rows' Σ f² (+∞ past S), their share of a bound */
    double *lo, *up;        /* (sp) one query's bounds */
    int *pick;              /* (rows · n_support) the pairs i·n_support + j summed exactly */
    bool *open;             /* (rows) the queries of a batch the screen left to the sums */
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
    k->screen = l->s.distance == DIST_EUCLIDEAN && k->k < l->shape.n_support &&
                (int64_t)k->rows * (int64_t)S <= INT32_MAX;   /* pairs are ints i·S + j */
    if (k->screen) {
        const size_t sp = (S + 15) / 16 * 16;
        k->sp = (int)sp;
        k->fst = calloc(fdim * sp, sizeof *k->fst);
        k->dots = malloc(sizeof *k->dots * (size_t)k->rows * sp);
        k->sn = malloc(sizeof *k->sn * sp);
        k->serr = malloc(sizeof *k->serr * sp);
        k->lo = malloc(sizeof *k->lo * sp);
        k->up = malloc(sizeof *k->up * sp);
        k->pick = malloc(sizeof *k->pick * (size_t)k->rows * S);
        k->open = malloc(sizeof *k->open * (size_t)k->rows);
    }
    if (!k->fs || !k->ys || !k->fq || !k->nb || !k->count || !k->snorm || !k->dist ||
        !k->qt || !k->sums || !k->qnorm ||
        (k->screen && (!k->fst || !k->dots || !k->sn || !k->serr || !k->lo || !k->up ||
                       !k->pick || !k->open)))
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
        free(k->fst), free(k->dots), free(k->sn), free(k->serr), free(k->lo), free(k->up);
        free(k->pick), free(k->open);
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

/* ---- the euclidean screen ----
 *
 * Which sums of a batch of query rows with the support rows are needed in
 * double to rank each query's k nearest exactly as the plain loop does.
 *
 * Float products first: with dot the float product of a query q and a
 * support row s (any order of sums, fused or not) and qn, sn their squared
 * norms, qn + e with e = sn − 2·dot estimates T = Σ (q − s)², the exact
 * real sum, within γ_d·(qn + sn) (|dot − q·s| ≤ γ_d·Σ|q_i s_i| ≤ γ_d·(qn +
 * sn)/2, γ_d ≈ d·2⁻²⁴), plus at most d·2⁻¹⁴⁹ from products below float's
 * normal range. The plain loop's double sum D is within (d + 3)·2⁻⁵³·T ≤
 * (d + 3)·2⁻⁵²·(qn + sn) of T, and the roundings of e and of the bounds in
 * double are smaller still. So with err = (d + 2)·2⁻²³·(qn + sn) + (d +
 * 2)·2⁻¹²⁵, twice the float bound, lo = e − err ≤ D − qn ≤ e + err = up
 * when e is finite; lo = −∞, up = +∞ when it is not (an overflow, a NaN).
 *
 * qn is the same for every support row of a query, so a support row whose
 * lo exceeds the k-th smallest up is strictly farther than k others and
 * cannot be one of the query's k nearest. When exactly k rows are left and
 * their intervals [lo, up] do not overlap, they are the k nearest in the
 * order of their intervals, and they vote with no sum in double at all.
 * Otherwise every row left is summed exactly, and the ranking and its ties
 * are the loop's. A row left out ranks as +∞, after the k finite distances
 * that exist whenever one is left out. */

/* a where m is set (all ones), b where it is clear (a macro: a function
 * returning a vector would have an ABI of its own) */
#define SELECT8(m, a, b) ((vec8d)(((vec8l)(a) & (m)) | ((vec8l)(b) & ~(m))))

/* Σ x², in any order (32 running sums): for the bounds only. */
KSHOT_CLONES static double square_sum(const float *x, int d)
{
    vec8d part[4] = {{0}, {0}, {0}, {0}};
    int t = 0;
    for (; t + 32 <= d; t += 32)
        for (int i = 0; i < 4; i++) {
            vec8f f;
            memcpy(&f, x + t + 8 * i, sizeof f);
            const vec8d v = __builtin_convertvector(f, vec8d);
            part[i] += v * v;
        }
    const vec8d all = (part[0] + part[1]) + (part[2] + part[3]);
    double sum = 0;
    for (int i = 0; i < 8; i++)
        sum += all[i];
    for (; t < d; t++)
        sum += (double)x[t] * x[t];
    return sum;
}

static double screen_rel(int d)
{
    return (d + 2) * 0x1p-23;
}

/* The support set's part: its features transposed for the products, its
 * norms and their share of err (+∞ and 0 in the padding columns). */
static void screen_support(struct learner *l, int S)
{
    struct knn *k = l->state;
    const int d = k->fdim;
    gemm_transpose(k->fs, S, d, d, k->fst, k->sp);
    for (int j = 0; j < k->sp; j++) {
        k->sn[j] = j < S ? square_sum(k->fs + (size_t)j * d, d) : INFINITY;
        k->serr[j] = j < S ? screen_rel(d) * k->sn[j] + (d + 2) * 0x1p-125 : 0;
    }
    l->flops += 2ull * (uint64_t)S * (uint64_t)d + 2ull * (uint64_t)S;   /* norms, their err */
}

/* lo, up (sp, a multiple of 8) of one query from its products dot (sp)
 * and its share of err, qerr; returns the smallest up. */
KSHOT_CLONES static double bounds(const float *dot, const double *sn, const double *serr,
                                  double qerr, int sp, double *lo, double *up)
{
    const vec8d inf = (vec8d){0} + INFINITY;
    vec8d least = inf;
    for (int j = 0; j < sp; j += 8) {
        vec8f f;
        vec8d s, r;
        memcpy(&f, dot + j, sizeof f), memcpy(&s, sn + j, sizeof s);
        memcpy(&r, serr + j, sizeof r);
        const vec8d e = s - 2.0 * __builtin_convertvector(f, vec8d), err = qerr + r;
        const vec8l finite = (e - e) == 0;   /* ∞ − ∞ and NaN − NaN are NaN */
        const vec8d l = SELECT8(finite, e - err, -inf), u = SELECT8(finite, e + err, inf);
        memcpy(lo + j, &l, sizeof l), memcpy(up + j, &u, sizeof u);
        least = SELECT8(u < least, u, least);
    }
    double min = least[0];
    for (int i = 1; i < 8; i++)
        min = least[i] < min ? least[i] : min;
    return min;
}

/* Screens the batch fq (m): votes for the queries it ranks alone (into
 * scores, (m, ways)), and for the others (k->open) leaves the pairs to sum
 * exactly as i·S + j in k->pick and +∞ in the sums of the rest; returns the
 * number of pairs. */
static int screen(struct learner *l, const float *fq, int m, float *scores)
{
    struct knn *k = l->state;
    const int S = l->shape.n_support, d = k->fdim, K = k->k, sp = k->sp, ways = l->shape.ways;
    const double *lo = k->lo, *up = k->up;
    gemm(false, false, m, sp, d, 1.0f, fq, d, k->fst, sp, 0.0f, k->dots, sp, &l->flops);
    int n = 0;
    for (int i = 0; i < m; i++) {
        const double qerr = screen_rel(d) * square_sum(fq + (size_t)i * d, d);
        const double least = bounds(k->dots + (size_t)i * sp, k->sn, k->serr, qerr, sp, k->lo,
                                    k->up);
        if (K > 1)
            nearest(up, S, K, k->nb);   /* the k smallest up */
        const double cut = K > 1 ? k->nb[K - 1].d : least;
        int left = 0, last = 0;
        for (int j = 0; j < S; j++) {
            const bool in = !(lo[j] > cut);
            left += in, last = in ? j : last;
        }
        if (K == 1)   /* when it is the only row left, the row of the smallest up */
            k->nb[0] = (struct neighbour){least, last};
        /* exactly k left are the k of smallest up; they rank alone if, in
         * that order, each lo is above the up before it */
        bool alone = left == K;
        for (int r = 1; alone && r < K; r++)
            alone = lo[k->nb[r].row] > k->nb[r - 1].d;
        k->open[i] = !alone;
        if (alone) {
            vote(k->nb, K, k->ys, ways, k->count, k->count + ways, scores + (size_t)i * ways);
            continue;
        }
        double *sums = k->sums + (size_t)i * S;
        for (int j = 0; j < S; j++) {
            k->pick[n] = i * S + j;
            n += !(lo[j] > cut);
            sums[j] = INFINITY;
        }
    }
    /* the query norms and their err; per pair e (2), err (1), lo and up (2) */
    l->flops += 2ull * (uint64_t)m * (uint64_t)d + (uint64_t)m + 5ull * (uint64_t)m * (uint64_t)sp;
    return n;
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
    const bool cosine = l->s.distance == DIST_COSINE;
    for (int j = 0; cosine && j < ep->n_support; j++) {
        const float *f = k->fs + (size_t)j * k->fdim;   /* cosine's norms, in order */
        double ss = 0;
        for (int i = 0; i < k->fdim; i++)
            ss += (double)f[i] * f[i];
        k->snorm[j] = ss;
    }
    if (cosine)
        l->flops += 2ull * (uint64_t)ep->n_support * (uint64_t)k->fdim;
    if (k->screen)
        screen_support(l, ep->n_support);
    return rec(arg, -1, &l->model);
}

static int predict(struct learner *l, const float *x, const float *f, int n, float *scores,
                   struct err *e)
{
    struct knn *k = l->state;
    const int S = l->shape.n_support, ways = l->shape.ways;
    const bool cosine = l->s.distance == DIST_COSINE;
    uint64_t summed = 0;   /* pairs summed in double */
    for (int i0 = 0; i0 < n; i0 += k->rows) {
        int m = n - i0 < k->rows ? n - i0 : k->rows;
        const float *fq = k->fq;
        if (x)
            body_forward(&k->body, x + (size_t)i0 * l->shape.dim, m, k->fq, &l->flops);
        else
            fq = f + (size_t)i0 * k->fdim;
        const int kept = k->screen ? screen(l, fq, m, scores + (size_t)i0 * ways) : 0;
        if (k->screen && (int64_t)kept * 8 <= (int64_t)m * S) {   /* a few pairs */
            feature_pair_sums(fq, k->fs, S, k->fdim, k->pick, kept, k->sums);
            summed += (uint64_t)kept;
        } else {   /* every pair */
            feature_sums(fq, m, k->fs, S, k->fdim, cosine, k->qt, k->sums,
                         cosine ? k->qnorm : NULL);
            summed += (uint64_t)m * (uint64_t)S;
        }
        for (int i = 0; i < m; i++) {
            if (k->screen && !k->open[i])
                continue;   /* ranked and voted by the screen */
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
    /* 3 per feature of a pair summed (a difference, a square, an add);
     * cosine: the query norms, 4 per pair for the distance */
    l->flops += 3ull * summed * (uint64_t)k->fdim +
                (cosine ? 2ull * (uint64_t)n * (uint64_t)k->fdim + 4ull * (uint64_t)n * S : 0);
    return ERR_OK;
}

/* The screened euclidean kind's least: no pair summed in double. */
static uint64_t cost(const struct learner_settings *s, const struct fewshot *shape,
                     const struct mlp_arch *net)
{
    bool feat = s->space == SPACE_FEATURES;
    const uint64_t S = (uint64_t)shape->n_support, n = (uint64_t)shape->n_query;
    const uint64_t k = (uint64_t)s->k < S ? (uint64_t)s->k : S, sp = (S + 15) / 16 * 16;
    uint64_t fdim = feat ? (uint64_t)net->sizes[net->n_layers - 1] : (uint64_t)shape->dim;
    uint64_t body = feat ? (S + n) * mlp_forward_flops(net, net->n_layers - 1) : 0;
    if (s->distance == DIST_COSINE)
        return body + 2 * S * fdim + n * (3 * S * fdim + 2 * fdim + 4 * S);
    if (k == S)
        return body + 3 * n * S * fdim;
    return body + 2 * S * fdim + 2 * S + n * (2 * sp * fdim + 2 * fdim + 1 + 5 * sp);
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
