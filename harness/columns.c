/* columns: the column tables of kshot's CSV files, and their help. */
#include "harness/columns.h"

#include <assert.h>
#include <string.h>

static const struct column episodes[EP_N] = {
    [EP_EXPERIMENT] = {"experiment", "the experiment's `name`"},
    [EP_VARIANT] = {"variant", "`base`, or the sweep values that made this variant "
                               "(`path=value;path=value`)"},
    [EP_SEED] = {"seed", "the seed"},
    [EP_SOURCE] = {"source", "the source data name (empty without a source)"},
    [EP_TARGET] = {"target", "the target's key under `targets:`"},
    [EP_LEARNER] = {"learner", "the learner's key under `learners:` (its kind is in run.yaml)"},
    [EP_WAYS] = {"ways", "classes per episode (empty for regression)"},
    [EP_SHOTS] = {"shots", "support examples per class (points, for regression)"},
    [EP_EPISODE] = {"episode", "episode index, 0-based; the same index means the same support "
                               "and query sets for every learner"},
    [EP_STEP] = {"step", "adaptation step the value was measured after (empty for learners "
                         "that take no steps)"},
    [EP_PROBE] = {"probe", "the robustness probe's key under `probes:` whose perturbed queries the "
                          "row scores (after the final step); empty for clean inputs"},
    [EP_PARAM] = {"param", "the probe's parameter (e.g. its ε); empty for clean inputs"},
    [EP_METRIC] = {"metric", "`accuracy` (fraction of queries whose first arg-max score is the "
                             "true label), `loss` (mean query cross-entropy of softmax(scores); "
                             "only for learners whose scores are logits, not votes), `mse` "
                             "(regression), `mse_zero` (regression, once per episode with "
                             "`step` empty: the MSE of predicting zero on its queries, the same "
                             "for every learner; aulc's reference) or `forgetting` (after the "
                             "final step, for learners on the shared pretraining when the source "
                             "has a test split: the pretrained source head's accuracy on a fixed "
                             "sample of it, on the pretrained body minus on the adapted body; 0 "
                             "for a frozen body)"},
    [EP_VALUE] = {"value", "the value (empty when the episode diverged)"},
    [EP_STATUS] = {"status", "`ok`, or `diverged` (non-finite scores)"},
};

static const struct column summary[SUM_N_COLS] = {
    [SUM_EXPERIMENT] = {"experiment", "as in episodes.csv"},
    [SUM_VARIANT] = {"variant", "as in episodes.csv"},
    [SUM_SOURCE] = {"source", "as in episodes.csv"},
    [SUM_TARGET] = {"target", "as in episodes.csv"},
    [SUM_LEARNER] = {"learner", "as in episodes.csv"},
    [SUM_WAYS] = {"ways", "as in episodes.csv"},
    [SUM_SHOTS] = {"shots", "as in episodes.csv"},
    [SUM_STEP] = {"step", "as in episodes.csv"},
    [SUM_PROBE] = {"probe", "as in episodes.csv"},
    [SUM_PARAM] = {"param", "as in episodes.csv"},
    [SUM_METRIC] = {"metric", "as in episodes.csv, or, against the baseline learner: "
                              "`transfer_gain` (the paired difference of the primary metric, "
                              "positive = better) and `negative_transfer` (1 when the gain's "
                              "interval lies wholly below 0); over the shot counts (`shots` "
                              "empty): `aulc` and `shots_to_threshold` (`param` = the "
                              "threshold)"},
    [SUM_SEED] = {"seed", "the seed, or `all` for the row pooled over seeds"},
    [SUM_N] = {"n", "values summarised (the pooled row: every seed's)"},
    [SUM_N_FAILED] = {"n_failed", "empty values (diverged episodes), left out of the statistics"},
    [SUM_MEAN] = {"mean", "mean of the values (pooled: mean of the seed means)"},
    [SUM_STD] = {"std", "standard deviation with n − 1 (pooled: of the seed means)"},
    [SUM_CI95] = {"ci95", "half-width of the 95% interval: 1.96·std/√n over episodes; pooled "
                          "over two or more seeds, a t-interval over the seed means (s − 1 "
                          "degrees of freedom); with one seed the pooled row repeats the "
                          "seed's"},
};

