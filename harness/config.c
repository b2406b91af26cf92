/* config: the experiment schema (one table) and its parser and validator.
 *
 * The table below is the only place a key is declared; parsing, defaults,
 * `kshot help config`, the sweep's path check and freeing all walk it. A
 * section is parsed by walking the YAML map once against the table (unknown
 * keys, keys that do not apply to this data format or learner kind), then
 * filling every key of the section from the map or from the table's default,
 * which is YAML text parsed by the same code as user input. Cross-field rules
 * (a target's data exists, record_steps ≤ steps, …) follow; they look the
 * offending value up in the tree again so their messages point at it. Rules
 * that need the data itself (class ids exist, classes do not overlap) are
 * checked by the runner when it loads the data, with the locations kept here.
 * Not here: loading data, planning units, sweeps' variant expansion (plan.c). */
#include "harness/config.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PATH_LEN 512       /* a dotted key path in a message */
#define MAX_KINDS 64       /* learner kinds the registry may hold */

enum sec { S_TOP, S_DATA, S_NETWORK, S_SOURCE, S_TRAIN, S_TARGET, S_LEARNER, S_OUTPUT, N_SEC };

enum ktype {
    K_STR,     /* a string (char *) */
    K_INT,     /* long in [min, max] */
    K_NUM,     /* finite double in [min, max] */
    K_BOOL,
    K_ENUM,    /* one of choices; stored as its index (int) */
    K_WORD,    /* one of choices; stored as a string (char *) */
    K_KIND,    /* a learner kind from the registry (int) */
    K_INTS,    /* distinct longs in [min, max]: count (int) at off, long[] at off2; a scalar is
                  a list of one; empty only when the default is "[]" */
    K_WIDTHS,  /* layer widths in [min, max] like K_INTS, but repeats allowed, empty allowed,
                  at most MLP_MAX_LAYERS - 1 (the head is the last layer) */
    K_RANGE,   /* [lo, hi], finite, lo ≤ hi (double[2]) */
    K_LABELS,  /* distinct class labels as written (struct cfg_labels) */
    K_STRS,    /* distinct strings: count (int) at off, char *[] at off2 */
    K_FREEZE,  /* none | body | [layer, …] into a learner_settings' freeze fields */
    K_SUB,     /* the nested section source.train (the only one) at off */
    K_MAP,     /* a map handled by dedicated code (data, targets, learners, sweep, probes) */
};

static const char *const optimizers[] = {"sgd", "adam", NULL};        /* enum optim_kind */
static const char *const activations[] = {"identity", "relu", "tanh", NULL}; /* enum act */
static const char *const inits[] = {"torch", "he", "glorot", "zero", NULL};  /* enum init_kind */
/* A fresh network must break symmetry, so zero is only for a new head. */
static const char *const fresh_inits[] = {"torch", "he", "glorot", NULL};
static const char *const formats[] = {"idx", "csv", "sinusoid", "clusters", NULL};
static const char *const distances[] = {"euclidean", "cosine", NULL};
static const char *const spaces[] = {"features", "input", NULL};
static const char *const splits[] = {"train", "test", NULL};

struct key {
    int sec;
    const char *name;
    int type;
    double min, max;     /* bounds of numbers and integers; ±INF: unbounded */
    const char *def;     /* YAML text of the default; NULL: required; "": none */
    size_t off, off2;    /* destination(s) in the section's struct */
    const char *only;    /* "a,b": applies only to these formats/kinds; NULL: all */
    const char *const *choices;
    const char *help;
};

#define EXP(f) offsetof(struct experiment, f)
#define DAT(f) offsetof(struct cfg_data, f)
#define SRC(f) offsetof(struct cfg_source, f)
#define TRN(f) offsetof(struct cfg_train, f)
#define TGT(f) offsetof(struct cfg_target, f)
#define LRN(f) offsetof(struct cfg_learner, s.f)
#define INF HUGE_VAL

