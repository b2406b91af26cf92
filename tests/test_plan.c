/* test_plan: planning as a specification — the units of an experiment and
 * their order, sweeps that share pretraining, and the data checks that
 * refuse a wrong experiment with located messages. Unit ids are
 * test_plan_ids' business; writing results and whole runs test_results'.
 * Every experiment is synthetic (Gaussian clusters, sinusoids, a small CSV
 * or IDX files written here), so nothing needs real data. */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/config.h"
#include "harness/plan.h"
#include "harness/unit.h"
#include "harness/yamltree.h"
#include "learners/learner.h"
#include "learners/optim.h"
#include "plantest.h"

/* ---- plan helpers ---- */

/* Planning fails with ERR_USAGE and exactly msg. */
static void plan_fails(const char *text, const char *const *ovr, int n, const char *msg)
{
    struct plan p;
    struct err e;
    assert_int_equal(plan_core(&p, text, ovr, n, CORE, &e), ERR_USAGE);
    assert_string_equal(e.msg, msg);
    plan_free(&p);
}

/* base_yaml with one override. */
static void plan_with(struct plan *p, const char *override)
{
    plan_ok(p, base_yaml, &override, 1);
}

/* ---- data read several files at a time ---- */

/* Plan PLANTEST_IDX_YAML on dir, its two splits read `threads` at a time:
 * the code, the message, and each data set's split, rows and checksum. */
static int plan_idx(const char *dir, int threads, char *msg, char *sets, size_t cap)
{
    char text[1024];
    snprintf(text, sizeof text, PLANTEST_IDX_YAML, dir, ".");
    struct plan p;
    struct err e;
    int rc = plan_core_threads(&p, text, NULL, 0, CORE, threads, &e);
    snprintf(msg, cap, "%s", rc ? e.msg : "");
    sets[0] = '\0';
    for (int i = 0; !rc && i < p.variants[0].store.n; i++) {
        const struct store_entry *en = &p.variants[0].store.entries[i];
        size_t len = strlen(sets);
        snprintf(sets + len, cap - len, "%s %zu %08x; ", en->split, en->d->n, en->d->checksum);
    }
    plan_free(&p);
    return rc;
}

static void files_read_together_give_what_one_at_a_time_gives(void **state)
{
    char *dir = testutil_tmpdir(), path[4200];
    plantest_write_idx(dir, "train", 0);
    plantest_write_idx(dir, "t10k", 3);
    char msg[2][1024], sets[2][1024];
    for (int k = 0; k < 2; k++)
        assert_int_equal(plan_idx(dir, 1 + k, msg[k], sets[k], sizeof sets[k]), 0);
    assert_string_equal(sets[0], sets[1]);
    assert_non_null(strstr(sets[0], "train 30 "));
    assert_non_null(strstr(sets[0], "test 30 "));
    /* a broken test split, then both broken: the error one at a time meets first */
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    testutil_write(path, "not an IDX file", 15);
    for (int broken = 0; broken < 2; broken++) {
        for (int k = 0; k < 2; k++)
            assert_int_equal(plan_idx(dir, 1 + k, msg[k], sets[k], sizeof sets[k]), ERR_IO);
        assert_string_equal(msg[0], msg[1]);
        assert_non_null(strstr(msg[0], broken ? "train-images" : "t10k-images"));
        snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
        testutil_write(path, "not an IDX file either", 22);
    }
    free(dir);
}

/* ---- units and their order ---- */

static void units_come_per_seed_pretrain_first_then_target_learner_shots(void **state)
{
    struct plan p;
    plan_ok(&p, base_yaml, NULL, 0);
    assert_int_equal(p.n_variants, 1);
    assert_string_equal(p.variants[0].name, "base");
    assert_string_equal(p.core, CORE);
    assert_int_equal(p.n_units, 20);
    static const struct { int target; long shots; } ts[] = {{TT, 1}, {TT, 2}, {TU, 1}};
    int i = 0;
    for (long seed = 0; seed < 2; seed++) {
        const struct unit *pre = &p.units[i];
        assert_int_equal(pre->kind, UNIT_PRETRAIN);
        assert_int_equal(pre->seed, seed);
        assert_int_equal(pre->variant, 0);
        assert_int_equal(pre->pretrain, -1);
        int pre_index = i++;
        /* target-major, then learner, then shots (in the order listed) */
        for (int t = TT; t <= TU; t++)
            for (int l = LA; l <= LP; l++)
                for (int k = 0; k < 3; k++) {
                    if (ts[k].target != t)
                        continue;
                    const struct unit *u = &p.units[i++];
                    assert_int_equal(u->kind, UNIT_EVAL);
                    assert_int_equal(u->seed, seed);
                    assert_int_equal(u->target, t);
                    assert_int_equal(u->learner, l);
                    assert_int_equal(u->shots, ts[k].shots);
                    assert_int_equal(u->pretrain, l == LS ? -1 : pre_index);
                }
    }
    assert_int_equal(i, p.n_units);
    plan_free(&p);
}

