/* test_sampler: episodes are keyed, well-formed, uniform, and fail early with a clear message. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/rng.h"
#include "tasks/sampler.h"

enum { TOY_CLASSES = 8 };

/* A classification dataset "toy" with counts[c] rows of class c, classes
 * interleaved round-robin so no class is contiguous; x of row r is r. */
static void make_toy(struct dataset *d, const int *counts, int named)
{
    static const char *names[TOY_CLASSES] = {"tee", "trouser", "pullover", "dress",
                                             "coat", "sandal", "shirt", "ankle"};
    dataset_init(d);
    size_t n = 0;
    int most = 0;
    for (int c = 0; c < TOY_CLASSES; c++) {
        n += (size_t)counts[c];
        most = counts[c] > most ? counts[c] : most;
    }
    d->name = strdup("toy");
    d->kind = DATASET_CLASSIFICATION;
    d->storage = DATASET_F32;
    d->n = n;
    d->dim = 1;
    d->n_classes = TOY_CLASSES;
    d->x_f32 = malloc(sizeof *d->x_f32 * n);
    d->labels = malloc(sizeof *d->labels * n);
    assert_non_null(d->x_f32);
    assert_non_null(d->labels);
    size_t r = 0;
    for (int k = 0; k < most; k++)
        for (int c = 0; c < TOY_CLASSES; c++)
            if (k < counts[c]) {
                d->x_f32[r] = (float)r;
                d->labels[r++] = c;
            }
    if (named) {
        d->class_names = calloc(TOY_CLASSES, sizeof *d->class_names);
        for (int c = 0; c < TOY_CLASSES; c++)
            d->class_names[c] = strdup(names[c]);
    }
}

static const int counts20[TOY_CLASSES] = {20, 21, 22, 23, 24, 25, 26, 27};

static int same_episode(const struct episode *a, const struct episode *b)
{
    if (a->ways != b->ways || a->shots != b->shots || a->queries != b->queries)
        return 0;
    size_t ns = (size_t)a->ways * a->shots, nq = (size_t)a->ways * a->queries;
    return !memcmp(a->classes, b->classes, sizeof(int) * a->ways) &&
           !memcmp(a->support, b->support, sizeof(int) * ns) &&
           !memcmp(a->support_y, b->support_y, sizeof(int) * ns) &&
           !memcmp(a->query, b->query, sizeof(int) * nq) &&
           !memcmp(a->query_y, b->query_y, sizeof(int) * nq);
}

static void index_groups_rows_in_dataset_order(void **state)
{
    struct dataset d;
    make_toy(&d, counts20, 0);
    struct sampler s;
    const int allowed[3] = {5, 2, 7};
    assert_int_equal(sampler_init(&s, &d, allowed, 3, NULL), 0);
    assert_int_equal(s.max_count, 27);
    for (int i = 0; i < 3; i++) {
        /* Naive reference: scan the dataset for the class. */
        int k = s.start[i];
        for (size_t r = 0; r < d.n; r++)
            if (d.labels[r] == allowed[i])
                assert_int_equal(s.rows[k++], (int)r);
        assert_int_equal(k, s.start[i + 1]);
        assert_int_equal(s.start[i + 1] - s.start[i], counts20[allowed[i]]);
    }
    sampler_free(&s);
    sampler_free(&s); /* freeing twice is harmless: it zeroes */
    sampler_free(NULL);
    dataset_free(&d);
}

static void init_rejects_bad_class_lists(void **state)
{
    struct dataset d;
    make_toy(&d, counts20, 0);
    struct sampler s;
    struct err e;
    const int out_of_range[2] = {1, 8}, twice[3] = {1, 4, 1};
    assert_int_equal(sampler_init(&s, &d, out_of_range, 2, &e), ERR_USAGE);
    assert_string_equal(e.msg, "toy: classes: 8 is not a class (expected 0..7)");
    assert_int_equal(sampler_init(&s, &d, twice, 3, &e), ERR_USAGE);
    assert_string_equal(e.msg, "toy: classes: class 1 is listed twice");
    assert_int_equal(sampler_init(&s, &d, twice, 0, &e), ERR_USAGE);
    d.kind = DATASET_REGRESSION;
    assert_int_equal(sampler_init(&s, &d, twice, 2, &e), ERR_USAGE);
    assert_string_equal(e.msg, "toy: episodes need a classification dataset");
    sampler_free(&s);
    dataset_free(&d);
}

