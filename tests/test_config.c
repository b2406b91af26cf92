/* test_config: the experiment file as a specification — every value and
 * default it yields, every refusal's exact located message, aliases, merges,
 * overrides, sweeps, the help text, and that nothing leaks on any path. */
#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/config.h"
#include "harness/probe.h"

/* ---- helpers ---- */

/* The small valid experiment most cases edit one line of. Positions in the
 * expected messages are 1-based columns of the offending token in the
 * edited line (a value, or the key for an unknown key). */
static const char *const base[] = {
    "name: t",                                          /* 1 */
    "data:",                                            /* 2 */
    "  fashion: {format: idx, dir: /d}",                /* 3 */
    "  sine: {format: sinusoid}",                       /* 4 */
    "source: {data: fashion, classes: [0, 1, 2, 3, 4]}", /* 5 */
    "targets:",                                         /* 6 */
    "  t: {data: fashion, classes: [5, 6, 7, 8, 9]}",   /* 7 */
    "learners:",                                        /* 8 */
    "  ft: {kind: finetune}",                           /* 9 */
};
#define N_BASE 9
#define DEL NULL  /* as an edit: delete the line */

/* base with edits: pairs (line, text) ended by line 0; text DEL deletes
 * the line; line N_BASE + 1 appends text (which may hold several lines).
 * Returns a static buffer. */
static const char *edit(int line, const char *text, ...)
{
    static char buf[8192];
    const char *repl[N_BASE + 2] = {0};
    bool set[N_BASE + 2] = {0};
    va_list ap;
    va_start(ap, text);
    for (; line; line = va_arg(ap, int), text = line ? va_arg(ap, const char *) : NULL) {
        assert_true(line >= 1 && line <= N_BASE + 1);
        repl[line] = text;
        set[line] = true;
    }
    va_end(ap);
    buf[0] = '\0';
    for (int i = 1; i <= N_BASE + 1; i++) {
        const char *l = set[i] ? repl[i] : i <= N_BASE ? base[i - 1] : NULL;
        if (l) {
            strcat(buf, l);
            strcat(buf, "\n");
        }
    }
    return buf;
}

static void parse(const char *text, struct experiment *x)
{
    struct yt_doc doc;
    struct err e = {0};
    int rc = yt_load_string("exp.yaml", text, &doc, &e);
    if (!rc)
        rc = config_from_tree(&doc, x, &e);
    if (rc)
        print_error("unexpected error: %s\n", e.msg);
    assert_int_equal(rc, 0);
    yt_free(&doc);
}

/* Parsing text fails with ERR_USAGE and exactly msg, leaving x all zero. */
static void fails(const char *text, const char *msg)
{
    static const struct experiment zero;
    struct experiment x;
    struct yt_doc doc;
    struct err e = {0};
    assert_int_equal(yt_load_string("exp.yaml", text, &doc, &e), 0);
    memset(&x, 0xA5, sizeof x);
    assert_int_equal(config_from_tree(&doc, &x, &e), ERR_USAGE);
    assert_int_equal(e.code, ERR_USAGE);
    assert_string_equal(e.msg, msg);
    assert_memory_equal(&x, &zero, sizeof x);
    config_free(&x);   /* harmless after a failure */
    yt_free(&doc);
}

static void assert_longs(const long *v, int n, const long *want, int n_want)
{
    assert_int_equal(n, n_want);
    for (int i = 0; i < n; i++)
        assert_int_equal(v[i], want[i]);
}

static void assert_labels(const struct cfg_labels *l, const char *const *want, int n_want)
{
    assert_int_equal(l->n, n_want);
    for (int i = 0; i < n_want; i++)
        assert_string_equal(l->v[i], want[i]);
}

static const struct cfg_learner *learner(const struct experiment *x, const char *name)
{
    for (int i = 0; i < x->n_learners; i++)
        if (strcmp(x->learners[i].name, name) == 0)
            return &x->learners[i];
    fail_msg("no learner %s", name);
    return NULL;
}

static void assert_where(const struct cfg_where *w, const char *file, int line, int col)
{
    assert_string_equal(w->file, file);
    assert_int_equal(w->line, line);
    assert_int_equal(w->col, col);
}

/* ---- values and defaults ---- */

static const char full[] =
    "name: fashion-transfer\n"
    "seeds: [0, 1, 2]\n"
    "data:\n"
    "  fashion:\n"
    "    format: idx\n"
    "    dir: /usr/share/datasets/fashion-mnist\n"
    "    scale: 255\n"
    "network: {hidden: [256, 128], activation: relu}\n"
    "source:\n"
    "  data: fashion\n"
    "  classes: [0, 1, 2, 3, 4]\n"
    "  train: {epochs: 1, batch: 64, optimizer: adam, lr: 0.001}\n"
    "targets:\n"
    "  heldout:\n"
    "    data: fashion\n"
    "    split: test\n"
    "    classes: [5, 6, 7, 8, 9]\n"
    "    ways: 5\n"
    "    shots: [1, 5]\n"
    "    queries: 15\n"
    "    episodes: 600\n"
    "learners:\n"
    "  scratch:  {kind: scratch,  steps: 20, optimizer: adam, lr: 0.001}\n"
    "  finetune: {kind: finetune, steps: 20, optimizer: sgd, lr: 0.01, momentum: 0.9}\n"
    "  probe:    {kind: finetune, freeze: body, steps: 20, optimizer: adam, lr: 0.001}\n"
    "  proto:    {kind: prototypes, distance: cosine}\n"
    "  knn:      {kind: knn, k: 3}\n";

