/* unit_impl: what harness/unit.c shares with harness/unit_probe.c (private
 * to the two) — an evaluation job's state, an episode's buffers, the
 * recorder that writes a part's rows, and the per-episode extras the job
 * runs after adaptation: forgetting and the robustness probes.
 *
 * unit.c draws episodes, adapts and scores them; unit_probe.c scores the
 * adapted model on the source (forgetting) and under the probes, writing
 * its rows through the same recorder. */
#ifndef KSHOT_UNIT_IMPL_H
#define KSHOT_UNIT_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "harness/config.h"
#include "harness/data.h"
#include "harness/probe.h"
#include "harness/unit.h"
#include "harness/csvout.h"
#include "learners/learner.h"
#include "tasks/preprocess.h"
#include "tasks/sampler.h"

/* One episode as the learner sees it, plus what scoring needs. */
struct episode_data {
    struct fewshot t;
    float *s, *q;               /* (S, dim), (Q, dim) inputs; with a table, (S, width) and
                                   (Q, width) features */
    float *ts, *tq;             /* (S, 1), (Q, 1) regression targets */
    int *yq;                    /* (Q) query labels */
    struct episode ep;
};

/* The features of every image a unit's episodes draw, through the learner's
 * frozen layers: computed once per image before the episodes run (or taken
 * from another unit of the run that drew the same images: unit_tables.c),
 * and gathered by every episode that draws the image. */
struct features {
    int depth, width;           /* depth 0: no table */
    int *slot;                  /* (dataset rows) row's row in f, or -1 */
    float *f;                   /* (rows drawn, width) */
};

/* A table larger than this is not made: the episodes compute their features. */
#define FEATURES_MAX_BYTES ((size_t)512 << 20)

/* Forgetting: the pretrained source head on the adapted body, scored on a
 * fixed sample of the source test split, before adaptation minus after. */
struct forgetting {
    int n;                      /* sample rows; 0: no forgetting rows */
    bool frozen;                /* the body never changes: 0 exactly, nothing computed */
    float *x;                   /* (n, dim) the sample's inputs */
    int *y;                     /* (n) their source labels 0..k−1 */
    int k;                      /* source classes: the head's outputs */
    double before;              /* the pretrained network's accuracy on the sample */
};

/* A block's scratch for forgetting_of (blocks of a unit run at once). */
struct forgetting_work {
    float *f, *logits;          /* (n, width), (n, k) */
};

struct eval_job {
    const struct plan *p;
    const struct unit *u;
    const struct target_view *tv;
    const struct cfg_learner *lc;
    struct learner_env env;
    struct features ft;         /* the table's, or depth 0 */
    struct table *table;        /* the table it holds (unit_tables.c), or NULL */
    struct table_cache *tables; /* where it came from, or NULL: its own */
    struct forgetting fg;
    const struct cfg_probe *probes[CFG_MAX_LIST];   /* the probes run on its models */
    int n_probes;
    struct probe_space space;   /* the target's inputs, for the probes */
};

/* A block's scratch for the probes: rows of (max(n_support, n_query), dim). */
struct probe_work {
    float *x0, *s0, *x, *g, *xs, *xq;   /* x0, s0: the raw queries and support */
    int *pos, *y, *cue;
    float *tex;                 /* (ways, dim) the episode's class cues */
};

struct recorder {
    const struct episode_data *ed;
    long episode;
    int last_step;              /* the step of the last record (−1: a kind without steps) */
    const char *probe;          /* the rows' probe (NULL: clean inputs) and its parameter */
    double param;
    float *scores;              /* (n_query, out_dim) */
    struct csvrec row;          /* the part's columns of episodes.csv */
    FILE *out;
    int n_rows;
    struct err *e;
};


/* ---- unit.c ---- */

/* Rows as floats, preprocessed. */
void unit_rows_to_floats(const struct dataset *d, const struct preprocess *pre, const int *idx,
                         int n, float *out);
/* Dataset rows of a target view as the learner's inputs (preprocessed, transformed). */
int eval_inputs(const struct target_view *tv, const int *rows, int n, float *x, struct err *e);
/* One row of the current episode: metric's value after step (−1: none). */
int eval_put(struct recorder *rc, int step, const char *metric, double value, const char *status);
/* The query metrics of rc->scores after step. */
int eval_emit(struct recorder *rc, int step, bool logits);

/* ---- unit_tables.c ---- */

/* j's feature table, when its learner has frozen layers and its target
 * draws dataset rows: taken from tc when a unit of the run made the same
 * one, else computed (its operations added to *flops) and, with tc, kept
 * there for others. Leaves j->ft.depth 0 when there is nothing to share or
 * the table would be too large. */
int eval_table_take(struct eval_job *j, struct table_cache *tc, uint64_t *flops,
                    volatile sig_atomic_t *stop, struct err *e);
/* Let j's table go: freed, or left to tc's budget. */
void eval_table_release(struct eval_job *j);

/* ---- unit_probe.c ---- */

/* Forgetting: the sample and the pretrained accuracy (once per job), a
 * block's scratch, and one adapted model's forgetting. */
int eval_forgetting_init(struct eval_job *j, uint64_t *flops, struct err *e);
void eval_forgetting_free(struct forgetting *fg);
int eval_forgetting_work_init(struct forgetting_work *w, const struct eval_job *j, struct err *e);
void eval_forgetting_work_free(struct forgetting_work *w);
int eval_forgetting_of(const struct eval_job *j, struct forgetting_work *w,
                       struct learner_model *m, double *out, uint64_t *flops, struct err *e);

/* The probes of a job, a block's scratch, and every probe on the final
 * model m of episode i (cue conflict last: it adapts l again). */
int eval_probes_init(struct eval_job *j, struct err *e);
int eval_probe_work_init(struct probe_work *w, const struct eval_job *j, const struct fewshot *t,
                         struct err *e);
void eval_probe_work_free(struct probe_work *w);
int eval_run_probes(const struct eval_job *j, struct probe_work *w, struct recorder *rc,
                    const struct episode_data *ed, struct learner *l, struct learner_model *m,
                    long i, struct unit_costs *c, struct err *e);

#endif
