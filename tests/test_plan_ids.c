/* test_plan_ids: unit ids against the schema, key by key.
 *
 * Every key of the experiment schema (the learner registry's included) has
 * a case below: an edit of one of four small experiments (clusters, a
 * sinusoid, a CSV table, IDX images written here) that changes that key
 * alone. A key whose schema row feeds a unit id must change some id; a key
 * that feeds none (a name, a path to identical files, a check) must change
 * none of the units both plans have. A key without a case fails the test,
 * so a key added to the schema is added here with its verdict. Units are
 * matched by what they are (variant, seed, target, learner and shots by
 * index, kind), not by position, so edits that add units compare the rest. */
#include "testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/config.h"
#include "harness/config_internal.h"
#include "harness/plan.h"
#include "plantest.h"

/* ---- the experiments ---- */

enum base { CLUSTERS, SINE, CSV, CSV_REG, IDX, IDX_FILES, N_BASE };

/* Clusters: three identical data sources, so that pointing the source or a
 * target at another one changes a name and not the data. */
static const char *const clusters_yaml =
    "name: t\n"
    "seeds: [0, 1]\n"
    "data:\n"
    "  src: {format: clusters, classes: 6, dim: 3, separation: 2, per_class: 5}\n"
    "  tgt: {format: clusters, classes: 6, dim: 3, separation: 2, per_class: 5}\n"
    "  same: {format: clusters, classes: 6, dim: 3, separation: 2, per_class: 5}\n"
    "network: {hidden: [4]}\n"
    "source: {data: src, classes: [0, 1, 2], train: {epochs: 1, batch: 8, lr: 0.01}}\n"
    "targets:\n"
    "  t: {data: tgt, classes: [3, 4, 5], ways: 2, shots: [1, 2], queries: 3, episodes: 4}\n"
    "learners:\n"
    "  a: {kind: finetune, steps: 2, lr: 0.01}\n"
    "  s: {kind: scratch, steps: 2, optimizer: sgd}\n"
    "  p: {kind: prototypes}\n"
    "  k: {kind: knn}\n"
    "  r: {kind: reptile, meta: {iterations: 2, ways: 2}}\n"
    "  m: {kind: maml, meta: {iterations: 2, ways: 2}}\n"
    "probes:\n"
    "  f: {kind: fgsm, eps: [0.1]}\n"
    "  g: {kind: pgd, eps: [0.1], steps: 2}\n"
    "  n: {kind: noise, sigma: [0.1]}\n"
    "output: {dir: somewhere}\n";

static const char *const sine_yaml =
    "name: t\n"
    "data:\n"
    "  sine: {format: sinusoid, size: 50}\n"
    "network: {hidden: [4]}\n"
    "source: {data: sine, train: {epochs: 1, batch: 10}}\n"
    "targets:\n"
    "  ood: {data: sine, shots: [2], queries: 3, episodes: 3}\n"
    "learners:\n"
    "  a: {kind: finetune, steps: 2}\n"
    "  s: {kind: scratch, steps: 2}\n";

/* CSV and IDX experiments name files in the scratch directory: %s. */
static const char *const csv_fmt =
    "name: t\n"
    "data:\n"
    "  table: {format: csv, path: %s/%s, label: label}\n"
    "network: {hidden: [4]}\n"
    "source: {data: table, classes: [0, 1, 2], train: {epochs: 1, batch: 8}}\n"
    "targets:\n"
    "  t: {data: table, classes: [3, 4, 5], ways: 2, shots: [1], queries: 2, episodes: 3}\n"
    "learners:\n"
    "  a: {kind: finetune, steps: 2}\n";

static const char *const csv_reg_fmt =
    "name: t\n"
    "data:\n"
    "  table: {format: csv, path: %s/reg.csv, targets: [y], features: [x]}\n"
    "  sine: {format: sinusoid}\n"
    "network: {hidden: [4]}\n"
    "source: {data: table, train: {epochs: 1, batch: 8}}\n"
    "targets:\n"
    "  ood: {data: sine, shots: [2], queries: 3, episodes: 3}\n"
    "learners:\n"
    "  a: {kind: finetune, steps: 2}\n";