/* Every structural promise of one episode, checked against the dataset. */
static void check_episode(const struct sampler *s, const struct episode *ep, int ways,
                          int shots, int queries)
{
    const struct dataset *d = s->d;
    assert_int_equal(ep->ways, ways);
    int *per_label_s = calloc((size_t)ways, sizeof(int));
    int *per_label_q = calloc((size_t)ways, sizeof(int));
    char *used = calloc(d->n, 1);
    for (int l = 0; l < ways; l++) {
        int allowed = 0;
        for (int i = 0; i < s->n_classes; i++)
            allowed += s->classes[i] == ep->classes[l];
        assert_int_equal(allowed, 1);
        for (int m = 0; m < l; m++)
            assert_int_not_equal(ep->classes[m], ep->classes[l]);
    }
    for (int i = 0; i < ways * shots; i++) {
        int r = ep->support[i], y = ep->support_y[i];
        assert_int_equal(y, i / shots); /* label-major */
        assert_int_equal(d->labels[r], ep->classes[y]);
        assert_int_equal(used[r]++, 0);
        per_label_s[y]++;
    }
    for (int i = 0; i < ways * queries; i++) {
        int r = ep->query[i], y = ep->query_y[i];
        assert_int_equal(y, i / queries);
        assert_int_equal(d->labels[r], ep->classes[y]);
        assert_int_equal(used[r]++, 0); /* disjoint from the support and itself */
        per_label_q[y]++;
    }
    for (int l = 0; l < ways; l++) {
        assert_int_equal(per_label_s[l], shots);
        assert_int_equal(per_label_q[l], queries);
    }
    free(per_label_s), free(per_label_q), free(used);
}

static void episodes_are_well_formed(void **state)
{
    struct dataset d;
    make_toy(&d, counts20, 0);
    struct sampler s;
    const int allowed[5] = {1, 3, 4, 6, 7};
    assert_int_equal(sampler_init(&s, &d, allowed, 5, NULL), 0);
    struct episode ep;
    episode_init(&ep);
    static const int shapes[4][3] = {{3, 5, 10}, {5, 1, 19}, {1, 4, 1}, {5, 20, 1}};
    for (int k = 0; k < 4; k++)
        for (uint64_t i = 0; i < 50; i++) {
            assert_int_equal(sampler_episode(&s, 11, 99, shapes[k][0], shapes[k][1],
                                             shapes[k][2], i, &ep, NULL), 0);
            check_episode(&s, &ep, shapes[k][0], shapes[k][1], shapes[k][2]);
        }
    episode_free(&ep);
    episode_free(NULL);
    sampler_free(&s);
    dataset_free(&d);
}

static void episodes_are_pure_functions_of_their_key(void **state)
{
    struct dataset d;
    make_toy(&d, counts20, 0);
    struct sampler s, s2, other;
    const int allowed[6] = {0, 2, 3, 5, 6, 7}, few[3] = {1, 4, 2};
    assert_int_equal(sampler_init(&s, &d, allowed, 6, NULL), 0);
    assert_int_equal(sampler_init(&s2, &d, allowed, 6, NULL), 0);
    assert_int_equal(sampler_init(&other, &d, few, 3, NULL), 0);
    struct episode alone, loop, noise;
    episode_init(&alone), episode_init(&loop), episode_init(&noise);

    /* Episode 417 drawn alone equals the 417th of a loop with other calls
     * (other seeds, targets, shots, samplers) interleaved. */
    assert_int_equal(sampler_episode(&s, 3, 0xabc, 4, 5, 7, 417, &alone, NULL), 0);
    for (uint64_t i = 0; i <= 417; i++) {
        assert_int_equal(sampler_episode(&other, 3, 0xabc, 2, 1, 3, i, &noise, NULL), 0);
        assert_int_equal(sampler_episode(&s2, 3, 0xabc, 4, 5, 7, i, &loop, NULL), 0);
        assert_int_equal(sampler_episode(&s, 4, 0xabc, 4, 5, 7, i, &noise, NULL), 0);
        assert_int_equal(sampler_episode(&s, 3, 0xabd, 4, 2, 7, i, &noise, NULL), 0);
    }
    assert_true(same_episode(&alone, &loop));

    /* Neighbouring keys give different episodes. */
    int differ = 0;
    for (uint64_t i = 0; i < 20; i++) {
        sampler_episode(&s, 3, 0xabc, 4, 5, 7, i, &loop, NULL);
        sampler_episode(&s, 3, 0xabc, 4, 5, 7, i + 1, &noise, NULL);
        differ += !same_episode(&loop, &noise);
    }
    assert_int_equal(differ, 20);
    episode_free(&alone), episode_free(&loop), episode_free(&noise);
    sampler_free(&s), sampler_free(&s2), sampler_free(&other);
    dataset_free(&d);
}