static void full_experiment_parses_to_its_values(void **state)
{
    struct experiment x;
    parse(full, &x);
    assert_string_equal(x.file, "exp.yaml");
    assert_string_equal(x.name, "fashion-transfer");
    assert_longs(x.seeds, x.n_seeds, (long[]){0, 1, 2}, 3);
    assert_int_equal(x.n_data, 1);
    const struct cfg_data *d = config_data(&x, "fashion");
    assert_ptr_equal(d, &x.data[0]);
    assert_null(config_data(&x, "mnist"));
    assert_int_equal(d->format, FMT_IDX);
    assert_string_equal(d->dir, "/usr/share/datasets/fashion-mnist");
    assert_true(d->scale == 255);
    assert_false(d->standardise);
    assert_null(d->images);
    assert_false(config_data_regression(d));
    assert_where(&d->where, "exp.yaml", 4, 3);
    assert_longs(x.hidden, x.n_hidden, (long[]){256, 128}, 2);
    assert_int_equal(x.activation, ACT_RELU);
    assert_int_equal(x.init, INIT_TORCH);

    assert_string_equal(x.source.data, "fashion");
    assert_string_equal(x.source.split, "train");
    assert_labels(&x.source.classes, (const char *[]){"0", "1", "2", "3", "4"}, 5);
    assert_where(&x.source.classes.where, "exp.yaml", 11, 12);
    assert_int_equal(x.source.train.epochs, 1);
    assert_int_equal(x.source.train.batch, 64);
    assert_int_equal(x.source.train.optimizer, OPTIM_ADAM);
    assert_true(x.source.train.lr == 0.001);

    assert_int_equal(x.n_targets, 1);
    const struct cfg_target *t = &x.targets[0];
    assert_string_equal(t->name, "heldout");
    assert_string_equal(t->data, "fashion");
    assert_string_equal(t->split, "test");
    assert_labels(&t->classes, (const char *[]){"5", "6", "7", "8", "9"}, 5);
    assert_where(&t->classes.where, "exp.yaml", 17, 14);
    assert_where(&t->where, "exp.yaml", 14, 3);
    assert_int_equal(t->ways, 5);
    assert_longs(t->shots, t->n_shots, (long[]){1, 5}, 2);
    assert_int_equal(t->queries, 15);
    assert_int_equal(t->episodes, 600);

    assert_int_equal(x.n_learners, 5);
    const char *order[] = {"scratch", "finetune", "probe", "proto", "knn"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(x.learners[i].name, order[i]);
    const struct learner_settings *s = &learner(&x, "scratch")->s;
    assert_int_equal(s->kind, learner_find("scratch"));
    assert_int_equal(s->steps, 20);
    assert_int_equal(s->optim.kind, OPTIM_ADAM);
    assert_true(s->optim.lr == 0.001);
    s = &learner(&x, "finetune")->s;
    assert_int_equal(s->kind, learner_find("finetune"));
    assert_int_equal(s->optim.kind, OPTIM_SGD);
    assert_true(s->optim.lr == 0.01);
    assert_true(s->optim.momentum == 0.9);
    assert_int_equal(s->freeze, FREEZE_NONE);
    s = &learner(&x, "probe")->s;
    assert_int_equal(s->freeze, FREEZE_BODY);
    assert_int_equal(s->steps, 20);
    s = &learner(&x, "proto")->s;
    assert_int_equal(s->kind, learner_find("prototypes"));
    assert_int_equal(s->distance, DIST_COSINE);
    s = &learner(&x, "knn")->s;
    assert_int_equal(s->kind, learner_find("knn"));
    assert_int_equal(s->k, 3);
    assert_where(&learner(&x, "knn")->where, "exp.yaml", 27, 3);
    assert_int_equal(x.n_sweep, 0);
    assert_null(x.output_dir);
    config_free(&x);
    assert_null(x.name);
    assert_int_equal(x.n_learners, 0);
    config_free(&x);      /* a freed experiment frees again harmlessly */
    config_free(NULL);
}

static const char minimal[] =
    "name: d\n"
    "data:\n"
    "  f: {format: idx, dir: /d}\n"
    "  sine: {format: sinusoid}\n"
    "  blobs: {format: clusters}\n"
    "  table: {format: csv, path: t.csv, targets: [y]}\n"
    "source: {data: f}\n"
    "targets: {t: {data: f}, ood: {data: sine}, tab: {data: table}}\n"
    "learners:\n"
    "  s: {kind: scratch}\n"
    "  ft: {kind: finetune}\n";

static void absent_keys_take_the_schema_defaults(void **state)
{
    struct experiment x;
    parse(minimal, &x);
    assert_longs(x.seeds, x.n_seeds, (long[]){0}, 1);
    assert_longs(x.hidden, x.n_hidden, (long[]){256, 128}, 2);
    assert_int_equal(x.activation, ACT_RELU);
    assert_int_equal(x.init, INIT_TORCH);
    assert_null(x.output_dir);
    const struct cfg_data *f = config_data(&x, "f"), *sine = config_data(&x, "sine");
    const struct cfg_data *blobs = config_data(&x, "blobs"), *table = config_data(&x, "table");
    assert_true(f->scale == 0);
    assert_false(f->standardise);
    assert_true(sine->amplitude[0] == 0.1 && sine->amplitude[1] == 5.0);
    assert_true(sine->phase[0] == 0 && sine->phase[1] == 3.141592653589793);
    assert_true(sine->x[0] == -5 && sine->x[1] == 5);
    assert_int_equal(sine->size, 10000);
    assert_true(config_data_regression(sine));
    assert_int_equal(blobs->classes, 10);
    assert_int_equal(blobs->dim, 20);
    assert_true(blobs->separation == 0.5);
    assert_int_equal(blobs->per_class, 200);
    assert_false(config_data_regression(blobs));
    assert_int_equal(table->n_targets, 1);
    assert_string_equal(table->targets[0], "y");
    assert_int_equal(table->n_features, 0);
    assert_null(table->label);
    assert_true(config_data_regression(table));

    assert_string_equal(x.source.split, "train");
    assert_int_equal(x.source.classes.n, 0);
    assert_int_equal(x.source.train.epochs, 1);
    assert_int_equal(x.source.train.batch, 64);
    assert_int_equal(x.source.train.optimizer, OPTIM_ADAM);
    assert_true(x.source.train.lr == 0.001);
    assert_true(x.source.train.momentum == 0 && x.source.train.weight_decay == 0);

    const struct cfg_target *t = &x.targets[0];
    assert_string_equal(t->split, "test");
    assert_int_equal(t->classes.n, 0);
    assert_int_equal(t->ways, 5);
    assert_longs(t->shots, t->n_shots, (long[]){1, 5}, 2);
    assert_int_equal(t->queries, 15);
    assert_int_equal(t->episodes, 600);
    assert_false(t->allow_overlap);
    assert_false(t->permute);
    assert_true(t->rotate == 0 && t->noise == 0);
    /* A CSV source has only a train split, so it is a target's default there. */
    assert_string_equal(x.targets[2].split, "train");

    for (int i = 0; i < 2; i++) {
        const struct learner_settings *s = &x.learners[i].s;
        assert_int_equal(s->steps, 100);
        assert_int_equal(s->optim.kind, OPTIM_ADAM);
        assert_true(s->optim.lr == 0.001);
        assert_true(s->optim.momentum == 0 && s->optim.weight_decay == 0);
        assert_true(s->optim.beta1 == 0.9 && s->optim.beta2 == 0.999 && s->optim.eps == 1e-8);
        assert_int_equal(s->n_record, 0);
    }
    assert_int_equal(learner(&x, "ft")->s.freeze, FREEZE_NONE);
    assert_int_equal(learner(&x, "ft")->s.head, INIT_ZERO);
    config_free(&x);

    /* Prototypes and knn (on classification targets only). */
    parse(edit(9, "  p: {kind: prototypes}\n  k: {kind: knn}", 0), &x);
    assert_int_equal(learner(&x, "p")->s.distance, DIST_EUCLIDEAN);
    assert_int_equal(learner(&x, "k")->s.distance, DIST_EUCLIDEAN);
    assert_int_equal(learner(&x, "k")->s.k, 1);
    assert_int_equal(learner(&x, "k")->s.space, SPACE_FEATURES);
    config_free(&x);
}

static void lists_sections_and_explicit_settings(void **state)
{
    struct experiment x;
    /* A scalar is a list of one; widths may repeat; [] freezes nothing. */
    parse(edit(9, "  ft: {kind: finetune, head: he, freeze: [0, 2], record_steps: [0, 5, 100]}\n"
                  "  lp: {kind: finetune, freeze: []}",
               10, "seeds: 7\nnetwork: {hidden: [32, 32], activation: tanh, init: glorot}\n"
                   "output: {dir: out/x}", 0), &x);
    assert_longs(x.seeds, x.n_seeds, (long[]){7}, 1);
    assert_longs(x.hidden, x.n_hidden, (long[]){32, 32}, 2);
    assert_int_equal(x.activation, ACT_TANH);
    assert_int_equal(x.init, INIT_GLOROT);
    assert_string_equal(x.output_dir, "out/x");
    const struct learner_settings *s = &learner(&x, "ft")->s;
    assert_int_equal(s->freeze, FREEZE_LAYERS);
    assert_longs(s->frozen, s->n_frozen, (long[]){0, 2}, 2);
    assert_int_equal(s->head, INIT_HE);
    assert_longs(s->record_steps, s->n_record, (long[]){0, 5, 100}, 3);
    assert_int_equal(learner(&x, "lp")->s.freeze, FREEZE_NONE);
    config_free(&x);
    /* Null sections mean every default; knn on raw inputs needs no source. */
    parse(edit(5, DEL, 9, "  k: {kind: knn, space: input}\n  s: {kind: scratch}",
               10, "network:\nprobes: {}\nsweep:", 0), &x);
    assert_null(x.source.data);
    assert_int_equal(x.n_hidden, 2);
    assert_int_equal(learner(&x, "k")->s.space, SPACE_INPUT);
    config_free(&x);
}

/* ---- refusals, one class each ---- */

static void wrong_types(void **state)
{
    fails(edit(9, "  ft: {kind: finetune, steps: ten}", 0),
          "exp.yaml:9:31: learners.ft.steps: expected an integer in [0, 1000000], got \"ten\"");
    fails(edit(9, "  ft: {kind: finetune, steps: \"5\"}", 0), "exp.yaml:9:31: learners.ft.steps: "
          "expected an integer in [0, 1000000], got \"5\" (a quoted string)");
    fails(edit(9, "  ft: {kind: finetune, lr: fast}", 0),
          "exp.yaml:9:28: learners.ft.lr: expected a number in [0, 100], got \"fast\"");
    fails(edit(7, "  t: {data: fashion, permute: yes}", 0),
          "exp.yaml:7:31: targets.t.permute: expected true or false, got \"yes\"");
    fails(edit(1, "name: [a, b]", 0), "exp.yaml:1:7: name: expected a string, got a list");
    fails(edit(10, "seeds: {a: 1}", 0), "exp.yaml:10:8: seeds: expected a list, got a map");
    fails(edit(10, "seeds:", 0), "exp.yaml:10:7: seeds: expected at least one value, got nothing");
    fails(edit(4, "  sine: {format: sinusoid, x: [1]}", 0),
          "exp.yaml:4:31: data.sine.x: expected a range [low, high], got a list of 1 value");
    fails(edit(10, "network: [1]", 0), "exp.yaml:10:10: network: expected a map of keys, got a list");
    fails(edit(9, "  ft:", 0), "exp.yaml:9:6: learners.ft: expected a map of keys, got nothing");
    fails(edit(8, "learners: [a]", 9, DEL, 0),
          "exp.yaml:8:11: learners: expected a map of named learners, got a list");
    fails(edit(2, "data: {}", 3, DEL, 4, DEL, 0),
          "exp.yaml:2:7: data: expected at least one named data source, got none");
    fails("- a\n- b\n", "exp.yaml: an experiment file is a map of keys (name, data, targets, "
          "learners, …)");
}

static void out_of_range_and_non_finite(void **state)
{
    fails(edit(7, "  t: {data: fashion, episodes: 0}", 0),
          "exp.yaml:7:32: targets.t.episodes: expected an integer in [1, 10000000], got \"0\"");
    fails(edit(5, "source: {data: fashion, train: {batch: 0}}", 0),
          "exp.yaml:5:40: source.train.batch: expected an integer in [1, 1000000], got \"0\"");
    fails(edit(9, "  ft: {kind: finetune, optimizer: sgd, momentum: 1.5}", 0),
          "exp.yaml:9:50: learners.ft.momentum: expected a number in [0, 1], got \"1.5\"");
    fails(edit(7, "  t: {data: fashion, rotate: -400}", 0),
          "exp.yaml:7:30: targets.t.rotate: expected a number in [-360, 360], got \"-400\"");
    fails(edit(10, "seeds: [-1]", 0),
          "exp.yaml:10:9: seeds: expected an integer in [0, 4294967295], got \"-1\"");
    fails(edit(4, "  sine: {format: sinusoid, amplitude: [5, 1]}", 0),
          "exp.yaml:4:39: data.sine.amplitude: low end 5 is above high end 1");
    fails(edit(9, "  ft: {kind: finetune, lr: .nan}", 0), "exp.yaml:9:28: learners.ft.lr: "
          "must be finite, got \".nan\" (expected a number in [0, 100])");
    fails(edit(7, "  t: {data: fashion, noise: .inf}", 0), "exp.yaml:7:29: targets.t.noise: "
          "must be finite, got \".inf\" (expected a number ≥ 0)");
    fails(edit(4, "  sine: {format: sinusoid, phase: [0, 1e999]}", 0), "exp.yaml:4:39: "
          "data.sine.phase: must be finite, got \"1e999\" (expected a number)");
}

static void unknown_keys_are_located_with_suggestions(void **state)
{
    fails(edit(8, "learnres:", 0), "exp.yaml:8:1: learnres: unknown key (did you mean \"learners\"?)");
    fails(edit(7, "  t: {data: fashion, querys: 3}", 0),
          "exp.yaml:7:22: targets.t.querys: unknown key (did you mean \"queries\"?)");
    fails(edit(5, "source: {data: fashion, train: {epoch: 2}}", 0),
          "exp.yaml:5:33: source.train.epoch: unknown key (did you mean \"epochs\"?)");
    fails(edit(3, "  fashion: {format: idx, dir: /d, scael: 255}", 0),
          "exp.yaml:3:35: data.fashion.scael: unknown key (did you mean \"scale\"?)");
    fails(edit(10, "colour: red", 0), "exp.yaml:10:1: colour: unknown key (valid keys: name, "
          "seeds, data, network, source, targets, learners, baseline, probes, sweep, output and "
          "energy)");
}

static void keys_must_apply_to_the_kind_or_format(void **state)
{
    fails(edit(9, "  ft: {kind: prototypes, steps: 5}", 0), "exp.yaml:9:26: learners.ft.steps: "
          "not a key of a learner of kind \"prototypes\" (its keys: kind and distance)");
    fails(edit(9, "  ft: {kind: knn, freeze: body}", 0), "exp.yaml:9:19: learners.ft.freeze: "
          "not a key of a learner of kind \"knn\" (its keys: kind, distance, k and space)");
    fails(edit(4, "  sine: {format: sinusoid, scale: 2}", 0), "exp.yaml:4:28: data.sine.scale: "
          "not a key of a data source of format \"sinusoid\" (its keys: format, amplitude, "
          "phase, x and size)");
}

static void enum_values_and_kinds(void **state)
{
    fails(edit(9, "  ft: {kind: finetune, optimizer: adamw}", 0), "exp.yaml:9:35: "
          "learners.ft.optimizer: expected sgd or adam, got \"adamw\" (did you mean \"adam\"?)");
    fails(edit(10, "network: {activation: sigmoid}", 0), "exp.yaml:10:23: network.activation: "
          "expected identity, relu or tanh, got \"sigmoid\"");
    /* A zero-initialised fresh network could not break symmetry. */
    fails(edit(10, "network: {init: zero}", 0),
          "exp.yaml:10:17: network.init: expected torch, he or glorot, got \"zero\"");
    fails(edit(5, "source: {data: fashion, split: tset}", 0), "exp.yaml:5:32: source.split: "
          "expected train or test, got \"tset\" (did you mean \"test\"?)");
    fails(edit(9, "  ft: {kind: finetune, freeze: bdy}", 0), "exp.yaml:9:32: learners.ft.freeze: "
          "expected none, body or a list of layer indices, got \"bdy\" (did you mean \"body\"?)");
    fails(edit(9, "  ft: {kind: protonet}", 0), "exp.yaml:9:14: learners.ft.kind: "
          "expected scratch, finetune, prototypes, knn, reptile, maml, fomaml, anil or metasgd, "
          "got \"protonet\"");
    fails(edit(9, "  ft: {kind: fintune}", 0), "exp.yaml:9:14: learners.ft.kind: expected "
          "scratch, finetune, prototypes, knn, reptile, maml, fomaml, anil or metasgd, got \"fintune\" "
          "(did you mean \"finetune\"?)");
}

static void required_keys(void **state)
{
    fails(edit(1, DEL, 0), "exp.yaml:1:1: missing required key \"name\" (experiment name; results "
          "go to results/<name>/ unless -o or output.dir says otherwise)");
    fails(edit(2, DEL, 3, DEL, 4, DEL, 0), "exp.yaml:1:1: missing required key \"data\" (named "
          "data sources data.<name>.*, referred to by source.data and targets.<name>.data)");
    fails(edit(6, DEL, 7, DEL, 0), "exp.yaml:1:1: missing required key \"targets\" (named held-out "
          "tasks targets.<name>.*; at least one)");
    fails(edit(8, DEL, 9, DEL, 0), "exp.yaml:1:1: missing required key \"learners\" (named learners "
          "learners.<name>.*; the CSV's learner column holds <name>; at least one)");
    fails(edit(7, "  t: {classes: [5, 6]}", 0), "exp.yaml:7:6: targets.t: missing required key "
          "\"data\" (data source of the held-out task)");
    fails(edit(9, "  ft: {steps: 5}", 0), "exp.yaml:9:7: learners.ft: missing required key "
          "\"kind\" (scratch, finetune, prototypes, knn, reptile, maml, fomaml, anil or metasgd)");
    fails(edit(3, "  fashion: {dir: /d}", 0), "exp.yaml:3:12: data.fashion: missing required key "
          "\"format\" (idx for MNIST-style files, csv for your own table, sinusoid or clusters "
          "for synthetic data)");
    fails(edit(3, "  fashion: {format: csv, label: y}", 0), "exp.yaml:3:12: data.fashion: "
          "missing required key \"path\" (CSV file with a header row)");
    fails(edit(5, "source: {classes: [0]}", 0), "exp.yaml:5:9: source: missing required key "
          "\"data\" (data source to pretrain on)");
}

static void names_and_lists(void **state)
{
    fails(edit(9, "  a/b: {kind: scratch}", 0), "exp.yaml:9:3: learners: \"a/b\" is not a valid "
          "name (a name is not empty, has no '/', ',' or '\"', and is not \".\" or \"..\")");
    fails(edit(1, "name: ..", 0), "exp.yaml:1:7: name: \"..\" is not a valid name (a name is not "
          "empty, has no '/', ',' or '\"', and is not \".\" or \"..\")");
    fails(edit(10, "seeds: [0, 1, 0]", 0), "exp.yaml:10:15: seeds: 0 is listed twice");
    fails(edit(7, "  t: {data: fashion, shots: []}", 0),
          "exp.yaml:7:29: targets.t.shots: expected at least one value, got an empty list");
    fails(edit(7, "  t: {data: fashion, classes: [5, 6, 5]}", 0),
          "exp.yaml:7:38: targets.t.classes: \"5\" is listed twice");
    fails(edit(9, "  ft: {kind: finetune, record_steps: [0, 0]}", 0),
          "exp.yaml:9:42: learners.ft.record_steps: 0 is listed twice");
    /* More hidden layers than the network holds (the head is the 8th layer). */
    fails(edit(10, "network: {hidden: [1, 2, 3, 4, 5, 6, 7, 8]}", 0),
          "exp.yaml:10:19: network.hidden: expected at most 7 values, got 8");
}

static void data_sources_need_their_files(void **state)
{
    fails(edit(3, "  fashion: {format: idx}", 0),
          "exp.yaml:3:12: data.fashion: an idx source needs dir, or images and labels");
    fails(edit(3, "  fashion: {format: idx, images: /i}", 0),
          "exp.yaml:3:12: data.fashion: an idx source needs dir, or images and labels");
    fails(edit(3, "  fashion: {format: idx, dir: /d, images: /i}", 0), "exp.yaml:3:43: "
          "data.fashion.images: give dir or the files (images, labels, test_images, test_labels), "
          "not both");
    fails(edit(3, "  fashion: {format: idx, images: /i, labels: /l, test_images: /ti}", 0),
          "exp.yaml:3:63: data.fashion.test_images: test_images and test_labels go together; "
          "give both or neither");
    fails(edit(3, "  fashion: {format: csv, path: a.csv, label: y, targets: [a]}", 0),
          "exp.yaml:3:58: data.fashion.targets: a csv source has either label (classification) "
          "or targets (regression), not both");
    fails(edit(3, "  fashion: {format: csv, path: a.csv}", 0), "exp.yaml:3:12: data.fashion: "
          "a csv source needs label (classification) or targets (regression)");
    fails(edit(3, "  fashion: {format: csv, path: a.csv, label: y}",
               7, "  t: {data: fashion, split: test}", 0), "exp.yaml:7:29: targets.t.split: "
          "data source \"fashion\" is a csv file, which has only a train split");
}

static void the_baseline_is_named_or_the_only_scratch_learner(void **state)
{
    struct experiment x;
    char why[160];
    parse(edit(9, "  ft: {kind: finetune}\n  s: {kind: scratch}", 0), &x);
    assert_int_equal(config_baseline(&x, why, sizeof why), 1);
    config_free(&x);
    parse(edit(9, "  ft: {kind: finetune}\n  s: {kind: scratch}\nbaseline: ft", 0), &x);
    assert_int_equal(config_baseline(&x, why, sizeof why), 0);
    config_free(&x);
    parse(edit(9, "  a: {kind: scratch}\n  b: {kind: scratch, lr: 0.1}", 0), &x);
    assert_int_equal(config_baseline(&x, why, sizeof why), -1);
    assert_string_equal(why, "several learners are of kind scratch and baseline: names none");
    config_free(&x);
    parse(edit(7, "  t: {data: fashion, classes: [5, 6, 7, 8, 9], thresholds: [0.5, 0.75]}", 0),
          &x);
    assert_int_equal(x.targets[0].n_thresholds, 2);
    assert_true(x.targets[0].thresholds[0] == 0.5 && x.targets[0].thresholds[1] == 0.75);
    assert_int_equal(config_baseline(&x, why, sizeof why), -1);
    assert_string_equal(why, "no learners are of kind scratch and baseline: names none");
    config_free(&x);
}

static void references_between_sections(void **state)
{
    fails(edit(7, "  t: {data: fashon}", 0),
          "exp.yaml:7:13: targets.t.data: no data source \"fashon\" (did you mean \"fashion\"?)");
    fails(edit(7, "  t: {data: mnist}", 0), "exp.yaml:7:13: targets.t.data: no data source "
          "\"mnist\" (the data sources are fashion and sine)");
    fails(edit(5, "source: {data: fahsion}", 0),
          "exp.yaml:5:16: source.data: no data source \"fahsion\" (did you mean \"fashion\"?)");
    fails(edit(7, "  t: {data: fashion, classes: [5, 6, 7, 8, 9], thresholds: [0.5, 0.5]}", 0),
          "exp.yaml:7:66: targets.t.thresholds: 0.5 is listed twice");
    fails(edit(7, "  t: {data: fashion, classes: [5, 6, 7, 8, 9], thresholds: [0.5, high]}", 0),
          "exp.yaml:7:66: targets.t.thresholds: expected a number, got \"high\"");
    fails(edit(N_BASE + 1, "baseline: fT", 0),
          "exp.yaml:10:11: baseline: no learner \"fT\" (did you mean \"ft\"?)");
    fails(edit(N_BASE + 1, "baseline: scratch", 0),
          "exp.yaml:10:11: baseline: no learner \"scratch\" (the only one is ft)");
    fails(edit(5, DEL, 0), "exp.yaml:8:14: learners.ft.kind: a finetune learner reuses a "
          "pretrained network, but the experiment has no source section");
    fails(edit(5, DEL, 9, "  ft: {kind: knn}", 0), "exp.yaml:8:14: learners.ft.kind: a knn learner "
          "reuses a pretrained network, but the experiment has no source section (add one, or "
          "set space: input)");
    fails(edit(9, "  ft: {kind: finetune, momentum: 0.9}", 0), "exp.yaml:9:34: "
          "learners.ft.momentum: momentum applies to sgd only, and the optimizer here is adam");
    fails(edit(5, "source: {data: fashion, train: {momentum: 0.5}}", 0), "exp.yaml:5:43: "
          "source.train.momentum: momentum applies to sgd only, and the optimizer here is adam");
}

static void adaptation_steps_and_frozen_layers(void **state)
{
    fails(edit(9, "  ft: {kind: finetune, steps: 20, record_steps: [0, 5, 30]}", 0),
          "exp.yaml:9:56: learners.ft.record_steps: step 30 is after the last step (steps: 20)");
    /* The default network has layers 0, 1 and the head, 2. */
    fails(edit(9, "  ft: {kind: finetune, freeze: [0, 3]}", 0), "exp.yaml:9:36: learners.ft.freeze: "
          "layer 3 does not exist (the network has layers 0 to 2, 2 being the head)");
    fails(edit(9, "  ft: {kind: finetune, head: torch, freeze: [2, 0, 1]}", 0), "exp.yaml:9:45: "
          "learners.ft.freeze: every layer (0 to 2) is frozen, so nothing would be trained");
    fails(edit(9, "  ft: {kind: finetune, freeze: [2]}", 0), "exp.yaml:9:33: learners.ft.freeze: "
          "a frozen head (layer 2) stays at its zero initialisation, so every score would be 0 "
          "(set head: torch, he or glorot, or leave layer 2 trainable)");
    fails(edit(9, "  ft: {kind: finetune, freeze: [-1]}", 0),
          "exp.yaml:9:33: learners.ft.freeze: expected an integer ≥ 0, got \"-1\"");
}

/* Adam's settings belong to Adam, and its decays stay below 1. */
static void optimizer_settings_belong_to_their_optimizer(void **state)
{
    fails(edit(9, "  ft: {kind: finetune, optimizer: sgd, beta1: 0.8}", 0), "exp.yaml:9:47: "
          "learners.ft.beta1: beta1 applies to adam only, and the optimizer here is sgd");
    fails(edit(9, "  ft: {kind: finetune, beta2: 1}", 0), "exp.yaml:9:31: "
          "learners.ft.beta2: expected a number in [0, 1), got 1");
    fails(edit(5, "source: {data: fashion, train: {optimizer: sgd, epsilon: 1e-6}}", 0),
          "exp.yaml:5:58: source.train.epsilon: epsilon applies to adam only, and the optimizer "
          "here is sgd");
    struct experiment x;
    parse(edit(9, "  ft: {kind: finetune, beta1: 0.8, beta2: 0.99, epsilon: 1e-6}", 0), &x);
    const struct optim_settings *o = &learner(&x, "ft")->s.optim;
    assert_close(o->beta1, 0.8, 0, 0), assert_close(o->beta2, 0.99, 0, 0);
    assert_close(o->eps, 1e-6, 0, 0);
    config_free(&x);
}

/* A kind with its own pretraining: the nested meta section, its keys with
 * the kind's defaults, and test-time settings that follow the inner loop's
 * unless set. */
static void meta_training_keys_and_their_defaults(void **state)
{
    struct experiment x;
    parse(edit(9, "  r: {kind: reptile}", 0), &x);
    const struct learner_settings *s = &learner(&x, "r")->s;
    assert_int_equal(s->meta.shots, 0);   /* each */
    assert_int_equal(s->meta.inner_steps, 5);
    assert_int_equal(s->steps, 5);        /* = meta.inner_steps */
    assert_close(s->optim.lr, s->meta.inner_lr, 0, 0);
    assert_int_equal(s->optim.kind, OPTIM_SGD);   /* the kind's own default, not adam */
    config_free(&x);
    parse(edit(9, "  r: {kind: reptile, meta: {inner_steps: 7, inner_lr: 0.3, shots: 2}}", 0), &x);
    s = &learner(&x, "r")->s;
    assert_int_equal(s->steps, 7);
    assert_close(s->optim.lr, 0.3, 0, 0);
    assert_int_equal(s->meta.shots, 2);
    config_free(&x);
    parse(edit(9, "  r: {kind: reptile, steps: 3, lr: 0.05, meta: {inner_steps: 7}}", 0), &x);
    s = &learner(&x, "r")->s;
    assert_int_equal(s->steps, 3);        /* set: kept */
    assert_close(s->optim.lr, 0.05, 0, 0);
    config_free(&x);
    fails(edit(9, "  r: {kind: reptile, meta: {shots: every}}", 0), "exp.yaml:9:36: "
          "learners.r.meta.shots: expected an integer in [1, 100000] or each, got \"every\"");
    fails(edit(9, "  r: {kind: reptile, meta: {iteration: 5}}", 0), "exp.yaml:9:29: "
          "learners.r.meta.iteration: unknown key (did you mean \"iterations\"?)");
    fails(edit(9, "  ft: {kind: finetune, meta: {iterations: 5}}", 0), "exp.yaml:9:24: "
          "learners.ft.meta: not a key of a learner of kind \"finetune\" (its keys: kind, steps, "
          "optimizer, lr, momentum, weight_decay, beta1, beta2, epsilon, record_steps, freeze "
          "and head)");
    /* a sweep reaches the nested keys */
    parse(edit(10, "sweep: {learners.r.meta.iterations: [10, 20]}", 9, "  r: {kind: reptile}", 0),
          &x);
    assert_int_equal(x.n_sweep, 1);
    assert_string_equal(x.sweep[0].path, "learners.r.meta.iterations");
    config_free(&x);
    fails(edit(10, "sweep: {learners.r.meta.iterations: [10, 0]}", 9, "  r: {kind: reptile}", 0),
          "exp.yaml:10:42: sweep.learners.r.meta.iterations: expected an integer in [1, "
          "10000000], got \"0\"");
}

static void regression_targets(void **state)
{
    fails(edit(7, "  t: {data: sine, classes: [0, 1]}", 0), "exp.yaml:7:28: targets.t.classes: "
          "data source \"sine\" is a regression task, which has no classes");
    fails(edit(7, "  t: {data: sine, ways: 5}", 0), "exp.yaml:7:25: targets.t.ways: "
          "data source \"sine\" is a regression task, which has no ways");
    fails(edit(5, "source: {data: sine, classes: [0]}", 0), "exp.yaml:5:31: source.classes: "
          "data source \"sine\" is a regression task, which has no classes");
    fails(edit(7, "  t: {data: sine}", 9, "  ft: {kind: prototypes}", 0), "exp.yaml:9:14: "
          "learners.ft.kind: a prototypes learner classifies, but target \"t\" is a regression task");
    fails(edit(7, "  t: {data: sine}", 9, "  ft: {kind: knn}", 0), "exp.yaml:9:14: "
          "learners.ft.kind: a knn learner classifies, but target \"t\" is a regression task");
    fails(edit(7, "  t: {data: sine, rotate: 90}", 0), "exp.yaml:7:27: targets.t.rotate: "
          "rotation needs images (an idx source), but \"sine\" is sinusoid data");
    fails(edit(7, "  t: {data: sine, permute: true}", 0), "exp.yaml:7:28: targets.t.permute: "
          "a sinusoid task has one input, so there is nothing to permute");
    struct experiment x;    /* finetune and scratch do regress */
    parse(edit(7, "  t: {data: sine, shots: [5, 10], queries: 100}", 0), &x);
    assert_longs(x.targets[0].shots, x.targets[0].n_shots, (long[]){5, 10}, 2);
    config_free(&x);
}

static void ways_against_known_classes(void **state)
{
    fails(edit(7, "  t: {data: fashion, classes: [5, 6, 7]}", 0), "exp.yaml:7:31: "
          "targets.t.classes: 5 ways need at least 5 classes, but classes lists 3");
    fails(edit(7, "  t: {data: fashion, classes: [5, 6, 7], ways: 4}", 0), "exp.yaml:7:48: "
          "targets.t.ways: 4 ways need at least 4 classes, but classes lists 3");
    fails(edit(4, "  blobs: {format: clusters, classes: 3}", 7, "  t: {data: blobs}", 0),
          "exp.yaml:7:6: targets.t: 5 ways need at least 5 classes, but data source \"blobs\" has 3");
}

static void probes_are_parsed_by_kind_and_checked(void **state)
{
    struct experiment x;
    parse(edit(10, "probes:\n  f: {kind: fgsm}\n  p: {kind: pgd, eps: [0.1], steps: 7, "
               "random_start: false, learners: [ft]}\n  n: {kind: noise, sigma: [0, 0.5]}", 0), &x);
    assert_int_equal(x.n_probes, 3);
    assert_string_equal(x.probes[0].name, "f");
    assert_int_equal(x.probes[0].kind, PROBE_FGSM);
    assert_int_equal(x.probes[0].n_eps, 4);   /* the default [0.05, 0.1, 0.2, 0.3] */
    assert_true(x.probes[0].eps[3] == 0.3);
    assert_int_equal(x.probes[1].steps, 7);
    assert_false(x.probes[1].random_start);
    assert_int_equal(x.probes[1].n_learners, 1);
    assert_int_equal(x.probes[2].n_sigma, 2);
    assert_true(config_probe_applies(&x.probes[1], &x.learners[0]));
    config_free(&x);
    fails(edit(10, "probes:\n  fgsm: {eps: [0.05, 0.1]}", 0), "exp.yaml:11:9: probes.fgsm: "
          "missing required key \"kind\" (fgsm, pgd, noise, patch or cue_conflict: what the probe "
          "does to the episode's images)");
    fails(edit(10, "probes:\n  n: {kind: noise, eps: [0.1]}", 0), "exp.yaml:11:20: probes.n.eps: "
          "not a key of a probe of kind \"noise\" (its keys: kind, sigma and learners)");
    fails(edit(10, "probes:\n  f: {kind: fgsm, learners: [fx]}", 0),
          "exp.yaml:11:30: probes.f.learners: no learner \"fx\"");
    fails(edit(10, "probes:\n  f: {kind: fgsm, eps: [-0.1]}", 0),
          "exp.yaml:11:25: probes.f.eps: expected a number ≥ 0, got \"-0.1\"");
    fails(edit(3, "  fashion: {format: clusters}", 10, "probes:\n  c: {kind: cue_conflict}", 0),
          "exp.yaml:11:6: probes.c: a cue_conflict probe needs images (idx data), and target "
          "\"t\" draws from clusters data");
    fails(edit(10, "probes: [fgsm]", 0), "exp.yaml:10:9: probes: expected a map of named probes, got a list");
    /* found by fuzz_config (tests/fuzz/corpus/config/found-probe-beside-unknown-target-data.yaml):
     * a probe's check looked up a target's data before the target's own check had
     * refused a name that does not exist, and read through NULL */
    fails(edit(7, "  t: {data: fashi:n, classes: [5, 6, 7, 8, 9]}", 10,
               "probes:\n  f: {kind: fgsm}", 0),
          "exp.yaml:7:13: targets.t.data: no data source \"fashi:n\" (did you mean \"fashion\"?)");
    fails(edit(7, "  t: {data: fashi:n, classes: [5, 6, 7, 8, 9]}", 10, "baseline: ft", 0),
          "exp.yaml:7:13: targets.t.data: no data source \"fashi:n\" (did you mean \"fashion\"?)");
}

/* ---- YAML features ---- */

static void aliases_and_merge_keys_share_settings(void **state)
{
    struct experiment x;
    parse(edit(9, "  ft: &ft {kind: finetune, steps: 20, lr: 0.01}\n"
                  "  again: *ft\n"
                  "  probe: {<<: *ft, freeze: body, lr: 0.1}", 0), &x);
    assert_int_equal(x.n_learners, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(x.learners[i].s.kind, learner_find("finetune"));
        assert_int_equal(x.learners[i].s.steps, 20);
    }
    assert_string_equal(x.learners[1].name, "again");
    assert_true(x.learners[1].s.optim.lr == 0.01);
    assert_int_equal(x.learners[1].s.freeze, FREEZE_NONE);
    assert_string_equal(x.learners[2].name, "probe");
    assert_true(x.learners[2].s.optim.lr == 0.1);      /* an explicit key wins over the merge */
    assert_int_equal(x.learners[2].s.freeze, FREEZE_BODY);
    config_free(&x);
    /* An error inside an alias is reported where the anchored text is. */
    fails(edit(9, "  ft: &ft {kind: finetune, steps: -1}\n  again: *ft", 0),
          "exp.yaml:9:35: learners.ft.steps: expected an integer in [0, 1000000], got \"-1\"");
}

/* ---- files, overrides ---- */

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(path);
    sprintf(path, "%s/%s", dir, name);
    testutil_write(path, text, strlen(text));
    return path;
}

