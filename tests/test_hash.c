/* test_hash: FNV-1a against published known answers, and the properties
 * unit ids rely on — a digest depends on every byte and on where one string
 * ends and the next begins, and its text is 32 hex digits. */
#include "testutil.h"

#include <string.h>

#include "harness/base/hash.h"
#include "harness/base/rng.h"

static void fnv1a_matches_the_published_test_vectors(void **state)
{
    /* Fowler, Noll and Vo's reference values for FNV-1a 64 */
    assert_true(hash_fnv1a("", 0) == 0xcbf29ce484222325u);
    assert_true(hash_fnv1a("a", 1) == 0xaf63dc4c8601ec8cu);
    assert_true(hash_fnv1a("foobar", 6) == 0x85944171f73967e8u);
    /* rng_hash_str is the same function: target names key episode streams */
    assert_true(rng_hash_str("foobar") == 0x85944171f73967e8u);
}

static void digest(const char *a, const char *b, char out[33])
{
    struct hash128 h;
    hash128_init(&h);
    hash128_str(&h, a);
    hash128_str(&h, b);
    hash128_hex(&h, out);
}

static void a_digest_is_32_hex_digits_and_depends_on_every_byte(void **state)
{
    char x[33], y[33];
    digest("heldout", "finetune", x);
    assert_int_equal(strlen(x), 32);
    assert_int_equal(strspn(x, "0123456789abcdef"), 32);
    digest("heldout", "finetune", y);
    assert_string_equal(x, y);
    digest("heldout", "finetunf", y);
    assert_string_not_equal(x, y);
    /* both halves change: the second state does not shadow the first */
    assert_true(strncmp(x, y, 16) != 0 && strncmp(x + 16, y + 16, 16) != 0);
}

static void strings_are_delimited_by_their_lengths(void **state)
{
    char x[33], y[33];
    digest("ab", "c", x);
    digest("a", "bc", y);
    assert_string_not_equal(x, y);
    digest(NULL, "c", x);
    digest("", "c", y);
    assert_string_equal(x, y);
}

static void printf_feeds_the_formatted_text(void **state)
{
    struct hash128 a, b;
    char x[33], y[33];
    hash128_init(&a);
    hash128_printf(&a, "steps=%ld,lr=%.17g", 20L, 0.001);
    hash128_init(&b);
    hash128_feed(&b, "steps=20,lr=0.001", strlen("steps=20,lr=0.001"));
    hash128_hex(&a, x);
    hash128_hex(&b, y);
    assert_string_equal(x, y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fnv1a_matches_the_published_test_vectors),
        cmocka_unit_test(a_digest_is_32_hex_digits_and_depends_on_every_byte),
        cmocka_unit_test(strings_are_delimited_by_their_lengths),
        cmocka_unit_test(printf_feeds_the_formatted_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