static const struct column pretrain[PRE_N] = {
    [PRE_EXPERIMENT] = {"experiment", "the experiment's `name`"},
    [PRE_UNIT] = {"unit", "the pretraining unit's id (its checkpoint is models/<unit>.ckpt)"},
    [PRE_SEED] = {"seed", "the seed"},
    [PRE_SOURCE] = {"source", "the source data name"},
    [PRE_LEARNER] = {"learner", "the learner whose own pretraining (meta-training) this is; "
                                "empty for the shared supervised pretraining"},
    [PRE_SHOTS] = {"shots", "the shot count a learner's own pretraining was made for, when it "
                            "makes one per shot count; else empty"},
    [PRE_CLASSES] = {"classes", "the source classes, space-separated (empty for regression)"},
    [PRE_EXAMPLES] = {"examples", "source examples seen"},
    [PRE_TRAIN_LOSS] = {"train_loss", "mean training loss over the last epoch"},
    [PRE_SOURCE_TEST_ACCURACY] = {"source_test_accuracy", "accuracy on the test split of the "
                                  "source classes; empty for sources without a test split"},
    [PRE_STATUS] = {"status", "`ok`, or `diverged` (a non-finite loss)"},
};

static const struct column costs[COST_N] = {
    [COST_EXPERIMENT] = {"experiment", "the experiment's `name`"},
    [COST_VARIANT] = {"variant", "as in episodes.csv (empty for a pretraining)"},
    [COST_SEED] = {"seed", "the seed"},
    [COST_UNIT] = {"unit", "the unit's id"},
    [COST_KIND] = {"kind", "`pretrain` or `eval`"},
    [COST_TARGET] = {"target", "the target (eval units)"},
    [COST_LEARNER] = {"learner", "the learner (eval units, and a learner's own pretraining)"},
    [COST_SHOTS] = {"shots", "the shot count (eval units, and per-shot pretrainings)"},
    [COST_EPISODES] = {"episodes", "episodes adapted (eval units)"},
    [COST_PHASE] = {"phase", "`pretrain`, `adapt+evaluate`, or `probe:<name>` for what a "
                             "robustness probe took of an evaluation unit (its rows have no "
                             "episodes; the unit's row is the rest)"},
    [COST_CPU_SECONDS] = {"cpu_seconds", "CPU time of the worker threads that ran the unit, in seconds"},
    [COST_WALL_SECONDS] = {"wall_seconds", "wall time of the unit in seconds (split between its "
                                           "row and its probes' by CPU time)"},
    [COST_FLOPS] = {"flops", "exact count of the engine's floating-point operations (FLOPs); "
                             "a feature table the unit took from another of the run counts in "
                             "that one's"},
    [COST_JOULES] = {"joules", "the unit's energy in joules: its CPU-time share of the "
                               "packages' RAPL energy while it ran, or CPU seconds × "
                               "energy.watts_per_core"},
    [COST_JOULES_METHOD] = {"joules_method", "`rapl` (measured from the powercap counters) or "
                                             "`estimate` (from CPU time; not a measurement)"},
    [COST_PEAK_RSS_KB] = {"peak_rss_kb", "the process's peak resident memory so far, in kB (1024 bytes)"},
    [COST_BLAS_CORE] = {"blas_core", "the kernels the unit ran on: OpenBLAS's core, and libxsmm's "
                                     "target when it ran the small products "
                                     "(`Haswell+libxsmm-cpx`)"},
};