static void without_a_pretraining_learner_there_is_no_pretrain_unit(void **state)
{
    const char *ovr[] = {"learners={s: {kind: scratch, steps: 1}, k: {kind: knn, space: input}}"};
    struct plan p;
    plan_ok(&p, base_yaml, ovr, 1);
    assert_false(plan_needs_pretrain(&p.variants[0].x));
    assert_int_equal(p.n_units, 2 * 3 * 2);   /* seeds × (t: 2 shots + u: 1) × learners */
    for (int i = 0; i < p.n_units; i++) {
        assert_int_equal(p.units[i].kind, UNIT_EVAL);
        assert_int_equal(p.units[i].pretrain, -1);
    }
    plan_free(&p);
}

/* Forward FLOPs per example: 2·in·out + out (bias) per layer, + out for the
 * activation of every hidden layer. 3 → 4 → 3 with relu: (24+4+4) + (24+3). */
static void flop_estimates_follow_the_closed_forms(void **state)
{
    struct mlp_arch a = {.n_layers = 2, .sizes = {3, 4, 3}, .act = ACT_RELU};
    assert_int_equal(mlp_forward_flops(&a, 2), 59);
    assert_int_equal(mlp_forward_flops(&a, 1), 32);   /* the body: 24 + 4 + 4 */
    a.act = ACT_IDENTITY;
    assert_int_equal(mlp_forward_flops(&a, 2), 55);
    struct plan p;
    plan_ok(&p, base_yaml, NULL, 0);
    /* pretraining: epochs (1) × source rows (3 classes × 5) × 3 passes × 59 */
    assert_int_equal(p.units[0].flops, 1 * 15 * 3 * 59);
    /* scratch on t, 1 shot: 2 ways, a 3→4→2 net (2·3·4+4+4 + 2·4·2+2 = 50 per example);
     * per episode steps (2) × support (2) × 3 × 50 + one recorded step × query (2·3) × 50,
     * over 4 episodes */
    const struct unit *s1 = &p.units[3];
    assert_int_equal(s1->learner, LS);
    assert_int_equal(s1->shots, 1);
    assert_int_equal(s1->flops, 4 * (2 * 2 * 3 * 50 + 1 * 6 * 50));
    plan_free(&p);
}

/* ---- a learner's own pretraining ---- */

/* base_yaml with two reptile learners; rs has meta.shots fixed. */
static void plan_reptile(struct plan *p, const char *extra)
{
    const char *ovr[] = {"learners.r={kind: reptile, meta: {iterations: 2, ways: 2}}",
                         "learners.q={kind: reptile, lr: 0.5, meta: {iterations: 2, ways: 2}}",
                         "learners.rs={kind: reptile, meta: {iterations: 2, ways: 2, shots: 1}}",
                         extra};
    plan_ok(p, base_yaml, ovr, extra ? 4 : 3);
}

static int learner_index(const struct plan *p, const char *name)
{
    const struct experiment *x = &p->variants[0].x;
    for (int l = 0; l < x->n_learners; l++)
        if (strcmp(x->learners[l].name, name) == 0)
            return l;
    fail_msg("no learner %s", name);
    return -1;
}

/* The eval unit (seed, target, learner, shots) of p. */
static const struct unit *eval_unit(const struct plan *p, long seed, int t, int l, long shots)
{
    for (int i = 0; i < p->n_units; i++) {
        const struct unit *u = &p->units[i];
        if (u->kind == UNIT_EVAL && u->seed == seed && u->target == t && u->learner == l &&
            u->shots == shots)
            return u;
    }
    fail_msg("no eval unit");
    return NULL;
}

