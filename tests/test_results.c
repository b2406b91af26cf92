/* test_results: writing results and running as a specification — parts
 * written whole or not at all, the experiment's files rebuilt from them in
 * plan order once every part is there, run.yaml readable by kshot's own YAML
 * reader, and whole runs of a tiny experiment that fail on a full disk or an
 * unmakeable directory with the file named. Plans come from plantest's
 * synthetic experiment; what a plan contains is test_plan's business. */
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness/columns.h"
#include "harness/config.h"
#include "harness/csvout.h"
#include "harness/plan.h"
#include "harness/results.h"
#include "harness/runner.h"
#include "harness/unit.h"
#include "harness/unitlist.h"
#include "harness/yamltree.h"
#include "plantest.h"

/* ---- results: parts and the files rebuilt from them ---- */

/* One row per unit, the part's columns only; the episode column holds the
 * unit's index. */
static void fake_rows(const struct plan *p, int i, char *buf, size_t cap)
{
    const struct unit *u = &p->units[i];
    if (u->kind == UNIT_PRETRAIN)
        snprintf(buf, cap, "0 1 2,15,0.5,0.75,ok\n");
    else
        snprintf(buf, cap, "%d,,,,accuracy,0.5,ok\n", i);
}

/* The same row in episodes.csv: behind the labels the plan gives it. */
static void fake_episode_row(const struct plan *p, int i, char *buf, size_t cap)
{
    const struct unit *u = &p->units[i];
    const struct experiment *x = &p->variants[u->variant].x;
    snprintf(buf, cap, "t,base,%ld,blobs,%s,%s,%ld,%ld,%d,,,,accuracy,0.5,ok\n", u->seed,
             x->targets[u->target].name, x->learners[u->learner].name, x->targets[u->target].ways,
             u->shots, i);
}

static void files_are_rebuilt_in_plan_order_once_every_part_is_there(void **state)
{
    struct plan p;
    plan_ok(&p, base_yaml, NULL, 0);
    char *dir = testutil_tmpdir(), path[4200], rows[512];
    struct err e;
    assert_int_equal(results_open(dir, &e), 0);
    struct unit_costs c = {.cpu_s = 0.25, .wall_s = 0.5, .flops = 1000, .episodes = 4};
    int missing = -1;
    struct unitlist ul;
    assert_int_equal(unitlist_from_plan(&ul, &p, &e), 0);
    /* written backwards, as workers might finish them */
    for (int i = p.n_units - 1; i >= 0; i--) {
        assert_false(results_done(dir, p.units[i].id, p.units[i].kind));
        fake_rows(&p, i, rows, sizeof rows);
        assert_int_equal(results_write_unit(dir, &p, &p.units[i], rows, &c, 1, &e), 0);
        /* a pretraining is done only with its checkpoint */
        assert_int_equal(results_done(dir, p.units[i].id, p.units[i].kind), p.units[i].kind == UNIT_EVAL);
        assert_int_equal(results_rebuild(dir, &ul, &missing, &e), 0);
        /* units 0..i-1, and pretrainings written without a checkpoint */
        int want = i;
        for (int j = i; j < p.n_units; j++)
            want += p.units[j].kind == UNIT_PRETRAIN;
        assert_int_equal(missing, want);
    }
    snprintf(path, sizeof path, "%s/episodes.csv", dir);
    assert_int_equal(access(path, F_OK), -1);   /* nothing is written while parts are missing */
    for (int i = 0; i < p.n_units; i += 10) {
        results_model_path(dir, p.units[i].id, path, sizeof path);
        testutil_write(path, "x", 1);
        assert_true(results_done(dir, p.units[i].id, p.units[i].kind));
    }
    assert_int_equal(results_rebuild(dir, &ul, &missing, &e), 0);
    assert_int_equal(missing, 0);
    char want[16384], got[16384];
    snprintf(want, sizeof want, "%s\n",
             "experiment,variant,seed,source,target,learner,ways,shots,episode,step,probe,param,"
             "metric,value,status");
    for (int i = 0; i < p.n_units; i++)
        if (p.units[i].kind == UNIT_EVAL)
            fake_episode_row(&p, i, want + strlen(want), sizeof want - strlen(want));
    snprintf(path, sizeof path, "%s/episodes.csv", dir);
    testutil_read(path, got, sizeof got);
    assert_string_equal(got, want);
    snprintf(path, sizeof path, "%s/costs.csv", dir);
    testutil_read(path, got, sizeof got);
    int lines = 0;
    for (char *q = got; (q = strchr(q, '\n')); q++)
        lines++;
    assert_int_equal(lines, 1 + p.n_units);
    /* the unit list read back from units.csv (what merge has, without the
     * config or the data) rebuilds the same bytes, summary.csv included */
    char sum_plan[16384], sum_list[16384], sum_path[4200];
    snprintf(sum_path, sizeof sum_path, "%s/summary.csv", dir);
    testutil_read(sum_path, sum_plan, sizeof sum_plan);
    struct unitlist back;
    assert_int_equal(unitlist_write(dir, &ul, &e), 0);
    assert_int_equal(unitlist_read(dir, &back, &e), 0);
    assert_int_equal(back.n, ul.n);
    for (int i = 0; i < ul.n; i++) {
        assert_string_equal(back.u[i].id, ul.u[i].id);
        assert_int_equal(back.u[i].first, ul.u[i].first);
        assert_int_equal(back.u[i].ways, ul.u[i].ways);
    }
    snprintf(path, sizeof path, "%s/episodes.csv", dir);
    unlink(path), unlink(sum_path);
    assert_int_equal(results_rebuild(dir, &back, &missing, &e), 0);
    testutil_read(path, got, sizeof got);
    assert_string_equal(got, want);
    testutil_read(sum_path, sum_list, sizeof sum_list);
    assert_string_equal(sum_list, sum_plan);
    unitlist_free(&back);
    unitlist_free(&ul);
    testutil_rmtree(dir);
    free(dir);
    plan_free(&p);
}

