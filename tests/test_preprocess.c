/* test_preprocess: scale and source-only standardisation against naive
 * statistics; rows converted in one pass with the bits of step by step. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "tasks/preprocess.h"

enum { ROWS = 11, DIM = 3, SOURCE = 10 };

/* "toy": ROWS rows of DIM features; feature 1 is the constant 7. Row 10 is
 * the target row, set to `target`. */
static void make_f32(struct dataset *d, float target)
{
    dataset_init(d);
    d->name = strdup("toy");
    d->kind = DATASET_CLASSIFICATION;
    d->storage = DATASET_F32;
    d->n = ROWS;
    d->dim = DIM;
    d->x_f32 = malloc(sizeof(float) * ROWS * DIM);
    d->labels = calloc(ROWS, sizeof(int));
    d->n_classes = 1;
    struct rng r;
    rng_stream(&r, 1, RNG_DATA, 0);
    for (int i = 0; i < SOURCE; i++) {
        d->x_f32[i * DIM + 0] = (float)rng_range(&r, -3, 9);
        d->x_f32[i * DIM + 1] = 7.0f;
        d->x_f32[i * DIM + 2] = (float)(100 + 10 * rng_normal(&r));
    }
    for (int j = 0; j < DIM; j++)
        d->x_f32[SOURCE * DIM + j] = target;
}

/* dataset_rows converts, scales and shifts in one vectorised pass: the
 * bits of doing each in turn (each rounded to float), for bytes and floats,
 * with either map absent, on rows whose width is no multiple of a vector. */
static void rows_have_the_bits_of_each_step_in_turn(void **state)
{
    enum { N = 5, W = 37 };
    struct rng r;
    rng_stream(&r, 3, RNG_DATA, 0);
    uint8_t bytes[N * W];
    float floats[N * W], mul[W], add[W];
    for (int i = 0; i < N * W; i++)
        bytes[i] = (uint8_t)rng_below(&r, 256), floats[i] = (float)rng_range(&r, -50, 50);
    floats[3] = -0.0f;
    for (int j = 0; j < W; j++)
        mul[j] = (float)rng_range(&r, -2, 2), add[j] = (float)rng_range(&r, -1, 1);
    const int idx[3] = {4, 0, 2};
    for (int storage = 0; storage < 2; storage++)
        for (int maps = 0; maps < 4; maps++) {
            const float *m = maps & 1 ? mul : NULL, *a = maps & 2 ? add : NULL;
            struct dataset d;
            dataset_init(&d);
            d.storage = storage ? DATASET_F32 : DATASET_U8;
            d.n = N, d.dim = W;
            d.x_u8 = storage ? NULL : bytes;
            d.x_f32 = storage ? floats : NULL;
            float out[3 * W], want[3 * W];
            dataset_rows(&d, idx, 3, m, a, out);
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < W; j++) {
                    const int at = idx[i] * W + j;
                    volatile float v = storage ? floats[at] : (float)bytes[at];
                    if (m)
                        v = v * m[j];
                    if (a)
                        v = v + a[j];
                    want[i * W + j] = v;
                }
            assert_memory_equal(out, want, sizeof out);
        }
}

static void scale_divides_every_feature(void **state)
{
    struct dataset d;
    dataset_init(&d);
    d.kind = DATASET_CLASSIFICATION;
    d.storage = DATASET_U8;
    d.n = 2;
    d.dim = 4;
    uint8_t bytes[8] = {0, 51, 102, 255, 1, 2, 3, 4};
    d.x_u8 = bytes;
    struct preprocess p;
    assert_int_equal(preprocess_scale(&p, 4, 255, NULL), 0);
    assert_int_equal(p.dim, 4);
    float out[8];
    const int idx[2] = {1, 0};
    dataset_rows(&d, idx, 2, p.mul, p.add, out);
    for (int j = 0; j < 4; j++) {
        assert_close(out[4 + j], bytes[j] / 255.0, 1e-7, 0);
        assert_close(out[j], bytes[4 + j] / 255.0, 1e-7, 0);
    }
    assert_true(out[4 + 3] == 1.0f && out[4] == 0.0f);
    preprocess_free(&p);
    preprocess_free(&p);
    preprocess_free(NULL);

    struct err e;
    assert_int_equal(preprocess_scale(&p, 4, 0, &e), ERR_USAGE);
    assert_string_equal(e.msg, "scale: 0 (expected a finite number > 0)");
    assert_int_equal(preprocess_scale(&p, 4, NAN, &e), ERR_USAGE);
    preprocess_free(&p);
}

