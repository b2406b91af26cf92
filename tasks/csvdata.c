/* csvdata: a user's CSV table as a dataset, parsed by libcsv in strict mode.
 *
 * libcsv reports fields and record ends through callbacks but no positions,
 * so the callbacks count records, fields and physical lines themselves
 * (CSV_REPALL_NL makes every unquoted line break visible; line breaks inside
 * quoted fields are counted from the field text). A syntax error is located
 * by counting line breaks up to the byte libcsv stopped at. Numbers are read
 * under a private C locale, so a user's LC_NUMERIC never changes the decimal
 * point.
 *
 * Deliberately not handled: delimiters other than ',', missing values (an
 * empty feature is an error, not NaN), categorical features, type inference
 * beyond "every label is a decimal integer", files without a header. */
#include "tasks/csvdata.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#define READ_CHUNK ((size_t)1 << 16)
#define LIST_MAX 600               /* bytes of column names quoted in a message */

enum role { ROLE_SKIP, ROLE_FEATURE, ROLE_LABEL, ROLE_TARGET };

struct column {
    char *name;
    enum role role;
    size_t slot;                   /* feature or target index for its role */
};

/* Parser state shared by the callbacks. Once rc is set they do nothing. */
struct reader {
    const char *path;
    const struct csvdata_options *o;
    struct err *e;
    int rc;                        /* first error, 0 while all is well */
    size_t record;                 /* 1-based record being read; 1 is the header */
    size_t line;                   /* physical line the parser has reached */
    size_t rec_line;               /* physical line where the current record starts */
    size_t field;                  /* fields seen so far in the current record */
    int prev_cr;                   /* last break seen was '\r' (CRLF counts once) */
    struct column *cols;           /* (n_cols) header, then roles */
    size_t n_cols, cap_cols;
    size_t dim, n_targets;
    size_t n, cap;                 /* data rows stored, rows allocated */
    float *x;                      /* (cap, dim) */
    float *t;                      /* (cap, n_targets) */
    size_t *label_at;              /* (cap) offset of each row's label in text */
    char *text;                    /* labels, each NUL-terminated */
    size_t text_len, text_cap;
    int labels_numeric;            /* every label so far is decimal digits */
    size_t big_record, big_line;   /* first integer label over the cap, if any */
};

/* Line breaks in s[0..n): LF, CRLF or a lone CR each end one line. */
static size_t count_breaks(const char *s, size_t n, int *prev_cr)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            lines += !*prev_cr;
        else if (s[i] == '\r')
            lines++;
        *prev_cr = s[i] == '\r';
    }
    return lines;
}

static int where(const struct reader *r, int code, const char *what)
{
    return err_set(r->e, code, "%s: record %zu (line %zu), field %zu (column \"%s\"): %s",
                   r->path, r->record, r->rec_line, r->field,
                   r->cols[r->field - 1].name, what);
}

/* Whole field is a number (spaces and tabs around it allowed), finite as a float. */
static int parse_number(const char *s, size_t len, float *out)
{
    if (memchr(s, '\0', len))
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (end != s + len)
        return -1;
    *out = (float)v;
    return isfinite(v) && isfinite(*out) ? 0 : -2;
}

static int store_number(struct reader *r, const char *s, size_t len, float *dst)
{
    char what[160];
    int bad = parse_number(s, len, dst);
    if (bad == 0)
        return 0;
    if (len == 0)
        return where(r, ERR_IO, "empty value (expected a number; missing values are "
                     "not supported)");
    if (bad == -1)
        snprintf(what, sizeof what, "non-numeric value \"%.60s%s\" (expected a number)",
                 s, len > 60 ? "..." : "");
    else
        snprintf(what, sizeof what, "value \"%.60s\" is not a finite float (NaN, "
                 "infinities and magnitudes over 3.4e38 are refused)", s);
    return where(r, ERR_IO, what);
}

