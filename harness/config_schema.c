/* config_schema: the experiment schema (one table), one value of each key type, and help.
 *
 * The table below is the only place a key is declared; parsing, defaults,
 * `kshot help config`, the sweep's path check and freeing all walk it. This
 * file holds what depends on a key alone: the table, parsing and freeing one
 * value of each key type, the "unknown key" message that lists a section's
 * keys, and the help text, which names each type in the words its errors use.
 * Not here: walking sections and named entries, defaults (YAML text that
 * config.c parses like user input), the sweep and the cross-field rules
 * (config.c); reading YAML (yamltree). */
#include "harness/config.h"
#include "harness/config_internal.h"
#include "harness/probe.h"

#include "harness/base/hash.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KINDS 64       /* learner kinds the registry may hold */

static const char *const activations[] = {"identity", "relu", "tanh", NULL}; /* enum act */
/* A fresh network must break symmetry, so zero is only for a new head. */
static const char *const fresh_inits[] = {"torch", "he", "glorot", NULL};
const char *const config_formats[] = {"idx", "csv", "sinusoid", "clusters", NULL};
static const char *const splits[] = {"train", "test", NULL};
static const char *const roles[] = {"test", "validation", NULL};

#define EXP(f) offsetof(struct experiment, f)
#define DAT(f) offsetof(struct cfg_data, f)
#define SRC(f) offsetof(struct cfg_source, f)
#define TRN(f) offsetof(struct cfg_train, f)
#define TGT(f) offsetof(struct cfg_target, f)
#define LRN(f) offsetof(struct cfg_learner, s.f)
#define PRB(f) offsetof(struct cfg_probe, f)
#define INF HUGE_VAL

