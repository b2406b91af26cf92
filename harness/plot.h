/* plot: figures of a results directory, drawn with cairo.
 *
 * The learning-curve figure: one panel per target (and variant), the
 * primary metric's pooled mean (accuracy, or MSE) against the shot count
 * on a log2 axis, one line per learner at its final step on clean inputs,
 * with its 95% interval as a band, markers at the evaluated shot counts, a
 * legend naming each learner in its colour, axis labels with units; a
 * robustness panel per probe (the metric against the probe's ε, σ or size
 * at the target's largest shot count); and, when cost_summary.csv is
 * beside summary.csv, an efficiency scatter per target: each learner's
 * points (one per shot count, with its CI) against the cost of an adapted
 * episode, joules when RAPL measured every unit, else FLOPs, on a log10
 * axis. The format follows the file name: .svg, .png or .pdf. */
#ifndef KSHOT_PLOT_H
#define KSHOT_PLOT_H

#include "harness/base/err.h"

/* Draw the learning curves of summary_path into out_path (its extension
 * says the format). ERR_USAGE for an unknown extension, ERR_IO when a file
 * cannot be read or written (the figure is written to a temporary name and
 * renamed: never half a file). A summary with no pooled rows of the primary
 * metric draws nothing and returns ERR_USAGE saying so. */
int plot_curves(const char *summary_path, const char *out_path, struct err *e);

#endif
