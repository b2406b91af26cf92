/* test_idx: IDX files written here, plain and gzipped, read back byte for byte; every damaged file refused with its place. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "tasks/idx.h"

#define N 7
#define ROWS 3
#define COLS 5
#define PIX (N * ROWS * COLS)              /* 105 pixel bytes after a 16-byte header */

static const unsigned char labels7[N] = {3, 0, 9, 1, 1, 4, 2};

static unsigned char pixel(size_t i, int variant)
{
    return (unsigned char)((i * 37 + 11 + (size_t)variant) & 255);
}

/* A whole IDX file in memory: magic, big-endian dims, payload. *len gets its size. */
static unsigned char *idx_bytes(uint32_t magic, const uint32_t *dims, int ndims,
                                const unsigned char *payload, size_t plen, size_t *len)
{
    *len = 4 + 4 * (size_t)ndims + plen;
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    uint32_t words[4] = {magic};
    for (int k = 0; k < ndims; k++)
        words[k + 1] = dims[k];
    for (int w = 0; w <= ndims; w++)
        for (int j = 0; j < 4; j++)
            b[4 * w + j] = (unsigned char)(words[w] >> (24 - 8 * j));
    memcpy(b + 4 + 4 * ndims, payload, plen);
    return b;
}

static void write_gz(const char *path, const char *mode, const void *data, size_t len)
{
    gzFile g = gzopen(path, mode);
    assert_non_null(g);
    if (len)
        assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(g), Z_OK);
}

static void write_file(const char *path, const void *data, size_t len, int gz)
{
    if (gz)
        write_gz(path, "wb", data, len);
    else
        testutil_write(path, data, len);
}

static unsigned char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *b = malloc(1 << 16);
    assert_non_null(b);
    *len = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

/* The standard 7-image set (pixels shifted by variant) and its labels. */
static void write_images(const char *path, int variant, int gz)
{
    unsigned char pix[PIX];
    for (size_t i = 0; i < PIX; i++)
        pix[i] = pixel(i, variant);
    const uint32_t dims[3] = {N, ROWS, COLS};
    size_t len;
    unsigned char *b = idx_bytes(0x803, dims, 3, pix, PIX, &len);
    write_file(path, b, len, gz);
    free(b);
}

static void write_labels(const char *path, int gz)
{
    const uint32_t dims[1] = {N};
    size_t len;
    unsigned char *b = idx_bytes(0x801, dims, 1, labels7, N, &len);
    write_file(path, b, len, gz);
    free(b);
}

static const char *in_dir(void **state, const char *name)
{
    static char paths[4][1024];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", (const char *)*state, name);
    return p;
}

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

/* Independent reference for dataset_checksum on a u8 set: CRC32 of pixels, then int labels. */
static uint32_t reference_crc(const unsigned char *pix, size_t npix, const int *lab, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, pix, (uInt)npix);
    c = crc32(c, (const Bytef *)lab, (uInt)(n * sizeof *lab));
    return (uint32_t)c;
}

static void assert_standard_set(const struct dataset *d, int variant)
{
    assert_int_equal(d->kind, DATASET_CLASSIFICATION);
    assert_int_equal(d->storage, DATASET_U8);
    assert_int_equal(d->n, N);
    assert_int_equal(d->dim, ROWS * COLS);
    assert_int_equal(d->rows, ROWS);
    assert_int_equal(d->cols, COLS);
    assert_null(d->x_f32);
    assert_null(d->targets);
    assert_null(d->class_names);
    for (size_t i = 0; i < PIX; i++)
        assert_int_equal(d->x_u8[i], pixel(i, variant));
    int lab[N];
    for (int i = 0; i < N; i++) {
        lab[i] = labels7[i];
        assert_int_equal(d->labels[i], labels7[i]);
    }
    assert_int_equal(d->n_classes, 10);        /* max label 9, plus one */
    unsigned char pix[PIX];
    for (size_t i = 0; i < PIX; i++)
        pix[i] = pixel(i, variant);
    assert_int_equal(d->checksum, reference_crc(pix, PIX, lab, N));
}