static int store_label(struct reader *r, const char *s, size_t len)
{
    if (len == 0)
        return where(r, ERR_IO, "empty label (expected a class name or number)");
    if (r->text_cap - r->text_len < len + 1) {
        size_t cap = r->text_cap ? r->text_cap : 4096;
        while (cap - r->text_len < len + 1)
            cap *= 2;
        char *text = realloc(r->text, cap);
        if (!text)
            return err_set(r->e, ERR_NOMEM, "%s: out of memory for labels", r->path);
        r->text = text;
        r->text_cap = cap;
    }
    long value = 0;
    size_t digits = strspn(s, "0123456789");
    for (size_t i = 0; i < digits && value <= CSVDATA_MAX_CLASS_ID; i++)
        value = value * 10 + (s[i] - '0');
    if (digits != len)
        r->labels_numeric = 0;
    else if (value > CSVDATA_MAX_CLASS_ID && r->big_record == 0) {
        r->big_record = r->record;
        r->big_line = r->rec_line;
    }
    r->label_at[r->n] = r->text_len;
    memcpy(r->text + r->text_len, s, len + 1);
    r->text_len += len + 1;
    return 0;
}

/* Room for one more data row in x, t and label_at. */
static int grow_rows(struct reader *r)
{
    if (r->n < r->cap)
        return 0;
    size_t cap = r->cap ? 2 * r->cap : 64;
    size_t row = r->dim > r->n_targets ? r->dim : r->n_targets;
    if (cap > (size_t)INT_MAX || cap > SIZE_MAX / sizeof(float) / (row + 1))
        return err_set(r->e, ERR_NOMEM, "%s: too many rows", r->path);
    float *x = realloc(r->x, cap * r->dim * sizeof *x);
    if (x)
        r->x = x;
    float *t = r->n_targets ? realloc(r->t, cap * r->n_targets * sizeof *t) : NULL;
    if (t)
        r->t = t;
    size_t *at = realloc(r->label_at, cap * sizeof *at);
    if (at)
        r->label_at = at;
    if (!x || (r->n_targets && !t) || !at)
        return err_set(r->e, ERR_NOMEM, "%s: out of memory at record %zu", r->path,
                       r->record);
    r->cap = cap;
    return 0;
}

static int add_column(struct reader *r, const char *s, size_t len)
{
    if (r->n_cols == r->cap_cols) {
        size_t cap = r->cap_cols ? 2 * r->cap_cols : 16;
        struct column *cols = realloc(r->cols, cap * sizeof *cols);
        if (!cols)
            return err_set(r->e, ERR_NOMEM, "%s: out of memory for the header", r->path);
        r->cols = cols;
        r->cap_cols = cap;
    }
    char *name = malloc(len + 1);
    if (!name)
        return err_set(r->e, ERR_NOMEM, "%s: out of memory for the header", r->path);
    memcpy(name, s, len + 1);
    r->cols[r->n_cols++] = (struct column){name, ROLE_SKIP, 0};
    /* cppcheck-suppress memleak ; name is kept in r->cols, freed with the reader */
    return 0;
}

static void on_field(void *data, size_t len, void *arg)
{
    struct reader *r = arg;
    const char *s = data ? data : "";
    if (r->rc)
        return;
    if (r->field == 0)
        r->rec_line = r->line;
    r->prev_cr = 0;
    r->line += count_breaks(s, len, &r->prev_cr);
    size_t col = r->field++;
    const char *nul = memchr(s, '\0', len);
    if (nul) {   /* a NUL would end the text early: a number that looks whole, a cut label */
        r->rc = err_set(r->e, ERR_IO, "%s: record %zu (line %zu), field %zu: a NUL byte at "
                        "byte %zu of the field (expected text without NUL bytes)", r->path,
                        r->record, r->rec_line, col + 1, (size_t)(nul - s) + 1);
        return;
    }
    if (r->record == 1) {
        r->rc = add_column(r, s, len);
        return;
    }
    if (col >= r->n_cols)
        return;                    /* too many fields: reported at the record's end */
    if (col == 0 && (r->rc = grow_rows(r)) != 0)
        return;
    const struct column *c = &r->cols[col];
    if (c->role == ROLE_FEATURE)
        r->rc = store_number(r, s, len, &r->x[r->n * r->dim + c->slot]);
    else if (c->role == ROLE_TARGET)
        r->rc = store_number(r, s, len, &r->t[r->n * r->n_targets + c->slot]);
    else if (c->role == ROLE_LABEL)
        r->rc = store_label(r, s, len);
}