static void a_learners_own_pretraining_is_keyed_by_its_meta_training(void **state)
{
    struct plan p;
    plan_reptile(&p, NULL);
    int r = learner_index(&p, "r"), q = learner_index(&p, "q"), rs = learner_index(&p, "rs");
    for (long seed = 0; seed < 2; seed++) {
        /* meta.shots each: one meta-training per evaluated shot count (t: 1 and 2, u: 1) */
        for (long shots = 1; shots <= 2; shots++) {
            const struct unit *pre = &p.units[eval_unit(&p, seed, TT, r, shots)->pretrain];
            assert_int_equal(pre->kind, UNIT_PRETRAIN);
            assert_int_equal(pre->learner, r);
            assert_int_equal(pre->shots, shots);
            assert_int_equal(pre->seed, seed);
            assert_true(pre->flops > 0);
            /* q differs in a test-time setting only: it shares r's meta-training */
            assert_int_equal(eval_unit(&p, seed, TT, q, shots)->pretrain,
                             eval_unit(&p, seed, TT, r, shots)->pretrain);
            /* and every target evaluated at that shot count uses it */
            if (shots == 1)
                assert_int_equal(eval_unit(&p, seed, TU, r, 1)->pretrain,
                                 eval_unit(&p, seed, TT, r, 1)->pretrain);
            /* meta.shots 1: one meta-training for both shot counts */
            const struct unit *fixed = &p.units[eval_unit(&p, seed, TT, rs, shots)->pretrain];
            assert_int_equal(fixed->shots, 1);
            assert_int_equal(eval_unit(&p, seed, TT, rs, 2)->pretrain,
                             eval_unit(&p, seed, TT, rs, 1)->pretrain);
        }
        /* the shared supervised pretraining is another unit, for the others */
        int shared = eval_unit(&p, seed, TT, LA, 1)->pretrain;
        assert_int_equal(p.units[shared].learner, -1);
        assert_int_equal(p.units[shared].shots, 0);
        assert_int_not_equal(shared, eval_unit(&p, seed, TT, r, 1)->pretrain);
    }
    int n_pre = 0;
    for (int i = 0; i < p.n_units; i++)
        n_pre += p.units[i].kind == UNIT_PRETRAIN;
    assert_int_equal(n_pre, 2 * (1 + 2 + 1));   /* per seed: shared, r's two, rs's one */
    plan_free(&p);
}

static void meta_training_settings_change_the_meta_training_test_time_ones_do_not(void **state)
{
    struct plan p, q;
    plan_reptile(&p, NULL);
    int r = learner_index(&p, "r");
    plan_reptile(&q, "learners.r.lr=0.3");
    const struct unit *a = eval_unit(&p, 0, TT, r, 1), *b = eval_unit(&q, 0, TT, r, 1);
    assert_string_equal(p.units[a->pretrain].id, q.units[b->pretrain].id);
    assert_string_not_equal(a->id, b->id);
    plan_free(&q);
    plan_reptile(&q, "learners.r.meta.lr=0.3");
    b = eval_unit(&q, 0, TT, r, 1);
    assert_string_not_equal(p.units[a->pretrain].id, q.units[b->pretrain].id);
    assert_string_not_equal(a->id, b->id);
    /* the supervised recipe is not part of it */
    plan_free(&q);
    plan_reptile(&q, "source.train.lr=0.3");
    b = eval_unit(&q, 0, TT, r, 1);
    assert_string_equal(p.units[a->pretrain].id, q.units[b->pretrain].id);
    assert_string_equal(a->id, b->id);
    plan_free(&q);
    plan_free(&p);
}

static void meta_training_needs_tasks_the_source_can_give(void **state)
{
    /* the source has classes 0, 1, 2 with 5 rows each */
    plan_fails(base_yaml, (const char *const[]){"learners.r={kind: reptile, meta: {ways: 4}}"}, 1,
               "<command line>:1:10: learners.r: meta.ways is 4, but the source has 3 classes");
    plan_fails(base_yaml, (const char *const[]){"learners.r={kind: reptile, meta: {ways: 2, "
                                                "shots: 5}}"}, 1,
               "<command line>:1:10: learners.r: meta-training tasks of 5 shots need 6 rows of "
               "every source class, and one has 5");
    /* maml's tasks have query sets: meta.queries of them per class */
    plan_fails(base_yaml, (const char *const[]){"learners.r={kind: maml, meta: {ways: 2, "
                                                "shots: 2, queries: 4}}"}, 1,
               "<command line>:1:10: learners.r: meta-training tasks of 2 shots and 4 queries "
               "need 6 rows of every source class, and one has 5");
}

