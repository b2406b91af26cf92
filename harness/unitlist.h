/* unitlist: the plan's units with their labels, as units.csv holds them.
 *
 * Every run writes the list of its plan into the results directory before
 * it computes (atomically; shards of one plan write the same bytes), so
 * that the combined files can be rebuilt from parts/ and this list alone:
 * by the run that completes the plan, and by `kshot merge` on a login node
 * that has neither the data nor the config file. A unit appears once per
 * label (two learner keys with one setting share a unit id); costs.csv
 * lists such a unit once, under its first label.
 * Not here: reading parts, writing combined files (results). */
#ifndef KSHOT_UNITLIST_H
#define KSHOT_UNITLIST_H

#include <stdbool.h>

#include "harness/base/err.h"
#include "harness/plan.h"

#define UNITLIST_MAX_THRESHOLDS CFG_MAX_LIST

struct ulabel {
    char id[33];
    int kind;                      /* enum unit_kind */
    bool first;                    /* the first label of its id */
    char *experiment, *variant, *source, *target, *learner;   /* NULL: empty */
    long seed;
    long shots;                    /* eval: the count; pretrain: 0 when not per shot count */
    long ways;                     /* eval: classes per episode, 0 for regression */
    int n_thresholds;              /* eval: the target's thresholds */
    double thresholds[UNITLIST_MAX_THRESHOLDS];
};

struct unitlist {
    int n;
    struct ulabel *u;
    char *baseline;                /* the gains' learner, or NULL */
    char core[128];                /* kernels the ids were made for */
};

/* The labels of plan p's units, in plan order. */
int unitlist_from_plan(struct unitlist *l, const struct plan *p, struct err *e);

/* dir/units.csv. */
void unitlist_path(const char *dir, char *buf, size_t cap);

/* Write l as dir/units.csv (atomically). */
int unitlist_write(const char *dir, const struct unitlist *l, struct err *e);

/* Read dir/units.csv: ERR_USAGE when it is missing (not a results
 * directory, or one written before kshot kept it), ERR_IO naming the file,
 * record and column when it cannot be read as a unit list. */
int unitlist_read(const char *dir, struct unitlist *l, struct err *e);

void unitlist_free(struct unitlist *l);

#endif
