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

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KINDS 64       /* learner kinds the registry may hold */

static const char *const optimizers[] = {"sgd", "adam", NULL};        /* enum optim_kind */
static const char *const activations[] = {"identity", "relu", "tanh", NULL}; /* enum act */
static const char *const inits[] = {"torch", "he", "glorot", "zero", NULL};  /* enum init_kind */
/* A fresh network must break symmetry, so zero is only for a new head. */
static const char *const fresh_inits[] = {"torch", "he", "glorot", NULL};
const char *const config_formats[] = {"idx", "csv", "sinusoid", "clusters", NULL};
static const char *const distances[] = {"euclidean", "cosine", NULL};
static const char *const spaces[] = {"features", "input", NULL};
static const char *const splits[] = {"train", "test", NULL};

#define EXP(f) offsetof(struct experiment, f)
#define DAT(f) offsetof(struct cfg_data, f)
#define SRC(f) offsetof(struct cfg_source, f)
#define TRN(f) offsetof(struct cfg_train, f)
#define TGT(f) offsetof(struct cfg_target, f)
#define LRN(f) offsetof(struct cfg_learner, s.f)
#define INF HUGE_VAL

const struct key config_schema[] = {
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
    {S_DATA, "format", K_ENUM, 0, 0, NULL, DAT(format), 0, NULL, config_formats,
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
#define N_KEYS ((int)(sizeof config_schema / sizeof config_schema[0]))
const int config_n_keys = N_KEYS;

static const char *const sec_names[N_SEC] = {
    "", "data.<name>", "network", "source", "source.train", "targets.<name>", "learners.<name>",
    "output",
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
        out[i] = learner_kinds[i].name;
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
    for (int i = 0; i < N_KEYS; i++)
        if (config_schema[i].sec == sec)
            free_value(&config_schema[i], base);
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
    int rc, idx;
    free_value(k, base);   /* a value parsed twice (a sweep check, a re-default) leaks nothing */
    switch (k->type) {
    case K_STR:
        if ((rc = yt_string(n, path, &s, e)))
            return rc;
        return (*(char **)dst = config_dupstr(s)) ? ERR_OK : config_nomem(e);
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
        return (*(char **)dst = config_dupstr(k->choices[idx])) ? ERR_OK : config_nomem(e);
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

/* ---- keys ---- */

const struct key *config_find_key(int sec, const char *name)
{
    for (int i = 0; i < N_KEYS; i++)
        if (config_schema[i].sec == sec && strcmp(config_schema[i].name, name) == 0)
            return &config_schema[i];
    return NULL;
}

/* Names of the keys of sec that apply to word (NULL: all); returns count. */
static int section_keys(int sec, const char *word, const char **out)
{
    int n = 0;
    for (int i = 0; i < N_KEYS; i++)
        if (config_schema[i].sec == sec && (!word || config_applies(config_schema[i].only, word)))
            out[n++] = config_schema[i].name;
    return n;
}

/* name is not a key of sec (or not one for word, "a learner of kind" what). */
int config_unknown_key(int sec, const char *name, const struct yt_node *at, const char *path,
                       const char *word, const char *what, struct err *e)
{
    const char *names[N_KEYS];
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
        const struct key *k = &config_schema[i];
        char path[PATH_LEN], type[256], only[128];
        config_join(path, sec_names[k->sec], k->name);
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
