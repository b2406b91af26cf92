/* test_rng: Philox known answers, stream identity and independence. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness/base/rng.h"

/* Random123's published known-answer vectors for Philox4x32-10:
 * counter[4], key[2] → output[4]. */
static void philox_known_answers(void **state)
{
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
         0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
         0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        rng_philox(&kat[i][0], &kat[i][4], out);
        for (int j = 0; j < 4; j++)
            assert_int_equal(out[j], kat[i][6 + j]);
    }
}

static void same_key_same_sequence(void **state)
{
    struct rng a, b;
    rng_stream(&a, 42, RNG_EPISODE, 417);
    rng_stream(&b, 42, RNG_EPISODE, 417);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rng_u32(&a), rng_u32(&b));
}

static void different_keys_differ(void **state)
{
    /* Streams differing in one key coordinate share (almost) no words. */
    const uint64_t keys[4][3] = {
        {42, RNG_EPISODE, 417}, {43, RNG_EPISODE, 417},
        {42, RNG_INIT, 417}, {42, RNG_EPISODE, 418},
    };
    uint32_t seq[4][64];
    for (int k = 0; k < 4; k++) {
        struct rng r;
        rng_stream(&r, keys[k][0], (uint32_t)keys[k][1], keys[k][2]);
        for (int i = 0; i < 64; i++)
            seq[k][i] = rng_u32(&r);
    }
    for (int k = 1; k < 4; k++) {
        int same = 0;
        for (int i = 0; i < 64; i++)
            same += seq[0][i] == seq[k][i];
        assert_true(same <= 1);
    }
}

static void children_ignore_parent_position(void **state)
{
    /* A child stream depends on its parent's key only: drawing from the
     * parent first, or deriving siblings in another order, changes nothing. */
    struct rng p1, p2, c1, c2, sib;
    rng_stream(&p1, 7, RNG_EPISODE, 3);
    rng_stream(&p2, 7, RNG_EPISODE, 3);
    for (int i = 0; i < 13; i++)
        rng_u32(&p2);
    rng_child(&sib, &p2, RNG_EPISODE, 1);
    rng_child(&c2, &p2, RNG_EPISODE, 5);
    rng_child(&c1, &p1, RNG_EPISODE, 5);
    for (int i = 0; i < 100; i++)
        assert_int_equal(rng_u32(&c1), rng_u32(&c2));
    struct rng other;
    rng_child(&other, &p1, RNG_EPISODE, 6);
    rng_child(&c1, &p1, RNG_EPISODE, 5);
    assert_int_not_equal(rng_u64(&c1), rng_u64(&other));
}

static void uniform_and_normal_moments(void **state)
{
    struct rng r;
    rng_stream(&r, 1, RNG_DATA, 0);
    enum { N = 200000 };
    double su = 0, su2 = 0, sn = 0, sn2 = 0, lo = 1, hi = 0;
    for (int i = 0; i < N; i++) {
        double u = rng_uniform(&r), z = rng_normal(&r);
        su += u, su2 += u * u, sn += z, sn2 += z * z;
        lo = fmin(lo, u), hi = fmax(hi, u);
    }
    /* Uniform: mean 1/2, variance 1/12; normal: mean 0, variance 1.
     * Tolerances are about 5 standard errors at N = 200000. */
    assert_close(su / N, 0.5, 0.0033, 0);
    assert_close(su2 / N - (su / N) * (su / N), 1.0 / 12, 0.001, 0);
    assert_close(sn / N, 0.0, 0.012, 0);
    assert_close(sn2 / N, 1.0, 0.016, 0);
    assert_true(lo >= 0.0 && hi < 1.0);
}

static void below_is_uniform_and_in_range(void **state)
{
    struct rng r;
    rng_stream(&r, 9, RNG_DATA, 1);
    int counts[7] = {0};
    enum { N = 70000 };
    for (int i = 0; i < N; i++) {
        uint32_t x = rng_below(&r, 7);
        assert_true(x < 7);
        counts[x]++;
    }
    /* Chi-square with 6 degrees of freedom; 22.46 is its 0.999 quantile. */
    double chi2 = 0;
    for (int i = 0; i < 7; i++)
        chi2 += (counts[i] - N / 7.0) * (counts[i] - N / 7.0) / (N / 7.0);
    assert_true(chi2 < 22.46);
    assert_int_equal(rng_below(&r, 1), 0);
}

