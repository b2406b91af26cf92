/* ckpt: checkpoint files — write atomically, read back only what checks out.
 *
 * Every number is encoded byte by byte, little-endian, whatever the host;
 * floats travel as their IEEE-754 bit patterns, so a round trip is bit-exact.
 * A writer never leaves a half-written file under the final name: it writes
 * through fsutil's afile (temporary name, fsync, rename, directory fsync). A reader trusts nothing in the
 * header: counts are bounded and the total size the header implies must
 * equal the file's size before anything is allocated, then the CRC is
 * checked before the architecture is compared with what the caller expects.
 * Not here: locking between processes (the runner's job), compression. */
#include "learners/ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness/base/fsutil.h"

static const unsigned char MAGIC[8] = {'K', 'S', 'H', 'O', 'T', 'C', 'K', 'P'};

/* Largest header (up to and including the tag) a file of this version has. */
#define HEADER_MAX 512
_Static_assert(8 + 4 + 4 + 4 * (MLP_MAX_LAYERS + 1) + 4 + 8 + 8 + 4 + CKPT_TAG_MAX <= HEADER_MAX,
               "HEADER_MAX must hold the largest header");

/* Bytes before the tag, with n_layers layers. */
static uint64_t header_fixed(uint64_t n_layers)
{
    return 8 + 4 + 4 + 4 * (n_layers + 1) + 4 + 8 + 8 + 4;
}

/* "784-256-128-5" into buf. */
static const char *arch_str(const struct mlp_arch *a, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int l = 0; l <= a->n_layers && used < cap; l++) {
        int n = snprintf(buf + used, cap - used, l ? "-%d" : "%d", a->sizes[l]);
        used += n > 0 ? (size_t)n : 0;
    }
    return buf;
}

static const char *act_name(enum act a)
{
    return a == ACT_RELU ? "relu" : a == ACT_TANH ? "tanh" : "identity";
}

/* ---- little-endian encoding ------------------------------------------ */

static void put_u32(unsigned char *p, uint32_t x)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++)
        x |= (uint32_t)p[i] << (8 * i);
    return x;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- writing ---------------------------------------------------------- */

/* A FILE with the running CRC of everything written through it. */
struct sink {
    FILE *f;
    uLong crc;
    int failed;  /* a write fell short; errno says why */
};

static void sink_bytes(struct sink *s, const unsigned char *p, size_t n)
{
    if (s->failed || n == 0)
        return;
    s->crc = crc32(s->crc, p, (uInt)n);
    if (fwrite(p, 1, n, s->f) != n)
        s->failed = 1;
}

/* Floats in chunks: the encoding never needs a copy of the whole array. */
static void sink_floats(struct sink *s, const float *x, size_t n)
{
    unsigned char buf[4096];
    while (n > 0) {
        size_t k = n < sizeof buf / 4 ? n : sizeof buf / 4;
        for (size_t i = 0; i < k; i++)
            put_u32(buf + 4 * i, f32_bits(x[i]));
        sink_bytes(s, buf, 4 * k);
        x += k;
        n -= k;
    }
}

/* Header up to and including the tag into buf; returns its length. */
static size_t encode_header(unsigned char *buf, const struct mlp *net, const char *tag,
                            size_t tag_len, size_t n_extra)
{
    const struct mlp_arch *a = &net->arch;
    unsigned char *p = buf;
    memcpy(p, MAGIC, 8), p += 8;
    put_u32(p, CKPT_VERSION), p += 4;
    put_u32(p, (uint32_t)a->n_layers), p += 4;
    for (int l = 0; l <= a->n_layers; l++)
        put_u32(p, (uint32_t)a->sizes[l]), p += 4;
    put_u32(p, (uint32_t)a->act), p += 4;
    put_u64(p, net->n_params), p += 8;
    put_u64(p, n_extra), p += 8;
    put_u32(p, (uint32_t)tag_len), p += 4;
    memcpy(p, tag, tag_len), p += tag_len;
    return (size_t)(p - buf);
}

