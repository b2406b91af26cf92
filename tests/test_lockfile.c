/* test_lockfile: one holder at a time, named to those who wait; a dead
 * holder's lock is free at once; release removes the file; the directory
 * lock is shared by runs and exclusive for --fresh. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/base/fsutil.h"
#include "harness/base/lockfile.h"

static void one_holder_at_a_time_and_it_is_named(void **state)
{
    char *dir = testutil_tmpdir(), path[4096], holder[LOCKFILE_HOLDER_MAX], want[256];
    snprintf(path, sizeof path, "%s/u.lock", dir);
    struct lockfile a, b;
    struct err e;
    assert_int_equal(lockfile_try(&a, path, holder, sizeof holder, &e), ERR_OK);
    /* a second taker in the same process (another worker) is refused too */
    assert_int_equal(lockfile_try(&b, path, holder, sizeof holder, &e), 1);
    char host[FSUTIL_HOST_MAX];
    fsutil_host(host, sizeof host);
    snprintf(want, sizeof want, "%s %ld", host, (long)getpid());
    assert_string_equal(holder, want);
    assert_int_equal(b.fd, -1);
    lockfile_release(&a);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);   /* released: the file is gone */
    assert_int_equal(lockfile_try(&b, path, holder, sizeof holder, &e), ERR_OK);
    lockfile_release(&b);
    lockfile_release(&b);   /* a second release is a no-op */
    testutil_rmtree(dir);
    free(dir);
}

/* A holder killed with SIGKILL leaves its file, but not its lock. */
static void a_killed_holders_lock_is_taken_over(void **state)
{
    char *dir = testutil_tmpdir(), path[4096], holder[LOCKFILE_HOLDER_MAX];
    snprintf(path, sizeof path, "%s/u.lock", dir);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct lockfile l;
        struct err e;
        char h[LOCKFILE_HOLDER_MAX];
        if (lockfile_try(&l, path, h, sizeof h, &e) != ERR_OK)
            _exit(1);
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    struct lockfile l;
    struct err e;
    assert_int_equal(lockfile_try(&l, path, holder, sizeof holder, &e), 1);
    char want[64];
    snprintf(want, sizeof want, " %ld", (long)child);
    assert_non_null(strstr(holder, want));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);   /* the dead holder's file stays… */
    assert_int_equal(lockfile_try(&l, path, holder, sizeof holder, &e), ERR_OK);   /* …free */
    lockfile_release(&l);
    close(ready[0]), close(ready[1]);
    testutil_rmtree(dir);
    free(dir);
}

static volatile sig_atomic_t stop_now = 1;

static void count_wait(void *ctx, const char *holder)
{
    (*(int *)ctx)++;
}

/* A waiter whose stop flag is raised gives up with ERR_STOPPED, after
 * saying once that it waits. */
static void a_stopped_waiter_gives_up(void **state)
{
    char *dir = testutil_tmpdir(), path[4096], holder[LOCKFILE_HOLDER_MAX];
    snprintf(path, sizeof path, "%s/u.lock", dir);
    struct lockfile a, b;
    struct err e;
    assert_int_equal(lockfile_try(&a, path, holder, sizeof holder, &e), ERR_OK);
    int told = 0;
    assert_int_equal(lockfile_wait(&b, path, &stop_now, count_wait, &told, &e), ERR_STOPPED);
    assert_int_equal(told, 1);
    assert_contains(e.msg, "u.lock");
    lockfile_release(&a);
    volatile sig_atomic_t never = 0;
    assert_int_equal(lockfile_wait(&b, path, &never, count_wait, &told, &e), ERR_OK);
    assert_int_equal(told, 1);   /* free: no wait to announce */
    lockfile_release(&b);
    testutil_rmtree(dir);
    free(dir);
}

/* Runs share the directory lock; --fresh gets it alone only when no run
 * holds it, and a run cannot start while --fresh holds it. */
static void the_directory_lock_is_shared_by_runs_and_exclusive_for_fresh(void **state)
{
    char *dir = testutil_tmpdir(), path[4096];
    snprintf(path, sizeof path, "%s/.kshot.lock", dir);
    struct lockfile run1, run2;
    struct err e;
    assert_int_equal(lockfile_shared(&run1, path, &e), ERR_OK);
    assert_int_equal(lockfile_shared(&run2, path, &e), ERR_OK);
    assert_int_equal(lockfile_upgrade(&run1), 1);      /* run2 holds it too */
    lockfile_close(&run2);
    assert_int_equal(lockfile_upgrade(&run1), ERR_OK); /* alone now */
    assert_int_equal(lockfile_shared(&run2, path, &e), ERR_IO);
    assert_contains(e.msg, "--fresh");
    lockfile_downgrade(&run1);
    assert_int_equal(lockfile_shared(&run2, path, &e), ERR_OK);
    lockfile_close(&run1), lockfile_close(&run2);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);   /* a directory lock's file stays */
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_holder_at_a_time_and_it_is_named),
        cmocka_unit_test(a_killed_holders_lock_is_taken_over),
        cmocka_unit_test(a_stopped_waiter_gives_up),
        cmocka_unit_test(the_directory_lock_is_shared_by_runs_and_exclusive_for_fresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