static int compare_columns(const void *a, const void *b)
{
    const struct column *x = *(const struct column *const *)a;
    const struct column *y = *(const struct column *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x < y ? -1 : x > y);
}

/* Column names must be unique: sort pointers to the columns, compare neighbours. */
static int check_duplicates(struct reader *r)
{
    const struct column **p = malloc(r->n_cols * sizeof *p);
    if (!p)
        return err_set(r->e, ERR_NOMEM, "%s: out of memory for the header", r->path);
    for (size_t i = 0; i < r->n_cols; i++)
        p[i] = &r->cols[i];
    qsort(p, r->n_cols, sizeof *p, compare_columns);
    int rc = 0;
    for (size_t i = 1; i < r->n_cols && rc == 0; i++)
        if (strcmp(p[i - 1]->name, p[i]->name) == 0)
            rc = err_set(r->e, ERR_IO, "%s: record 1 (line %zu): duplicate column name "
                         "\"%s\" in fields %zu and %zu (expected unique names)", r->path,
                         r->rec_line, p[i]->name, (size_t)(p[i - 1] - r->cols) + 1,
                         (size_t)(p[i] - r->cols) + 1);
    free(p);
    return rc;
}

/* "a, b, c" for messages, cut short with "..." past the buffer. */
static void list_columns(const struct reader *r, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_cols; i++) {
        const char *sep = i ? ", " : "";
        if (at + strlen(r->cols[i].name) + 2 + 6 > size) {
            snprintf(buf + at, size - at, "%s...", sep);
            return;
        }
        at += (size_t)snprintf(buf + at, size - at, "%s%s", sep, r->cols[i].name);
    }
}

/* A header name, or else a 0-based index written as digits. */
static int find_column(struct reader *r, const char *name, const char *what, size_t *col)
{
    for (size_t i = 0; i < r->n_cols; i++)
        if (strcmp(r->cols[i].name, name) == 0) {
            *col = i;
            return 0;
        }
    size_t len = strlen(name);
    if (len > 0 && len < 10 && strspn(name, "0123456789") == len) {
        *col = (size_t)strtoul(name, NULL, 10);
        if (*col < r->n_cols)
            return 0;
    }
    char list[LIST_MAX];
    list_columns(r, list, sizeof list);
    return err_set(r->e, ERR_USAGE, "%s: no column \"%s\" for the %s (the file has "
                   "columns: %s)", r->path, name, what, list);
}

static int assign(struct reader *r, const char *name, enum role role, size_t slot)
{
    static const char *const role_name[] = {"unused", "feature", "label", "target"};
    size_t col;
    int rc = find_column(r, name, role_name[role], &col);
    if (rc)
        return rc;
    struct column *c = &r->cols[col];
    if (c->role != ROLE_SKIP)
        return err_set(r->e, ERR_USAGE, "%s: column \"%s\" is named twice (as %s and as "
                       "%s)", r->path, c->name, role_name[c->role], role_name[role]);
    c->role = role;
    c->slot = slot;
    return 0;
}

/* At the end of the header: give every column its role. */
static int resolve_columns(struct reader *r)
{
    const struct csvdata_options *o = r->o;
    int rc = check_duplicates(r);
    if (rc == 0 && o->label)
        rc = assign(r, o->label, ROLE_LABEL, 0);
    for (int k = 0; k < o->n_targets && rc == 0; k++)
        rc = assign(r, o->targets[k], ROLE_TARGET, (size_t)k);
    for (int k = 0; k < o->n_features && rc == 0; k++)
        rc = assign(r, o->features[k], ROLE_FEATURE, (size_t)k);
    if (rc)
        return rc;
    r->n_targets = (size_t)o->n_targets;
    r->dim = (size_t)o->n_features;
    for (size_t i = 0; i < r->n_cols && o->n_features == 0; i++)
        if (r->cols[i].role == ROLE_SKIP)
            r->cols[i] = (struct column){r->cols[i].name, ROLE_FEATURE, r->dim++};
    if (r->dim == 0) {
        char list[LIST_MAX];
        list_columns(r, list, sizeof list);
        return err_set(r->e, ERR_USAGE, "%s: no feature columns left (the file has "
                       "columns: %s)", r->path, list);
    }
    return 0;
}

