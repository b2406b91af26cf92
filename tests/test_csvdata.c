/* test_csvdata: CSV tables written here read back exactly; every bad table refused with record, line and field. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "tasks/csvdata.h"

static int make_dir(void **state)
{
    *state = testutil_tmpdir();
    return 0;
}

static int remove_dir(void **state)
{
    testutil_rmtree(*state);
    free(*state);
    return 0;
}

/* Write text to DIR/t.csv; the path stays valid until the next call. */
static const char *table(void **state, const char *text)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/t.csv", (const char *)*state);
    testutil_write(path, text, strlen(text));
    return path;
}

static const struct csvdata_options by_label = {.label = "l"};

static void load_ok(const char *path, const struct csvdata_options *o, struct dataset *d)
{
    struct err e = {0};
    dataset_init(d);
    int rc = csvdata_load(path, o, d, &e);
    if (rc)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(d->storage, DATASET_F32);
    assert_null(d->x_u8);
    assert_int_equal(d->rows, 0);
    assert_int_equal(d->cols, 0);
    assert_string_equal(d->name, path);
}

static void expect_error(void **state, const char *text, const struct csvdata_options *o,
                         int code, const char *sub1, const char *sub2)
{
    const char *path = table(state, text);
    struct dataset d;
    struct err e = {0};
    dataset_init(&d);
    int rc = csvdata_load(path, o, &d, &e);
    if (rc != code)
        print_error("rc %d, message: %s\n", rc, e.msg);
    assert_int_equal(rc, code);
    assert_contains(e.msg, path);
    assert_contains(e.msg, sub1);
    if (sub2)
        assert_contains(e.msg, sub2);
    assert_null(d.x_f32);
    assert_null(d.labels);
    assert_null(d.name);
}

static void assert_floats(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_close(got[i], want[i], 0, 0);        /* exact: all values are dyadic */
}

static void class_names_sorted_by_strcmp(void **state)
{
    const char *path = table(state, "petal,sepal,species\n"
                                    "1.5,0.25,virginica\n"
                                    "2,-3,setosa\n"
                                    "4.75,8,versicolor\n"
                                    "0.5,1e2,setosa\n");
    const struct csvdata_options o = {.label = "species"};
    struct dataset d;
    load_ok(path, &o, &d);
    assert_int_equal(d.kind, DATASET_CLASSIFICATION);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.dim, 2);
    const float x[8] = {1.5f, 0.25f, 2, -3, 4.75f, 8, 0.5f, 100};
    assert_floats(d.x_f32, x, 8);
    assert_int_equal(d.n_classes, 3);
    assert_string_equal(d.class_names[0], "setosa");
    assert_string_equal(d.class_names[1], "versicolor");
    assert_string_equal(d.class_names[2], "virginica");
    const int want[4] = {2, 0, 1, 0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(d.labels[i], want[i]);
    assert_int_equal(dataset_class_lookup(&d, "versicolor"), 1);
    assert_null(d.targets);
    /* Checksum: CRC32 of the floats, then of the int labels (an independent sum). */
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, (const Bytef *)x, sizeof x);
    c = crc32(c, (const Bytef *)want, sizeof want);
    assert_int_equal(d.checksum, (uint32_t)c);
    dataset_free(&d);
    assert_null(d.class_names);
}

static void integer_labels_are_class_ids(void **state)
{
    const char *path = table(state, "a,l,b\n1,3,2\n4,0,5\n6,7,8\n");
    struct dataset d;
    load_ok(path, &by_label, &d);
    assert_null(d.class_names);
    assert_int_equal(d.n_classes, 8);          /* largest id 7, plus one */
    const int want[3] = {3, 0, 7};
    for (int i = 0; i < 3; i++)
        assert_int_equal(d.labels[i], want[i]);
    const float x[6] = {1, 2, 4, 5, 6, 8};
    assert_floats(d.x_f32, x, 6);
    dataset_free(&d);
}

static void columns_by_index_and_in_given_order(void **state)
{
    /* Label by 0-based index; features in the order asked; "note" unused and not numeric. */
    const char *path = table(state, "kind,b,note,c\n1,0.5,hello,-2\n0,1.5,world,4\n");
    const char *const feats[2] = {"c", "b"};
    const struct csvdata_options o = {.label = "0", .features = feats, .n_features = 2};
    struct dataset d;
    load_ok(path, &o, &d);
    assert_int_equal(d.dim, 2);
    const float x[4] = {-2, 0.5f, 4, 1.5f};
    assert_floats(d.x_f32, x, 4);
    assert_int_equal(d.labels[0], 1);
    assert_int_equal(d.labels[1], 0);
    assert_int_equal(d.n_classes, 2);
    dataset_free(&d);
}

