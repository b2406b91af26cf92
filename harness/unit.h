/* unit: running one unit of a plan — a pretraining, or evaluated episodes.
 *
 * A unit computes in memory and hands back its CSV rows as text; the runner
 * writes them as parts/<id>.csv in one atomic step, so a unit's rows appear
 * whole or not at all. Both kinds poll *stop between minibatches or
 * episodes and return ERR_STOPPED when it is set. Nothing here writes
 * files except the checkpoint the pretraining leaves (atomically, through
 * ckpt_write). */
#ifndef KSHOT_UNIT_H
#define KSHOT_UNIT_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/base/err.h"
#include "harness/energy.h"
#include "harness/plan.h"
#include "learners/mlp.h"

struct unit_costs {
    double cpu_s, wall_s;   /* this thread's CPU time and wall time */
    uint64_t flops;         /* operations counted by the engine */
    _Atomic long episodes;  /* eval: episodes adapted so far (read live by the progress line) */
    const struct energy_meter *em;  /* set by the caller: how joules are found (NULL: none) */
    double joules;          /* measured share of the package energy (energy.h), when measured */
    bool estimated;         /* some piece could not be measured: report the estimate */
    /* eval: the part of the above each probe took (by the job's probe order) */
    int n_probes;
    struct probe_cost {
        const char *name;
        double cpu_s;
        uint64_t flops;
    } probes[CFG_MAX_LIST];
};

/* Add b's costs to a's, probe by probe (the blocks of one unit). */
void unit_costs_add(struct unit_costs *a, const struct unit_costs *b);

/* The unit's joules and their method: the measured share when every piece
 * of it was measured, else cpu_s × watts_per_core. */
double unit_joules(const struct unit_costs *c, const char **method);

/* What a pretrain unit makes: a network, and the state its learner keeps
 * beside it (a kind's own pretraining; e.g. learned rates). */
struct pretrained {
    struct mlp net;
    float *extra;           /* (n_extra) */
    size_t n_extra;
};

void pretrained_free(struct pretrained *p);

/* Pretrain unit u of plan p — the shared supervised pretraining, or its
 * learner's own — : train, write the checkpoint to ckpt_path, put its
 * pretrain.csv part (header-less CSV text) in *rows. *out receives what it
 * made (pretrained_free it). */
int unit_pretrain(const struct plan *p, const struct unit *u, const char *ckpt_path,
                  struct pretrained *out, char **rows, struct unit_costs *c,
                  volatile sig_atomic_t *stop, struct err *e);

/* An eval unit, its episodes run in blocks, on one worker or several:
 * what the blocks share (the learner's settings and network, the features
 * of every image its episodes draw when the learner has frozen layers),
 * read only while blocks run. Episode i's rows do not depend on the block
 * it runs in: its episode and its learner's randomness are keyed by i. */
struct eval_job;

/* Feature tables the eval units of a run share: units that draw the same
 * images (one target view and shot count) through the same frozen layers
 * of the same pretrained network compute their table once — the same bits
 * as each computing its own. A table no job holds is kept while the kept
 * ones fit in budget bytes, the least recently taken dropped first.
 * Thread-safe. NULL when out of memory. */
struct table_cache;
struct table_cache *table_cache_new(size_t budget);
void table_cache_free(struct table_cache *tc);

/* What a run keeps (memory.h counts it). */
#define TABLES_KEPT_BYTES ((size_t)128 << 20)

/* Prepare eval unit u (pre: the pretraining it reuses, NULL for learners
 * without one), its table from tc when a unit made it before (tc NULL: its
 * own); its costs are added to *c (a table taken from tc costs nothing).
 * Every recorded step of every episode then comes from eval_job_run over
 * the unit's episodes, in blocks or at once. */
int eval_job_new(const struct plan *p, const struct unit *u, const struct pretrained *pre,
                 struct table_cache *tc, struct eval_job **out, struct unit_costs *c,
                 volatile sig_atomic_t *stop, struct err *e);
/* Episodes first..end-1: *rows gets their episodes.csv rows, in episode
 * order; costs (this thread's) added to *c, c->episodes counted live. */
int eval_job_run(struct eval_job *j, long first, long end, char **rows, struct unit_costs *c,
                 volatile sig_atomic_t *stop, struct err *e);
void eval_job_free(struct eval_job *j);

#endif
