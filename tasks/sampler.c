/* sampler: class index and keyed N-way K-shot episode draws.
 *
 * Every draw comes from one Philox stream derived from the episode's key, and
 * the sampler itself is read-only after sampler_init, so an episode never
 * depends on call order, threads or other draws. Sampling without
 * replacement is a partial Fisher–Yates on a per-call copy (of the allowed
 * class positions, then of one class's rows): O(allowed + ways·class size)
 * per episode, small next to adapting a network on it. */
#include "tasks/sampler.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"

static const char *dataset_name(const struct dataset *d)
{
    return d->name ? d->name : "the dataset";
}

/* Validate the allowed class list; pos_of (d->n_classes) maps id → position. */
static int check_classes(const struct dataset *d, const int *classes, int n_classes,
                         int *pos_of, struct err *e)
{
    for (int c = 0; c < d->n_classes; c++)
        pos_of[c] = -1;
    for (int i = 0; i < n_classes; i++) {
        int c = classes[i];
        if (c < 0 || c >= d->n_classes)
            return err_set(e, ERR_USAGE, "%s: classes: %d is not a class (expected 0..%d)",
                           dataset_name(d), c, d->n_classes - 1);
        if (pos_of[c] >= 0)
            return err_set(e, ERR_USAGE, "%s: classes: class %d is listed twice",
                           dataset_name(d), c);
        pos_of[c] = i;
    }
    return 0;
}

/* Group the dataset's rows by allowed class, keeping dataset order;
 * cursor is (n_classes) scratch. */
static void index_rows(struct sampler *s, const int *pos_of, int *cursor)
{
    const struct dataset *d = s->d;
    int *fill = s->start + 1; /* counts first, then running ends */
    for (size_t r = 0; r < d->n; r++)
        if (pos_of[d->labels[r]] >= 0)
            fill[pos_of[d->labels[r]]]++;
    s->start[0] = 0;
    s->max_count = 0;
    for (int i = 0; i < s->n_classes; i++) {
        if (fill[i] > s->max_count)
            s->max_count = fill[i];
        s->start[i + 1] += s->start[i];
    }
    /* Second pass: place each row at its class's cursor. */
    memcpy(cursor, s->start, sizeof *cursor * (size_t)s->n_classes);
    for (size_t r = 0; r < d->n; r++) {
        int p = pos_of[d->labels[r]];
        if (p >= 0)
            s->rows[cursor[p]++] = (int)r;
    }
}

int sampler_init(struct sampler *s, const struct dataset *d, const int *classes,
                 int n_classes, struct err *e)
{
    memset(s, 0, sizeof *s);
    if (d->kind != DATASET_CLASSIFICATION || !d->labels || d->n_classes < 1)
        return err_set(e, ERR_USAGE, "%s: episodes need a classification dataset",
                       dataset_name(d));
    if (d->n > (size_t)INT_MAX)
        return err_set(e, ERR_USAGE, "%s: %zu rows exceed the sampler's limit of %d",
                       dataset_name(d), d->n, INT_MAX);
    if (n_classes < 1)
        return err_set(e, ERR_USAGE, "%s: classes: the list is empty (expected at least one class)",
                       dataset_name(d));
    for (size_t r = 0; r < d->n; r++)
        assert(d->labels[r] >= 0 && d->labels[r] < d->n_classes);
    int rc = ERR_NOMEM;
    /* pos_of: (d->n_classes) class id → allowed position; cursor: (n_classes). */
    int *pos_of = malloc(sizeof *pos_of * (size_t)d->n_classes);
    int *cursor = malloc(sizeof *cursor * (size_t)n_classes);
    if (!pos_of || !cursor)
        goto fail;
    rc = check_classes(d, classes, n_classes, pos_of, e);
    if (rc)
        goto fail;
    rc = ERR_NOMEM;
    s->d = d;
    s->n_classes = n_classes;
    s->classes = malloc(sizeof *s->classes * (size_t)n_classes);
    s->start = calloc((size_t)n_classes + 1, sizeof *s->start);
    s->rows = malloc(sizeof *s->rows * (d->n > 0 ? d->n : 1));
    if (!s->classes || !s->start || !s->rows)
        goto fail;
    memcpy(s->classes, classes, sizeof *s->classes * (size_t)n_classes);
    index_rows(s, pos_of, cursor);
    free(cursor);
    free(pos_of);
    return 0;
fail:
    free(cursor);
    free(pos_of);
    sampler_free(s);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, "sampler: out of memory indexing %zu rows", d->n);
    return rc;
}

void sampler_free(struct sampler *s)
{
    if (!s)
        return;
    free(s->classes);
    free(s->start);
    free(s->rows);
    memset(s, 0, sizeof *s);
}

/* ERR_USAGE message for allowed class at position p being too small. */
static int class_short(const struct sampler *s, int p, int shots, int queries, struct err *e)
{
    const struct dataset *d = s->d;
    int c = s->classes[p];
    int have = s->start[p + 1] - s->start[p];
    const char *name = d->class_names ? d->class_names[c] : NULL;
    return err_set(e, ERR_USAGE,
                   "class %d%s%s%s of %s has %d examples; %d shots + %d queries need %d", c,
                   name ? " (" : "", name ? name : "", name ? ")" : "", dataset_name(d),
                   have, shots, queries, shots + queries);
}

