/* config: the experiment schema (one table) and its parser and validator.
 *
 * The table below is the only place a key is declared. A section is parsed
 * by walking the YAML map once against the table (unknown keys, keys that do
 * not apply to this data format or learner kind), then filling every key of
 * the section from the map or from the table's default, which is YAML text
 * parsed by the same code as user input. Cross-field rules (a target's data
 * exists, record_steps ≤ steps, …) follow. Rules that need the data itself
 * (class ids exist, classes do not overlap) are checked by the runner when
 * it loads the data, with the locations kept here.
 * Not here: loading data, planning units, sweeps' variant expansion (plan.c). */
#include "harness/config.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum sec { S_TOP, S_DATA, S_NETWORK, S_SOURCE, S_TRAIN, S_TARGET, S_LEARNER, S_OUTPUT, N_SEC };

enum ktype {
    K_STR,     /* a string */
    K_INT,     /* long in [min, max] */
    K_NUM,     /* finite double in [min, max] */
    K_BOOL,
    K_ENUM,    /* one of choices; stored as its index (int) */
    K_WORD,    /* one of choices; stored as a string (char *) */
    K_KIND,    /* a learner kind from the registry (int) */
    K_INTS,    /* list of longs in [min, max] (a scalar is a list of one) */
    K_RANGE,   /* [lo, hi], finite, lo ≤ hi (double[2]) */
    K_LABELS,  /* list of class labels as written (struct cfg_labels) */
    K_STRS,    /* list of strings: count at off, char *[] at off2 */
    K_FREEZE,  /* none | body | [layer, …] */
    K_SUB,     /* a nested section (source.train), parsed by its own rows */
    K_MAP,     /* a map handled by dedicated code (data, targets, learners, sweep, probes) */
};

static const char *const optimizers[] = {"sgd", "adam", NULL};        /* enum optim_kind */
static const char *const activations[] = {"identity", "relu", "tanh", NULL}; /* enum act */
static const char *const inits[] = {"torch", "he", "glorot", "zero", NULL};  /* enum init_kind */
static const char *const formats[] = {"idx", "csv", "sinusoid", "clusters", NULL};
static const char *const distances[] = {"euclidean", "cosine", NULL};
static const char *const spaces[] = {"features", "input", NULL};
static const char *const splits[] = {"train", "test", NULL};

