/* keydef: the shape of one configuration key — name, type, bounds, default,
 * destination, help, and which unit ids it is part of.
 *
 * The experiment schema (harness/config_schema.c) is a table of these, and
 * so is the learner registry's table of learner settings (learners/), which
 * config places under learners.<name>; one shape lets the same code parse,
 * check, document and hash every key wherever it is declared. Here only the
 * shape: what a type accepts is config's business. */
#ifndef KSHOT_KEYDEF_H
#define KSHOT_KEYDEF_H

#include <stddef.h>

enum key_type {
    K_STR,     /* a string (char *) */
    K_INT,     /* long in [min, max] */
    K_NUM,     /* finite double in [min, max] */
    K_BOOL,
    K_ENUM,    /* one of choices; stored as its index (int) */
    K_WORD,    /* one of choices; stored as a string (char *) */
    K_KIND,    /* a learner kind from the registry (int) */
    K_INTS,    /* distinct longs in [min, max]: count (int) at off, long[] at off2; a scalar is
                  a list of one; empty only when the default is "[]" */
    K_NUMS,    /* distinct finite doubles in [min, max]: count (int) at off, double[] at off2; a
                  scalar is a list of one; empty only when the default is "[]" */
    K_WIDTHS,  /* layer widths in [min, max] like K_INTS, but repeats allowed, empty allowed,
                  at most MLP_MAX_LAYERS - 1 (the head is the last layer) */
    K_RANGE,   /* [lo, hi], finite, lo ≤ hi (double[2]) */
    K_LABELS,  /* distinct class labels as written (struct cfg_labels) */
    K_STRS,    /* distinct strings: count (int) at off, char *[] at off2 */
    K_FREEZE,  /* none | body | [layer, …] into a learner_settings' freeze fields */
    K_EACH,    /* an integer in [min, max], or a word (stored as 0): long; the word is
                  choices[0] when choices is set, else each */
    K_SUB,     /* a nested section (source.train, learners.<name>.meta) at off */
    K_MAP,     /* a map handled by dedicated code (data, targets, learners, sweep, probes) */
};

/* Which unit ids a key's value is part of, when its section is one the
 * unit reads (a unit reads the network, its data sources, and the source,
 * target or learner it is about). A key that changes no number — a
 * name, a path whose contents the data checksum covers, a check that only
 * refuses — feeds none, so changing it reuses finished units. */
enum key_feeds {
    FEEDS_NONE = 0,
    FEEDS_PRETRAIN = 1,   /* pretraining units (and, through their ids, the evaluations on them) */
    FEEDS_EVAL = 2,       /* evaluation units */
    FEEDS_BOTH = 3,
    FEEDS_SHARED = 4,     /* the shared supervised pretraining only (its recipe) */
};

/* A learner key whose name is "meta.x" is key x of the nested section
 * learners.<name>.meta (the K_SUB key "meta"). A per-kind default "=k"
 * (learner.h) is the value of the learner's key k. */
struct keydef {
    const char *name;
    int type;                      /* enum key_type */
    double min, max;               /* bounds of numbers and integers; ±HUGE_VAL: unbounded */
    const char *def;               /* YAML text of the default; NULL: required; "": none */
    size_t off, off2;              /* destination(s) in the section's struct */
    const char *const *choices;    /* K_ENUM, K_WORD: the words, NULL-terminated; K_EACH: its word */
    const char *help;
    int feeds;                     /* enum key_feeds */
};

#endif