int sampler_check(const struct sampler *s, int shots, int queries, struct err *e)
{
    if (shots < 1 || queries < 1 || shots > INT_MAX - queries)
        return err_set(e, ERR_USAGE, "%s: %d shots and %d queries (expected both ≥ 1)",
                       dataset_name(s->d), shots, queries);
    for (int p = 0; p < s->n_classes; p++)
        if (s->start[p + 1] - s->start[p] < shots + queries)
            return class_short(s, p, shots, queries, e);
    return 0;
}

void episode_init(struct episode *ep)
{
    memset(ep, 0, sizeof *ep);
}

void episode_free(struct episode *ep)
{
    if (!ep)
        return;
    free(ep->classes);
    free(ep->support);
    free(ep->support_y);
    free(ep->query);
    free(ep->query_y);
    episode_init(ep);
}

/* Give ep arrays of the requested shape, keeping them when it already has it. */
static int episode_reserve(struct episode *ep, int ways, int shots, int queries)
{
    if (ep->classes && ep->ways == ways && ep->shots == shots && ep->queries == queries)
        return 0;
    episode_free(ep);
    size_t ns = (size_t)ways * (size_t)shots, nq = (size_t)ways * (size_t)queries;
    ep->classes = malloc(sizeof *ep->classes * (size_t)ways);
    ep->support = malloc(sizeof *ep->support * ns);
    ep->support_y = malloc(sizeof *ep->support_y * ns);
    ep->query = malloc(sizeof *ep->query * nq);
    ep->query_y = malloc(sizeof *ep->query_y * nq);
    if (!ep->classes || !ep->support || !ep->support_y || !ep->query || !ep->query_y) {
        episode_free(ep);
        return ERR_NOMEM;
    }
    ep->ways = ways;
    ep->shots = shots;
    ep->queries = queries;
    return 0;
}

/* Partial Fisher–Yates: afterwards a[0..m) is a uniform random ordered
 * sample without replacement of the n values a held. */
static void draw_without_replacement(struct rng *r, int *a, int n, int m)
{
    assert(m <= n);
    for (int i = 0; i < m; i++) {
        int j = i + (int)rng_below(r, (uint32_t)(n - i));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* Fill label l's support and query rows from allowed class position p. */
static void draw_rows(const struct sampler *s, struct rng *r, int p, int l, int *buf,
                      struct episode *ep)
{
    int have = s->start[p + 1] - s->start[p];
    memcpy(buf, s->rows + s->start[p], sizeof *buf * (size_t)have);
    draw_without_replacement(r, buf, have, ep->shots + ep->queries);
    for (int k = 0; k < ep->shots; k++) {
        ep->support[l * ep->shots + k] = buf[k];
        ep->support_y[l * ep->shots + k] = l;
    }
    for (int q = 0; q < ep->queries; q++) {
        ep->query[l * ep->queries + q] = buf[ep->shots + q];
        ep->query_y[l * ep->queries + q] = l;
    }
}

static int check_shape(const struct sampler *s, int ways, int shots, int queries,
                       struct err *e)
{
    if (ways < 1 || ways > s->n_classes)
        return err_set(e, ERR_USAGE, "%s: ways %d with %d allowed classes (expected 1..%d)",
                       dataset_name(s->d), ways, s->n_classes, s->n_classes);
    if (shots < 1 || queries < 1 || shots > INT_MAX - queries ||
        (size_t)ways * (size_t)(shots + queries) > (size_t)INT_MAX)
        return err_set(e, ERR_USAGE, "%s: %d shots and %d queries (expected both ≥ 1)",
                       dataset_name(s->d), shots, queries);
    return 0;
}

int sampler_episode(const struct sampler *s, uint64_t seed, uint64_t target_key, int ways,
                    int shots, int queries, uint64_t index, struct episode *ep,
                    struct err *e)
{
    int rc = check_shape(s, ways, shots, queries, e);
    if (rc)
        return rc;
    /* (n_classes) allowed positions, then (max_count) one class's rows. */
    int *pos = malloc(sizeof *pos * ((size_t)s->n_classes + (size_t)s->max_count));
    if (!pos || episode_reserve(ep, ways, shots, queries)) {
        rc = err_set(e, ERR_NOMEM, "sampler: out of memory for a %d-way %d-shot episode",
                     ways, shots);
        goto fail;
    }
    int *buf = pos + s->n_classes;
    struct rng root, per_shots, r;
    rng_stream(&root, seed, RNG_EPISODE, target_key);
    rng_child(&per_shots, &root, RNG_EPISODE, (uint64_t)shots);
    rng_child(&r, &per_shots, RNG_EPISODE, index);

    for (int p = 0; p < s->n_classes; p++)
        pos[p] = p;
    /* The draw order is itself a uniform random order, so it is the label
     * assignment: label l is the l-th class drawn, not the l-th smallest. */
    draw_without_replacement(&r, pos, s->n_classes, ways);
    for (int l = 0; l < ways; l++) {
        if (s->start[pos[l] + 1] - s->start[pos[l]] < shots + queries) {
            rc = class_short(s, pos[l], shots, queries, e);
            goto fail;
        }
        ep->classes[l] = s->classes[pos[l]];
        draw_rows(s, &r, pos[l], l, buf, ep);
    }
    free(pos);
    return 0;
fail:
    free(pos);
    return rc;
}
