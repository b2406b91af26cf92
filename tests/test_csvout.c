/* test_csvout: exact CSV text (quoting, empty fields, numbers), locale
 * immunity, float round trips, and strict reading back with located errors. */
#include "testutil.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "harness/csvout.h"

/* The text csvout_write_row produces for r; caller frees. */
static char *row_text(const struct csvout_row *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    assert_non_null(fp);
    assert_int_equal(csvout_write_row(fp, r), 0);
    assert_int_equal(fclose(fp), 0);
    return text;
}

static void quoting_only_when_needed(void **state)
{
    struct csvout_row r;
    csvout_init(&r);
    csvout_str(&r, "plain");
    csvout_str(&r, "with,comma");
    csvout_str(&r, "say \"hi\"");
    csvout_str(&r, "two\nlines");
    csvout_str(&r, "cr\rhere");
    csvout_str(&r, " lead");
    csvout_str(&r, "trail ");
    csvout_str(&r, "\ttab");
    csvout_str(&r, "in side");   /* inner spaces need no quotes */
    csvout_str(&r, "");
    csvout_str(&r, NULL);
    csvout_empty(&r);
    char *text = row_text(&r);
    assert_string_equal(text, "plain,\"with,comma\",\"say \"\"hi\"\"\",\"two\nlines\","
                              "\"cr\rhere\",\" lead\",\"trail \",\"\ttab\",in side,,,\n");
    free(text);
    /* One empty field alone must not become a blank line (readers skip those). */
    csvout_reset(&r);
    csvout_empty(&r);
    text = row_text(&r);
    assert_string_equal(text, "\"\"\n");
    free(text);
    csvout_free(&r);
    csvout_free(NULL);
}

/* The field text for v through csvout_f32 (f64 when wide). */
static void check_number(double v, int wide, const char *want)
{
    struct csvout_row r;
    csvout_init(&r);
    assert_int_equal(wide ? csvout_f64(&r, v) : csvout_f32(&r, v), 0);
    assert_string_equal(csvout_field(&r, 0), want);
    csvout_free(&r);
}

static void numbers_print_exactly(void **state)
{
    check_number(0.1f, 0, "0.100000001");      /* the float nearest 0.1 */
    check_number(0.1, 1, "0.10000000000000001");
    check_number(1e-10, 0, "1e-10");
    check_number(-0.0, 0, "-0");
    check_number(0.5, 0, "0.5");
    check_number(3, 0, "3");
    check_number(123456789, 0, "123456789");
    check_number(1234567890, 0, "1.23456789e+09");
    check_number(1.0 / 3, 1, "0.33333333333333331");
    check_number(-2.5e-300, 1, "-2.5e-300");   /* %g trims trailing zeros */
    check_number(NAN, 0, "");                  /* missing value */
    check_number(NAN, 1, "");
    check_number(INFINITY, 0, "inf");
    check_number(-INFINITY, 1, "-inf");

    struct csvout_row r;
    csvout_init(&r);
    csvout_int(&r, LLONG_MIN);
    csvout_int(&r, 9007199254740993LL);        /* 2^53 + 1: no double in between */
    csvout_int(&r, 0);
    csvout_f32(&r, 0.75);
    csvout_f32(&r, NAN);
    char *text = row_text(&r);
    assert_string_equal(text, "-9223372036854775808,9007199254740993,0,0.75,\n");
    free(text);
    csvout_free(&r);
}

/* "%.9g" brings every float back bit for bit, "%.17g" every double. */
static void floats_round_trip(void **state)
{
    struct rng g;
    rng_stream(&g, 11, RNG_DATA, 0);
    struct csvout_row r;
    csvout_init(&r);
    for (int i = 0; i < 2000; i++) {
        /* Random magnitudes from 1e-30 to 1e30, both signs. */
        double d = (rng_uniform(&g) - 0.5) * pow(10, rng_range(&g, -30, 30));
        float f = (float)d;
        csvout_reset(&r);
        csvout_f32(&r, f);
        csvout_f64(&r, d);
        float f_back = strtof(csvout_field(&r, 0), NULL);
        double d_back = strtod(csvout_field(&r, 1), NULL);
        assert_memory_equal(&f_back, &f, sizeof f);
        assert_memory_equal(&d_back, &d, sizeof d);
    }
    csvout_free(&r);
}