static void standardise_matches_naive_statistics(void **state)
{
    struct dataset d;
    make_f32(&d, 0);
    int src[SOURCE];
    for (int i = 0; i < SOURCE; i++)
        src[i] = i;
    struct preprocess p;
    assert_int_equal(preprocess_standardise(&p, &d, src, SOURCE, NULL), 0);
    for (int j = 0; j < DIM; j++) {
        double sum = 0, var = 0;
        for (int i = 0; i < SOURCE; i++)
            sum += d.x_f32[i * DIM + j];
        double mean = sum / SOURCE;
        for (int i = 0; i < SOURCE; i++)
            var += pow(d.x_f32[i * DIM + j] - mean, 2) / SOURCE;
        double sd = var > 0 ? sqrt(var) : 1; /* the documented constant-feature rule */
        assert_close(p.mul[j], 1 / sd, 0, 1e-6);
        assert_close(p.add[j], -mean / sd, 1e-6, 1e-6);
    }
    assert_true(p.mul[1] == 1.0f && p.add[1] == -7.0f);

    /* Applied to the source rows: mean 0, population std 1; the constant
     * feature is exactly 0. */
    float out[SOURCE * DIM];
    dataset_rows(&d, src, SOURCE, p.mul, p.add, out);
    for (int j = 0; j < DIM; j++) {
        double m = 0, s = 0;
        for (int i = 0; i < SOURCE; i++)
            m += out[i * DIM + j] / (double)SOURCE;
        for (int i = 0; i < SOURCE; i++)
            s += pow(out[i * DIM + j] - m, 2) / SOURCE;
        assert_close(m, 0.0, 1e-5, 0);
        assert_close(sqrt(s), j == 1 ? 0.0 : 1.0, 1e-5, 0);
    }
    for (int i = 0; i < SOURCE; i++)
        assert_true(out[i * DIM + 1] == 0.0f);
    preprocess_free(&p);
    dataset_free(&d);
}

static void standardise_ignores_target_rows(void **state)
{
    /* Row 10 (a target row) holds 1e6 in one dataset and 0 in the other:
     * statistics over rows 0..9 must be identical bit for bit, and would be
     * far off if row 10 leaked in. Source rows given in another order too. */
    struct dataset huge, tame;
    make_f32(&huge, 1e6f);
    make_f32(&tame, 0.0f);
    int src[SOURCE], reversed[SOURCE], all[ROWS];
    for (int i = 0; i < SOURCE; i++)
        src[i] = i, reversed[i] = SOURCE - 1 - i;
    for (int i = 0; i < ROWS; i++)
        all[i] = i;
    struct preprocess a, b, c;
    assert_int_equal(preprocess_standardise(&a, &huge, src, SOURCE, NULL), 0);
    assert_int_equal(preprocess_standardise(&b, &tame, src, SOURCE, NULL), 0);
    assert_int_equal(preprocess_standardise(&c, &huge, all, ROWS, NULL), 0);
    assert_memory_equal(a.mul, b.mul, sizeof(float) * DIM);
    assert_memory_equal(a.add, b.add, sizeof(float) * DIM);
    assert_true(c.mul[0] < a.mul[0] / 100); /* including row 10 would change everything */
    preprocess_free(&b);
    assert_int_equal(preprocess_standardise(&b, &huge, reversed, SOURCE, NULL), 0);
    for (int j = 0; j < DIM; j++) {
        assert_close(a.mul[j], b.mul[j], 0, 1e-6);
        assert_close(a.add[j], b.add[j], 1e-6, 1e-6);
    }
    preprocess_free(&a), preprocess_free(&b), preprocess_free(&c);

    struct err e;
    const int bad[2] = {0, 11};
    assert_int_equal(preprocess_standardise(&a, &huge, bad, 2, &e), ERR_USAGE);
    assert_string_equal(e.msg, "standardise: row 11 of toy (expected 0..10)");
    assert_int_equal(preprocess_standardise(&a, &huge, bad, 0, &e), ERR_USAGE);
    preprocess_free(&a);
    dataset_free(&huge), dataset_free(&tame);
}

static void standardise_reads_bytes(void **state)
{
    /* u8 storage: feature 0 takes 0, 10, 20, 30 (mean 15, std √125),
     * feature 1 is always 200. */
    struct dataset d;
    dataset_init(&d);
    d.kind = DATASET_CLASSIFICATION;
    d.storage = DATASET_U8;
    d.n = 4;
    d.dim = 2;
    uint8_t bytes[8] = {0, 200, 10, 200, 20, 200, 30, 200};
    d.x_u8 = bytes;
    const int rows[4] = {0, 1, 2, 3};
    struct preprocess p;
    assert_int_equal(preprocess_standardise(&p, &d, rows, 4, NULL), 0);
    assert_close(p.mul[0], 1 / sqrt(125.0), 0, 1e-7);
    assert_close(p.add[0], -15 / sqrt(125.0), 0, 1e-7);
    assert_true(p.mul[1] == 1.0f && p.add[1] == -200.0f);
    preprocess_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scale_divides_every_feature),
        cmocka_unit_test(rows_have_the_bits_of_each_step_in_turn),
        cmocka_unit_test(standardise_matches_naive_statistics),
        cmocka_unit_test(standardise_ignores_target_rows),
        cmocka_unit_test(standardise_reads_bytes),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