static int check_write_args(const char *path, const struct mlp *net, size_t tag_len,
                            const float *extra, size_t n_extra, struct err *e)
{
    if (tag_len >= CKPT_TAG_MAX)
        return err_set(e, ERR_USAGE, "%s: checkpoint tag of %zu bytes (expected at most %d)",
                       path, tag_len, CKPT_TAG_MAX - 1);
    if (n_extra > 0 && !extra)
        return err_set(e, ERR_USAGE, "%s: %zu extra floats but no array", path, n_extra);
    if (!net->params || net->n_params != mlp_arch_params(&net->arch))
        return err_set(e, ERR_USAGE, "%s: network is not initialised", path);
    return 0;
}

int ckpt_write(const char *path, const struct mlp *net, const char *tag,
               const float *extra, size_t n_extra, struct err *e)
{
    tag = tag ? tag : "";
    size_t tag_len = strlen(tag);
    int rc = check_write_args(path, net, tag_len, extra, n_extra, e);
    if (rc)
        return rc;
    struct afile af;
    if ((rc = afile_open(&af, path, e)))
        return rc;
    struct sink s = {af.fp, crc32(0L, Z_NULL, 0), 0};
    unsigned char head[HEADER_MAX];
    sink_bytes(&s, head, encode_header(head, net, tag, tag_len, n_extra));
    sink_floats(&s, net->params, net->n_params);
    sink_floats(&s, extra, n_extra);
    unsigned char crc[4];
    put_u32(crc, (uint32_t)s.crc);
    sink_bytes(&s, crc, 4);
    if (s.failed) {
        rc = err_set(e, ERR_IO, "%s: cannot write: %s", af.tmp, strerror(errno));
        afile_abort(&af);
        return rc;
    }
    return afile_commit(&af, e);
}

/* ---- reading ---------------------------------------------------------- */

/* The header as read, before any of it is believed. */
struct header {
    uint32_t version, n_layers, sizes[MLP_MAX_LAYERS + 1], act, tag_len;
    uint64_t n_params, n_extra;
    char tag[CKPT_TAG_MAX];
    uint64_t len;  /* bytes up to and including the tag */
    unsigned char raw[HEADER_MAX];  /* the file's first bytes, for parsing and the CRC */
};

static int truncated(const char *path, uint64_t want, uint64_t have, int at_least,
                     struct err *e)
{
    return err_set(e, ERR_IO, "%s: truncated: expected %s%llu bytes, file has %llu", path,
                   at_least ? "at least " : "", (unsigned long long)want,
                   (unsigned long long)have);
}

/* Magic and version from the first 16 bytes (buf holds min(size, 16)). */
static int parse_start(const char *path, const unsigned char *buf, uint64_t size,
                       struct header *h, struct err *e)
{
    size_t have = size < 8 ? (size_t)size : 8;
    if (memcmp(buf, MAGIC, have) != 0)
        return err_set(e, ERR_IO, "%s: not a kshot checkpoint (bad magic)", path);
    if (size < 16)
        return truncated(path, 16, size, 1, e);
    h->version = get_u32(buf + 8);
    if (h->version != CKPT_VERSION)
        return err_set(e, ERR_IO, "%s: format version %lu, this kshot reads version %d",
                       path, (unsigned long)h->version, CKPT_VERSION);
    h->n_layers = get_u32(buf + 12);
    if (h->n_layers < 1 || h->n_layers > MLP_MAX_LAYERS)
        return err_set(e, ERR_IO, "%s: header claims %lu layers (expected 1 to %d)", path,
                       (unsigned long)h->n_layers, MLP_MAX_LAYERS);
    return 0;
}

