/* summary: summary.csv from episodes.csv, and the table of it printed at the end of a run.
 *
 * A cell is every episodes.csv row sharing (experiment, variant, source,
 * target, learner, ways, shots, step, probe, param, metric). summary.csv
 * holds, per cell, one row per seed and then the pooled row (seed = all),
 * cells in order of their first row in episodes.csv and seeds in order of
 * their first row within the cell (DESIGN.md "Outputs"):
 *   experiment,variant,source,target,learner,ways,shots,step,probe,param,
 *   metric,seed,n,n_failed,mean,std,ci95
 * n counts the values summarised; an empty value (a diverged episode, or a
 * value that does not apply) is left out of n, mean, std and ci95 and
 * counted in n_failed instead. The pooled row's n and n_failed are sums over
 * the seeds; its statistics are stats_pool_seeds' (see harness/stats.h).
 * mean, std and ci95 are printed "%.9g", empty when they do not apply.
 *
 * Not here: which rows episodes.csv holds (results), the statistics
 * themselves (stats), the row status column (only the value's emptiness
 * counts). */
#ifndef KSHOT_SUMMARY_H
#define KSHOT_SUMMARY_H

#include <stdio.h>

#include "harness/base/err.h"

/* Read episodes_path (its header must be columns_episodes') and write
 * summary_path atomically (fsutil's afile). With a baseline (a learner's
 * name; NULL: none), the cells of every other learner's primary metric
 * (accuracy; mse with its sign flipped) follow as metric transfer_gain —
 * per episode, the learner's value at each step minus the baseline's at
 * its final step on the same episode (same experiment, variant, source,
 * target, ways, shots, probe, param, seed and episode), summarised like
 * any cell — each followed by its negative_transfer rows (per seed and
 * pooled: mean 1 when the gain's ci95 interval lies wholly below zero, 0
 * when not, empty without an interval; std and ci95 empty). Values are parsed with strtod in
 * the C locale's notation ('.' decimal point); anything else than a number
 * or an empty field is an ERR_IO error naming the file and the record.
 * Memory is proportional to the number of values; time is linear in the
 * number of rows (cells and seeds are found by hashing). */
/* What summary.csv needs beyond episodes.csv. */
struct summary_target {
    const char *name;             /* the target's key */
    int n_thresholds;
    const double *thresholds;     /* its primary metric's thresholds (shots_to_threshold) */
};

struct summary_opts {
    const char *baseline;                 /* a learner's name; NULL: no gain rows */
    const struct summary_target *targets; /* (n_targets) thresholds by target name */
    int n_targets;
};

/* After the cells (and gains), the curves over shot counts: for every
 * learner, target, step, probe and param with the target's primary metric
 * at two or more shot counts — every shot count the target has in the file,
 * and a mean at each — metric aulc (curves.h; shots empty; per seed n = the
 * shot counts, pooled the t-interval over seed values), and per threshold
 * of the target metric shots_to_threshold (param = the threshold; mean =
 * the smallest K whose mean reaches it, inf when none does; pooled: on the
 * curve of seed means; std and ci95 empty). MSE curves are normalised by
 * the cells of metric mse_zero (the MSE of predicting zero, step empty).
 * o may be NULL: no gains, no thresholds. */
int summary_write(const char *episodes_path, const char *summary_path,
                  const struct summary_opts *o, struct err *e);

/* Print the pooled rows (seed = all) of one metric of summary_path to out
 * as an aligned text table under a title line: columns variant (left out
 * when every variant is "base"), target, learner, shots, step, probe and
 * param (each of the last three left out when empty in every row), n and
 * "mean ± ci95". Rows keep the file's order except that they are grouped
 * by variant, then target, then learner, each in order of first
 * appearance. Prints nothing when the file has no pooled row of metric.
 * Returns 0, or ERR_IO naming the file (and record) when it cannot be read
 * or out cannot be written. */
int summary_print(const char *summary_path, FILE *out, const char *metric, struct err *e);

#endif