/* A program that switches LC_NUMERIC to a decimal-comma locale still gets
 * '.'. Skipped when no such locale is installed. */
static void decimal_point_ignores_locale(void **state)
{
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *found = NULL;
    for (int i = 0; i < 5 && !found; i++)
        if (setlocale(LC_NUMERIC, names[i]))
            found = names[i];
    if (!found)
        skip();
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 0.5);
    int comma = strcmp(probe, "0,5") == 0;   /* the locale is really in effect */
    struct csvout_row r;
    csvout_init(&r);
    csvout_f32(&r, 0.5);
    csvout_f64(&r, -1.25e-7);
    csvout_f32(&r, 0.1f);
    char *text = row_text(&r);
    csvout_free(&r);
    setlocale(LC_NUMERIC, "C");
    assert_true(comma);
    assert_string_equal(text, "0.5,-1.2499999999999999e-07,0.100000001\n");
    free(text);
}

static void write_errors_are_reported(void **state)
{
    FILE *fp = fopen("/dev/full", "w");
    if (!fp)
        skip();
    setvbuf(fp, NULL, _IONBF, 0);   /* fail on the write itself, not at fclose */
    struct csvout_row r;
    csvout_init(&r);
    csvout_str(&r, "x");
    assert_int_equal(csvout_write_row(fp, &r), ERR_IO);
    const char *names[2] = {"a", "b"};
    assert_int_equal(csvout_write_header(fp, names, 2), ERR_IO);
    fclose(fp);
    csvout_free(&r);
}

/* ---- records: fields by column ---- */

static void a_record_writes_columns_in_order_whatever_order_they_were_set(void **state)
{
    struct csvrec r;
    assert_int_equal(csvrec_init(&r, 5), 0);
    csvrec_f32(&r, 3, 0.1f);   // a float: nine digits
    csvrec_str(&r, 0, "a,b");
    csvrec_empty(&r, 4);
    csvrec_int(&r, 1, -7);
    csvrec_f64(&r, 2, 0.1);
    csvrec_str(&r, 2, "later wins");    /* set twice: the last value */
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    assert_int_equal(csvrec_write(fp, &r, 0, 5), 0);
    assert_int_equal(csvrec_write(fp, &r, 3, 5), 0);    /* a part's slice */
    assert_int_equal(csvrec_write(fp, &r, 4, 5), 0);    /* one empty field: not a blank line */
    fclose(fp);
    assert_string_equal(text, "\"a,b\",-7,later wins,0.100000001,\n0.100000001,\n\"\"\n");
    assert_string_equal(csvrec_get(&r, 1), "-7");
    free(text);
    csvrec_reset(&r);
    csvrec_str(&r, 0, "again");
    assert_string_equal(csvrec_get(&r, 0), "again");
    csvrec_free(&r);
    csvrec_free(NULL);
}

static void a_record_reports_write_errors(void **state)
{
    FILE *fp = fopen("/dev/full", "w");
    if (!fp)
        skip();
    setvbuf(fp, NULL, _IONBF, 0);
    struct csvrec r;
    assert_int_equal(csvrec_init(&r, 2), 0);
    csvrec_str(&r, 0, "x"), csvrec_str(&r, 1, "y");
    assert_int_equal(csvrec_write(fp, &r, 0, 2), ERR_IO);
    fclose(fp);
    csvrec_free(&r);
}

/* ---- reading ---- */

static const char *const cols[3] = {"name", "seed", "value"};

/* Collects every field of every record into one growing string,
 * "f1|f2|f3;" per record, and remembers the last record number. */
struct sink {
    char text[4096];
    long last_record;
    int stop_at;   /* record number at which to fail with ERR_NUMERIC, or 0 */
};

static int collect(void *ctx, const char *const *fields, int n, long record, struct err *e)
{
    struct sink *s = ctx;
    assert_int_equal(n, 3);
    s->last_record = record;
    if (record == s->stop_at)
        return err_set(e, ERR_NUMERIC, "stopped at record %ld", record);
    for (int i = 0; i < n; i++) {
        strcat(s->text, fields[i]);
        strcat(s->text, i + 1 < n ? "|" : ";");
    }
    return 0;
}

/* Read text (written to a scratch file) with the 3-column header. */
static int read_text(const char *text, struct sink *s, struct err *e)
{
    char *dir = testutil_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/t.csv", dir);
    testutil_write(path, text, strlen(text));
    memset(s, 0, sizeof *s);
    err_clear(e);
    int rc = csvin_read(path, cols, 3, collect, s, e);
    testutil_rmtree(dir);
    free(dir);
    return rc;
}

