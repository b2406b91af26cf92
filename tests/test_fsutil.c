/* test_fsutil: atomic files appear whole or not at all, leave no temporaries;
 * mkdir -p creates, tolerates and refuses as documented. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/base/fsutil.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Names in dir joined by ' ' in sorted order (small directories only). */
static void list_dir(const char *dir, char *out, size_t cap)
{
    char names[16][256];
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            assert_true(n < 16);
            snprintf(names[n++], sizeof names[0], "%s", de->d_name);
        }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], by_name);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? " " : "", names[i]);
}

static void commit_replaces_whole_file(void **state)
{
    char *dir = testutil_tmpdir(), path[4200], names[2048], text[64];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    testutil_write(path, "old\n", 4);
    struct afile f;
    struct err e;
    assert_int_equal(afile_open(&f, path, &e), 0);
    fputs("new,contents\n", f.fp);
    fflush(f.fp);
    /* While writing, the final name still holds the old file. */
    testutil_read(path, text, sizeof text);
    assert_string_equal(text, "old\n");
    char expect_tmp[4500], host[FSUTIL_HOST_MAX];
    fsutil_host(host, sizeof host);
    snprintf(expect_tmp, sizeof expect_tmp, "%s/summary.csv.tmp.%s.%ld.", dir, host,
             (long)getpid());
    assert_memory_equal(f.tmp, expect_tmp, strlen(expect_tmp));
    assert_int_equal(afile_commit(&f, &e), 0);
    assert_null(f.fp);
    testutil_read(path, text, sizeof text);
    assert_string_equal(text, "new,contents\n");
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "summary.csv");   /* no temporary left */
    afile_abort(&f);                             /* cleared: a no-op */
    testutil_rmtree(dir);
    free(dir);
}

static void abort_leaves_nothing(void **state)
{
    char *dir = testutil_tmpdir(), path[4200], names[2048];
    snprintf(path, sizeof path, "%s/parts.csv", dir);
    struct afile a, b;
    struct err e;
    assert_int_equal(afile_open(&a, path, &e), 0);
    assert_int_equal(afile_open(&b, path, &e), 0);
    assert_string_not_equal(a.tmp, b.tmp);       /* concurrent writers never share */
    fputs("partial", a.fp);
    afile_abort(&a);
    afile_abort(&b);
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "");
    afile_abort(&a);
    testutil_rmtree(dir);
    free(dir);
}

static void failures_are_reported_and_cleaned(void **state)
{
    char *dir = testutil_tmpdir(), path[4200], names[2048];
    struct afile f;
    struct err e;
    /* Missing directory: open fails, f is cleared. */
    snprintf(path, sizeof path, "%s/missing/x.csv", dir);
    assert_int_equal(afile_open(&f, path, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "/missing/x.csv.tmp."));
    assert_non_null(strstr(e.msg, "cannot create"));
    assert_null(f.fp);
    afile_abort(&f);
    /* Rename over a non-empty directory fails: the temporary is removed. */
    snprintf(path, sizeof path, "%s/taken", dir);
    assert_int_equal(mkdir(path, 0777), 0);
    char inner[4300];
    snprintf(inner, sizeof inner, "%s/keep", path);
    testutil_write(inner, "k", 1);
    assert_int_equal(afile_open(&f, path, &e), 0);
    fputs("data", f.fp);
    assert_int_equal(afile_commit(&f, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "cannot rename"));
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "taken");
    testutil_rmtree(dir);
    free(dir);
}

static void mkdirs_makes_parents(void **state)
{
    char *dir = testutil_tmpdir(), path[4200];
    struct err e;
    struct stat st;
    snprintf(path, sizeof path, "%s/results//run/parts/", dir);
    assert_int_equal(fsutil_mkdirs(path, &e), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(fsutil_mkdirs(path, &e), 0);   /* already there: fine */
    /* A file in the way is named in the error. */
    char file[4300];
    snprintf(file, sizeof file, "%s/results/run/file", dir);
    testutil_write(file, "x", 1);
    snprintf(path, sizeof path, "%s/results/run/file/sub", dir);
    assert_int_equal(fsutil_mkdirs(path, &e), ERR_USAGE);   /* the path given is wrong: exit 2 */
    assert_non_null(strstr(e.msg, "results/run/file: exists and is not a directory"));
    assert_int_equal(fsutil_mkdirs("", &e), ERR_IO);
    testutil_rmtree(dir);
    free(dir);
}

/* A pid that no process has: a child that has exited and been reaped. */
static long dead_pid(void)
{
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

static void stale_temporaries_of_dead_local_processes_are_removed(void **state)
{
    char *dir = testutil_tmpdir(), path[4500], names[2048], host[FSUTIL_HOST_MAX];
    fsutil_host(host, sizeof host);
    const long dead = dead_pid();
    /* a dead process of this host's: removed; this (living) process's, another
     * host's whatever its pid, and a file that is no temporary: kept */
    snprintf(path, sizeof path, "%s/x.csv.tmp.%s.%ld.3", dir, host, dead);
    testutil_write(path, "x", 1);
    snprintf(path, sizeof path, "%s/y.csv.tmp.%s.%ld.0", dir, host, (long)getpid());
    testutil_write(path, "y", 1);
    snprintf(path, sizeof path, "%s/z.csv.tmp.other-host.example.%ld.1", dir, dead);
    testutil_write(path, "z", 1);
    snprintf(path, sizeof path, "%s/keep.csv", dir);
    testutil_write(path, "k", 1);
    assert_int_equal(fsutil_clean_stale(dir), 1);
    list_dir(dir, names, sizeof names);
    assert_null(strstr(names, "x.csv.tmp."));
    assert_non_null(strstr(names, "y.csv.tmp."));
    assert_non_null(strstr(names, "z.csv.tmp.other-host.example."));
    assert_non_null(strstr(names, "keep.csv"));
    assert_int_equal(fsutil_clean_stale(dir), 0);   /* nothing more */
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commit_replaces_whole_file),
        cmocka_unit_test(abort_leaves_nothing),
        cmocka_unit_test(failures_are_reported_and_cleaned),
        cmocka_unit_test(mkdirs_makes_parents),
        cmocka_unit_test(stale_temporaries_of_dead_local_processes_are_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