struct key {
    int sec;
    const char *name;
    int type;
    double min, max;
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
     "named data sources (data.<name>.*), referred to by source.data and targets.<name>.data"},
    {S_TOP, "network", K_MAP, 0, 0, "", 0, 0, NULL, NULL, "the network's shape (network.*)"},
    {S_TOP, "source", K_MAP, 0, 0, "", 0, 0, NULL, NULL,
     "the pretraining task (source.*); needed by learners that reuse a pretrained network"},
    {S_TOP, "targets", K_MAP, 0, 0, NULL, 0, 0, NULL, NULL,
     "named held-out tasks (targets.<name>.*); at least one"},
    {S_TOP, "learners", K_MAP, 0, 0, NULL, 0, 0, NULL, NULL,
     "named learners (learners.<name>.*); the CSV's learner column holds <name>; at least one"},
    {S_TOP, "probes", K_MAP, 0, 0, "", 0, 0, NULL, NULL,
     "robustness probes; none are implemented in this version, so it must be empty"},
    {S_TOP, "sweep", K_MAP, 0, 0, "", 0, 0, NULL, NULL,
     "dotted key path -> list of values; the cartesian product gives variants"},
    {S_TOP, "output", K_MAP, 0, 0, "", 0, 0, NULL, NULL, "where results go (output.*)"},
    /* output */
    {S_OUTPUT, "dir", K_STR, 0, 0, "", EXP(output_dir), 0, NULL, NULL,
     "results directory (default results/<name>; -o DIR on the command line wins)"},
    /* data.<name> */
    {S_DATA, "format", K_ENUM, 0, 0, NULL, DAT(format), 0, NULL, formats,
     "idx (MNIST-style files), csv (your own table), sinusoid or clusters (synthetic)"},
    {S_DATA, "dir", K_STR, 0, 0, "", DAT(dir), 0, "idx", NULL,
     "directory holding train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]"},
    {S_DATA, "images", K_STR, 0, 0, "", DAT(images), 0, "idx", NULL, "train images file (instead of dir)"},
    {S_DATA, "labels", K_STR, 0, 0, "", DAT(labels), 0, "idx", NULL, "train labels file (instead of dir)"},
    {S_DATA, "test_images", K_STR, 0, 0, "", DAT(test_images), 0, "idx", NULL, "test images file"},
    {S_DATA, "test_labels", K_STR, 0, 0, "", DAT(test_labels), 0, "idx", NULL, "test labels file"},
    {S_DATA, "path", K_STR, 0, 0, "", DAT(path), 0, "csv", NULL, "CSV file with a header row"},
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
    {S_NETWORK, "hidden", K_INTS, 1, 100000, "[256, 128]", EXP(n_hidden), EXP(hidden), NULL, NULL,
     "hidden layer widths (the body); the head is added per task"},
    {S_NETWORK, "activation", K_ENUM, 0, 0, "relu", EXP(activation), 0, NULL, activations,
     "activation after every hidden layer"},
    {S_NETWORK, "init", K_ENUM, 0, 0, "torch", EXP(init), 0, NULL, inits,
     "initialisation of fresh networks: torch (U(±1/√fan_in), PyTorch's default), he, glorot"},
    /* source */
    {S_SOURCE, "data", K_STR, 0, 0, NULL, SRC(data), 0, NULL, NULL, "data source to pretrain on"},
    {S_SOURCE, "split", K_WORD, 0, 0, "train", SRC(split), 0, NULL, splits, "train or test"},
    {S_SOURCE, "classes", K_LABELS, 0, 0, "[]", SRC(classes), 0, NULL, NULL,
     "class labels to pretrain on (ids or names as in the data; default: all)"},
    {S_SOURCE, "train", K_SUB, 0, 0, "", 0, 0, NULL, NULL, "the pretraining recipe (source.train.*)"},
    {S_TRAIN, "epochs", K_INT, 1, 100000, "1", TRN(epochs), 0, NULL, NULL, "passes over the source data"},
    {S_TRAIN, "batch", K_INT, 1, 1000000, "64", TRN(batch), 0, NULL, NULL,
     "minibatch size (the last partial batch is kept)"},
    {S_TRAIN, "optimizer", K_ENUM, 0, 0, "adam", TRN(optimizer), 0, NULL, optimizers, "sgd or adam"},
    {S_TRAIN, "lr", K_NUM, 0, 100, "0.001", TRN(lr), 0, NULL, NULL, "learning rate"},
    {S_TRAIN, "momentum", K_NUM, 0, 1, "0", TRN(momentum), 0, NULL, NULL, "SGD momentum"},
    {S_TRAIN, "weight_decay", K_NUM, 0, INF, "0", TRN(weight_decay), 0, NULL, NULL,
     "L2 penalty added to the gradient"},
    /* targets.<name> */
    {S_TARGET, "data", K_STR, 0, 0, NULL, TGT(data), 0, NULL, NULL, "data source of the held-out task"},
    {S_TARGET, "split", K_WORD, 0, 0, "test", TGT(split), 0, NULL, splits, "train or test"},
    {S_TARGET, "classes", K_LABELS, 0, 0, "[]", TGT(classes), 0, NULL, NULL,
     "class labels episodes draw from (default: all); must not overlap the source's"},
    {S_TARGET, "allow_overlap", K_BOOL, 0, 0, "false", TGT(allow_overlap), 0, NULL, NULL,
     "accept classes shared with the source (then it is not a held-out task)"},
    {S_TARGET, "ways", K_INT, 2, 1000, "5", TGT(ways), 0, NULL, NULL,
     "classes per episode (classification)"},
    {S_TARGET, "shots", K_INTS, 1, 100000, "[1, 5]", TGT(n_shots), TGT(shots), NULL, NULL,
     "support examples per class (or points, for regression); one curve point each"},
    {S_TARGET, "queries", K_INT, 1, 100000, "15", TGT(queries), 0, NULL, NULL,
     "query examples per class (or points, for regression)"},
    {S_TARGET, "episodes", K_INT, 1, 10000000, "600", TGT(episodes), 0, NULL, NULL,
     "episodes per seed and shot count"},
    {S_TARGET, "permute", K_BOOL, 0, 0, "false", TGT(permute), 0, NULL, NULL,
     "apply a fixed random pixel permutation (a control: features should not transfer)"},
    {S_TARGET, "rotate", K_NUM, -360, 360, "0", TGT(rotate), 0, NULL, NULL,
     "rotate images by this many degrees"},
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
     "SGD momentum"},
    {S_LEARNER, "weight_decay", K_NUM, 0, INF, "0", LRN(optim.weight_decay), 0, "scratch,finetune",
     NULL, "L2 penalty added to the gradient"},
    {S_LEARNER, "record_steps", K_INTS, 0, 1000000, "[]", LRN(n_record), LRN(record_steps),
     "scratch,finetune", NULL, "also record metrics after these steps (default: the last only)"},
    {S_LEARNER, "freeze", K_FREEZE, 0, 0, "none", LRN(freeze), 0, "finetune", NULL,
     "none, body (train the head only: a linear probe) or a list of layer indices"},
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