/* config_load fails with msg; x and doc are left empty. */
static void load_fails(const char *path, char *const *ov, int n_ov, int code, const char *msg)
{
    static const struct experiment zero;
    struct experiment x;
    struct yt_doc doc;
    struct err e = {0};
    memset(&doc, 0xA5, sizeof doc);
    assert_int_equal(config_load(path, ov, n_ov, &x, &doc, &e), code);
    assert_string_equal(e.msg, msg);
    assert_memory_equal(&x, &zero, sizeof x);
    assert_null(doc.root);
    yt_free(&doc);
}

static void loading_files_with_overrides(void **state)
{
    char *dir = testutil_tmpdir(), msg[ERR_MSG_MAX];
    char *path = write_file(dir, "exp.yaml", edit(0, NULL));
    struct experiment x;
    struct yt_doc doc;
    struct err e = {0};
    char *ov[] = {"targets.t.episodes=100", "seeds=[0, 1]", "learners.ft={kind: scratch}"};
    assert_int_equal(config_load(path, ov, 3, &x, &doc, &e), 0);
    assert_int_equal(x.targets[0].episodes, 100);
    assert_longs(x.seeds, x.n_seeds, (long[]){0, 1}, 2);
    assert_int_equal(x.learners[0].s.kind, learner_find("scratch"));
    assert_string_equal(x.file, path);
    assert_int_equal(yt_get(doc.root, "seeds")->n_items, 2);   /* the resolved tree, kept */
    config_free(&x);
    yt_free(&doc);
    assert_int_equal(config_load(path, NULL, 0, &x, NULL, &e), 0);
    config_free(&x);

    /* Bad overrides are located on the command line: argument 1 or 2, column in it. */
    load_fails(path, (char *[]){"targets.t.episodes=abc"}, 1, ERR_USAGE, "<command line>:1:20: "
               "targets.t.episodes: expected an integer in [1, 10000000], got \"abc\"");
    load_fails(path, (char *[]){"seeds=[1]", "learners.ft.lr=-1"}, 2, ERR_USAGE,
               "<command line>:2:16: learners.ft.lr: expected a number in [0, 100], got \"-1\"");
    load_fails(path, (char *[]){"targets.t.querys=3"}, 1, ERR_USAGE,
               "<command line>:1:11: targets.t.querys: unknown key (did you mean \"queries\"?)");
    load_fails(path, (char *[]){"seeds"}, 1, ERR_USAGE,
               "override 1 (seeds): expected KEY.PATH=VALUE, e.g. targets.heldout.episodes=100");

    /* Failures of the YAML layer come through unchanged and free everything. */
    char *dup = write_file(dir, "dup.yaml", edit(10, "name: u", 0));
    snprintf(msg, sizeof msg, "%s:10:1: duplicate key 'name' (first at line 1)", dup);
    load_fails(dup, NULL, 0, ERR_USAGE, msg);
    char *laughs = write_file(dir, "laughs.yaml",
        "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n");
    snprintf(msg, sizeof msg, "%s:5:36: alias *d expands the document past 100000 nodes "
             "(a \"billion laughs\" document?)", laughs);
    load_fails(laughs, NULL, 0, ERR_USAGE, msg);
    snprintf(msg, sizeof msg, "%s/none.yaml: no such file", dir);
    char *none = write_file(dir, "none.yaml", "");
    remove(none);
    load_fails(none, NULL, 0, ERR_USAGE, msg);
    /* A failure late in validation, after every section was allocated. */
    char *late = write_file(dir, "late.yaml", edit(9, "  ft: {kind: finetune, freeze: [9]}", 10,
                            "sweep: {learners.ft.lr: [0.1, 0.2]}", 0));
    snprintf(msg, sizeof msg, "%s:9:33: learners.ft.freeze: layer 9 does not exist (the network "
             "has layers 0 to 2, 2 being the head)", late);
    load_fails(late, NULL, 0, ERR_USAGE, msg);
    free(late), free(none), free(laughs), free(dup), free(path);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- sweeps ---- */

static void sweeps_name_keys_and_keep_value_text(void **state)
{
    struct experiment x;
    parse(edit(10, "sweep:\n"
                   "  learners.ft.lr: [0.001, 0.01]\n"
                   "  targets.t.shots: [[1, 5], 10]\n"
                   "  source.train.batch: [32, 64]\n"
                   "  learners.ft: [{kind: scratch}, {kind: finetune, steps: 5}]\n"
                   "  seeds: [[0], [1, 2]]", 0), &x);
    assert_int_equal(x.n_sweep, 5);
    const char *paths[] = {"learners.ft.lr", "targets.t.shots", "source.train.batch",
                           "learners.ft", "seeds"};
    const char *values[][2] = {{"0.001", "0.01"}, {"[1, 5]", "10"}, {"32", "64"},
                               {"{kind: scratch}", "{kind: finetune, steps: 5}"}, {"[0]", "[1, 2]"}};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(x.sweep[i].path, paths[i]);
        assert_int_equal(x.sweep[i].n_values, 2);
        for (int j = 0; j < 2; j++)
            assert_string_equal(x.sweep[i].values[j], values[i][j]);
    }
    config_free(&x);
}