static void maml_meta_training_is_keyed_by_the_queries_it_meta_learns_on(void **state)
{
    /* meta.queries: target (the default) takes the target's queries, so a
     * target with other queries gets its own meta-training; an explicit
     * count is shared; reptile reads no queries and ignores the target's */
    const char *m[] = {"learners={m: {kind: maml, meta: {ways: 2, shots: 1}}, "
                       "r: {kind: reptile, meta: {ways: 2, shots: 1}}}"};
    const char *mq[] = {m[0], "targets.t.queries=2"};
    struct plan p, q;
    plan_ok(&p, base_yaml, m, 1);
    plan_ok(&q, base_yaml, mq, 2);
    for (int l = 0; l < 2; l++) {
        const struct unit *a = eval_unit(&p, 0, 0, l, 1), *b = eval_unit(&q, 0, 0, l, 1);
        assert_int_equal(p.units[a->pretrain].queries, l == 0 ? 3 : 0);
        assert_int_equal(q.units[b->pretrain].queries, l == 0 ? 2 : 0);
        if (l == 0)
            assert_string_not_equal(p.units[a->pretrain].id, q.units[b->pretrain].id);
        else
            assert_string_equal(p.units[a->pretrain].id, q.units[b->pretrain].id);
    }
    plan_free(&q);
    const char *fixed[] = {m[0], "learners.m.meta.queries=2"}, *fixedq[] = {m[0],
        "learners.m.meta.queries=2", "targets.t.queries=2"};
    plan_free(&p);
    plan_ok(&p, base_yaml, fixed, 2);
    plan_ok(&q, base_yaml, fixedq, 3);
    const struct unit *a = eval_unit(&p, 0, 0, 0, 1), *b = eval_unit(&q, 0, 0, 0, 1);
    assert_string_equal(p.units[a->pretrain].id, q.units[b->pretrain].id);
    plan_free(&q);
    plan_free(&p);
}

/* ---- sweeps ---- */

static void a_sweep_over_a_learners_lr_shares_the_pretraining(void **state)
{
    const char *ovr[] = {"sweep={learners.a.lr: [0.01, 0.1]}"};
    struct plan p, b;
    plan_ok(&p, base_yaml, ovr, 1);
    plan_ok(&b, base_yaml, NULL, 0);
    assert_int_equal(p.n_variants, 2);
    assert_string_equal(p.variants[0].name, "learners.a.lr=0.01");
    assert_string_equal(p.variants[1].name, "learners.a.lr=0.1");
    assert_close(p.variants[0].x.learners[LA].s.optim.lr, 0.01, 0, 0);
    assert_close(p.variants[1].x.learners[LA].s.optim.lr, 0.1, 0, 0);
    /* 2 pretrainings (one per seed, shared) + 2 variants × 2 seeds × 9 evals */
    assert_int_equal(p.n_units, 2 + 36);
    int n_pre = 0;
    for (int i = 0; i < p.n_units; i++) {
        const struct unit *u = &p.units[i];
        if (u->kind == UNIT_PRETRAIN) {
            assert_int_equal(u->variant, 0);
            /* the same pretraining as without the sweep */
            assert_string_equal(u->id, b.units[u->seed == 0 ? 0 : 10].id);
            n_pre++;
        } else if (u->pretrain >= 0) {
            const struct unit *pre = &p.units[u->pretrain];
            assert_int_equal(pre->kind, UNIT_PRETRAIN);
            assert_int_equal(pre->seed, u->seed);
        }
    }
    assert_int_equal(n_pre, 2);
    /* variant 1, seed 0 comes after all of variant 0 and reuses its pretraining */
    assert_int_equal(p.units[20].variant, 1);
    assert_int_equal(p.units[20].seed, 0);
    assert_int_equal(p.units[20].pretrain, 0);
    plan_free(&p);
    plan_free(&b);
}

