/* compare: `kshot compare` — the learners of a results directory side by
 * side, from its episodes.csv, with paired differences and tests.
 *
 * One table per variant, target, probe and param, of the chosen metric
 * (default: accuracy, or mse when the run has none): a row per learner at
 * its final step, a column per shot count, and in each cell
 *   mean ± ci95      as summary.csv pools them (per seed over episodes; over
 *                    two or more seeds, the t-interval of the seed means)
 *   diff ± diff_ci95 the paired difference to the baseline at its final
 *                    step, episode by episode (summary.csv's transfer_gain
 *                    where both exist), oriented so that positive is better
 *                    — for mse, loss, forgetting and switch rates too —
 *                    pooled the same way
 *   p_t              the paired t-test of that difference (over the seed
 *                    means with two or more seeds, else over episodes)
 *   p_wilcoxon       the Wilcoxon signed-rank test over every paired
 *                    episode (stats_wilcoxon_p)
 *   p_holm           p_t adjusted by Holm's method across the table
 *   best, tied       the best mean of the column, and the learners whose
 *                    paired difference to it has an interval containing 0
 *
 * Several results directories side by side: each learner is named
 * <dir>/<learner> (the directory's last path component), and rows pair
 * across runs on (seed, episode) — which is sound only when the runs'
 * episodes are the same, so the runs' records must agree on every target
 * they share (its settings) and on the data those targets read (split,
 * seed, rows, checksum); otherwise compare refuses, naming what differs.
 *
 * Validation before test: when one run's targets include some marked
 * `role: validation`, each learner's variant of a sweep is chosen on them
 * (the best mean of the metric over their cells: each validation target
 * and shot count, clean inputs, the learner's final step), the choice is
 * printed, and the tables show the test targets only, each learner at its
 * chosen variant — so hyperparameters are never chosen on the numbers
 * reported. A sweep over target settings is refused for this (its
 * variants' episodes differ). */
#ifndef KSHOT_COMPARE_H
#define KSHOT_COMPARE_H

#include <stdio.h>

#include "harness/base/err.h"

enum compare_format { COMPARE_TEXT, COMPARE_MARKDOWN, COMPARE_CSV };

#define COMPARE_MAX_DIRS 16

struct compare_opts {
    const char *dirs[COMPARE_MAX_DIRS];   /* results directories: one, or runs side by side */
    int n_dirs;
    const char *baseline;     /* a learner's name; NULL: the run's (summary.csv's gains) */
    const char *metric;       /* NULL: accuracy, or mse */
    int format;               /* enum compare_format */
};

/* Print the comparison of o->dir to out. ERR_USAGE for a learner or metric
 * the run does not have; ERR_IO for files that cannot be read. */
int compare_run(const struct compare_opts *o, FILE *out, struct err *e);

#endif
