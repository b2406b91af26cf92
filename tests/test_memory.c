/* test_memory: sizes as --max-memory reads them; the estimate's rows grow
 * with the episodes and its workers' share with the workers; the shared
 * feature tables are counted once; the limit is found. */
#include "testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "harness/memory.h"
#include "harness/data.h"
#include "harness/plan.h"
#include "plantest.h"

static void sizes_are_read_as_people_write_them(void **state)
{
    uint64_t b;
    struct err e;
    assert_int_equal(memory_parse("1073741824", &b, &e), ERR_OK);
    assert_true(b == 1073741824ULL);
    assert_int_equal(memory_parse("4G", &b, &e), ERR_OK);
    assert_true(b == 4ULL << 30);
    assert_int_equal(memory_parse("512MiB", &b, &e), ERR_OK);
    assert_true(b == 512ULL << 20);
    assert_int_equal(memory_parse("1.5k", &b, &e), ERR_OK);
    assert_true(b == 1536);
    assert_int_equal(memory_parse("2TB", &b, &e), ERR_OK);
    assert_true(b == 2ULL << 40);
    const char *bad[] = {"", "G", "4X", "-1G", "0", "4 G", "nan", "1e30G"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(memory_parse(bad[i], &b, &e), ERR_USAGE);
        assert_contains(e.msg, "expected a size such as 4G");
    }
}

static void rows_grow_with_episodes_and_workers_multiply(void **state)
{
    struct plan small, large;
    const char *ten[] = {"targets.t.episodes=10", "targets.u.episodes=10"};
    const char *many[] = {"targets.t.episodes=100000", "targets.u.episodes=100000"};
    plan_ok(&small, base_yaml, ten, 2);
    plan_ok(&large, base_yaml, many, 2);
    struct mem_estimate a, b, c;
    memory_estimate(&small, NULL, 1, &a);
    memory_estimate(&large, NULL, 1, &b);
    memory_estimate(&large, NULL, 3, &c);
    /* rows: 10,000 times the episodes, 10,000 times the bytes */
    assert_true(a.rows > 0);
    assert_true(b.rows == 10000 * a.rows);
    assert_true(b.per_worker > b.rows &&
                b.total == b.base + b.models + b.tables + b.per_worker);
    assert_true(c.total == c.base + c.models + c.tables + 3 * c.per_worker);
    assert_true(b.models > 0);   /* the plan's pretraining is kept */
    bool none[64] = {false};
    struct mem_estimate d;
    memory_estimate(&large, none, 2, &d);   /* nothing to run: no worker's share */
    assert_true(d.per_worker == 0 && d.models == 0);
    plan_free(&small), plan_free(&large);
}

/* The feature tables are counted once for the run, not per worker, and
 * once for the units that share one; learners without frozen layers make
 * none. */
static void shared_tables_are_counted_once_per_table(void **state)
{
    struct plan with, shared, without;
    const char *probe[] = {"learners.f={kind: finetune, freeze: body, steps: 2}"};
    const char *no_frozen[] = {"learners={a: {kind: finetune, steps: 2}, s: {kind: scratch}}"};
    plan_ok(&with, base_yaml, NULL, 0);
    plan_ok(&shared, base_yaml, probe, 1);
    plan_ok(&without, base_yaml, no_frozen, 1);
    struct mem_estimate a, b, c, d;
    memory_estimate(&with, NULL, 1, &a);
    memory_estimate(&with, NULL, 4, &b);
    memory_estimate(&shared, NULL, 1, &c);
    memory_estimate(&without, NULL, 1, &d);
    /* six prototypes units (two seeds × three target and shot pairs), each
     * at most the target split's rows × 4 features × 4 bytes */
    const struct variant *v = &with.variants[0];
    const struct target_view *tv = data_view(&v->store, 0, TT);
    assert_true(a.tables > 0 && a.tables == 6 * (uint64_t)tv->d->n * 4 * 4);
    assert_true(b.tables == a.tables);
    /* the linear probe's six units draw the same images through the same body */
    assert_true(c.tables == a.tables);
    assert_true(d.tables == 0);
    plan_free(&with), plan_free(&shared), plan_free(&without);
}

static void a_limit_is_found(void **state)
{
    char what[64];
    uint64_t limit = memory_limit(what, sizeof what);
    assert_true(limit >= (64ULL << 20));   /* any machine that runs the tests */
    assert_true(strstr(what, "memory") != NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sizes_are_read_as_people_write_them),
        cmocka_unit_test(rows_grow_with_episodes_and_workers_multiply),
        cmocka_unit_test(shared_tables_are_counted_once_per_table),
        cmocka_unit_test(a_limit_is_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
