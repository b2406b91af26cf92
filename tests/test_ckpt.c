/* test_ckpt: checkpoint round trip, byte layout, and every kind of damage refused by name. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness/base/rng.h"
#include "learners/ckpt.h"

/* 784-256-128-5: 200704+256 + 32768+128 + 640+5 parameters. */
#define N_PARAMS 234501u
#define TAG "pretrain 3f2a9c"
#define TAG_LEN 15u
/* magic 8, version 4, n_layers 4, sizes 4·4, act 4, n_params 8, n_extra 8,
 * tag length 4: 56 bytes, then the tag. */
#define PARAMS_AT (56u + TAG_LEN)
#define N_EXTRA 6u
#define FILE_SIZE (PARAMS_AT + 4u * (N_PARAMS + N_EXTRA) + 4u)

static const struct mlp_arch ARCH = {3, {784, 256, 128, 5}, ACT_RELU};

/* Extra floats whose bit patterns a lossy path would change. */
static void fill_extra(float *x)
{
    const uint32_t bits[N_EXTRA] = {0x80000000u /* −0 */, 0x7fc01234u /* NaN payload */,
                                    0x7f800000u /* +inf */, 0x00000001u /* denormal */,
                                    0x3f800000u /* 1 */, 0xc2f6e979u /* −123.456 */};
    memcpy(x, bits, sizeof bits);
}

struct fixture {
    char *dir;
    char path[4200], bad[4200];
    struct mlp net;
    float extra[N_EXTRA];
    unsigned char *bytes;  /* the good file's content */
    size_t size;
};

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return b;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    struct err e = {0};
    fx->dir = testutil_tmpdir();
    snprintf(fx->path, sizeof fx->path, "%s/net.ckpt", fx->dir);
    snprintf(fx->bad, sizeof fx->bad, "%s/bad.ckpt", fx->dir);
    assert_int_equal(mlp_init(&fx->net, &ARCH, &e), 0);
    struct rng r;
    rng_stream(&r, 11, RNG_INIT, 0);
    mlp_init_params(&fx->net, INIT_TORCH, &r);
    fill_extra(fx->extra);
    assert_int_equal(ckpt_write(fx->path, &fx->net, TAG, fx->extra, N_EXTRA, &e), 0);
    fx->bytes = slurp(fx->path, &fx->size);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    testutil_rmtree(fx->dir);
    free(fx->dir);
    free(fx->bytes);
    mlp_free(&fx->net);
    free(fx);
    return 0;
}

/* Write the good file's first len bytes, with byte at `at` set to `val`
 * when at < len, then `more` extra bytes. */
static void write_variant(struct fixture *fx, size_t len, size_t at, unsigned char val,
                          size_t more)
{
    unsigned char *b = calloc(len + more + 1, 1);
    memcpy(b, fx->bytes, len < fx->size ? len : fx->size);
    if (at < len)
        b[at] = val;
    testutil_write(fx->bad, b, len + more);
    free(b);
}

/* ckpt_read must refuse path with ERR_IO and a message holding the path and
 * both substrings, and leave nothing allocated. */
static void expect_refused(const char *path, const struct mlp_arch *expect,
                           const char *what, const char *detail)
{
    struct mlp net;
    float *extra = (float *)&net;  /* must be reset to NULL */
    size_t n_extra = 0;
    char tag[CKPT_TAG_MAX];
    struct err e = {0};
    assert_int_equal(ckpt_read(path, &net, expect, tag, &extra, &n_extra, &e), ERR_IO);
    assert_int_equal(e.code, ERR_IO);
    printf("  refused: %s\n", e.msg);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, what));
    if (detail)
        assert_non_null(strstr(e.msg, detail));
    assert_null(net.params);
    assert_null(extra);
    mlp_free(&net);
}

static void round_trip_is_bit_exact(void **state)
{
    struct fixture *fx = *state;
    struct mlp net;
    float *extra = NULL;
    size_t n_extra = 0;
    char tag[CKPT_TAG_MAX];
    struct err e = {0};
    assert_int_equal(ckpt_read(fx->path, &net, &ARCH, tag, &extra, &n_extra, &e), 0);
    assert_int_equal(net.n_params, N_PARAMS);
    assert_memory_equal(&net.arch, &ARCH, sizeof ARCH);
    assert_memory_equal(net.params, fx->net.params, sizeof(float) * N_PARAMS);
    assert_int_equal(n_extra, N_EXTRA);
    assert_memory_equal(extra, fx->extra, sizeof fx->extra);
    assert_string_equal(tag, TAG);
    free(extra);
    mlp_free(&net);
    /* Every output is optional, and no expected architecture is fine. */
    assert_int_equal(ckpt_read(fx->path, &net, NULL, NULL, NULL, NULL, &e), 0);
    assert_memory_equal(net.params, fx->net.params, sizeof(float) * N_PARAMS);
    mlp_free(&net);
}