static void sweeps_are_checked_against_the_schema(void **state)
{
#define SWEEP(line) edit(10, "sweep:\n" line, 0)
    fails(SWEEP("  name: [a, b]"), "exp.yaml:11:3: sweep.name: \"name\" cannot be swept (every "
          "variant belongs to one experiment, one results directory and one run's costs)");
    fails(SWEEP("  learnres.ft.lr: [1]"),
          "exp.yaml:11:3: sweep.learnres.ft.lr: unknown key (did you mean \"learners\"?)");
    fails(SWEEP("  learners.fft.lr: [1]"),
          "exp.yaml:11:3: sweep.learners.fft.lr: no learner \"fft\" (did you mean \"ft\"?)");
    fails(SWEEP("  learners.ft.lrr: [1]"),
          "exp.yaml:11:3: sweep.learners.ft.lrr: unknown key (did you mean \"lr\"?)");
    fails(edit(9, "  ft: {kind: prototypes}", 10, "sweep:\n  learners.ft.steps: [1, 2]", 0),
          "exp.yaml:11:3: sweep.learners.ft.steps: not a key of a learner of kind "
          "\"prototypes\" (its keys: kind and distance)");
    fails(SWEEP("  learners: [{}]"), "exp.yaml:11:3: sweep.learners: sweep one learner at a time "
          "(learners.<name> or one of its keys)");
    fails(edit(5, DEL, 9, "  s: {kind: scratch}", 10, "sweep:\n  source.train.lr: [1]", 0),
          "exp.yaml:10:3: sweep.source.train.lr: the experiment has no source section to sweep");
    fails(SWEEP("  learners.ft.lr: [0.1, fast]"), "exp.yaml:11:25: sweep.learners.ft.lr: "
          "expected a number in [0, 100], got \"fast\"");
    fails(SWEEP("  learners.ft.lr: 0.1"), "exp.yaml:11:19: sweep.learners.ft.lr: "
          "expected a list of 1 to 64 values, got \"0.1\"");
    fails(SWEEP("  learners.ft.lr: [0.1, 0.1]"),
          "exp.yaml:11:25: sweep.learners.ft.lr: 0.1 is listed twice");
    fails(SWEEP("  learners.ft: [{kind: scratch}, {kind: nope}]"), "exp.yaml:11:41: "
          "sweep.learners.ft.kind: expected scratch, finetune, prototypes, knn, reptile, maml, "
          "fomaml, anil or metasgd, got \"nope\"");
    /* Whole sections are checked like the file's own. */
    fails(SWEEP("  source.train: [{lr: 0.1}, {lrr: 1}]"),
          "exp.yaml:11:30: sweep.source.train.lrr: unknown key (did you mean \"lr\"?)");
    fails(SWEEP("  targets.t: [{data: fashion}, 5]"),
          "exp.yaml:11:32: sweep.targets.t: expected a map of keys, got \"5\"");
    fails(SWEEP("  network: [{hidden: [32]}, {hidden: [64, 0]}]"), "exp.yaml:11:43: "
          "sweep.network.hidden: expected an integer in [1, 100000], got \"0\"");
#undef SWEEP
}