/* "a, b or c" into buf. */
static void list_words(const char *const *w, int n, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", w[i]);
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
    for (int i = 0; i < learner_n_kinds; i++)
        out[i] = learner_kinds[i].name;
    return learner_n_kinds;
}

/* ---- one value ---- */

static int parse_enum(const struct yt_node *n, const char *path, const char *const *words,
                      int nw, int *out, struct err *e)
{
    const char *s;
    int rc = yt_string(n, path, &s, e);
    if (rc)
        return rc;
    for (int i = 0; i < nw; i++)
        if (strcmp(s, words[i]) == 0) {
            *out = i;
            return ERR_OK;
        }
    char list[512];
    list_words(words, nw, list, sizeof list);
    const char *near = yt_suggest(s, words, nw);
    if (near)
        return yt_error(e, ERR_USAGE, n, path, "expected %s, got \"%s\" (did you mean \"%s\"?)",
                        list, s, near);
    return yt_error(e, ERR_USAGE, n, path, "expected %s, got \"%s\"", list, s);
}

/* Items of a list value; a scalar counts as a list of one. */
static int list_items(const struct yt_node *n, const char *path, struct yt_node *const **items,
                      int *count, struct err *e)
{
    static struct yt_node *one[1];
    if (n->kind == YT_MAP)
        return yt_error(e, ERR_USAGE, n, path, "expected a list, got a map");
    if (n->kind == YT_SCALAR) {
        if (yt_is_null(n)) {
            *count = 0;
            return ERR_OK;
        }
        one[0] = (struct yt_node *)n;
        *items = one;
        *count = 1;
        return ERR_OK;
    }
    if (n->n_items > CFG_MAX_LIST)
        return yt_error(e, ERR_USAGE, n, path, "at most %d items, got %d", CFG_MAX_LIST, n->n_items);
    *items = n->items;
    *count = n->n_items;
    return ERR_OK;
}

static int parse_ints(const struct yt_node *n, const char *path, const struct key *k,
                      int *count, long *v, struct err *e)
{
    struct yt_node *const *items;
    int rc = list_items(n, path, &items, count, e);
    for (int i = 0; !rc && i < *count; i++) {
        rc = yt_int(items[i], path, (long)k->min, (long)k->max, &v[i], e);
        for (int j = 0; !rc && j < i; j++)
            if (v[j] == v[i])
                rc = yt_error(e, ERR_USAGE, items[i], path, "%ld is listed twice", v[i]);
    }
    return rc;
}

static int parse_strs(const struct yt_node *n, const char *path, int *count, char **v,
                      struct err *e)
{
    struct yt_node *const *items;
    int rc = list_items(n, path, &items, count, e);
    for (int i = 0; !rc && i < *count; i++) {
        const char *s;
        rc = yt_string(items[i], path, &s, e);
        if (!rc && !(v[i] = dupstr(s)))
            rc = nomem(e);
    }
    return rc;
}

static int parse_range(const struct yt_node *n, const char *path, const struct key *k,
                       double *v, struct err *e)
{
    if (n->kind != YT_SEQ || n->n_items != 2)
        return yt_error(e, ERR_USAGE, n, path, "expected a range [low, high]");
    int rc = yt_double(n->items[0], path, k->min, k->max, &v[0], e);
    if (!rc)
        rc = yt_double(n->items[1], path, k->min, k->max, &v[1], e);
    if (!rc && v[0] > v[1])
        rc = yt_error(e, ERR_USAGE, n, path, "low end %g is above high end %g", v[0], v[1]);
    return rc;
}

static int parse_freeze(const struct yt_node *n, const char *path, struct learner_settings *s,
                        struct err *e)
{
    if (n->kind == YT_SCALAR && !n->quoted && n->value &&
        (strcmp(n->value, "none") == 0 || strcmp(n->value, "body") == 0)) {
        s->freeze = strcmp(n->value, "body") == 0 ? FREEZE_BODY : FREEZE_NONE;
        return ERR_OK;
    }
    if (n->kind != YT_SEQ)
        return yt_error(e, ERR_USAGE, n, path, "expected none, body or a list of layer indices");
    struct key k = {.min = 0, .max = MLP_MAX_LAYERS - 1};
    s->freeze = FREEZE_LAYERS;
    return parse_ints(n, path, &k, &s->n_frozen, s->frozen, e);
}