static const struct key table[] = {
    /* top level */
    {S_TOP, "name", K_STR, 0, 0, NULL, EXP(name), 0, NULL, NULL,
     "experiment name; results go to results/<name>/ unless -o or output.dir says otherwise", FEEDS_NONE, 0},
    {S_TOP, "seeds", K_INTS, 0, 4294967295.0, "[0]", EXP(n_seeds), EXP(seeds), NULL, NULL,
     "seeds; each gives its own pretraining, initialisations and episodes", FEEDS_NONE, 0},
    {S_TOP, "data", K_MAP, 0, 0, NULL, 0, 0, NULL, NULL,
     "named data sources data.<name>.*, referred to by source.data and targets.<name>.data", FEEDS_NONE, 0},
    {S_TOP, "network", K_MAP, 0, 0, "", 0, 0, NULL, NULL, "the network's shape: network.*", FEEDS_NONE, 0},
    {S_TOP, "source", K_MAP, 0, 0, "", 0, 0, NULL, NULL,
     "the pretraining task source.*; needed by learners that reuse a pretrained network", FEEDS_NONE, 0},
    {S_TOP, "targets", K_MAP, 0, 0, NULL, 0, 0, NULL, NULL,
     "named held-out tasks targets.<name>.*; at least one", FEEDS_NONE, 0},
    {S_TOP, "learners", K_MAP, 0, 0, NULL, 0, 0, NULL, NULL,
     "named learners learners.<name>.*; the CSV's learner column holds <name>; at least one", FEEDS_NONE, 0},
    {S_TOP, "baseline", K_STR, 0, 0, "", EXP(baseline), 0, NULL, NULL,
     "the learner others are compared with in summary.csv's transfer_gain rows; default: the "
     "only learner of the no-transfer kind (kshot help learners)", FEEDS_NONE, 0},
    {S_TOP, "probes", K_MAP, 0, 0, "", 0, 0, NULL, NULL,
     "named robustness probes probes.<name>.*, run on every adapted model they apply to",
     FEEDS_NONE, 0},
    {S_TOP, "sweep", K_MAP, 0, 0, "", 0, 0, NULL, NULL,
     "dotted key path -> list of values; the cartesian product gives variants", FEEDS_NONE, 0},
    {S_TOP, "output", K_MAP, 0, 0, "", 0, 0, NULL, NULL, "where results go: output.*", FEEDS_NONE, 0},
    {S_TOP, "energy", K_MAP, 0, 0, "", 0, 0, NULL, NULL,
     "how costs.csv's joules are found: energy.*", FEEDS_NONE, 0},
    /* output */
    {S_OUTPUT, "dir", K_STR, 0, 0, "", EXP(output_dir), 0, NULL, NULL,
     "results directory (default results/<name>; -o DIR on the command line wins)", FEEDS_NONE, 0},
        /* probes.<name>: robustness probes on the adapted models (harness/probe.h) */
    {S_PROBE, "kind", K_ENUM, 0, 0, NULL, PRB(kind), 0, NULL, probe_kinds,
     "fgsm, pgd, noise, patch or cue_conflict: what the probe does to the episode's images",
     FEEDS_EVAL, 0},
    {S_PROBE, "eps", K_NUMS, 0, INF, "[0.05, 0.1, 0.2, 0.3]", PRB(n_eps), PRB(eps), "fgsm,pgd",
     NULL, "perturbation sizes ε, in input units after scale; each gives rows with param = ε",
     FEEDS_EVAL, 0},
    {S_PROBE, "sigma", K_NUMS, 0, INF, "[0.05, 0.1, 0.2]", PRB(n_sigma), PRB(sigma), "noise", NULL,
     "standard deviations σ of Gaussian noise added to the queries, in input units after scale; "
     "each gives rows with param = σ", FEEDS_EVAL, 0},
    {S_PROBE, "steps", K_INT, 1, 100000, "40", PRB(steps), 0, "pgd,patch", NULL,
     "signed-gradient steps (pgd: of size 2.5·ε/steps; patch: of size lr, on the support set)",
     FEEDS_EVAL, 0},
    {S_PROBE, "random_start", K_BOOL, 0, 0, "true", PRB(random_start), 0, "pgd", NULL,
     "start from a uniform random point of the ε-ball (the episode's own stream)", FEEDS_EVAL, 0},
    {S_PROBE, "size", K_INTS, 1, 1000, "[4, 8]", PRB(n_size), PRB(size), "patch", NULL,
     "side lengths of the square patch, in pixels; each gives rows with param = the side",
     FEEDS_EVAL, 0},
    {S_PROBE, "lr", K_NUM, 0, 100, "0.05", PRB(lr), 0, "patch", NULL,
     "the patch's signed-gradient step, in input units after scale", FEEDS_EVAL, 0},
    {S_PROBE, "strength", K_NUMS, 0, 1, "[0.25, 0.5]", PRB(n_strength), PRB(strength),
     "cue_conflict", NULL,
     "how strongly each class's texture is blended into the images (0: none, 1: texture only); "
     "each gives rows with param = the strength", FEEDS_EVAL, 0},
    {S_PROBE, "cue_in_source", K_BOOL, 0, 0, "false", PRB(cue_in_source), 0, "cue_conflict", NULL,
     "the shared supervised pretraining's images carry their classes' textures too, blended at "
     "the first strength: a texture-biased pretraining", FEEDS_PRETRAIN, 0},
    {S_PROBE, "learners", K_STRS, 0, 0, "[]", PRB(n_learners), PRB(learners), NULL, NULL,
     "the learners it runs on; empty: every one it can (gradient probes skip kinds without input "
     "gradients)", FEEDS_NONE, 0},
{S_ENERGY, "powercap", K_STR, 0, 0, "/sys/class/powercap", EXP(powercap), 0, NULL, NULL,
     "the powercap directory whose intel-rapl:N package counters are read, when readable",
     FEEDS_NONE, 0},
    {S_ENERGY, "watts_per_core", K_NUM, 0, 10000, "10", EXP(watts_per_core), 0, NULL, NULL,
     "the estimate's power of one busy core, when no counter is readable: joules = CPU seconds "
     "× this (an estimate, never a measurement)", FEEDS_NONE, 0},
    /* data.<name> */
    {S_DATA, "format", K_ENUM, 0, 0, NULL, DAT(format), 0, NULL, config_formats,
     "idx for MNIST-style files, csv for your own table, sinusoid or clusters for synthetic data", FEEDS_BOTH, 0},
    {S_DATA, "dir", K_STR, 0, 0, "", DAT(dir), 0, "idx", NULL,
     "directory holding train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]", FEEDS_NONE, 0},
    {S_DATA, "images", K_STR, 0, 0, "", DAT(images), 0, "idx", NULL, "train images file (instead of dir)", FEEDS_NONE, 0},
    {S_DATA, "labels", K_STR, 0, 0, "", DAT(labels), 0, "idx", NULL, "train labels file (instead of dir)", FEEDS_NONE, 0},
    {S_DATA, "test_images", K_STR, 0, 0, "", DAT(test_images), 0, "idx", NULL,
     "test images file (instead of dir; with test_labels)", FEEDS_NONE, 0},
    {S_DATA, "test_labels", K_STR, 0, 0, "", DAT(test_labels), 0, "idx", NULL,
     "test labels file (instead of dir; with test_images)", FEEDS_NONE, 0},
    {S_DATA, "path", K_STR, 0, 0, NULL, DAT(path), 0, "csv", NULL, "CSV file with a header row", FEEDS_NONE, 0},
    {S_DATA, "label", K_STR, 0, 0, "", DAT(label), 0, "csv", NULL,
     "label column (name, or 0-based index) for classification", FEEDS_BOTH, 0},
    {S_DATA, "targets", K_STRS, 0, 0, "", DAT(n_targets), DAT(targets), "csv", NULL,
     "target columns for regression (instead of label)", FEEDS_BOTH, 0},
    {S_DATA, "features", K_STRS, 0, 0, "", DAT(n_features), DAT(features), "csv", NULL,
     "feature columns (default: every other column)", FEEDS_BOTH, 0},
    {S_DATA, "scale", K_NUM, 0, INF, "0", DAT(scale), 0, "idx,csv", NULL,
     "divide every feature by this (e.g. 255 for bytes); 0 leaves features as they are", FEEDS_BOTH, 0},
    {S_DATA, "standardise", K_BOOL, 0, 0, "false", DAT(standardise), 0, "idx,csv", NULL,
     "z-score each feature with mean and std of the source rows only (after scale)", FEEDS_BOTH, 0},
    {S_DATA, "amplitude", K_RANGE, 0, INF, "[0.1, 5.0]", DAT(amplitude), 0, "sinusoid", NULL,
     "range of A in y = A·sin(x − φ)", FEEDS_BOTH, 0},
    {S_DATA, "phase", K_RANGE, -INF, INF, "[0, 3.141592653589793]", DAT(phase), 0, "sinusoid", NULL,
     "range of φ", FEEDS_BOTH, 0},
    {S_DATA, "x", K_RANGE, -INF, INF, "[-5, 5]", DAT(x), 0, "sinusoid", NULL, "range of x", FEEDS_BOTH, 0},
    {S_DATA, "size", K_INT, 1, 1e8, "10000", DAT(size), 0, "sinusoid", NULL,
     "points, each from a fresh function, in one pretraining epoch", FEEDS_BOTH, 0},
    {S_DATA, "classes", K_INT, 2, 1000, "10", DAT(classes), 0, "clusters", NULL, "number of classes", FEEDS_BOTH, 0},
    {S_DATA, "dim", K_INT, 1, 100000, "20", DAT(dim), 0, "clusters", NULL, "features", FEEDS_BOTH, 0},
    {S_DATA, "separation", K_NUM, 0, INF, "0.5", DAT(separation), 0, "clusters", NULL,
     "std of the class centres in units of the points' unit noise (higher is easier)", FEEDS_BOTH, 0},
    {S_DATA, "per_class", K_INT, 1, 1000000, "200", DAT(per_class), 0, "clusters", NULL,
     "points per class in each split", FEEDS_BOTH, 0},
    /* network */
    {S_NETWORK, "hidden", K_WIDTHS, 1, 100000, "[256, 128]", EXP(n_hidden), EXP(hidden), NULL, NULL,
     "hidden layer widths (the body), at most 7; the head is added per task", FEEDS_BOTH, 0},
    {S_NETWORK, "activation", K_ENUM, 0, 0, "relu", EXP(activation), 0, NULL, activations,
     "activation after every hidden layer", FEEDS_BOTH, 0},
    {S_NETWORK, "init", K_ENUM, 0, 0, "torch", EXP(init), 0, NULL, fresh_inits,
     "initialisation of fresh networks: torch (U(±1/√fan_in), PyTorch's default), he, glorot", FEEDS_BOTH, 0},
    /* source */
    {S_SOURCE, "data", K_STR, 0, 0, NULL, SRC(data), 0, NULL, NULL, "data source to pretrain on", FEEDS_NONE, 0},
    {S_SOURCE, "split", K_WORD, 0, 0, "train", SRC(split), 0, NULL, splits, "train or test", FEEDS_PRETRAIN, 0},
    {S_SOURCE, "classes", K_LABELS, 0, 0, "[]", SRC(classes), 0, NULL, NULL,
     "class labels to pretrain on (ids or names as in the data; default: all)", FEEDS_PRETRAIN, 0},
    {S_SOURCE, "train", K_SUB, 0, 0, "", SRC(train), 0, NULL, NULL,
     "the shared supervised pretraining's recipe: source.train.*", FEEDS_NONE, S_TRAIN},
    {S_TRAIN, "epochs", K_INT, 1, 100000, "1", TRN(epochs), 0, NULL, NULL, "passes over the source data", FEEDS_SHARED, 0},
    {S_TRAIN, "batch", K_INT, 1, 1000000, "64", TRN(batch), 0, NULL, NULL,
     "minibatch size (the last partial batch is kept)", FEEDS_SHARED, 0},
    {S_TRAIN, "optimizer", K_ENUM, 0, 0, "adam", TRN(optimizer), 0, NULL, optim_names, "sgd or adam", FEEDS_SHARED, 0},
    {S_TRAIN, "lr", K_NUM, 0, 100, "0.001", TRN(lr), 0, NULL, NULL, "learning rate", FEEDS_SHARED, 0},
    {S_TRAIN, "momentum", K_NUM, 0, 1, "0", TRN(momentum), 0, NULL, NULL,
     OPTIM_HELP_MOMENTUM, FEEDS_SHARED, 0},
    {S_TRAIN, "weight_decay", K_NUM, 0, INF, "0", TRN(weight_decay), 0, NULL, NULL,
     OPTIM_HELP_WEIGHT_DECAY, FEEDS_SHARED, 0},
    {S_TRAIN, "beta1", K_NUM, 0, 1, "0.9", TRN(beta1), 0, NULL, NULL,
     OPTIM_HELP_BETA1, FEEDS_SHARED, 0},
    {S_TRAIN, "beta2", K_NUM, 0, 1, "0.999", TRN(beta2), 0, NULL, NULL,
     OPTIM_HELP_BETA2, FEEDS_SHARED, 0},
    {S_TRAIN, "epsilon", K_NUM, 0, 1, "1e-8", TRN(epsilon), 0, NULL, NULL,
     OPTIM_HELP_EPSILON, FEEDS_SHARED, 0},
    /* targets.<name> */
    {S_TARGET, "data", K_STR, 0, 0, NULL, TGT(data), 0, NULL, NULL, "data source of the held-out task", FEEDS_NONE, 0},
    {S_TARGET, "split", K_WORD, 0, 0, "test", TGT(split), 0, NULL, splits,
     "train or test; a csv source has only train, which is then the default", FEEDS_EVAL, 0},
    {S_TARGET, "role", K_WORD, 0, 0, "test", TGT(role), 0, NULL, roles,
     "test, or validation: `kshot compare` picks each learner's sweep variant on the validation "
     "targets and reports it on the test targets (a label: the numbers do not change)",
     FEEDS_NONE, 0},
    {S_TARGET, "classes", K_LABELS, 0, 0, "[]", TGT(classes), 0, NULL, NULL,
     "class labels episodes draw from (default: all); must not overlap the source's", FEEDS_EVAL, 0},
    {S_TARGET, "allow_overlap", K_BOOL, 0, 0, "false", TGT(allow_overlap), 0, NULL, NULL,
     "accept classes shared with the source (then it is not a held-out task)", FEEDS_NONE, 0},
    {S_TARGET, "ways", K_INT, 2, 1000, "5", TGT(ways), 0, NULL, NULL,
     "classes per episode (classification only)", FEEDS_EVAL, 0},
    {S_TARGET, "shots", K_INTS, 1, 100000, "[1, 5]", TGT(n_shots), TGT(shots), NULL, NULL,
     "support examples per class (or points, for regression); one curve point each", FEEDS_NONE, 0},
    {S_TARGET, "queries", K_INT, 1, 100000, "15", TGT(queries), 0, NULL, NULL,
     "query examples per class (or points, for regression)", FEEDS_EVAL, 0},
    {S_TARGET, "episodes", K_INT, 1, 10000000, "600", TGT(episodes), 0, NULL, NULL,
     "episodes per seed and shot count", FEEDS_EVAL, 0},
    {S_TARGET, "thresholds", K_NUMS, -INF, INF, "[]", TGT(n_thresholds), TGT(thresholds), NULL, NULL,
     "levels of the primary metric (accuracy, or MSE) for summary.csv's shots_to_threshold: the "
     "smallest shot count whose mean reaches each", FEEDS_NONE, 0},
    {S_TARGET, "forgetting", K_INT, 0, 1000000, "500", TGT(forgetting), 0, NULL, NULL,
     "source test images (a fixed sample) on which forgetting scores the pretrained source head "
     "on each adapted body; 0: no forgetting rows", FEEDS_EVAL, 0},
    {S_TARGET, "permute", K_BOOL, 0, 0, "false", TGT(permute), 0, NULL, NULL,
     "apply a fixed random permutation to the features (a control: features should not transfer)", FEEDS_EVAL, 0},
    {S_TARGET, "rotate", K_NUM, -360, 360, "0", TGT(rotate), 0, NULL, NULL,
     "rotate images by this many degrees (idx data only)", FEEDS_EVAL, 0},
    {S_TARGET, "noise", K_NUM, 0, INF, "0", TGT(noise), 0, NULL, NULL,
     "std of Gaussian noise added to the preprocessed inputs", FEEDS_EVAL, 0},
    /* learners.<name> */
    {S_LEARNER, "kind", K_KIND, 0, 0, NULL, LRN(kind), 0, NULL, NULL,
     "what the learner is (kshot help learners describes each kind); it decides which other "
     "keys apply and their defaults", FEEDS_BOTH, 0},
    /* the other keys of learners.<name> come from the learner registry (learners/learner.c):
     * see assemble() below */
};
#define N_TABLE ((int)(sizeof table / sizeof table[0]))
#define MAX_LEARNER_KEYS 64