static void shuffle_is_a_permutation(void **state)
{
    struct rng r;
    rng_stream(&r, 3, RNG_SHUFFLE, 0);
    int a[100], seen[100] = {0};
    for (int i = 0; i < 100; i++)
        a[i] = i;
    rng_shuffle(&r, a, 100);
    int moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[a[i]]++;
        moved += a[i] != i;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 90);
}

static void hash_str_known_values(void **state)
{
    /* FNV-1a 64 reference values: "" and "a". */
    assert_true(rng_hash_str("") == 0xcbf29ce484222325u);
    assert_true(rng_hash_str("a") == 0xaf63dc4c8601ec8cu);
}

/* The bulk draws and the one-at-a-time ones they must equal, as doubles
 * (a float converts exactly). */
static void range_fill(struct rng *r, double *out, size_t n)
{
    float f[1000];
    rng_range_fill(r, -0.3, 0.7, f, n);
    for (size_t i = 0; i < n; i++)
        out[i] = f[i];
}

static double range_one(struct rng *r)
{
    return (float)rng_range(r, -0.3, 0.7);
}

static const struct {
    const char *name;
    void (*fill)(struct rng *r, double *out, size_t n);
    double (*one)(struct rng *r);
} fills[] = {{"rng_range_fill", range_fill, range_one}, {"rng_normal_fill", rng_normal_fill, rng_normal}};

/* rng_range_fill and rng_normal_fill give the numbers of rng_range and
 * rng_normal, one by one, bit for bit, and leave the stream where they
 * would: from a fresh stream and mid-block (1 to 4 words drawn before), for
 * lengths around the block and batch sizes, with each version of the
 * Philox rounds this CPU can run. */
static void fills_are_the_draws_in_order(void **state)
{
    static const size_t lengths[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 127, 128, 129, 1000};
    static const char *rounds[] = {"portable", "avx2", "avx512"};
    double got[1000];
    for (int v = 0; v < 3; v++) {
        if (!rng_use_rounds(rounds[v])) {
            printf("  %s rounds: not on this CPU\n", rounds[v]);
            continue;
        }
        printf("  %s rounds\n", rounds[v]);
        for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++)
            for (int skip = 0; skip < 5; skip++)
                for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
                    size_t n = lengths[li];
                    struct rng a, b;
                    rng_stream(&a, 42, 7, (uint64_t)skip);
                    rng_stream(&b, 42, 7, (uint64_t)skip);
                    for (int k = 0; k < skip; k++)
                        rng_u32(&a), rng_u32(&b);
                    fills[f].fill(&a, got, n);
                    for (size_t i = 0; i < n; i++) {
                        double want = fills[f].one(&b);
                        if (memcmp(&want, &got[i], sizeof want) != 0)
                            fail_msg("%s, %s rounds, skip %d, n %zu: draw %zu is %.17g, one by "
                                     "one gives %.17g", fills[f].name, rounds[v], skip, n, i,
                                     got[i], want);
                    }
                    for (int k = 0; k < 9; k++)   /* the streams go on alike */
                        assert_int_equal(rng_u32(&a), rng_u32(&b));
                }
    }
    assert_true(rng_use_rounds("auto"));
    assert_false(rng_use_rounds("sse9"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(philox_known_answers),
        cmocka_unit_test(same_key_same_sequence),
        cmocka_unit_test(different_keys_differ),
        cmocka_unit_test(children_ignore_parent_position),
        cmocka_unit_test(uniform_and_normal_moments),
        cmocka_unit_test(below_is_uniform_and_in_range),
        cmocka_unit_test(shuffle_is_a_permutation),
        cmocka_unit_test(hash_str_known_values),
        cmocka_unit_test(fills_are_the_draws_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
