/* test_err: the one location formatter every located message goes through,
 * prefixes, and the exit statuses DESIGN.md assigns to each code. */
#include "testutil.h"

#include <string.h>

#include "harness/base/err.h"

static void a_location_reads_file_line_col_path_message(void **state)
{
    struct err e;
    err_clear(&e);
    assert_int_equal(err_at(&e, ERR_USAGE, "x.yaml", 12, 5, "learners.a.steps",
                            "expected %s", "an integer"), ERR_USAGE);
    assert_string_equal(e.msg, "x.yaml:12:5: learners.a.steps: expected an integer");
    assert_int_equal(e.code, ERR_USAGE);
    err_at(&e, ERR_IO, NULL, 0, 0, "source", "no rows");
    assert_string_equal(e.msg, "source: no rows");
    err_at(&e, ERR_IO, "x.yaml", 1, 2, "", "empty path");
    assert_string_equal(e.msg, "x.yaml:1:2: empty path");
    err_at(&e, ERR_IO, NULL, 0, 0, NULL, "bare");
    assert_string_equal(e.msg, "bare");
    assert_int_equal(err_at(NULL, ERR_IO, "f", 1, 1, NULL, "ignored"), ERR_IO);
}

static void a_prefix_keeps_the_message_and_its_code(void **state)
{
    struct err e;
    err_clear(&e);
    err_set(&e, ERR_USAGE, "class 7 has 12 examples");
    assert_int_equal(err_prefix_at(&e, "x.yaml", 20, 3, "targets.t (split test)"), ERR_USAGE);
    assert_string_equal(e.msg, "x.yaml:20:3: targets.t (split test): class 7 has 12 examples");
    err_prefix(&e, "sweep variant %s", "lr=1");
    assert_contains(e.msg, "sweep variant lr=1: x.yaml:20:3:");
}

static void a_long_message_is_cut_not_overrun(void **state)
{
    struct err e;
    char long_path[3000];
    memset(long_path, 'k', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';
    err_at(&e, ERR_USAGE, "f.yaml", 1, 1, long_path, "%s", long_path);
    assert_true(strlen(e.msg) < ERR_MSG_MAX);
    assert_true(strncmp(e.msg, "f.yaml:1:1: kkk", 15) == 0);
}

static void codes_map_to_the_documented_exit_statuses(void **state)
{
    assert_int_equal(err_exit_status(ERR_OK), 0);
    assert_int_equal(err_exit_status(ERR_IO), 1);
    assert_int_equal(err_exit_status(ERR_NOMEM), 1);
    assert_int_equal(err_exit_status(ERR_NUMERIC), 1);
    assert_int_equal(err_exit_status(ERR_USAGE), 2);
    assert_int_equal(err_exit_status(ERR_STOPPED), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_location_reads_file_line_col_path_message),
        cmocka_unit_test(a_prefix_keeps_the_message_and_its_code),
        cmocka_unit_test(a_long_message_is_cut_not_overrun),
        cmocka_unit_test(codes_map_to_the_documented_exit_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