static void plain_files_read_exactly(void **state)
{
    const char *img = in_dir(state, "img"), *lab = in_dir(state, "lab");
    write_images(img, 0, 0);
    write_labels(lab, 0);
    struct dataset d;
    struct err e = {0};
    dataset_init(&d);
    assert_int_equal(idx_load(img, lab, &d, &e), 0);
    assert_standard_set(&d, 0);
    assert_string_equal(d.name, img);
    dataset_free(&d);
    assert_null(d.x_u8);
    assert_null(d.labels);
}

static void gzip_files_read_exactly(void **state)
{
    const char *img = in_dir(state, "img.gz"), *lab = in_dir(state, "lab.gz");
    write_images(img, 0, 1);
    write_labels(lab, 1);
    struct dataset d;
    struct err e = {0};
    dataset_init(&d);
    assert_int_equal(idx_load(img, lab, &d, &e), 0);
    assert_standard_set(&d, 0);
    dataset_free(&d);
}

static void concatenated_gzip_members_are_one_stream(void **state)
{
    /* Header in one member, pixels in a second: legal gzip, as `cat a.gz b.gz`. */
    const char *img = in_dir(state, "img.gz"), *lab = in_dir(state, "lab");
    unsigned char pix[PIX];
    for (size_t i = 0; i < PIX; i++)
        pix[i] = pixel(i, 0);
    const uint32_t dims[3] = {N, ROWS, COLS};
    size_t len;
    unsigned char *b = idx_bytes(0x803, dims, 3, pix, PIX, &len);
    write_gz(img, "wb", b, 16);
    write_gz(img, "ab", b + 16, len - 16);
    free(b);
    write_labels(lab, 0);
    struct dataset d;
    struct err e = {0};
    dataset_init(&d);
    assert_int_equal(idx_load(img, lab, &d, &e), 0);
    assert_standard_set(&d, 0);
    dataset_free(&d);
}

/* A member of n bytes of data, stored (level 0), appended to path; the
 * file's size afterwards. */
static long append_stored(const char *path, const unsigned char *data, size_t n)
{
    write_gz(path, "ab0", data, n);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long)st.st_size;
}

/* The reader takes the compressed file 1 MiB at a time (IN_CHUNK in
 * tasks/idx.c): a second gzip member whose header, or a first member whose
 * trailer, straddles that boundary — the decoder then needs bytes the
 * buffer does not hold yet — is still one stream. For each end of the first
 * member from 12 bytes before the boundary to 8 after it, the images come
 * back byte for byte. */
static void a_member_boundary_anywhere_in_the_read_buffer(void **state)
{
    enum { CHUNK = 1 << 20, COUNT = 1100, SIDE = 32 };
    const size_t npix = (size_t)COUNT * SIDE * SIDE;
    unsigned char *pix = malloc(npix);
    assert_non_null(pix);
    uint32_t r = 12345;   /* incompressible bytes: stored sizes are predictable */
    for (size_t i = 0; i < npix; i++)
        pix[i] = (unsigned char)((r = r * 1103515245u + 12345u) >> 24);
    const uint32_t dims[3] = {COUNT, SIDE, SIDE};
    size_t len;
    unsigned char *b = idx_bytes(0x803, dims, 3, pix, npix, &len);
    const char *img = in_dir(state, "img.gz"), *lab = in_dir(state, "lab");
    unsigned char *labels = calloc(COUNT, 1);
    assert_non_null(labels);
    const uint32_t ldims[1] = {COUNT};
    size_t llen;
    unsigned char *lb = idx_bytes(0x801, ldims, 1, labels, COUNT, &llen);
    testutil_write(lab, lb, llen);
    for (long end = CHUNK - 12; end <= CHUNK + 8; end++) {
        /* the first member's data length that makes it end at `end` */
        size_t first = (size_t)end - 100;
        long size = 0;
        for (int tries = 0; tries < 50; tries++) {
            unlink(img);
            size = append_stored(img, b, first);
            if (size == end)
                break;
            first = (size_t)((long)first + (end - size));
        }
        if (size != end)
            fail_msg("cannot make a first member end at %ld (got %ld)", end, size);
        append_stored(img, b + first, len - first);
        struct dataset d;
        struct err e = {0};
        dataset_init(&d);
        if (idx_load(img, lab, &d, &e) != 0)
            fail_msg("first member ending at %ld: %s", end, e.msg);
        assert_int_equal(d.n, COUNT);
        assert_memory_equal(d.x_u8, pix, npix);
        dataset_free(&d);
    }
    free(b), free(lb), free(pix), free(labels);
}

