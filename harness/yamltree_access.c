/* yamltree_access: working on a loaded tree — overrides, lookups and typed reads, writing back.
 *
 * An override walks its key path twice: a dry run that finds every error,
 * then the change, so a refused override leaves the tree as it was. Typed
 * reads are strict on purpose (decimal integers only, finite numbers,
 * true/false) and read numbers in the C locale whatever the process's.
 * Writing goes through libyaml's emitter, so what it writes reads back to
 * the same tree.
 * Deliberately not here: parsing YAML text, anchors and merge keys
 * (yamltree.c, which also parses an override's value); what a key means
 * (config*.c). */
#include "harness/yamltree.h"
#include "harness/yamltree_internal.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_PATH_PARTS 32   /* components of an override's key path */
#define USAGE_FORM "expected KEY.PATH=VALUE, e.g. targets.heldout.episodes=100"

/* ------------------------------------------------------------------ */
/* Overrides                                                           */

struct part {
    int off, len;               /* a path component: arg[off, off + len) */
};

/* Entry of map for the longest run parts[i..j) that is a key; *used = j − i. */
static int find_longest(const struct yt_node *map, const char *arg, const struct part *p,
                        int i, int n, int *used)
{
    for (int j = n; j > i; j--) {
        int k = yt_map_find(map, arg + p[i].off, (size_t)(p[j - 1].off + p[j - 1].len - p[i].off));
        if (k >= 0) {
            *used = j - i;
            return k;
        }
    }
    return -1;
}

/* Create parts[0..n) below map; the last holds *val (taken). */
static int create_path(struct yt_node *map, const char *arg, const struct part *p, int n,
                       int argno, struct yt_node **val)
{
    for (int i = 0; i < n; i++) {
        struct yt_node *k = yt_scalar_new(arg + p[i].off, (size_t)p[i].len, 0, YT_CMDLINE,
                                          argno, p[i].off + 1);
        struct yt_node *v = i == n - 1 ? *val
                                       : yt_node_new(YT_MAP, YT_CMDLINE, argno, p[i].off + 1);
        if (!k || !v || yt_node_append(map, k, v)) {
            yt_node_free(k);
            if (v != *val)
                yt_node_free(v);
            return ERR_NOMEM;
        }
        if (v == *val)
            *val = NULL;
        map = v;
    }
    return 0;
}

/* Walk (and, when val is not NULL, change) the tree along the path. The
 * dry run (val NULL) finds every error before anything changes. */
static int override_walk(struct yt_node *map, const char *arg, const struct part *p, int n,
                         int argno, struct yt_node **val, struct err *e)
{
    if (map->kind != YT_MAP)
        return err_set(e, ERR_USAGE, "override %d (%s): the top level is a %s, not a map",
                       argno, arg, yt_kind_noun(map));
    for (int i = 0; i < n;) {
        int used = 0, k = find_longest(map, arg, p, i, n, &used);
        if (k < 0)
            return val ? create_path(map, arg, p + i, n - i, argno, val) : 0;
        if (i + used == n) {
            if (val) {
                yt_node_free(map->items[k]);
                map->items[k] = *val;
                *val = NULL;
            }
            return 0;
        }
        struct yt_node *child = map->items[k];
        if (yt_is_null(child)) {
            if (!val)
                return 0;       /* a null becomes a map: the rest can be created */
            struct yt_node *m = yt_node_new(YT_MAP, YT_CMDLINE, argno, p[i].off + 1);
            if (!m)
                return ERR_NOMEM;
            yt_node_free(child);
            map->items[k] = child = m;
        } else if (child->kind != YT_MAP) {
            int end = p[i + used - 1].off + p[i + used - 1].len;
            return err_set(e, ERR_USAGE, "override %d (%s): %.*s is a %s, not a map",
                           argno, arg, end, arg, yt_kind_noun(child));
        }
        map = child;
        i += used;
    }
    return 0;
}

static int split_path(const char *arg, int len, struct part *p, int *n, int argno,
                      struct err *e)
{
    *n = 0;
    for (int start = 0; start <= len;) {
        int end = start;
        while (end < len && arg[end] != '.')
            end++;
        if (end == start)
            return err_set(e, ERR_USAGE, "override %d (%s): empty key in '%.*s' (" USAGE_FORM ")",
                           argno, arg, len, arg);
        if (*n == MAX_PATH_PARTS)
            return err_set(e, ERR_USAGE, "override %d (%s): more than %d keys in the path",
                           argno, arg, MAX_PATH_PARTS);
        p[(*n)++] = (struct part){start, end - start};
        start = end + 1;
    }
    return 0;
}