static void regression_targets_in_given_order(void **state)
{
    const char *path = table(state, "x1,y1,x2,y2\n1,10,2,20\n3,30,4,40\n5,50,6,60\n");
    const char *const targets[2] = {"y2", "y1"};
    const struct csvdata_options o = {.targets = targets, .n_targets = 2};
    struct dataset d;
    load_ok(path, &o, &d);
    assert_int_equal(d.kind, DATASET_REGRESSION);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.dim, 2);
    assert_int_equal(d.n_targets, 2);
    assert_null(d.labels);
    assert_int_equal(d.n_classes, 0);
    const float x[6] = {1, 2, 3, 4, 5, 6}, t[6] = {20, 10, 40, 30, 60, 50};
    assert_floats(d.x_f32, x, 6);
    assert_floats(d.targets, t, 6);
    dataset_free(&d);
}

static void quotes_crlf_bom_and_no_final_newline(void **state)
{
    const char *path = table(state, "\xEF\xBB\xBF" "f1,\"f,2\",name\r\n"
                                    "1,\" 2 \",\"Smith, \"\"J\"\"\"\r\n"
                                    "  3 ,\t4,\"two\r\nlines\"\r\n"
                                    "\r\n"
                                    "5,6e0,plain");
    const char *const feats[2] = {"f1", "f,2"};  /* "f1" found only if the BOM is dropped */
    const struct csvdata_options o = {.label = "name", .features = feats, .n_features = 2};
    struct dataset d;
    load_ok(path, &o, &d);
    assert_int_equal(d.n, 3);
    const float x[6] = {1, 2, 3, 4, 5, 6};
    assert_floats(d.x_f32, x, 6);
    assert_int_equal(d.n_classes, 3);
    assert_string_equal(d.class_names[0], "Smith, \"J\"");     /* 'S' < 'p' < 't' */
    assert_string_equal(d.class_names[1], "plain");
    assert_string_equal(d.class_names[2], "two\r\nlines");
    const int want[3] = {0, 2, 1};
    for (int i = 0; i < 3; i++)
        assert_int_equal(d.labels[i], want[i]);
    dataset_free(&d);
}

static void errors_name_record_line_and_field(void **state)
{
    /* The quoted field spans lines 2-3 and line 4 is blank: record 3 starts on line 5. */
    expect_error(state, "a,b,l\n1,2,\"x\ny\"\n\n3,oops,z\n", &by_label, ERR_IO,
                 "record 3 (line 5), field 2 (column \"b\"): non-numeric value \"oops\"",
                 NULL);
    /* Same with CR-only line ends. */
    expect_error(state, "a,b,l\r1,2,\"x\ry\"\r\r3,oops,z\r", &by_label, ERR_IO,
                 "record 3 (line 5), field 2", NULL);
    expect_error(state, "a,b,l\n1,2,x\n3,4\n", &by_label, ERR_IO,
                 "record 3 (line 3): 2 fields, expected 3 as in the header", NULL);
    expect_error(state, "a,b,l\n1,2,x,9\n", &by_label, ERR_IO,
                 "record 2 (line 2): 4 fields, expected 3", NULL);
    expect_error(state, "a,b,l\n1,1.5x,x\n", &by_label, ERR_IO,
                 "field 2 (column \"b\"): non-numeric value \"1.5x\"", NULL);
    expect_error(state, "a,b,l\n1,2,x\nnan,2,y\n", &by_label, ERR_IO,
                 "record 3 (line 3), field 1 (column \"a\"): value \"nan\" is not a finite "
                 "float", NULL);
    expect_error(state, "a,b,l\n1,-inf,x\n", &by_label, ERR_IO,
                 "field 2 (column \"b\"): value \"-inf\" is not a finite float", NULL);
    /* Finite as a double, infinite as a float. */
    expect_error(state, "a,b,l\n1,1e39,x\n", &by_label, ERR_IO,
                 "value \"1e39\" is not a finite float", NULL);
    expect_error(state, "a,b,l\n1,,x\n", &by_label, ERR_IO,
                 "field 2 (column \"b\"): empty value", NULL);
    expect_error(state, "a,b,l\n1,2,x\n1,2,\n", &by_label, ERR_IO,
                 "record 3 (line 3), field 3 (column \"l\"): empty label", NULL);
    const char *const y[1] = {"y"};
    const struct csvdata_options reg = {.targets = y, .n_targets = 1};
    expect_error(state, "x,y\n1,2\n2,inf\n", &reg, ERR_IO,
                 "record 3 (line 3), field 2 (column \"y\"): value \"inf\"", NULL);
}

static void malformed_files_are_refused(void **state)
{
    expect_error(state, "", &by_label, ERR_IO, "empty file (expected a header row)", NULL);
    expect_error(state, "\n\r\n", &by_label, ERR_IO, "empty file", NULL);
    expect_error(state, "a,b,l\n", &by_label, ERR_IO, "no data rows after the header", NULL);
    expect_error(state, "a,b,a,l\n1,2,3,x\n", &by_label, ERR_IO,
                 "record 1 (line 1): duplicate column name \"a\" in fields 1 and 3", NULL);
    expect_error(state, "a,b,l\n1,2,x\n1,2\"3,x\n", &by_label, ERR_IO,
                 "record 3 (line 3): malformed CSV: error parsing data while strict "
                 "checking enabled", NULL);
    /* The stray quote sits on line 4, inside record 2 that starts on line 2. */
    expect_error(state, "a,b,l\n1,2,\"x\n\ny\"z\n", &by_label, ERR_IO,
                 "record 2 (line 4): malformed CSV", NULL);
    expect_error(state, "a,b,l\n1,2,x\n3,4,\"never closed\n5,6,y\n", &by_label, ERR_IO,
                 "record 3 (line 3): a quoted field is not closed before the end of the "
                 "file", NULL);
    expect_error(state, "a,l\n1,3\n2,70000\n", &by_label, ERR_IO,
                 "record 3 (line 3): integer label larger than the largest class id 65535",
                 NULL);
}

