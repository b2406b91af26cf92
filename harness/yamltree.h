/* yamltree: a YAML file as a small located tree, KEY.PATH=VALUE overrides, typed scalar reads.
 *
 * The tree is what config.c walks: scalars keep their text (typing happens
 * when the schema asks for an int, a number, a bool or a string), and every
 * node keeps the file, line and column it came from so errors read
 * `FILE:LINE:COL: key.path: what is wrong (expected …)`.
 *
 * Accepted: one document; anchors and aliases (an alias becomes a deep copy
 * of its anchored node, so later overrides of one copy never touch another;
 * the nodes copies add are bounded by YT_MAX_COPIED); merge keys `<<` with
 * YAML 1.1 semantics (explicit keys win over merged ones; in `<<: [*a, *b]`
 * earlier maps win over later ones; merged keys follow the explicit ones).
 * Refused: duplicate keys, non-scalar keys, a second document, tags (`!!str`:
 * quote the value instead), nesting deeper than YT_MAX_DEPTH, an empty file.
 * Scalars: integers are decimal only (no hex, no octal, no leading zeros,
 * which YAML 1.1 would read as octal); numbers must be finite; booleans are
 * true/false (not yes/no/on/off); a quoted scalar is always a string. */
#ifndef KSHOT_YAMLTREE_H
#define KSHOT_YAMLTREE_H

#include <stdbool.h>
#include <stdio.h>

#include "harness/base/err.h"

#define YT_MAX_COPIED 100000  /* nodes aliases and merges may add to one load */
#define YT_MAX_DEPTH 100      /* nesting levels of one load or override value */
#define YT_CMDLINE "<command line>"  /* the file of nodes an override created */

enum yt_kind { YT_SCALAR, YT_SEQ, YT_MAP };

struct yt_node {
    enum yt_kind kind;
    char *value;                /* YT_SCALAR: its text ("" for an empty value); NULL otherwise */
    int quoted;                 /* YT_SCALAR: written '…', "…", | or >: a string, never a number/bool/null */
    int line, col;              /* 1-based position of the node's first character */
    const char *file;           /* shared: the doc's file or YT_CMDLINE; never freed through the node */
    struct yt_node **items;     /* YT_SEQ: the items; YT_MAP: the values, in key order */
    int n_items;
    char **keys;                /* YT_MAP: keys[i] names items[i]; keys[i] == key_nodes[i]->value */
    struct yt_node **key_nodes; /* YT_MAP: each key as a scalar node (its position, for errors) */
    int cap;                    /* private: allocated length of items, keys, key_nodes */
};

struct yt_doc {
    struct yt_node *root;       /* a map, list or scalar; NULL before a load or after yt_free */
    char *file;                 /* the name errors print; the file every loaded node points to */
};

/* --- loading --- */

/* Read and parse path. Missing file: ERR_USAGE "PATH: no such file";
 * unreadable: ERR_IO; any YAML problem: ERR_USAGE, located. On failure doc
 * is left empty (yt_free on it is harmless). */
int yt_load_file(const char *path, struct yt_doc *doc, struct err *e);

/* Parse NUL-terminated text; name is what errors and nodes call the file. */
int yt_load_string(const char *name, const char *text, struct yt_doc *doc, struct err *e);

/* Free everything doc owns and zero it; NULL and empty docs are fine. */
void yt_free(struct yt_doc *doc);

/* --- overrides --- */

/* Apply one "a.b.c=VALUE" command-line override (argno counts from 1 and is
 * the line of the nodes it creates; their column is the position in arg).
 * VALUE is YAML (flow or plain: 100, [0, 1], {lr: 0.01}, adam, "x y"; empty
 * means null). Missing maps on the path are created, a null on the path
 * becomes a map, the final value is replaced whatever its kind. At each map
 * the longest run of path parts that is an existing key is taken, so keys
 * that contain dots (sweep: {learners.finetune.lr: …}) can be reached.
 * Errors are ERR_USAGE "override N (ARG): …" and leave doc unchanged
 * (short of running out of memory: ERR_NOMEM). */
int yt_override(struct yt_doc *doc, const char *arg, int argno, struct err *e);

/* --- lookups and typed reads --- */

/* The value under key in map; NULL if absent or map is not a map. */
struct yt_node *yt_get(const struct yt_node *map, const char *key);

/* The node a dotted path names below root, read as yt_override reads a
 * path: at each map the longest run of parts that is a key, so keys that
 * hold dots are found. root itself for "", NULL if there is none. */
struct yt_node *yt_find(const struct yt_node *root, const char *path);

/* A plain empty, "~", "null", "Null" or "NULL" scalar. */
bool yt_is_null(const struct yt_node *node);

/* Typed reads. path is the dotted key path the message names. Each fails
 * with ERR_USAGE and `FILE:LINE:COL: path: expected <what>, got "<text>"`,
 * e.g. `expected an integer ≥ 1, got "ten"`, `expected a number in [0, 1],
 * got "2"`; a quoted scalar is reported as "(a quoted string)", a list or
 * map as "got a list"/"got a map", an empty value as "got nothing".
 * LONG_MIN/LONG_MAX and -HUGE_VAL/HUGE_VAL mean unbounded on that side. */
int yt_int(const struct yt_node *node, const char *path, long min, long max,
           long *out, struct err *e);
/* Non-finite text (.inf, .nan, 1e999) fails with "must be finite". */
int yt_double(const struct yt_node *node, const char *path, double min, double max,
              double *out, struct err *e);
int yt_bool(const struct yt_node *node, const char *path, bool *out, struct err *e);
/* Any non-null scalar; *out points into the node. */
int yt_string(const struct yt_node *node, const char *path, const char **out, struct err *e);

/* err_set with the node's location and the path in front:
 * `FILE:LINE:COL: path: <message>` (node NULL: no location; path NULL or "":
 * no path). Returns code. For config.c's own checks. */
int yt_error(struct err *e, int code, const struct yt_node *node, const char *path,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The candidate nearest to word by Damerau–Levenshtein distance (optimal
 * string alignment, bytes) if that distance is ≤ max(2, strlen(word)/3),
 * else NULL; ties go to the earlier candidate. Words over 64 bytes: NULL. */
const char *yt_suggest(const char *word, const char *const *candidates, int n);

/* --- building a tree (the files kshot writes) --- */

/* A new empty map or list, or a scalar holding a copy of text (quoted: a
 * string however it reads, e.g. "3" or "true"); NULL when out of memory.
 * Nodes built here have no file position. */
struct yt_node *yt_new(enum yt_kind kind);
struct yt_node *yt_new_scalar(const char *text, bool quoted);
/* Append val to a map under key, or to a list (key NULL). val is taken
 * whatever happens (freed on failure); a NULL val (a failed yt_new) is
 * ERR_NOMEM, so calls can be chained without checking each. */
int yt_add(struct yt_node *parent, const char *key, struct yt_node *val);
/* A deep copy of n (positions kept); NULL when out of memory. */
struct yt_node *yt_copy(const struct yt_node *n);
/* n and everything below it; NULL is fine. */
void yt_node_free(struct yt_node *n);

/* --- writing --- */

/* Write a tree as block YAML (lists of short plain scalars in flow style)
 * that yt_load_string reads back to the same tree (positions aside). */
int yt_emit(const struct yt_node *root, FILE *out, struct err *e);

/* One-line flow YAML for a node, e.g. "[0.001, 0.01]" or "adam" (for sweep
 * values and messages); *text is malloc'd, the caller frees it. */
int yt_flow_text(const struct yt_node *node, char **text, struct err *e);

#endif