/* ---- help ---- */

/* Every key the schema declares, in its order: an independent list, so a
 * key added without help (or dropped) shows here. */
static const char *const all_keys[] = {
    "name", "seeds", "data", "network", "source", "targets", "learners", "baseline", "probes",
    "sweep",
    "output", "energy", "output.dir", "probes.<name>.kind", "probes.<name>.eps",
    "probes.<name>.sigma", "probes.<name>.steps", "probes.<name>.random_start",
    "probes.<name>.size", "probes.<name>.lr", "probes.<name>.strength",
    "probes.<name>.cue_in_source", "probes.<name>.learners", "energy.powercap", "energy.watts_per_core",
    "data.<name>.format", "data.<name>.dir", "data.<name>.images", "data.<name>.labels",
    "data.<name>.test_images", "data.<name>.test_labels", "data.<name>.path", "data.<name>.label",
    "data.<name>.targets", "data.<name>.features", "data.<name>.scale", "data.<name>.standardise",
    "data.<name>.amplitude", "data.<name>.phase", "data.<name>.x", "data.<name>.size",
    "data.<name>.classes", "data.<name>.dim", "data.<name>.separation", "data.<name>.per_class",
    "network.hidden", "network.activation", "network.init",
    "source.data", "source.split", "source.classes", "source.train",
    "source.train.epochs", "source.train.batch", "source.train.optimizer", "source.train.lr",
    "source.train.momentum", "source.train.weight_decay", "source.train.beta1",
    "source.train.beta2", "source.train.epsilon",
    "targets.<name>.data", "targets.<name>.split", "targets.<name>.role", "targets.<name>.classes",
    "targets.<name>.allow_overlap", "targets.<name>.ways", "targets.<name>.shots",
    "targets.<name>.queries", "targets.<name>.episodes", "targets.<name>.thresholds",
    "targets.<name>.forgetting",
    "targets.<name>.permute",
    "targets.<name>.rotate", "targets.<name>.noise",
    "learners.<name>.kind", "learners.<name>.steps", "learners.<name>.optimizer",
    "learners.<name>.lr", "learners.<name>.momentum", "learners.<name>.weight_decay",
    "learners.<name>.beta1", "learners.<name>.beta2", "learners.<name>.epsilon",
    "learners.<name>.record_steps", "learners.<name>.freeze", "learners.<name>.head",
    "learners.<name>.distance", "learners.<name>.k", "learners.<name>.space",
    "learners.<name>.meta", "learners.<name>.meta.iterations", "learners.<name>.meta.batch",
    "learners.<name>.meta.ways", "learners.<name>.meta.shots", "learners.<name>.meta.queries",
    "learners.<name>.meta.inner_steps", "learners.<name>.meta.inner_lr",
    "learners.<name>.meta.inner_optimizer", "learners.<name>.meta.lr",
    "learners.<name>.meta.optimizer",
};
#define N_ALL_KEYS ((int)(sizeof all_keys / sizeof *all_keys))