static const struct key schema[] = {
    /* top level */
    {S_TOP, "name", K_STR, 0, 0, NULL, EXP(name), 0, NULL, NULL,
     "experiment name; results go to results/<name>/ unless -o or output.dir says otherwise"},
    {S_TOP, "seeds", K_INTS, 0, 4294967295.0, "[0]", EXP(n_seeds), EXP(seeds), NULL, NULL,
     "seeds; each gives its own pretraining, initialisations and episodes"},
    {S_TOP, "data", K_MAP, 0, 0, NULL, 0, 0, NULL, NULL,
     "named data sources data.<name>.*, referred to by source.data and targets.<name>.data"},
    {S_TOP, "network", K_MAP, 0, 0, "", 0, 0, NULL, NULL, "the network's shape: network.*"},
    {S_TOP, "source", K_MAP, 0, 0, "", 0, 0, NULL, NULL,
     "the pretraining task source.*; needed by learners that reuse a pretrained network"},
    {S_TOP, "targets", K_MAP, 0, 0, NULL, 0, 0, NULL, NULL,
     "named held-out tasks targets.<name>.*; at least one"},
    {S_TOP, "learners", K_MAP, 0, 0, NULL, 0, 0, NULL, NULL,
     "named learners learners.<name>.*; the CSV's learner column holds <name>; at least one"},
    {S_TOP, "probes", K_MAP, 0, 0, "", 0, 0, NULL, NULL,
     "robustness probes; none are implemented in this version, so it must be empty"},
    {S_TOP, "sweep", K_MAP, 0, 0, "", 0, 0, NULL, NULL,
     "dotted key path -> list of values; the cartesian product gives variants"},
    {S_TOP, "output", K_MAP, 0, 0, "", 0, 0, NULL, NULL, "where results go: output.*"},
    /* output */
    {S_OUTPUT, "dir", K_STR, 0, 0, "", EXP(output_dir), 0, NULL, NULL,
     "results directory (default results/<name>; -o DIR on the command line wins)"},
    /* data.<name> */
    {S_DATA, "format", K_ENUM, 0, 0, NULL, DAT(format), 0, NULL, formats,
     "idx for MNIST-style files, csv for your own table, sinusoid or clusters for synthetic data"},
    {S_DATA, "dir", K_STR, 0, 0, "", DAT(dir), 0, "idx", NULL,
     "directory holding train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]"},
    {S_DATA, "images", K_STR, 0, 0, "", DAT(images), 0, "idx", NULL, "train images file (instead of dir)"},
    {S_DATA, "labels", K_STR, 0, 0, "", DAT(labels), 0, "idx", NULL, "train labels file (instead of dir)"},
    {S_DATA, "test_images", K_STR, 0, 0, "", DAT(test_images), 0, "idx", NULL,
     "test images file (instead of dir; with test_labels)"},
    {S_DATA, "test_labels", K_STR, 0, 0, "", DAT(test_labels), 0, "idx", NULL,
     "test labels file (instead of dir; with test_images)"},
    {S_DATA, "path", K_STR, 0, 0, NULL, DAT(path), 0, "csv", NULL, "CSV file with a header row"},
    {S_DATA, "label", K_STR, 0, 0, "", DAT(label), 0, "csv", NULL,
     "label column (name, or 0-based index) for classification"},
    {S_DATA, "targets", K_STRS, 0, 0, "", DAT(n_targets), DAT(targets), "csv", NULL,
     "target columns for regression (instead of label)"},
    {S_DATA, "features", K_STRS, 0, 0, "", DAT(n_features), DAT(features), "csv", NULL,
     "feature columns (default: every other column)"},
    {S_DATA, "scale", K_NUM, 0, INF, "0", DAT(scale), 0, "idx,csv", NULL,
     "divide every feature by this (e.g. 255 for bytes); 0 leaves features as they are"},
    {S_DATA, "standardise", K_BOOL, 0, 0, "false", DAT(standardise), 0, "idx,csv", NULL,
     "z-score each feature with mean and std of the source rows only (after scale)"},
    {S_DATA, "amplitude", K_RANGE, 0, INF, "[0.1, 5.0]", DAT(amplitude), 0, "sinusoid", NULL,
     "range of A in y = A·sin(x − φ)"},
    {S_DATA, "phase", K_RANGE, -INF, INF, "[0, 3.141592653589793]", DAT(phase), 0, "sinusoid", NULL,
     "range of φ"},
    {S_DATA, "x", K_RANGE, -INF, INF, "[-5, 5]", DAT(x), 0, "sinusoid", NULL, "range of x"},
    {S_DATA, "size", K_INT, 1, 1e8, "10000", DAT(size), 0, "sinusoid", NULL,
     "points, each from a fresh function, in one pretraining epoch"},
    {S_DATA, "classes", K_INT, 2, 1000, "10", DAT(classes), 0, "clusters", NULL, "number of classes"},
    {S_DATA, "dim", K_INT, 1, 100000, "20", DAT(dim), 0, "clusters", NULL, "features"},
    {S_DATA, "separation", K_NUM, 0, INF, "0.5", DAT(separation), 0, "clusters", NULL,
     "std of the class centres in units of the points' unit noise (higher is easier)"},
    {S_DATA, "per_class", K_INT, 1, 1000000, "200", DAT(per_class), 0, "clusters", NULL,
     "points per class in each split"},
    /* network */
    {S_NETWORK, "hidden", K_WIDTHS, 1, 100000, "[256, 128]", EXP(n_hidden), EXP(hidden), NULL, NULL,
     "hidden layer widths (the body), at most 7; the head is added per task"},
    {S_NETWORK, "activation", K_ENUM, 0, 0, "relu", EXP(activation), 0, NULL, activations,
     "activation after every hidden layer"},
    {S_NETWORK, "init", K_ENUM, 0, 0, "torch", EXP(init), 0, NULL, fresh_inits,
     "initialisation of fresh networks: torch (U(±1/√fan_in), PyTorch's default), he, glorot"},
    /* source */
    {S_SOURCE, "data", K_STR, 0, 0, NULL, SRC(data), 0, NULL, NULL, "data source to pretrain on"},
    {S_SOURCE, "split", K_WORD, 0, 0, "train", SRC(split), 0, NULL, splits, "train or test"},
    {S_SOURCE, "classes", K_LABELS, 0, 0, "[]", SRC(classes), 0, NULL, NULL,
     "class labels to pretrain on (ids or names as in the data; default: all)"},
    {S_SOURCE, "train", K_SUB, 0, 0, "", SRC(train), 0, NULL, NULL, "the pretraining recipe: source.train.*"},
    {S_TRAIN, "epochs", K_INT, 1, 100000, "1", TRN(epochs), 0, NULL, NULL, "passes over the source data"},
    {S_TRAIN, "batch", K_INT, 1, 1000000, "64", TRN(batch), 0, NULL, NULL,
     "minibatch size (the last partial batch is kept)"},
    {S_TRAIN, "optimizer", K_ENUM, 0, 0, "adam", TRN(optimizer), 0, NULL, optimizers, "sgd or adam"},
    {S_TRAIN, "lr", K_NUM, 0, 100, "0.001", TRN(lr), 0, NULL, NULL, "learning rate"},
    {S_TRAIN, "momentum", K_NUM, 0, 1, "0", TRN(momentum), 0, NULL, NULL, "SGD momentum (sgd only)"},
    {S_TRAIN, "weight_decay", K_NUM, 0, INF, "0", TRN(weight_decay), 0, NULL, NULL,
     "L2 penalty added to the gradient"},
    /* targets.<name> */
    {S_TARGET, "data", K_STR, 0, 0, NULL, TGT(data), 0, NULL, NULL, "data source of the held-out task"},
    {S_TARGET, "split", K_WORD, 0, 0, "test", TGT(split), 0, NULL, splits,
     "train or test; a csv source has only train, which is then the default"},
    {S_TARGET, "classes", K_LABELS, 0, 0, "[]", TGT(classes), 0, NULL, NULL,
     "class labels episodes draw from (default: all); must not overlap the source's"},
    {S_TARGET, "allow_overlap", K_BOOL, 0, 0, "false", TGT(allow_overlap), 0, NULL, NULL,
     "accept classes shared with the source (then it is not a held-out task)"},
    {S_TARGET, "ways", K_INT, 2, 1000, "5", TGT(ways), 0, NULL, NULL,
     "classes per episode (classification only)"},
    {S_TARGET, "shots", K_INTS, 1, 100000, "[1, 5]", TGT(n_shots), TGT(shots), NULL, NULL,
     "support examples per class (or points, for regression); one curve point each"},
    {S_TARGET, "queries", K_INT, 1, 100000, "15", TGT(queries), 0, NULL, NULL,
     "query examples per class (or points, for regression)"},
    {S_TARGET, "episodes", K_INT, 1, 10000000, "600", TGT(episodes), 0, NULL, NULL,
     "episodes per seed and shot count"},
    {S_TARGET, "permute", K_BOOL, 0, 0, "false", TGT(permute), 0, NULL, NULL,
     "apply a fixed random permutation to the features (a control: features should not transfer)"},
    {S_TARGET, "rotate", K_NUM, -360, 360, "0", TGT(rotate), 0, NULL, NULL,
     "rotate images by this many degrees (idx data only)"},
    {S_TARGET, "noise", K_NUM, 0, INF, "0", TGT(noise), 0, NULL, NULL,
     "std of Gaussian noise added to the preprocessed inputs"},
    /* learners.<name> */
    {S_LEARNER, "kind", K_KIND, 0, 0, NULL, LRN(kind), 0, NULL, NULL,
     "scratch, finetune, prototypes or knn"},
    {S_LEARNER, "steps", K_INT, 0, 1000000, "100", LRN(steps), 0, "scratch,finetune", NULL,
     "full-batch gradient steps on the support set"},
    {S_LEARNER, "optimizer", K_ENUM, 0, 0, "adam", LRN(optim.kind), 0, "scratch,finetune", optimizers,
     "sgd or adam"},
    {S_LEARNER, "lr", K_NUM, 0, 100, "0.001", LRN(optim.lr), 0, "scratch,finetune", NULL, "learning rate"},
    {S_LEARNER, "momentum", K_NUM, 0, 1, "0", LRN(optim.momentum), 0, "scratch,finetune", NULL,
     "SGD momentum (sgd only)"},
    {S_LEARNER, "weight_decay", K_NUM, 0, INF, "0", LRN(optim.weight_decay), 0, "scratch,finetune",
     NULL, "L2 penalty added to the gradient"},
    {S_LEARNER, "record_steps", K_INTS, 0, 1000000, "[]", LRN(n_record), LRN(record_steps),
     "scratch,finetune", NULL, "also record metrics after these steps (default: the last only)"},
    {S_LEARNER, "freeze", K_FREEZE, 0, 0, "none", LRN(freeze), 0, "finetune", NULL,
     "none, body (train the head only: a linear probe) or a list of layer indices, 0 first"},
    {S_LEARNER, "head", K_ENUM, 0, 0, "zero", LRN(head), 0, "finetune", inits,
     "initialisation of the new head: zero, torch, he or glorot"},
    {S_LEARNER, "distance", K_ENUM, 0, 0, "euclidean", LRN(distance), 0, "prototypes,knn", distances,
     "euclidean (squared) or cosine"},
    {S_LEARNER, "k", K_INT, 1, 1000, "1", LRN(k), 0, "knn", NULL, "neighbours that vote"},
    {S_LEARNER, "space", K_ENUM, 0, 0, "features", LRN(space), 0, "knn", spaces,
     "features (pretrained body) or input (raw inputs, no pretraining)"},
};
#define N_KEYS ((int)(sizeof schema / sizeof schema[0]))

