/* config: the experiment file — one schema table, parsed and validated into plain structs.
 *
 * Every key kshot accepts is declared once in config_schema.c's schema table
 * (type, bounds, default, destination, help); parsing, validation, `kshot
 * help config`, the README's key list and the "unknown key, did you mean"
 * error all read it. An experiment is loaded from a YAML tree (yamltree.h)
 * after the command line's KEY=VALUE overrides were applied to that tree,
 * and a sweep is resolved by applying each variant's values the same way.
 * Errors are located: `FILE:LINE:COL: key.path: what is wrong (expected …)`.
 * Not here: loading the data a config names (runner), planning units (plan). */
#ifndef KSHOT_CONFIG_H
#define KSHOT_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "harness/base/err.h"
#include "harness/yamltree.h"
#include "learners/learner.h"
#include "learners/mlp.h"

#define CFG_MAX_LIST 64

enum data_format { FMT_IDX, FMT_CSV, FMT_SINUSOID, FMT_CLUSTERS };
extern const char *const config_formats[];  /* by enum data_format, NULL-terminated */

/* Sections of the experiment file; each key of the schema belongs to one. */
enum sec { S_TOP, S_DATA, S_NETWORK, S_SOURCE, S_TRAIN, S_TARGET, S_LEARNER, S_META, S_OUTPUT,
           S_ENERGY, S_PROBE, N_SEC };

/* Where a value came from, for errors found after parsing (e.g. a class
 * that the data does not have). */
struct cfg_where {
    char file[256];            /* a copy: the YAML tree may be gone */
    int line, col;
};

struct cfg_labels {            /* a list of class labels as written (ids or names) */
    int n;                     /* 0: every class of the data */
    char *v[CFG_MAX_LIST];
    struct cfg_where where;
};

struct cfg_data {
    char *name;                /* key under data: */
    int format;                /* enum data_format */
    char *dir;                 /* idx: directory with train-/t10k- files */
    char *images, *labels;     /* idx: explicit train files */
    char *test_images, *test_labels;
    char *path;                /* csv */
    char *label;               /* csv: label column (name or index) */
    int n_targets;             /* csv regression targets */
    char *targets[CFG_MAX_LIST];
    int n_features;            /* csv features (0: all other columns) */
    char *features[CFG_MAX_LIST];
    double scale;              /* divide features by this (0: no scaling) */
    bool standardise;          /* per-feature z-score from the source rows */
    double amplitude[2], phase[2], x[2];  /* sinusoid ranges */
    long size;                 /* sinusoid: points per pretraining epoch */
    long classes, dim, per_class;         /* clusters */
    double separation;
    struct cfg_where where;
};

struct cfg_train {
    long epochs;
    long batch;
    int optimizer;             /* enum optim_kind */
    double lr, momentum, weight_decay;
    double beta1, beta2, epsilon;   /* Adam's */
};

struct cfg_source {
    char *data;
    char *split;
    struct cfg_labels classes;
    struct cfg_train train;
    struct cfg_where where;
};

struct cfg_target {
    char *name;
    char *data;
    char *split;
    char *role;                /* "test", or "validation": where compare chooses a sweep's variant */
    struct cfg_labels classes;
    long ways;
    int n_shots;
    long shots[CFG_MAX_LIST];
    long queries;
    long episodes;
    int n_thresholds;
    double thresholds[CFG_MAX_LIST];   /* of the primary metric, for shots_to_threshold */
    long forgetting;           /* source test images the forgetting metric scores (0: none) */
    bool allow_overlap;        /* classes may overlap the source's */
    bool permute;              /* a fixed pixel permutation for this target */
    double rotate;             /* degrees */
    double noise;              /* std of additive Gaussian noise */
    struct cfg_where where;
};

struct cfg_learner {
    char *name;                /* key under learners: (the CSV's learner column) */
    struct learner_settings s; /* kind and everything it adapts with */
    struct cfg_where where;
};

struct cfg_probe {
    char *name;                /* key under probes: (the CSV's probe column) */
    int kind;                  /* enum probe_kind (harness/probe.h) */
    int n_eps;
    double eps[CFG_MAX_LIST];  /* fgsm, pgd: perturbation sizes, in input units after scale */
    int n_sigma;
    double sigma[CFG_MAX_LIST];/* noise: standard deviations, in input units after scale */
    long steps;                /* pgd, patch */
    bool random_start;         /* pgd */
    int n_size;
    long size[CFG_MAX_LIST];   /* patch: side lengths in pixels */
    double lr;                 /* patch: the optimisation's step, in input units */
    int n_strength;
    double strength[CFG_MAX_LIST];  /* cue_conflict: texture blend strengths */
    bool cue_in_source;        /* cue_conflict: the supervised pretraining's images carry their
                                  classes' textures too, at the first strength */
    int n_learners;            /* 0: every learner the probe can take */
    char *learners[CFG_MAX_LIST];
    struct cfg_where where;
};

