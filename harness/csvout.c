/* csvout: CSV rows built in memory and written through libcsv; strict reading back.
 *
 * libcsv's writer always quotes, so this module decides when a field needs
 * quoting and only then hands it to csv_fwrite. Numbers are formatted with
 * snprintf and then rid of the locale's decimal separator, so a program
 * that calls setlocale(LC_NUMERIC, "de_DE…") still writes '.'.
 *
 * Not here: file names, atomic replacement (fsutil), column meanings. */
#include "harness/csvout.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

/* ---- row builder ---- */

void csvout_init(struct csvout_row *r)
{
    memset(r, 0, sizeof *r);
}

void csvout_free(struct csvout_row *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r->start);
    csvout_init(r);
}

void csvout_reset(struct csvout_row *r)
{
    r->len = 0;
    r->n = 0;
    r->err = 0;
}

/* Append len bytes of s as one field (NUL-terminated in buf). */
static int push(struct csvout_row *r, const char *s, size_t len)
{
    if (r->err)
        return r->err;
    if (r->n == r->cap_fields) {
        int cap = r->cap_fields ? 2 * r->cap_fields : 16;
        size_t *start = realloc(r->start, sizeof *start * (size_t)cap);
        if (!start)
            return r->err = ERR_NOMEM;
        r->start = start, r->cap_fields = cap;
    }
    if (r->len + len + 1 > r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        while (cap < r->len + len + 1)
            cap *= 2;
        char *buf = realloc(r->buf, cap);
        if (!buf)
            return r->err = ERR_NOMEM;
        r->buf = buf, r->cap = cap;
    }
    r->start[r->n++] = r->len;
    if (len)
        memcpy(r->buf + r->len, s, len);
    r->buf[r->len + len] = '\0';
    r->len += len + 1;
    return 0;
}

int csvout_str(struct csvout_row *r, const char *s)
{
    return push(r, s ? s : "", s ? strlen(s) : 0);
}

int csvout_empty(struct csvout_row *r)
{
    return push(r, "", 0);
}

int csvout_int(struct csvout_row *r, long long v)
{
    char text[32];
    int len = snprintf(text, sizeof text, "%lld", v);
    return push(r, text, (size_t)len);
}

/* "%.*g" of a finite or infinite v with '.' as the decimal separator. For a
 * finite value %g emits only digits, '-', '+', 'e' and the locale's decimal
 * point (one or more bytes); any other run of bytes is that point. */
static int push_double(struct csvout_row *r, double v, int digits)
{
    if (isnan(v))
        return csvout_empty(r);
    if (isinf(v))
        return csvout_str(r, v > 0 ? "inf" : "-inf");
    char raw[64], text[64];
    snprintf(raw, sizeof raw, "%.*g", digits, v);
    size_t j = 0;
    for (const char *c = raw; *c; c++) {
        if ((*c >= '0' && *c <= '9') || *c == '-' || *c == '+' || *c == 'e')
            text[j++] = *c;
        else if (j == 0 || text[j - 1] != '.')
            text[j++] = '.';
    }
    return push(r, text, j);
}

int csvout_f32(struct csvout_row *r, double v)
{
    return push_double(r, v, 9);
}

int csvout_f64(struct csvout_row *r, double v)
{
    return push_double(r, v, 17);
}

const char *csvout_field(const struct csvout_row *r, int i)
{
    assert(i >= 0 && i < r->n);
    return r->buf + r->start[i];
}

/* ---- writing ---- */

static int needs_quotes(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t')
        return 1;
    return strpbrk(s, ",\"\r\n") != NULL;
}

static int write_field(FILE *fp, const char *s)
{
    size_t len = strlen(s);
    if (needs_quotes(s, len))
        return csv_fwrite(fp, s, len) == 0 ? 0 : ERR_IO;
    return fwrite(s, 1, len, fp) == len ? 0 : ERR_IO;
}

int csvout_write_row(FILE *fp, const struct csvout_row *r)
{
    assert(r->n > 0);
    if (r->err)
        return r->err;
    /* A lone empty field would be a blank line, which readers skip. */
    if (r->n == 1 && r->buf[0] == '\0')
        return fputs("\"\"\n", fp) == EOF ? ERR_IO : 0;
    for (int i = 0; i < r->n; i++) {
        if (i > 0 && putc(',', fp) == EOF)
            return ERR_IO;
        if (write_field(fp, r->buf + r->start[i]) != 0)
            return ERR_IO;
    }
    return putc('\n', fp) == EOF ? ERR_IO : 0;
}

