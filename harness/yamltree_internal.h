/* yamltree_internal: what yamltree.c (loading) shares with yamltree_access.c (the rest).
 *
 * Private to harness/yamltree*.c: everything else includes yamltree.h. The
 * node helpers keep a tree's invariants (a map's keys[i] is key_nodes[i]'s
 * value; items, keys and key_nodes share cap), so the code that edits a tree
 * after loading goes through them too. */
#ifndef KSHOT_YAMLTREE_INTERNAL_H
#define KSHOT_YAMLTREE_INTERNAL_H

#include <stddef.h>

#include "harness/base/err.h"
#include "harness/yamltree.h"

#define YT_TEXT_SHOWN 48       /* bytes of a scalar quoted in a message */

/* --- messages --- */

/* s between double quotes, escaped, cut at YT_TEXT_SHOWN bytes (never inside
 * a UTF-8 sequence) with "..." after the closing quote when cut; cap ≥
 * 4 * YT_TEXT_SHOWN + 8 holds any result. */
void yt_quote_text(char *buf, size_t cap, const char *s);

/* "list", "map" or "single value". */
const char *yt_kind_noun(const struct yt_node *n);

/* --- nodes --- */

/* NULL: out of memory. A scalar's text is copied (len bytes, NUL added). */
struct yt_node *yt_node_new(enum yt_kind kind, const char *file, int line, int col);
struct yt_node *yt_scalar_new(const char *text, size_t len, int quoted,
                              const char *file, int line, int col);
/* Append val (and key, for a map). On failure (ERR_NOMEM) the caller still owns both. */
int yt_node_append(struct yt_node *n, struct yt_node *key, struct yt_node *val);
/* Index of the key equal to the len bytes at s, or -1. */
int yt_map_find(const struct yt_node *m, const char *s, size_t len);

/* --- loading an override's value --- */

/* Parse VALUE of override argno, which starts col0 bytes into its argument
 * arg ("a.b=VALUE"): nodes get line argno, their column in arg and file
 * YT_CMDLINE; an empty VALUE is a null scalar. A YAML error is prefixed
 * "override N (ARG)". *val is the caller's on success, NULL otherwise. */
int yt_override_value(const char *arg, int argno, int col0, struct yt_node **val, struct err *e);

#endif