/* ---- the assembled schema ----
 *
 * The table above, with the learner registry's keys placed after
 * learners.<name>.kind: each applies to the kinds that list it, and its
 * default is per kind (key_default). Built once, on first use. */

static struct key schema[N_TABLE + MAX_LEARNER_KEYS];
static int n_keys;
static char learner_only[MAX_LEARNER_KEYS][512];   /* "a,b": the kinds that accept a key */
static pthread_once_t assembled = PTHREAD_ONCE_INIT;

/* Kinds that accept learner key d ("a,b"), into only. */
static void kinds_of(const struct keydef *d, char *only, size_t cap)
{
    only[0] = '\0';
    for (int k = 0; k < learner_n_kinds; k++)
        if (learner_key_default(k, d->name))
            snprintf(only + strlen(only), cap - strlen(only), "%s%s", only[0] ? "," : "",
                     learner_kinds[k]->name);
}

/* The learner registry's keys as rows: "x" of learners.<name> (offsets from
 * struct cfg_learner), "meta.x" of its nested section (offsets from the
 * nested struct, which the K_SUB key "meta" places). */
static void assemble_learner_keys(void)
{
    size_t base = offsetof(struct cfg_learner, s), meta = 0;
    for (int j = 0; j < learner_n_keys; j++)
        if (learner_keys[j].type == K_SUB)
            meta = learner_keys[j].off;
    for (int j = 0; j < learner_n_keys; j++) {
        const struct keydef *d = &learner_keys[j];
        const char *dot = strchr(d->name, '.');
        kinds_of(d, learner_only[j], sizeof learner_only[j]);
        if (dot) {
            assert(strncmp(d->name, "meta.", 5) == 0 && d->off >= meta);
            schema[n_keys++] = (struct key){S_META, dot + 1, d->type, d->min, d->max, d->def,
                                            d->off - meta, d->off2 ? d->off2 - meta : 0,
                                            learner_only[j], d->choices, d->help, d->feeds, 0};
        } else {
            schema[n_keys++] = (struct key){S_LEARNER, d->name, d->type, d->min, d->max, d->def,
                                            base + d->off, d->off2 ? base + d->off2 : 0,
                                            learner_only[j], d->choices, d->help, d->feeds,
                                            d->type == K_SUB ? S_META : 0};
        }
    }
}

