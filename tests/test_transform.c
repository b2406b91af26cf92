/* test_transform: permutation, rotation and noise against index arithmetic and moments. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "tasks/transform.h"

static void permutation_is_a_fixed_bijection_per_task(void **state)
{
    enum { DIM = 50 };
    struct transform t, same, other;
    assert_int_equal(transform_permutation_init(&t, DIM, 6, 100, NULL), 0);
    assert_int_equal(transform_permutation_init(&same, DIM, 6, 100, NULL), 0);
    assert_int_equal(transform_permutation_init(&other, DIM, 6, 101, NULL), 0);
    int seen[DIM] = {0}, moved = 0, differ = 0;
    for (int j = 0; j < DIM; j++) {
        assert_true(t.perm[j] >= 0 && t.perm[j] < DIM);
        seen[t.perm[j]]++;
        moved += t.perm[j] != j;
        differ += t.perm[j] != other.perm[j];
        assert_int_equal(t.perm[j], same.perm[j]);
    }
    for (int j = 0; j < DIM; j++)
        assert_int_equal(seen[j], 1);
    assert_true(moved > 40);  /* a uniform permutation fixes ~1 point */
    assert_true(differ > 40); /* another task, another permutation */

    /* Identity data: one pass gives perm, two give perm∘perm. */
    float x[2 * DIM];
    for (int i = 0; i < 2 * DIM; i++)
        x[i] = (float)(i % DIM);
    assert_int_equal(transform_apply(&t, x, NULL, 2, NULL), 0);
    for (int j = 0; j < DIM; j++)
        assert_true(x[j] == t.perm[j] && x[DIM + j] == t.perm[j]);
    assert_int_equal(transform_apply(&t, x, NULL, 2, NULL), 0);
    for (int j = 0; j < DIM; j++)
        assert_true(x[DIM + j] == t.perm[t.perm[j]]);
    transform_free(&t), transform_free(&same), transform_free(&other);
    transform_free(NULL);
}

/* x[r·n + c] = distinct values, so any misplaced pixel shows. */
static void fill_square(float *x, int n)
{
    for (int i = 0; i < n * n; i++)
        x[i] = (float)(3 * i + 1);
}

static void quarter_turns_are_index_rotations(void **state)
{
    for (int n = 4; n <= 5; n++) {
        float in[25], out[25];
        fill_square(in, n);
        static const double angles[] = {0, 90, 180, 270, -90, 360, 450};
        for (int a = 0; a < 7; a++) {
            struct transform t;
            assert_int_equal(transform_rotation_init(&t, n, n, angles[a], NULL), 0);
            memcpy(out, in, sizeof(float) * n * n);
            assert_int_equal(transform_apply(&t, out, NULL, 1, NULL), 0);
            int quarter = ((int)angles[a] % 360 + 360) % 360 / 90;
            for (int r = 0; r < n; r++)
                for (int c = 0; c < n; c++) {
                    /* Counter-clockwise as displayed: the top-right corner
                     * moves to the top-left after one quarter turn. */
                    int sr = r, sc = c;
                    for (int q = 0; q < quarter; q++) {
                        int t_r = sc, t_c = n - 1 - sr;
                        sr = t_r, sc = t_c;
                    }
                    assert_true(out[r * n + c] == in[sr * n + sc]);
                }
            transform_free(&t);
        }
    }
    /* Spelled out once for 90°: out[r][c] = in[c][n−1−r]. */
    float in[16], out[16];
    fill_square(in, 4);
    memcpy(out, in, sizeof out);
    struct transform t;
    assert_int_equal(transform_rotation_init(&t, 4, 4, 90, NULL), 0);
    assert_int_equal(transform_apply(&t, out, NULL, 1, NULL), 0);
    assert_true(out[0] == in[3] && out[3] == in[15] && out[15] == in[12] && out[12] == in[0]);
    assert_true(out[1 * 4 + 2] == in[2 * 4 + 2]);
    transform_free(&t);
}

static void rotation_turns_a_ramp_and_pads_with_zero(void **state)
{
    /* A horizontal ramp x = c − 4 on a 9×9 image, rotated counter-clockwise
     * by θ, is the ramp cos θ·x + sin θ·y (y = 4 − r, up). Bilinear
     * interpolation reproduces linear functions exactly, so within radius 3
     * of the centre (all taps inside) the match is to float rounding. */
    enum { N = 9 };
    const double theta = 30.0;
    float x[N * N];
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++)
            x[r * N + c] = (float)(c - 4);
    struct transform t;
    assert_int_equal(transform_rotation_init(&t, N, N, theta, NULL), 0);
    assert_int_equal(transform_apply(&t, x, NULL, 1, NULL), 0);
    double cs = cos(theta * M_PI / 180), sn = sin(theta * M_PI / 180);
    int checked = 0;
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) {
            double px = c - 4, py = 4 - r;
            if (px * px + py * py > 9)
                continue;
            assert_close(x[r * N + c], cs * px + sn * py, 1e-5, 0);
            checked++;
        }
    assert_int_equal(checked, 29);
    transform_free(&t);

    /* A constant image turned 45°: the centre keeps its value exactly, the
     * corners sample only outside the image and become 0, the top middle
     * samples inside, and pixel (0, 1) samples at row 4 − 7/√2 ≈ −0.95, so
     * only its row-0 taps are inside, with weight 5 − 7/√2. */
    for (int i = 0; i < N * N; i++)
        x[i] = 1.0f;
    assert_int_equal(transform_rotation_init(&t, N, N, 45, NULL), 0);
    assert_int_equal(transform_apply(&t, x, NULL, 1, NULL), 0);
    assert_true(x[4 * N + 4] == 1.0f);
    assert_true(x[0] == 0.0f && x[N - 1] == 0.0f && x[N * N - 1] == 0.0f);
    assert_close(x[4], 1.0, 1e-6, 0);
    assert_close(x[1], 5 - 7 / sqrt(2.0), 1e-6, 0);
    transform_free(&t);
}