static void layout_is_little_endian_with_zlib_crc(void **state)
{
    struct fixture *fx = *state;
    const unsigned char *b = fx->bytes;
    assert_int_equal(fx->size, FILE_SIZE);
    assert_memory_equal(b, "KSHOTCKP", 8);
    const unsigned char head[] = {2, 0, 0, 0, 3, 0, 0, 0,                 // version, layers
                                  0x10, 3, 0, 0, 0, 1, 0, 0, 128, 0, 0, 0, 5, 0, 0, 0,
                                  1, 0, 0, 0,                             // relu
                                  0x05, 0x94, 0x03, 0, 0, 0, 0, 0,        // 234501
                                  N_EXTRA, 0, 0, 0, 0, 0, 0, 0, TAG_LEN, 0, 0, 0};
    assert_memory_equal(b + 8, head, sizeof head);
    assert_memory_equal(b + 56, TAG, TAG_LEN);
    /* First parameter as its little-endian bit pattern. */
    uint32_t u;
    memcpy(&u, &fx->net.params[0], 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(b[PARAMS_AT + i], (u >> (8 * i)) & 0xff);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), b, (uInt)(fx->size - 4));
    const unsigned char *c = b + fx->size - 4;
    assert_true(crc == ((uLong)c[0] | (uLong)c[1] << 8 | (uLong)c[2] << 16 | (uLong)c[3] << 24));
}

static void no_temporary_file_remains(void **state)
{
    struct fixture *fx = *state;
    struct err e = {0};
    /* Writing again replaces the file in place. */
    assert_int_equal(ckpt_write(fx->path, &fx->net, "", NULL, 0, &e), 0);
    DIR *d = opendir(fx->dir);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            assert_string_equal(de->d_name, "net.ckpt");
            entries++;
        }
    }
    closedir(d);
    assert_int_equal(entries, 1);
}

static void truncated_files_refused(void **state)
{
    struct fixture *fx = *state;
    char has[64];
    /* In the magic, in the layer sizes, in the tag: the header is short. */
    const size_t header_cuts[] = {0, 5, 12, 30, 60};
    for (size_t i = 0; i < sizeof header_cuts / sizeof *header_cuts; i++) {
        write_variant(fx, header_cuts[i], SIZE_MAX, 0, 0);
        snprintf(has, sizeof has, "file has %zu", header_cuts[i]);
        expect_refused(fx->bad, &ARCH, "truncated: expected at least", has);
    }
    /* In the parameters, in the extra floats, in the CRC: the header is
     * whole and states the exact size. */
    const size_t body_cuts[] = {PARAMS_AT + 1001, FILE_SIZE - 4 - 9, FILE_SIZE - 2};
    for (size_t i = 0; i < sizeof body_cuts / sizeof *body_cuts; i++) {
        write_variant(fx, body_cuts[i], SIZE_MAX, 0, 0);
        snprintf(has, sizeof has, "expected %u bytes, file has %zu", FILE_SIZE, body_cuts[i]);
        expect_refused(fx->bad, &ARCH, "truncated: ", has);
    }
}

static void flipped_bytes_fail_the_crc(void **state)
{
    struct fixture *fx = *state;
    const size_t at[] = {PARAMS_AT + 4 * 1234 + 2, 56 + 3 /* tag */, FILE_SIZE - 1 /* CRC */};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        write_variant(fx, fx->size, at[i], fx->bytes[at[i]] ^ 0x10, 0);
        expect_refused(fx->bad, &ARCH, "corrupted: CRC mismatch", NULL);
    }
}

static void bad_magic_refused(void **state)
{
    struct fixture *fx = *state;
    write_variant(fx, fx->size, 0, 'k', 0);
    expect_refused(fx->bad, &ARCH, "not a kshot checkpoint (bad magic)", NULL);
    testutil_write(fx->bad, "a,b\n1,2\n", 8);
    expect_refused(fx->bad, &ARCH, "not a kshot checkpoint (bad magic)", NULL);
}

static void other_version_refused(void **state)
{
    struct fixture *fx = *state;
    write_variant(fx, fx->size, 8, 1, 0);   /* version 1 held W (out, in) */
    expect_refused(fx->bad, &ARCH, "format version 1, this kshot reads version 2", NULL);
}

static void wrong_architecture_refused(void **state)
{
    struct fixture *fx = *state;
    const struct mlp_arch other = {2, {784, 256, 5}, ACT_RELU};
    expect_refused(fx->path, &other,
                   "architecture 784-256-128-5 does not match the expected 784-256-5", NULL);
    const struct mlp_arch tanh_net = {3, {784, 256, 128, 5}, ACT_TANH};
    expect_refused(fx->path, &tanh_net, "activation relu does not match the expected tanh",
                   NULL);
}

static void trailing_bytes_refused(void **state)
{
    struct fixture *fx = *state;
    char what[96];
    write_variant(fx, fx->size, SIZE_MAX, 0, 3);
    snprintf(what, sizeof what, "trailing garbage: expected %u bytes, file has %u",
             FILE_SIZE, FILE_SIZE + 3);
    expect_refused(fx->bad, &ARCH, what, NULL);
}

/* A header written by hand: n_layers, sizes (n_layers + 1 of them, at most
 * MLP_MAX_LAYERS + 1 written), act, n_params, n_extra, tag
 * length, then `body` zero bytes (no valid CRC needed: it is never reached). */