static const struct column cost_summary[CS_N] = {
    [CS_EXPERIMENT] = {"experiment", "the experiment's `name`"},
    [CS_VARIANT] = {"variant", "as in episodes.csv (empty for pretraining)"},
    [CS_KIND] = {"kind", "`pretrain` or `eval`"},
    [CS_TARGET] = {"target", "the target (eval)"},
    [CS_LEARNER] = {"learner", "the learner (eval, and a learner's own pretraining)"},
    [CS_SHOTS] = {"shots", "the shot count (eval)"},
    [CS_UNITS] = {"units", "units in the group"},
    [CS_EPISODES] = {"episodes", "episodes adapted in the group"},
    [CS_FLOPS_TOTAL] = {"flops_total", "FLOPs of the group's units"},
    [CS_CPU_SECONDS_TOTAL] = {"cpu_seconds_total", "CPU seconds of the group's units"},
    [CS_FLOPS_PER_TASK] = {"flops_per_task", "FLOPs per adapted episode (eval) or per "
                                             "pretraining"},
    [CS_CPU_SECONDS_PER_TASK] = {"cpu_seconds_per_task", "CPU seconds per adapted episode or "
                                                         "per pretraining"},
    [CS_WALL_SECONDS_PER_TASK] = {"wall_seconds_per_task", "wall seconds per adapted episode or "
                                                           "per pretraining"},
    [CS_SUPPORT_EXAMPLES_PER_TASK] = {"support_examples_per_task", "labelled examples an adapted "
                                      "episode learns from: ways × shots, or shots for regression "
                                      "(eval; a pretraining's examples are in pretrain.csv)"},
    [CS_JOULES_TOTAL] = {"joules_total", "energy of the group's units in joules (costs.csv's joules)"},
    [CS_JOULES_PER_TASK] = {"joules_per_task", "joules per adapted episode or per pretraining"},
    [CS_WATTS] = {"watts", "joules_total / cpu_seconds_total: the power drawn per busy core, "
                        "in watts"},
    [CS_WATTS_VS_BRAIN] = {"watts_vs_brain", "watts as a multiple of 20 W, the human brain's "
                                             "power budget"},
    [CS_JOULES_METHOD] = {"joules_method", "`rapl` (every unit measured), `estimate` (every unit "
                                           "estimated) or `mixed`"},
    [CS_JOULES_PER_GAIN_POINT] = {"joules_per_gain_point", "joules per adapted episode divided "
                                  "by the pooled transfer_gain at the learner's final step in "
                                  "points (0.01 of accuracy or of MSE); empty unless the gain's "
                                  "interval lies wholly above 0"},
};

static const struct column units[UNITS_N] = {
    [UNITS_UNIT] = {"unit", "the unit's id (its part is parts/<unit>.csv); a unit computed once "
                            "for several labels appears once per label"},
    [UNITS_KIND] = {"kind", "`pretrain` or `eval`"},
    [UNITS_EXPERIMENT] = {"experiment", "the experiment's `name`"},
    [UNITS_VARIANT] = {"variant", "as in episodes.csv"},
    [UNITS_SEED] = {"seed", "the seed"},
    [UNITS_SOURCE] = {"source", "as in episodes.csv"},
    [UNITS_TARGET] = {"target", "the target (eval)"},
    [UNITS_LEARNER] = {"learner", "the learner (eval, and a learner's own pretraining)"},
    [UNITS_WAYS] = {"ways", "as in episodes.csv (eval)"},
    [UNITS_SHOTS] = {"shots", "as in episodes.csv (eval), or a per-shot pretraining's count"},
    [UNITS_THRESHOLDS] = {"thresholds", "the target's `thresholds`, space-separated (eval)"},
    [UNITS_BASELINE] = {"baseline", "the learner summary.csv's transfer gains are against "
                                    "(empty: none)"},
    [UNITS_BLAS_CORE] = {"blas_core", "the kernels the unit ids were made for, as in costs.csv"},
};

const struct layout columns_episodes = {
    "episodes.csv", "one row per measured value, in plan order; only values that repeat "
    "exactly, so two runs can be compared with `cmp`", EP_N, episodes, EP_EPISODE};
const struct layout columns_summary = {
    "summary.csv", "per cell (experiment … metric) one row per seed and a pooled row", SUM_N_COLS,
    summary, SUM_N_COLS};