static void a_sweep_over_the_source_gives_one_pretraining_per_value(void **state)
{
    const char *ovr[] = {"sweep={source.train.lr: [0.01, 0.1], learners.s.steps: [1, 2]}"};
    struct plan p;
    plan_ok(&p, base_yaml, ovr, 1);
    assert_int_equal(p.n_variants, 4);
    /* the last key varies fastest; names join the keys in sweep order */
    assert_string_equal(p.variants[0].name, "source.train.lr=0.01;learners.s.steps=1");
    assert_string_equal(p.variants[1].name, "source.train.lr=0.01;learners.s.steps=2");
    assert_string_equal(p.variants[2].name, "source.train.lr=0.1;learners.s.steps=1");
    assert_string_equal(p.variants[3].name, "source.train.lr=0.1;learners.s.steps=2");
    int n_pre = 0;
    for (int i = 0; i < p.n_units; i++)
        n_pre += p.units[i].kind == UNIT_PRETRAIN;
    assert_int_equal(n_pre, 4);   /* 2 lrs × 2 seeds; the steps sweep shares them */
    assert_int_equal(p.n_units, 4 + 4 * 2 * 9);
    plan_free(&p);
}

static void sweep_variants_share_one_copy_of_each_data_set(void **state)
{
    /* A learner's lr leaves the data alone: variant 1 borrows variant 0's
     * data sets and samplers (same pointers). Sweeping the data's own
     * settings does not. */
    const char *ovr[] = {"sweep={learners.a.lr: [0.01, 0.1]}"};
    const char *ovr2[] = {"sweep={data.blobs.separation: [1, 2]}"};
    struct plan p, q;
    plan_ok(&p, base_yaml, ovr, 1);
    plan_ok(&q, base_yaml, ovr2, 1);
    const struct store *a = &p.variants[0].store, *b = &p.variants[1].store;
    assert_int_equal(a->n, b->n);
    assert_true(a->n > 0);
    for (int i = 0; i < a->n; i++) {
        assert_ptr_equal(a->entries[i].d, &a->entries[i].own);
        assert_ptr_equal(b->entries[i].d, a->entries[i].d);
        assert_int_equal(b->entries[i].own.n, 0);
    }
    for (int i = 0; i < q.variants[1].store.n; i++)
        assert_ptr_equal(q.variants[1].store.entries[i].d, &q.variants[1].store.entries[i].own);
    /* and the episode samplers over them: variant 1 borrows an equal one (same
     * data set, same classes: t and u, all seeds, may share one) */
    for (int t = TT; t <= TU; t++)
        for (long seed = 0; seed < 2; seed++) {
            const struct target_view *va = data_view(a, seed, t), *vb = data_view(b, seed, t);
            assert_ptr_equal(va->sampler, &va->own);
            assert_ptr_not_equal(vb->sampler, &vb->own);
            assert_int_equal(vb->own.n_classes, 0);
            bool from_a = false;
            for (int i = 0; i < a->n_views; i++)
                from_a |= vb->sampler == &a->views[i].own;
            assert_true(from_a);
            assert_ptr_equal(vb->sampler->d, va->sampler->d);
            assert_ptr_equal(data_view(&q.variants[1].store, seed, t)->sampler,
                             &data_view(&q.variants[1].store, seed, t)->own);
        }
    plan_free(&p);
    plan_free(&q);
}

static char *write_csv(const char *dir, int n_classes, int per);

static void standardise_takes_its_statistics_from_the_source_only(void **state)
{
    /* A data source the source does not use has no rows that are certainly
     * not a target's, so standardising it is refused. */
    char *dir = testutil_tmpdir(), *csv = write_csv(dir, 6, 5), text[8192];
    snprintf(text, sizeof text,
             "name: t\nseeds: [0]\ndata:\n"
             "  a: {format: clusters, classes: 6, dim: 3, per_class: 5}\n"
             "  b: {format: csv, path: %s, label: label, standardise: true}\n"
             "source: {data: a, classes: [0, 1, 2]}\n"
             "targets:\n  t: {data: b, classes: [3, 4, 5], ways: 2, shots: [1], queries: 2}\n"
             "learners: {f: {kind: finetune}}\n", csv);
    plan_fails(text, NULL, 0, "exp.yaml:5:3: data.b.standardise: statistics come from the source "
               "task's rows only, and \"b\" is not the source's data (use scale, or standardise "
               "the source's data)");
    testutil_rmtree(dir);
    free(dir);
    free(csv);
}

/* ---- data checks ---- */

static void a_class_the_data_lacks_is_located_at_the_classes_list(void **state)
{
    const char *text = "name: t\nseeds: [0]\ndata:\n"
                       "  blobs: {format: clusters, classes: 6, dim: 3}\n"
                       "targets:\n"
                       "  t: {data: blobs, classes: [3, 4, 9], ways: 2}\n"
                       "learners: {s: {kind: scratch}}\n";
    plan_fails(text, NULL, 0, "exp.yaml:6:29: targets.t.classes: data source \"blobs\" has no "
               "class \"9\" (class ids start at 0)");
    const char *src = "source.classes=[0, 7]";
    plan_fails(base_yaml, &src, 1, "<command line>:1:16: source.classes: data source \"blobs\" "
               "has no class \"7\" (class ids start at 0)");
}