int yt_override(struct yt_doc *doc, const char *arg, int argno, struct err *e)
{
    assert(doc && doc->root && arg);
    struct part parts[MAX_PATH_PARTS];
    struct yt_node *val = NULL;
    int n, rc;
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return err_set(e, ERR_USAGE, "override %d (%s): " USAGE_FORM, argno, arg);
    if (eq - arg > INT_MAX / 2)
        return err_set(e, ERR_USAGE, "override %d: key path too long", argno);
    if ((rc = split_path(arg, (int)(eq - arg), parts, &n, argno, e)) ||
        (rc = yt_override_value(arg, argno, (int)(eq + 1 - arg), &val, e)))
        return rc;
    rc = override_walk(doc->root, arg, parts, n, argno, NULL, e);
    if (!rc && (rc = override_walk(doc->root, arg, parts, n, argno, &val, e)))
        rc = err_set(e, rc, "override %d (%s): out of memory", argno, arg);
    yt_node_free(val);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Lookups and typed reads                                             */

struct yt_node *yt_get(const struct yt_node *map, const char *key)
{
    if (!map || map->kind != YT_MAP)
        return NULL;
    int k = yt_map_find(map, key, strlen(key));
    return k < 0 ? NULL : map->items[k];
}

struct yt_node *yt_find(const struct yt_node *root, const char *path)
{
    struct part p[MAX_PATH_PARTS];
    int n = 0, len = (int)strnlen(path, INT_MAX / 2);
    for (int start = 0; len > 0 && start <= len; n++) {
        int end = start;
        while (end < len && path[end] != '.')
            end++;
        if (end == start || n == MAX_PATH_PARTS)
            return NULL;
        p[n] = (struct part){start, end - start};
        start = end + 1;
    }
    const struct yt_node *at = root;
    for (int i = 0; at && i < n;) {
        int used = 0, k = at->kind == YT_MAP ? find_longest(at, path, p, i, n, &used) : -1;
        at = k < 0 ? NULL : at->items[k];
        i += used;
    }
    return (struct yt_node *)at;
}

bool yt_is_null(const struct yt_node *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (!n || n->kind != YT_SCALAR || n->quoted)
        return false;
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        if (strcmp(n->value, nulls[i]) == 0)
            return true;
    return false;
}

/* What a typed read "got": a list, a map, nothing, null ("~"), "text". */
static void describe(char *buf, size_t cap, const struct yt_node *n)
{
    char q[4 * YT_TEXT_SHOWN + 8];
    if (n->kind != YT_SCALAR) {
        snprintf(buf, cap, "a %s", yt_kind_noun(n));
    } else if (yt_is_null(n) && !*n->value) {
        snprintf(buf, cap, "nothing");
    } else {
        yt_quote_text(q, sizeof q, n->value);
        snprintf(buf, cap, yt_is_null(n) ? "null (%s)" : n->quoted ? "%s (a quoted string)" : "%s", q);
    }
}

static int expected(struct err *e, const struct yt_node *n, const char *path, const char *what)
{
    char got[4 * YT_TEXT_SHOWN + 48];
    describe(got, sizeof got, n);
    return yt_error(e, ERR_USAGE, n, path, "expected %s, got %s", what, got);
}

/* Decimal only: [+-]digits, no leading zeros (YAML 1.1 reads 010 as 8). */
static bool parse_long(const char *s, long *v)
{
    const char *d = s + (*s == '+' || *s == '-');
    size_t nd = strspn(d, "0123456789");
    if (nd == 0 || d[nd] != '\0' || (d[0] == '0' && nd > 1))
        return false;
    errno = 0;
    char *end;
    *v = strtol(s, &end, 10);
    return errno == 0 && *end == '\0';
}

int yt_int(const struct yt_node *n, const char *path, long min, long max, long *out,
           struct err *e)
{
    assert(n && min <= max);
    char what[96];
    if (min == LONG_MIN && max == LONG_MAX)
        snprintf(what, sizeof what, "an integer");
    else if (max == LONG_MAX)
        snprintf(what, sizeof what, "an integer ≥ %ld", min);
    else if (min == LONG_MIN)
        snprintf(what, sizeof what, "an integer ≤ %ld", max);
    else
        snprintf(what, sizeof what, "an integer in [%ld, %ld]", min, max);
    long v;
    if (n->kind != YT_SCALAR || n->quoted || !parse_long(n->value, &v) || v < min || v > max)
        return expected(e, n, path, what);
    *out = v;
    return 0;
}

/* [+-](digits[.digits*] | .digits)([eE][+-]digits), read in the C locale. */
static bool parse_number(const char *s, double *v)
{
    const char *p = s + (*s == '+' || *s == '-');
    size_t before = strspn(p, "0123456789"), after = 0;
    p += before;
    if (*p == '.')
        p += 1 + (after = strspn(p + 1, "0123456789"));
    if (before + after == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p += 1 + (p[1] == '+' || p[1] == '-');
        size_t ne = strspn(p, "0123456789");
        if (ne == 0)
            return false;
        p += ne;
    }
    if (*p != '\0')
        return false;
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = c ? uselocale(c) : (locale_t)0;
    *v = strtod(s, NULL);
    if (c) {
        uselocale(old);
        freelocale(c);
    }
    return true;
}

static bool names_non_finite(const char *s)
{
    static const char *const words[] = {".inf", ".nan", "inf", "nan", "infinity"};
    const char *p = s + (*s == '+' || *s == '-');
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasecmp(p, words[i]) == 0)
            return true;
    return false;
}