int csvout_write_header(FILE *fp, const char *const *names, int n)
{
    struct csvout_row r;
    csvout_init(&r);
    for (int i = 0; i < n; i++)
        csvout_str(&r, names[i]);
    int rc = csvout_write_row(fp, &r);
    csvout_free(&r);
    return rc;
}

/* ---- records ---- */

int csvrec_init(struct csvrec *r, int n)
{
    memset(r, 0, sizeof *r);
    csvout_init(&r->row);
    r->start = calloc((size_t)n, sizeof *r->start);
    r->set = calloc((size_t)n, sizeof *r->set);
    if (!r->start || !r->set) {
        csvrec_free(r);
        return ERR_NOMEM;
    }
    r->n = n;
    return 0;
}

void csvrec_free(struct csvrec *r)
{
    if (!r)
        return;
    csvout_free(&r->row);
    free(r->start);
    free(r->set);
    memset(r, 0, sizeof *r);
}

void csvrec_reset(struct csvrec *r)
{
    csvout_reset(&r->row);
    memset(r->set, 0, (size_t)r->n);
}

/* Column col takes the field the last append added. */
static int bind(struct csvrec *r, int col, int rc)
{
    assert(col >= 0 && col < r->n);
    if (rc == 0) {
        r->start[col] = r->row.start[r->row.n - 1];
        r->set[col] = 1;
    }
    return rc;
}

int csvrec_str(struct csvrec *r, int col, const char *s)
{
    return bind(r, col, csvout_str(&r->row, s));
}

int csvrec_int(struct csvrec *r, int col, long long v)
{
    return bind(r, col, csvout_int(&r->row, v));
}

int csvrec_f32(struct csvrec *r, int col, double v)
{
    return bind(r, col, csvout_f32(&r->row, v));
}

int csvrec_f64(struct csvrec *r, int col, double v)
{
    return bind(r, col, csvout_f64(&r->row, v));
}

int csvrec_empty(struct csvrec *r, int col)
{
    return bind(r, col, csvout_empty(&r->row));
}

const char *csvrec_get(const struct csvrec *r, int col)
{
    assert(col >= 0 && col < r->n && r->set[col]);
    return r->row.buf + r->start[col];
}

int csvrec_write(FILE *fp, const struct csvrec *r, int first, int last)
{
    assert(first >= 0 && first < last && last <= r->n);
    if (r->row.err)
        return r->row.err;
    /* A lone empty field would be a blank line, which readers skip. */
    if (last - first == 1 && csvrec_get(r, first)[0] == '\0')
        return fputs("\"\"\n", fp) == EOF ? ERR_IO : 0;
    for (int i = first; i < last; i++) {
        if (i > first && putc(',', fp) == EOF)
            return ERR_IO;
        if (write_field(fp, csvrec_get(r, i)) != 0)
            return ERR_IO;
    }
    return putc('\n', fp) == EOF ? ERR_IO : 0;
}

/* ---- reading ---- */

struct reader {
    const char *name;
    const char *const *header;
    int n_cols;
    csvin_row_fn fn;
    void *ctx;
    struct err *e;
    struct csvout_row rec;  /* the record being assembled */
    const char **fields;    /* (n_cols) pointers into rec for fn */
    long record;            /* records completed, header included */
    int rc;                 /* first error; later callbacks do nothing */
};

/* Nothing counts as padding: keep fields byte for byte (libcsv would trim
 * spaces and tabs around unquoted fields). */
static int no_space(unsigned char c)
{
    return 0;
}

static void on_field(void *s, size_t len, void *data)
{
    struct reader *rd = data;
    if (rd->rc)
        return;
    if (len && memchr(s, '\0', len))
        rd->rc = err_set(rd->e, ERR_IO, "%s: record %ld: NUL byte in a field",
                         rd->name, rd->record + 1);
    else if (push(&rd->rec, len ? s : "", len) != 0)
        rd->rc = err_set(rd->e, ERR_NOMEM, "%s: out of memory reading record %ld",
                         rd->name, rd->record + 1);
}