static char *help_text(bool markdown)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    config_help(f, markdown);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void help_names_every_key(void **state)
{
    char *text = help_text(false), want[256];
    for (int i = 0; i < N_ALL_KEYS; i++) {
        snprintf(want, sizeof want, "\n  %s\n      ", all_keys[i]);
        if (!strstr(text, want))
            fail_msg("help lacks %s", all_keys[i]);
    }
    assert_non_null(strstr(text, "\n  learners.<name>.steps\n      an integer in [0, 1000000]; "
                                 "default the value of meta.inner_steps (scratch: 100; finetune: "
                                 "100); only for scratch, finetune, reptile, maml, fomaml, anil, "
                                 "metasgd\n"
                                 "      full-batch gradient steps on the support set\n"));
    assert_non_null(strstr(text, "\n  learners.<name>.meta.shots\n      an integer in [1, 100000] "
                                 "or each; default each; only for reptile, maml, fomaml, anil, "
                                 "metasgd\n"));
    assert_non_null(strstr(text, "\n  learners.<name>.meta.queries\n      an integer in [1, "
                                 "100000] or target; default target; only for maml, fomaml, anil, "
                                 "metasgd\n"));
    assert_non_null(strstr(text, "\n  name\n      a string; required\n"));
    assert_non_null(strstr(text, "\n  targets.<name>.shots\n      a list of distinct integers "
                                 "in [1, 100000]; default [1, 5]\n"));
    free(text);
}

