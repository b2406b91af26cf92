/* test_slurm: the submit script's quoting gives every word back to the
 * shell unchanged; values that cannot be carried are refused. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/slurm.h"

/* What /bin/sh makes of slurm_quote(s): the word printed back. */
static void shell_word(const char *s, char *out, size_t cap)
{
    char *cmd = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&cmd, &len);
    assert_non_null(m);
    fputs("printf '%s' ", m);
    slurm_quote(m, s);
    fclose(m);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    free(cmd);
}

static void quoted_words_come_back_unchanged(void **state)
{
    const char *words[] = {"plain", "with space", "it's", "'", "''", "$HOME `id` $(id) \\ \"x\"",
                           "a*b?[c]", "semi;colon&amp|pipe", "tab\there", "-o"};
    char got[256];
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        shell_word(words[i], got, sizeof got);
        assert_string_equal(got, words[i]);
    }
}

static int script(const struct slurm_job *j, const struct slurm_opts *o, char **text,
                  struct err *e)
{
    size_t len = 0;
    FILE *m = open_memstream(text, &len);
    assert_non_null(m);
    int rc = slurm_script(m, j, o, e);
    fclose(m);
    return rc;
}

static void the_script_chains_three_jobs_or_two(void **state)
{
    char *ovr[] = {"seeds=[0, 1]"};
    struct slurm_job j = {.name = "my exp", .kshot = "/opt/kshot", .config = "/c/x y.yaml",
                          .results = "/r/it's", .workdir = "/w", .overrides = ovr,
                          .n_overrides = 1, .pretrain_units = 2, .eval_units = 40};
    struct slurm_opts o = {.cpus = 2, .time = "1:00:00", .partition = "short"};
    char *text = NULL;
    struct err e;
    assert_int_equal(script(&j, &o, &text, &e), ERR_OK);
    assert_contains(text, "pretrain=$(submit --array=0-1 ");   /* no more tasks than units */
    assert_contains(text, "--array=0-31 --dependency=afterok:\"$pretrain\"");   /* at most 32 */
    assert_contains(text, "--dependency=afterany:\"$evaluate\"");
    assert_contains(text, "#SBATCH --job-name=kshot-my_exp-eval\n");
    assert_contains(text, "#SBATCH --cpus-per-task=2\n#SBATCH --ntasks=1\n#SBATCH --partition=short\n"
                          "#SBATCH --time=1:00:00\n");
    assert_contains(text, "exec '/opt/kshot' run '/c/x y.yaml' 'seeds=[0, 1]' -o '/r/it'\\''s' "
                          "-q -j 2 --only eval\n");
    assert_contains(text, "exec '/opt/kshot' merge '/r/it'\\''s'\n");
    free(text);
    j.pretrain_units = 0;   /* nothing to pretrain: two jobs */
    o.tasks = 5;
    assert_int_equal(script(&j, &o, &text, &e), ERR_OK);
    assert_null(strstr(text, "pretrain=$("));
    assert_contains(text, "evaluate=$(submit --array=0-4 --output=");
    free(text);
}

static void what_a_script_cannot_carry_is_refused(void **state)
{
    struct slurm_job j = {.name = "x", .kshot = "/k", .config = "/c.yaml", .results = "/r",
                          .workdir = "/w", .eval_units = 1};
    struct slurm_opts o = {.cpus = 1, .mem = "4G extra"};
    char *text = NULL;
    struct err e;
    assert_int_equal(script(&j, &o, &text, &e), ERR_USAGE);
    assert_contains(e.msg, "--mem '4G extra'");
    free(text);
    o.mem = NULL;
    j.results = "/r/two\nlines";
    assert_int_equal(script(&j, &o, &text, &e), ERR_USAGE);
    assert_contains(e.msg, "line break");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quoted_words_come_back_unchanged),
        cmocka_unit_test(the_script_chains_three_jobs_or_two),
        cmocka_unit_test(what_a_script_cannot_carry_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
