/* columns: the CSV contract — every file kshot writes, its columns in order and what each means.
 *
 * Each file is a layout: a table of columns, named in one place, addressed
 * everywhere else by the enum below it. Writers fill a record column by
 * column (csvout.h's csvrec) and readers get fields indexed by the same
 * enum, so no code counts commas. The README's column tables are printed
 * from these tables (`kshot help files --markdown`), and a test compares them.
 *
 * A unit's part file holds the columns whose values its numbers determine:
 * a suffix of its combined file (from `part_first` on). The columns before
 * it (experiment, variant, seed, the names of source, target and learner…)
 * are labels the plan supplies when the combined file is rebuilt, so a
 * unit's part serves every label that uses it (two experiments sharing a
 * results directory's pretraining, two learner keys with one setting).
 * Not here: writing and quoting (csvout), what fills a column (results,
 * unit, summary). */
#ifndef KSHOT_COLUMNS_H
#define KSHOT_COLUMNS_H

#include <stdbool.h>
#include <stdio.h>

#include "harness/base/err.h"
#include "harness/csvout.h"

struct column {
    const char *name;
    const char *help;      /* one line for the README's table */
};

struct layout {
    const char *file;      /* the combined file's name */
    const char *help;      /* what a row is */
    int n;                 /* columns */
    const struct column *cols;
    int part_first;        /* parts hold columns [part_first, n); n: no parts */
};

/* episodes.csv: one row per measured value. */
enum episodes_col {
    EP_EXPERIMENT, EP_VARIANT, EP_SEED, EP_SOURCE, EP_TARGET, EP_LEARNER, EP_WAYS, EP_SHOTS,
    EP_EPISODE, EP_STEP, EP_PROBE, EP_PARAM, EP_METRIC, EP_VALUE, EP_STATUS, EP_N
};

/* summary.csv: per cell and seed, and pooled. The cell key is SUM_EXPERIMENT
 * through SUM_METRIC, each named as in episodes.csv. */
enum summary_col {
    SUM_EXPERIMENT, SUM_VARIANT, SUM_SOURCE, SUM_TARGET, SUM_LEARNER, SUM_WAYS, SUM_SHOTS,
    SUM_STEP, SUM_PROBE, SUM_PARAM, SUM_METRIC, SUM_SEED, SUM_N, SUM_N_FAILED, SUM_MEAN,
    SUM_STD, SUM_CI95, SUM_N_COLS
};
#define SUM_N_KEY (SUM_METRIC + 1)

/* pretrain.csv: one row per pretraining unit. */
enum pretrain_col {
    PRE_EXPERIMENT, PRE_UNIT, PRE_SEED, PRE_SOURCE, PRE_LEARNER, PRE_SHOTS, PRE_CLASSES,
    PRE_EXAMPLES, PRE_TRAIN_LOSS, PRE_SOURCE_TEST_ACCURACY, PRE_STATUS, PRE_N
};

/* costs.csv: one row per unit and phase. */
enum costs_col {
    COST_EXPERIMENT, COST_VARIANT, COST_SEED, COST_UNIT, COST_KIND, COST_TARGET, COST_LEARNER,
    COST_SHOTS, COST_EPISODES, COST_PHASE, COST_CPU_SECONDS, COST_WALL_SECONDS, COST_FLOPS,
    COST_JOULES, COST_JOULES_METHOD, COST_PEAK_RSS_KB, COST_BLAS_CORE, COST_N
};

/* cost_summary.csv: costs summed per group, and per adapted task. */
enum cost_summary_col {
    CS_EXPERIMENT, CS_VARIANT, CS_KIND, CS_TARGET, CS_LEARNER, CS_SHOTS, CS_UNITS, CS_EPISODES,
    CS_FLOPS_TOTAL, CS_CPU_SECONDS_TOTAL, CS_FLOPS_PER_TASK, CS_CPU_SECONDS_PER_TASK,
    CS_WALL_SECONDS_PER_TASK, CS_SUPPORT_EXAMPLES_PER_TASK, CS_JOULES_TOTAL, CS_JOULES_PER_TASK,
    CS_WATTS, CS_WATTS_VS_BRAIN, CS_JOULES_METHOD, CS_JOULES_PER_GAIN_POINT, CS_N
};

/* units.csv: the labelled unit list a run writes beside its parts, from
 * which `kshot merge` rebuilds the combined files. */
enum units_col {
    UNITS_UNIT, UNITS_KIND, UNITS_EXPERIMENT, UNITS_VARIANT, UNITS_SEED, UNITS_SOURCE,
    UNITS_TARGET, UNITS_LEARNER, UNITS_WAYS, UNITS_SHOTS, UNITS_THRESHOLDS, UNITS_BASELINE,
    UNITS_BLAS_CORE, UNITS_N
};

extern const struct layout columns_episodes;
extern const struct layout columns_summary;
extern const struct layout columns_pretrain;
extern const struct layout columns_costs;
extern const struct layout columns_cost_summary;
extern const struct layout columns_units;

/* Every layout, in the README's order; NULL-terminated. */
extern const struct layout *const columns_all[];

/* Index of the column called name in l, or -1. */
int columns_find(const struct layout *l, const char *name);

/* Write the names of columns [first, n) of l as a header row. 0, or
 * csvout_write_row's code. */
int columns_header(FILE *fp, const struct layout *l, int first);

/* Read path, whose header must be columns [first, n) of l; fn gets each
 * record's fields indexed by l's enum (columns before first are NULL).
 * Errors as csvin_read's. */
/* +1 when a higher value of metric is better, −1 when lower is (mse, loss,
 * forgetting, the switch rates, mse_zero): how gains and comparisons orient
 * a difference so that positive means better. */
int columns_metric_sign(const char *metric);

/* The same from an open stream, named name in messages. */
int columns_read_stream(FILE *fp, const char *name, const struct layout *l, int first,
                        csvin_row_fn fn, void *ctx, struct err *e);
int columns_read(const char *path, const struct layout *l, int first, csvin_row_fn fn,
                 void *ctx, struct err *e);

/* `kshot help files`: every file with its columns; markdown =
 * true prints the README's tables, each between
 * <!-- columns:FILE:begin --> and <!-- columns:FILE:end --> markers. */
void columns_help(FILE *out, bool markdown);

#endif