/* The rest of the header from buf (holds min(size, sizeof buf) bytes). */
static int parse_rest(const char *path, const unsigned char *buf, uint64_t size,
                      struct header *h, struct err *e)
{
    uint64_t fixed = header_fixed(h->n_layers);
    if (size < fixed)
        return truncated(path, fixed, size, 1, e);
    const unsigned char *p = buf + 16;
    for (uint32_t l = 0; l <= h->n_layers; l++, p += 4)
        h->sizes[l] = get_u32(p);
    h->act = get_u32(p), p += 4;
    h->n_params = get_u64(p), p += 8;
    h->n_extra = get_u64(p), p += 8;
    h->tag_len = get_u32(p), p += 4;
    if (h->tag_len >= CKPT_TAG_MAX)
        return err_set(e, ERR_IO, "%s: header claims a tag of %lu bytes (expected at most %d)",
                       path, (unsigned long)h->tag_len, CKPT_TAG_MAX - 1);
    h->len = fixed + h->tag_len;
    if (size < h->len)
        return truncated(path, h->len, size, 1, e);
    memcpy(h->tag, p, h->tag_len);
    h->tag[h->tag_len] = '\0';
    return 0;
}

/* The header's architecture, checked as the engine would check it. */
static int header_arch(const char *path, const struct header *h, struct mlp_arch *a,
                       struct err *e)
{
    memset(a, 0, sizeof *a);
    a->n_layers = (int)h->n_layers;
    for (uint32_t l = 0; l <= h->n_layers; l++) {
        if (h->sizes[l] > INT_MAX)
            return err_set(e, ERR_IO, "%s: header claims layer size %lu", path,
                           (unsigned long)h->sizes[l]);
        a->sizes[l] = (int)h->sizes[l];
    }
    if (h->act > ACT_TANH)
        return err_set(e, ERR_IO, "%s: header claims activation %lu (expected 0 identity, "
                       "1 relu or 2 tanh)", path, (unsigned long)h->act);
    a->act = (enum act)h->act;
    if (mlp_arch_check(a, e)) {
        err_prefix(e, "%s: header", path);
        return e ? (e->code = ERR_IO) : ERR_IO;
    }
    return 0;
}

/* Sizes: the header's counts must agree with the architecture and, taken
 * together, with the file's length. Counts are bounded first, so the sum
 * below cannot overflow and nothing is allocated from a hostile number. */
static int check_sizes(const char *path, const struct header *h, const struct mlp_arch *a,
                       uint64_t size, struct err *e)
{
    char s[128];
    uint64_t want = mlp_arch_params(a);
    if (h->n_params != want)
        return err_set(e, ERR_IO, "%s: header claims %llu parameters, architecture %s has %llu",
                       path, (unsigned long long)h->n_params, arch_str(a, s, sizeof s),
                       (unsigned long long)want);
    if (h->n_extra > size / 4)
        return err_set(e, ERR_IO, "%s: header claims %llu extra floats, the file has %llu bytes",
                       path, (unsigned long long)h->n_extra, (unsigned long long)size);
    uint64_t total = h->len + 4 * h->n_params + 4 * h->n_extra + 4;
    if (size < total)
        return truncated(path, total, size, 0, e);
    if (size > total)
        return err_set(e, ERR_IO, "%s: trailing garbage: expected %llu bytes, file has %llu",
                       path, (unsigned long long)total, (unsigned long long)size);
    return 0;
}

/* A FILE with the running CRC of everything read through it. */
struct source {
    FILE *f;
    uLong crc;
};

static int source_floats(struct source *s, float *x, uint64_t n)
{
    unsigned char buf[4096];
    while (n > 0) {
        size_t k = n < sizeof buf / 4 ? (size_t)n : sizeof buf / 4;
        if (fread(buf, 4, k, s->f) != k)
            return -1;
        s->crc = crc32(s->crc, buf, (uInt)(4 * k));
        for (size_t i = 0; x && i < k; i++)
            x[i] = bits_f32(get_u32(buf + 4 * i));
        x = x ? x + k : NULL;
        n -= k;
    }
    return 0;
}

