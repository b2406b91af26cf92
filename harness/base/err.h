/* err: the error record every kshot module fills; returned codes map to exit statuses.
 *
 * A failing function returns one of the negative codes below and writes a
 * message of the form `file:line:col: key.path: what is wrong (expected …)`
 * (or as much of it as applies) into the caller's struct err. Nothing below
 * harness/main.c prints or exits on its own. */
#ifndef KSHOT_ERR_H
#define KSHOT_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum err_code {
    ERR_OK = 0,
    ERR_USAGE = -1,   /* the command line or experiment file is wrong (exit 2) */
    ERR_IO = -2,      /* a file exists but cannot be read, parsed or written (exit 1) */
    ERR_NOMEM = -3,   /* an allocation failed or a memory limit refused (exit 1) */
    ERR_NUMERIC = -4, /* a numerical check failed, e.g. the BLAS self-test (exit 1) */
    ERR_STOPPED = -5, /* stopped by a signal after a clean flush (exit 3) */
};

#define ERR_MSG_MAX 1024

struct err {
    int code;               /* 0 or one of enum err_code */
    char msg[ERR_MSG_MAX];  /* human-readable, no trailing newline */
};

/* Fill e (may be NULL) with code and a printf-style message; returns code,
 * so callers write `return err_set(e, ERR_IO, "%s: ...", path);`. */
int err_set(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend "prefix: " to an existing message (adds context on the way up). */
int err_prefix(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The one location formatter: `file:line:col: path: message`, leaving out
 * the location when file is NULL and the path when it is NULL or "". */
int err_at(struct err *e, int code, const char *file, int line, int col, const char *path,
           const char *fmt, ...) __attribute__((format(printf, 7, 8)));
int err_vat(struct err *e, int code, const char *file, int line, int col, const char *path,
            const char *fmt, va_list ap);
/* Prepend `file:line:col: path: ` to an existing message. */
int err_prefix_at(struct err *e, const char *file, int line, int col, const char *path);

/* Process exit status for a code: 0, 1, 2 or 3 (see DESIGN.md). */
int err_exit_status(int code);

/* Clear e to "no error". */
void err_clear(struct err *e);

#endif
