/* test_yamltree: positions, every refusal's exact message, aliases and merges,
 * overrides, typed reads, suggestions, and writing a tree back. */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/yamltree.h"

/* ---- helpers ---- */

static struct yt_doc load(const char *text)
{
    struct yt_doc doc;
    struct err e = {0};
    int rc = yt_load_string("exp.yaml", text, &doc, &e);
    if (rc)
        print_error("unexpected error: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_non_null(doc.root);
    return doc;
}

/* Loading text fails with code and exactly msg, leaving doc empty. */
static void refused(const char *text, int code, const char *msg)
{
    struct yt_doc doc;
    struct err e = {0};
    assert_int_equal(yt_load_string("exp.yaml", text, &doc, &e), code);
    assert_int_equal(e.code, code);
    assert_string_equal(e.msg, msg);
    assert_null(doc.root);
    assert_null(doc.file);
    yt_free(&doc);
}

/* The node at a dotted path of map keys and list indices ("a.b.0.c"). */
static struct yt_node *at(const struct yt_doc *doc, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    struct yt_node *n = doc->root;
    for (char *save = NULL, *p = strtok_r(buf, ".", &save); p; p = strtok_r(NULL, ".", &save)) {
        assert_non_null(n);
        if (n->kind == YT_SEQ) {
            int i = atoi(p);
            assert_true(i >= 0 && i < n->n_items);
            n = n->items[i];
        } else {
            n = yt_get(n, p);
        }
    }
    assert_non_null(n);
    return n;
}

static void assert_pos(const struct yt_node *n, int line, int col)
{
    if (n->line != line || n->col != col)
        print_error("node at %d:%d, expected %d:%d\n", n->line, n->col, line, col);
    assert_int_equal(n->line, line);
    assert_int_equal(n->col, col);
}

static void assert_scalar(const struct yt_node *n, const char *value, int quoted)
{
    assert_int_equal(n->kind, YT_SCALAR);
    assert_string_equal(n->value, value);
    assert_int_equal(n->quoted, quoted);
}

/* Same kinds, texts, quoting and keys (positions aside). */
static void assert_same_tree(const struct yt_node *a, const struct yt_node *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->n_items, b->n_items);
    if (a->kind == YT_SCALAR) {
        assert_string_equal(a->value, b->value);
        assert_int_equal(a->quoted, b->quoted);
    }
    for (int i = 0; i < a->n_items; i++) {
        if (a->kind == YT_MAP) {
            assert_string_equal(a->keys[i], b->keys[i]);
            assert_ptr_equal(a->keys[i], a->key_nodes[i]->value);
        }
        assert_same_tree(a->items[i], b->items[i]);
    }
}

static char *emit_text(const struct yt_node *root)
{
    char *text = NULL;
    size_t len = 0;
    struct err e = {0};
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(yt_emit(root, f, &e), 0);
    assert_int_equal(fclose(f), 0);
    return text;
}

static int override(struct yt_doc *doc, const char *arg, int argno, struct err *e)
{
    err_clear(e);
    return yt_override(doc, arg, argno, e);
}

/* ---- positions and scalars ---- */

static const char experiment[] =
    "name: demo\n"                      /* 1 */
    "data:\n"                           /* 2 */
    "  fashion:\n"                      /* 3 */
    "    format: idx\n"                 /* 4 */
    "seeds: [0, 1, 22]\n"               /* 5 */
    "targets:\n"                        /* 6 */
    "  heldout:\n"                      /* 7 */
    "    shots:\n"                      /* 8 */
    "      - 1\n"                       /* 9 */
    "      -   5   # spaced\n"          /* 10 */
    "    ways: {n: 5, label: \"five\"}\n"; /* 11 */

static void nested_keys_and_items_have_exact_positions(void **state)
{
    struct yt_doc doc = load(experiment);
    assert_string_equal(doc.file, "exp.yaml");
    assert_int_equal(doc.root->kind, YT_MAP);
    assert_pos(doc.root, 1, 1);
    assert_int_equal(doc.root->n_items, 4);
    assert_string_equal(doc.root->keys[3], "targets");
    assert_pos(doc.root->key_nodes[3], 6, 1);
    assert_pos(at(&doc, "name"), 1, 7);
    assert_pos(at(&doc, "data.fashion"), 4, 5);     /* a block map starts at its first key */
    assert_pos(at(&doc, "data")->key_nodes[0], 3, 3);
    assert_pos(at(&doc, "data.fashion.format"), 4, 13);
    assert_pos(at(&doc, "seeds"), 5, 8);
    assert_pos(at(&doc, "seeds.0"), 5, 9);
    assert_pos(at(&doc, "seeds.2"), 5, 15);
    assert_pos(at(&doc, "targets.heldout.shots"), 9, 7);
    assert_pos(at(&doc, "targets.heldout.shots.0"), 9, 9);
    assert_pos(at(&doc, "targets.heldout.shots.1"), 10, 11);
    assert_pos(at(&doc, "targets.heldout.ways"), 11, 11);
    assert_pos(at(&doc, "targets.heldout.ways")->key_nodes[1], 11, 18);
    assert_pos(at(&doc, "targets.heldout.ways.label"), 11, 25);
    assert_scalar(at(&doc, "targets.heldout.shots.1"), "5", 0);
    assert_scalar(at(&doc, "targets.heldout.ways.label"), "five", 1);
    assert_ptr_equal(at(&doc, "seeds.1")->file, doc.file);
    assert_null(yt_get(doc.root, "missing"));
    assert_null(yt_get(at(&doc, "seeds"), "0"));     /* not a map */
    yt_free(&doc);
    yt_free(&doc);                                   /* a freed doc is empty */
    yt_free(NULL);
}

