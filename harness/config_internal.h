/* config_internal: the schema table and the helpers config_schema.c shares with config.c.
 *
 * Private to harness/config*.c: everything else includes config.h. A key of
 * the schema writes its value at off (and off2) into the struct of its
 * section — struct experiment for S_TOP, S_NETWORK and S_OUTPUT, struct
 * cfg_data for S_DATA, and so on — so sections are parsed and freed through
 * a char * to that struct. */
#ifndef KSHOT_CONFIG_INTERNAL_H
#define KSHOT_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/base/err.h"
#include "harness/base/keydef.h"
#include "harness/config.h"
#include "harness/yamltree.h"

#define PATH_LEN 512       /* a dotted key path in a message */


struct key {
    int sec;
    const char *name;
    int type;
    double min, max;     /* bounds of numbers and integers; ±INF: unbounded */
    const char *def;     /* YAML text of the default; NULL: required; "": none */
    size_t off, off2;    /* destination(s) in the section's struct */
    const char *only;    /* "a,b": applies only to these formats/kinds; NULL: all */
    const char *const *choices;
    const char *help;
    int feeds;           /* enum key_feeds: which unit ids hash its value */
    int sub;             /* K_SUB: the nested section (enum sec) */
};

/* --- the table --- */

/* Every key, the learner registry's under learners.<name> included, in
 * table order; *n receives the count. */
const struct key *config_keys(int *n);
/* k's default for an entry of format or kind word (learner keys have one
 * per kind); k->def when word is NULL or the key has one for all. */
const char *config_key_default(const struct key *k, const char *word);

/* The key called name in section sec, or NULL. */
const struct key *config_find_key(int sec, const char *name);
/* Does `only` ("a,b") list word? NULL lists every word. */
bool config_applies(const char *only, const char *word);

/* --- one value --- */

/* Parse n into key k's destination in base, freeing what it held before (a
 * value parsed twice leaks nothing); path names it in messages. */
int config_parse_value(const struct key *k, const struct yt_node *n, const char *path,
                       char *base, struct err *e);
/* Free what every key of section sec owns in base (strings) and forget it. */
void config_free_section(int sec, char *base);
void config_free_strs(char **v, int n);

/* --- messages --- */

/* name is not a key of sec (or not one for word, "a learner of kind" what):
 * lists the section's keys or suggests the nearest. Returns ERR_USAGE. */
int config_unknown_key(int sec, const char *name, const struct yt_node *at, const char *path,
                       const char *word, const char *what, struct err *e);
int config_not_a_map(const struct yt_node *n, const char *path, struct err *e);
int config_nomem(struct err *e);
/* What a node is, for "expected …, got …": a list, a map, nothing, "text". */
void config_got_text(const struct yt_node *n, char *buf, size_t cap);
/* The type of a key in the words its error messages use ("an integer in
 * [1, 5]", "sgd or adam"). */
void config_type_text(const struct key *k, char *buf, size_t cap);
/* " (did you mean "x"?)" when near is not NULL, else "". */
const char *config_hint(const char *near, char *buf, size_t cap);
/* "a, b or c" (conj " or ") or "a, b and c" (conj " and ") into buf. */
void config_list_words(const char *const *w, int n, const char *conj, char *buf, size_t cap);
/* "prefix.name", or name alone at the top level, into buf[PATH_LEN]. */
void config_join(char *buf, const char *prefix, const char *name);

/* --- small helpers --- */

struct cfg_where config_where_of(const struct yt_node *n);
char *config_dupstr(const char *s);     /* NULL: out of memory */

#endif
