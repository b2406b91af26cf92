/* yamltree: libyaml events to a located tree; the node helpers and located messages.
 *
 * The tree is built by recursive descent over yaml_parser_parse() events,
 * depth-bounded (YT_MAX_DEPTH) so hostile input cannot exhaust the stack.
 * Aliases are deep copies, counted against YT_MAX_COPIED (a "billion laughs"
 * document stops after that many copied nodes, not after 10^9). Anchors live
 * only while one load runs. Merge keys copy the merged entries; the `<<`
 * value itself is kept aside until the load ends because anchors may point
 * into it. Duplicate keys are found by sorting, so a large map costs
 * n log n, not n². An override's VALUE is read by the same builder
 * (yt_override_value), which therefore stays private to this file.
 * Deliberately not here: applying overrides, lookups and typed reads,
 * writing a tree back (yamltree_access.c); schemas, defaults, what a key
 * means (config*.c); YAML 1.1 implicit typing beyond decimal integers,
 * finite numbers, true/false and null. */
#include "harness/yamltree.h"
#include "harness/yamltree_internal.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_FILE_BYTES ((size_t)1 << 30)  /* an experiment file is kilobytes */

/* ------------------------------------------------------------------ */
/* Messages                                                            */

int yt_error(struct err *e, int code, const struct yt_node *node, const char *path,
             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = err_vat(e, code, node ? node->file : NULL, node ? node->line : 0,
                     node ? node->col : 0, path, fmt, ap);
    va_end(ap);
    return rc;
}

/* s between double quotes, escaped, cut at YT_TEXT_SHOWN bytes (never inside
 * a UTF-8 sequence) with "..." after the closing quote when cut. */
void yt_quote_text(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(s), shown = n > YT_TEXT_SHOWN ? YT_TEXT_SHOWN : n, o = 0;
    while (shown < n && shown > 0 && ((unsigned char)s[shown] & 0xC0) == 0x80)
        shown--;
    buf[o++] = '"';
    for (size_t i = 0; i < shown && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c == '\n' || c == '\t') {
            buf[o++] = '\\';
            buf[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : (char)c;
        } else {
            buf[o++] = (char)c;
        }
    }
    snprintf(buf + o, cap - o, "\"%s", shown < n ? "..." : "");
}

const char *yt_kind_noun(const struct yt_node *n)
{
    return n->kind == YT_SEQ ? "list" : n->kind == YT_MAP ? "map" : "single value";
}

/* ------------------------------------------------------------------ */
/* Nodes                                                               */

struct yt_node *yt_node_new(enum yt_kind kind, const char *file, int line, int col)
{
    struct yt_node *n = calloc(1, sizeof *n);
    if (n) {
        n->kind = kind;
        n->file = file;
        n->line = line;
        n->col = col;
    }
    return n;
}

struct yt_node *yt_scalar_new(const char *text, size_t len, int quoted,
                              const char *file, int line, int col)
{
    struct yt_node *n = yt_node_new(YT_SCALAR, file, line, col);
    if (!n || !(n->value = malloc(len + 1))) {
        free(n);
        return NULL;
    }
    memcpy(n->value, text, len);
    n->value[len] = '\0';
    n->quoted = quoted;
    return n;
}