static int parse_value(const struct key *k, const struct yt_node *n, const char *path,
                       char *base, struct err *e)
{
    void *dst = base + k->off;
    const char *s;
    const char *names[64];
    int rc;
    switch (k->type) {
    case K_STR:
        if ((rc = yt_string(n, path, &s, e)))
            return rc;
        if (!(*(char **)dst = dupstr(s)))
            return nomem(e);
        return ERR_OK;
    case K_INT:
        return yt_int(n, path, (long)k->min, k->max >= 9e18 ? 0x7fffffffffffffffL : (long)k->max,
                      dst, e);
    case K_NUM:
        return yt_double(n, path, k->min, k->max, dst, e);
    case K_BOOL:
        return yt_bool(n, path, dst, e);
    case K_ENUM:
        return parse_enum(n, path, k->choices, count_words(k->choices), dst, e);
    case K_WORD: {
        int idx;
        if ((rc = parse_enum(n, path, k->choices, count_words(k->choices), &idx, e)))
            return rc;
        return (*(char **)dst = dupstr(k->choices[idx])) ? ERR_OK : nomem(e);
    }
    case K_KIND:
        return parse_enum(n, path, (const char *const *)names, kind_names(names), dst, e);
    case K_INTS:
        return parse_ints(n, path, k, (int *)dst, (long *)(base + k->off2), e);
    case K_RANGE:
        return parse_range(n, path, k, dst, e);
    case K_STRS:
        return parse_strs(n, path, (int *)dst, (char **)(base + k->off2), e);
    case K_LABELS: {
        struct cfg_labels *l = dst;
        l->where = where_of(n);
        return parse_strs(n, path, &l->n, l->v, e);
    }
    case K_FREEZE:
        return parse_freeze(n, path, (struct learner_settings *)((char *)dst -
                                                                 offsetof(struct learner_settings, freeze)),
                            e);
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

static int unknown_key(int sec, const struct yt_node *m, int i, const char *prefix,
                       const char *word, const char *what, struct err *e)
{
    const char *names[N_KEYS];
    int n = section_keys(sec, word, names);
    char list[1024], path[512];
    list_words(names, n, list, sizeof list);
    snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", m->keys[i]);
    if (word && find_key(sec, m->keys[i]))
        return yt_error(e, ERR_USAGE, m->key_nodes[i], path, "not a key of %s \"%s\" (its keys: %s)",
                        what, word, list);
    const char *near = yt_suggest(m->keys[i], names, n);
    if (near)
        return yt_error(e, ERR_USAGE, m->key_nodes[i], path, "unknown key (did you mean \"%s\"?)", near);
    return yt_error(e, ERR_USAGE, m->key_nodes[i], path, "unknown key (valid keys: %s)", list);
}

/* The value of one key from the map or, when absent, from its default. */
static int fill_key(const struct key *k, const struct yt_node *m, const struct yt_node *at,
                    const char *prefix, char *base, struct err *e)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k->name);
    const struct yt_node *n = m ? yt_get(m, k->name) : NULL;
    if (n)
        return parse_value(k, n, path, base, e);
    if (!k->def)
        return yt_error(e, ERR_USAGE, at, prefix, "missing required key \"%s\" (%s)", k->name, k->help);
    if (!k->def[0])
        return ERR_OK;
    struct yt_doc d = {0};
    int rc = yt_load_string("<default>", k->def, &d, e);
    if (!rc)
        rc = parse_value(k, d.root, path, base, e);
    yt_free(&d);
    return rc;
}

/* Parse map m (NULL or null: every default) of section sec into base. word
 * (a data format or learner kind) selects the keys that apply; what names
 * the thing for messages ("a learner of kind"). */
static int parse_section(int sec, const struct yt_node *m, const struct yt_node *at,
                         const char *prefix, char *base, const char *word, const char *what,
                         struct err *e)
{
    if (m && yt_is_null(m))
        m = NULL;
    if (m && m->kind != YT_MAP)
        return yt_error(e, ERR_USAGE, m, prefix, "expected a map of keys");
    for (int i = 0; m && i < m->n_items; i++) {
        const struct key *k = find_key(sec, m->keys[i]);
        if (!k || (word && !applies(k->only, word)))
            return unknown_key(sec, m, i, prefix, word, what, e);
    }
    for (int i = 0; i < N_KEYS; i++) {
        const struct key *k = &schema[i];
        if (k->sec != sec || (word && !applies(k->only, word)))
            continue;
        int rc = ERR_OK;
        if (k->type == K_SUB) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s.%s", prefix, k->name);
            rc = parse_section(S_TRAIN, m ? yt_get(m, k->name) : NULL, m ? m : at, sub,
                               base + SRC(train), NULL, NULL, e);
        } else if (k->type != K_MAP) {
            rc = fill_key(k, m, m ? m : at, prefix, base, e);
        }
        if (rc)
            return rc;
    }
    return ERR_OK;
}