static void help_table_has_one_row_per_key(void **state)
{
    char *text = help_text(true);
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    assert_string_equal(line, "| key | type | default | applies to | meaning |");
    assert_string_equal(strtok_r(NULL, "\n", &save), "| --- | --- | --- | --- | --- |");
    int rows = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        assert_true(rows < N_ALL_KEYS);
        char start[128];
        snprintf(start, sizeof start, "| `%s` | ", all_keys[rows]);
        if (strncmp(line, start, strlen(start)) != 0)
            fail_msg("row %d is '%s', expected it to start with '%s'", rows, line, start);
        int bars = 0;
        for (const char *c = line; *c; c++)
            bars += *c == '|';
        assert_int_equal(bars, 6);      /* no stray '|' inside a cell */
        if (strcmp(all_keys[rows], "learners.<name>.k") == 0)
            assert_string_equal(line, "| `learners.<name>.k` | an integer in [1, 1000] | `1` | "
                                      "knn | neighbours that vote |");
        if (strcmp(all_keys[rows], "data.<name>.format") == 0)
            assert_string_equal(line, "| `data.<name>.format` | idx, csv, sinusoid or clusters | "
                                      "required | all | idx for MNIST-style files, csv for your "
                                      "own table, sinusoid or clusters for synthetic data |");
        rows++;
    }
    assert_int_equal(rows, N_ALL_KEYS);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_experiment_parses_to_its_values),
        cmocka_unit_test(absent_keys_take_the_schema_defaults),
        cmocka_unit_test(lists_sections_and_explicit_settings),
        cmocka_unit_test(wrong_types),
        cmocka_unit_test(out_of_range_and_non_finite),
        cmocka_unit_test(unknown_keys_are_located_with_suggestions),
        cmocka_unit_test(keys_must_apply_to_the_kind_or_format),
        cmocka_unit_test(enum_values_and_kinds),
        cmocka_unit_test(required_keys),
        cmocka_unit_test(names_and_lists),
        cmocka_unit_test(data_sources_need_their_files),
        cmocka_unit_test(references_between_sections),
        cmocka_unit_test(the_baseline_is_named_or_the_only_scratch_learner),
        cmocka_unit_test(adaptation_steps_and_frozen_layers),
        cmocka_unit_test(optimizer_settings_belong_to_their_optimizer),
        cmocka_unit_test(meta_training_keys_and_their_defaults),
        cmocka_unit_test(regression_targets),
        cmocka_unit_test(ways_against_known_classes),
        cmocka_unit_test(probes_are_parsed_by_kind_and_checked),
        cmocka_unit_test(aliases_and_merge_keys_share_settings),
        cmocka_unit_test(loading_files_with_overrides),
        cmocka_unit_test(sweeps_name_keys_and_keep_value_text),
        cmocka_unit_test(sweeps_are_checked_against_the_schema),
        cmocka_unit_test(help_names_every_key),
        cmocka_unit_test(help_table_has_one_row_per_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