static void targets_must_be_held_out_unless_overlap_is_allowed(void **state)
{
    const char *ovr[] = {"targets.t.classes=[2, 3, 4]", "targets.t.allow_overlap=true"};
    plan_fails(base_yaml, ovr, 1, "<command line>:1:19: targets.t.classes: class \"2\" is also a "
               "source class, so the target is not held out (list disjoint classes, or set "
               "allow_overlap: true if you mean it)");
    struct plan p;
    plan_ok(&p, base_yaml, ovr, 2);
    assert_int_equal(p.n_units, 20);
    plan_free(&p);
    /* all classes by default: the first overlapping one is named, located at the target */
    const char *all = "targets.u.classes=";
    plan_fails(base_yaml, &all, 1, "exp.yaml:9:3: targets.u.classes: class \"0\" is also a source "
               "class, so the target is not held out (list disjoint classes, or set "
               "allow_overlap: true if you mean it)");
}

static void episodes_need_enough_examples_per_class(void **state)
{
    /* 5 points per class and split; 2 shots + 4 queries need 6 */
    const char *ovr[] = {"targets.t.queries=4"};
    struct plan p;
    struct err e;
    assert_int_equal(plan_core(&p, base_yaml, ovr, 1, CORE, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "exp.yaml:8:3: targets.t (split test): "));
    assert_non_null(strstr(e.msg, "5"));
    plan_free(&p);
    const char *fits[] = {"targets.t.queries=3"};
    plan_ok(&p, base_yaml, fits, 1);
    plan_free(&p);
}

/* Write a CSV of n_classes classes (labels 0..n-1), per rows each, 3 features. */
static char *write_csv(const char *dir, int n_classes, int per)
{
    char *path = malloc(4200), text[8192] = "f1,f2,f3,label\n";
    assert_non_null(path);
    snprintf(path, 4200, "%s/small.csv", dir);
    for (int c = 0; c < n_classes; c++)
        for (int i = 0; i < per; i++) {
            size_t n = strlen(text);
            snprintf(text + n, sizeof text - n, "%d.5,%d,%d,%d\n", c, i, c * i, c);
        }
    testutil_write(path, text, strlen(text));
    return path;
}

static void ways_need_as_many_classes_as_the_data_has(void **state)
{
    /* a CSV's classes are known only once it is read: 3 classes, 4 ways */
    char *dir = testutil_tmpdir(), *csv = write_csv(dir, 3, 6), text[8192];
    snprintf(text, sizeof text,
             "name: t\nseeds: [0]\ndata:\n"
             "  tab: {format: csv, path: %s, label: label}\n"
             "targets:\n"
             "  t: {data: tab, split: train, ways: 4, shots: [1], queries: 1}\n"
             "learners: {s: {kind: scratch}}\n", csv);
    plan_fails(text, NULL, 0, "exp.yaml:6:3: targets.t.ways: 4 ways need at least 4 classes, "
               "the target has 3");
    const char *three = "targets.t.ways=3";
    struct plan p;
    plan_ok(&p, text, &three, 1);
    assert_int_equal(p.n_units, 1);
    plan_free(&p);
    testutil_rmtree(dir);
    free(dir);
    free(csv);
}

static void source_and_targets_need_the_same_input_size(void **state)
{
    const char *ovr[] = {"data.wide={format: clusters, classes: 6, dim: 4}",
                         "targets.u.data=wide"};
    plan_fails(base_yaml, ovr, 2, "exp.yaml:9:3: targets.u: inputs have 4 features but the "
               "source's have 3");
}

static void a_regression_target_needs_a_regression_source(void **state)
{
    const char *text = "name: t\nseeds: [0]\ndata:\n"
                       "  line: {format: clusters, classes: 4, dim: 1}\n"
                       "  sine: {format: sinusoid}\n"
                       "source: {data: line}\n"
                       "targets:\n"
                       "  wave: {data: sine, shots: [5], queries: 5, episodes: 2}\n"
                       "learners: {f: {kind: finetune}}\n";
    plan_fails(text, NULL, 0, "exp.yaml:8:3: targets.wave: a regression target needs a "
               "regression source");
    const char *swap[] = {"source.data=sine", "targets.wave={data: line, ways: 2, shots: [1]}"};
    plan_fails(text, swap, 2, "exp.yaml:8:3: targets.wave: a classification target "
               "needs a classification source");
}