static void quoting_and_null_are_kept(void **state)
{
    struct yt_doc doc = load("a: \"5\"\nb: '5'\nc: 5\nd: |\n  x\ne:\nf: ~\ng: ''\nh: null\n");
    assert_scalar(at(&doc, "a"), "5", 1);
    assert_scalar(at(&doc, "b"), "5", 1);
    assert_scalar(at(&doc, "c"), "5", 0);
    assert_scalar(at(&doc, "d"), "x\n", 1);
    assert_scalar(at(&doc, "e"), "", 0);
    assert_true(yt_is_null(at(&doc, "e")));
    assert_true(yt_is_null(at(&doc, "f")));
    assert_false(yt_is_null(at(&doc, "g")));         /* '' is an empty string */
    assert_true(yt_is_null(at(&doc, "h")));
    assert_false(yt_is_null(at(&doc, "c")));
    yt_free(&doc);
}

/* ---- refusals ---- */

static void syntax_errors_are_located(void **state)
{
    refused("a: 1\n  b: 2\n", ERR_USAGE,
            "exp.yaml:2:4: mapping values are not allowed in this context");
    refused("a: [1, 2\nb: 3\n", ERR_USAGE,
            "exp.yaml:2:2: did not find expected ',' or ']' "
            "(while parsing a flow sequence at line 1, col 4)");
    refused("a: \"abc\n", ERR_USAGE,
            "exp.yaml:2:1: found unexpected end of stream "
            "(while scanning a quoted scalar at line 1, col 4)");
    refused("a: 1\nb: \xff\n", ERR_USAGE, "exp.yaml:2:4: invalid leading UTF-8 octet (0xFF)");
    refused("a: 1\nb: \"x\"\x01\n", ERR_USAGE,
            "exp.yaml:2:7: control characters are not allowed (0x1)");
}

static void duplicate_keys_are_refused(void **state)
{
    refused("seeds: [0]\nname: x\nseeds: [1]\n", ERR_USAGE,
            "exp.yaml:3:1: duplicate key 'seeds' (first at line 1)");
    refused("a: 1\nb:\n  c: 2\n  d: 3\n  c: 4\n  d: 5\n", ERR_USAGE,
            "exp.yaml:5:3: duplicate key 'c' (first at line 3)");
    refused("{a: 1, b: 2, a: 3}\n", ERR_USAGE,
            "exp.yaml:1:14: duplicate key 'a' (first at line 1, col 2)");
    /* Quoting does not make a different key. */
    refused("a: 1\n'a': 2\n", ERR_USAGE, "exp.yaml:2:1: duplicate key 'a' (first at line 1)");
    /* The same key in different maps is fine. */
    struct yt_doc doc = load("x: {a: 1}\ny: {a: 2}\n");
    yt_free(&doc);
}

static void other_structures_are_refused(void **state)
{
    refused("? [a, b]\n: 1\n", ERR_USAGE, "exp.yaml:1:3: a key must be a single value, not a list");
    refused("? {a: 1}\n: 1\n", ERR_USAGE, "exp.yaml:1:3: a key must be a single value, not a map");
    refused("a: 1\n---\nb: 2\n", ERR_USAGE,
            "exp.yaml:2:1: a second YAML document starts here (an experiment file holds one document)");
    refused("a: !!str 5\n", ERR_USAGE,
            "exp.yaml:1:4: tags are not supported (found !!str); quote a value to make it a string");
    refused("a:\n  - !custom x\n", ERR_USAGE,
            "exp.yaml:2:5: tags are not supported (found !custom); quote a value to make it a string");
    const char *empty = "exp.yaml: the experiment file is empty "
                        "(expected settings such as 'name: my-experiment')";
    refused("", ERR_USAGE, empty);
    refused("# nothing but a comment\n\n", ERR_USAGE, empty);
    refused("---\n", ERR_USAGE, empty);
}