static void dir_prefers_plain_then_gz(void **state)
{
    /* Plain and gzipped images differ (variant 0 vs 5): the plain one must win. */
    write_images(in_dir(state, "train-images-idx3-ubyte"), 0, 0);
    write_images(in_dir(state, "train-images-idx3-ubyte.gz"), 5, 1);
    write_labels(in_dir(state, "train-labels-idx1-ubyte.gz"), 1);
    write_images(in_dir(state, "t10k-images-idx3-ubyte.gz"), 5, 1);
    write_labels(in_dir(state, "t10k-labels-idx1-ubyte.gz"), 1);
    struct dataset d;
    struct err e = {0};
    dataset_init(&d);
    assert_int_equal(idx_load_dir(*state, "train", &d, &e), 0);
    assert_standard_set(&d, 0);
    assert_string_equal(d.name, in_dir(state, "train-images-idx3-ubyte"));
    dataset_free(&d);
    assert_int_equal(idx_load_dir(*state, "test", &d, &e), 0);
    assert_standard_set(&d, 5);
    assert_string_equal(d.name, in_dir(state, "t10k-images-idx3-ubyte.gz"));
    dataset_free(&d);
}

static void dir_missing_file_or_split_is_usage_error(void **state)
{
    write_images(in_dir(state, "train-images-idx3-ubyte.gz"), 0, 1);
    struct dataset d;
    struct err e = {0};
    dataset_init(&d);
    assert_int_equal(idx_load_dir(*state, "train", &d, &e), ERR_USAGE);
    assert_contains(e.msg, "train-labels-idx1-ubyte: no such file (expected "
                    "train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz in ");
    assert_contains(e.msg, (const char *)*state);
    assert_int_equal(idx_load_dir(*state, "test", &d, &e), ERR_USAGE);
    assert_contains(e.msg, "t10k-images-idx3-ubyte: no such file");
    assert_int_equal(idx_load_dir(*state, "valid", &d, &e), ERR_USAGE);
    assert_contains(e.msg, "unknown split \"valid\" (expected train or test)");
    assert_int_equal(idx_load(in_dir(state, "nope"), in_dir(state, "nope2"), &d, &e),
                     ERR_USAGE);
    assert_contains(e.msg, "/nope: no such file");
    assert_null(d.x_u8);
}

/* Load img (written by the caller) with good labels unless lab_bytes given; expect failure. */
static void expect_error(void **state, const char *img, const char *lab, int code,
                         const char *sub1, const char *sub2)
{
    struct dataset d;
    struct err e = {0};
    dataset_init(&d);
    int rc = idx_load(img, lab, &d, &e);
    if (rc != code)
        print_error("rc %d, message: %s\n", rc, e.msg);
    assert_int_equal(rc, code);
    assert_contains(e.msg, sub1);
    if (sub2)
        assert_contains(e.msg, sub2);
    assert_null(d.x_u8);
    assert_null(d.labels);
    assert_null(d.name);
    assert_int_equal(d.n, 0);
}

static void write_header_case(const char *path, uint32_t magic, const uint32_t *dims,
                              int ndims, size_t plen)
{
    unsigned char pix[4 * PIX] = {0};    /* room for the float case */
    size_t len;
    unsigned char *b = idx_bytes(magic, dims, ndims, pix, plen, &len);
    testutil_write(path, b, len);
    free(b);
}