static void errors_in_a_sweep_variant_point_into_the_users_file(void **state)
{
    /* the variant is re-read from emitted text, yet its errors name the
     * file's lines: a listed class at its sweep entry, a target at its key */
    const char *text =
        "name: t\nseeds: [0]\ndata:\n"
        "  blobs: {format: clusters, classes: 6, dim: 3, per_class: 5}\n"
        "targets:\n"
        "  t: {data: blobs, classes: [3, 4, 5], ways: 2, shots: [1], queries: 2}\n"
        "learners: {s: {kind: scratch}}\n"
        "sweep: {targets.t.classes: [[3, 4, 5], [3, 4, 9]]}\n";
    plan_fails(text, NULL, 0, "sweep variant targets.t.classes=[3, 4, 9]: exp.yaml:8:40: "
               "targets.t.classes: data source \"blobs\" has no class \"9\" (class ids start at 0)");
    const char *more = "targets.t.queries=5";
    plan_fails(text, &more, 1, "sweep variant targets.t.classes=[3, 4, 5]: exp.yaml:6:3: "
               "targets.t (split test): class 3 of clusters has 5 examples; 1 shots + 5 queries "
               "need 6");
    /* a sweep given on the command line is located there */
    const char *cmd = "sweep={targets.t.classes: [[3, 4, 8]]}";
    plan_fails(text, &cmd, 1, "sweep variant targets.t.classes=[3, 4, 8]: <command line>:1:28: "
               "targets.t.classes: data source \"blobs\" has no class \"8\" (class ids start at 0)");
}

static void every_seed_of_a_synthetic_source_has_its_own_data(void **state)
{
    /* synthetic data are drawn per seed; many seeds must not move the
     * datasets the samplers of earlier seeds point at */
    const char *ovr = "seeds=[0, 1, 2, 3, 4, 5, 6, 7, 8]";
    struct plan p;
    plan_with(&p, ovr);
    const struct store *st = &p.variants[0].store;
    uint32_t seen[9];
    for (int i = 0; i < 9; i++) {
        const struct dataset *test = data_get(st, "blobs", "test", i);
        assert_non_null(test);
        assert_ptr_equal(data_view(st, i, TT)->sampler->d, test);
        assert_ptr_equal(data_view(st, i, TU)->d, test);
        seen[i] = test->checksum;
        for (int j = 0; j < i; j++)
            assert_int_not_equal(seen[i], seen[j]);
    }
    assert_int_equal(p.n_units, 9 * 10);
    plan_free(&p);
}

static void noise_on_a_sinusoid_target_is_refused(void **state)
{
    const char *text = "name: t\nseeds: [0]\ndata:\n  sine: {format: sinusoid, size: 20}\n"
                       "source: {data: sine}\n"
                       "targets:\n  wave: {data: sine, shots: [5], queries: 5, noise: 0.1}\n"
                       "learners: {f: {kind: finetune}}\n";
    plan_fails(text, NULL, 0, "exp.yaml:7:3: targets.wave.noise: a sinusoid target draws fresh "
               "inputs for every episode, so noise cannot be added (expected noise: 0)");
}

static void every_source_class_needs_examples(void **state)
{
    /* labels 0 and 2 only: class 1 exists (ids run to the largest) but is empty */
    char *dir = testutil_tmpdir(), path[4200], text[8192];
    snprintf(path, sizeof path, "%s/gap.csv", dir);
    const char *csv = "x,y\n0.5,0\n1.5,2\n0.25,0\n1.25,2\n";
    testutil_write(path, csv, strlen(csv));
    snprintf(text, sizeof text,
             "name: t\nseeds: [0]\ndata:\n"
             "  gap: {format: csv, path: %s, label: y}\n"
             "  blobs: {format: clusters, classes: 4, dim: 1}\n"
             "source: {data: gap, classes: [0, 1, 2]}\n"
             "targets:\n  t: {data: blobs, ways: 2, shots: [1]}\n"
             "learners: {f: {kind: finetune}}\n", path);
    plan_fails(text, NULL, 0, "exp.yaml:6:30: source.classes: class \"1\" has no examples in "
               "split train of data source \"gap\"");
    const char *two = "source.classes=[0, 2]";
    struct plan p;
    plan_ok(&p, text, &two, 1);
    plan_free(&p);
    testutil_rmtree(dir);
    free(dir);
}

