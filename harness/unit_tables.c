/* unit_tables: the feature table of an eval unit whose learner has frozen
 * layers, and the cache through which the units of one run share tables.
 *
 * A table holds the features of every image the unit's episodes draw,
 * through the frozen layers, computed in batches of up to 256 rows in
 * dataset row order. Its bits are fixed by what it is built from: the
 * target view (data, preprocessing, sampler, ways, queries, episodes), the
 * shot count, the network and the depth. Units that agree on all four —
 * the linear probe, prototypes and kNN of one seed, target and shot count,
 * say — would compute the same table, bit for bit; with a cache they
 * compute it once. Tables no job holds stay in the cache, the most
 * recently taken first, while together they fit in its budget. */
#include "harness/unit_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct table {
    const struct target_view *tv;   /* the key: what the table is built from */
    const struct mlp *net;
    const float *params;            /* the network's weights then (a network loaded anew differs) */
    int depth;
    long shots;
    struct features ft;
    size_t bytes;
    int users;                      /* jobs holding it */
    unsigned long taken;            /* the cache's clock when last taken */
    struct table *next;
};

struct table_cache {
    pthread_mutex_t lock;
    size_t budget;                  /* bytes of tables no job holds, at most */
    unsigned long clock;
    struct table *list;
};

static void features_free(struct features *ft)
{
    free(ft->slot), free(ft->f);
    memset(ft, 0, sizeof *ft);
}

static void table_free(struct table *t)
{
    if (t)
        features_free(&t->ft);
    free(t);
}

/* Build t's table: mark the rows every episode draws (the sampler alone,
 * cheap), then compute their features. Leaves t->ft.depth 0 when the table
 * would be too large (the episodes then compute their own features). */
static int features_build(struct table *t, uint64_t *flops, volatile sig_atomic_t *stop,
                          struct err *e)
{
    enum { CHUNK = 256 };
    struct features *ft = &t->ft;
    const struct target_view *tv = t->tv;
    const struct dataset *d = tv->d;
    const struct cfg_target *ct = tv->cfg;
    const int width = t->net->arch.sizes[t->depth];
    struct episode ep;
    episode_init(&ep);
    int *rows = NULL, n = 0, rc = ERR_OK;
    float *x = NULL;
    if (!(ft->slot = malloc(sizeof *ft->slot * d->n)))
        return err_set(e, ERR_NOMEM, "out of memory for the feature table");
    for (size_t r = 0; r < d->n; r++)
        ft->slot[r] = -1;
    for (long i = 0; !rc && i < ct->episodes; i++) {
        rc = sampler_episode(tv->sampler, (uint64_t)tv->seed, tv->key, (int)ct->ways,
                             (int)t->shots, (int)ct->queries, (uint64_t)i, &ep, e);
        for (int k = 0; !rc && k < ep.ways * ep.shots; k++)
            ft->slot[ep.support[k]] = 0;
        for (int k = 0; !rc && k < ep.ways * ep.queries; k++)
            ft->slot[ep.query[k]] = 0;
    }
    episode_free(&ep);
    for (size_t r = 0; !rc && r < d->n; r++)
        if (ft->slot[r] == 0)
            ft->slot[r] = n++;   /* slots in row order */
    if (rc || (size_t)n * (size_t)width * sizeof(float) > FEATURES_MAX_BYTES) {
        features_free(ft);
        return rc;
    }
    ft->f = malloc(sizeof *ft->f * (size_t)n * (size_t)width);   /* n ≥ 1: an episode draws */
    rows = malloc(sizeof *rows * (size_t)n);
    x = malloc(sizeof *x * (size_t)CHUNK * d->dim);
    if (!ft->f || !rows || !x)
        rc = err_set(e, ERR_NOMEM, "out of memory for the feature table of %d images", n);
    for (size_t r = 0; !rc && r < d->n; r++)
        if (ft->slot[r] >= 0)
            rows[ft->slot[r]] = (int)r;
    for (int i = 0; !rc && i < n; i += CHUNK) {
        int m = n - i < CHUNK ? n - i : CHUNK;
        if (*stop)
            rc = err_set(e, ERR_STOPPED, "stopped");
        else if (!(rc = eval_inputs(tv, rows + i, m, x, e)))
            rc = learner_features(t->net, t->depth, x, m, ft->f + (size_t)i * width, flops, e);
    }
    free(rows), free(x);
    if (rc)
        features_free(ft);
    else
        ft->depth = t->depth, ft->width = width, t->bytes = (size_t)n * (size_t)width * 4;
    return rc;
}