static void bad_headers_are_refused(void **state)
{
    const char *img = in_dir(state, "img"), *lab = in_dir(state, "lab");
    const uint32_t ok[3] = {N, ROWS, COLS};
    write_labels(lab, 0);

    write_header_case(img, 0x12345678, ok, 3, PIX);
    expect_error(state, img, lab, ERR_IO, "img: byte offset 0: not an IDX file: magic "
                 "0x12345678 (expected 0x00000803)", NULL);
    write_header_case(img, 0xd03, ok, 3, 4 * PIX);
    expect_error(state, img, lab, ERR_IO, "img: byte offset 2: data type 0x0d (32-bit "
                 "float) is not supported", "expected 0x00000803, unsigned bytes");
    write_header_case(img, 0x802, ok, 2, PIX);
    expect_error(state, img, lab, ERR_IO, "img: byte offset 3: 2 dimensions, expected 3",
                 "magic 0x00000802 (expected 0x00000803)");
    const uint32_t zero[3] = {N, 0, COLS};
    write_header_case(img, 0x803, zero, 3, 0);
    expect_error(state, img, lab, ERR_IO, "img: byte offset 8: dimension 2 is 0", NULL);
    /* 65536·65536 bytes = 4 GiB: refused from the header, nothing allocated. */
    const uint32_t huge[3] = {65536, 256, 256};
    write_header_case(img, 0x803, huge, 3, 0);
    expect_error(state, img, lab, ERR_IO, "img: byte offset 4: the header declares 65536 "
                 "images of 256 x 256 pixels", "2147483647 bytes (2 GiB)");
    const uint32_t top[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
    write_header_case(img, 0x803, top, 3, 0);
    expect_error(state, img, lab, ERR_IO, "more than the 2147483647 bytes", NULL);

    testutil_write(img, "", 0);
    expect_error(state, img, lab, ERR_IO, "img: empty file", NULL);
    write_header_case(img, 0x803, ok, 3, 0);
    assert_int_equal(truncate(img, 10), 0);
    expect_error(state, img, lab, ERR_IO, "img: truncated at byte offset 10: expected 12 "
                 "bytes of dimensions from offset 4, found 6", NULL);
}

static void sizes_must_agree_with_the_header(void **state)
{
    const char *img = in_dir(state, "img"), *lab = in_dir(state, "lab");
    write_images(img, 0, 0);
    const uint32_t six[1] = {6};
    write_header_case(lab, 0x801, six, 1, 6);
    expect_error(state, img, lab, ERR_IO, "lab: 6 labels, but ", "img holds 7 images");

    write_labels(lab, 0);
    assert_int_equal(truncate(img, 16 + PIX - 10), 0);
    expect_error(state, img, lab, ERR_IO, "img: truncated at byte offset 111: expected 105 "
                 "bytes of pixel data from offset 16, found 95", NULL);
    write_images(img, 0, 0);
    FILE *f = fopen(img, "ab");
    assert_non_null(f);
    fputs("xyz", f);
    fclose(f);
    expect_error(state, img, lab, ERR_IO, "img: trailing bytes after the declared data at "
                 "byte offset 121", NULL);
    write_images(img, 0, 0);
    assert_int_equal(truncate(lab, 8 + 3), 0);
    expect_error(state, img, lab, ERR_IO, "lab: truncated at byte offset 11: expected 7 "
                 "bytes of labels from offset 8, found 3", NULL);
}

/* The process's virtual size in bytes (VmSize), 0 if unknown. */
static unsigned long long vm_size(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

/* Found by fuzz_idx's slowness: a 16-byte header announcing 2 GiB of pixels
 * made the loader allocate 2 GiB before it found the file short — under a
 * memory limit (a SLURM job's, ulimit -v) that is an "out of memory" error
 * blaming the machine for a damaged file. The pixels now arrive in a buffer
 * that grows with them, so the file is refused for what it is: truncated.
 * Checked under an address-space limit of 512 MiB above what the process
 * uses (not under ASan or valgrind, whose own mappings such a limit breaks). */
static void a_lying_header_is_refused_as_truncated_not_out_of_memory(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
    skip();
#endif
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload"))
        skip();
    const char *img = in_dir(state, "img"), *lab = in_dir(state, "lab");
    const uint32_t n[1] = {32767};
    write_header_case(lab, 0x801, n, 1, 7);
    const uint32_t big[3] = {32767, 256, 256};   /* 2,147,418,112 bytes: just allowed */
    write_header_case(img, 0x803, big, 3, 100);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
    unsigned long long used = vm_size();
    assert_true(used > 0);
    lim = old;
    lim.rlim_cur = (rlim_t)(used + (512ULL << 20));
    if (old.rlim_max != RLIM_INFINITY && lim.rlim_cur > old.rlim_max)
        skip();
    assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
    struct dataset d;
    struct err e = {0};
    dataset_init(&d);
    int rc = idx_load(img, lab, &d, &e);
    assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
    assert_int_equal(rc, ERR_IO);
    assert_contains(e.msg, "img: truncated at byte offset 116: expected 2147418112 bytes of "
                           "pixel data from offset 16, found 100");
    assert_null(d.x_u8);
}

static void damaged_gzip_is_refused(void **state)
{
    const char *img = in_dir(state, "img.gz"), *lab = in_dir(state, "lab");
    write_labels(lab, 0);
    write_images(img, 0, 1);
    size_t len;
    unsigned char *gz = read_whole(img, &len);
    assert_true(len > 30);

    /* Cut in the middle: the compressed stream ends early. */
    testutil_write(img, gz, len / 2);
    expect_error(state, img, lab, ERR_IO, "img.gz: truncated gzip data", "byte offset");
    /* Only the 8-byte trailer missing: all pixels present, still truncated. */
    testutil_write(img, gz, len - 8);
    expect_error(state, img, lab, ERR_IO, "img.gz: truncated gzip data", NULL);

    /* Garbage after the member: gzread would ignore it, we refuse it. */
    unsigned char *tail = malloc(len + 7);
    assert_non_null(tail);
    memcpy(tail, gz, len);
    memcpy(tail + len, "GARBAGE", 7);
    testutil_write(img, tail, len + 7);
    char where[96];
    snprintf(where, sizeof where, "trailing garbage after the gzip data at compressed "
             "byte offset %zu", len);
    expect_error(state, img, lab, ERR_IO, "img.gz: ", where);

    /* First deflate block header (after gzopen's 10-byte header) set to type 3. */
    memcpy(tail, gz, len);
    tail[10] = 0x07;
    testutil_write(img, tail, len);
    expect_error(state, img, lab, ERR_IO, "img.gz: corrupt gzip data", "invalid block type");
    /* A wrong CRC in the trailer: every byte decodes, the check fails. */
    memcpy(tail, gz, len);
    tail[len - 8] ^= 0xff;
    testutil_write(img, tail, len);
    expect_error(state, img, lab, ERR_IO, "img.gz: corrupt gzip data", "incorrect data check");

    /* A valid gzip of an empty file is an empty IDX file. */
    write_gz(img, "wb", "", 0);
    expect_error(state, img, lab, ERR_IO, "img.gz: empty file", NULL);
    free(tail);
    free(gz);
}

/* Reference reader: zlib's gzread, a path independent of idx.c's inflate loop. */
static unsigned char *gzread_all(const char *path, size_t skip, size_t len)
{
    gzFile g = gzopen(path, "rb");
    assert_non_null(g);
    unsigned char *b = malloc(len);
    char head[16];
    assert_non_null(b);
    assert_int_equal(gzread(g, head, (unsigned)skip), (int)skip);
    assert_int_equal(gzread(g, b, (unsigned)len), (int)len);
    gzclose(g);
    return b;
}

static void fashion_mnist_test_split(void **state)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat st;
    if (stat(dir, &st) != 0) {
        print_message("note: %s absent, Fashion-MNIST check skipped\n", dir);
        skip();
    }
    struct dataset d;
    struct err e = {0};
    dataset_init(&d);
    int rc = idx_load_dir(dir, "test", &d, &e);
    if (rc)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(d.n, 10000);
    assert_int_equal(d.rows, 28);
    assert_int_equal(d.cols, 28);
    assert_int_equal(d.dim, 784);
    assert_int_equal(d.n_classes, 10);
    int count[10] = {0};
    for (size_t i = 0; i < d.n; i++) {
        assert_in_range(d.labels[i], 0, 9);
        count[d.labels[i]]++;
    }
    for (int c = 0; c < 10; c++)
        assert_int_equal(count[c], 1000);
    unsigned char *pix = gzread_all(d.name, 16, d.n * d.dim);
    assert_memory_equal(pix, d.x_u8, d.n * d.dim);
    free(pix);
    dataset_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(plain_files_read_exactly, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(gzip_files_read_exactly, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(a_member_boundary_anywhere_in_the_read_buffer, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(concatenated_gzip_members_are_one_stream, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(dir_prefers_plain_then_gz, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(dir_missing_file_or_split_is_usage_error, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(bad_headers_are_refused, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(sizes_must_agree_with_the_header, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(damaged_gzip_is_refused, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(a_lying_header_is_refused_as_truncated_not_out_of_memory,
                                        make_dir, remove_dir),
        cmocka_unit_test(fashion_mnist_test_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