static void write_then_read_round_trip(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    assert_int_equal(csvout_write_header(fp, cols, 3), 0);
    struct csvout_row r;
    csvout_init(&r);
    const char *names[3] = {"a,b", " spaced \"q\" ", "multi\r\nline"};
    for (int i = 0; i < 3; i++) {
        csvout_reset(&r);
        csvout_str(&r, names[i]);
        csvout_int(&r, i);
        i == 1 ? csvout_empty(&r) : csvout_f32(&r, 0.25 * i);
        assert_int_equal(csvout_write_row(fp, &r), 0);
    }
    csvout_free(&r);
    fclose(fp);
    struct sink s;
    struct err e;
    assert_int_equal(read_text(text, &s, &e), 0);
    assert_string_equal(s.text, "a,b|0|0; spaced \"q\" |1|;multi\r\nline|2|0.5;");
    assert_int_equal(s.last_record, 4);
    free(text);
}

static void reader_accepts_crlf_blank_lines_and_no_final_newline(void **state)
{
    struct sink s;
    struct err e;
    assert_int_equal(read_text("name,seed,value\r\nx,1,2\r\n\r\ny, 3 ,4", &s, &e), 0);
    assert_string_equal(s.text, "x|1|2;y| 3 |4;");
    /* Header only: no data, no error. */
    assert_int_equal(read_text("name,seed,value\n", &s, &e), 0);
    assert_string_equal(s.text, "");
}

static void reader_refuses_wrong_header(void **state)
{
    struct sink s;
    struct err e;
    assert_int_equal(read_text("name,sed,value\nx,1,2\n", &s, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "t.csv: record 1: header column 2 is 'sed' (expected 'seed'; "
                                  "expected header: name,seed,value)"));
    assert_string_equal(s.text, "");   /* no row reached the callback */
    assert_int_equal(read_text("name,seed\n", &s, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "header has 2 columns (expected 3: name,seed,value)"));
    assert_int_equal(read_text("name,seed,value,extra\n", &s, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "header has 4 columns (expected 3"));
    assert_int_equal(read_text("", &s, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "t.csv: empty file (expected header: name,seed,value)"));
}

static void reader_locates_bad_records(void **state)
{
    struct sink s;
    struct err e;
    assert_int_equal(read_text("name,seed,value\nx,1,2\ny,2\n", &s, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "t.csv: record 3: 2 fields (expected 3)"));
    assert_string_equal(s.text, "x|1|2;");
    assert_int_equal(read_text("name,seed,value\nx,1,2\n\"y\"z,1,2\n", &s, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "t.csv: record 3: malformed CSV"));
    assert_int_equal(read_text("name,seed,value\n\"unterminated,1,2\n", &s, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "t.csv: record 2: malformed CSV"));
    /* The callback's error stops the read and comes back unchanged. */
    memset(&s, 0, sizeof s);
    s.stop_at = 3;
    char *dir = testutil_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/stop.csv", dir);
    const char *text = "name,seed,value\na,1,2\nb,1,2\nc,1,2\n";
    testutil_write(path, text, strlen(text));
    assert_int_equal(csvin_read(path, cols, 3, collect, &s, &e), ERR_NUMERIC);
    assert_string_equal(e.msg, "stopped at record 3");
    assert_int_equal(s.last_record, 3);
    assert_string_equal(s.text, "a|1|2;");
    assert_int_equal(csvin_read("/nonexistent/x.csv", cols, 3, collect, &s, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "/nonexistent/x.csv: cannot open"));
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quoting_only_when_needed),
        cmocka_unit_test(numbers_print_exactly),
        cmocka_unit_test(floats_round_trip),
        cmocka_unit_test(decimal_point_ignores_locale),
        cmocka_unit_test(write_errors_are_reported),
        cmocka_unit_test(a_record_writes_columns_in_order_whatever_order_they_were_set),
        cmocka_unit_test(a_record_reports_write_errors),
        cmocka_unit_test(write_then_read_round_trip),
        cmocka_unit_test(reader_accepts_crlf_blank_lines_and_no_final_newline),
        cmocka_unit_test(reader_refuses_wrong_header),
        cmocka_unit_test(reader_locates_bad_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