static void assemble(void)
{
    assert(learner_n_keys <= MAX_LEARNER_KEYS);
    for (int i = 0; i < N_TABLE; i++) {
        schema[n_keys++] = table[i];
        if (table[i].sec == S_LEARNER)   /* after learners.<name>.kind */
            assemble_learner_keys();
    }
}

const struct key *config_keys(int *n)
{
    pthread_once(&assembled, assemble);
    *n = n_keys;
    return schema;
}

/* The registry's name of a learner-section key: "x", or "meta.x". */
static void learner_key_name(const struct key *k, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", k->sec == S_META ? "meta." : "", k->name);
}

const char *config_key_default(const struct key *k, const char *word)
{
    char name[PATH_LEN];
    if ((k->sec != S_LEARNER && k->sec != S_META) || !word || strcmp(k->name, "kind") == 0)
        return k->def;
    learner_key_name(k, name, sizeof name);
    return learner_key_default(learner_find(word), name);
}

static const char *const sec_names[N_SEC] = {
    "", "data.<name>", "network", "source", "source.train", "targets.<name>", "learners.<name>",
    "learners.<name>.meta", "output", "energy", "probes.<name>",
};

_Static_assert(LEARNER_MAX_LIST >= CFG_MAX_LIST, "record_steps and freeze hold CFG_MAX_LIST items");

/* ---- small helpers ---- */

struct cfg_where config_where_of(const struct yt_node *n)
{
    struct cfg_where w = {"", n ? n->line : 0, n ? n->col : 0};
    if (n && n->file)
        snprintf(w.file, sizeof w.file, "%s", n->file);
    return w;
}

int config_error(struct err *e, int code, const struct cfg_where *w, const char *path,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = err_vat(e, code, w ? w->file : NULL, w ? w->line : 0, w ? w->col : 0, path, fmt, ap);
    va_end(ap);
    return rc;
}

int config_prefix(struct err *e, const struct cfg_where *w, const char *path)
{
    return err_prefix_at(e, w ? w->file : NULL, w ? w->line : 0, w ? w->col : 0, path);
}

char *config_dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int config_nomem(struct err *e)
{
    return err_set(e, ERR_NOMEM, "out of memory while reading the experiment");
}

/* "prefix.name", or name alone at the top level, cut at PATH_LEN (a path
 * only ever appears in messages). */
void config_join(char *buf, const char *prefix, const char *name)
{
    size_t o = 0;
    for (const char *p = prefix; *p && o + 1 < PATH_LEN; p++)
        buf[o++] = *p;
    if (*prefix && o + 1 < PATH_LEN)
        buf[o++] = '.';
    for (const char *p = name; *p && o + 1 < PATH_LEN; p++)
        buf[o++] = *p;
    buf[o] = '\0';
}

/* Does `only` ("a,b") list word? */
bool config_applies(const char *only, const char *word)
{
    if (!only)
        return true;
    size_t n = strlen(word);
    for (const char *p = only; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p += len + (end != NULL);
    }
    return false;
}

/* "a, b or c" (conj " or ") or "a, b and c" (conj " and ") into buf. */
void config_list_words(const char *const *w, int n, const char *conj, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", i == 0 ? "" : i < n - 1 ? ", " : conj, w[i]);
    }
}

static int count_words(const char *const *w)
{
    int n = 0;
    while (w[n])
        n++;
    return n;
}

static int kind_names(const char **out)
{
    assert(learner_n_kinds <= MAX_KINDS);
    for (int i = 0; i < learner_n_kinds; i++)
        out[i] = learner_kinds[i]->name;
    return learner_n_kinds;
}

