/* test_energy: the RAPL reader on a fake powercap tree — package zones
 * only, a counter that wraps, the CPU-time share — and the estimate when
 * nothing can be read. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/energy.h"

static void put(const char *dir, const char *zone, const char *file, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, zone);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", dir, zone, file);
    testutil_write(path, text, strlen(text));
}

static void package_counters_are_read_and_a_wrap_is_one_range(void **state)
{
    char *dir = testutil_tmpdir();
    put(dir, "intel-rapl:0", "energy_uj", "1000000\n");
    put(dir, "intel-rapl:0", "max_energy_range_uj", "262143328850\n");
    put(dir, "intel-rapl:1", "energy_uj", "262143000000\n");   /* about to wrap */
    put(dir, "intel-rapl:1", "max_energy_range_uj", "262143328850\n");
    put(dir, "intel-rapl:0:0", "energy_uj", "5\n");              /* a subzone: not a package */
    put(dir, "intel-rapl:0:0", "max_energy_range_uj", "100\n");
    put(dir, "intel-rapl-mmio:0", "energy_uj", "5\n");           /* not a package zone either */
    struct energy_meter m;
    energy_open(&m, dir, 10);
    assert_int_equal(m.n, 2);
    struct energy_mark a, b;
    energy_mark(&m, &a);
    assert_true(a.ok);
    assert_true(a.uj[0] == 1000000 && a.uj[1] == 262143000000ULL);
    put(dir, "intel-rapl:0", "energy_uj", "3500000\n");          /* +2.5 J */
    put(dir, "intel-rapl:1", "energy_uj", "671150\n");           /* wrapped: +328850 +671150 µJ = 1 J */
    energy_mark(&m, &b);
    bool measured;
    /* all of the process's CPU time between the marks: the whole 3.5 J */
    double j = energy_joules(&m, &a, &b, 1e9, &measured);
    assert_true(measured);
    assert_close(j, 3.5, 1e-12, 1e-12);
    assert_string_equal(energy_method(measured), "rapl");
    /* a quarter of the process's CPU time: a quarter of the package energy */
    a.process_cpu = 10.0, b.process_cpu = 14.0;
    assert_close(energy_joules(&m, &a, &b, 1.0, &measured), 3.5 / 4, 1e-12, 1e-12);
    /* a counter that cannot be read any more: the estimate, said so */
    put(dir, "intel-rapl:1", "energy_uj", "garbage\n");
    energy_mark(&m, &b);
    assert_false(b.ok);
    assert_close(energy_joules(&m, &a, &b, 2.0, &measured), 20.0, 0, 0);
    assert_false(measured);
    assert_string_equal(energy_method(measured), "estimate");
    testutil_rmtree(dir);
    free(dir);
}

static void nothing_readable_means_the_estimate(void **state)
{
    struct energy_meter m;
    energy_open(&m, "/nonexistent/powercap", 12.5);
    assert_int_equal(m.n, 0);
    struct energy_mark a, b;
    energy_mark(&m, &a);
    energy_mark(&m, &b);
    bool measured = true;
    assert_close(energy_joules(&m, &a, &b, 4.0, &measured), 50.0, 0, 0);
    assert_false(measured);
    char *dir = testutil_tmpdir();   /* a zone without its range is not readable either */
    put(dir, "intel-rapl:0", "energy_uj", "100\n");
    energy_open(&m, dir, 10);
    assert_int_equal(m.n, 0);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(package_counters_are_read_and_a_wrap_is_one_range),
        cmocka_unit_test(nothing_readable_means_the_estimate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