const struct layout columns_pretrain = {
    "pretrain.csv", "one row per pretraining unit", PRE_N, pretrain, PRE_CLASSES};
const struct layout columns_costs = {
    "costs.csv", "what varies run to run: one row per unit computed", COST_N, costs,
    COST_EPISODES};
const struct layout columns_cost_summary = {
    "cost_summary.csv", "costs per target × learner × shots (and per pretraining)", CS_N,
    cost_summary, CS_N};

const struct layout columns_units = {
    "units.csv", "the plan's units with their labels, written by every run (and shard) before "
    "it computes; `kshot merge` rebuilds the other files from it and parts/", UNITS_N, units,
    UNITS_N};

const struct layout *const columns_all[] = {
    &columns_episodes, &columns_summary, &columns_pretrain, &columns_costs,
    &columns_cost_summary, &columns_units, NULL,
};

int columns_find(const struct layout *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->cols[i].name, name) == 0)
            return i;
    return -1;
}

int columns_header(FILE *fp, const struct layout *l, int first)
{
    const char *names[64];
    assert(l->n - first <= 64 && first >= 0 && first < l->n);
    for (int i = first; i < l->n; i++)
        names[i - first] = l->cols[i].name;
    return csvout_write_header(fp, names, l->n - first);
}

/* Spreads a slice's fields over an array indexed by the layout's enum. */
struct spread {
    int first, n;
    const char **fields;    /* (n) */
    csvin_row_fn fn;
    void *ctx;
};

static int spread_row(void *ctx, const char *const *f, int n_fields, long record, struct err *e)
{
    struct spread *s = ctx;
    for (int i = s->first; i < s->n; i++)
        s->fields[i] = f[i - s->first];
    return s->fn(s->ctx, s->fields, s->n, record, e);
}

int columns_read(const char *path, const struct layout *l, int first, csvin_row_fn fn,
                 void *ctx, struct err *e)
{
    const char *names[64], *fields[64] = {NULL};
    assert(l->n - first <= 64 && first >= 0 && first < l->n);
    for (int i = first; i < l->n; i++)
        names[i - first] = l->cols[i].name;
    struct spread s = {first, l->n, fields, fn, ctx};
    return csvin_read(path, names, l->n - first, spread_row, &s, e);
}

int columns_metric_sign(const char *metric)
{
    static const char *const lower[] = {"mse", "loss", "forgetting", "switch_rate",
                                        "switch_rate_random", "mse_zero", NULL};
    for (int i = 0; lower[i]; i++)
        if (strcmp(metric, lower[i]) == 0)
            return -1;
    return 1;
}

int columns_read_stream(FILE *fp, const char *name, const struct layout *l, int first,
                        csvin_row_fn fn, void *ctx, struct err *e)
{
    const char *names[64], *fields[64] = {NULL};
    assert(l->n - first <= 64 && first >= 0 && first < l->n);
    for (int i = first; i < l->n; i++)
        names[i - first] = l->cols[i].name;
    struct spread s = {first, l->n, fields, fn, ctx};
    return csvin_read_stream(fp, name, names, l->n - first, spread_row, &s, e);
}

void columns_help(FILE *out, bool markdown)
{
    for (int f = 0; columns_all[f]; f++) {
        const struct layout *l = columns_all[f];
        if (markdown) {
            fprintf(out, "<!-- columns:%s:begin -->\n| column | meaning |\n| --- | --- |\n", l->file);
            for (int i = 0; i < l->n; i++)
                fprintf(out, "| `%s` | %s |\n", l->cols[i].name, l->cols[i].help);
            fprintf(out, "<!-- columns:%s:end -->\n", l->file);
        } else {
            fprintf(out, "%s%s: %s\n", f ? "\n" : "", l->file, l->help);
            for (int i = 0; i < l->n; i++)
                fprintf(out, "  %-22s %s\n", l->cols[i].name, l->cols[i].help);
        }
    }
}