/* " (did you mean "x"?)" when near is not NULL, else "". */
const char *config_hint(const char *near, char *buf, size_t cap)
{
    if (!near)
        return "";
    snprintf(buf, cap, " (did you mean \"%s\"?)", near);
    return buf;
}

/* What a node is, for "expected …, got …": a list, a map, nothing, "text". */
void config_got_text(const struct yt_node *n, char *buf, size_t cap)
{
    if (n->kind != YT_SCALAR)
        snprintf(buf, cap, "a %s", n->kind == YT_SEQ ? "list" : "map");
    else if (yt_is_null(n) && !n->value[0])
        snprintf(buf, cap, "nothing");
    else
        snprintf(buf, cap, "%s\"%.48s\"%s%s", yt_is_null(n) ? "null (" : "", n->value,
                 strlen(n->value) > 48 ? "..." : "", yt_is_null(n) ? ")" : "");
}

int config_not_a_map(const struct yt_node *n, const char *path, struct err *e)
{
    char got[128];
    config_got_text(n, got, sizeof got);
    return yt_error(e, ERR_USAGE, n, path, "expected a map of keys, got %s", got);
}

/* Integer bounds of a key; infinite table bounds mean unbounded. */
static long lo_of(const struct key *k)
{
    return isinf(k->min) ? LONG_MIN : (long)k->min;
}

static long hi_of(const struct key *k)
{
    return isinf(k->max) ? LONG_MAX : (long)k->max;
}

/* The word a K_EACH key takes besides integers. */
static const char *each_word(const struct key *k)
{
    return k->choices ? k->choices[0] : "each";
}

/* The words yt_int and yt_double use for a range, so help and errors agree:
 * "" (unbounded), " ≥ 0", " ≤ 9" or " in [1, 5]". */
static void int_bounds(long lo, long hi, char *buf, size_t cap)
{
    if (lo == LONG_MIN && hi == LONG_MAX)
        snprintf(buf, cap, "%s", "");
    else if (hi == LONG_MAX)
        snprintf(buf, cap, " ≥ %ld", lo);
    else if (lo == LONG_MIN)
        snprintf(buf, cap, " ≤ %ld", hi);
    else
        snprintf(buf, cap, " in [%ld, %ld]", lo, hi);
}

static void num_text(double lo, double hi, char *buf, size_t cap)
{
    if (isinf(lo) && isinf(hi))
        snprintf(buf, cap, "a number");
    else if (isinf(hi))
        snprintf(buf, cap, "a number ≥ %g", lo);
    else if (isinf(lo))
        snprintf(buf, cap, "a number ≤ %g", hi);
    else
        snprintf(buf, cap, "a number in [%g, %g]", lo, hi);
}

/* ---- one value ---- */

static int parse_enum(const struct yt_node *n, const char *path, const char *const *words,
                      int nw, int *out, struct err *e)
{
    char list[512], got[128], h[128];
    bool text = n->kind == YT_SCALAR && !yt_is_null(n);
    for (int i = 0; text && i < nw; i++)
        if (strcmp(n->value, words[i]) == 0) {
            *out = i;
            return ERR_OK;
        }
    config_list_words(words, nw, " or ", list, sizeof list);
    config_got_text(n, got, sizeof got);
    return yt_error(e, ERR_USAGE, n, path, "expected %s, got %s%s", list, got,
                    config_hint(text ? yt_suggest(n->value, words, nw) : NULL, h, sizeof h));
}

/* Items of a list value, at most cap: a scalar is a list of one (held in
 * one[0]), a null an empty list. *count is set before the items are read,
 * so a caller's strings array is freed up to it whatever happens next. */
static int list_items(const struct yt_node *n, const char *path, int cap, struct yt_node **one,
                      struct yt_node *const **items, int *count, struct err *e)
{
    *items = one;
    *count = 0;
    if (n->kind == YT_MAP)
        return yt_error(e, ERR_USAGE, n, path, "expected a list, got a map");
    if (n->kind == YT_SCALAR) {
        one[0] = (struct yt_node *)n;
        *count = !yt_is_null(n);
        return ERR_OK;
    }
    if (n->n_items > cap)
        return yt_error(e, ERR_USAGE, n, path, "expected at most %d values, got %d", cap, n->n_items);
    *items = n->items;
    *count = n->n_items;
    return ERR_OK;
}

static int parse_ints(const struct yt_node *n, const char *path, long lo, long hi, int cap,
                      bool distinct, int *count, long *v, struct err *e)
{
    struct yt_node *one[1];
    struct yt_node *const *items;
    int rc = list_items(n, path, cap, one, &items, count, e);
    for (int i = 0; !rc && i < *count; i++) {
        rc = yt_int(items[i], path, lo, hi, &v[i], e);
        for (int j = 0; !rc && distinct && j < i; j++)
            if (v[j] == v[i])
                rc = yt_error(e, ERR_USAGE, items[i], path, "%ld is listed twice", v[i]);
    }
    return rc;
}

static int parse_nums(const struct yt_node *n, const char *path, const struct key *k, char *base,
                      struct err *e)
{
    struct yt_node *one[1];
    struct yt_node *const *items;
    int *count = (int *)(base + k->off);
    double *v = (double *)(base + k->off2);
    int rc = list_items(n, path, CFG_MAX_LIST, one, &items, count, e);
    for (int i = 0; !rc && i < *count; i++) {
        rc = yt_double(items[i], path, k->min, k->max, &v[i], e);
        for (int j = 0; !rc && j < i; j++)
            if (v[j] == v[i])
                rc = yt_error(e, ERR_USAGE, items[i], path, "%g is listed twice", v[i]);
    }
    return rc;
}

static int parse_strs(const struct yt_node *n, const char *path, int *count, char **v,
                      struct err *e)
{
    struct yt_node *one[1];
    struct yt_node *const *items;
    int rc = list_items(n, path, CFG_MAX_LIST, one, &items, count, e);
    for (int i = 0; !rc && i < *count; i++) {
        const char *s;
        rc = yt_string(items[i], path, &s, e);
        for (int j = 0; !rc && j < i; j++)
            if (strcmp(v[j], s) == 0)
                rc = yt_error(e, ERR_USAGE, items[i], path, "\"%s\" is listed twice", s);
        if (!rc && !(v[i] = config_dupstr(s)))
            rc = config_nomem(e);
    }
    return rc;
}

