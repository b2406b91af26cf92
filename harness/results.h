/* results: the results directory — one part per finished unit, and the files rebuilt from them.
 *
 * parts/<id>.csv holds a unit's rows (episode rows for eval units, the
 * pretrain.csv row for pretrain units) and parts/<id>.cost.csv its costs.csv
 * row, each with only the columns its numbers determine (columns.h: the
 * part's columns); models/<id>.ckpt a pretrain unit's network. Each is
 * written atomically, cost first, so "parts/<id>.csv exists" means the unit
 * is done. episodes.csv, pretrain.csv, costs.csv, cost_summary.csv and
 * summary.csv are rebuilt from the parts of the current plan, in plan
 * order, each part's records behind the labels the plan gives its unit
 * (experiment, variant, seed, names; from units.csv, so that `kshot merge`
 * needs neither config nor data), so they hold exactly the current plan's
 * units whatever ran when and where. */
#ifndef KSHOT_RESULTS_H
#define KSHOT_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/base/err.h"
#include "harness/plan.h"
#include "harness/unit.h"
#include "harness/unitlist.h"

/* The combined files (and the figures drawn from them) describe the plan of
 * the run that wrote them. Before
 * a run computes anything they are removed (this), so a run that stops or
 * fails never leaves files of an older plan looking current; the parts
 * they are rebuilt from stay, and the end of a complete run writes them
 * again. */
void results_remove_combined(const char *dir);

/* --fresh: remove what kshot wrote into dir — parts, checkpoints, combined
 * files and figures, units.csv and every run record (the caller holds the
 * directory's lock alone). */
void results_start_over(const char *dir);

/* Make dir, dir/parts and dir/models. */
int results_open(const char *dir, struct err *e);

/* dir/parts/<id><suffix> (suffix ".csv" or ".cost.csv") or dir/models/<id>.ckpt. */
void results_part_path(const char *dir, const char *id, const char *suffix, char *buf, size_t cap);
void results_model_path(const char *dir, const char *id, char *buf, size_t cap);

/* Check the part files of unit id (each: its part line, unit id, record
 * count and checksum; a missing part is no damage). A damaged part is
 * removed, with its companion, so that the unit is recomputed: ERR_IO says
 * which file and what is wrong; ERR_OK otherwise. */
int results_verify(const char *dir, const char *id, struct err *e);

/* The BLAS core (costs.csv's blas_core) that unit id's verified cost part
 * names, into core ("" and an error code when it cannot be read). */
int results_part_core(const char *dir, const char *id, char *core, size_t cap, struct err *e);

/* The check line before a part's body (its CSV header and rows):
 * "#kshot-part 1 <unit id> <records after the header> <crc32 of the body>\n". */
#define PART_LINE_MAX 128
void results_part_line(const char *id, const char *body, size_t len, char *line, size_t cap);

/* Is unit id of kind (enum unit_kind) finished: its part exists, and for
 * pretraining its checkpoint? */
bool results_done(const char *dir, const char *id, int kind);

/* Write a finished unit: its cost row, then its rows (rows: the part
 * columns of its file, CSV text without a header). core names the BLAS
 * kernel, peak_kb the process's peak resident memory so far. On failure
 * (ERR_IO naming the file, e.g. a full disk) no file of the unit is left in
 * parts/, so it is not done. */
int results_write_unit(const char *dir, const struct plan *p, const struct unit *u,
                       const char *rows, const struct unit_costs *c, long peak_kb,
                       struct err *e);

/* Rebuild every combined file from the parts of the units in ul (the plan's
 * unit list, unitlist.h). *missing receives the number of units without a
 * part; with missing > 0 nothing is written and the return is 0. */
int results_rebuild(const char *dir, const struct unitlist *ul, int *missing, struct err *e);

#endif
