/* data: everything an experiment reads, loaded once and checked before any work.
 *
 * A store holds each (data source, split, seed) a plan needs as a dataset —
 * file sources once whatever the seed, synthetic families once per seed —
 * plus each source's preprocessing, and the resolved class sets of the
 * source and of every target. All checks that need the data (class labels
 * exist, every source class has examples, targets do not overlap the
 * source, enough examples per class, ways fit the classes, input sizes and
 * task kinds agree, no noise on sinusoid targets) happen in data_prepare, so
 * a wrong experiment fails with exit status 2 before anything runs.
 * Read-only afterwards: workers share it without locks, and samplers and
 * views point into entries, which is sized once and never moved. */
#ifndef KSHOT_DATA_H
#define KSHOT_DATA_H

#include <stdint.h>

#include "harness/base/err.h"
#include "harness/config.h"
#include "tasks/dataset.h"
#include "tasks/preprocess.h"
#include "tasks/sampler.h"
#include "tasks/synth.h"
#include "tasks/transform.h"

struct store_entry {
    const struct cfg_data *cfg;
    char split[8];         /* "train" or "test" */
    long seed;             /* synthetic sources; -1 for files */
    struct dataset own;    /* loaded by this store (empty when borrowed) */
    const struct dataset *d; /* &own, or the same data set loaded by an earlier store */
};

struct store_pre {         /* preprocessing of one data source (for one seed) */
    const struct cfg_data *cfg;
    long seed;
    struct preprocess p;   /* dim 0: identity */
};

/* A target ready to draw episodes from, for one seed. */
struct target_view {
    const struct cfg_target *cfg;
    long seed;
    uint64_t key;                  /* rng_hash_str(target name) */
    const struct dataset *d;       /* NULL for sinusoid targets */
    const struct preprocess *pre;
    const struct sampler *sampler; /* classification targets: &own, or an equal one an
                                      earlier store built (sweep variants share it) */
    struct sampler own;
    struct transform transforms[3];/* permutation, rotation, noise (identity when unused) */
    struct sinusoid sine;          /* sinusoid targets */
    int dim;                       /* input features */
};

struct preload;                    /* data.c's, while data_prepare runs */

struct store {
    const struct store *const *share;  /* earlier stores whose data sets may be borrowed */
    int n_share;
    int n, cap;
    struct store_entry *entries;
    int n_pre;
    struct store_pre *pres;
    int n_views;
    struct target_view *views;     /* (seeds × targets), seed-major */
    int n_preloads;                /* file splits loaded ahead (only while preparing) */
    struct preload *preloads;
    const struct experiment *x;
};

/* Load and check everything experiment x needs (x must outlive the store). */
int data_prepare(struct store *s, const struct experiment *x, struct err *e);
/* The same, borrowing every data set that one of share[0..n_share) already
 * loaded from the same files (or generated with the same settings and
 * seed) instead of loading it again: sweep variants share one copy. The
 * shared stores must outlive s. With threads ≥ 2, the files it reads are
 * decompressed that many at a time; the data sets, and the first error
 * when one fails, are those of one at a time. */
int data_prepare_shared(struct store *s, const struct experiment *x,
                        const struct store *const *share, int n_share, int threads,
                        struct err *e);
void data_free(struct store *s);

/* Lookups (NULL when not prepared). */
const struct dataset *data_get(const struct store *s, const char *name, const char *split, long seed);
const struct preprocess *data_pre(const struct store *s, const char *name, long seed);
const struct target_view *data_view(const struct store *s, long seed, int target);

/* Source rows of one seed: its dataset, and rows/labels 0..n_classes-1 in the
 * order of the resolved source classes. Arrays are malloc'd; free them. */
int data_source_rows(const struct store *s, long seed, const struct dataset **d,
                     int **rows, int **labels, int *n_rows, int *n_classes, int **class_ids,
                     struct err *e);

/* CRC32 over everything a data source contributes to a unit: the dataset
 * checksums of its splits (seed-specific for synthetic sources) and the
 * preprocessing values. */
uint32_t data_fingerprint(const struct store *s, const char *name, long seed);

#endif