static int parse_range(const struct yt_node *n, const char *path, const struct key *k,
                       double *v, struct err *e)
{
    char got[128];
    config_got_text(n, got, sizeof got);
    if (n->kind != YT_SEQ || n->n_items != 2)
        return yt_error(e, ERR_USAGE, n, path, "expected a range [low, high], got %s%s", got,
                        n->kind == YT_SEQ ? (n->n_items == 1 ? " of 1 value" : " of another length")
                                          : "");
    int rc = yt_double(n->items[0], path, k->min, k->max, &v[0], e);
    if (!rc)
        rc = yt_double(n->items[1], path, k->min, k->max, &v[1], e);
    if (!rc && v[0] > v[1])
        rc = yt_error(e, ERR_USAGE, n, path, "low end %g is above high end %g", v[0], v[1]);
    return rc;
}

/* none | body | [layer, …]; which layers exist is checked once the network is known. */
static int parse_freeze(const struct yt_node *n, const char *path, struct learner_settings *s,
                        struct err *e)
{
    static const char *const words[] = {"none", "body"};
    char got[128], h[128];
    s->n_frozen = 0;
    if (n->kind == YT_SEQ) {
        int rc = parse_ints(n, path, 0, LONG_MAX, CFG_MAX_LIST, true, &s->n_frozen, s->frozen, e);
        s->freeze = s->n_frozen ? FREEZE_LAYERS : FREEZE_NONE;  /* [] freezes nothing */
        return rc;
    }
    bool text = n->kind == YT_SCALAR && !yt_is_null(n);
    for (int i = 0; text && i < 2; i++)
        if (strcmp(n->value, words[i]) == 0) {
            s->freeze = i ? FREEZE_BODY : FREEZE_NONE;
            return ERR_OK;
        }
    config_got_text(n, got, sizeof got);
    return yt_error(e, ERR_USAGE, n, path, "expected none, body or a list of layer indices, got %s%s",
                    got, config_hint(text ? yt_suggest(n->value, words, 2) : NULL, h, sizeof h));
}

void config_free_strs(char **v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i]);
        v[i] = NULL;
    }
}

/* Free what key k owns in base (strings) and forget it. */
static void free_value(const struct key *k, char *base)
{
    void *dst = base + k->off;
    switch (k->type) {
    case K_STR:
    case K_WORD:
        free(*(char **)dst);
        *(char **)dst = NULL;
        break;
    case K_STRS:
        config_free_strs((char **)(base + k->off2), *(int *)dst);
        *(int *)dst = 0;
        break;
    case K_LABELS:
        config_free_strs(((struct cfg_labels *)dst)->v, ((struct cfg_labels *)dst)->n);
        ((struct cfg_labels *)dst)->n = 0;
        break;
    default:           /* numbers, and source.train, which holds none of the above */
        break;
    }
}

/* Every key's value of section sec in base. */
void config_free_section(int sec, char *base)
{
    int n;
    const struct key *keys = config_keys(&n);
    for (int i = 0; i < n; i++)
        if (keys[i].sec == sec)
            free_value(&keys[i], base);
}

static int parse_list(const struct key *k, const struct yt_node *n, const char *path, char *base,
                      struct err *e)
{
    int *count = (int *)(base + k->off);
    long *v = (long *)(base + k->off2);
    if (k->type == K_WIDTHS)
        return parse_ints(n, path, lo_of(k), hi_of(k), MLP_MAX_LAYERS - 1, false, count, v, e);
    int rc = parse_ints(n, path, lo_of(k), hi_of(k), CFG_MAX_LIST, true, count, v, e);
    if (!rc && *count == 0 && strcmp(k->def ? k->def : "", "[]") != 0) {
        char got[128];
        config_got_text(n, got, sizeof got);
        rc = yt_error(e, ERR_USAGE, n, path, "expected at least one value, got %s",
                      n->kind == YT_SEQ ? "an empty list" : got);
    }
    return rc;
}

int config_parse_value(const struct key *k, const struct yt_node *n, const char *path,
                       char *base, struct err *e)
{
    void *dst = base + k->off;
    const char *s, *names[MAX_KINDS];
    char buf[128], range[96];
    int rc, idx;
    free_value(k, base);   /* a value parsed twice (a sweep check, a re-default) leaks nothing */
    switch (k->type) {
    case K_STR:
        if ((rc = yt_string(n, path, &s, e)))
            return rc;
        return (*(char **)dst = config_dupstr(s)) ? ERR_OK : config_nomem(e);
    case K_INT:
        return yt_int(n, path, lo_of(k), hi_of(k), dst, e);
    case K_EACH:
        if (n->kind == YT_SCALAR && !n->quoted && strcmp(n->value, each_word(k)) == 0) {
            *(long *)dst = 0;
            return ERR_OK;
        }
        if (n->kind == YT_SCALAR && !n->quoted && yt_int(n, path, lo_of(k), hi_of(k), dst, e) == 0)
            return ERR_OK;
        config_got_text(n, buf, sizeof buf);
        int_bounds(lo_of(k), hi_of(k), range, sizeof range);
        return yt_error(e, ERR_USAGE, n, path, "expected an integer%s or %s, got %s", range,
                        each_word(k), buf);
    case K_NUM:
        return yt_double(n, path, k->min, k->max, dst, e);
    case K_BOOL:
        return yt_bool(n, path, dst, e);
    case K_ENUM:
        return parse_enum(n, path, k->choices, count_words(k->choices), dst, e);
    case K_WORD:
        if ((rc = parse_enum(n, path, k->choices, count_words(k->choices), &idx, e)))
            return rc;
        return (*(char **)dst = config_dupstr(k->choices[idx])) ? ERR_OK : config_nomem(e);
    case K_KIND:
        return parse_enum(n, path, names, kind_names(names), dst, e);
    case K_INTS:
    case K_WIDTHS:
        return parse_list(k, n, path, base, e);
    case K_NUMS:
        return parse_nums(n, path, k, base, e);
    case K_RANGE:
        return parse_range(n, path, k, dst, e);
    case K_STRS:
        return parse_strs(n, path, (int *)dst, (char **)(base + k->off2), e);
    case K_LABELS:
        ((struct cfg_labels *)dst)->where = config_where_of(n);
        return parse_strs(n, path, &((struct cfg_labels *)dst)->n, ((struct cfg_labels *)dst)->v, e);
    case K_FREEZE:
        return parse_freeze(n, path, (struct learner_settings *)((char *)dst -
                            offsetof(struct learner_settings, freeze)), e);
    case K_SUB:
    case K_MAP:
        break;
    }
    return ERR_OK;
}