/* Parameters into net, extra floats into ex (NULL: read for the CRC only),
 * then the stored CRC against the one of every byte before it. */
static int read_body(const char *path, FILE *f, const struct header *h, struct mlp *net,
                     float *ex, struct err *e)
{
    struct source s = {f, crc32(0L, Z_NULL, 0)};
    s.crc = crc32(s.crc, h->raw, (uInt)h->len);
    unsigned char crc[4];
    if (source_floats(&s, net->params, h->n_params) != 0 ||
        source_floats(&s, ex, h->n_extra) != 0 || fread(crc, 1, 4, f) != 4)
        return err_set(e, ERR_IO, "%s: cannot read: %s", path,
                       ferror(f) ? strerror(errno) : "file shrank while being read");
    if (get_u32(crc) != (uint32_t)s.crc)
        return err_set(e, ERR_IO, "%s: corrupted: CRC mismatch (stored %08lx, computed %08lx)",
                       path, (unsigned long)get_u32(crc), (unsigned long)s.crc);
    return 0;
}

static int compare_arch(const char *path, const struct mlp_arch *got,
                        const struct mlp_arch *want, struct err *e)
{
    char g[128], w[128];
    arch_str(got, g, sizeof g);
    arch_str(want, w, sizeof w);
    if (strcmp(g, w) != 0)
        return err_set(e, ERR_IO, "%s: architecture %s does not match the expected %s",
                       path, g, w);
    if (got->act != want->act)
        return err_set(e, ERR_IO, "%s: activation %s does not match the expected %s",
                       path, act_name(got->act), act_name(want->act));
    return 0;
}

/* Open path and read its header and size; f is left just after the header. */
static int read_header(const char *path, FILE **fp, struct header *h, uint64_t *size,
                       struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    *fp = f;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        return err_set(e, ERR_IO, "%s: not a regular file", path);
    *size = (uint64_t)st.st_size;
    size_t want = *size < sizeof h->raw ? (size_t)*size : sizeof h->raw;
    if (fread(h->raw, 1, want, f) != want)
        return err_set(e, ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    int rc = parse_start(path, h->raw, *size, h, e);
    if (!rc)
        rc = parse_rest(path, h->raw, *size, h, e);
    if (!rc && fseek(f, (long)h->len, SEEK_SET) != 0)
        rc = err_set(e, ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    return rc;
}

int ckpt_read(const char *path, struct mlp *net, const struct mlp_arch *expect,
              char *tag, float **extra, size_t *n_extra, struct err *e)
{
    memset(net, 0, sizeof *net);
    if (extra)
        *extra = NULL;
    FILE *f = NULL;
    float *ex = NULL;
    struct header h;
    struct mlp_arch arch;
    uint64_t size = 0;
    int rc = read_header(path, &f, &h, &size, e);
    if (!rc)
        rc = header_arch(path, &h, &arch, e);
    if (!rc)
        rc = check_sizes(path, &h, &arch, size, e);
    if (rc)
        goto fail;
    if ((rc = mlp_init(net, &arch, e)))
        goto fail;
    if (extra && h.n_extra > 0 && !(ex = malloc(sizeof *ex * (size_t)h.n_extra))) {
        rc = err_set(e, ERR_NOMEM, "%s: cannot allocate %llu extra floats", path,
                     (unsigned long long)h.n_extra);
        goto fail;
    }
    rc = read_body(path, f, &h, net, ex, e);
    if (!rc && expect)
        rc = compare_arch(path, &arch, expect, e);
    if (rc)
        goto fail;
    fclose(f);
    if (tag)
        memcpy(tag, h.tag, h.tag_len + 1);
    if (extra)
        *extra = ex;
    else
        free(ex);
    if (n_extra)
        *n_extra = (size_t)h.n_extra;
    return 0;
fail:
    free(ex);
    mlp_free(net);
    if (f)
        fclose(f);
    return rc;
}