int yt_double(const struct yt_node *n, const char *path, double min, double max, double *out,
              struct err *e)
{
    assert(n && min <= max);
    char what[96];
    if (isinf(min) && isinf(max))
        snprintf(what, sizeof what, "a number");
    else if (isinf(max))
        snprintf(what, sizeof what, "a number ≥ %g", min);
    else if (isinf(min))
        snprintf(what, sizeof what, "a number ≤ %g", max);
    else
        snprintf(what, sizeof what, "a number in [%g, %g]", min, max);
    double v = 0;
    bool plain = n->kind == YT_SCALAR && !n->quoted;
    bool number = plain && parse_number(n->value, &v);
    if ((plain && names_non_finite(n->value)) || (number && !isfinite(v))) {
        char got[4 * YT_TEXT_SHOWN + 8];
        yt_quote_text(got, sizeof got, n->value);
        return yt_error(e, ERR_USAGE, n, path, "must be finite, got %s (expected %s)", got, what);
    }
    if (!number || !(v >= min && v <= max))
        return expected(e, n, path, what);
    *out = v;
    return 0;
}

int yt_bool(const struct yt_node *n, const char *path, bool *out, struct err *e)
{
    static const char *const words[] = {"false", "False", "FALSE", "true", "True", "TRUE"};
    assert(n);
    for (int i = 0; n->kind == YT_SCALAR && !n->quoted && i < 6; i++)
        if (strcmp(n->value, words[i]) == 0) {
            *out = i >= 3;
            return 0;
        }
    return expected(e, n, path, "true or false");
}

int yt_string(const struct yt_node *n, const char *path, const char **out, struct err *e)
{
    assert(n);
    if (n->kind != YT_SCALAR || yt_is_null(n))
        return expected(e, n, path, "a string");
    *out = n->value;
    return 0;
}

/* Optimal string alignment distance; both strings at most 64 bytes. */
static int osa_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b), d[65][65];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

const char *yt_suggest(const char *word, const char *const *candidates, int n)
{
    size_t len = strlen(word);
    int limit = len / 3 > 2 ? (int)(len / 3) : 2, best = INT_MAX;
    const char *pick = NULL;
    if (len > 64)
        return NULL;
    for (int i = 0; i < n; i++) {
        if (strlen(candidates[i]) > 64)
            continue;
        int d = osa_distance(word, candidates[i]);
        if (d < best) {
            best = d;
            pick = candidates[i];
        }
    }
    return best <= limit ? pick : NULL;
}

/* ------------------------------------------------------------------ */
/* Building                                                            */

struct yt_node *yt_new(enum yt_kind kind)
{
    assert(kind != YT_SCALAR);
    return yt_node_new(kind, NULL, 0, 0);
}

struct yt_node *yt_new_scalar(const char *text, bool quoted)
{
    text = text ? text : "";
    return yt_scalar_new(text, strlen(text), quoted, NULL, 0, 0);
}

int yt_add(struct yt_node *parent, const char *key, struct yt_node *val)
{
    struct yt_node *k = key ? yt_new_scalar(key, false) : NULL;
    if (!val || (key && !k) || yt_node_append(parent, k, val)) {
        yt_node_free(k);
        yt_node_free(val);
        return ERR_NOMEM;
    }
    return 0;
}