/* ---- hashing resolved values ---- */

/* Key k's value in base, canonically: every type in one unambiguous text
 * (strings with their lengths, numbers round-tripping, lists counted). */
static void hash_value(struct hash128 *h, const struct key *k, const char *base)
{
    const void *v = base + k->off;
    switch (k->type) {
    case K_STR:
    case K_WORD:
        hash128_str(h, *(char *const *)v);
        break;
    case K_INT:
    case K_EACH:
        hash128_printf(h, "%ld", *(const long *)v);
        break;
    case K_NUM:
        hash128_printf(h, "%.17g", *(const double *)v);
        break;
    case K_BOOL:
        hash128_printf(h, "%d", (int)*(const bool *)v);
        break;
    case K_ENUM:   /* the word, not its index: reordering choices keeps ids */
        hash128_str(h, k->choices[*(const int *)v]);
        break;
    case K_KIND:
        hash128_str(h, learner_kinds[*(const int *)v]->name);
        break;
    case K_INTS:
    case K_WIDTHS:
        hash128_printf(h, "[%d:", *(const int *)v);
        for (int i = 0; i < *(const int *)v; i++)
            hash128_printf(h, "%ld,", ((const long *)(base + k->off2))[i]);
        hash128_printf(h, "]");
        break;
    case K_RANGE:
        hash128_printf(h, "%.17g,%.17g", ((const double *)v)[0], ((const double *)v)[1]);
        break;
    case K_NUMS:
        hash128_printf(h, "[%d:", *(const int *)v);
        for (int i = 0; i < *(const int *)v; i++)
            hash128_printf(h, "%.17g,", ((const double *)(base + k->off2))[i]);
        hash128_printf(h, "]");
        break;
    case K_LABELS:
        hash128_printf(h, "[%d:", ((const struct cfg_labels *)v)->n);
        for (int i = 0; i < ((const struct cfg_labels *)v)->n; i++)
            hash128_str(h, ((const struct cfg_labels *)v)->v[i]);
        hash128_printf(h, "]");
        break;
    case K_STRS:
        hash128_printf(h, "[%d:", *(const int *)v);
        for (int i = 0; i < *(const int *)v; i++)
            hash128_str(h, ((char *const *)(base + k->off2))[i]);
        hash128_printf(h, "]");
        break;
    case K_FREEZE: {
        const struct learner_settings *s =
            (const struct learner_settings *)((const char *)v - offsetof(struct learner_settings, freeze));
        hash128_printf(h, "%d[%d:", s->freeze, s->n_frozen);
        for (int i = 0; i < s->n_frozen; i++)
            hash128_printf(h, "%ld,", s->frozen[i]);
        hash128_printf(h, "]");
        break;
    }
    default:   /* K_SUB and K_MAP: sections, walked by their own keys */
        break;
    }
}

void config_hash(struct hash128 *h, int sec, const void *base, const char *word, int feeds)
{
    int n;
    const struct key *keys = config_keys(&n);
    hash128_printf(h, "{%s:", sec_names[sec]);
    for (int i = 0; i < n; i++) {
        const struct key *k = &keys[i];
        if (k->sec != sec || (word && !config_applies(k->only, word)))
            continue;
        if (k->type == K_SUB) {
            config_hash(h, k->sub, (const char *)base + k->off, word, feeds);
            continue;
        }
        if (!(k->feeds & feeds))
            continue;
        hash128_str(h, k->name);
        hash_value(h, k, base);
        hash128_printf(h, ";");
    }
    hash128_printf(h, "}");
}

/* ---- keys ---- */

