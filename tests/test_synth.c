/* test_synth: sinusoid episodes and datasets, Gaussian clusters, against closed forms. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "tasks/synth.h"

/* Moments of U[a, b): mean (a+b)/2, variance (b−a)²/12; over n draws the
 * sample mean has standard error √(var/n) and the sample variance
 * (b−a)²/√(180·n) (fourth central moment (b−a)⁴/80). Five of each. */
static void assert_uniform_moments(const double *v, size_t n, double a, double b)
{
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(v[i] >= a && v[i] <= b);
        sum += v[i];
    }
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        sq += (v[i] - mean) * (v[i] - mean);
    double var = (b - a) * (b - a) / 12;
    assert_close(mean, (a + b) / 2, 5 * sqrt(var / (double)n), 0);
    assert_close(sq / (double)n, var, 5 * (b - a) * (b - a) / sqrt(180.0 * (double)n), 0);
}

static void sinusoid_defaults_are_maml(void **state)
{
    struct sinusoid p;
    synth_sinusoid_defaults(&p);
    assert_true(p.amp_lo == 0.1 && p.amp_hi == 5.0);
    assert_true(p.phase_lo == 0.0 && p.phase_hi == M_PI);
    assert_true(p.x_lo == -5.0 && p.x_hi == 5.0);
    assert_int_equal(synth_sinusoid_check(&p, NULL), 0);
    struct err e;
    p.phase_lo = 4;
    assert_int_equal(synth_sinusoid_check(&p, &e), ERR_USAGE);
    assert_string_equal(e.msg, "sinusoid: phase: [4, 3.14159] (expected finite lo ≤ hi)");
}

static void sinusoid_episodes_match_their_distribution(void **state)
{
    struct sinusoid p;
    synth_sinusoid_defaults(&p);
    p.amp_lo = 0.5, p.amp_hi = 2.0, p.x_lo = -3.0; /* not the defaults, to catch mix-ups */
    enum { N = 3000, K = 4, Q = 6 };
    double *amp = malloc(sizeof *amp * N), *phase = malloc(sizeof *phase * N);
    double *xs_all = malloc(sizeof *xs_all * N * (K + Q));
    float xs[K], ys[K], xq[Q], yq[Q];
    for (int i = 0; i < N; i++) {
        synth_sinusoid_episode(&p, 8, 123, K, Q, (uint64_t)i, xs, ys, xq, yq, &amp[i],
                               &phase[i]);
        for (int k = 0; k < K; k++) {
            assert_true(ys[k] == (float)(amp[i] * sin((double)xs[k] - phase[i])));
            xs_all[i * (K + Q) + k] = xs[k];
        }
        for (int q = 0; q < Q; q++) {
            assert_true(yq[q] == (float)(amp[i] * sin((double)xq[q] - phase[i])));
            xs_all[i * (K + Q) + K + q] = xq[q];
        }
    }
    assert_uniform_moments(amp, N, 0.5, 2.0);
    assert_uniform_moments(phase, N, 0.0, M_PI);
    assert_uniform_moments(xs_all, (size_t)N * (K + Q), -3.0, 5.0);
    free(amp), free(phase), free(xs_all);
}

static void sinusoid_episodes_are_keyed(void **state)
{
    struct sinusoid p;
    synth_sinusoid_defaults(&p);
    float xs[5], ys[5], xq[9], yq[9], xs2[5], ys2[5], xq2[9], yq2[9], t1[1], t2[9];
    double a1, ph1, a2, ph2;
    synth_sinusoid_episode(&p, 2, 55, 5, 9, 417, xs, ys, xq, yq, &a1, &ph1);
    for (uint64_t i = 0; i <= 417; i++) {
        /* Other shot counts and targets drawn in between change nothing. */
        synth_sinusoid_episode(&p, 2, 55, 1, 9, i, t1, t1, t2, t2, NULL, NULL);
        synth_sinusoid_episode(&p, 2, 56, 5, 9, i, xs2, ys2, xq2, yq2, NULL, NULL);
        synth_sinusoid_episode(&p, 2, 55, 5, 9, i, xs2, ys2, xq2, yq2, &a2, &ph2);
    }
    assert_true(a1 == a2 && ph1 == ph2);
    assert_memory_equal(xs, xs2, sizeof xs);
    assert_memory_equal(yq, yq2, sizeof yq);

    /* Independent reference for the key: (2, TASK, 55) → (TASK, 5) → (TASK, 417),
     * drawing A, φ, then the support x's. */
    struct rng root, per_shots, r;
    rng_stream(&root, 2, RNG_TASK, 55);
    rng_child(&per_shots, &root, RNG_TASK, 5);
    rng_child(&r, &per_shots, RNG_TASK, 417);
    assert_true(a1 == rng_range(&r, 0.1, 5.0));
    assert_true(ph1 == rng_range(&r, 0.0, M_PI));
    assert_true(xs[0] == (float)rng_range(&r, -5.0, 5.0));

    /* A different index is a different function. */
    synth_sinusoid_episode(&p, 2, 55, 5, 9, 418, xs2, ys2, xq2, yq2, &a2, &ph2);
    assert_true(a1 != a2 && ph1 != ph2);
}