/* No temporaries, no part of the given unit, in dir/parts. */
static void assert_no_part_of(const char *dir, const char *id)
{
    char parts[4200];
    snprintf(parts, sizeof parts, "%s/parts", dir);
    DIR *d = opendir(parts);
    assert_non_null(d);
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (strstr(ent->d_name, ".tmp.") || strncmp(ent->d_name, id, 32) == 0)
            fail_msg("left behind: %s", ent->d_name);
    }
    closedir(d);
}

/* Run fn with files limited to limit bytes (writes past it fail, EFBIG). */
static void with_file_limit(rlim_t limit, void (*fn)(void *), void *arg)
{
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = limit;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    fn(arg);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
}

struct write_case {
    const char *dir;
    struct plan *p;
    const char *rows;
    int rc;
    struct err e;
};

static void write_unit_1(void *arg)
{
    struct write_case *w = arg;
    struct unit_costs c = {0};
    w->rc = results_write_unit(w->dir, w->p, &w->p->units[1], w->rows, &c, 0, &w->e);
}

static void a_part_that_cannot_be_written_leaves_nothing_behind(void **state)
{
    struct plan p;
    plan_ok(&p, base_yaml, NULL, 0);
    char *dir = testutil_tmpdir();
    struct err e;
    assert_int_equal(results_open(dir, &e), 0);
    /* rows longer than the disk allows (the cost part, ~400 bytes, fits) */
    char *rows = malloc(20000);
    assert_non_null(rows);
    rows[0] = '\0';
    for (int i = 0; i < 200; i++)
        strcat(rows, "t,base,0,blobs,t,a,2,1,0,2,,,accuracy,0.5,ok\n");
    struct write_case w = {.dir = dir, .p = &p, .rows = rows};
    with_file_limit(4096, write_unit_1, &w);
    assert_int_equal(w.rc, ERR_IO);
    char part[4200];
    results_part_path(dir, p.units[1].id, ".csv", part, sizeof part);
    assert_non_null(strstr(w.e.msg, part));   /* the message names the file */
    assert_false(results_done(dir, p.units[1].id, p.units[1].kind));
    assert_no_part_of(dir, p.units[1].id);
    free(rows);
    testutil_rmtree(dir);
    free(dir);
    plan_free(&p);
}

/* ---- whole runs ---- */