/* A named section (data.<name>, learners.<name>): the discriminating key
 * (format, kind) first, then the keys that apply to it. */
static int parse_named(int sec, const struct yt_node *m, const char *prefix, const char *disc,
                       char *base, struct err *e)
{
    const struct key *k = find_key(sec, disc);
    int rc;
    if (yt_is_null(m) || m->kind != YT_MAP)
        return yt_error(e, ERR_USAGE, m, prefix, "expected a map of keys");
    if ((rc = fill_key(k, m, m, prefix, base, e)))
        return rc;
    int v = *(int *)(base + k->off);
    const char *word = sec == S_DATA ? formats[v] : learner_kinds[v].name;
    return parse_section(sec, m, m, prefix, base, word,
                         sec == S_DATA ? "a data source of format" : "a learner of kind", e);
}

static int check_name(const struct yt_node *key, const char *what, struct err *e)
{
    const char *s = key->value;
    if (!s[0] || strchr(s, '/') || strchr(s, ',') || strchr(s, '"') || strcmp(s, ".") == 0 ||
        strcmp(s, "..") == 0)
        return yt_error(e, ERR_USAGE, key, what,
                        "name \"%s\" must be non-empty without '/', ',' or '\"'", s);
    return ERR_OK;
}

static int parse_data(const struct yt_node *m, const struct yt_node *at, struct experiment *x,
                      struct err *e)
{
    if (!m || yt_is_null(m) || m->kind != YT_MAP || m->n_items == 0)
        return yt_error(e, ERR_USAGE, m ? m : at, "data", "expected at least one named data source");
    if (m->n_items > CFG_MAX_LIST)
        return yt_error(e, ERR_USAGE, m, "data", "at most %d data sources", CFG_MAX_LIST);
    for (int i = 0; i < m->n_items; i++) {
        struct cfg_data *d = &x->data[x->n_data++];
        char prefix[300];
        snprintf(prefix, sizeof prefix, "data.%s", m->keys[i]);
        d->where = where_of(m->key_nodes[i]);
        int rc = check_name(m->key_nodes[i], "data", e);
        if (!rc && !(d->name = dupstr(m->keys[i])))
            rc = nomem(e);
        if (!rc)
            rc = parse_named(S_DATA, m->items[i], prefix, "format", (char *)d, e);
        if (rc)
            return rc;
    }
    return ERR_OK;
}

static int parse_targets(const struct yt_node *m, const struct yt_node *at, struct experiment *x,
                         struct err *e)
{
    if (!m || yt_is_null(m) || m->kind != YT_MAP || m->n_items == 0)
        return yt_error(e, ERR_USAGE, m ? m : at, "targets", "expected at least one named target");
    if (m->n_items > CFG_MAX_LIST)
        return yt_error(e, ERR_USAGE, m, "targets", "at most %d targets", CFG_MAX_LIST);
    for (int i = 0; i < m->n_items; i++) {
        struct cfg_target *t = &x->targets[x->n_targets++];
        char prefix[300];
        snprintf(prefix, sizeof prefix, "targets.%s", m->keys[i]);
        t->where = where_of(m->key_nodes[i]);
        int rc = check_name(m->key_nodes[i], "targets", e);
        if (!rc && !(t->name = dupstr(m->keys[i])))
            rc = nomem(e);
        if (!rc && (yt_is_null(m->items[i]) || m->items[i]->kind != YT_MAP))
            rc = yt_error(e, ERR_USAGE, m->items[i], prefix, "expected a map of keys");
        if (!rc)
            rc = parse_section(S_TARGET, m->items[i], m->items[i], prefix, (char *)t, NULL, NULL, e);
        if (rc)
            return rc;
    }
    return ERR_OK;
}

static int parse_learners(const struct yt_node *m, const struct yt_node *at, struct experiment *x,
                          struct err *e)
{
    if (!m || yt_is_null(m) || m->kind != YT_MAP || m->n_items == 0)
        return yt_error(e, ERR_USAGE, m ? m : at, "learners", "expected at least one named learner");
    if (m->n_items > CFG_MAX_LIST)
        return yt_error(e, ERR_USAGE, m, "learners", "at most %d learners", CFG_MAX_LIST);
    for (int i = 0; i < m->n_items; i++) {
        struct cfg_learner *l = &x->learners[x->n_learners++];
        char prefix[300];
        snprintf(prefix, sizeof prefix, "learners.%s", m->keys[i]);
        l->where = where_of(m->key_nodes[i]);
        optim_defaults(&l->s.optim);  /* betas and eps: not configurable yet */
        int rc = check_name(m->key_nodes[i], "learners", e);
        if (!rc && !(l->name = dupstr(m->keys[i])))
            rc = nomem(e);
        if (!rc)
            rc = parse_named(S_LEARNER, m->items[i], prefix, "kind", (char *)l, e);
        if (rc)
            return rc;
    }
    return ERR_OK;
}

