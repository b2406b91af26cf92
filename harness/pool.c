/* pool: a queue of items shared by pthreads under one mutex. */
#include "harness/pool.h"

#include <pthread.h>

#define MAX_WORKERS 256

struct pool {
    const int *items;
    int n, next;
    pool_fn fn;
    void *arg;
    volatile sig_atomic_t *stop;
    pthread_mutex_t lock;
    int workers;            /* numbers handed out so far */
    int failed;             /* first failure's code, 0 while none */
    struct err first;
};

static void *worker(void *arg)
{
    struct pool *p = arg;
    struct err e;
    pthread_mutex_lock(&p->lock);
    int id = p->workers++;
    pthread_mutex_unlock(&p->lock);
    for (;;) {
        pthread_mutex_lock(&p->lock);
        int item = !*p->stop && !p->failed && p->next < p->n ? p->items[p->next++] : -1;
        pthread_mutex_unlock(&p->lock);
        if (item < 0)
            return NULL;
        err_clear(&e);
        int rc = p->fn(p->arg, item, id, &e);
        if (rc && rc != ERR_STOPPED) {
            pthread_mutex_lock(&p->lock);
            if (!p->failed) {
                p->failed = rc;
                p->first = e;
                *p->stop = 1;
            }
            pthread_mutex_unlock(&p->lock);
        }
    }
}

int pool_run(const int *items, int n, int jobs, pool_fn fn, void *arg,
             volatile sig_atomic_t *stop, struct err *e)
{
    if (n <= 0)
        return ERR_OK;
    struct pool p = {.items = items, .n = n, .fn = fn, .arg = arg, .stop = stop};
    pthread_mutex_init(&p.lock, NULL);
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
    pthread_mutex_destroy(&p.lock);
    if (p.failed)
        *e = p.first;
    return p.failed;
}
