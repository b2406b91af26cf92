/* test_columns: the CSV contract's tables are well formed — names unique
 * within a file, every column explained, parts a proper suffix, the summary's
 * cell key named as in episodes.csv — and a part read back arrives indexed
 * by its file's enum. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/columns.h"

static void every_file_has_unique_explained_columns(void **state)
{
    int files = 0;
    for (int f = 0; columns_all[f]; f++, files++) {
        const struct layout *l = columns_all[f];
        assert_true(strstr(l->file, ".csv") != NULL);
        assert_true(l->n >= 5 && l->n <= 64);
        assert_true(l->part_first >= 1 && l->part_first <= l->n);
        for (int i = 0; i < l->n; i++) {
            assert_non_null(l->cols[i].name);
            assert_true(strlen(l->cols[i].help) > 5);
            assert_int_equal(columns_find(l, l->cols[i].name), i);
        }
    }
    assert_int_equal(files, 6);
    assert_int_equal(columns_find(&columns_costs, "no such column"), -1);
}

static void the_summary_key_is_named_as_in_episodes(void **state)
{
    for (int k = 0; k < SUM_N_KEY; k++)
        assert_true(columns_find(&columns_episodes, columns_summary.cols[k].name) >= 0);
    assert_string_equal(columns_summary.cols[SUM_N_KEY].name, "seed");
    /* the files users compare hold what the README promised */
    assert_string_equal(columns_episodes.cols[EP_VALUE].name, "value");
    assert_string_equal(columns_pretrain.cols[PRE_LEARNER].name, "learner");
    assert_string_equal(columns_costs.cols[COST_BLAS_CORE].name, "blas_core");
}

struct got {
    char text[256];
};

static int collect(void *ctx, const char *const *f, int n, long record, struct err *e)
{
    struct got *g = ctx;
    assert_int_equal(n, EP_N);
    assert_null(f[EP_EXPERIMENT]);      /* a label: not in the part */
    assert_null(f[EP_SHOTS]);
    size_t len = strlen(g->text);
    snprintf(g->text + len, sizeof g->text - len, "%s|%s|%s;", f[EP_EPISODE], f[EP_METRIC],
             f[EP_STATUS]);
    return 0;
}

static void a_part_is_read_by_its_files_columns(void **state)
{
    char *dir = testutil_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/part.csv", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(columns_header(fp, &columns_episodes, columns_episodes.part_first), 0);
    fputs("3,,,,accuracy,0.5,ok\n4,2,,,loss,,diverged\n", fp);
    fclose(fp);
    struct got g = {""};
    struct err e;
    assert_int_equal(columns_read(path, &columns_episodes, columns_episodes.part_first, collect,
                                  &g, &e), 0);
    assert_string_equal(g.text, "3|accuracy|ok;4|loss|diverged;");
    /* the whole file's header is not a part's */
    fp = fopen(path, "w");
    columns_header(fp, &columns_episodes, 0);
    fclose(fp);
    assert_int_equal(columns_read(path, &columns_episodes, columns_episodes.part_first, collect,
                                  &g, &e), ERR_IO);
    assert_contains(e.msg, "header");
    testutil_rmtree(dir);
    free(dir);
}

static void help_prints_every_file_and_the_readme_blocks(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    columns_help(fp, true);
    fclose(fp);
    for (int f = 0; columns_all[f]; f++) {
        char marker[128];
        snprintf(marker, sizeof marker, "<!-- columns:%s:begin -->\n| column | meaning |",
                 columns_all[f]->file);
        assert_contains(text, marker);
    }
    assert_contains(text, "| `source_test_accuracy` | accuracy on the test split");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_file_has_unique_explained_columns),
        cmocka_unit_test(the_summary_key_is_named_as_in_episodes),
        cmocka_unit_test(a_part_is_read_by_its_files_columns),
        cmocka_unit_test(help_prints_every_file_and_the_readme_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