static void nesting_is_bounded(void **state)
{
    char deep[2 * YT_MAX_DEPTH + 64];
    int n = 0;
    for (int i = 0; i < YT_MAX_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i < YT_MAX_DEPTH; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    struct yt_doc doc = load(deep);                  /* exactly the limit */
    yt_free(&doc);
    memmove(deep + 1, deep, (size_t)n + 1);
    deep[0] = '[';
    strcat(deep, "]");
    refused(deep, ERR_USAGE, "exp.yaml:1:101: nesting deeper than 100 levels");
}

static void files_missing_unreadable_and_read(void **state)
{
    char *dir = testutil_tmpdir(), path[4200], msg[4400];
    struct yt_doc doc;
    struct err e = {0};

    snprintf(path, sizeof path, "%s/none.yaml", dir);
    assert_int_equal(yt_load_file(path, &doc, &e), ERR_USAGE);
    snprintf(msg, sizeof msg, "%s: no such file", path);
    assert_string_equal(e.msg, msg);

    assert_int_equal(yt_load_file(dir, &doc, &e), ERR_USAGE);
    snprintf(msg, sizeof msg, "%s: is a directory (expected an experiment file)", dir);
    assert_string_equal(e.msg, msg);
    assert_null(doc.root);

    snprintf(path, sizeof path, "%s/x.yaml", dir);
    testutil_write(path, "name: x\nseeds: [3]\n", 19);
    assert_int_equal(yt_load_file(path, &doc, &e), 0);
    assert_string_equal(doc.file, path);
    assert_ptr_equal(at(&doc, "seeds.0")->file, doc.file);
    assert_pos(at(&doc, "seeds.0"), 2, 9);
    yt_free(&doc);

    testutil_write(path, "a: 1\nb: x\0y\n", 12);    /* a NUL byte is not the end */
    assert_int_equal(yt_load_file(path, &doc, &e), ERR_USAGE);
    snprintf(msg, sizeof msg, "%s:2:5: control characters are not allowed (0x0)", path);
    assert_string_equal(e.msg, msg);

    testutil_write(path, "", 0);
    assert_int_equal(yt_load_file(path, &doc, &e), ERR_USAGE);
    snprintf(msg, sizeof msg, "%s: the experiment file is empty "
             "(expected settings such as 'name: my-experiment')", path);
    assert_string_equal(e.msg, msg);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- aliases and merges ---- */

static void aliases_expand_to_independent_copies(void **state)
{
    struct yt_doc doc = load("base: &b {steps: 20, lr: [1, 2]}\n"
                             "learners:\n  x: *b\n  y: *b\n"
                             "name: &n demo\nalso: *n\n");
    assert_scalar(at(&doc, "learners.x.steps"), "20", 0);
    assert_scalar(at(&doc, "learners.y.lr.1"), "2", 0);
    assert_scalar(at(&doc, "also"), "demo", 0);
    assert_pos(at(&doc, "learners.y.steps"), 1, 18);  /* a copy keeps where its text is */
    assert_true(at(&doc, "learners.x") != at(&doc, "learners.y"));
    struct err e = {0};
    assert_int_equal(override(&doc, "learners.x.steps=5", 1, &e), 0);
    assert_scalar(at(&doc, "learners.x.steps"), "5", 0);
    assert_scalar(at(&doc, "learners.y.steps"), "20", 0);
    assert_scalar(at(&doc, "base.steps"), "20", 0);
    yt_free(&doc);

    /* The latest definition of a name wins. */
    doc = load("a: &x 1\nb: &x 2\nc: *x\n");
    assert_scalar(at(&doc, "c"), "2", 0);
    yt_free(&doc);

    refused("a: *x\n", ERR_USAGE, "exp.yaml:1:4: unknown alias *x (no anchor &x before it)");
    refused("a: &x [1, *x]\n", ERR_USAGE, "exp.yaml:1:11: alias *x is inside the node it refers to");
}

static void billion_laughs_is_refused_quickly(void **state)
{
    /* Each level multiplies by ten; copies reach 100000 nodes at the 8th *d
     * on line 5 (110 + 1110 + 11110 copied before it, 11111 per *d). */
    const char *laughs =
        "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
        "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
        "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    clock_t t0 = clock();
    refused(laughs, ERR_USAGE, "exp.yaml:5:36: alias *d expands the document past 100000 nodes "
                               "(a \"billion laughs\" document?)");
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
    /* Four levels (12330 copies) are fine. */
    struct yt_doc doc = load("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                             "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                             "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                             "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n");
    assert_scalar(at(&doc, "d.9.9.9.9"), "lol", 0);
    yt_free(&doc);
}

static void merge_keys_follow_yaml_1_1(void **state)
{
    struct yt_doc doc = load("base: &base {steps: 20, lr: 0.001, optimizer: adam}\n"
                             "more: &more {lr: 0.5, momentum: 0.9}\n"
                             "learners:\n"
                             "  a: {<<: *base, lr: 0.01}\n"
                             "  b:\n"
                             "    lr: 0.02\n"
                             "    <<: [*more, *base]\n"
                             "  c: {<<: [*more, *base]}\n"
                             "  d: {'<<': 1}\n");
    const struct yt_node *a = at(&doc, "learners.a"), *b = at(&doc, "learners.b");
    assert_int_equal(a->n_items, 3);                 /* explicit first, then merged */
    assert_string_equal(a->keys[0], "lr");
    assert_string_equal(a->keys[1], "steps");
    assert_string_equal(a->keys[2], "optimizer");
    assert_scalar(at(&doc, "learners.a.lr"), "0.01", 0);   /* explicit wins, after << too */
    assert_scalar(at(&doc, "learners.a.steps"), "20", 0);
    assert_int_equal(b->n_items, 4);
    assert_scalar(at(&doc, "learners.b.lr"), "0.02", 0);   /* explicit wins, before << too */
    assert_scalar(at(&doc, "learners.b.momentum"), "0.9", 0);
    assert_scalar(at(&doc, "learners.b.optimizer"), "adam", 0);
    assert_scalar(at(&doc, "learners.c.lr"), "0.5", 0);    /* the earlier map wins */
    assert_null(yt_get(a, "<<"));
    assert_scalar(at(&doc, "learners.d.<<"), "1", 0);      /* a quoted << is a key */
    assert_int_equal(at(&doc, "base")->n_items, 3);
    yt_free(&doc);

    /* An anchor defined inside a merge value stays usable. */
    doc = load("a: {<<: &m {x: 1}, y: 2}\nb: *m\n");
    assert_scalar(at(&doc, "a.x"), "1", 0);
    assert_int_equal(at(&doc, "b")->n_items, 1);
    yt_free(&doc);

    refused("a: {<<: 5}\n", ERR_USAGE,
            "exp.yaml:1:9: merge key (<<) needs a map or a list of maps, not a single value");
    refused("x: &x {a: 1}\na: {<<: [*x, [1]]}\n", ERR_USAGE,
            "exp.yaml:2:14: merge key (<<) needs a list of maps, not a list holding a list");
    refused("x: &x {a: 1}\na:\n  <<: *x\n  <<: *x\n", ERR_USAGE,
            "exp.yaml:4:3: duplicate key '<<' (first at line 3)");
}

/* ---- typed reads ---- */

static const char values[] =
    "ten: ten\nzero: 0\nquoted: \"5\"\nhex: 0x10\noctal: 010\nhuge: 99999999999999999999\n"
    "real: 1.0\nlist: [1]\nmap: {a: 1}\nnothing:\nneg: -7\nplus: +3\ntwo: 2\n"
    "nan: .nan\nninf: -.inf\nover: 1e999\nmilli: 1e-3\nhalf: .5\nsci: -2.5E+2\ndot: 7.\n"
    "hexf: 0x1p3\ncomma: 1,5\nbare_e: 1e\nlone_dot: .\nyes: yes\nTrue: True\nf: false\n"
    "tilde: ~\nlong: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";

static void expect_int_error(const struct yt_doc *doc, const char *key, long min, long max,
                             const char *msg)
{
    long v = 12345;
    struct err e = {0};
    assert_int_equal(yt_int(at(doc, key), "learners.finetune.steps", min, max, &v, &e), ERR_USAGE);
    assert_string_equal(e.msg, msg);
    assert_int_equal(v, 12345);
}

static void integers_are_decimal_and_bounded(void **state)
{
    struct yt_doc doc = load(values);
    long v = 0;
    struct err e = {0};
    assert_int_equal(yt_int(at(&doc, "neg"), "x", LONG_MIN, LONG_MAX, &v, &e), 0);
    assert_int_equal(v, -7);
    assert_int_equal(yt_int(at(&doc, "plus"), "x", 1, 3, &v, &e), 0);
    assert_int_equal(v, 3);
    assert_int_equal(yt_int(at(&doc, "zero"), "x", 0, 0, &v, &e), 0);
    assert_int_equal(v, 0);
    expect_int_error(&doc, "ten", 1, LONG_MAX,
                     "exp.yaml:1:6: learners.finetune.steps: expected an integer ≥ 1, got \"ten\"");
    expect_int_error(&doc, "zero", 1, LONG_MAX,
                     "exp.yaml:2:7: learners.finetune.steps: expected an integer ≥ 1, got \"0\"");
    expect_int_error(&doc, "quoted", 1, LONG_MAX, "exp.yaml:3:9: learners.finetune.steps: "
                     "expected an integer ≥ 1, got \"5\" (a quoted string)");
    expect_int_error(&doc, "hex", LONG_MIN, LONG_MAX,
                     "exp.yaml:4:6: learners.finetune.steps: expected an integer, got \"0x10\"");
    expect_int_error(&doc, "octal", LONG_MIN, 100,
                     "exp.yaml:5:8: learners.finetune.steps: expected an integer ≤ 100, got \"010\"");
    expect_int_error(&doc, "huge", LONG_MIN, LONG_MAX, "exp.yaml:6:7: learners.finetune.steps: "
                     "expected an integer, got \"99999999999999999999\"");
    expect_int_error(&doc, "real", 1, 10, "exp.yaml:7:7: learners.finetune.steps: "
                     "expected an integer in [1, 10], got \"1.0\"");
    expect_int_error(&doc, "list", 1, 10, "exp.yaml:8:7: learners.finetune.steps: "
                     "expected an integer in [1, 10], got a list");
    expect_int_error(&doc, "map", 1, 10, "exp.yaml:9:6: learners.finetune.steps: "
                     "expected an integer in [1, 10], got a map");
    expect_int_error(&doc, "neg", -6, 10, "exp.yaml:11:6: learners.finetune.steps: "
                     "expected an integer in [-6, 10], got \"-7\"");
    expect_int_error(&doc, "tilde", 1, 10, "exp.yaml:28:8: learners.finetune.steps: "
                     "expected an integer in [1, 10], got null (\"~\")");
    expect_int_error(&doc, "long", 1, 10, "exp.yaml:29:7: learners.finetune.steps: "
                     "expected an integer in [1, 10], got "
                     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"...");
    /* An empty value sits just after its key's colon. */
    expect_int_error(&doc, "nothing", 1, 2, "exp.yaml:10:9: learners.finetune.steps: "
                     "expected an integer in [1, 2], got nothing");
    yt_free(&doc);
}

static void expect_double_error(const struct yt_doc *doc, const char *key, double min,
                                double max, const char *msg)
{
    double v = 12345;
    struct err e = {0};
    assert_int_equal(yt_double(at(doc, key), "probes.fgsm.eps", min, max, &v, &e), ERR_USAGE);
    assert_string_equal(e.msg, msg);
    assert_true(v == 12345);
}

static void numbers_are_finite_and_bounded(void **state)
{
    struct yt_doc doc = load(values);
    struct err e = {0};
    const struct { const char *key; double want; } ok[] = {
        {"zero", 0}, {"neg", -7}, {"plus", 3}, {"real", 1}, {"milli", 0.001},
        {"half", 0.5}, {"sci", -250}, {"dot", 7},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        double v = NAN;
        assert_int_equal(yt_double(at(&doc, ok[i].key), "x", -HUGE_VAL, HUGE_VAL, &v, &e), 0);
        assert_true(v == ok[i].want);
    }
    expect_double_error(&doc, "two", 0, 1,
                        "exp.yaml:13:6: probes.fgsm.eps: expected a number in [0, 1], got \"2\"");
    expect_double_error(&doc, "neg", 0, HUGE_VAL,
                        "exp.yaml:11:6: probes.fgsm.eps: expected a number ≥ 0, got \"-7\"");
    expect_double_error(&doc, "two", -HUGE_VAL, 0.001,
                        "exp.yaml:13:6: probes.fgsm.eps: expected a number ≤ 0.001, got \"2\"");
    expect_double_error(&doc, "nan", 0, 1, "exp.yaml:14:6: probes.fgsm.eps: "
                        "must be finite, got \".nan\" (expected a number in [0, 1])");
    expect_double_error(&doc, "ninf", -HUGE_VAL, HUGE_VAL, "exp.yaml:15:7: probes.fgsm.eps: "
                        "must be finite, got \"-.inf\" (expected a number)");
    expect_double_error(&doc, "over", -HUGE_VAL, HUGE_VAL, "exp.yaml:16:7: probes.fgsm.eps: "
                        "must be finite, got \"1e999\" (expected a number)");
    expect_double_error(&doc, "quoted", 0, 10, "exp.yaml:3:9: probes.fgsm.eps: "
                        "expected a number in [0, 10], got \"5\" (a quoted string)");
    const char *bad[] = {"hexf", "comma", "bare_e", "lone_dot", "ten", "hex"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double v;
        assert_int_equal(yt_double(at(&doc, bad[i]), "x", -HUGE_VAL, HUGE_VAL, &v, &e), ERR_USAGE);
        assert_non_null(strstr(e.msg, ": x: expected a number, got \""));
    }
    yt_free(&doc);
}

static void booleans_and_strings(void **state)
{
    struct yt_doc doc = load(values);
    struct err e = {0};
    bool b = false;
    const char *s = NULL;
    assert_int_equal(yt_bool(at(&doc, "True"), "x", &b, &e), 0);
    assert_true(b);
    assert_int_equal(yt_bool(at(&doc, "f"), "x", &b, &e), 0);
    assert_false(b);
    assert_int_equal(yt_bool(at(&doc, "yes"), "targets.t.permute", &b, &e), ERR_USAGE);
    assert_string_equal(e.msg, "exp.yaml:25:6: targets.t.permute: expected true or false, got \"yes\"");
    assert_int_equal(yt_string(at(&doc, "hex"), "name", &s, &e), 0);
    assert_string_equal(s, "0x10");
    assert_int_equal(yt_string(at(&doc, "quoted"), "name", &s, &e), 0);
    assert_string_equal(s, "5");
    assert_int_equal(yt_string(at(&doc, "list"), "name", &s, &e), ERR_USAGE);
    assert_string_equal(e.msg, "exp.yaml:8:7: name: expected a string, got a list");
    assert_int_equal(yt_string(at(&doc, "tilde"), "name", &s, &e), ERR_USAGE);
    assert_string_equal(e.msg, "exp.yaml:28:8: name: expected a string, got null (\"~\")");
    yt_free(&doc);
}

static void errors_carry_location_and_path(void **state)
{
    struct yt_doc doc = load("learners:\n  ft: {kind: finetun}\n");
    struct err e = {0};
    const struct yt_node *kind = at(&doc, "learners.ft.kind");
    assert_int_equal(yt_error(&e, ERR_USAGE, kind, "learners.ft.kind", "unknown learner %s", "x"),
                     ERR_USAGE);
    assert_string_equal(e.msg, "exp.yaml:2:14: learners.ft.kind: unknown learner x");
    yt_error(&e, ERR_USAGE, kind, NULL, "plain");
    assert_string_equal(e.msg, "exp.yaml:2:14: plain");
    yt_error(&e, ERR_USAGE, NULL, "a.b", "no location");
    assert_string_equal(e.msg, "a.b: no location");
    assert_int_equal(yt_error(NULL, ERR_IO, NULL, NULL, "x"), ERR_IO);
    yt_free(&doc);
}

static void suggestions_are_near_misses_only(void **state)
{
    const char *const keys[] = {"queries", "episodes", "shots"};
    assert_string_equal(yt_suggest("querys", keys, 3), "queries");
    assert_string_equal(yt_suggest("epsiodes", keys, 3), "episodes");   /* a transposition is 1 */
    assert_string_equal(yt_suggest("shot", keys, 3), "shots");
    assert_string_equal(yt_suggest("shots", keys, 3), "shots");
    assert_null(yt_suggest("learner", keys, 3));
    assert_null(yt_suggest("xyz", keys, 3));
    assert_null(yt_suggest("querys", keys, 0));
    /* max(2, len/3): "regularisation" (14 letters) allows 4 edits, "lr" only 2. */
    const char *const long_keys[] = {"regularization_weight"};
    assert_null(yt_suggest("regularisation", long_keys, 1));
    const char *const decay[] = {"weight_decay"};
    assert_string_equal(yt_suggest("wieght_dcya", decay, 1), "weight_decay"); /* 3 ≤ 11/3 */
    assert_null(yt_suggest("wieht_dcya", decay, 1));                         /* 4 > 10/3 */
    const char *const lr[] = {"lr", "momentum"};
    assert_string_equal(yt_suggest("l", lr, 2), "lr");
    const char *const ties[] = {"ab", "ba"};
    assert_string_equal(yt_suggest("aa", ties, 2), "ab");                /* ties: the earlier */
}

/* ---- overrides ---- */

static const char base_cfg[] =
    "name: demo\n"
    "seeds: [0, 1, 2]\n"
    "targets:\n"
    "  heldout:\n"
    "    episodes: 600\n"
    "    shots: [1, 5]\n"
    "  empty:\n"
    "sweep:\n"
    "  learners.finetune.lr: [0.001, 0.01]\n";

static void overrides_replace_values_of_any_kind(void **state)
{
    struct yt_doc doc = load(base_cfg);
    struct err e = {0};
    assert_int_equal(override(&doc, "targets.heldout.episodes=100", 1, &e), 0);
    assert_scalar(at(&doc, "targets.heldout.episodes"), "100", 0);
    assert_string_equal(at(&doc, "targets.heldout.episodes")->file, YT_CMDLINE);
    assert_pos(at(&doc, "targets.heldout.episodes"), 1, 26);
    assert_pos(at(&doc, "targets.heldout")->key_nodes[0], 5, 5);  /* the key stays the file's */

    assert_int_equal(override(&doc, "seeds=[7, 8]", 2, &e), 0);
    assert_int_equal(at(&doc, "seeds")->n_items, 2);
    assert_scalar(at(&doc, "seeds.1"), "8", 0);
    assert_pos(at(&doc, "seeds"), 2, 7);
    assert_pos(at(&doc, "seeds.1"), 2, 11);

    assert_int_equal(override(&doc, "seeds=3", 3, &e), 0);            /* list → scalar */
    assert_scalar(at(&doc, "seeds"), "3", 0);
    assert_int_equal(override(&doc, "targets.heldout={ways: 5}", 4, &e), 0);  /* map → map */
    assert_int_equal(at(&doc, "targets.heldout")->n_items, 1);
    assert_scalar(at(&doc, "targets.heldout.ways"), "5", 0);
    assert_pos(at(&doc, "targets.heldout.ways"), 4, 24);
    assert_int_equal(override(&doc, "name=\"my run\"", 5, &e), 0);
    assert_scalar(at(&doc, "name"), "my run", 1);
    assert_int_equal(override(&doc, "name=", 6, &e), 0);               /* empty: null */
    assert_true(yt_is_null(at(&doc, "name")));
    assert_pos(at(&doc, "name"), 6, 6);
    /* Keys with dots are reached by the longest existing match. */
    assert_int_equal(override(&doc, "sweep.learners.finetune.lr=[0.1]", 7, &e), 0);
    assert_int_equal(at(&doc, "sweep")->n_items, 1);
    assert_scalar(yt_get(at(&doc, "sweep"), "learners.finetune.lr")->items[0], "0.1", 0);
    yt_free(&doc);
}

static void find_reads_a_path_as_overrides_do(void **state)
{
    struct yt_doc doc = load("a:\n  b: {c: 1}\n  b.c: 2\nsweep:\n  learners.ft.lr: [1, 2]\n"
                             "x: 3\n");
    assert_ptr_equal(yt_find(doc.root, ""), doc.root);
    assert_string_equal(yt_find(doc.root, "x")->value, "3");
    /* the longest run of parts that is a key wins, as in an override */
    assert_string_equal(yt_find(doc.root, "a.b.c")->value, "2");
    assert_int_equal(yt_find(doc.root, "a.b")->kind, YT_MAP);
    assert_int_equal(yt_find(doc.root, "sweep.learners.ft.lr")->n_items, 2);
    assert_null(yt_find(doc.root, "a.missing"));
    assert_null(yt_find(doc.root, "x.y"));      /* below a scalar */
    assert_null(yt_find(doc.root, "a..b"));     /* an empty part */
    assert_null(yt_find(doc.root, "a."));
    assert_null(yt_find(NULL, "a"));
    yt_free(&doc);
}

static void overrides_create_missing_maps(void **state)
{
    struct yt_doc doc = load(base_cfg);
    struct err e = {0};
    assert_int_equal(override(&doc, "learners.ft.opt.lr=0.01", 3, &e), 0);
    const struct yt_node *learners = at(&doc, "learners");
    assert_int_equal(learners->kind, YT_MAP);
    assert_string_equal(learners->file, YT_CMDLINE);
    assert_pos(learners, 3, 1);
    assert_pos(doc.root->key_nodes[doc.root->n_items - 1], 3, 1);
    assert_pos(at(&doc, "learners.ft"), 3, 10);
    assert_pos(at(&doc, "learners.ft")->key_nodes[0], 3, 13);
    assert_pos(at(&doc, "learners.ft.opt.lr"), 3, 20);
    assert_scalar(at(&doc, "learners.ft.opt.lr"), "0.01", 0);
    /* A null on the path becomes a map. */
    assert_int_equal(override(&doc, "targets.empty.ways=5", 4, &e), 0);
    assert_scalar(at(&doc, "targets.empty.ways"), "5", 0);
    assert_pos(at(&doc, "targets.empty"), 4, 9);
    /* A new key beside existing ones. */
    assert_int_equal(override(&doc, "targets.heldout.queries=15", 5, &e), 0);
    assert_int_equal(at(&doc, "targets.heldout")->n_items, 3);
    assert_scalar(at(&doc, "targets.heldout.episodes"), "600", 0);

    /* Config errors on an override's value point into the command line. */
    assert_int_equal(override(&doc, "targets.heldout.episodes=abc", 2, &e), 0);
    long v;
    assert_int_equal(yt_int(at(&doc, "targets.heldout.episodes"), "targets.heldout.episodes",
                            1, LONG_MAX, &v, &e), ERR_USAGE);
    assert_string_equal(e.msg, "<command line>:2:26: targets.heldout.episodes: "
                               "expected an integer ≥ 1, got \"abc\"");
    yt_free(&doc);
}

static void bad_overrides_are_refused_and_change_nothing(void **state)
{
    struct yt_doc doc = load(base_cfg);
    char *before = emit_text(doc.root);
    struct err e = {0};
    const struct { const char *arg; int code; const char *msg; } cases[] = {
        {"targets.heldout.shots.x=1", ERR_USAGE,
         "override 2 (targets.heldout.shots.x=1): targets.heldout.shots is a list, not a map"},
        {"name.first=1", ERR_USAGE, "override 2 (name.first=1): name is a single value, not a map"},
        {"learners.a.b", ERR_USAGE,
         "override 2 (learners.a.b): expected KEY.PATH=VALUE, e.g. targets.heldout.episodes=100"},
        {"=5", ERR_USAGE, "override 2 (=5): expected KEY.PATH=VALUE, e.g. targets.heldout.episodes=100"},
        {"a..b=1", ERR_USAGE, "override 2 (a..b=1): empty key in 'a..b' "
                              "(expected KEY.PATH=VALUE, e.g. targets.heldout.episodes=100)"},
        {"a.=1", ERR_USAGE, "override 2 (a.=1): empty key in 'a.' "
                            "(expected KEY.PATH=VALUE, e.g. targets.heldout.episodes=100)"},
        {"seeds=[0, 1", ERR_USAGE, "override 2 (seeds=[0, 1): <command line>:2:12: did not find "
                                   "expected ',' or ']' (while parsing a flow sequence at line 2, col 7)"},
        {"seeds=!!int 5", ERR_USAGE, "override 2 (seeds=!!int 5): <command line>:2:7: tags are not "
                                     "supported (found !!int); quote a value to make it a string"},
        {"seeds=a\n---\nb", ERR_USAGE, "override 2 (seeds=a\n---\nb): <command line>:2:9: a second "
                                       "YAML document starts here (an experiment file holds one document)"},
        {"newmap.x=*nope", ERR_USAGE, "override 2 (newmap.x=*nope): <command line>:2:10: "
                                      "unknown alias *nope (no anchor &nope before it)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(override(&doc, cases[i].arg, 2, &e), cases[i].code);
        assert_string_equal(e.msg, cases[i].msg);
    }
    char *after = emit_text(doc.root);
    assert_string_equal(before, after);
    free(before);
    free(after);
    yt_free(&doc);

    doc = load("- 1\n");
    assert_int_equal(override(&doc, "a=1", 1, &e), ERR_USAGE);
    assert_string_equal(e.msg, "override 1 (a=1): the top level is a list, not a map");
    yt_free(&doc);
}

/* ---- writing ---- */

static void emit_writes_block_yaml(void **state)
{
    struct yt_doc doc = load("name: demo\nseeds: [0, 1]\nnet: {hidden: [256, 128], act: relu}\n"
                             "targets:\n  t: {shots: [1], label: \"5\", empty: , list: [{a: 1}, b]}\n");
    char *text = emit_text(doc.root);
    assert_string_equal(text,
                        "name: demo\n"
                        "seeds: [0, 1]\n"
                        "net:\n"
                        "  hidden: [256, 128]\n"
                        "  act: relu\n"
                        "targets:\n"
                        "  t:\n"
                        "    shots: [1]\n"
                        "    label: '5'\n"
                        "    empty:\n"
                        "    list:\n"
                        "    - a: 1\n"
                        "    - b\n");
    free(text);
    yt_free(&doc);
}

static void emit_round_trips(void **state)
{
    const char *tricky =
        "quoted_number: \"5\"\nquoted_bool: 'true'\nempty_string: ''\nnull_value:\ntilde: ~\n"
        "colon: \"a: b\"\ndash: \"- x\"\nhash: \"#x\"\nmultiline: \"a\\nb\\n\"\nunicode: é ≥ 1\n"
        "'key with spaces': 1\n'<<': not a merge\nempty_list: []\nempty_map: {}\n"
        "mixed: [1, 'two', [3], {four: 4}, '', ~]\nlong: \"" 
        "a very long string that goes on and on well past any line width the emitter might "
        "prefer to fold at, so that folding would be a risk\"\n"
        "nested: {a: {b: {c: [x, y]}}}\nspecial: ['a,b', '[x]', 'x y', '*alias', '&anchor', '!tag']\n"
        "leading_space: ' x'\nnumbers: [0.001, -1e-3, .inf]\n";
    struct yt_doc doc = load(tricky), again;
    struct err e = {0};
    char *text = emit_text(doc.root);
    int rc = yt_load_string("emitted", text, &again, &e);
    if (rc)
        print_error("%s\n---\n%s\n", e.msg, text);
    assert_int_equal(rc, 0);
    assert_same_tree(doc.root, again.root);
    assert_scalar(at(&again, "<<"), "not a merge", 0);
    free(text);
    yt_free(&again);

    /* Trees changed by overrides round-trip as well, including a created "<<" key. */
    assert_int_equal(override(&doc, "new.path.<<={x: 1}", 1, &e), 0);
    text = emit_text(doc.root);
    assert_int_equal(yt_load_string("emitted", text, &again, &e), 0);
    assert_same_tree(doc.root, again.root);
    free(text);
    yt_free(&again);
    yt_free(&doc);
}

static void flow_text_is_one_line(void **state)
{
    struct yt_doc doc = load("a: [0.001, 0.01]\nb: adam\nc: {x: [1, '2'], y: ''}\nd:\ne: [[256, 128], [64]]\n");
    struct err e = {0};
    const struct { const char *key, *want; } cases[] = {
        {"a", "[0.001, 0.01]"}, {"b", "adam"}, {"c", "{x: [1, '2'], y: ''}"}, {"d", "~"},
        {"e", "[[256, 128], [64]]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *text = NULL;
        assert_int_equal(yt_flow_text(at(&doc, cases[i].key), &text, &e), 0);
        assert_string_equal(text, cases[i].want);
        /* And it is a valid override value giving the same node back. */
        char arg[128];
        snprintf(arg, sizeof arg, "copy.%s=%s", cases[i].key, text);
        assert_int_equal(override(&doc, arg, 1, &e), 0);
        snprintf(arg, sizeof arg, "copy.%s", cases[i].key);
        if (yt_is_null(at(&doc, cases[i].key)))
            assert_true(yt_is_null(at(&doc, arg)));
        else
            assert_same_tree(at(&doc, arg), at(&doc, cases[i].key));
        free(text);
    }
    yt_free(&doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nested_keys_and_items_have_exact_positions),
        cmocka_unit_test(quoting_and_null_are_kept),
        cmocka_unit_test(syntax_errors_are_located),
        cmocka_unit_test(duplicate_keys_are_refused),
        cmocka_unit_test(other_structures_are_refused),
        cmocka_unit_test(nesting_is_bounded),
        cmocka_unit_test(files_missing_unreadable_and_read),
        cmocka_unit_test(aliases_expand_to_independent_copies),
        cmocka_unit_test(billion_laughs_is_refused_quickly),
        cmocka_unit_test(merge_keys_follow_yaml_1_1),
        cmocka_unit_test(integers_are_decimal_and_bounded),
        cmocka_unit_test(numbers_are_finite_and_bounded),
        cmocka_unit_test(booleans_and_strings),
        cmocka_unit_test(errors_carry_location_and_path),
        cmocka_unit_test(suggestions_are_near_misses_only),
        cmocka_unit_test(overrides_replace_values_of_any_kind),
        cmocka_unit_test(find_reads_a_path_as_overrides_do),
        cmocka_unit_test(overrides_create_missing_maps),
        cmocka_unit_test(bad_overrides_are_refused_and_change_nothing),
        cmocka_unit_test(emit_writes_block_yaml),
        cmocka_unit_test(emit_round_trips),
        cmocka_unit_test(flow_text_is_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
