/* testutil: helpers shared by kshot's cmocka tests (cmocka 1.1.5 has no
 * floating-point assertions). Include after <cmocka.h>'s prerequisites. */
#ifndef KSHOT_TESTUTIL_H
#define KSHOT_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* Fail unless |a − b| ≤ abs_tol + rel_tol·max(|a|, |b|); prints both values. */
#define assert_close(a, b, abs_tol, rel_tol) \
    testutil_close((double)(a), (double)(b), (abs_tol), (rel_tol), #a, #b, __FILE__, __LINE__)

void testutil_close(double a, double b, double abs_tol, double rel_tol,
                    const char *sa, const char *sb, const char *file, int line);

/* A fresh empty directory under $TMPDIR (or /tmp); caller frees the string.
 * testutil_rmtree removes it and everything below it. */
char *testutil_tmpdir(void);
void testutil_rmtree(const char *path);

/* Write len bytes to path; fails the test on error. */
void testutil_write(const char *path, const void *data, size_t len);

/* Read at most cap − 1 bytes of path into buf, NUL-terminated; fails the
 * test if path cannot be opened. */
void testutil_read(const char *path, char *buf, size_t cap);

/* Fail, printing both, unless msg contains sub. */
#define assert_contains(msg, sub) testutil_contains((msg), (sub), __FILE__, __LINE__)
void testutil_contains(const char *msg, const char *sub, const char *file, int line);

#endif
