/* csvout: kshot's CSV files — RFC 4180 rows written through libcsv, and read back.
 *
 * Writing: a row is built field by field in a caller-owned struct
 * csvout_row, then written in one call. The text contract (DESIGN.md
 * "Outputs"):
 *   - fields are joined by ',' and a row ends with "\n" (LF, not the CRLF
 *     RFC 4180 suggests: every CSV reader we target accepts LF, and `cmp`
 *     and `diff` stay readable);
 *   - a field is quoted (by libcsv's csv_fwrite: "…" with inner quotes
 *     doubled) only when it needs to be: it contains ',', '"', CR or LF, or
 *     starts or ends with a space or tab (which readers may trim);
 *   - a missing value is an empty field; NaN is written as a missing value;
 *     +inf and −inf are written as "inf" and "-inf";
 *   - numbers use '.' as the decimal separator whatever LC_NUMERIC says;
 *   - csvout_f32 prints "%.9g", enough digits for any float32 to round-trip
 *     (0.1f → "0.100000001"); use it for values computed in float and for
 *     the statistics of summary.csv. csvout_f64 prints "%.17g", enough for a
 *     double to round-trip, for values that must come back bit-exact.
 *     Negative zero is kept as "-0".
 *
 * Reading (csvin_): kshot's own files (parts, episodes.csv) are read with
 * libcsv in strict mode, record by record into a callback, after checking
 * the header against the columns the caller expects. Errors name the file
 * and the record number (the header is record 1; blank lines are skipped
 * and not counted).
 *
 * Not here: which columns a file has (results), atomic replacement of the
 * file (fsutil), type conversion of the fields read. */
#ifndef KSHOT_CSVOUT_H
#define KSHOT_CSVOUT_H

#include <stddef.h>
#include <stdio.h>

#include "harness/base/err.h"

/* ---- writing ---- */

/* Caller-owned: csvout_init, append fields, csvout_write_row, csvout_reset
 * for the next row, csvout_free at the end. */
struct csvout_row {
    char *buf;        /* the fields' text, each NUL-terminated, back to back */
    size_t len, cap;  /* bytes used / allocated in buf */
    size_t *start;    /* (n) offset of each field in buf */
    int n, cap_fields;
    int err;          /* first failed append (ERR_NOMEM); sticky until reset */
};

void csvout_init(struct csvout_row *r);
void csvout_free(struct csvout_row *r);
/* Drop the fields (and a sticky error), keep the memory. */
void csvout_reset(struct csvout_row *r);

/* Appenders return 0 or ERR_NOMEM. A failure is also remembered in r->err
 * and returned by csvout_write_row, so a row can be built without checking
 * every call. */
int csvout_str(struct csvout_row *r, const char *s);  /* NULL: empty field */
int csvout_int(struct csvout_row *r, long long v);
int csvout_f32(struct csvout_row *r, double v);       /* "%.9g"; NaN: empty */
int csvout_f64(struct csvout_row *r, double v);       /* "%.17g"; NaN: empty */
int csvout_empty(struct csvout_row *r);               /* a missing value */

/* Field i of the row as it will be written before quoting. */
const char *csvout_field(const struct csvout_row *r, int i);

/* Write the row (at least one field) and its "\n". Returns 0, r->err, or
 * ERR_IO with errno set by the failing stdio call; the caller, who knows the
 * file name, writes the message. */
int csvout_write_row(FILE *fp, const struct csvout_row *r);

/* Write a header row of n names. Same returns as csvout_write_row. */
int csvout_write_header(FILE *fp, const char *const *names, int n);

/* ---- records: fields by column ----
 *
 * A csvrec holds one value per column of a layout (columns.h), set by
 * column index in any order, and writes a range of columns in order, so a
 * writer names each column by its enum instead of counting positions.
 * Writing a column that was not set since the last reset is a bug
 * (asserted). The setters share csvout_row's formatting and sticky error. */
struct csvrec {
    int n;                  /* columns */
    size_t *start;          /* (n) offset of each set column's text in row.buf */
    unsigned char *set;     /* (n) */
    struct csvout_row row;  /* the texts, in the order they were set */
};

int csvrec_init(struct csvrec *r, int n);   /* 0 or ERR_NOMEM */
void csvrec_free(struct csvrec *r);
void csvrec_reset(struct csvrec *r);
int csvrec_str(struct csvrec *r, int col, const char *s);  /* NULL: empty */
int csvrec_int(struct csvrec *r, int col, long long v);
int csvrec_f32(struct csvrec *r, int col, double v);
int csvrec_f64(struct csvrec *r, int col, double v);
int csvrec_empty(struct csvrec *r, int col);
/* Column col's text as set (before quoting). */
const char *csvrec_get(const struct csvrec *r, int col);
/* Write columns [first, last) as one row. Returns as csvout_write_row. */
int csvrec_write(FILE *fp, const struct csvrec *r, int first, int last);

/* ---- reading ---- */

/* Called once per data record with its n_fields (= the header's column
 * count) NUL-terminated fields, valid only during the call; record is the
 * 1-based record number for messages. Return 0 to continue, or a negative
 * ERR_* code after filling e to stop reading with that error. */
typedef int (*csvin_row_fn)(void *ctx, const char *const *fields, int n_fields,
                            long record, struct err *e);

/* Read path: its first record must be exactly header[0..n_cols), every
 * later record must have n_cols fields; each is passed to fn. Returns 0 or
 * an ERR_* code with a message naming path (and the record, and what
 * differs from the expected header); ERR_IO for malformed or unreadable
 * files, or the code fn returned. */
int csvin_read(const char *path, const char *const *header, int n_cols,
               csvin_row_fn fn, void *ctx, struct err *e);

/* The same from an open stream; name is used in messages. */
int csvin_read_stream(FILE *fp, const char *name, const char *const *header, int n_cols,
                      csvin_row_fn fn, void *ctx, struct err *e);

#endif