static int parse_sweep(const struct yt_node *m, struct experiment *x, struct err *e)
{
    if (!m || yt_is_null(m))
        return ERR_OK;
    if (m->kind != YT_MAP)
        return yt_error(e, ERR_USAGE, m, "sweep", "expected a map of key.path: [values]");
    if (m->n_items > 8)
        return yt_error(e, ERR_USAGE, m, "sweep", "at most 8 swept keys");
    for (int i = 0; i < m->n_items; i++) {
        struct cfg_sweep *s = &x->sweep[x->n_sweep++];
        const struct yt_node *v = m->items[i];
        const char *p = m->keys[i];
        if (strncmp(p, "sweep", 5) == 0 || strcmp(p, "name") == 0 || strncmp(p, "output", 6) == 0)
            return yt_error(e, ERR_USAGE, m->key_nodes[i], "sweep", "\"%s\" cannot be swept", p);
        if (v->kind != YT_SEQ || v->n_items == 0 || v->n_items > CFG_MAX_LIST)
            return yt_error(e, ERR_USAGE, v, "sweep", "%s: expected a list of 1 to %d values", p,
                            CFG_MAX_LIST);
        if (!(s->path = dupstr(p)))
            return nomem(e);
        for (int j = 0; j < v->n_items; j++) {
            int rc = yt_flow_text(v->items[j], &s->values[j], e);
            if (rc)
                return rc;
            s->n_values++;
        }
    }
    return ERR_OK;
}