static void write_header(const char *path, uint32_t n_layers, const uint32_t *sizes,
                         uint32_t act, uint64_t n_params, uint64_t n_extra, uint32_t tag_len,
                         size_t body)
{
    unsigned char b[4096] = {0};
    size_t p = 0;
    memcpy(b, "KSHOTCKP", 8), p = 8;
    uint32_t u32[3] = {CKPT_VERSION, n_layers, 0};
    for (int k = 0; k < 2; k++, p += 4)
        for (int i = 0; i < 4; i++)
            b[p + i] = (unsigned char)(u32[k] >> (8 * i));
    for (uint32_t l = 0; l <= n_layers && l <= MLP_MAX_LAYERS; l++, p += 4)
        for (int i = 0; i < 4; i++)
            b[p + i] = (unsigned char)(sizes[l] >> (8 * i));
    uint64_t rest[4] = {act, n_params, n_extra, tag_len};
    const int width[4] = {4, 8, 8, 4};
    for (int k = 0; k < 4; p += (size_t)width[k], k++)
        for (int i = 0; i < width[k]; i++)
            b[p + i] = (unsigned char)(rest[k] >> (8 * i));
    assert_true(p + body <= sizeof b);
    testutil_write(path, b, p + body);
}

static void hostile_headers_refused_without_allocating(void **state)
{
    struct fixture *fx = *state;
    const uint32_t real[MLP_MAX_LAYERS + 1] = {784, 256, 128, 5};
    const uint32_t wide[2] = {1u << 20, 1u << 20};
    const uint32_t zero[3] = {4, 0, 3};
    const uint32_t huge[2] = {4, 0x80000000u};
    /* 2^40 parameters claimed for an architecture that has 234501. */
    write_header(fx->bad, 3, real, ACT_RELU, 1ull << 40, 0, 0, 100);
    expect_refused(fx->bad, NULL, "header claims 1099511627776 parameters, "
                   "architecture 784-256-128-5 has 234501", NULL);
    /* A consistent 2^40 + 2^20 parameter header in a 148-byte file: the size
     * check refuses it before 4 TiB are asked for. */
    write_header(fx->bad, 1, wide, ACT_RELU, (1ull << 40) + (1ull << 20), 0, 0, 100);
    expect_refused(fx->bad, NULL, "truncated: expected 4398050705460 bytes", "file has 148");
    write_header(fx->bad, 3, real, ACT_RELU, N_PARAMS, 1ull << 62, 0, 100);
    expect_refused(fx->bad, NULL, "header claims 4611686018427387904 extra floats", NULL);
    write_header(fx->bad, 1000, real, ACT_RELU, N_PARAMS, 0, 0, 100);
    expect_refused(fx->bad, NULL, "header claims 1000 layers (expected 1 to 8)", NULL);
    write_header(fx->bad, 0, real, ACT_RELU, N_PARAMS, 0, 0, 100);
    expect_refused(fx->bad, NULL, "header claims 0 layers", NULL);
    write_header(fx->bad, 2, zero, ACT_RELU, 0, 0, 0, 100);
    expect_refused(fx->bad, NULL, "size 0", NULL);
    write_header(fx->bad, 1, huge, ACT_RELU, 0, 0, 0, 100);
    expect_refused(fx->bad, NULL, "layer size 2147483648", NULL);
    write_header(fx->bad, 3, real, 7, N_PARAMS, 0, 0, 100);
    expect_refused(fx->bad, NULL, "header claims activation 7", NULL);
    write_header(fx->bad, 3, real, ACT_RELU, N_PARAMS, 0, 0xffffffffu, 100);
    expect_refused(fx->bad, NULL, "header claims a tag of 4294967295 bytes", NULL);
}

static void missing_file_and_bad_writes(void **state)
{
    struct fixture *fx = *state;
    char path[4300];
    snprintf(path, sizeof path, "%s/nothing-here.ckpt", fx->dir);
    expect_refused(path, NULL, "cannot open: No such file or directory", NULL);
    struct err e = {0};
    snprintf(path, sizeof path, "%s/no-such-dir/net.ckpt", fx->dir);
    assert_int_equal(ckpt_write(path, &fx->net, "", NULL, 0, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "cannot create"));
    char long_tag[CKPT_TAG_MAX + 1];
    memset(long_tag, 'x', CKPT_TAG_MAX);
    long_tag[CKPT_TAG_MAX] = '\0';
    assert_int_equal(ckpt_write(fx->bad, &fx->net, long_tag, NULL, 0, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "tag of 256 bytes"));
    /* A directory is not a checkpoint. */
    expect_refused(fx->dir, NULL, "not a regular file", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip_is_bit_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(layout_is_little_endian_with_zlib_crc, setup, teardown),
        cmocka_unit_test_setup_teardown(no_temporary_file_remains, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(flipped_bytes_fail_the_crc, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_magic_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(other_version_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_architecture_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(trailing_bytes_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_headers_refused_without_allocating, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(missing_file_and_bad_writes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