void yt_node_free(struct yt_node *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->n_items; i++) {
        yt_node_free(n->items[i]);
        if (n->kind == YT_MAP)
            yt_node_free(n->key_nodes[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->key_nodes);
    free(n->value);
    free(n);
}

/* Append val (and key, for a map). On failure the caller still owns both. */
int yt_node_append(struct yt_node *n, struct yt_node *key, struct yt_node *val)
{
    assert((n->kind == YT_MAP) == (key != NULL) && n->kind != YT_SCALAR);
    if (n->n_items == n->cap) {
        if (n->cap > INT_MAX / 4)
            return ERR_NOMEM;
        size_t cap = n->cap ? 2 * (size_t)n->cap : 4;
        struct yt_node **items = realloc(n->items, cap * sizeof *items);
        if (!items)
            return ERR_NOMEM;
        n->items = items;
        if (key) {
            char **keys = realloc(n->keys, cap * sizeof *keys);
            if (!keys)
                return ERR_NOMEM;
            n->keys = keys;
            struct yt_node **kn = realloc(n->key_nodes, cap * sizeof *kn);
            if (!kn)
                return ERR_NOMEM;
            n->key_nodes = kn;
        }
        n->cap = (int)cap;
    }
    if (key) {
        n->keys[n->n_items] = key->value;
        n->key_nodes[n->n_items] = key;
    }
    n->items[n->n_items++] = val;
    return 0;
}

/* Detach entry i of a map (order kept); the caller takes both nodes. */
static void map_remove(struct yt_node *m, int i)
{
    int tail = m->n_items - i - 1;
    memmove(m->items + i, m->items + i + 1, (size_t)tail * sizeof *m->items);
    memmove(m->keys + i, m->keys + i + 1, (size_t)tail * sizeof *m->keys);
    memmove(m->key_nodes + i, m->key_nodes + i + 1, (size_t)tail * sizeof *m->key_nodes);
    m->n_items--;
}

/* Index of the key equal to the len bytes at s, or -1. */
int yt_map_find(const struct yt_node *m, const char *s, size_t len)
{
    for (int i = 0; i < m->n_items; i++)
        if (strlen(m->keys[i]) == len && memcmp(m->keys[i], s, len) == 0)
            return i;
    return -1;
}

struct keyref {
    const char *key;
    int idx;
};

static int keyref_cmp(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* The map's (key, index) pairs sorted by key, then position; NULL: no memory. */
static struct keyref *sorted_keys(const struct yt_node *m)
{
    struct keyref *r = malloc((size_t)m->n_items * sizeof *r + 1);
    if (!r)
        return NULL;
    for (int i = 0; i < m->n_items; i++)
        r[i] = (struct keyref){m->keys[i], i};
    qsort(r, (size_t)m->n_items, sizeof *r, keyref_cmp);
    return r;
}

/* ------------------------------------------------------------------ */
/* Building a tree from libyaml events                                 */

struct anchor {
    char *name;
    struct yt_node *node;       /* NULL while the anchored node is being built */
};

struct builder {
    yaml_parser_t parser;
    const char *file;           /* what nodes and messages call the input */
    const char *text;           /* the input, for locating reader errors */
    size_t len;
    int fixed_line;             /* > 0: an override value; all of it is on this line */
    int col0;                   /* override: 0-based byte offset of the value in its argument */
    long copied;                /* nodes alias and merge copies added */
    char copy_what[96];         /* "alias *x" or "merge key (<<)", for the limit message */
    int copy_line, copy_col;
    struct anchor *anchors;
    int n_anchors, cap_anchors;
    struct yt_node **spare;     /* merge values and keys, freed when the load ends */
    int n_spare, cap_spare;
    struct err *e;
};

static void mark_pos(const struct builder *b, yaml_mark_t m, int *line, int *col)
{
    if (b->fixed_line > 0) {    /* byte position in the argument; the end is just past it */
        *line = b->fixed_line;
        *col = b->col0 + (int)(m.index < b->len ? m.index : b->len) + 1;
    } else {
        *line = (int)m.line + 1;
        *col = (int)m.column + 1;
    }
}

static int fail_pos(struct builder *b, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_pos(struct builder *b, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = err_vat(b->e, ERR_USAGE, b->file, line, col, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

static int fail_at(struct builder *b, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct builder *b, yaml_mark_t m, const char *fmt, ...)
{
    int line, col;
    mark_pos(b, m, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    int rc = err_vat(b->e, ERR_USAGE, b->file, line, col, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

static int nomem(struct builder *b)
{
    return err_set(b->e, ERR_NOMEM, "%s: out of memory while reading YAML", b->file);
}

/* Reader errors carry a byte offset, not a mark: count lines and characters. */
static yaml_mark_t offset_mark(const struct builder *b, size_t offset)
{
    yaml_mark_t m = {offset, 0, 0};     /* index, line, column */
    for (size_t i = 0; i < offset && i < b->len; i++) {
        unsigned char c = (unsigned char)b->text[i];
        if (c == '\n') {
            m.line++;
            m.column = 0;
        } else if ((c & 0xC0) != 0x80) {
            m.column++;
        }
    }
    return m;
}

static int syntax_error(struct builder *b)
{
    const yaml_parser_t *p = &b->parser;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_MEMORY_ERROR)
        return nomem(b);
    if (p->error == YAML_READER_ERROR) {
        yaml_mark_t m = offset_mark(b, p->problem_offset);
        if (p->problem_value >= 0)
            return fail_at(b, m, "%s (0x%X)", problem, (unsigned)p->problem_value);
        return fail_at(b, m, "%s", problem);
    }
    /* a tab where a token should start: say what libyaml means */
    const size_t at = p->problem_mark.index;
    const char *hint = at < b->len && b->text && b->text[at] == '\t'
                           ? "; a tab: YAML does not allow tabs for indentation, use spaces"
                           : "";
    if (p->context) {
        int line, col;
        mark_pos(b, p->context_mark, &line, &col);
        return fail_at(b, p->problem_mark, "%s (%s at line %d, col %d)%s",
                       problem, p->context, line, col, hint);
    }
    return fail_at(b, p->problem_mark, "%s%s", problem, hint);
}

static int next_event(struct builder *b, yaml_event_t *ev)
{
    return yaml_parser_parse(&b->parser, ev) ? 0 : syntax_error(b);
}

static int refuse_tag(struct builder *b, const yaml_char_t *tag, yaml_mark_t m)
{
    static const char core[] = "tag:yaml.org,2002:";
    if (!tag)
        return 0;
    const char *t = (const char *)tag;
    bool is_core = strncmp(t, core, sizeof core - 1) == 0;
    return fail_at(b, m, "tags are not supported (found %s%s); quote a value to make it a string",
                   is_core ? "!!" : "", is_core ? t + sizeof core - 1 : t);
}

/* Register an anchor (none: *slot = -1); its node is set by anchor_close. */
static int anchor_open(struct builder *b, const yaml_char_t *name, int *slot)
{
    *slot = -1;
    if (!name)
        return 0;
    if (b->n_anchors == b->cap_anchors) {
        int cap = b->cap_anchors ? 2 * b->cap_anchors : 8;
        struct anchor *a = realloc(b->anchors, (size_t)cap * sizeof *a);
        if (!a)
            return nomem(b);
        b->anchors = a;
        b->cap_anchors = cap;
    }
    char *copy = strdup((const char *)name);
    if (!copy)
        return nomem(b);
    b->anchors[b->n_anchors] = (struct anchor){copy, NULL};
    *slot = b->n_anchors++;
    /* cppcheck-suppress memleak ; copy is kept in b->anchors, freed with the builder */
    return 0;
}

static void anchor_close(struct builder *b, int slot, struct yt_node *n)
{
    if (slot >= 0)
        b->anchors[slot].node = n;
}

/* Keep n alive until the load ends (anchors may point into it). */
static int keep(struct builder *b, struct yt_node *n)
{
    if (b->n_spare == b->cap_spare) {
        int cap = b->cap_spare ? 2 * b->cap_spare : 4;
        struct yt_node **s = realloc(b->spare, (size_t)cap * sizeof *s);
        if (!s) {
            yt_node_free(n);
            return nomem(b);
        }
        b->spare = s;
        b->cap_spare = cap;
    }
    b->spare[b->n_spare++] = n;
    return 0;
}

/* Deep copy of src placed at nesting depth, counted against YT_MAX_COPIED. */
static int copy_node(struct builder *b, const struct yt_node *src, int depth, struct yt_node **out)
{
    *out = NULL;
    if (++b->copied > YT_MAX_COPIED)
        return fail_pos(b, b->copy_line, b->copy_col,
                        "%s expands the document past %d nodes (a \"billion laughs\" document?)",
                        b->copy_what, YT_MAX_COPIED);
    if (src->kind != YT_SCALAR && depth >= YT_MAX_DEPTH)
        return fail_pos(b, b->copy_line, b->copy_col, "%s nests deeper than %d levels",
                        b->copy_what, YT_MAX_DEPTH);
    struct yt_node *n = src->kind == YT_SCALAR
        ? yt_scalar_new(src->value, strlen(src->value), src->quoted, src->file, src->line,
                        src->col)
        : yt_node_new(src->kind, src->file, src->line, src->col);
    if (!n)
        return nomem(b);
    int rc = 0;
    for (int i = 0; i < src->n_items && !rc; i++) {
        struct yt_node *k = NULL, *v = NULL;
        if (src->kind == YT_MAP)
            rc = copy_node(b, src->key_nodes[i], depth + 1, &k);
        if (!rc)
            rc = copy_node(b, src->items[i], depth + 1, &v);
        if (!rc && yt_node_append(n, k, v))
            rc = nomem(b);
        if (rc) {
            yt_node_free(k);
            yt_node_free(v);
        }
    }
    if (rc)
        yt_node_free(n);
    else
        *out = n;
    return rc;
}

static int parse_node(struct builder *b, const yaml_event_t *ev, int depth, struct yt_node **out);

/* Read the next event and build the node it starts. */
static int next_node(struct builder *b, int depth, struct yt_node **out)
{
    yaml_event_t ev;
    *out = NULL;
    int rc = next_event(b, &ev);
    if (rc)
        return rc;
    rc = parse_node(b, &ev, depth, out);
    yaml_event_delete(&ev);
    return rc;
}

static int parse_alias(struct builder *b, const yaml_event_t *ev, int depth, struct yt_node **out)
{
    const char *name = (const char *)ev->data.alias.anchor;
    int i = b->n_anchors - 1;
    while (i >= 0 && strcmp(b->anchors[i].name, name) != 0)
        i--;
    if (i < 0)
        return fail_at(b, ev->start_mark, "unknown alias *%s (no anchor &%s before it)", name, name);
    if (!b->anchors[i].node)
        return fail_at(b, ev->start_mark, "alias *%s is inside the node it refers to", name);
    snprintf(b->copy_what, sizeof b->copy_what, "alias *%.60s", name);
    mark_pos(b, ev->start_mark, &b->copy_line, &b->copy_col);
    return copy_node(b, b->anchors[i].node, depth, out);
}

static int parse_scalar(struct builder *b, const yaml_event_t *ev, struct yt_node **out)
{
    int line, col, slot;
    mark_pos(b, ev->start_mark, &line, &col);
    int rc = refuse_tag(b, ev->data.scalar.tag, ev->start_mark);
    if (!rc)
        rc = anchor_open(b, ev->data.scalar.anchor, &slot);
    if (rc)
        return rc;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    *out = yt_scalar_new((const char *)ev->data.scalar.value, ev->data.scalar.length, !plain,
                         b->file, line, col);
    if (!*out)
        return nomem(b);
    anchor_close(b, slot, *out);
    return 0;
}

static int parse_seq_body(struct builder *b, struct yt_node *seq, int depth)
{
    for (;;) {
        yaml_event_t ev;
        struct yt_node *item = NULL;
        int rc = next_event(b, &ev);
        if (rc)
            return rc;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        rc = parse_node(b, &ev, depth + 1, &item);
        yaml_event_delete(&ev);
        if (!rc && yt_node_append(seq, NULL, item)) {
            yt_node_free(item);
            rc = nomem(b);
        }
        if (rc)
            return rc;
    }
}

/* The first repeated key in document order, reported at its second use. */
static int check_duplicates(struct builder *b, const struct yt_node *m)
{
    if (m->n_items < 2)
        return 0;
    struct keyref *r = sorted_keys(m);
    if (!r)
        return nomem(b);
    int dup = -1, first = -1;
    for (int i = 1; i < m->n_items; i++)
        if (strcmp(r[i].key, r[i - 1].key) == 0 && (dup < 0 || r[i].idx < dup)) {
            dup = r[i].idx;    /* the minimum is always a key's second use */
            first = r[i - 1].idx;
        }
    free(r);
    if (dup < 0)
        return 0;
    const struct yt_node *k = m->key_nodes[dup], *f = m->key_nodes[first];
    char shown[4 * YT_TEXT_SHOWN + 8];
    yt_quote_text(shown, sizeof shown, k->value);
    shown[0] = shown[strlen(shown) - 1] = '\'';
    if (f->line == k->line)
        return fail_pos(b, k->line, k->col, "duplicate key %s (first at line %d, col %d)",
                        shown, f->line, f->col);
    return fail_pos(b, k->line, k->col, "duplicate key %s (first at line %d)", shown, f->line);
}

/* After merging: drop every entry whose key an earlier entry has. */
static int drop_later_duplicates(struct builder *b, struct yt_node *m)
{
    struct keyref *r = sorted_keys(m);
    unsigned char *drop = calloc((size_t)m->n_items + 1, 1);
    if (!r || !drop) {
        free(r);
        free(drop);
        return nomem(b);
    }
    for (int i = 1; i < m->n_items; i++)
        if (strcmp(r[i].key, r[i - 1].key) == 0)
            drop[r[i].idx] = 1;
    int kept = 0;
    for (int i = 0; i < m->n_items; i++) {
        if (drop[i]) {
            yt_node_free(m->key_nodes[i]);
            yt_node_free(m->items[i]);
            continue;
        }
        m->items[kept] = m->items[i];
        m->keys[kept] = m->keys[i];
        m->key_nodes[kept++] = m->key_nodes[i];
    }
    m->n_items = kept;
    free(r);
    free(drop);
    return 0;
}

static int merge_from(struct builder *b, struct yt_node *m, const struct yt_node *src, int depth)
{
    for (int i = 0; i < src->n_items; i++) {
        struct yt_node *k = NULL, *v = NULL;
        int rc = copy_node(b, src->key_nodes[i], depth + 1, &k);
        if (!rc)
            rc = copy_node(b, src->items[i], depth + 1, &v);
        if (!rc && yt_node_append(m, k, v))
            rc = nomem(b);
        if (rc) {
            yt_node_free(k);
            yt_node_free(v);
            return rc;
        }
    }
    return 0;
}

/* YAML 1.1 merge: `<<: map` or `<<: [map, …]`; explicit keys win, then
 * earlier maps. m's keys are already known to be distinct. */
static int apply_merge(struct builder *b, struct yt_node *m, int depth)
{
    int at = 0;
    while (at < m->n_items && (m->key_nodes[at]->quoted || strcmp(m->keys[at], "<<") != 0))
        at++;
    if (at == m->n_items)
        return 0;
    struct yt_node *key = m->key_nodes[at], *val = m->items[at];
    if (val->kind == YT_SCALAR)
        return fail_pos(b, val->line, val->col,
                        "merge key (<<) needs a map or a list of maps, not a single value");
    for (int i = 0; val->kind == YT_SEQ && i < val->n_items; i++)
        if (val->items[i]->kind != YT_MAP)
            return fail_pos(b, val->items[i]->line, val->items[i]->col,
                            "merge key (<<) needs a list of maps, not a list holding a %s",
                            yt_kind_noun(val->items[i]));
    map_remove(m, at);
    int rc = keep(b, key);
    if (rc) {
        yt_node_free(val);
        return rc;
    }
    if ((rc = keep(b, val)))
        return rc;
    snprintf(b->copy_what, sizeof b->copy_what, "merge key (<<)");
    b->copy_line = key->line;
    b->copy_col = key->col;
    if (val->kind == YT_MAP)
        rc = merge_from(b, m, val, depth);
    for (int i = 0; val->kind == YT_SEQ && i < val->n_items && !rc; i++)
        rc = merge_from(b, m, val->items[i], depth);
    return rc ? rc : drop_later_duplicates(b, m);
}

static int parse_map_body(struct builder *b, struct yt_node *map, int depth)
{
    for (;;) {
        yaml_event_t ev;
        struct yt_node *key = NULL, *val = NULL;
        int rc = next_event(b, &ev);
        if (rc)
            return rc;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        rc = parse_node(b, &ev, depth + 1, &key);
        yaml_event_delete(&ev);
        if (!rc && key->kind != YT_SCALAR)
            rc = fail_pos(b, key->line, key->col, "a key must be a single value, not a %s",
                          yt_kind_noun(key));
        if (!rc)
            rc = next_node(b, depth + 1, &val);
        if (!rc && yt_node_append(map, key, val))
            rc = nomem(b);
        if (rc) {
            yt_node_free(key);
            yt_node_free(val);
            return rc;
        }
    }
    int rc = check_duplicates(b, map);
    return rc ? rc : apply_merge(b, map, depth);
}

static int parse_collection(struct builder *b, const yaml_event_t *ev, int depth,
                            struct yt_node **out)
{
    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    const yaml_char_t *tag = is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor
                                       : ev->data.sequence_start.anchor;
    int slot, line, col;
    int rc = refuse_tag(b, tag, ev->start_mark);
    if (rc)
        return rc;
    if (depth >= YT_MAX_DEPTH)
        return fail_at(b, ev->start_mark, "nesting deeper than %d levels", YT_MAX_DEPTH);
    if ((rc = anchor_open(b, anchor, &slot)))
        return rc;
    mark_pos(b, ev->start_mark, &line, &col);
    struct yt_node *n = yt_node_new(is_map ? YT_MAP : YT_SEQ, b->file, line, col);
    if (!n)
        return nomem(b);
    rc = is_map ? parse_map_body(b, n, depth) : parse_seq_body(b, n, depth);
    if (rc) {
        yt_node_free(n);
        return rc;
    }
    anchor_close(b, slot, n);
    *out = n;
    return 0;
}

static int parse_node(struct builder *b, const yaml_event_t *ev, int depth, struct yt_node **out)
{
    *out = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return parse_scalar(b, ev, out);
    case YAML_ALIAS_EVENT:
        return parse_alias(b, ev, depth, out);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return parse_collection(b, ev, depth, out);
    default:  /* libyaml only starts nodes with the events above */
        return fail_at(b, ev->start_mark, "unexpected YAML event %d", (int)ev->type);
    }
}

static int builder_init(struct builder *b, const char *file, const char *text, size_t len,
                        int fixed_line, int col0, struct err *e)
{
    memset(b, 0, sizeof *b);
    b->file = file;
    b->text = text;
    b->len = len;
    b->fixed_line = fixed_line;
    b->col0 = col0;
    b->e = e;
    if (!yaml_parser_initialize(&b->parser))
        return err_set(e, ERR_NOMEM, "%s: out of memory while reading YAML", file);
    yaml_parser_set_input_string(&b->parser, (const unsigned char *)text, len);
    return 0;
}

static void builder_free(struct builder *b)
{
    for (int i = 0; i < b->n_anchors; i++)
        free(b->anchors[i].name);
    for (int i = 0; i < b->n_spare; i++)
        yt_node_free(b->spare[i]);
    free(b->anchors);
    free(b->spare);
    yaml_parser_delete(&b->parser);
}

/* One stream, at most one document. An empty stream (or a document that is
 * only an empty value) is refused unless allow_empty, which gives a null. */
static int build(struct builder *b, bool allow_empty, struct yt_node **root)
{
    yaml_event_t ev;
    struct yt_node *n = NULL;
    int rc = next_event(b, &ev);                   /* STREAM-START */
    if (!rc) {
        yaml_event_delete(&ev);
        rc = next_event(b, &ev);
    }
    if (rc)
        return rc;
    bool has_doc = ev.type == YAML_DOCUMENT_START_EVENT;
    yaml_event_delete(&ev);
    if (has_doc && !(rc = next_node(b, 0, &n)) && !(rc = next_event(b, &ev))) {
        yaml_event_delete(&ev);                    /* DOCUMENT-END */
        if (!(rc = next_event(b, &ev))) {
            if (ev.type == YAML_DOCUMENT_START_EVENT)
                rc = fail_at(b, ev.start_mark, "a second YAML document starts here "
                             "(an experiment file holds one document)");
            yaml_event_delete(&ev);
        }
    }
    if (!rc && (!n || (n->kind == YT_SCALAR && !n->quoted && !*n->value)) && !allow_empty)
        rc = err_set(b->e, ERR_USAGE, "%s: the experiment file is empty "
                     "(expected settings such as 'name: my-experiment')", b->file);
    if (!rc && !n && !(n = yt_scalar_new("", 0, 0, b->file, b->fixed_line, b->col0 + 1)))
        rc = nomem(b);
    if (rc)
        yt_node_free(n);
    else
        *root = n;
    return rc;
}

static int load(const char *name, const char *text, size_t len, struct yt_doc *doc,
                struct err *e)
{
    struct builder b;
    memset(doc, 0, sizeof *doc);
    if (!(doc->file = strdup(name)))
        return err_set(e, ERR_NOMEM, "%s: out of memory", name);
    int rc = builder_init(&b, doc->file, text, len, 0, 0, e);
    if (rc)
        goto fail;
    rc = build(&b, false, &doc->root);
    builder_free(&b);
    if (rc)
        goto fail;
    return 0;
fail:
    yt_free(doc);
    return rc;
}

int yt_load_string(const char *name, const char *text, struct yt_doc *doc, struct err *e)
{
    return load(name, text, strlen(text), doc, e);
}

int yt_load_file(const char *path, struct yt_doc *doc, struct err *e)
{
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    memset(doc, 0, sizeof *doc);
    FILE *f = fopen(path, "rb");
    if (!f && (errno == ENOENT || errno == ENOTDIR))
        return err_set(e, ERR_USAGE, "%s: no such file", path);
    if (!f)
        return err_set(e, ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    for (;;) {
        if (len == cap) {
            size_t grown = cap ? 2 * cap : 4096;
            char *t = grown > MAX_FILE_BYTES ? NULL : realloc(text, grown);
            if (!t) {
                rc = err_set(e, ERR_NOMEM, "%s: too large to read into memory", path);
                goto fail;
            }
            text = t;
            cap = grown;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = errno == EISDIR ? err_set(e, ERR_USAGE, "%s: is a directory (expected an experiment "
                                       "file)", path)
                             : err_set(e, ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto fail;
    }
    rc = load(path, text, len, doc, e);
fail:
    free(text);
    fclose(f);
    return rc;
}

void yt_free(struct yt_doc *doc)
{
    if (!doc)
        return;
    yt_node_free(doc->root);
    free(doc->file);
    memset(doc, 0, sizeof *doc);
}

/* ------------------------------------------------------------------ */
/* An override's value                                                 */

int yt_override_value(const char *arg, int argno, int col0, struct yt_node **val, struct err *e)
{
    struct builder b;
    *val = NULL;
    int rc = builder_init(&b, YT_CMDLINE, arg + col0, strlen(arg + col0), argno, col0, e);
    if (rc)
        return rc;
    rc = build(&b, true, val);
    builder_free(&b);
    if (rc)
        err_prefix(e, "override %d (%s)", argno, arg);
    return rc;
}