struct cfg_sweep {
    char *path;                /* dotted key path */
    int n_values;
    char **values;             /* (n_values) flow-YAML text of each value */
};

#define CFG_MAX_SWEEP 8        /* swept keys */

struct experiment {
    char *file;                /* the experiment file as given */
    char *name;
    int n_seeds;
    long seeds[CFG_MAX_LIST];
    int n_data;
    struct cfg_data *data;     /* (n_data): sized to the file, so a sweep's many variants
                                  each hold only what their file declares */
    long hidden[MLP_MAX_LAYERS];
    int n_hidden;
    int activation;            /* enum act */
    int init;                  /* enum init_kind */
    struct cfg_source source;
    int n_targets;
    struct cfg_target *targets;   /* (n_targets) */
    int n_learners;
    struct cfg_learner *learners; /* (n_learners) */
    int n_probes;
    struct cfg_probe *probes;  /* (n_probes) */
    int n_sweep;
    struct cfg_sweep *sweep;   /* (n_sweep) */
    char *output_dir;          /* NULL: results/<name> */
    char *baseline;            /* a learner's name, or NULL: config_baseline decides */
    double watts_per_core;     /* energy.watts_per_core: the estimate's power per busy core */
    char *powercap;            /* energy.powercap: where the RAPL counters are looked for */
};

/* Whether probe p runs on learner l's models: l is listed (or nothing is),
 * and the probe needs no input gradient or l's kind has one. */
bool config_probe_applies(const struct cfg_probe *p, const struct cfg_learner *l);

/* The learner others are compared with (summary.csv's transfer_gain): the
 * one `baseline:` names, else the only learner of a kind the registry marks
 * as the no-transfer baseline (learner_kind.baseline). Its index, or -1
 * with why (cap bytes, may be NULL) saying why there is none. */
int config_baseline(const struct experiment *x, char *why, size_t cap);

/* Parse and validate a loaded tree into x (zeroed first). On failure x is
 * left zeroed, everything it held freed (config_free on it is harmless). */
int config_from_tree(const struct yt_doc *doc, struct experiment *x, struct err *e);

/* Load file, apply overrides ("a.b=v", argno counts from 1), parse. On
 * success *doc_out (if not NULL) keeps the resolved tree for run.yaml; on
 * failure x and *doc_out are left empty. */
int config_load(const char *path, char *const *overrides, int n_overrides,
                struct experiment *x, struct yt_doc *doc_out, struct err *e);

void config_free(struct experiment *x);

/* Bytes x holds (its struct, its entries and the text it owns): what each
 * sweep variant costs in memory. */
size_t config_footprint(const struct experiment *x);

/* Lookups by key; NULL when absent. */
const struct cfg_data *config_data(const struct experiment *x, const char *name);
/* Whether a data source is a regression family (sinusoid, csv with targets). */
bool config_data_regression(const struct cfg_data *d);

/* err_at at a kept location (w NULL: none): `FILE:LINE:COL: path: message`. */
int config_error(struct err *e, int code, const struct cfg_where *w, const char *path,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Prepend a kept location and path to e's message. */
int config_prefix(struct err *e, const struct cfg_where *w, const char *path);

/* Feed h the values of the keys of one section (sec: the section struct at base; word, the entry's format or
 * kind, selects the keys that apply) that feed the ids selected by feeds
 * (enum key_feeds), each with its name: unit ids are made by walking the
 * resolved values, so no setting that changes a number can be forgotten. */
struct hash128;
void config_hash(struct hash128 *h, int sec, const void *base, const char *word, int feeds);

/* The settings of a learner of kind (an index into learner_kinds[]) whose
 * entry names only its kind: every key at that kind's default. */
int config_learner_defaults(int kind, struct learner_settings *s, struct err *e);

/* `kshot help learners`: every kind, what it does, its keys and defaults. */
void config_help_learners(FILE *out);

/* `kshot help config`: every key with type, default and help, as text;
 * markdown = true writes the README's table. */
void config_help(FILE *out, bool markdown);

#endif