static void the_printed_plan_lists_every_unit_and_the_totals(void **state)
{
    struct plan p;
    plan_ok(&p, base_yaml, NULL, 0);
    char buf[16384];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_non_null(f);
    plan_print(&p, f, 1.0);
    fclose(f);
    char want[256];
    snprintf(want, sizeof want, "%s  pretrain  variant base  seed 0  source blobs\n"
             "%s  eval      variant base  seed 0  learner a (finetune)  target t  shots 1\n",
             p.units[0].id, p.units[1].id);
    assert_memory_equal(buf, want, strlen(want));
    assert_non_null(strstr(buf, "\n1 variant, holding 0.0 MB of configuration in memory (at most "
                                "1024 MB)\n20 units: 2 pretrain, 18 eval\n"));
    plan_free(&p);
}

/* Every variant holds its own configuration: a sweep whose variants would
 * not fit the bound is refused before any is made, and says how much. */
static void a_sweep_too_large_for_memory_is_refused(void **state)
{
    static char text[16384];
    size_t n = (size_t)snprintf(text, sizeof text, "name: big\nseeds: [");
    for (int i = 0; i < 64; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%d", i ? ", " : "", i);
    n += (size_t)snprintf(text + n, sizeof text - n, "]\ndata:\n  blobs: {format: clusters, "
                          "classes: 4, dim: 2, per_class: 8}\ntargets:\n");
    for (int t = 0; t < 16; t++)
        n += (size_t)snprintf(text + n, sizeof text - n, "  t%d: {data: blobs, ways: 2}\n", t);
    snprintf(text + n, sizeof text - n, "learners:\n  s: {kind: scratch}\nsweep:\n"
             "  learners.s.steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]\n"
             "  learners.s.lr: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]\n"
             "  targets.t0.queries: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]\n");
    struct plan p;
    struct err e;
    assert_int_equal(plan_core(&p, text, NULL, 0, CORE, &e), ERR_USAGE);
    assert_contains(e.msg, "exp.yaml: sweep: 4096 variants of ");
    assert_contains(e.msg, " MB of configuration (at most 1024 MB); sweep fewer values");
    assert_int_equal(p.n_variants, 0);
    plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(files_read_together_give_what_one_at_a_time_gives),
        cmocka_unit_test(units_come_per_seed_pretrain_first_then_target_learner_shots),
        cmocka_unit_test(without_a_pretraining_learner_there_is_no_pretrain_unit),
        cmocka_unit_test(flop_estimates_follow_the_closed_forms),
        cmocka_unit_test(a_learners_own_pretraining_is_keyed_by_its_meta_training),
        cmocka_unit_test(meta_training_settings_change_the_meta_training_test_time_ones_do_not),
        cmocka_unit_test(meta_training_needs_tasks_the_source_can_give),
        cmocka_unit_test(maml_meta_training_is_keyed_by_the_queries_it_meta_learns_on),
        cmocka_unit_test(a_sweep_over_a_learners_lr_shares_the_pretraining),
        cmocka_unit_test(a_sweep_over_the_source_gives_one_pretraining_per_value),
        cmocka_unit_test(sweep_variants_share_one_copy_of_each_data_set),
        cmocka_unit_test(standardise_takes_its_statistics_from_the_source_only),
        cmocka_unit_test(a_class_the_data_lacks_is_located_at_the_classes_list),
        cmocka_unit_test(targets_must_be_held_out_unless_overlap_is_allowed),
        cmocka_unit_test(episodes_need_enough_examples_per_class),
        cmocka_unit_test(ways_need_as_many_classes_as_the_data_has),
        cmocka_unit_test(source_and_targets_need_the_same_input_size),
        cmocka_unit_test(a_regression_target_needs_a_regression_source),
        cmocka_unit_test(errors_in_a_sweep_variant_point_into_the_users_file),
        cmocka_unit_test(every_seed_of_a_synthetic_source_has_its_own_data),
        cmocka_unit_test(noise_on_a_sinusoid_target_is_refused),
        cmocka_unit_test(every_source_class_needs_examples),
        cmocka_unit_test(the_printed_plan_lists_every_unit_and_the_totals),
        cmocka_unit_test(a_sweep_too_large_for_memory_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