struct yt_node *yt_copy(const struct yt_node *n)
{
    struct yt_node *c = n->kind == YT_SCALAR
        ? yt_scalar_new(n->value, strlen(n->value), n->quoted, n->file, n->line, n->col)
        : yt_node_new(n->kind, n->file, n->line, n->col);
    for (int i = 0; c && i < n->n_items; i++) {
        struct yt_node *k = n->kind == YT_MAP ? yt_copy(n->key_nodes[i]) : NULL;
        struct yt_node *v = yt_copy(n->items[i]);
        if (!v || (n->kind == YT_MAP && !k) || yt_node_append(c, k, v)) {
            yt_node_free(k);
            yt_node_free(v);
            yt_node_free(c);
            c = NULL;
        }
    }
    return c;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

struct writer {
    yaml_emitter_t em;
    bool flow;                  /* everything in flow style (one line) */
    struct err *e;
};

/* yaml_emitter_emit consumes ev whether or not it succeeds. */
static int put(struct writer *w, yaml_event_t *ev, int made)
{
    if (!made)
        return err_set(w->e, ERR_NOMEM, "out of memory while writing YAML");
    if (yaml_emitter_emit(&w->em, ev))
        return 0;
    if (w->em.error == YAML_MEMORY_ERROR)
        return err_set(w->e, ERR_NOMEM, "out of memory while writing YAML");
    return err_set(w->e, ERR_IO, "cannot write YAML: %s",
                   w->em.problem ? w->em.problem : "write error");
}

/* A list worth writing as [a, b, c]: non-empty plain-safe scalars only. */
static bool short_list(const struct yt_node *n)
{
    for (int i = 0; i < n->n_items; i++) {
        const struct yt_node *it = n->items[i];
        if (it->kind != YT_SCALAR || !*it->value || strlen(it->value) > 40
            || strspn(it->value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789._+-/") != strlen(it->value))
            return false;
    }
    return true;
}

static int write_scalar(struct writer *w, const char *text, bool plain_ok)
{
    yaml_event_t ev;
    /* Line breaks read best escaped: "a\nb" rather than a folded '…'. */
    yaml_scalar_style_t style = strchr(text, '\n') ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                   : YAML_ANY_SCALAR_STYLE;
    int made = yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)text,
                                            (int)strlen(text), plain_ok, 1, style);
    return put(w, &ev, made);
}

static int write_node(struct writer *w, const struct yt_node *n)
{
    yaml_event_t ev;
    int rc = 0;
    /* A null written inside flow style would come back as '' (a string). */
    if (n->kind == YT_SCALAR)
        return write_scalar(w, w->flow && yt_is_null(n) ? "~" : n->value, !n->quoted);
    if (n->kind == YT_SEQ) {
        bool flow = w->flow || short_list(n);
        rc = put(w, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                 flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
        for (int i = 0; i < n->n_items && !rc; i++)
            rc = write_node(w, n->items[i]);
        return rc ? rc : put(w, &ev, yaml_sequence_end_event_initialize(&ev));
    }
    rc = put(w, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
             w->flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
    for (int i = 0; i < n->n_items && !rc; i++) {
        /* Keys are strings whether quoted or not, except that a plain << merges. */
        rc = write_scalar(w, n->keys[i], strcmp(n->keys[i], "<<") != 0);
        if (!rc)
            rc = write_node(w, n->items[i]);
    }
    return rc ? rc : put(w, &ev, yaml_mapping_end_event_initialize(&ev));
}

static int write_doc(const struct yt_node *root, FILE *out, bool flow, struct err *e)
{
    struct writer w = {.flow = flow, .e = e};
    yaml_event_t ev;
    assert(root && out);
    if (!yaml_emitter_initialize(&w.em))
        return err_set(e, ERR_NOMEM, "out of memory while writing YAML");
    yaml_emitter_set_output_file(&w.em, out);
    yaml_emitter_set_unicode(&w.em, 1);
    yaml_emitter_set_width(&w.em, -1);     /* never fold long strings */
    yaml_emitter_set_indent(&w.em, 2);
    int rc = put(&w, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    if (!rc)
        rc = put(&w, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    if (!rc)
        rc = write_node(&w, root);
    if (!rc)
        rc = put(&w, &ev, yaml_document_end_event_initialize(&ev, 1));
    if (!rc)
        rc = put(&w, &ev, yaml_stream_end_event_initialize(&ev));
    if (!rc && !yaml_emitter_flush(&w.em))
        rc = err_set(e, ERR_IO, "cannot write YAML: %s", w.em.problem ? w.em.problem : "write error");
    yaml_emitter_delete(&w.em);
    return rc;
}

int yt_emit(const struct yt_node *root, FILE *out, struct err *e)
{
    return write_doc(root, out, false, e);
}

int yt_flow_text(const struct yt_node *node, char **text, struct err *e)
{
    size_t len = 0;
    *text = NULL;
    FILE *f = open_memstream(text, &len);
    if (!f)
        return err_set(e, ERR_NOMEM, "out of memory while writing YAML");
    int rc = write_doc(node, f, true, e);
    if (fclose(f) && !rc)
        rc = err_set(e, ERR_NOMEM, "out of memory while writing YAML");
    if (rc) {
        free(*text);
        *text = NULL;
        return rc;
    }
    while (len > 0 && ((*text)[len - 1] == '\n' || (*text)[len - 1] == ' '))
        (*text)[--len] = '\0';
    return 0;
}