const struct key *config_find_key(int sec, const char *name)
{
    int n;
    const struct key *keys = config_keys(&n);
    for (int i = 0; i < n; i++)
        if (keys[i].sec == sec && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Names of the keys of sec that apply to word (NULL: all); returns count. */
static int section_keys(int sec, const char *word, const char **out)
{
    int n = 0, n_all;
    const struct key *keys = config_keys(&n_all);
    for (int i = 0; i < n_all; i++)
        if (keys[i].sec == sec && (!word || config_applies(keys[i].only, word)))
            out[n++] = keys[i].name;
    return n;
}

/* name is not a key of sec (or not one for word, "a learner of kind" what). */
int config_unknown_key(int sec, const char *name, const struct yt_node *at, const char *path,
                       const char *word, const char *what, struct err *e)
{
    const char *names[N_TABLE + MAX_LEARNER_KEYS];
    char list[1024];
    int n = section_keys(sec, word, names);
    config_list_words(names, n, " and ", list, sizeof list);
    if (word && config_find_key(sec, name))
        return yt_error(e, ERR_USAGE, at, path, "not a key of %s \"%s\" (its keys: %s)", what,
                        word, list);
    const char *near = yt_suggest(name, names, n);
    if (near)
        return yt_error(e, ERR_USAGE, at, path, "unknown key (did you mean \"%s\"?)", near);
    return yt_error(e, ERR_USAGE, at, path, "unknown key (valid keys: %s)", list);
}

/* ---- help ---- */

void config_type_text(const struct key *k, char *buf, size_t cap)
{
    char list[96], range[96];
    const char *names[MAX_KINDS];
    switch (k->type) {
    case K_STR: snprintf(buf, cap, "a string"); break;
    case K_INT:
        int_bounds(lo_of(k), hi_of(k), range, sizeof range);
        snprintf(buf, cap, "an integer%s", range);
        break;
    case K_NUM: num_text(k->min, k->max, buf, cap); break;
    case K_EACH:
        int_bounds(lo_of(k), hi_of(k), range, sizeof range);
        snprintf(buf, cap, "an integer%s or %s", range, each_word(k));
        break;
    case K_BOOL: snprintf(buf, cap, "true or false"); break;
    case K_ENUM:
    case K_WORD:
        config_list_words(k->choices, count_words(k->choices), " or ", buf, cap);
        break;
    case K_KIND: config_list_words(names, kind_names(names), " or ", buf, cap); break;
    case K_INTS:
        int_bounds(lo_of(k), hi_of(k), range, sizeof range);
        snprintf(buf, cap, "a list of distinct integers%s", range);
        break;
    case K_WIDTHS:
        int_bounds(lo_of(k), hi_of(k), range, sizeof range);
        snprintf(buf, cap, "a list of at most %d integers%s", MLP_MAX_LAYERS - 1, range);
        break;
    case K_NUMS:
        num_text(k->min, k->max, list, sizeof list);
        if (strcmp(list, "a number") == 0)
            snprintf(buf, cap, "a list of distinct numbers");
        else
            snprintf(buf, cap, "a list of distinct numbers, each %s", list);
        break;
    case K_RANGE:
        num_text(k->min, k->max, list, sizeof list);
        snprintf(buf, cap, "[low, high], each %s", list);
        break;
    case K_LABELS: snprintf(buf, cap, "a list of class labels"); break;
    case K_STRS: snprintf(buf, cap, "a list of column names"); break;
    case K_FREEZE: snprintf(buf, cap, "none, body or a list of layer indices"); break;
    default: snprintf(buf, cap, "a map"); break;
    }
}

/* The formats or kinds a key applies to, "a, b" ("all" for every one). */
static void only_text(const struct key *k, char *buf, size_t cap)
{
    size_t o = 0;
    const char *p = k->only ? k->only : "all";
    for (; *p && o + 3 < cap; p++) {
        buf[o++] = *p;
        if (*p == ',')
            buf[o++] = ' ';
    }
    buf[o] = '\0';
}

void config_help_learners(FILE *out)
{
    static const char *const pretrainings[] = {
        [PRETRAIN_NONE] = "none", [PRETRAIN_SHARED] = "the shared supervised pretraining",
        [PRETRAIN_OWN] = "its own (meta-training on the source task)",
    };
    fprintf(out, "Learner kinds (learners.<name>.kind), with their keys and defaults:\n");
    for (int i = 0; i < learner_n_kinds; i++) {
        const struct learner_kind *k = learner_kinds[i];
        struct learner_settings s;
        struct err e;
        int rc = config_learner_defaults(i, &s, &e);
        fprintf(out, "\n  %s\n      %s\n      pretraining: %s; input gradients: %s\n      keys:",
                k->name, k->summary, rc ? "?" : pretrainings[k->pretraining(&s)],
                k->input_grad ? "yes" : "no (no gradient probes)");
        for (const struct kind_key *kk = k->keys; kk->name; kk++) {
            const char *d = learner_key_default(i, kk->name);
            fprintf(out, "%s %s %s%s", kk == k->keys ? "" : ",", kk->name,
                    d[0] == '=' ? "= " : "", d[0] == '=' ? d + 1 : d);
        }
        fprintf(out, "%s\n", k->keys[0].name ? "" : " none");
    }
}

/* "x" as code (markdown) or plain. */
static void word(char *buf, size_t cap, const char *x, bool markdown)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, markdown ? "`%s`" : "%s", x);
}

/* A default's text: a value, or "=k": the value of key k. */
static void default_word(char *buf, size_t cap, const char *d, bool markdown)
{
    if (d[0] != '=') {
        word(buf, cap, d, markdown);
        return;
    }
    strncat(buf, "the value of ", cap - strlen(buf) - 1);
    word(buf, cap, d + 1, markdown);
}

/* A key's default as help shows it: required, none, one value, or for a
 * learner key whose kinds differ, the usual one and the others by kind. */
static void default_text(const struct key *k, bool markdown, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!k->def || !k->def[0]) {
        snprintf(buf, cap, "%s", !k->def ? "required" : markdown ? "—" : "optional");
        return;
    }
    if (!markdown)
        snprintf(buf, cap, "default ");
    if ((k->sec != S_LEARNER && k->sec != S_META) || strcmp(k->name, "kind") == 0) {
        word(buf, cap, k->def, markdown);
        return;
    }
    char name[PATH_LEN];
    learner_key_name(k, name, sizeof name);
    const char *defs[MAX_KINDS];
    int n = 0, best = -1, best_count = 0;
    for (int i = 0; i < learner_n_kinds; i++)
        if ((defs[n] = learner_key_default(i, name)))
            n++;
    for (int i = 0; i < n; i++) {
        int count = 0;
        for (int j = 0; j < n; j++)
            count += strcmp(defs[i], defs[j]) == 0;
        if (count > best_count)
            best = i, best_count = count;
    }
    default_word(buf, cap, best >= 0 ? defs[best] : k->def, markdown);
    for (int i = 0, shown = 0; i < learner_n_kinds; i++) {
        const char *d = learner_key_default(i, name);
        if (!d || strcmp(d, defs[best]) == 0)
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s: ", shown++ ? "; " : " (", learner_kinds[i]->name);
        default_word(buf, cap, d, markdown);
    }
    if (best_count < n)
        strncat(buf, ")", cap - strlen(buf) - 1);
}

void config_help(FILE *out, bool markdown)
{
    if (markdown)
        fprintf(out, "| key | type | default | applies to | meaning |\n| --- | --- | --- | --- | --- |\n");
    else
        fprintf(out, "Experiment file keys (YAML).\n");
    int n;
    const struct key *keys = config_keys(&n);
    for (int i = 0; i < n; i++) {
        const struct key *k = &keys[i];
        char path[PATH_LEN], type[256], only[512], def[1024];
        config_join(path, sec_names[k->sec], k->name);
        config_type_text(k, type, sizeof type);
        only_text(k, only, sizeof only);
        default_text(k, markdown, def, sizeof def);
        if (markdown)
            fprintf(out, "| `%s` | %s | %s | %s | %s |\n", path, type, def, only, k->help);
        else
            fprintf(out, "\n  %s\n      %s; %s%s%s\n      %s\n", path, type, def,
                    k->only ? "; only for " : "", k->only ? only : "", k->help);
    }
}