static void shots_are_keyed_by_value(void **state)
{
    struct dataset d;
    make_toy(&d, counts20, 0);
    struct sampler s;
    const int allowed[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    assert_int_equal(sampler_init(&s, &d, allowed, 8, NULL), 0);
    enum { N = 40 };
    struct episode five[N], ep, one;
    episode_init(&ep), episode_init(&one);
    /* Run A: only 5-shot episodes. Run B: 1-shot episodes drawn in between. */
    for (int i = 0; i < N; i++) {
        episode_init(&five[i]);
        assert_int_equal(sampler_episode(&s, 5, 77, 5, 5, 3, (uint64_t)i, &five[i], NULL), 0);
    }
    int same_classes = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(sampler_episode(&s, 5, 77, 5, 1, 3, (uint64_t)i, &one, NULL), 0);
        assert_int_equal(sampler_episode(&s, 5, 77, 5, 5, 3, (uint64_t)i, &ep, NULL), 0);
        assert_true(same_episode(&five[i], &ep));
        same_classes += !memcmp(one.classes, ep.classes, sizeof(int) * 5);
    }
    assert_true(same_classes < N / 4); /* 1-shot and 5-shot streams differ */

    /* Independent reference for the key contract: the first class drawn is
     * allowed[rng_below(8)] of stream (5, EPISODE, 77) → (EPISODE, 5) → (EPISODE, i). */
    for (int i = 0; i < N; i++) {
        struct rng root, per_shots, r;
        rng_stream(&root, 5, RNG_EPISODE, 77);
        rng_child(&per_shots, &root, RNG_EPISODE, 5);
        rng_child(&r, &per_shots, RNG_EPISODE, (uint64_t)i);
        assert_int_equal(five[i].classes[0], allowed[rng_below(&r, 8)]);
        episode_free(&five[i]);
    }
    episode_free(&ep), episode_free(&one);
    sampler_free(&s);
    dataset_free(&d);
}

static void labels_are_a_random_permutation(void **state)
{
    struct dataset d;
    make_toy(&d, counts20, 0);
    struct sampler s;
    const int allowed[4] = {2, 3, 5, 7};
    assert_int_equal(sampler_init(&s, &d, allowed, 4, NULL), 0);
    struct episode ep;
    episode_init(&ep);
    enum { N = 3000 };
    int ascending = 0, label_of[TOY_CLASSES][3] = {{0}};
    for (int i = 0; i < N; i++) {
        assert_int_equal(sampler_episode(&s, 9, 1, 3, 1, 1, (uint64_t)i, &ep, NULL), 0);
        ascending += ep.classes[0] < ep.classes[1] && ep.classes[1] < ep.classes[2];
        for (int l = 0; l < 3; l++)
            label_of[ep.classes[l]][l]++;
    }
    /* A uniform order of 3 classes is ascending with probability 1/6;
     * 5 standard errors of the proportion at N = 3000 is 0.034. */
    assert_close((double)ascending / N, 1.0 / 6, 0.034, 0);
    /* Each allowed class takes each label with probability 1/4 per episode. */
    for (int i = 0; i < 4; i++)
        for (int l = 0; l < 3; l++)
            assert_close((double)label_of[allowed[i]][l] / N, 0.25, 5 * sqrt(0.1875 / N), 0);
    episode_free(&ep);
    sampler_free(&s);
    dataset_free(&d);
}

