/* testutil: assertion and scratch-file helpers for the cmocka tests. */
#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void testutil_close(double a, double b, double abs_tol, double rel_tol,
                    const char *sa, const char *sb, const char *file, int line)
{
    double tol = abs_tol + rel_tol * fmax(fabs(a), fabs(b));
    if (!(fabs(a - b) <= tol)) {
        print_error("%s = %.9g and %s = %.9g differ by %.3g (tolerance %.3g)\n",
                    sa, a, sb, b, fabs(a - b), tol);
        _fail(file, line);
    }
}

char *testutil_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = malloc(4096);
    assert_non_null(path);
    snprintf(path, 4096, "%s/kshot-test-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(path));
    return path;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

void testutil_rmtree(const char *path)
{
    if (path)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void testutil_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void testutil_read(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

void testutil_contains(const char *msg, const char *sub, const char *file, int line)
{
    if (!strstr(msg, sub)) {
        print_error("message \"%s\"\n  lacks \"%s\"\n", msg, sub);
        _fail(file, line);
    }
}