static void noise_depends_on_the_row_not_the_batch(void **state)
{
    enum { DIM = 100, ROWS = 200 };
    const double sigma = 0.3;
    struct transform t, other;
    assert_int_equal(transform_noise_init(&t, DIM, sigma, 12, 5, NULL), 0);
    assert_int_equal(transform_noise_init(&other, DIM, sigma, 12, 6, NULL), 0);
    float a[3 * DIM] = {0}, b[4 * DIM] = {0};
    const int rows_a[3] = {3, 10, 7}, rows_b[4] = {7, 3, 99, 10};
    assert_int_equal(transform_apply(&t, a, rows_a, 3, NULL), 0);
    assert_int_equal(transform_apply(&t, b, rows_b, 4, NULL), 0);
    assert_memory_equal(a, b + DIM, sizeof(float) * DIM);           /* row 3 */
    assert_memory_equal(a + DIM, b + 3 * DIM, sizeof(float) * DIM); /* row 10 */
    assert_memory_equal(a + 2 * DIM, b, sizeof(float) * DIM);       /* row 7 */
    assert_true(a[0] != a[DIM]); /* rows differ from each other */

    /* Reference: row 3's noise is σ·N(0,1) from (12, TASK, 5) → (DATA, 3),
     * feature by feature. */
    struct rng root, r;
    rng_stream(&root, 12, RNG_TASK, 5);
    rng_child(&r, &root, RNG_DATA, 3);
    for (int j = 0; j < DIM; j++)
        assert_true(a[j] == (float)(sigma * rng_normal(&r)));

    /* Moments over ROWS·DIM values added to a constant. */
    float *x = malloc(sizeof *x * ROWS * DIM);
    int *ids = malloc(sizeof *ids * ROWS);
    for (int i = 0; i < ROWS * DIM; i++)
        x[i] = 2.0f;
    for (int i = 0; i < ROWS; i++)
        ids[i] = 1000 + i;
    assert_int_equal(transform_apply(&other, x, ids, ROWS, NULL), 0);
    double sum = 0, sq = 0;
    for (int i = 0; i < ROWS * DIM; i++)
        sum += x[i] - 2.0, sq += (x[i] - 2.0) * (x[i] - 2.0);
    const double n = ROWS * DIM;
    assert_close(sum / n, 0.0, 5 * sigma / sqrt(n), 0);
    assert_close(sqrt(sq / n), sigma, 5 * sigma / sqrt(2 * n), 0);
    free(x), free(ids);

    struct err e;
    assert_int_equal(transform_apply(&t, a, NULL, 3, &e), ERR_USAGE);
    assert_string_equal(e.msg, "transform noise: needs the dataset row ids of the batch");
    assert_int_equal(transform_noise_init(&t, DIM, -1, 12, 5, &e), ERR_USAGE);
    transform_free(&t), transform_free(&other);
}

static void kinds_are_found_by_name(void **state)
{
    struct err e;
    assert_int_equal(transform_kind_lookup("rotation", &e), TRANSFORM_ROTATION);
    assert_int_equal(transform_kind_lookup("noise", &e), TRANSFORM_NOISE);
    assert_string_equal(transform_kind_name(TRANSFORM_PERMUTATION), "permutation");
    assert_int_equal(transform_kind_lookup("blur", &e), ERR_USAGE);
    assert_string_equal(e.msg, "transform: unknown kind 'blur' "
                               "(expected one of: identity, permutation, rotation, noise)");
    /* The identity leaves data alone. */
    struct transform t;
    transform_init(&t);
    float x[3] = {1, 2, 3};
    assert_int_equal(transform_apply(&t, x, NULL, 1, NULL), 0);
    assert_true(x[0] == 1 && x[1] == 2 && x[2] == 3);
    transform_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(permutation_is_a_fixed_bijection_per_task),
        cmocka_unit_test(quarter_turns_are_index_rotations),
        cmocka_unit_test(rotation_turns_a_ramp_and_pads_with_zero),
        cmocka_unit_test(noise_depends_on_the_row_not_the_batch),
        cmocka_unit_test(kinds_are_found_by_name),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
