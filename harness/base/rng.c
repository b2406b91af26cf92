/* rng: Philox4x32-10 streams keyed by (seed, purpose, index).
 *
 * Key derivation uses Philox itself as the mixing function: a child key is
 * the first two words of philox({index_lo, index_hi, purpose, TAG}, parent
 * key). Draws use counter {pos_lo, pos_hi, 0, 0}; the derivation counters
 * carry TAG in their last word, so no draw block can equal a derivation
 * block of the same key. */
#include "harness/base/rng.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "harness/base/hash.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define DERIVE_TAG 0x6b73686fu /* "ksho" */

static void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void rng_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

static void derive(const uint32_t parent[2], uint32_t purpose, uint64_t index,
                   uint32_t key[2])
{
    uint32_t ctr[4] = {(uint32_t)index, (uint32_t)(index >> 32), purpose, DERIVE_TAG};
    uint32_t out[4];
    rng_philox(ctr, parent, out);
    key[0] = out[0];
    key[1] = out[1];
}

void rng_stream(struct rng *r, uint64_t seed, uint32_t purpose, uint64_t index)
{
    uint32_t root[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    derive(root, purpose, index, r->key);
    r->pos = 0;
    r->avail = 0;
}

void rng_child(struct rng *child, const struct rng *parent, uint32_t purpose,
               uint64_t index)
{
    uint32_t key[2];
    derive(parent->key, purpose, index, key);
    child->key[0] = key[0];
    child->key[1] = key[1];
    child->pos = 0;
    child->avail = 0;
}

uint64_t rng_hash_str(const char *s)
{
    return hash_fnv1a(s, strlen(s));
}

uint32_t rng_u32(struct rng *r)
{
    if (r->avail == 0) {
        uint32_t ctr[4] = {(uint32_t)r->pos, (uint32_t)(r->pos >> 32), 0, 0};
        rng_philox(ctr, r->key, r->buf);
        r->pos++;
        r->avail = 4;
    }
    return r->buf[4 - r->avail--];
}

uint64_t rng_u64(struct rng *r)
{
    uint64_t hi = rng_u32(r);
    return (hi << 32) | rng_u32(r);
}

double rng_uniform(struct rng *r)
{
    return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

double rng_range(struct rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_uniform(r);
}

/* Blocks pos, pos+1, … (n of them) of key's draw stream into out (4 words
 * each): rng_philox's rounds, written across L counters at once so the
 * compiler can run them in vector lanes. */
static void philox_blocks(const uint32_t key[2], uint64_t pos, size_t n, uint32_t *out)
{
    enum { L = 8 };
    for (size_t b0 = 0; b0 < n; b0 += L) {
        uint32_t c0[L], c1[L], c2[L], c3[L];
        for (int l = 0; l < L; l++) {
            uint64_t ctr = pos + b0 + (uint64_t)l;
            c0[l] = (uint32_t)ctr, c1[l] = (uint32_t)(ctr >> 32), c2[l] = 0, c3[l] = 0;
        }
        uint32_t k0 = key[0], k1 = key[1];
        for (int round = 0; round < 10; round++) {
            if (round > 0) {
                k0 += PHILOX_W0;
                k1 += PHILOX_W1;
            }
            for (int l = 0; l < L; l++) {
                uint64_t p0 = (uint64_t)PHILOX_M0 * c0[l], p1 = (uint64_t)PHILOX_M1 * c2[l];
                uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
                c1[l] = (uint32_t)p1, c3[l] = (uint32_t)p0, c0[l] = n0, c2[l] = n2;
            }
        }
        for (size_t l = 0; l < L && b0 + l < n; l++) {
            uint32_t *o = out + 4 * (b0 + l);
            o[0] = c0[l], o[1] = c1[l], o[2] = c2[l], o[3] = c3[l];
        }
    }
}

void rng_range_fill(struct rng *r, double lo, double hi, float *out, size_t n)
{
    size_t i = 0;
    /* a block holds two draws: whole blocks from a block boundary on */
    if (r->avail % 2)
        for (; i < n; i++)
            out[i] = (float)rng_range(r, lo, hi);
    for (; i < n && r->avail > 0; i++)
        out[i] = (float)rng_range(r, lo, hi);
    enum { CHUNK = 64 };
    uint32_t w[4 * CHUNK];
    while (n - i >= 2) {
        size_t blocks = (n - i) / 2 < CHUNK ? (n - i) / 2 : CHUNK;
        philox_blocks(r->key, r->pos, blocks, w);
        r->pos += blocks;
        for (size_t k = 0; k < 2 * blocks; k++) {   /* as rng_u64 pairs the words */
            uint64_t u = (uint64_t)w[2 * k] << 32 | w[2 * k + 1];
            /* below 2⁵³, so exact as a signed integer, which converts in one instruction */
            out[i++] = (float)(lo + (hi - lo) * ((double)(int64_t)(u >> 11) * 0x1.0p-53));
        }
    }
    if (i < n)
        out[i] = (float)rng_range(r, lo, hi);
}

double rng_normal(struct rng *r)
{
    /* 1 - u lies in (0, 1], so the log is finite. */
    double u1 = 1.0 - rng_uniform(r);
    double u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
    assert(n >= 1);
    /* Reject the top partial range so every residue is equally likely. */
    uint32_t limit = UINT32_MAX - (UINT32_MAX % n + 1) % n;
    uint32_t x;
    do
        x = rng_u32(r);
    while (x > limit);
    return x % n;
}

void rng_shuffle(struct rng *r, int *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(r, (uint32_t)i);
        int t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