static const char *const idx_fmt =
    PLANTEST_IDX_YAML
    "probes:\n"
    "  p: {kind: patch, size: [2], steps: 2}\n"
    "  c: {kind: cue_conflict, strength: [0.5]}\n";

static const char *const idx_files_fmt =
    "name: t\n"
    "data:\n"
    "  imgs: {format: idx, images: %s/%s/train-images-idx3-ubyte,"
    " labels: %s/%s/train-labels-idx1-ubyte, test_images: %s/%s/t10k-images-idx3-ubyte,"
    " test_labels: %s/%s/t10k-labels-idx1-ubyte}\n"
    "network: {hidden: [4]}\n"
    "source: {data: imgs, classes: [0, 1, 2], train: {epochs: 1, batch: 8}}\n"
    "targets:\n"
    "  t: {data: imgs, classes: [3, 4, 5], ways: 2, shots: [1], queries: 2, episodes: 3}\n"
    "learners:\n"
    "  a: {kind: finetune, steps: 2}\n";

/* The same files under name a and name b. */
static void write_data(const char *dir)
{
    char path[4200];
    for (int copy = 0; copy < 2; copy++) {
        snprintf(path, sizeof path, "%s/%s", dir, copy ? "b" : "a");
        assert_int_equal(mkdir(path, 0777), 0);
        plantest_write_idx(path, "train", 0);
        plantest_write_idx(path, "t10k", 3);
    }
    /* 3 numeric features, label ids 0..5, 5 rows each; two more columns to choose */
    char csv[8192] = "f1,f2,f3,extra,label\n";
    for (int i = 0; i < 30; i++) {
        size_t n = strlen(csv);
        snprintf(csv + n, sizeof csv - n, "%d.5,%d,%d.25,%d,%d\n", i % 6 * 3 + i % 5, i % 7,
                 (i * 13) % 11, (i * 5) % 9, i % 6);
    }
    for (int copy = 0; copy < 2; copy++) {
        snprintf(path, sizeof path, "%s/%s.csv", dir, copy ? "b" : "a");
        testutil_write(path, csv, strlen(csv));
    }
    char reg[4096] = "x,y,y2\n";
    for (int i = 0; i < 20; i++) {
        size_t n = strlen(reg);
        snprintf(reg + n, sizeof reg - n, "%d.5,%d.25,%d\n", i % 9 - 4, (i * 7) % 5, i % 3);
    }
    snprintf(path, sizeof path, "%s/reg.csv", dir);
    testutil_write(path, reg, strlen(reg));
}

static char *dir;
static char texts[N_BASE][2048];

static void make_texts(const char *which)
{
    snprintf(texts[CLUSTERS], sizeof texts[0], "%s", clusters_yaml);
    snprintf(texts[SINE], sizeof texts[0], "%s", sine_yaml);
    snprintf(texts[CSV], sizeof texts[0], csv_fmt, dir, strcmp(which, "a") ? "b.csv" : "a.csv");
    snprintf(texts[CSV_REG], sizeof texts[0], csv_reg_fmt, dir);
    snprintf(texts[IDX], sizeof texts[0], idx_fmt, dir, which);
    snprintf(texts[IDX_FILES], sizeof texts[0], idx_files_fmt, dir, which, dir, which, dir,
             which, dir, which);
}

/* ---- the cases ---- */

enum verdict { SAME, CHANGED };

struct id_case {
    const char *key;       /* as kshot help config names it */
    int base;
    const char *ovr[3];    /* overrides applied to the edited plan */
    const char *from, *to; /* or: the experiment's text with from replaced by to */
    int verdict;
    const char *why;       /* for a key whose verdict its row does not say */
};