struct table_cache *table_cache_new(size_t budget)
{
    struct table_cache *tc = calloc(1, sizeof *tc);
    if (tc) {
        pthread_mutex_init(&tc->lock, NULL);
        tc->budget = budget;
    }
    return tc;
}

void table_cache_free(struct table_cache *tc)
{
    if (!tc)
        return;
    for (struct table *t = tc->list, *next; t; t = next)
        next = t->next, table_free(t);
    pthread_mutex_destroy(&tc->lock);
    free(tc);
}

static struct table *find(struct table_cache *tc, const struct table *key)
{
    for (struct table *t = tc->list; t; t = t->next)
        if (t->tv == key->tv && t->net == key->net && t->params == key->params &&
            t->depth == key->depth && t->shots == key->shots)
            return t;
    return NULL;
}

/* Drop the least recently taken tables no job holds until those left fit
 * the budget. Under the lock. */
static void trim(struct table_cache *tc)
{
    for (;;) {
        size_t idle = 0;
        struct table **oldest = NULL;
        for (struct table **p = &tc->list; *p; p = &(*p)->next)
            if ((*p)->users == 0) {
                idle += (*p)->bytes;
                if (!oldest || (*p)->taken < (*oldest)->taken)
                    oldest = p;
            }
        if (idle <= tc->budget)
            return;
        struct table *t = *oldest;
        *oldest = t->next;
        table_free(t);
    }
}

int eval_table_take(struct eval_job *j, struct table_cache *tc, uint64_t *flops,
                    volatile sig_atomic_t *stop, struct err *e)
{
    const struct mlp *net = j->env.pretrained;
    const int depth = learner_frozen(&j->lc->s, net ? &net->arch : NULL);
    memset(&j->ft, 0, sizeof j->ft);
    j->table = NULL, j->tables = tc;
    if (depth == 0 || j->tv->d == NULL)
        return ERR_OK;
    struct table key = {.tv = j->tv, .net = net, .params = net->params, .depth = depth,
                        .shots = j->u->shots};
    struct table *t = NULL;
    if (tc) {
        pthread_mutex_lock(&tc->lock);
        if ((t = find(tc, &key)))
            t->users++, t->taken = ++tc->clock;
        pthread_mutex_unlock(&tc->lock);
    }
    if (!t) {
        if (!(t = malloc(sizeof *t)))
            return err_set(e, ERR_NOMEM, "out of memory for the feature table");
        *t = key;
        int rc = features_build(t, flops, stop, e);
        if (rc || t->ft.depth == 0) {   /* failed, or too large to make */
            table_free(t);
            return rc;
        }
        t->users = 1;
        if (tc) {   /* another worker may have built the same table meanwhile: one is kept */
            pthread_mutex_lock(&tc->lock);
            struct table *same = find(tc, &key);
            if (same) {
                table_free(t);
                t = same, t->users++;
            } else {
                t->next = tc->list, tc->list = t;
            }
            t->taken = ++tc->clock;
            trim(tc);
            pthread_mutex_unlock(&tc->lock);
        }
    }
    j->table = t, j->ft = t->ft;
    return ERR_OK;
}

void eval_table_release(struct eval_job *j)
{
    struct table *t = j->table;
    struct table_cache *tc = j->tables;
    j->table = NULL;
    memset(&j->ft, 0, sizeof j->ft);
    if (!t)
        return;
    if (!tc) {
        table_free(t);
        return;
    }
    pthread_mutex_lock(&tc->lock);
    t->users--;
    trim(tc);
    pthread_mutex_unlock(&tc->lock);
}
