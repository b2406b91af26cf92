/* merge: `kshot merge DIR` — the combined files of a results directory from its parts and unit list.
 *
 * Shards (array tasks of a SLURM job, or `--shard I/N` by hand) each write
 * their units' parts into one results directory and leave the combined
 * files alone. merge rebuilds episodes.csv, summary.csv, pretrain.csv,
 * costs.csv, cost_summary.csv and the figures from parts/ and units.csv
 * (the unit list every run writes), so it needs neither the data nor the
 * config file: it runs on a login node, or as the job after the arrays. It
 * is the same code a complete `kshot run` ends with. When units are
 * missing it lists them, writes nothing and fails; parts that another
 * binary or BLAS core computed (their ids differ, so they are not this
 * plan's units) are named with their core. Units that more than one run
 * record lists as computed (wasted work; one unit gives the same bytes
 * wherever it runs) are reported. */
#ifndef KSHOT_MERGE_H
#define KSHOT_MERGE_H

#include <stdbool.h>
#include <stdio.h>

#include "harness/base/err.h"
#include "harness/unitlist.h"

/* Rebuild dir's combined files and figures from ul. *missing: units with
 * no part (nothing is written then); *figures: whether curves.svg and
 * curves.png were drawn (not when there is nothing to draw). */
int merge_rebuild(const char *dir, const struct unitlist *ul, int *missing, bool *figures,
                  struct err *e);

/* `kshot merge DIR`: messages to out; ERR_IO (exit 1) when incomplete. */
int merge_run(const char *dir, FILE *out, struct err *e);

#endif