static const char *const sec_names[N_SEC] = {
    "", "data.<name>", "network", "source", "source.train", "targets.<name>", "learners.<name>",
    "output",
};

_Static_assert(LEARNER_MAX_LIST >= CFG_MAX_LIST, "record_steps and freeze hold CFG_MAX_LIST items");

/* ---- small helpers ---- */

static struct cfg_where where_of(const struct yt_node *n)
{
    struct cfg_where w = {"", n ? n->line : 0, n ? n->col : 0};
    if (n && n->file)
        snprintf(w.file, sizeof w.file, "%s", n->file);
    return w;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int nomem(struct err *e)
{
    return err_set(e, ERR_NOMEM, "out of memory while reading the experiment");
}

/* "prefix.name", or name alone at the top level, cut at PATH_LEN (a path
 * only ever appears in messages). */
static void join(char *buf, const char *prefix, const char *name)
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
static bool applies(const char *only, const char *word)
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
static void list_words(const char *const *w, int n, const char *conj, char *buf, size_t cap)
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
        out[i] = learner_kinds[i].name;
    return learner_n_kinds;
}

/* " (did you mean "x"?)" when near is not NULL, else "". */
static const char *hint(const char *near, char *buf, size_t cap)
{
    if (!near)
        return "";
    snprintf(buf, cap, " (did you mean \"%s\"?)", near);
    return buf;
}

/* What a node is, for "expected …, got …": a list, a map, nothing, "text". */
static void got_text(const struct yt_node *n, char *buf, size_t cap)
{
    if (n->kind != YT_SCALAR)
        snprintf(buf, cap, "a %s", n->kind == YT_SEQ ? "list" : "map");
    else if (yt_is_null(n) && !n->value[0])
        snprintf(buf, cap, "nothing");
    else
        snprintf(buf, cap, "%s\"%.48s\"%s%s", yt_is_null(n) ? "null (" : "", n->value,
                 strlen(n->value) > 48 ? "..." : "", yt_is_null(n) ? ")" : "");
}

static int not_a_map(const struct yt_node *n, const char *path, struct err *e)
{
    char got[128];
    got_text(n, got, sizeof got);
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
    list_words(words, nw, " or ", list, sizeof list);
    got_text(n, got, sizeof got);
    return yt_error(e, ERR_USAGE, n, path, "expected %s, got %s%s", list, got,
                    hint(text ? yt_suggest(n->value, words, nw) : NULL, h, sizeof h));
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
        if (!rc && !(v[i] = dupstr(s)))
            rc = nomem(e);
    }
    return rc;
}

static int parse_range(const struct yt_node *n, const char *path, const struct key *k,
                       double *v, struct err *e)
{
    char got[128];
    got_text(n, got, sizeof got);
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
    got_text(n, got, sizeof got);
    return yt_error(e, ERR_USAGE, n, path, "expected none, body or a list of layer indices, got %s%s",
                    got, hint(text ? yt_suggest(n->value, words, 2) : NULL, h, sizeof h));
}

static void free_strs(char **v, int n)
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
        free_strs((char **)(base + k->off2), *(int *)dst);
        *(int *)dst = 0;
        break;
    case K_LABELS:
        free_strs(((struct cfg_labels *)dst)->v, ((struct cfg_labels *)dst)->n);
        ((struct cfg_labels *)dst)->n = 0;
        break;
    default:           /* numbers, and source.train, which holds none of the above */
        break;
    }
}

/* Every key's value of section sec in base. */
static void free_section(int sec, char *base)
{
    for (int i = 0; i < N_KEYS; i++)
        if (schema[i].sec == sec)
            free_value(&schema[i], base);
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
        got_text(n, got, sizeof got);
        rc = yt_error(e, ERR_USAGE, n, path, "expected at least one value, got %s",
                      n->kind == YT_SEQ ? "an empty list" : got);
    }
    return rc;
}

