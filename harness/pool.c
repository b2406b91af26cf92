/* pool: a queue of items with waits, shared by pthreads under one mutex. */
#include "harness/pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define MAX_WORKERS 256

enum { WAITING, RUNNING, DONE, FAILED };

struct pool {
    const int *after;
    int n, first;           /* items before first have all started */
    unsigned char *state;   /* (n) enum above */
    int running;
    pool_fn fn;
    void *arg;
    volatile sig_atomic_t *stop;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* an item ended */
    int workers;            /* numbers handed out so far */
    int failed;             /* first failure's code, 0 while none */
    struct err first_err;
};

/* The first item that may start, or -1; with the lock held. */
static int next_item(struct pool *p)
{
    while (p->first < p->n && p->state[p->first] != WAITING)
        p->first++;
    for (int i = p->first; i < p->n; i++)
        if (p->state[i] == WAITING && (!p->after || p->after[i] < 0 ||
                                       p->state[p->after[i]] == DONE))
            return i;
    return -1;
}

static void *worker(void *arg)
{
    struct pool *p = arg;
    struct err e;
    pthread_mutex_lock(&p->lock);
    int id = p->workers++;
    for (;;) {
        if (*p->stop || p->failed)
            break;
        int item = next_item(p);
        if (item < 0) {
            if (p->first >= p->n || p->running == 0)   /* nothing left that could start */
                break;
            pthread_cond_wait(&p->changed, &p->lock);
            continue;
        }
        p->state[item] = RUNNING;
        p->running++;
        pthread_mutex_unlock(&p->lock);
        err_clear(&e);
        int rc = p->fn(p->arg, item, id, &e);
        pthread_mutex_lock(&p->lock);
        p->running--;
        p->state[item] = rc ? FAILED : DONE;
        if (rc && rc != ERR_STOPPED && !p->failed) {
            p->failed = rc;
            p->first_err = e;
            *p->stop = 1;
        }
        pthread_cond_broadcast(&p->changed);
    }
    pthread_cond_broadcast(&p->changed);   /* whoever waits re-checks stop */
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int pool_run(const int *after, int n, int jobs, pool_fn fn, void *arg,
             volatile sig_atomic_t *stop, struct err *e)
{
    if (n <= 0)
        return ERR_OK;
    struct pool p = {.after = after, .n = n, .fn = fn, .arg = arg, .stop = stop};
    if (!(p.state = calloc((size_t)n, 1)))
        return err_set(e, ERR_NOMEM, "out of memory");
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.changed, NULL);
    jobs = jobs < n ? jobs : n;
    jobs = jobs < MAX_WORKERS ? jobs : MAX_WORKERS;
    pthread_t th[MAX_WORKERS];
    int started = 0;
    for (int i = 1; i < jobs; i++)
        if (pthread_create(&th[started], NULL, worker, &p) == 0)
            started++;
    worker(&p);   /* the calling thread works too */
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_cond_destroy(&p.changed);
    pthread_mutex_destroy(&p.lock);
    free(p.state);
    if (p.failed)
        *e = p.first_err;
    return p.failed;
}