static const struct id_case cases[] = {
    /* top level: names, lists of units, sections */
    {"name", CLUSTERS, {"name=other"}, NULL, NULL, SAME, NULL},
    {"seeds", CLUSTERS, {"seeds=[0, 2]"}, NULL, NULL, SAME, "seed 0's units stay"},
    {"data", CLUSTERS, {NULL}, "tgt", "renamed", SAME, "a data source's name is a label"},
    {"network", -1, {NULL}, NULL, NULL, SAME, "a section: its keys below"},
    {"source", -1, {NULL}, NULL, NULL, SAME, "a section: its keys below"},
    {"targets", CLUSTERS, {NULL}, "  t: {", "  renamed: {", CHANGED,
     "a target's name keys the stream its episodes are drawn from"},
    {"learners", CLUSTERS, {NULL}, "  a: {kind", "  renamed: {kind", SAME,
     "a learner's name is a label"},
    {"baseline", CLUSTERS, {"baseline=a"}, NULL, NULL, SAME, NULL},
    {"probes", -1, {NULL}, NULL, NULL, SAME, "a section: its keys below"},
    {"sweep", -1, {NULL}, NULL, NULL, SAME, "a sweep's values change the keys it names"},
    {"output", -1, {NULL}, NULL, NULL, SAME, "a section: its keys below"},
    {"output.dir", CLUSTERS, {"output.dir=elsewhere"}, NULL, NULL, SAME, NULL},
    {"probes.<name>.kind", CLUSTERS, {"probes.n={kind: fgsm}"}, NULL, NULL, CHANGED, NULL},
    {"probes.<name>.eps", CLUSTERS, {"probes.f.eps=[0.2]"}, NULL, NULL, CHANGED, NULL},
    {"probes.<name>.sigma", CLUSTERS, {"probes.n.sigma=[0.2]"}, NULL, NULL, CHANGED, NULL},
    {"probes.<name>.steps", CLUSTERS, {"probes.g.steps=3"}, NULL, NULL, CHANGED, NULL},
    {"probes.<name>.random_start", CLUSTERS, {"probes.g.random_start=false"}, NULL, NULL, CHANGED,
     NULL},
    {"probes.<name>.size", IDX, {"probes.p.size=[3]"}, NULL, NULL, CHANGED, NULL},
    {"probes.<name>.lr", IDX, {"probes.p.lr=0.5"}, NULL, NULL, CHANGED, NULL},
    {"probes.<name>.strength", IDX, {"probes.c.strength=[0.3]"}, NULL, NULL, CHANGED, NULL},
    {"probes.<name>.cue_in_source", IDX, {"probes.c.cue_in_source=true"}, NULL, NULL, CHANGED, NULL},
    {"probes.<name>.learners", CLUSTERS, {"probes.f.learners=[a]"}, NULL, NULL, CHANGED,
     "which learners' evaluations run the probe"},
    {"energy", -1, {NULL}, NULL, NULL, SAME, "a section: its keys below"},
    {"energy.powercap", CLUSTERS, {"energy.powercap=/nowhere"}, NULL, NULL, SAME, NULL},
    {"energy.watts_per_core", CLUSTERS, {"energy.watts_per_core=20"}, NULL, NULL, SAME, NULL},
    /* data: the contents count (their checksum is hashed), paths do not */
    {"data.<name>.format", CSV, {"data.table={format: clusters, classes: 6, dim: 3}"}, NULL, NULL,
     CHANGED, NULL},
    {"data.<name>.dir", IDX, {NULL}, "/a", "/b", SAME, "the same files elsewhere"},
    {"data.<name>.images", IDX_FILES, {NULL}, "/a/train-images", "/b/train-images", SAME,
     "the same file elsewhere"},
    {"data.<name>.labels", IDX_FILES, {NULL}, "/a/train-labels", "/b/train-labels", SAME,
     "the same file elsewhere"},
    {"data.<name>.test_images", IDX_FILES, {NULL}, "/a/t10k-images", "/b/t10k-images", SAME,
     "the same file elsewhere"},
    {"data.<name>.test_labels", IDX_FILES, {NULL}, "/a/t10k-labels", "/b/t10k-labels", SAME,
     "the same file elsewhere"},
    {"data.<name>.path", CSV, {NULL}, "/a.csv", "/b.csv", SAME, "the same file elsewhere"},
    {"data.<name>.label", CSV, {"data.table.label=extra", "source.classes=[0, 1, 2, 3]",
                                "targets.t.classes=[4, 5, 6, 7, 8]"}, NULL, NULL, CHANGED, NULL},
    {"data.<name>.targets", CSV_REG, {"data.table.targets=[y2]"}, NULL, NULL, CHANGED, NULL},
    {"data.<name>.features", CSV, {"data.table.features=[f1, f2, extra]"}, NULL, NULL, CHANGED,
     NULL},
    {"data.<name>.scale", IDX, {"data.imgs.scale=100"}, NULL, NULL, CHANGED, NULL},
    {"data.<name>.standardise", CSV, {"data.table.standardise=true"}, NULL, NULL, CHANGED, NULL},
    {"data.<name>.amplitude", SINE, {"data.sine.amplitude=[1, 2]"}, NULL, NULL, CHANGED, NULL},
    {"data.<name>.phase", SINE, {"data.sine.phase=[0, 1]"}, NULL, NULL, CHANGED, NULL},
    {"data.<name>.x", SINE, {"data.sine.x=[-2, 2]"}, NULL, NULL, CHANGED, NULL},
    {"data.<name>.size", SINE, {"data.sine.size=60"}, NULL, NULL, CHANGED, NULL},
    {"data.<name>.classes", CLUSTERS, {"data.tgt.classes=7"}, NULL, NULL, CHANGED, NULL},
    {"data.<name>.dim", CLUSTERS, {"data.src.dim=4", "data.tgt.dim=4"}, NULL, NULL, CHANGED, NULL},
    {"data.<name>.separation", CLUSTERS, {"data.tgt.separation=3"}, NULL, NULL, CHANGED, NULL},
    {"data.<name>.per_class", CLUSTERS, {"data.tgt.per_class=6"}, NULL, NULL, CHANGED, NULL},
    /* network */
    {"network.hidden", CLUSTERS, {"network.hidden=[5]"}, NULL, NULL, CHANGED, NULL},
    {"network.activation", CLUSTERS, {"network.activation=tanh"}, NULL, NULL, CHANGED, NULL},
    {"network.init", CLUSTERS, {"network.init=he"}, NULL, NULL, CHANGED, NULL},
    /* source */
    {"source.data", CLUSTERS, {"source.data=same"}, NULL, NULL, SAME,
     "another data source with the same contents"},
    {"source.split", CLUSTERS, {"source.split=test"}, NULL, NULL, CHANGED, NULL},
    {"source.classes", CLUSTERS, {"source.classes=[0, 1]"}, NULL, NULL, CHANGED, NULL},
    {"source.train", -1, {NULL}, NULL, NULL, SAME, "a section: its keys below"},
    {"source.train.epochs", CLUSTERS, {"source.train.epochs=2"}, NULL, NULL, CHANGED, NULL},
    {"source.train.batch", CLUSTERS, {"source.train.batch=4"}, NULL, NULL, CHANGED, NULL},
    {"source.train.optimizer", CLUSTERS, {"source.train.optimizer=sgd"}, NULL, NULL, CHANGED, NULL},
    {"source.train.lr", CLUSTERS, {"source.train.lr=0.02"}, NULL, NULL, CHANGED, NULL},
    {"source.train.momentum", CLUSTERS, {"source.train.optimizer=sgd"}, NULL, NULL, CHANGED,
     NULL},   /* the edited plan adds momentum to the sgd above: see run_case */
    {"source.train.weight_decay", CLUSTERS, {"source.train.weight_decay=0.1"}, NULL, NULL,
     CHANGED, NULL},
    {"source.train.beta1", CLUSTERS, {"source.train.beta1=0.8"}, NULL, NULL, CHANGED, NULL},
    {"source.train.beta2", CLUSTERS, {"source.train.beta2=0.99"}, NULL, NULL, CHANGED, NULL},
    {"source.train.epsilon", CLUSTERS, {"source.train.epsilon=1e-6"}, NULL, NULL, CHANGED, NULL},
    /* targets */
    {"targets.<name>.data", CLUSTERS, {"targets.t.data=same"}, NULL, NULL, SAME,
     "another data source with the same contents"},
    {"targets.<name>.split", CLUSTERS, {"targets.t.split=train"}, NULL, NULL, CHANGED, NULL},
    {"targets.<name>.role", CLUSTERS, {"targets.t.role=validation"}, NULL, NULL, SAME,
     "a label for compare"},
    {"targets.<name>.classes", CLUSTERS, {"targets.t.classes=[3, 4]"}, NULL, NULL, CHANGED, NULL},
    {"targets.<name>.allow_overlap", CLUSTERS, {"targets.t.allow_overlap=true"}, NULL, NULL, SAME,
     NULL},
    {"targets.<name>.ways", CLUSTERS, {"targets.t.ways=3"}, NULL, NULL, CHANGED, NULL},
    {"targets.<name>.shots", CLUSTERS, {"targets.t.shots=[2]"}, NULL, NULL, SAME,
     "each unit hashes its own shot count: the others stay"},
    {"targets.<name>.queries", CLUSTERS, {"targets.t.queries=2"}, NULL, NULL, CHANGED, NULL},
    {"targets.<name>.episodes", CLUSTERS, {"targets.t.episodes=5"}, NULL, NULL, CHANGED, NULL},
    {"targets.<name>.thresholds", CLUSTERS, {"targets.t.thresholds=[0.5, 0.8]"}, NULL, NULL, SAME,
     NULL},
    {"targets.<name>.forgetting", CLUSTERS, {"targets.t.forgetting=7"}, NULL, NULL, CHANGED, NULL},
    {"targets.<name>.permute", CLUSTERS, {"targets.t.permute=true"}, NULL, NULL, CHANGED, NULL},
    {"targets.<name>.rotate", IDX, {"targets.t.rotate=90"}, NULL, NULL, CHANGED, NULL},
    {"targets.<name>.noise", CLUSTERS, {"targets.t.noise=0.5"}, NULL, NULL, CHANGED, NULL},
    /* learners: a finetune (adam), s scratch (sgd), p prototypes, k knn */
    {"learners.<name>.kind", CLUSTERS, {"learners.p.kind=knn"}, NULL, NULL, CHANGED, NULL},
    {"learners.<name>.steps", CLUSTERS, {"learners.a.steps=3"}, NULL, NULL, CHANGED, NULL},
    {"learners.<name>.optimizer", CLUSTERS, {"learners.a.optimizer=sgd"}, NULL, NULL, CHANGED,
     NULL},
    {"learners.<name>.lr", CLUSTERS, {"learners.a.lr=0.02"}, NULL, NULL, CHANGED, NULL},
    {"learners.<name>.momentum", CLUSTERS, {"learners.s.momentum=0.5"}, NULL, NULL, CHANGED, NULL},
    {"learners.<name>.weight_decay", CLUSTERS, {"learners.a.weight_decay=0.1"}, NULL, NULL,
     CHANGED, NULL},
    {"learners.<name>.beta1", CLUSTERS, {"learners.a.beta1=0.8"}, NULL, NULL, CHANGED, NULL},
    {"learners.<name>.beta2", CLUSTERS, {"learners.a.beta2=0.99"}, NULL, NULL, CHANGED, NULL},
    {"learners.<name>.epsilon", CLUSTERS, {"learners.a.epsilon=1e-6"}, NULL, NULL, CHANGED, NULL},
    {"learners.<name>.record_steps", CLUSTERS, {"learners.a.record_steps=[1]"}, NULL, NULL,
     CHANGED, NULL},
    {"learners.<name>.freeze", CLUSTERS, {"learners.a.freeze=body"}, NULL, NULL, CHANGED, NULL},
    {"learners.<name>.head", CLUSTERS, {"learners.a.head=glorot"}, NULL, NULL, CHANGED, NULL},
    {"learners.<name>.distance", CLUSTERS, {"learners.p.distance=cosine"}, NULL, NULL, CHANGED,
     NULL},
    {"learners.<name>.k", CLUSTERS, {"learners.k.k=2"}, NULL, NULL, CHANGED, NULL},
    {"learners.<name>.space", CLUSTERS, {"learners.k.space=input"}, NULL, NULL, CHANGED, NULL},
    /* r: reptile, whose meta-training is its own pretraining */
    {"learners.<name>.meta", -1, {NULL}, NULL, NULL, SAME, "a section: its keys below"},
    {"learners.<name>.meta.iterations", CLUSTERS, {"learners.r.meta.iterations=3"}, NULL, NULL,
     CHANGED, NULL},
    {"learners.<name>.meta.batch", CLUSTERS, {"learners.r.meta.batch=2"}, NULL, NULL, CHANGED,
     NULL},
    {"learners.<name>.meta.ways", CLUSTERS, {"learners.r.meta.ways=3"}, NULL, NULL, CHANGED, NULL},
    {"learners.<name>.meta.shots", CLUSTERS, {"learners.r.meta.shots=1"}, NULL, NULL, CHANGED,
     NULL},
    {"learners.<name>.meta.inner_steps", CLUSTERS, {"learners.r.meta.inner_steps=2"}, NULL, NULL,
     CHANGED, NULL},
    {"learners.<name>.meta.inner_lr", CLUSTERS, {"learners.r.meta.inner_lr=0.2"}, NULL, NULL,
     CHANGED, NULL},
    {"learners.<name>.meta.inner_optimizer", CLUSTERS, {"learners.r.meta.inner_optimizer=adam"},
     NULL, NULL, CHANGED, NULL},
    {"learners.<name>.meta.lr", CLUSTERS, {"learners.r.meta.lr=0.5"}, NULL, NULL, CHANGED, NULL},
    /* m: maml, meta-trained by gradient on tasks with query sets */
    {"learners.<name>.meta.queries", CLUSTERS, {"learners.m.meta.queries=1"}, NULL, NULL,
     CHANGED, NULL},
    {"learners.<name>.meta.optimizer", CLUSTERS, {"learners.m.meta.optimizer=sgd"}, NULL, NULL,
     CHANGED, NULL},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* ---- comparing plans ---- */

static void build(struct plan *p, const char *text, const char *const *ovr)
{
    int n = 0;
    while (n < 3 && ovr && ovr[n])
        n++;
    plan_ok(p, text, ovr, n);
}

static bool same_unit(const struct unit *a, const struct unit *b)
{
    return a->kind == b->kind && a->variant == b->variant && a->seed == b->seed &&
           a->target == b->target && a->learner == b->learner && a->shots == b->shots;
}

/* Units of p that q has too, and how many of them changed id. */
static void compare(const struct plan *p, const struct plan *q, int *matched, int *changed)
{
    *matched = *changed = 0;
    for (int i = 0; i < p->n_units; i++)
        for (int j = 0; j < q->n_units; j++)
            if (same_unit(&p->units[i], &q->units[j])) {
                ++*matched;
                *changed += strcmp(p->units[i].id, q->units[j].id) != 0;
                break;
            }
}

/* text with every from replaced by to (the result is static). */
static const char *substitute(const char *text, const char *from, const char *to)
{
    static char out[4096];
    size_t o = 0, nf = strlen(from), nt = strlen(to);
    for (const char *c = text; *c;) {
        assert_true(o + nt + 1 < sizeof out);
        if (strncmp(c, from, nf) == 0) {
            memcpy(out + o, to, nt), o += nt, c += nf;
        } else {
            out[o++] = *c++;
        }
    }
    out[o] = '\0';
    return out;
}

static void run_case(const struct id_case *c)
{
    struct plan p, q;
    const char *text = texts[c->base];
    /* momentum applies to sgd: both plans use sgd, the edited one with momentum */
    bool momentum = strcmp(c->key, "source.train.momentum") == 0;
    build(&p, text, momentum ? c->ovr : NULL);
    if (c->from)
        build(&q, substitute(text, c->from, c->to), NULL);
    else if (momentum)
        build(&q, text, (const char *const[]){c->ovr[0], "source.train.momentum=0.5", NULL});
    else
        build(&q, text, c->ovr);
    int matched, changed;
    compare(&p, &q, &matched, &changed);
    print_message("  %-32s %2d of %2d units changed id%s%s\n", c->key, changed, matched,
                  c->why ? ": " : "", c->why ? c->why : "");
    assert_true(matched > 0);
    if (c->verdict == CHANGED && changed == 0)
        fail_msg("%s: the edit changed no unit's id", c->key);
    if (c->verdict == SAME && changed != 0)
        fail_msg("%s: the edit changed %d unit ids", c->key, changed);
    plan_free(&p);
    plan_free(&q);
}

/* ---- the tests ---- */

static int setup(void **state)
{
    dir = testutil_tmpdir();
    write_data(dir);
    make_texts("a");
    return 0;
}

static int teardown(void **state)
{
    testutil_rmtree(dir);
    free(dir);
    return 0;
}

static const struct id_case *case_of(const char *key)
{
    for (int i = 0; i < N_CASES; i++)
        if (strcmp(cases[i].key, key) == 0)
            return &cases[i];
    return NULL;
}

static void every_key_has_a_case_that_agrees_with_its_schema_row(void **state)
{
    int n;
    const struct key *keys = config_keys(&n);
    static const char *const sections[N_SEC] = {
        "", "data.<name>", "network", "source", "source.train", "targets.<name>",
        "learners.<name>", "learners.<name>.meta", "output", "energy", "probes.<name>",
    };
    for (int i = 0; i < n; i++) {
        char path[PATH_LEN];
        config_join(path, sections[keys[i].sec], keys[i].name);
        const struct id_case *c = case_of(path);
        if (!c)
            fail_msg("schema key %s has no case in test_plan_ids.c: add one with its verdict",
                     path);
        bool section = keys[i].type == K_MAP || keys[i].type == K_SUB;
        /* a row's feeds is its verdict, but for sections and the few keys
         * whose case says why (names that key episodes, lists of units) */
        if (!section && !c->why)
            assert_int_equal(c->verdict == CHANGED, keys[i].feeds != FEEDS_NONE);
    }
    assert_true(n >= N_CASES - 1);   /* no case for a key the schema lost */
    for (int i = 0; i < N_CASES; i++) {
        bool found = false;
        for (int j = 0; j < n && !found; j++) {
            char path[PATH_LEN];
            config_join(path, sections[keys[j].sec], keys[j].name);
            found = strcmp(path, cases[i].key) == 0;
        }
        if (!found)
            fail_msg("case %s names no key of the schema", cases[i].key);
    }
}

static void every_key_changes_exactly_the_ids_its_schema_row_says(void **state)
{
    for (int i = 0; i < N_CASES; i++)
        if (cases[i].base >= 0)
            run_case(&cases[i]);
}

static void ids_are_32_hex_digits_distinct_and_stable(void **state)
{
    struct plan p, q;
    plan_ok(&p, base_yaml, NULL, 0);
    plan_ok(&q, base_yaml, NULL, 0);
    assert_int_equal(p.n_units, q.n_units);
    for (int i = 0; i < p.n_units; i++) {
        assert_int_equal(strlen(p.units[i].id), 32);
        assert_int_equal(strspn(p.units[i].id, "0123456789abcdef"), 32);
        assert_string_equal(p.units[i].id, q.units[i].id);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(p.units[i].id, p.units[j].id);
        assert_int_equal(p.units[i].same_as, -1);
    }
    plan_free(&p);
    plan_free(&q);
}

/* Which units of two plans of the same shape have different ids, as a string
 * of one character per unit: '.' same id, 'x' different. */
static const char *changed(const char *override)
{
    static char out[64];
    struct plan p, q;
    plan_ok(&p, base_yaml, NULL, 0);
    plan_ok(&q, base_yaml, &override, 1);
    assert_int_equal(p.n_units, q.n_units);
    for (int i = 0; i < p.n_units; i++)
        out[i] = strcmp(p.units[i].id, q.units[i].id) == 0 ? '.' : 'x';
    out[p.n_units] = '\0';
    plan_free(&p);
    plan_free(&q);
    return out;
}

static void a_setting_changes_the_units_that_read_it_and_no_other(void **state)
{
    /* per seed: P (pretrain), then t: a1 a2 s1 s2 p1 p2, then u: a s p */
    assert_string_equal(changed("learners.a.lr=0.02"), ".xx....x...xx....x..");
    assert_string_equal(changed("learners.s.optimizer=sgd"), "...xx...x....xx...x.");
    assert_string_equal(changed("learners.p.distance=cosine"), ".....xx..x.....xx..x");
    /* the source recipe: the pretraining and what reuses it; scratch (s) never does */
    assert_string_equal(changed("source.train.lr=0.02"), "xxx..xxx.xxxx..xxx.x");
    assert_string_equal(changed("targets.t.episodes=5"), ".xxxxxx....xxxxxx...");
    assert_string_equal(changed("targets.u.queries=3"), ".......xxx.......xxx");
    /* the data and the network: everything; the experiment's name: nothing */
    assert_string_equal(changed("data.blobs.separation=3"), "xxxxxxxxxxxxxxxxxxxx");
    assert_string_equal(changed("network.hidden=[5]"), "xxxxxxxxxxxxxxxxxxxx");
    assert_string_equal(changed("name=t2"), "....................");
}

static void the_blas_core_is_part_of_every_id(void **state)
{
    struct plan p, q;
    struct err e;
    plan_ok(&p, base_yaml, NULL, 0);
    assert_int_equal(plan_core(&q, base_yaml, NULL, 0, "OTHERCORE", &e), 0);
    for (int i = 0; i < p.n_units; i++)
        assert_string_not_equal(p.units[i].id, q.units[i].id);
    plan_free(&p);
    plan_free(&q);
}

/* Two experiments with the same source recipe share its pretraining, and two
 * learner keys with the same settings are one unit computed once. */
static void equal_work_has_equal_ids_whatever_its_labels(void **state)
{
    const char *ovr[] = {"learners.twin={kind: finetune, steps: 2, lr: 0.01}", "name=other"};
    struct plan p, q;
    plan_ok(&p, base_yaml, NULL, 0);
    plan_ok(&q, base_yaml, ovr, 2);
    assert_string_equal(p.units[0].id, q.units[0].id);   /* seed 0's pretraining */
    int shared = 0;
    for (int i = 0; i < q.n_units; i++) {
        const struct unit *u = &q.units[i];
        if (u->same_as < 0)
            continue;
        shared++;
        const struct unit *first = &q.units[u->same_as];
        assert_true(u->same_as < i);
        assert_string_equal(u->id, first->id);
        assert_string_equal(q.variants[0].x.learners[u->learner].name, "twin");
        assert_string_equal(q.variants[0].x.learners[first->learner].name, "a");
        assert_int_equal(first->same_as, -1);
    }
    assert_int_equal(shared, 2 * 3);   /* seeds × (t: 2 shots + u: 1) */
    plan_free(&p);
    plan_free(&q);
}

static void a_unit_does_not_depend_on_the_other_units_of_the_plan(void **state)
{
    /* dropping seed 1, target u and learner p keeps the remaining ids */
    struct plan p, q;
    plan_ok(&p, base_yaml, NULL, 0);
    const char *text =
        "name: t\nseeds: [0]\ndata:\n"
        "  blobs: {format: clusters, classes: 6, dim: 3, separation: 2, per_class: 5}\n"
        "network: {hidden: [4]}\n"
        "source: {data: blobs, classes: [0, 1, 2], train: {epochs: 1, batch: 8, lr: 0.01}}\n"
        "targets:\n"
        "  t: {data: blobs, classes: [3, 4, 5], ways: 2, shots: [1, 2], queries: 3, episodes: 4}\n"
        "learners:\n  a: {kind: finetune, steps: 2, lr: 0.01}\n  s: {kind: scratch, steps: 2}\n";
    plan_ok(&q, text, NULL, 0);
    assert_int_equal(q.n_units, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(q.units[i].id, p.units[i].id);
    plan_free(&p);
    plan_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_key_has_a_case_that_agrees_with_its_schema_row),
        cmocka_unit_test(every_key_changes_exactly_the_ids_its_schema_row_says),
        cmocka_unit_test(ids_are_32_hex_digits_distinct_and_stable),
        cmocka_unit_test(a_setting_changes_the_units_that_read_it_and_no_other),
        cmocka_unit_test(the_blas_core_is_part_of_every_id),
        cmocka_unit_test(equal_work_has_equal_ids_whatever_its_labels),
        cmocka_unit_test(a_unit_does_not_depend_on_the_other_units_of_the_plan),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
