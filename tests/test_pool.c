/* test_pool: the worker pool's waits and stops — every item runs once, none
 * before the item it waits for has finished, a failure stops the rest with
 * its message, a stopped item is no failure, and what waits for an item
 * that did not finish never runs. */
#include "testutil.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "harness/pool.h"

#define N 40

struct trace {
    pthread_mutex_t lock;
    int order[N];            /* items in the order they ended */
    int started[N], ended[N];
    int n_ended;
    int after[N];
    int fail_item;           /* item that fails with ERR_IO, or -1 */
    int stopped_item;        /* item that returns ERR_STOPPED, or -1 */
    volatile sig_atomic_t *stop;
    int seen_early;          /* items that started before their wait ended */
    int jobs;
    int first_beside_0;      /* the first item another worker started while 0 ran, or -1 */
};

static int item_fn(void *arg, int item, int worker, struct err *e)
{
    struct trace *t = arg;
    pthread_mutex_lock(&t->lock);
    t->started[item]++;
    if (t->after[item] >= 0 && !t->ended[t->after[item]])
        t->seen_early++;
    if (item != 0 && t->started[0] && !t->ended[0] && t->first_beside_0 < 0)
        t->first_beside_0 = item;
    pthread_mutex_unlock(&t->lock);
    /* item 0 (what items 1..9 wait for) runs until another worker has
     * started something beside it (at most 10 s): the pool must not make
     * every worker wait for it */
    for (int k = 0; item == 0 && t->jobs > 1 && k < 10000; k++) {
        pthread_mutex_lock(&t->lock);
        bool other = t->first_beside_0 >= 0;
        pthread_mutex_unlock(&t->lock);
        if (other)
            break;
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    }
    nanosleep(&(struct timespec){0, (item % 3 + 1) * 100000L}, NULL);
    pthread_mutex_lock(&t->lock);
    t->ended[item]++;
    t->order[t->n_ended++] = item;
    pthread_mutex_unlock(&t->lock);
    if (item == t->fail_item)
        return err_set(e, ERR_IO, "item %d failed", item);
    if (item == t->stopped_item) {
        *t->stop = 1;
        return err_set(e, ERR_STOPPED, "stopped");
    }
    return 0;
}

static void setup_trace(struct trace *t, volatile sig_atomic_t *stop)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    t->fail_item = t->stopped_item = t->first_beside_0 = -1;
    t->stop = stop;
    /* a pretraining and its blocks: item 0 first, items 1..9 wait for it;
     * 10 waits for 5; the rest wait for nothing */
    for (int i = 0; i < N; i++)
        t->after[i] = i == 0 ? -1 : i < 10 ? 0 : i == 10 ? 5 : -1;
}

static void every_item_runs_once_and_after_what_it_waits_for(void **state)
{
    for (int jobs = 1; jobs <= 4; jobs++) {
        volatile sig_atomic_t stop = 0;
        struct trace t;
        struct err e;
        setup_trace(&t, &stop);
        t.jobs = jobs;
        assert_int_equal(pool_run(t.after, N, jobs, item_fn, &t, &stop, &e), 0);
        for (int i = 0; i < N; i++)
            assert_int_equal(t.started[i], 1);
        assert_int_equal(t.seen_early, 0);
        assert_int_equal(t.n_ended, N);
        if (jobs == 1)   /* one worker: queue order, waits already satisfied */
            for (int i = 0; i < N; i++)
                assert_int_equal(t.order[i], i);
        if (jobs > 1)   /* while 0 runs, the next free item in queue order is 11 */
            assert_int_equal(t.first_beside_0, 11);
        pthread_mutex_destroy(&t.lock);
    }
}

static void a_failure_stops_the_rest_and_what_waits_for_it(void **state)
{
    volatile sig_atomic_t stop = 0;
    struct trace t;
    struct err e;
    setup_trace(&t, &stop);
    t.fail_item = 0;
    assert_int_equal(pool_run(t.after, N, 2, item_fn, &t, &stop, &e), ERR_IO);
    assert_string_equal(e.msg, "item 0 failed");
    assert_true(stop);
    for (int i = 1; i < 10; i++)   /* they waited for the item that failed */
        assert_int_equal(t.started[i], 0);
    pthread_mutex_destroy(&t.lock);
}

static void a_stopped_item_is_not_a_failure(void **state)
{
    volatile sig_atomic_t stop = 0;
    struct trace t;
    struct err e;
    err_clear(&e);
    setup_trace(&t, &stop);
    t.stopped_item = 5;
    assert_int_equal(pool_run(t.after, N, 2, item_fn, &t, &stop, &e), 0);
    assert_int_equal(t.started[10], 0);   /* it waited for the stopped item */
    pthread_mutex_destroy(&t.lock);
}

static void without_waits_and_with_more_workers_than_items(void **state)
{
    volatile sig_atomic_t stop = 0;
    struct trace t;
    struct err e;
    setup_trace(&t, &stop);
    for (int i = 0; i < N; i++)
        t.after[i] = -1;
    assert_int_equal(pool_run(NULL, 3, 8, item_fn, &t, &stop, &e), 0);
    assert_int_equal(t.n_ended, 3);
    assert_int_equal(pool_run(NULL, 0, 8, item_fn, &t, &stop, &e), 0);
    assert_int_equal(t.n_ended, 3);
    pthread_mutex_destroy(&t.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_item_runs_once_and_after_what_it_waits_for),
        cmocka_unit_test(a_failure_stops_the_rest_and_what_waits_for_it),
        cmocka_unit_test(a_stopped_item_is_not_a_failure),
        cmocka_unit_test(without_waits_and_with_more_workers_than_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