static int parse_value(const struct key *k, const struct yt_node *n, const char *path,
                       char *base, struct err *e)
{
    void *dst = base + k->off;
    const char *s, *names[MAX_KINDS];
    int rc, idx;
    free_value(k, base);   /* a value parsed twice (a sweep check, a re-default) leaks nothing */
    switch (k->type) {
    case K_STR:
        if ((rc = yt_string(n, path, &s, e)))
            return rc;
        return (*(char **)dst = dupstr(s)) ? ERR_OK : nomem(e);
    case K_INT:
        return yt_int(n, path, lo_of(k), hi_of(k), dst, e);
    case K_NUM:
        return yt_double(n, path, k->min, k->max, dst, e);
    case K_BOOL:
        return yt_bool(n, path, dst, e);
    case K_ENUM:
        return parse_enum(n, path, k->choices, count_words(k->choices), dst, e);
    case K_WORD:
        if ((rc = parse_enum(n, path, k->choices, count_words(k->choices), &idx, e)))
            return rc;
        return (*(char **)dst = dupstr(k->choices[idx])) ? ERR_OK : nomem(e);
    case K_KIND:
        return parse_enum(n, path, names, kind_names(names), dst, e);
    case K_INTS:
    case K_WIDTHS:
        return parse_list(k, n, path, base, e);
    case K_RANGE:
        return parse_range(n, path, k, dst, e);
    case K_STRS:
        return parse_strs(n, path, (int *)dst, (char **)(base + k->off2), e);
    case K_LABELS:
        ((struct cfg_labels *)dst)->where = where_of(n);
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

/* ---- sections ---- */

static const struct key *find_key(int sec, const char *name)
{
    for (int i = 0; i < N_KEYS; i++)
        if (schema[i].sec == sec && strcmp(schema[i].name, name) == 0)
            return &schema[i];
    return NULL;
}

/* Names of the keys of sec that apply to word (NULL: all); returns count. */
static int section_keys(int sec, const char *word, const char **out)
{
    int n = 0;
    for (int i = 0; i < N_KEYS; i++)
        if (schema[i].sec == sec && (!word || applies(schema[i].only, word)))
            out[n++] = schema[i].name;
    return n;
}

/* name is not a key of sec (or not one for word, "a learner of kind" what). */
static int unknown_key(int sec, const char *name, const struct yt_node *at, const char *path,
                       const char *word, const char *what, struct err *e)
{
    const char *names[N_KEYS];
    char list[1024];
    int n = section_keys(sec, word, names);
    list_words(names, n, " and ", list, sizeof list);
    if (word && find_key(sec, name))
        return yt_error(e, ERR_USAGE, at, path, "not a key of %s \"%s\" (its keys: %s)", what,
                        word, list);
    const char *near = yt_suggest(name, names, n);
    if (near)
        return yt_error(e, ERR_USAGE, at, path, "unknown key (did you mean \"%s\"?)", near);
    return yt_error(e, ERR_USAGE, at, path, "unknown key (valid keys: %s)", list);
}

static int missing(const struct key *k, const struct yt_node *at, const char *prefix, struct err *e)
{
    return yt_error(e, ERR_USAGE, at, prefix, "missing required key \"%s\" (%s)", k->name, k->help);
}

/* The value of one key from map m (may be NULL) or, when absent, from its default. */
static int fill_key(const struct key *k, const struct yt_node *m, const struct yt_node *at,
                    const char *prefix, char *base, struct err *e)
{
    char path[PATH_LEN];
    join(path, prefix, k->name);
    const struct yt_node *n = yt_get(m, k->name);
    if (n)
        return parse_value(k, n, path, base, e);
    if (!k->def)
        return missing(k, at, prefix, e);
    if (!k->def[0])
        return ERR_OK;
    struct yt_doc d = {0};
    int rc = yt_load_string("<default>", k->def, &d, e);
    if (!rc)
        rc = parse_value(k, d.root, path, base, e);
    yt_free(&d);
    return rc;
}

/* Parse map m (NULL or null: every default) of section sec into base; at
 * locates a missing key when m is absent. word (a data format or learner
 * kind) selects the keys that apply; what names the thing for messages
 * ("a learner of kind"). */
static int parse_section(int sec, const struct yt_node *m, const struct yt_node *at,
                         const char *prefix, char *base, const char *word, const char *what,
                         struct err *e)
{
    char path[PATH_LEN];
    int rc = ERR_OK;
    if (m && yt_is_null(m))
        m = NULL;
    if (m && m->kind != YT_MAP)
        return not_a_map(m, prefix, e);
    for (int i = 0; m && i < m->n_items; i++) {
        const struct key *k = find_key(sec, m->keys[i]);
        join(path, prefix, m->keys[i]);
        if (!k || (word && !applies(k->only, word)))
            return unknown_key(sec, m->keys[i], m->key_nodes[i], path, word, what, e);
    }
    if (m)
        at = m;
    for (int i = 0; !rc && i < N_KEYS; i++) {
        const struct key *k = &schema[i];
        if (k->sec != sec || (word && !applies(k->only, word)))
            continue;
        if (k->type == K_SUB) {
            join(path, prefix, k->name);
            rc = parse_section(S_TRAIN, yt_get(m, k->name), at, path, base + k->off, NULL, NULL, e);
        } else if (k->type != K_MAP) {
            rc = fill_key(k, m, at, prefix, base, e);
        } else if (!k->def && !yt_get(m, k->name)) {
            rc = missing(k, at, prefix, e);
        }
    }
    return rc;
}

/* A named section (data.<name>, learners.<name>): the discriminating key
 * (format, kind) first, then the keys that apply to it. */
static int parse_named(int sec, const struct yt_node *m, const char *prefix, char *base,
                       struct err *e)
{
    const struct key *k = find_key(sec, sec == S_DATA ? "format" : "kind");
    int rc;
    if (m->kind != YT_MAP)
        return not_a_map(m, prefix, e);
    if ((rc = fill_key(k, m, m, prefix, base, e)))
        return rc;
    int v = *(int *)(base + k->off);
    const char *word = sec == S_DATA ? formats[v] : learner_kinds[v].name;
    return parse_section(sec, m, m, prefix, base, word,
                         sec == S_DATA ? "a data source of format" : "a learner of kind", e);
}

/* Names become directory names and fields of unit descriptions. */
static bool valid_name(const char *s)
{
    return s[0] && !strpbrk(s, "/,\"") && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int bad_name(const struct yt_node *n, const char *path, struct err *e)
{
    return yt_error(e, ERR_USAGE, n, path, "\"%s\" is not a valid name (a name is not empty, has "
                    "no '/', ',' or '\"', and is not \".\" or \"..\")", n->value);
}

/* m must be a non-empty map of at most CFG_MAX_LIST well-named entries. */
static int check_named(const struct yt_node *m, const char *path, const char *noun, struct err *e)
{
    char got[128];
    assert(m);   /* parse_section refused its absence */
    if (m->kind != YT_MAP) {
        got_text(m, got, sizeof got);
        return yt_error(e, ERR_USAGE, m, path, "expected a map of named %ss, got %s", noun, got);
    }
    if (m->n_items == 0)
        return yt_error(e, ERR_USAGE, m, path, "expected at least one named %s, got none", noun);
    if (m->n_items > CFG_MAX_LIST)
        return yt_error(e, ERR_USAGE, m, path, "expected at most %d %ss, got %d", CFG_MAX_LIST, noun,
                        m->n_items);
    for (int i = 0; i < m->n_items; i++)
        if (!valid_name(m->keys[i]))
            return bad_name(m->key_nodes[i], path, e);
    return ERR_OK;
}

static int parse_data(const struct yt_node *m, struct experiment *x, struct err *e)
{
    int rc = check_named(m, "data", "data source", e);
    for (int i = 0; !rc && i < m->n_items; i++) {
        struct cfg_data *d = &x->data[x->n_data++];
        char prefix[PATH_LEN];
        join(prefix, "data", m->keys[i]);
        d->where = where_of(m->key_nodes[i]);
        if (!(d->name = dupstr(m->keys[i])))
            rc = nomem(e);
        else
            rc = parse_named(S_DATA, m->items[i], prefix, (char *)d, e);
    }
    return rc;
}

static int parse_targets(const struct yt_node *m, struct experiment *x, struct err *e)
{
    int rc = check_named(m, "targets", "target", e);
    for (int i = 0; !rc && i < m->n_items; i++) {
        struct cfg_target *t = &x->targets[x->n_targets++];
        char prefix[PATH_LEN];
        join(prefix, "targets", m->keys[i]);
        t->where = where_of(m->key_nodes[i]);
        if (!(t->name = dupstr(m->keys[i])))
            rc = nomem(e);
        else if (m->items[i]->kind != YT_MAP)
            rc = not_a_map(m->items[i], prefix, e);
        else
            rc = parse_section(S_TARGET, m->items[i], m->items[i], prefix, (char *)t, NULL, NULL, e);
    }
    return rc;
}

static int parse_learners(const struct yt_node *m, struct experiment *x, struct err *e)
{
    int rc = check_named(m, "learners", "learner", e);
    for (int i = 0; !rc && i < m->n_items; i++) {
        struct cfg_learner *l = &x->learners[x->n_learners++];
        char prefix[PATH_LEN];
        join(prefix, "learners", m->keys[i]);
        l->where = where_of(m->key_nodes[i]);
        optim_defaults(&l->s.optim);  /* betas and eps: not configurable yet */
        if (!(l->name = dupstr(m->keys[i])))
            rc = nomem(e);
        else
            rc = parse_named(S_LEARNER, m->items[i], prefix, (char *)l, e);
    }
    return rc;
}

static int parse_probes(const struct yt_node *m, struct err *e)
{
    char path[PATH_LEN], got[128];
    if (!m || yt_is_null(m) || (m->kind == YT_MAP && m->n_items == 0))
        return ERR_OK;
    if (m->kind != YT_MAP) {
        got_text(m, got, sizeof got);
        return yt_error(e, ERR_USAGE, m, "probes", "expected a map of probes, got %s", got);
    }
    join(path, "probes", m->keys[0]);
    return yt_error(e, ERR_USAGE, m->key_nodes[0], path,
                    "robustness probes are not implemented in this version of kshot; "
                    "remove the probes section");
}

/* ---- sweep ---- */

/* What a sweep path names: a key of section sec (k), or the whole section
 * (k NULL) — source, source.train, network, or one named entry. */
struct swept {
    int sec;
    const struct key *k;
    const char *word;          /* the entry's format or kind, for keys that apply to some */
    const char *what;
};

/* rest names an entry of section map m, maybe followed by ".key": the
 * longest matching name wins (names may hold dots). Returns its index or -1. */
static int entry_of(const struct yt_node *m, const char *rest, size_t *len)
{
    int best = -1;
    *len = 0;
    for (int i = 0; i < m->n_items; i++) {
        size_t n = strlen(m->keys[i]);
        if (strncmp(rest, m->keys[i], n) == 0 && (rest[n] == '\0' || rest[n] == '.') &&
            (best < 0 || n > *len)) {
            best = i;
            *len = n;
        }
    }
    return best;
}

static int sweep_key(int sec, const char *name, const struct yt_node *at, const char *path,
                     struct swept *r, struct err *e)
{
    r->sec = sec;
    r->k = find_key(sec, name);
    if (!r->k || (r->word && !applies(r->k->only, r->word)))
        return unknown_key(sec, name, at, path, r->word, r->what, e);
    return ERR_OK;
}

/* data.<name>[.key], targets.<name>[.key], learners.<name>[.key]. */
static int sweep_entry(const struct experiment *x, const struct yt_node *m, int sec,
                       const char *rest, const struct yt_node *at, const char *path,
                       struct swept *r, struct err *e)
{
    const char *noun = sec == S_DATA ? "data source" : sec == S_TARGET ? "target" : "learner";
    char first[PATH_LEN], h[128];
    size_t len;
    int i = rest ? entry_of(m, rest, &len) : -1;
    if (!rest)
        return yt_error(e, ERR_USAGE, at, path, "sweep one %s at a time (%s.<name> or one of its "
                        "keys)", noun, sec == S_DATA ? "data" : sec == S_TARGET ? "targets" : "learners");
    if (i < 0) {
        snprintf(first, sizeof first, "%.*s", (int)strcspn(rest, "."), rest);
        return yt_error(e, ERR_USAGE, at, path, "no %s \"%s\"%s", noun, first,
                        hint(yt_suggest(first, (const char *const *)m->keys, m->n_items), h, sizeof h));
    }
    if (sec == S_DATA) {
        r->word = formats[x->data[i].format];
        r->what = "a data source of format";
    } else if (sec == S_LEARNER) {
        r->word = learner_kinds[x->learners[i].s.kind].name;
        r->what = "a learner of kind";
    }
    r->sec = sec;
    return rest[len] ? sweep_key(sec, rest + len + 1, at, path, r, e) : ERR_OK;
}

static int sweep_resolve(const struct experiment *x, const struct yt_node *root, const char *p,
                         const struct yt_node *at, const char *path, struct swept *r,
                         struct err *e)
{
    char top[PATH_LEN];
    size_t n = strcspn(p, ".");
    const char *rest = p[n] ? p + n + 1 : NULL;
    snprintf(top, sizeof top, "%.*s", (int)n, p);
    memset(r, 0, sizeof *r);
    const struct key *k = find_key(S_TOP, top);
    if (!k)
        return unknown_key(S_TOP, top, at, path, NULL, NULL, e);
    if (strcmp(top, "name") == 0 || strcmp(top, "output") == 0)
        return yt_error(e, ERR_USAGE, at, path, "\"%s\" cannot be swept (every variant belongs to "
                        "one experiment and one results directory)", top);
    if (strcmp(top, "sweep") == 0 || strcmp(top, "probes") == 0)
        return yt_error(e, ERR_USAGE, at, path, "\"%s\" cannot be swept", top);
    if (k->type != K_MAP) {
        r->sec = S_TOP;
        r->k = k;
        return rest ? yt_error(e, ERR_USAGE, at, path, "%s has no keys to sweep", top) : ERR_OK;
    }
    if (strcmp(top, "network") == 0) {
        r->sec = S_NETWORK;
        return rest ? sweep_key(S_NETWORK, rest, at, path, r, e) : ERR_OK;
    }
    if (strcmp(top, "source") == 0) {
        bool train = rest && strncmp(rest, "train", 5) == 0 && (rest[5] == '.' || !rest[5]);
        r->sec = train ? S_TRAIN : S_SOURCE;
        if (!x->source.data)
            return yt_error(e, ERR_USAGE, at, path, "the experiment has no source section to sweep");
        if (train)
            return rest[5] ? sweep_key(S_TRAIN, rest + 6, at, path, r, e) : ERR_OK;
        return rest ? sweep_key(S_SOURCE, rest, at, path, r, e) : ERR_OK;
    }
    int sec = strcmp(top, "data") == 0 ? S_DATA : strcmp(top, "targets") == 0 ? S_TARGET : S_LEARNER;
    return sweep_entry(x, yt_get(root, top), sec, rest, at, path, r, e);
}

/* Type-check one swept value by parsing it into scratch (a zeroed block as
 * large as any section's struct), then free what that made. */
static int sweep_check(const struct swept *r, const struct yt_node *v, const char *path,
                       char *scratch, struct err *e)
{
    int rc;
    memset(scratch, 0, sizeof(struct experiment));
    if (r->k)
        rc = parse_value(r->k, v, path, scratch, e);
    else if (r->sec == S_DATA || r->sec == S_LEARNER)
        rc = parse_named(r->sec, v, path, scratch, e);
    else if (v->kind != YT_MAP)
        rc = not_a_map(v, path, e);
    else
        rc = parse_section(r->sec, v, v, path, scratch, NULL, NULL, e);
    free_section(r->sec, scratch);
    return rc;
}

static int sweep_one(const struct experiment *x, const struct yt_node *root, const struct yt_node *key,
                     const struct yt_node *v, struct cfg_sweep *s, char *scratch, struct err *e)
{
    char path[PATH_LEN];
    struct swept r;
    join(path, "sweep", key->value);
    int rc = sweep_resolve(x, root, key->value, key, path, &r, e);
    if (rc)
        return rc;
    if (v->kind != YT_SEQ || v->n_items == 0 || v->n_items > CFG_MAX_LIST) {
        char got[128];
        got_text(v, got, sizeof got);
        return yt_error(e, ERR_USAGE, v, path, "expected a list of 1 to %d values, got %s",
                        CFG_MAX_LIST, v->kind == YT_SEQ ? "a list of another length" : got);
    }
    if (!(s->path = dupstr(key->value)))
        return nomem(e);
    for (int j = 0; !rc && j < v->n_items; j++) {
        if ((rc = sweep_check(&r, v->items[j], path, scratch, e)) ||
            (rc = yt_flow_text(v->items[j], &s->values[s->n_values], e)))
            break;
        s->n_values++;
        for (int i = 0; !rc && i < j; i++)
            if (strcmp(s->values[i], s->values[j]) == 0)
                rc = yt_error(e, ERR_USAGE, v->items[j], path, "%s is listed twice", s->values[j]);
    }
    return rc;
}

static int parse_sweep(const struct yt_node *m, const struct yt_node *root, struct experiment *x,
                       struct err *e)
{
    int max = (int)(sizeof x->sweep / sizeof x->sweep[0]), rc = ERR_OK;
    char got[128];
    if (!m || yt_is_null(m) || (m->kind == YT_MAP && m->n_items == 0))
        return ERR_OK;
    got_text(m, got, sizeof got);
    if (m->kind != YT_MAP)
        return yt_error(e, ERR_USAGE, m, "sweep", "expected a map of key.path: [values], got %s", got);
    if (m->n_items > max)
        return yt_error(e, ERR_USAGE, m, "sweep", "at most %d swept keys, got %d", max, m->n_items);
    char *scratch = calloc(1, sizeof(struct experiment));
    if (!scratch)
        return nomem(e);
    for (int i = 0; !rc && i < m->n_items; i++)
        rc = sweep_one(x, root, m->key_nodes[i], m->items[i], &x->sweep[x->n_sweep++], scratch, e);
    free(scratch);
    return rc;
}

/* ---- cross-field rules ---- */

const struct cfg_data *config_data(const struct experiment *x, const char *name)
{
    for (int i = 0; i < x->n_data; i++)
        if (strcmp(x->data[i].name, name) == 0)
            return &x->data[i];
    return NULL;
}

bool config_data_regression(const struct cfg_data *d)
{
    return d->format == FMT_SINUSOID || (d->format == FMT_CSV && d->n_targets > 0);
}

/* root.a.b.c, stopping at the first NULL part; NULL when absent. */
static const struct yt_node *node_at(const struct yt_node *root, const char *a, const char *b,
                                     const char *c)
{
    const struct yt_node *n = yt_get(root, a);
    if (n && b)
        n = yt_get(n, b);
    if (n && c)
        n = yt_get(n, c);
    return n;
}

/* Item i of a list node; a scalar stands for itself. */
static const struct yt_node *item_of(const struct yt_node *n, int i)
{
    return n && n->kind == YT_SEQ && i < n->n_items ? n->items[i] : n;
}

static int check_data_ref(const struct experiment *x, const char *name, const struct yt_node *at,
                          const char *path, struct err *e)
{
    const char *names[CFG_MAX_LIST];
    char list[1024], h[128];
    if (config_data(x, name))
        return ERR_OK;
    for (int i = 0; i < x->n_data; i++)
        names[i] = x->data[i].name;
    const char *near = yt_suggest(name, names, x->n_data);
    if (near)
        return yt_error(e, ERR_USAGE, at, path, "no data source \"%s\"%s", name, hint(near, h, sizeof h));
    list_words(names, x->n_data, " and ", list, sizeof list);
    return yt_error(e, ERR_USAGE, at, path, "no data source \"%s\" (%s %s)", name,
                    x->n_data == 1 ? "the only one is" : "the data sources are", list);
}

static int check_idx(const struct cfg_data *d, const struct yt_node *m, const char *prefix,
                     struct err *e)
{
    static const char *const files[] = {"images", "labels", "test_images", "test_labels"};
    char path[PATH_LEN];
    for (int i = 0; d->dir && i < 4; i++)
        if (yt_get(m, files[i])) {
            join(path, prefix, files[i]);
            return yt_error(e, ERR_USAGE, yt_get(m, files[i]), path, "give dir or the files "
                            "(images, labels, test_images, test_labels), not both");
        }
    if (!d->dir && !(d->images && d->labels))
        return yt_error(e, ERR_USAGE, m, prefix, "an idx source needs dir, or images and labels");
    if (!d->test_images != !d->test_labels) {
        join(path, prefix, d->test_images ? "test_images" : "test_labels");
        return yt_error(e, ERR_USAGE, yt_get(m, d->test_images ? "test_images" : "test_labels"), path,
                        "test_images and test_labels go together; give both or neither");
    }
    return ERR_OK;
}

static int check_data(const struct cfg_data *d, const struct yt_node *root, struct err *e)
{
    const struct yt_node *m = node_at(root, "data", d->name, NULL);
    char prefix[PATH_LEN], path[PATH_LEN];
    join(prefix, "data", d->name);
    if (d->format == FMT_IDX)
        return check_idx(d, m, prefix, e);
    if (d->format == FMT_CSV && d->label && d->n_targets) {
        join(path, prefix, "targets");
        return yt_error(e, ERR_USAGE, yt_get(m, "targets"), path, "a csv source has either label "
                        "(classification) or targets (regression), not both");
    }
    if (d->format == FMT_CSV && !d->label && !d->n_targets)
        return yt_error(e, ERR_USAGE, m, prefix, "a csv source needs label (classification) or "
                        "targets (regression)");
    return ERR_OK;
}

/* momentum is an SGD setting: with Adam it would be silently ignored. */
static int check_momentum(int optimizer, double momentum, const struct yt_node *m,
                          const char *prefix, struct err *e)
{
    char path[PATH_LEN];
    if (optimizer == OPTIM_SGD || momentum == 0)
        return ERR_OK;
    join(path, prefix, "momentum");
    return yt_error(e, ERR_USAGE, yt_get(m, "momentum"), path,
                    "momentum applies to sgd only, and the optimizer here is adam");
}

/* A rule shared by source and targets: a regression source has no classes,
 * a csv source only a train split. */
static int check_use(const struct cfg_data *d, const struct yt_node *m, const char *prefix,
                     const char *split, struct err *e)
{
    char path[PATH_LEN];
    if (config_data_regression(d) && yt_get(m, "classes")) {
        join(path, prefix, "classes");
        return yt_error(e, ERR_USAGE, yt_get(m, "classes"), path, "data source \"%s\" is a "
                        "regression task, which has no classes", d->name);
    }
    if (d->format == FMT_CSV && strcmp(split, "train") != 0) {
        join(path, prefix, "split");
        return yt_error(e, ERR_USAGE, yt_get(m, "split"), path, "data source \"%s\" is a csv file, "
                        "which has only a train split", d->name);
    }
    return ERR_OK;
}

static int check_source(const struct experiment *x, const struct yt_node *root, struct err *e)
{
    const struct yt_node *m = yt_get(root, "source");
    const struct cfg_source *s = &x->source;
    int rc = check_data_ref(x, s->data, yt_get(m, "data"), "source.data", e);
    if (!rc)
        rc = check_use(config_data(x, s->data), m, "source", s->split, e);
    if (!rc)
        rc = check_momentum(s->train.optimizer, s->train.momentum, yt_get(m, "train"),
                            "source.train", e);
    return rc;
}

/* ways against the classes a target can draw from, when known before loading. */
static int check_ways(const struct cfg_target *t, const struct cfg_data *d,
                      const struct yt_node *m, const char *prefix, struct err *e)
{
    char path[PATH_LEN];
    const struct yt_node *ways = yt_get(m, "ways");
    join(path, prefix, ways ? "ways" : "classes");
    if (t->classes.n > 0 && t->classes.n < t->ways)
        return yt_error(e, ERR_USAGE, ways ? ways : yt_get(m, "classes"), path, "%ld ways need at "
                        "least %ld classes, but classes lists %d", t->ways, t->ways, t->classes.n);
    join(path, prefix, "ways");
    if (d->format == FMT_CLUSTERS && d->classes < t->ways)
        return yt_error(e, ERR_USAGE, ways ? ways : m, ways ? path : prefix, "%ld ways need at "
                        "least %ld classes, but data source \"%s\" has %ld", t->ways, t->ways,
                        d->name, d->classes);
    return ERR_OK;
}

static int check_target(const struct experiment *x, struct cfg_target *t, const struct yt_node *root,
                        struct err *e)
{
    const struct yt_node *m = node_at(root, "targets", t->name, NULL);
    char prefix[PATH_LEN], path[PATH_LEN];
    join(prefix, "targets", t->name);
    join(path, prefix, "data");
    int rc = check_data_ref(x, t->data, yt_get(m, "data"), path, e);
    if (rc)
        return rc;
    const struct cfg_data *d = config_data(x, t->data);
    if (d->format == FMT_CSV && !yt_get(m, "split")) {  /* a csv target's default split */
        free(t->split);
        if (!(t->split = dupstr("train")))
            return nomem(e);
    }
    if ((rc = check_use(d, m, prefix, t->split, e)))
        return rc;
    join(path, prefix, "ways");
    if (config_data_regression(d) && yt_get(m, "ways"))
        return yt_error(e, ERR_USAGE, yt_get(m, "ways"), path, "data source \"%s\" is a regression "
                        "task, which has no ways", d->name);
    if (!config_data_regression(d) && (rc = check_ways(t, d, m, prefix, e)))
        return rc;
    join(path, prefix, "rotate");
    if (t->rotate != 0 && d->format != FMT_IDX)
        return yt_error(e, ERR_USAGE, yt_get(m, "rotate"), path, "rotation needs images (an idx "
                        "source), but \"%s\" is %s data", d->name, formats[d->format]);
    join(path, prefix, "permute");
    if (t->permute && d->format == FMT_SINUSOID)
        return yt_error(e, ERR_USAGE, yt_get(m, "permute"), path, "a sinusoid task has one input, "
                        "so there is nothing to permute");
    return ERR_OK;
}

static int check_freeze(const struct experiment *x, const struct cfg_learner *l,
                        const struct yt_node *m, struct err *e)
{
    const struct learner_settings *s = &l->s;
    const struct yt_node *f = yt_get(m, "freeze");
    int head = x->n_hidden;   /* layers 0..n_hidden; the last is the head */
    char path[PATH_LEN];
    if (s->freeze != FREEZE_LAYERS)
        return ERR_OK;
    snprintf(path, sizeof path, "learners.%s.freeze", l->name);
    for (int i = 0; i < s->n_frozen; i++)
        if (s->frozen[i] > head)
            return yt_error(e, ERR_USAGE, item_of(f, i), path, "layer %ld does not exist (the "
                            "network has layers 0 to %d, %d being the head)", s->frozen[i], head, head);
    if (s->n_frozen == head + 1)
        return yt_error(e, ERR_USAGE, f, path, "every layer (0 to %d) is frozen, so nothing would "
                        "be trained", head);
    for (int i = 0; i < s->n_frozen; i++)
        if (s->frozen[i] == head && s->head == INIT_ZERO)
            return yt_error(e, ERR_USAGE, item_of(f, i), path, "a frozen head (layer %d) stays at "
                            "its zero initialisation, so every score would be 0 (set head: torch, "
                            "he or glorot, or leave layer %d trainable)", head, head);
    return ERR_OK;
}

static int check_learner(const struct experiment *x, const struct cfg_learner *l,
                         const struct yt_node *root, struct err *e)
{
    const struct learner_kind *k = &learner_kinds[l->s.kind];
    const struct yt_node *m = node_at(root, "learners", l->name, NULL);
    const struct yt_node *rs = yt_get(m, "record_steps"), *kind = yt_get(m, "kind");
    char prefix[PATH_LEN], path[PATH_LEN];
    join(prefix, "learners", l->name);
    join(path, prefix, "record_steps");
    for (int i = 0; i < l->s.n_record; i++)
        if (l->s.record_steps[i] > l->s.steps)
            return yt_error(e, ERR_USAGE, item_of(rs, i), path, "step %ld is after the last step "
                            "(steps: %ld)", l->s.record_steps[i], l->s.steps);
    int rc = check_momentum(l->s.optim.kind, l->s.optim.momentum, m, prefix, e);
    if (rc || (rc = check_freeze(x, l, m, e)))
        return rc;
    join(path, prefix, "kind");
    if (k->needs_pretrain(&l->s) && !x->source.data)
        return yt_error(e, ERR_USAGE, kind, path, "a %s learner reuses a pretrained network, but the "
                        "experiment has no source section%s", k->name,
                        strcmp(k->name, "knn") == 0 ? " (add one, or set space: input)" : "");
    for (int t = 0; k->classification_only && t < x->n_targets; t++)
        if (config_data_regression(config_data(x, x->targets[t].data)))
            return yt_error(e, ERR_USAGE, kind, path, "a %s learner classifies, but target \"%s\" is "
                            "a regression task", k->name, x->targets[t].name);
    return ERR_OK;
}

static int validate(struct experiment *x, const struct yt_node *root, struct err *e)
{
    int rc = ERR_OK;
    for (int i = 0; !rc && i < x->n_data; i++)
        rc = check_data(&x->data[i], root, e);
    if (!rc && x->source.data)
        rc = check_source(x, root, e);
    for (int i = 0; !rc && i < x->n_targets; i++)
        rc = check_target(x, &x->targets[i], root, e);
    for (int i = 0; !rc && i < x->n_learners; i++)
        rc = check_learner(x, &x->learners[i], root, e);
    return rc;
}

/* ---- top level ---- */

static int parse_top(const struct yt_node *root, struct experiment *x, struct err *e)
{
    const struct yt_node *src = yt_get(root, "source");
    int rc = parse_section(S_TOP, root, root, "", (char *)x, NULL, NULL, e);
    if (!rc && !valid_name(x->name))
        rc = bad_name(yt_get(root, "name"), "name", e);
    if (!rc)
        rc = parse_section(S_NETWORK, yt_get(root, "network"), root, "network", (char *)x, NULL,
                           NULL, e);
    if (!rc)
        rc = parse_data(yt_get(root, "data"), x, e);
    if (!rc && src && !yt_is_null(src)) {
        x->source.where = where_of(src);
        rc = parse_section(S_SOURCE, src, root, "source", (char *)&x->source, NULL, NULL, e);
    }
    if (!rc)
        rc = parse_targets(yt_get(root, "targets"), x, e);
    if (!rc)
        rc = parse_learners(yt_get(root, "learners"), x, e);
    if (!rc)
        rc = parse_probes(yt_get(root, "probes"), e);
    if (!rc)
        rc = parse_sweep(yt_get(root, "sweep"), root, x, e);
    if (!rc)
        rc = parse_section(S_OUTPUT, yt_get(root, "output"), root, "output", (char *)x, NULL, NULL, e);
    return rc;
}

int config_from_tree(const struct yt_doc *doc, struct experiment *x, struct err *e)
{
    memset(x, 0, sizeof *x);
    const struct yt_node *root = doc->root;
    int rc;
    if (!root || root->kind != YT_MAP) {
        rc = err_set(e, ERR_USAGE, "%s: an experiment file is a map of keys (name, data, targets, "
                     "learners, …)", doc->file ? doc->file : "<experiment>");
        goto fail;
    }
    if ((rc = parse_top(root, x, e)))
        goto fail;
    if (!(x->file = dupstr(doc->file ? doc->file : ""))) {
        rc = nomem(e);
        goto fail;
    }
    if ((rc = validate(x, root, e)))
        goto fail;
    return ERR_OK;
fail:
    config_free(x);
    return rc;
}

int config_load(const char *path, char *const *overrides, int n_overrides,
                struct experiment *x, struct yt_doc *doc_out, struct err *e)
{
    struct yt_doc doc = {0};
    memset(x, 0, sizeof *x);
    if (doc_out)
        memset(doc_out, 0, sizeof *doc_out);
    int rc = yt_load_file(path, &doc, e);
    for (int i = 0; !rc && i < n_overrides; i++)
        rc = yt_override(&doc, overrides[i], i + 1, e);
    if (!rc)
        rc = config_from_tree(&doc, x, e);
    if (!rc && doc_out) {
        *doc_out = doc;   /* handed off: the caller frees it */
        return ERR_OK;
    }
    yt_free(&doc);
    return rc;
}

void config_free(struct experiment *x)
{
    if (!x)
        return;
    for (int i = 0; i < x->n_data; i++) {
        free(x->data[i].name);
        free_section(S_DATA, (char *)&x->data[i]);
    }
    free_section(S_SOURCE, (char *)&x->source);
    for (int i = 0; i < x->n_targets; i++) {
        free(x->targets[i].name);
        free_section(S_TARGET, (char *)&x->targets[i]);
    }
    for (int i = 0; i < x->n_learners; i++)
        free(x->learners[i].name);    /* learner settings hold no strings */
    for (int i = 0; i < x->n_sweep; i++) {
        free(x->sweep[i].path);
        free_strs(x->sweep[i].values, x->sweep[i].n_values);
    }
    free_section(S_TOP, (char *)x);
    free_section(S_OUTPUT, (char *)x);
    free(x->file);
    memset(x, 0, sizeof *x);
}

/* ---- help ---- */

/* The type of a key in the words its error messages use. */
static void type_text(const struct key *k, char *buf, size_t cap)
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
    case K_BOOL: snprintf(buf, cap, "true or false"); break;
    case K_ENUM:
    case K_WORD:
        list_words(k->choices, count_words(k->choices), " or ", buf, cap);
        break;
    case K_KIND: list_words(names, kind_names(names), " or ", buf, cap); break;
    case K_INTS:
        int_bounds(lo_of(k), hi_of(k), range, sizeof range);
        snprintf(buf, cap, "a list of distinct integers%s", range);
        break;
    case K_WIDTHS:
        int_bounds(lo_of(k), hi_of(k), range, sizeof range);
        snprintf(buf, cap, "a list of at most %d integers%s", MLP_MAX_LAYERS - 1, range);
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

void config_help(FILE *out, bool markdown)
{
    if (markdown)
        fprintf(out, "| key | type | default | applies to | meaning |\n| --- | --- | --- | --- | --- |\n");
    else
        fprintf(out, "Experiment file keys (YAML).\n");
    for (int i = 0; i < N_KEYS; i++) {
        const struct key *k = &schema[i];
        char path[PATH_LEN], type[256], only[128];
        join(path, sec_names[k->sec], k->name);
        type_text(k, type, sizeof type);
        only_text(k, only, sizeof only);
        bool has = k->def && k->def[0];
        if (markdown)
            fprintf(out, "| `%s` | %s | %s%s%s | %s | %s |\n", path, type, has ? "`" : "",
                    !k->def ? "required" : has ? k->def : "—", has ? "`" : "", only, k->help);
        else
            fprintf(out, "\n  %s\n      %s; %s%s%s%s\n      %s\n", path, type,
                    !k->def ? "required" : has ? "default " : "optional", has ? k->def : "",
                    k->only ? "; only for " : "", k->only ? only : "", k->help);
    }
}