static void wrong_columns_are_usage_errors(void **state)
{
    const char *text = "a,b,l\n1,2,x\n";
    const struct csvdata_options species = {.label = "species"};
    expect_error(state, text, &species, ERR_USAGE, "no column \"species\" for the label "
                 "(the file has columns: a, b, l)", NULL);
    const struct csvdata_options index = {.label = "3"};
    expect_error(state, text, &index, ERR_USAGE, "no column \"3\" for the label", NULL);
    const char *const feats[2] = {"a", "c"};
    const struct csvdata_options f = {.label = "l", .features = feats, .n_features = 2};
    expect_error(state, text, &f, ERR_USAGE, "no column \"c\" for the feature (the file has "
                 "columns: a, b, l)", NULL);
    const char *const twice[1] = {"l"};
    const struct csvdata_options t = {.label = "l", .features = twice, .n_features = 1};
    expect_error(state, text, &t, ERR_USAGE, "column \"l\" is named twice (as label and as "
                 "feature)", NULL);
    const struct csvdata_options both = {.label = "l", .targets = twice, .n_targets = 1};
    expect_error(state, text, &both, ERR_USAGE, "both a label column and target columns",
                 NULL);
    const struct csvdata_options neither = {0};
    expect_error(state, text, &neither, ERR_USAGE, "no label column and no target columns",
                 NULL);
    expect_error(state, "l\nx\n", &by_label, ERR_USAGE, "no feature columns left", NULL);

    struct dataset d;
    struct err e = {0};
    dataset_init(&d);
    char missing[1100];
    snprintf(missing, sizeof missing, "%s/absent.csv", (const char *)*state);
    assert_int_equal(csvdata_load(missing, &by_label, &d, &e), ERR_USAGE);
    assert_contains(e.msg, "absent.csv: no such file");
}

/* ROWS rows "i,i/2,cK" (K = i mod 3); every 7th label is quoted and spans two
 * lines. bad: the last row's second field is "bad". Caller frees. */
static char *long_table(int rows, int bad)
{
    size_t cap = 64 * (size_t)rows + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len, "i,half,l\n");
    for (int i = 0; i < rows; i++) {
        len += (size_t)snprintf(text + len, cap - len, "%d,", i);
        if (bad && i == rows - 1)
            len += (size_t)snprintf(text + len, cap - len, "bad,");
        else
            len += (size_t)snprintf(text + len, cap - len, "%.1f,", i * 0.5);
        len += (size_t)snprintf(text + len, cap - len, i % 7 ? "c%d\n" : "\"c%d\nline\"\n",
                                i % 3);
    }
    return text;
}

static void long_file_crosses_read_chunks(void **state)
{
    /* About 90 KB: records straddle the 64 KiB read chunks. */
    enum { ROWS = 5000 };
    char *text = long_table(ROWS, 0);
    const char *path = table(state, text);
    free(text);
    struct dataset d;
    load_ok(path, &by_label, &d);
    assert_int_equal(d.n, ROWS);
    assert_int_equal(d.n_classes, 6);          /* c0 c1 c2 and each "cK\nline" */
    for (int i = 0; i < ROWS; i++) {
        assert_close(d.x_f32[2 * i], i, 0, 0);
        assert_close(d.x_f32[2 * i + 1], i * 0.5, 0, 0);
        int c = i % 3 * 2 + (i % 7 == 0);      /* "cK" < "cK\nline" < "cK+1" */
        assert_int_equal(d.labels[i], c);
    }
    dataset_free(&d);

    /* Row i starts on line 2 + i + (two-line rows before it, i.e. ceil(i / 7)). */
    text = long_table(ROWS, 1);
    char want[96];
    int last = ROWS - 1;
    snprintf(want, sizeof want, "record %d (line %d), field 2 (column \"half\"): "
             "non-numeric value \"bad\"", last + 2, 2 + last + (last + 6) / 7);
    expect_error(state, text, &by_label, ERR_IO, want, NULL);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(class_names_sorted_by_strcmp, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(integer_labels_are_class_ids, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(columns_by_index_and_in_given_order, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(regression_targets_in_given_order, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(quotes_crlf_bom_and_no_final_newline, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(errors_name_record_line_and_field, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(malformed_files_are_refused, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(wrong_columns_are_usage_errors, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(long_file_crosses_read_chunks, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
