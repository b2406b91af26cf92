/* plan: the ordered list of units an experiment consists of, each with a stable id.
 *
 * A sweep's variants are expanded first (each a full experiment parsed from
 * the resolved tree with the variant's values applied; its nodes keep their
 * positions in the user's file, a swept value that of its sweep entry). Then, per variant
 * and seed: the pretrain unit (if any learner reuses a pretrained network)
 * and one eval unit per (target, learner, shots) covering all its episodes.
 * A unit's id is a 128-bit hash (32 hex digits) of a canonical text of
 * everything that determines its numbers: format version, BLAS core, data
 * fingerprints (contents and preprocessing), the resolved value of every
 * key whose schema row feeds that kind of unit (config_hash), the target's
 * name (it keys the episodes), the shot count and the seed. Names that are
 * only labels — the experiment's, a variant's, a learner's — are not part
 * of it. Equal ids are one unit, computed once: a sweep over a learner's lr
 * shares the pretraining and every other learner's evaluation; two learner
 * keys with the same settings share theirs (the later units point at the
 * first through same_as). Planning is pure: it reads the prepared data but
 * computes nothing. */
#ifndef KSHOT_PLAN_H
#define KSHOT_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "harness/base/err.h"
#include "harness/config.h"
#include "harness/data.h"
#include "harness/yamltree.h"

#define PLAN_FORMAT 3   /* bump when a unit's numbers or parts change meaning */

enum unit_kind { UNIT_PRETRAIN, UNIT_EVAL };

struct variant {
    char name[512];        /* "base", or "path=value;path=value" in sweep order */
    struct experiment x;
    struct store store;    /* its data, loaded by plan_prepare */
};

struct unit {
    int kind;              /* enum unit_kind */
    char id[33];           /* 32 hex digits */
    int variant;           /* index into plan.variants (the first that needs it) */
    long seed;
    int target, learner;   /* eval: indices into the variant's experiment */
    long shots;            /* eval; pretrain: its own pretraining's shots (0: not per shot count) */
    long queries;          /* pretrain: query rows per class (or points) of its own
                              pretraining's tasks; 0 when it reads none */
    int pretrain;          /* eval: index of the pretrain unit it reuses, or -1 */
    int same_as;           /* eval: index of the first unit with this id (computed once,
                              shared by every unit with the id), or -1 for that first */
    uint64_t flops;        /* estimated operations */
};

#define PLAN_MAX_VARIANTS 4096
#define PLAN_MAX_CONFIG_BYTES ((size_t)1 << 30)   /* the variants' configurations, in all */

struct plan {
    int n_variants;
    size_t config_bytes;   /* what the variants' configurations and stores hold */
    struct variant *variants;
    int n_units, cap;
    struct unit *units;
    char core[128];        /* kernels the ids were made for (blas_info.kernels) */
    const struct store **shared; /* (n_variants) stores prepared so far, lent to later variants */
};

/* The cue_conflict probe whose textures the shared supervised pretraining's
 * images carry (cue_in_source; the first such), or NULL. */
const struct cfg_probe *plan_source_cue(const struct experiment *x);

/* Expand the sweep of base (parsed from doc) into variants. */
int plan_variants(struct plan *p, const struct yt_doc *doc, const struct experiment *base,
                  struct err *e);
/* Load every variant's data (data_prepare_shared, files read `threads` at a time). */
int plan_prepare(struct plan *p, int threads, struct err *e);
/* Build the units; core names the BLAS kernel in use. */
int plan_build(struct plan *p, const char *core, struct err *e);
void plan_free(struct plan *p);

/* Pretrain units needed by any learner of x? */
bool plan_needs_pretrain(const struct experiment *x);

/* Print the plan as `kshot plan` shows it; gflops is the measured rate. */
void plan_print(const struct plan *p, FILE *out, double gflops);

/* The experiment's network for inputs of size dim and out outputs. */
struct mlp_arch plan_arch(const struct experiment *x, int dim, int out);

#endif