/* Names that YAML must quote (config refuses ',', '"' and '/' in names). */
static const char *const tiny_yaml =
    "name: \"tiny: #1 'q' {x}\"\n"
    "seeds: [0, 1]\n"
    "data:\n"
    "  \"blobs: [big]\": {format: clusters, classes: 6, dim: 3, separation: 3, per_class: 6}\n"
    "network: {hidden: [4]}\n"
    "source: {data: \"blobs: [big]\", classes: [0, 1, 2], train: {epochs: 1, batch: 8}}\n"
    "targets:\n"
    "  t: {data: \"blobs: [big]\", classes: [3, 4, 5], ways: 2, shots: [1, 2], queries: 2,"
    " episodes: 40}\n"
    "learners:\n"
    "  a: {kind: finetune, steps: 2, record_steps: [0, 1, 2]}\n"
    "  p: {kind: prototypes}\n";

struct run_case {
    struct run_opts o;
    char *dir, cfg[4200], out[4200];
    char *argv[9];
    int rc;
    struct err e;
};

static void run_case_init(struct run_case *r)
{
    memset(r, 0, sizeof *r);
    r->dir = testutil_tmpdir();
    snprintf(r->cfg, sizeof r->cfg, "%s/tiny.yaml", r->dir);
    snprintf(r->out, sizeof r->out, "%s/out", r->dir);
    testutil_write(r->cfg, tiny_yaml, strlen(tiny_yaml));
    runner_defaults(&r->o);
    r->o.config = r->cfg, r->o.out_dir = r->out, r->o.jobs = 1, r->o.quiet = true;
    /* a command line with every character YAML makes special */
    static char *argv[] = {"kshot", "run", "a \"quoted\" \\ back\\slash", "tab\there",
                           "new\nline", "ünï", "bad\xff byte", "- [x]: {y}",
                           "nel\xc2\x85 ls\xe2\x80\xa8 bom\xef\xbb\xbf c1\xc2\x80 \xf0\x9f\x99\x82"};
    memcpy(r->argv, argv, sizeof argv);
    r->o.argc = 9, r->o.argv = r->argv;
}

static void run_case_free(struct run_case *r)
{
    testutil_rmtree(r->dir);
    free(r->dir);
}

static void run_it(void *arg)
{
    struct run_case *r = arg;
    err_clear(&r->e);
    r->rc = runner_run(&r->o, &r->e);
}

static const struct yt_node *get(const struct yt_node *m, const char *key)
{
    const struct yt_node *n = yt_get(m, key);
    if (!n)
        fail_msg("run.yaml has no %s", key);
    return n;
}

static void run_yaml_reads_back_as_what_was_run(void **state)
{
    struct run_case r;
    run_case_init(&r);
    run_it(&r);
    if (r.rc)
        print_error("%s\n", r.e.msg);
    assert_int_equal(r.rc, 0);
    char path[4300];
    snprintf(path, sizeof path, "%s/run.yaml", r.out);
    struct yt_doc doc;
    struct err e;
    if (yt_load_file(path, &doc, &e))
        fail_msg("run.yaml is not YAML kshot reads: %s", e.msg);
    const struct yt_node *root = doc.root;
    assert_string_equal(get(root, "status")->value, "done");
    assert_string_equal(get(root, "kshot_version")->value, KSHOT_VERSION);
    assert_false(yt_is_null(get(root, "finished")));
    const struct yt_node *cmd = get(root, "command");
    assert_int_equal(cmd->kind, YT_SEQ);
    assert_int_equal(cmd->n_items, 9);
    for (int i = 0; i < 9; i++)
        if (i != 6)
            assert_string_equal(cmd->items[i]->value, r.argv[i]);
    assert_string_equal(cmd->items[6]->value, "bad\xc3\xbf byte");   /* \xff: U+00FF */
    assert_string_equal(get(get(root, "config"), "name")->value, "tiny: #1 'q' {x}");
    const struct yt_node *data = get(root, "data");
    assert_int_equal(data->n_items, 4);   /* (train, test) × 2 seeds */
    assert_string_equal(get(data->items[0], "name")->value, "blobs: [big]");
    const struct yt_node *variants = get(root, "variants");
    assert_int_equal(variants->n_items, 1);
    assert_string_equal(variants->items[0]->value, "base");
    /* the resolved configuration is an experiment kshot accepts */
    struct experiment x;
    struct yt_doc cfg = {.root = (struct yt_node *)get(root, "config"), .file = path};
    assert_int_equal(config_from_tree(&cfg, &x, &e), 0);
    assert_int_equal(x.n_learners, 2);
    config_free(&x);
    yt_free(&doc);
    run_case_free(&r);
}