/* The header as a comma-joined list, for messages (truncated if long). */
static void join_header(const struct reader *rd, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < rd->n_cols && used < cap; i++) {
        int k = snprintf(out + used, cap - used, "%s%s", i ? "," : "", rd->header[i]);
        used += k > 0 ? (size_t)k : 0;
    }
}

static int check_header(struct reader *rd)
{
    const struct csvout_row *h = &rd->rec;
    int i = 0;
    while (i < h->n && i < rd->n_cols && strcmp(csvout_field(h, i), rd->header[i]) == 0)
        i++;
    if (i == h->n && i == rd->n_cols)
        return 0;
    char want[512];
    join_header(rd, want, sizeof want);
    if (i < h->n && i < rd->n_cols)
        return err_set(rd->e, ERR_IO, "%s: record 1: header column %d is '%s' (expected '%s'; "
                       "expected header: %s)", rd->name, i + 1, csvout_field(h, i),
                       rd->header[i], want);
    return err_set(rd->e, ERR_IO, "%s: record 1: header has %d columns (expected %d: %s)",
                   rd->name, h->n, rd->n_cols, want);
}

static void on_record(int c, void *data)
{
    struct reader *rd = data;
    long record = ++rd->record;
    if (rd->rc)
        return;
    if (record == 1) {
        rd->rc = check_header(rd);
    } else if (rd->rec.n != rd->n_cols) {
        rd->rc = err_set(rd->e, ERR_IO, "%s: record %ld: %d fields (expected %d)",
                         rd->name, record, rd->rec.n, rd->n_cols);
    } else {
        for (int i = 0; i < rd->n_cols; i++)
            rd->fields[i] = csvout_field(&rd->rec, i);
        rd->rc = rd->fn(rd->ctx, rd->fields, rd->n_cols, record, rd->e);
    }
    csvout_reset(&rd->rec);
}

static int parse_error(struct reader *rd, struct csv_parser *p)
{
    int code = csv_error(p) == CSV_ENOMEM ? ERR_NOMEM : ERR_IO;
    return err_set(rd->e, code, "%s: record %ld: malformed CSV (%s)", rd->name,
                   rd->record + 1, csv_strerror(csv_error(p)));
}

int csvin_read_stream(FILE *fp, const char *name, const char *const *header, int n_cols,
                      csvin_row_fn fn, void *ctx, struct err *e)
{
    assert(n_cols > 0 && header && fn);
    struct reader rd = {.name = name, .header = header, .n_cols = n_cols,
                        .fn = fn, .ctx = ctx, .e = e};
    struct csv_parser p;
    int rc = 0;
    csvout_init(&rd.rec);
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return err_set(e, ERR_NOMEM, "%s: out of memory", name);
    csv_set_space_func(&p, no_space);
    rd.fields = malloc(sizeof *rd.fields * (size_t)n_cols);
    if (!rd.fields) {
        rc = err_set(e, ERR_NOMEM, "%s: out of memory", name);
        goto fail;
    }
    char buf[16384];
    size_t got;
    while (rd.rc == 0 && (got = fread(buf, 1, sizeof buf, fp)) > 0)
        if (csv_parse(&p, buf, got, on_field, on_record, &rd) != got && rd.rc == 0) {
            rc = parse_error(&rd, &p);
            goto fail;
        }
    if (rd.rc == 0 && ferror(fp)) {
        rc = err_set(e, ERR_IO, "%s: cannot read: %s", name, strerror(errno));
        goto fail;
    }
    if (rd.rc == 0 && csv_fini(&p, on_field, on_record, &rd) != 0 && rd.rc == 0) {
        rc = parse_error(&rd, &p);
        goto fail;
    }
    rc = rd.rc;
    if (rc == 0 && rd.record == 0) {
        char want[512];
        join_header(&rd, want, sizeof want);
        rc = err_set(e, ERR_IO, "%s: empty file (expected header: %s)", name, want);
    }
fail:
    csv_free(&p);
    csvout_free(&rd.rec);
    free(rd.fields);
    return rc;
}

int csvin_read(const char *path, const char *const *header, int n_cols,
               csvin_row_fn fn, void *ctx, struct err *e)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(e, ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int rc = csvin_read_stream(fp, path, header, n_cols, fn, ctx, e);
    fclose(fp);
    return rc;
}