static int parse_probes(const struct yt_node *m, struct err *e)
{
    if (!m || yt_is_null(m) || (m->kind == YT_MAP && m->n_items == 0))
        return ERR_OK;
    if (m->kind != YT_MAP)
        return yt_error(e, ERR_USAGE, m, "probes", "expected a map of probes");
    char path[300];
    snprintf(path, sizeof path, "probes.%s", m->keys[0]);
    return yt_error(e, ERR_USAGE, m->key_nodes[0], path,
                    "robustness probes are not implemented in this version of kshot; "
                    "remove the probes section");
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

static int check_data_ref(const struct experiment *x, const char *name, const struct cfg_where *w,
                          const char *path, struct err *e)
{
    if (config_data(x, name))
        return ERR_OK;
    const char *names[CFG_MAX_LIST];
    for (int i = 0; i < x->n_data; i++)
        names[i] = x->data[i].name;
    const char *near = yt_suggest(name, names, x->n_data);
    char list[1024];
    list_words(names, x->n_data, list, sizeof list);
    return err_set(e, ERR_USAGE, "%s:%d:%d: %s: no data source \"%s\"%s%s%s (data has: %s)", w->file,
                   w->line, w->col, path, name, near ? " (did you mean \"" : "", near ? near : "",
                   near ? "\"?)" : "", list);
}

static int check_data(const struct cfg_data *d, struct err *e)
{
    const struct cfg_where *w = &d->where;
    if (d->format == FMT_IDX && !d->dir && !(d->images && d->labels))
        return err_set(e, ERR_USAGE, "%s:%d:%d: data.%s: an idx source needs dir, or images and labels",
                       w->file, w->line, w->col, d->name);
    if (d->format == FMT_CSV && !d->path)
        return err_set(e, ERR_USAGE, "%s:%d:%d: data.%s: a csv source needs path", w->file, w->line,
                       w->col, d->name);
    if (d->format == FMT_CSV && !d->label == !d->n_targets)
        return err_set(e, ERR_USAGE,
                       "%s:%d:%d: data.%s: a csv source needs either label (classification) or "
                       "targets (regression), not %s",
                       w->file, w->line, w->col, d->name, d->label ? "both" : "neither");
    return ERR_OK;
}

static int check_learner(const struct experiment *x, const struct cfg_learner *l, struct err *e)
{
    const struct cfg_where *w = &l->where;
    const struct learner_kind *k = &learner_kinds[l->s.kind];
    int layers = x->n_hidden + 1;
    for (int i = 0; i < l->s.n_record; i++)
        if (l->s.record_steps[i] > l->s.steps)
            return err_set(e, ERR_USAGE, "%s:%d:%d: learners.%s.record_steps: step %ld is after the last "
                           "step (steps: %ld)", w->file, w->line, w->col, l->name,
                           l->s.record_steps[i], l->s.steps);
    if (l->s.freeze == FREEZE_LAYERS) {
        for (int i = 0; i < l->s.n_frozen; i++)
            if (l->s.frozen[i] >= layers)
                return err_set(e, ERR_USAGE, "%s:%d:%d: learners.%s.freeze: layer %ld does not exist "
                               "(the network has layers 0..%d, %d being the head)", w->file, w->line,
                               w->col, l->name, l->s.frozen[i], layers - 1, layers - 1);
        if (l->s.n_frozen == layers)
            return err_set(e, ERR_USAGE, "%s:%d:%d: learners.%s.freeze: every layer is frozen, so "
                           "nothing would be trained", w->file, w->line, w->col, l->name);
    }
    if (k->needs_pretrain(&l->s) && !x->source.data)
        return err_set(e, ERR_USAGE, "%s:%d:%d: learners.%s: a %s learner reuses a pretrained network, "
                       "but the experiment has no source section", w->file, w->line, w->col, l->name,
                       k->name);
    for (int t = 0; t < x->n_targets; t++)
        if (k->classification_only &&
            config_data_regression(config_data(x, x->targets[t].data)))
            return err_set(e, ERR_USAGE, "%s:%d:%d: learners.%s: a %s learner classifies, but target "
                           "\"%s\" is a regression task", w->file, w->line, w->col, l->name, k->name,
                           x->targets[t].name);
    return ERR_OK;
}

static int validate(struct experiment *x, struct err *e)
{
    int rc;
    for (int i = 0; i < x->n_data; i++)
        if ((rc = check_data(&x->data[i], e)))
            return rc;
    if (x->source.data &&
        (rc = check_data_ref(x, x->source.data, &x->source.where, "source.data", e)))
        return rc;
    for (int i = 0; i < x->n_targets; i++) {
        struct cfg_target *t = &x->targets[i];
        char path[300];
        snprintf(path, sizeof path, "targets.%s.data", t->name);
        if ((rc = check_data_ref(x, t->data, &t->where, path, e)))
            return rc;
        const struct cfg_data *d = config_data(x, t->data);
        if (config_data_regression(d) && t->classes.n > 0)
            return err_set(e, ERR_USAGE, "%s:%d:%d: targets.%s.classes: \"%s\" is a regression "
                           "source; it has no classes", t->classes.where.file, t->classes.where.line,
                           t->classes.where.col, t->name, d->name);
        if (t->permute || t->rotate != 0)
            if (d->format == FMT_SINUSOID || d->format == FMT_CLUSTERS)
                return err_set(e, ERR_USAGE, "%s:%d:%d: targets.%s: permute and rotate need image "
                               "data (idx), not %s", t->where.file, t->where.line, t->where.col,
                               t->name, formats[d->format]);
    }
    for (int i = 0; i < x->n_learners; i++)
        if ((rc = check_learner(x, &x->learners[i], e)))
            return rc;
    return ERR_OK;
}

/* ---- top level ---- */

int config_from_tree(const struct yt_doc *doc, struct experiment *x, struct err *e)
{
    memset(x, 0, sizeof *x);
    const struct yt_node *root = doc->root;
    int rc;
    if (!root || root->kind != YT_MAP)
        return yt_error(e, ERR_USAGE, root, NULL, "an experiment file is a map of keys (name, data, "
                        "targets, learners, …)");
    if ((rc = parse_section(S_TOP, root, root, "", (char *)x, NULL, NULL, e)))
        return rc;
    if (!x->name[0] || strchr(x->name, '/'))
        return yt_error(e, ERR_USAGE, yt_get(root, "name"), "name",
                        "expected a non-empty name without '/' (it names the results directory)");
    const struct yt_node *net = yt_get(root, "network"), *src = yt_get(root, "source");
    if ((rc = parse_section(S_NETWORK, net, root, "network", (char *)x, NULL, NULL, e)) ||
        (rc = parse_data(yt_get(root, "data"), root, x, e)))
        return rc;
    if (x->n_hidden + 1 > MLP_MAX_LAYERS)
        return yt_error(e, ERR_USAGE, net, "network.hidden", "at most %d hidden layers",
                        MLP_MAX_LAYERS - 1);
    if (src && !yt_is_null(src)) {
        x->source.where = where_of(src);
        if ((rc = parse_section(S_SOURCE, src, root, "source", (char *)&x->source, NULL, NULL, e)))
            return rc;
    }
    if ((rc = parse_targets(yt_get(root, "targets"), root, x, e)) ||
        (rc = parse_learners(yt_get(root, "learners"), root, x, e)) ||
        (rc = parse_probes(yt_get(root, "probes"), e)) ||
        (rc = parse_sweep(yt_get(root, "sweep"), x, e)) ||
        (rc = parse_section(S_OUTPUT, yt_get(root, "output"), root, "output", (char *)x, NULL, NULL, e)))
        return rc;
    if (!(x->file = dupstr(doc->file ? doc->file : "")))
        return nomem(e);
    return validate(x, e);
}

int config_load(const char *path, char *const *overrides, int n_overrides,
                struct experiment *x, struct yt_doc *doc_out, struct err *e)
{
    struct yt_doc doc = {0};
    memset(x, 0, sizeof *x);
    int rc = yt_load_file(path, &doc, e);
    for (int i = 0; !rc && i < n_overrides; i++)
        rc = yt_override(&doc, overrides[i], i + 1, e);
    if (!rc)
        rc = config_from_tree(&doc, x, e);
    if (rc || !doc_out)
        yt_free(&doc);
    else
        *doc_out = doc;
    if (rc)
        config_free(x);
    return rc;
}

static void free_strs(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
}

void config_free(struct experiment *x)
{
    if (!x)
        return;
    for (int i = 0; i < x->n_data; i++) {
        struct cfg_data *d = &x->data[i];
        free(d->name), free(d->dir), free(d->images), free(d->labels);
        free(d->test_images), free(d->test_labels), free(d->path), free(d->label);
        free_strs(d->targets, d->n_targets);
        free_strs(d->features, d->n_features);
    }
    free(x->source.data), free(x->source.split);
    free_strs(x->source.classes.v, x->source.classes.n);
    for (int i = 0; i < x->n_targets; i++) {
        struct cfg_target *t = &x->targets[i];
        free(t->name), free(t->data), free(t->split);
        free_strs(t->classes.v, t->classes.n);
    }
    for (int i = 0; i < x->n_learners; i++)
        free(x->learners[i].name);
    for (int i = 0; i < x->n_sweep; i++) {
        free(x->sweep[i].path);
        free_strs(x->sweep[i].values, x->sweep[i].n_values);
    }
    free(x->file), free(x->name), free(x->output_dir);
    memset(x, 0, sizeof *x);
}

/* ---- help ---- */

static void type_text(const struct key *k, char *buf, size_t cap)
{
    char list[256];
    switch (k->type) {
    case K_STR: snprintf(buf, cap, "string"); break;
    case K_INT:
        if (k->max >= 1e8)
            snprintf(buf, cap, "integer ≥ %.0f", k->min);
        else
            snprintf(buf, cap, "integer in [%.0f, %.0f]", k->min, k->max);
        break;
    case K_NUM:
        if (isinf(k->max))
            snprintf(buf, cap, "number ≥ %g", k->min);
        else
            snprintf(buf, cap, "number in [%g, %g]", k->min, k->max);
        break;
    case K_BOOL: snprintf(buf, cap, "true or false"); break;
    case K_ENUM:
    case K_WORD:
        list_words(k->choices, count_words(k->choices), list, sizeof list);
        snprintf(buf, cap, "%s", list);
        break;
    case K_KIND: {
        const char *names[64];
        list_words(names, kind_names(names), list, sizeof list);
        snprintf(buf, cap, "%s", list);
        break;
    }
    case K_INTS: snprintf(buf, cap, "list of integers ≥ %.0f", k->min); break;
    case K_RANGE: snprintf(buf, cap, "[low, high]"); break;
    case K_LABELS: snprintf(buf, cap, "list of class labels"); break;
    case K_STRS: snprintf(buf, cap, "list of strings"); break;
    case K_FREEZE: snprintf(buf, cap, "none, body or list of layers"); break;
    default: snprintf(buf, cap, "map"); break;
    }
}

void config_help(FILE *out, bool markdown)
{
    if (markdown)
        fprintf(out, "| key | type | default | applies to | meaning |\n| --- | --- | --- | --- | --- |\n");
    else
        fprintf(out, "Experiment file keys (YAML). Required keys have no default.\n");
    for (int i = 0; i < N_KEYS; i++) {
        const struct key *k = &schema[i];
        char path[128], type[256];
        snprintf(path, sizeof path, "%s%s%s", sec_names[k->sec], k->sec == S_TOP ? "" : ".", k->name);
        type_text(k, type, sizeof type);
        const char *def = !k->def ? "required" : k->def[0] ? k->def : "—";
        if (markdown)
            fprintf(out, "| `%s` | %s | %s%s%s | %s | %s |\n", path, type, k->def && k->def[0] ? "`" : "",
                    def, k->def && k->def[0] ? "`" : "", k->only ? k->only : "all", k->help);
        else
            fprintf(out, "\n  %s\n      %s; default %s%s%s\n      %s\n", path, type, def,
                    k->only ? "; only for " : "", k->only ? k->only : "", k->help);
    }
}