/* Every part in dir/parts is whole: its file's header and complete records. */
static int count_row(void *ctx, const char *const *f, int n, long record, struct err *e)
{
    ++*(int *)ctx;
    return 0;
}

/* The records of a part file of layout l after its check line; -1 when not whole. */
static int part_rows(const char *path, const struct layout *l)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    int rows = 0;
    struct err e;
    bool ok = fgets(line, sizeof line, f) && strncmp(line, "#kshot-part 1 ", 14) == 0 &&
              columns_read_stream(f, path, l, l->part_first, count_row, &rows, &e) == 0;
    fclose(f);
    return ok ? rows : -1;
}

static int check_parts(const char *out)
{
    char parts[4300], path[4600];
    snprintf(parts, sizeof parts, "%s/parts", out);
    DIR *d = opendir(parts);
    assert_non_null(d);
    struct dirent *ent;
    int n_done = 0;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        assert_null(strstr(ent->d_name, ".tmp."));
        snprintf(path, sizeof path, "%s/%s", parts, ent->d_name);
        bool cost = strstr(ent->d_name, ".cost.csv") != NULL;
        int rows = 0;
        if (cost) {
            /* a cost row stands only beside its unit's part */
            char unit[4600];
            snprintf(unit, sizeof unit, "%s/%.32s.csv", parts, ent->d_name);
            assert_int_equal(access(unit, F_OK), 0);
            rows = part_rows(path, &columns_costs);
        } else if ((rows = part_rows(path, &columns_episodes)) < 0) {
            rows = part_rows(path, &columns_pretrain);
        }
        assert_true(rows >= 1);
        n_done += !cost;
    }
    closedir(d);
    return n_done;
}

static void a_run_that_runs_out_of_disk_fails_naming_the_file_and_keeps_finished_units(void **state)
{
    struct run_case r;
    run_case_init(&r);
    /* 40 episodes × 3 steps × 2 metrics: a finetune part is ~6 kB; run.yaml,
     * pretrain parts, cost parts and prototype parts (~2 kB) fit in 4 kB */
    with_file_limit(4096, run_it, &r);
    assert_int_equal(r.rc, ERR_IO);
    assert_non_null(strstr(r.e.msg, r.out));
    assert_non_null(strstr(r.e.msg, "/parts/"));
    int done = check_parts(r.out);
    assert_true(done >= 1 && done < 10);
    char path[4300];
    snprintf(path, sizeof path, "%s/run.yaml", r.out);
    struct yt_doc doc;
    struct err e;
    assert_int_equal(yt_load_file(path, &doc, &e), 0);
    assert_string_equal(get(doc.root, "status")->value, "failed");
    assert_contains(get(doc.root, "error")->value, "/parts/");
    yt_free(&doc);
    snprintf(path, sizeof path, "%s/episodes.csv", r.out);
    assert_int_equal(access(path, F_OK), -1);
    /* with room again the same run finishes */
    run_it(&r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(check_parts(r.out), 10);
    assert_int_equal(access(path, F_OK), 0);
    run_case_free(&r);
}

static void a_results_directory_that_cannot_be_made_is_named(void **state)
{
    struct run_case r;
    run_case_init(&r);
    testutil_write(r.out, "", 0);   /* a file where the directory should be */
    run_it(&r);
    assert_int_equal(r.rc, ERR_USAGE);   /* the path given is wrong: exit 2 */
    assert_non_null(strstr(r.e.msg, r.out));
    run_case_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(files_are_rebuilt_in_plan_order_once_every_part_is_there),
        cmocka_unit_test(a_part_that_cannot_be_written_leaves_nothing_behind),
        cmocka_unit_test(run_yaml_reads_back_as_what_was_run),
        cmocka_unit_test(a_run_that_runs_out_of_disk_fails_naming_the_file_and_keeps_finished_units),
        cmocka_unit_test(a_results_directory_that_cannot_be_made_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
