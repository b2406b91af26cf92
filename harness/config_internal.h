/* config_internal: the schema table and the helpers config_schema.c shares with config.c.
 *
 * Private to harness/config*.c: everything else includes config.h. A key of
 * config_schema[] writes its value at off (and off2) into the struct of its
 * section — struct experiment for S_TOP, S_NETWORK and S_OUTPUT, struct
 * cfg_data for S_DATA, and so on — so sections are parsed and freed through
 * a char * to that struct. */
#ifndef KSHOT_CONFIG_INTERNAL_H
#define KSHOT_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/base/err.h"
#include "harness/config.h"
#include "harness/yamltree.h"

#define PATH_LEN 512       /* a dotted key path in a message */

enum sec { S_TOP, S_DATA, S_NETWORK, S_SOURCE, S_TRAIN, S_TARGET, S_LEARNER, S_OUTPUT, N_SEC };

enum ktype {
    K_STR,     /* a string (char *) */
    K_INT,     /* long in [min, max] */
    K_NUM,     /* finite double in [min, max] */
    K_BOOL,
    K_ENUM,    /* one of choices; stored as its index (int) */
    K_WORD,    /* one of choices; stored as a string (char *) */
    K_KIND,    /* a learner kind from the registry (int) */
    K_INTS,    /* distinct longs in [min, max]: count (int) at off, long[] at off2; a scalar is
                  a list of one; empty only when the default is "[]" */
    K_WIDTHS,  /* layer widths in [min, max] like K_INTS, but repeats allowed, empty allowed,
                  at most MLP_MAX_LAYERS - 1 (the head is the last layer) */
    K_RANGE,   /* [lo, hi], finite, lo ≤ hi (double[2]) */
    K_LABELS,  /* distinct class labels as written (struct cfg_labels) */
    K_STRS,    /* distinct strings: count (int) at off, char *[] at off2 */
    K_FREEZE,  /* none | body | [layer, …] into a learner_settings' freeze fields */
    K_SUB,     /* the nested section source.train (the only one) at off */
    K_MAP,     /* a map handled by dedicated code (data, targets, learners, sweep, probes) */
};

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
};

/* --- the table --- */

extern const struct key config_schema[];
extern const int config_n_keys;
extern const char *const config_formats[];  /* enum data_format, NULL-terminated */

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