static void on_row(int c, void *arg)
{
    struct reader *r = arg;
    if (r->rc)
        return;
    if (c == '\n')
        r->line += !r->prev_cr;
    else if (c == '\r')
        r->line++;
    r->prev_cr = c == '\r';
    if (r->field == 0)
        return;                    /* a blank line is no record */
    if (r->record == 1)
        r->rc = resolve_columns(r);
    else if (r->field != r->n_cols)
        r->rc = err_set(r->e, ERR_IO, "%s: record %zu (line %zu): %zu fields, expected "
                        "%zu as in the header", r->path, r->record, r->rec_line,
                        r->field, r->n_cols);
    else
        r->n++;
    r->record++;
    r->field = 0;
}

/* libcsv stopped at s[done]: count line breaks up to there to place it. */
static int parse_error(struct reader *r, struct csv_parser *p, const char *s, size_t done,
                       size_t line, int prev_cr)
{
    int code = csv_error(p);
    if (code != CSV_EPARSE)
        return err_set(r->e, ERR_NOMEM, "%s: record %zu: %s", r->path, r->record,
                       csv_strerror(code));
    line += count_breaks(s, done, &prev_cr);
    return err_set(r->e, ERR_IO, "%s: record %zu (line %zu): malformed CSV: %s (a quote "
                   "may only open and close a whole field; inside quotes write a quote "
                   "as \"\")", r->path, r->record, line, csv_strerror(code));
}

static int parse_stream(struct reader *r, FILE *f, struct csv_parser *p, char *buf)
{
    size_t line = 1;
    int prev_cr = 0;
    for (int first = 1;; first = 0) {
        size_t len = fread(buf, 1, READ_CHUNK, f);
        const char *s = buf;
        if (len == 0)
            break;
        if (first && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;                /* UTF-8 byte-order mark */
            len -= 3;
        }
        size_t done = csv_parse(p, s, len, on_field, on_row, r);
        if (r->rc)
            return r->rc;
        if (done < len)
            return parse_error(r, p, s, done, line, prev_cr);
        line += count_breaks(s, len, &prev_cr);
    }
    if (ferror(f))
        return err_set(r->e, ERR_IO, "%s: read error: %s", r->path, strerror(errno));
    if (csv_fini(p, on_field, on_row, r) != 0 && r->rc == 0)
        return err_set(r->e, ERR_IO, "%s: record %zu (line %zu): a quoted field is not "
                       "closed before the end of the file", r->path, r->record,
                       r->field ? r->rec_line : r->line);
    return r->rc;
}

static int check_counts(const struct reader *r)
{
    if (r->record == 1)
        return err_set(r->e, ERR_IO, "%s: empty file (expected a header row)", r->path);
    if (r->n == 0)
        return err_set(r->e, ERR_IO, "%s: no data rows after the header (expected at "
                       "least one)", r->path);
    if (r->o->label && r->labels_numeric && r->big_record)
        return err_set(r->e, ERR_IO, "%s: record %zu (line %zu): integer label larger "
                       "than the largest class id %d (integer labels are class ids)",
                       r->path, r->big_record, r->big_line, CSVDATA_MAX_CLASS_ID);
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct labels in strcmp order are the classes; each row gets its rank. */
static int name_labels(const struct reader *r, struct dataset *d)
{
    char **sorted = malloc(r->n * sizeof *sorted);
    if (!sorted)
        return err_set(r->e, ERR_NOMEM, "%s: out of memory for labels", r->path);
    for (size_t i = 0; i < r->n; i++)
        sorted[i] = r->text + r->label_at[i];
    qsort(sorted, r->n, sizeof *sorted, compare_strings);
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++)
        if (k == 0 || strcmp(sorted[k - 1], sorted[i]) != 0)
            sorted[k++] = sorted[i];
    int rc = 0;
    d->class_names = calloc(k, sizeof *d->class_names);
    if (d->class_names)
        d->n_classes = (int)k;
    for (size_t c = 0; c < k && d->class_names; c++)
        if (!(d->class_names[c] = strdup(sorted[c])))
            rc = ERR_NOMEM;
    for (size_t i = 0; i < r->n && d->class_names; i++) {
        char *key = r->text + r->label_at[i];
        char **hit = bsearch(&key, sorted, k, sizeof *sorted, compare_strings);
        assert(hit);
        d->labels[i] = (int)(hit - sorted);
    }
    free(sorted);
    if (rc || !d->class_names)
        return err_set(r->e, ERR_NOMEM, "%s: out of memory for class names", r->path);
    return 0;
}