/* Chi-square statistic of counts against a common expected value. */
static double chi_square(const int *counts, int n, double expected)
{
    double x = 0;
    for (int i = 0; i < n; i++)
        x += (counts[i] - expected) * (counts[i] - expected) / expected;
    return x;
}

static void classes_and_rows_are_uniform(void **state)
{
    struct dataset d;
    make_toy(&d, counts20, 0);
    struct sampler s;
    const int allowed[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    assert_int_equal(sampler_init(&s, &d, allowed, 8, NULL), 0);
    struct episode ep;
    episode_init(&ep);
    enum { N = 2000 };
    int per_class[TOY_CLASSES] = {0}, per_row[20] = {0};
    for (int i = 0; i < N; i++) {
        assert_int_equal(sampler_episode(&s, 21, 4, 3, 2, 2, (uint64_t)i, &ep, NULL), 0);
        for (int l = 0; l < 3; l++) {
            per_class[ep.classes[l]]++;
            if (ep.classes[l] != 0)
                continue;
            for (int k = 0; k < 2; k++) /* class 0 owns rows 0, 8, 16, … */
                per_row[ep.support[l * 2 + k] / 8]++, per_row[ep.query[l * 2 + k] / 8]++;
        }
    }
    /* Drawing without replacement only lowers the variance, so the
     * multinomial 0.999 quantiles are conservative: 24.32 (7 df), 43.82 (19 df). */
    double chi_classes = chi_square(per_class, 8, N * 3.0 / 8);
    double chi_rows = chi_square(per_row, 20, per_class[0] * 4.0 / 20);
    printf("  chi-square: classes %.2f (7 df), rows of class 0 %.2f (19 df)\n", chi_classes,
           chi_rows);
    assert_true(chi_classes < 24.32);
    assert_true(chi_rows < 43.82);
    episode_free(&ep);
    sampler_free(&s);
    dataset_free(&d);
}

static void small_classes_fail_before_the_run(void **state)
{
    int counts[TOY_CLASSES] = {30, 30, 30, 30, 30, 30, 30, 12};
    struct dataset d;
    make_toy(&d, counts, 0);
    struct sampler s;
    struct err e;
    const int allowed[3] = {4, 7, 1};
    assert_int_equal(sampler_init(&s, &d, allowed, 3, NULL), 0);
    assert_int_equal(sampler_check(&s, 5, 7, &e), 0);
    assert_int_equal(sampler_check(&s, 5, 15, &e), ERR_USAGE);
    assert_string_equal(e.msg, "class 7 of toy has 12 examples; 5 shots + 15 queries need 20");
    /* An episode that picks every class hits class 7 and says the same. */
    struct episode ep;
    episode_init(&ep);
    assert_int_equal(sampler_episode(&s, 1, 2, 3, 5, 15, 0, &ep, &e), ERR_USAGE);
    assert_string_equal(e.msg, "class 7 of toy has 12 examples; 5 shots + 15 queries need 20");
    assert_int_equal(sampler_episode(&s, 1, 2, 4, 1, 1, 0, &ep, &e), ERR_USAGE);
    assert_string_equal(e.msg, "toy: ways 4 with 3 allowed classes (expected 1..3)");
    assert_int_equal(sampler_episode(&s, 1, 2, 3, 0, 1, 0, &ep, &e), ERR_USAGE);
    episode_free(&ep);
    sampler_free(&s);
    dataset_free(&d);

    /* With class names the message gives the name too. */
    make_toy(&d, counts, 1);
    assert_int_equal(sampler_init(&s, &d, allowed, 3, NULL), 0);
    assert_int_equal(sampler_check(&s, 5, 15, &e), ERR_USAGE);
    assert_string_equal(e.msg,
                        "class 7 (ankle) of toy has 12 examples; 5 shots + 15 queries need 20");
    sampler_free(&s);
    dataset_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(index_groups_rows_in_dataset_order),
        cmocka_unit_test(init_rejects_bad_class_lists),
        cmocka_unit_test(episodes_are_well_formed),
        cmocka_unit_test(episodes_are_pure_functions_of_their_key),
        cmocka_unit_test(shots_are_keyed_by_value),
        cmocka_unit_test(labels_are_a_random_permutation),
        cmocka_unit_test(classes_and_rows_are_uniform),
        cmocka_unit_test(small_classes_fail_before_the_run),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