static void sinusoid_dataset_draws_a_fresh_function_per_point(void **state)
{
    struct sinusoid p;
    synth_sinusoid_defaults(&p);
    struct dataset d, d2;
    enum { N = 4000 };
    assert_int_equal(synth_sinusoid_dataset(&p, 13, N, &d, NULL), 0);
    assert_int_equal(d.kind, DATASET_REGRESSION);
    assert_int_equal(d.storage, DATASET_F32);
    assert_true(d.n == N && d.dim == 1 && d.n_targets == 1 && d.labels == NULL);
    assert_string_equal(d.name, "sinusoid");
    /* Reference: the documented stream, A, φ, x per row. */
    struct rng r;
    rng_stream(&r, 13, RNG_DATA, rng_hash_str("sinusoid"));
    double *x = malloc(sizeof *x * N);
    for (size_t i = 0; i < N; i++) {
        double a = rng_range(&r, 0.1, 5.0), ph = rng_range(&r, 0.0, M_PI);
        float xi = (float)rng_range(&r, -5.0, 5.0);
        assert_true(d.x_f32[i] == xi);
        assert_true(d.targets[i] == (float)(a * sin((double)xi - ph)));
        x[i] = xi;
    }
    assert_uniform_moments(x, N, -5.0, 5.0);
    assert_int_equal(synth_sinusoid_dataset(&p, 13, N, &d2, NULL), 0);
    assert_int_equal(d.checksum, d2.checksum);
    dataset_free(&d2);
    assert_int_equal(synth_sinusoid_dataset(&p, 14, N, &d2, NULL), 0);
    assert_int_not_equal(d.checksum, d2.checksum);
    struct err e;
    dataset_free(&d2);
    assert_int_equal(synth_sinusoid_dataset(&p, 14, 0, &d2, &e), ERR_USAGE);
    assert_null(d2.x_f32);
    free(x);
    dataset_free(&d);
    dataset_free(&d2);
}

static void cluster_centres_have_the_separation_scale(void **state)
{
    struct clusters p;
    synth_clusters_defaults(&p);
    assert_true(p.classes == 10 && p.dim == 20 && p.separation == 0.5 && p.per_class == 200);
    p.classes = 50, p.dim = 40, p.separation = 3.0;
    enum { N = 50 * 40 };
    double *c = malloc(sizeof *c * N), *c2 = malloc(sizeof *c2 * N);
    synth_clusters_centres(&p, 4, c);
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++)
        sum += c[i], sq += c[i] * c[i];
    /* N(0, 9): mean SE 3/√N, standard deviation SE ≈ 3/√(2N). */
    assert_close(sum / N, 0.0, 5 * 3.0 / sqrt(N), 0);
    assert_close(sqrt(sq / N), 3.0, 5 * 3.0 / sqrt(2.0 * N), 0);
    synth_clusters_centres(&p, 4, c2);
    assert_memory_equal(c, c2, sizeof *c * N);
    synth_clusters_centres(&p, 5, c2);
    assert_true(c[0] != c2[0]);
    free(c), free(c2);
}