static int build_labels(const struct reader *r, struct dataset *d)
{
    d->labels = malloc(r->n * sizeof *d->labels);
    if (!d->labels)
        return err_set(r->e, ERR_NOMEM, "%s: out of memory for labels", r->path);
    if (!r->labels_numeric)
        return name_labels(r, d);
    int max = 0;
    for (size_t i = 0; i < r->n; i++) {
        const char *s = r->text + r->label_at[i];
        int v = 0;
        for (; *s; s++)            /* digits only, value at most the cap: checked */
            v = v * 10 + (*s - '0');
        d->labels[i] = v;
        max = v > max ? v : max;
    }
    d->n_classes = max + 1;
    return 0;
}

/* Hand the reader's arrays to d. */
static int build_dataset(struct reader *r, struct dataset *d)
{
    d->name = strdup(r->path);
    if (!d->name)
        return err_set(r->e, ERR_NOMEM, "%s: out of memory", r->path);
    d->kind = r->o->label ? DATASET_CLASSIFICATION : DATASET_REGRESSION;
    d->storage = DATASET_F32;
    d->n = r->n;
    d->dim = r->dim;
    float *x = realloc(r->x, r->n * r->dim * sizeof *x);   /* shrink: cannot fail badly */
    d->x_f32 = x ? x : r->x;
    r->x = NULL;
    if (r->n_targets) {
        d->n_targets = r->n_targets;
        d->targets = r->t;
        r->t = NULL;
    }
    int rc = r->o->label ? build_labels(r, d) : 0;
    if (rc == 0)
        dataset_checksum(d);
    return rc;
}

static int check_options(const char *path, const struct csvdata_options *o, struct err *e)
{
    if (o->n_targets < 0 || o->n_features < 0 || (o->n_targets && !o->targets) ||
        (o->n_features && !o->features))
        return err_set(e, ERR_USAGE, "%s: invalid column options", path);
    if (!o->label && o->n_targets == 0)
        return err_set(e, ERR_USAGE, "%s: no label column and no target columns (expected "
                       "a label for classification or targets for regression)", path);
    if (o->label && o->n_targets)
        return err_set(e, ERR_USAGE, "%s: both a label column and target columns given "
                       "(expected one: classification or regression)", path);
    return 0;
}

static void reader_free(struct reader *r)
{
    for (size_t i = 0; i < r->n_cols; i++)
        free(r->cols[i].name);
    free(r->cols);
    free(r->x);
    free(r->t);
    free(r->label_at);
    free(r->text);
}

int csvdata_load(const char *path, const struct csvdata_options *o, struct dataset *out,
                 struct err *e)
{
    struct reader r = {.path = path, .o = o, .e = e, .record = 1, .line = 1,
                       .labels_numeric = 1};
    struct dataset d;
    struct csv_parser p;
    int parser = 0;
    char *buf = NULL;
    FILE *f = NULL;
    dataset_init(&d);
    locale_t c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    int rc = check_options(path, o, e);
    if (rc)
        goto fail;
    f = fopen(path, "rb");
    if (!f) {
        rc = errno == ENOENT ? err_set(e, ERR_USAGE, "%s: no such file", path)
                             : err_set(e, ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    buf = malloc(READ_CHUNK);
    parser = csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_REPALL_NL) == 0;
    if (!buf || !parser || c_numeric == (locale_t)0) {
        rc = err_set(e, ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    locale_t previous = uselocale(c_numeric);
    rc = parse_stream(&r, f, &p, buf);
    uselocale(previous);
    if (rc == 0)
        rc = check_counts(&r);
    if (rc == 0)
        rc = build_dataset(&r, &d);
    if (rc)
        goto fail;
    *out = d;
    dataset_init(&d);
fail:
    dataset_free(&d);
    if (parser)
        csv_free(&p);
    free(buf);
    if (f)
        fclose(f);
    if (c_numeric != (locale_t)0)
        freelocale(c_numeric);
    reader_free(&r);
    return rc;
}