static void cluster_points_sit_around_their_centres(void **state)
{
    struct clusters p = {.classes = 4, .dim = 5, .separation = 3.0, .per_class = 400};
    double centres[4 * 5];
    synth_clusters_centres(&p, 7, centres);
    struct dataset split[2];
    for (int s = 0; s < 2; s++) {
        assert_int_equal(synth_clusters_dataset(&p, 7, s, &split[s], NULL), 0);
        struct dataset *d = &split[s];
        assert_true(d->kind == DATASET_CLASSIFICATION && d->storage == DATASET_F32);
        assert_true(d->n == 1600 && d->dim == 5 && d->n_classes == 4);
        double mean[4][5] = {{0}}, sq = 0;
        for (size_t i = 0; i < d->n; i++) {
            assert_int_equal(d->labels[i], (int)(i % 4));
            for (int j = 0; j < 5; j++)
                mean[d->labels[i]][j] += d->x_f32[i * 5 + j] / 400.0;
        }
        for (size_t i = 0; i < d->n; i++)
            for (int j = 0; j < 5; j++) {
                double dev = d->x_f32[i * 5 + j] - centres[d->labels[i] * 5 + j];
                sq += dev * dev;
            }
        /* Per coordinate the class mean misses its centre by N(0, 1/400):
         * 5 standard errors is 0.25. The unit noise, pooled over 8000
         * deviations from the centres, has variance 1 with SE √(2/8000). */
        for (int c = 0; c < 4; c++)
            for (int j = 0; j < 5; j++)
                assert_close(mean[c][j], centres[c * 5 + j], 0.25, 0);
        assert_close(sq / 8000.0, 1.0, 5 * sqrt(2.0 / 8000), 0);
    }
    /* Same centres, different points. */
    assert_true(split[0].x_f32[0] != split[1].x_f32[0]);
    assert_int_not_equal(split[0].checksum, split[1].checksum);
    struct dataset again;
    assert_int_equal(synth_clusters_dataset(&p, 7, 1, &again, NULL), 0);
    assert_int_equal(again.checksum, split[1].checksum);
    dataset_free(&again);
    dataset_free(&split[0]), dataset_free(&split[1]);
}

static void cluster_separation_sets_the_bayes_error(void **state)
{
    /* Two classes: the nearest-centre rule is Bayes-optimal, with error
     * Φ(−‖μ0 − μ1‖ / 2). Measure it on the test split. */
    struct clusters p = {.classes = 2, .dim = 6, .separation = 0.6, .per_class = 3000};
    double mu[2 * 6];
    synth_clusters_centres(&p, 3, mu);
    double dist = 0;
    for (int j = 0; j < 6; j++)
        dist += (mu[j] - mu[6 + j]) * (mu[j] - mu[6 + j]);
    dist = sqrt(dist);
    double bayes = 0.5 * erfc(dist / 2 / sqrt(2.0));
    struct dataset d;
    assert_int_equal(synth_clusters_dataset(&p, 3, 1, &d, NULL), 0);
    int wrong = 0;
    for (size_t i = 0; i < d.n; i++) {
        double d0 = 0, d1 = 0;
        for (int j = 0; j < 6; j++) {
            double x = d.x_f32[i * 6 + j];
            d0 += (x - mu[j]) * (x - mu[j]);
            d1 += (x - mu[6 + j]) * (x - mu[6 + j]);
        }
        wrong += (d1 < d0) != (d.labels[i] == 1);
    }
    double err_rate = (double)wrong / (double)d.n;
    printf("  centre distance %.3f: Bayes error %.4f, measured %.4f\n", dist, bayes, err_rate);
    assert_true(bayes > 0.05 && bayes < 0.45); /* the check below means something */
    assert_close(err_rate, bayes, 5 * sqrt(bayes * (1 - bayes) / (double)d.n), 0);
    dataset_free(&d);

    struct err e;
    p.classes = 1;
    assert_int_equal(synth_clusters_dataset(&p, 3, 0, &d, &e), ERR_USAGE);
    assert_string_equal(e.msg, "clusters: classes: 1 (expected at least 2)");
    p.classes = 2;
    assert_int_equal(synth_clusters_dataset(&p, 3, 2, &d, &e), ERR_USAGE);
    dataset_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sinusoid_defaults_are_maml),
        cmocka_unit_test(sinusoid_episodes_match_their_distribution),
        cmocka_unit_test(sinusoid_episodes_are_keyed),
        cmocka_unit_test(sinusoid_dataset_draws_a_fresh_function_per_point),
        cmocka_unit_test(cluster_centres_have_the_separation_scale),
        cmocka_unit_test(cluster_points_sit_around_their_centres),
        cmocka_unit_test(cluster_separation_sets_the_bayes_error),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
