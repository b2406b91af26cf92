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
#include <stdbool.h>
#include <string.h>

#include "harness/base/hash.h"
#include "harness/base/simd.h"

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

/* Philox rounds for L = 8 consecutive counters pos … pos+7 of key: word j
 * of block l into w[j][l]. The portable loop, and the same rounds in AVX2
 * and AVX-512 registers (the unsigned even-lane multiply is exactly the
 * 32 × 32 → 64 product mulhilo takes), picked by the CPU at run time:
 * integer operations, so every version gives rng_philox's words. */
enum { L = 8 };

static void rounds_scalar(const uint32_t key[2], uint64_t pos, uint32_t w[4][L])
{
    for (int l = 0; l < L; l++) {
        uint32_t ctr[4] = {(uint32_t)(pos + (uint64_t)l), (uint32_t)((pos + (uint64_t)l) >> 32), 0, 0};
        uint32_t out[4];
        rng_philox(ctr, key, out);
        for (int j = 0; j < 4; j++)
            w[j][l] = out[j];
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_VECTOR_ROUNDS 1

__attribute__((target("avx512f"))) static void rounds_avx512(const uint32_t key[2], uint64_t pos,
                                                              uint32_t w[4][L])
{
    const __m512i lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i ctr = _mm512_add_epi64(_mm512_set1_epi64((long long)pos), lanes);
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0), m1 = _mm512_set1_epi64(PHILOX_M1);
    /* one block per 64-bit lane, its 32-bit words in the low halves */
    __m512i c0 = ctr, c1 = _mm512_srli_epi64(ctr, 32), c2 = _mm512_setzero_si512(), c3 = c2;
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        __m512i p0 = _mm512_mul_epu32(c0, m0), p1 = _mm512_mul_epu32(c2, m1);
        c0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), c1), _mm512_set1_epi64(k0));
        c2 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), c3), _mm512_set1_epi64(k1));
        c1 = p1, c3 = p0;   /* high halves are ignored: the low words are the state */
    }
    _mm256_storeu_si256((__m256i *)w[0], _mm512_cvtepi64_epi32(c0));
    _mm256_storeu_si256((__m256i *)w[1], _mm512_cvtepi64_epi32(c1));
    _mm256_storeu_si256((__m256i *)w[2], _mm512_cvtepi64_epi32(c2));
    _mm256_storeu_si256((__m256i *)w[3], _mm512_cvtepi64_epi32(c3));
}

__attribute__((target("avx2"))) static void rounds_avx2(const uint32_t key[2], uint64_t pos,
                                                         uint32_t w[4][L])
{
    for (int h = 0; h < 2; h++) {   /* two registers of four blocks */
        uint64_t p = pos + 4 * (uint64_t)h;
        const __m256i ctr = _mm256_add_epi64(_mm256_set1_epi64x((long long)p),
                                             _mm256_set_epi64x(3, 2, 1, 0));
        const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0), m1 = _mm256_set1_epi64x(PHILOX_M1);
        const __m256i low = _mm256_set1_epi64x(0xffffffff);
        __m256i c0 = ctr, c1 = _mm256_srli_epi64(ctr, 32), c2 = _mm256_setzero_si256(), c3 = c2;
        uint32_t k0 = key[0], k1 = key[1];
        for (int round = 0; round < 10; round++) {
            if (round > 0) {
                k0 += PHILOX_W0;
                k1 += PHILOX_W1;
            }
            __m256i p0 = _mm256_mul_epu32(c0, m0), p1 = _mm256_mul_epu32(c2, m1);
            c0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1),
                                  _mm256_set1_epi64x(k0));
            c2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3),
                                  _mm256_set1_epi64x(k1));
            c1 = p1, c3 = p0;
        }
        __m256i c[4] = {c0, c1, c2, c3};
        for (int j = 0; j < 4; j++) {
            uint64_t v[4];
            _mm256_storeu_si256((__m256i *)v, _mm256_and_si256(c[j], low));
            for (int l = 0; l < 4; l++)
                w[j][4 * h + l] = (uint32_t)v[l];
        }
    }
}

/* Draws 2·pos … 2·pos + 63 of key's stream as philox_draws makes them
 * (below), into out: 32 blocks as four registers of eight, their rounds
 * interleaved. A round is a chain of dependent instructions; one register
 * at a time leaves the multiplier idle for most of its latency, four keep
 * it busy (the torch initialisation of the reference network's 235,000
 * weights: 0.55 → 0.37 ms, bench_engine, 1.5×). The conversion is
 * philox_draws's, lane for lane, in double: (a >> 5)·2²⁶ + ((a & 31) << 21
 * | b >> 11) is exact from int64, ·2⁻⁵³ exact, then lo + span·u and the
 * float rounding as there, multiply and add rounded apart. */
__attribute__((target("avx512f,avx512dq"))) static void
draws32_avx512(const uint32_t key[2], uint64_t pos, double lo, double span, float *out)
{
    enum { R = 4 };
    const __m512i lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0), m1 = _mm512_set1_epi64(PHILOX_M1);
    const __m512i low = _mm512_set1_epi64(0xffffffff), low5 = _mm512_set1_epi64(31);
    __m512i c0[R], c1[R], c2[R], c3[R];
    for (int r = 0; r < R; r++) {
        c0[r] = _mm512_add_epi64(_mm512_set1_epi64((long long)(pos + 8 * (uint64_t)r)), lanes);
        c1[r] = _mm512_srli_epi64(c0[r], 32);
        c2[r] = c3[r] = _mm512_setzero_si512();
    }
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        const __m512i v0 = _mm512_set1_epi64(k0), v1 = _mm512_set1_epi64(k1);
        for (int r = 0; r < R; r++) {
            __m512i p0 = _mm512_mul_epu32(c0[r], m0), p1 = _mm512_mul_epu32(c2[r], m1);
            c0[r] = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), c1[r]), v0);
            c2[r] = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), c3[r]), v1);
            c1[r] = p1, c3[r] = p0;
        }
    }
    const __m512d two26 = _mm512_set1_pd(0x1.0p26), two_53 = _mm512_set1_pd(0x1.0p-53);
    const __m512d vlo = _mm512_set1_pd(lo), vspan = _mm512_set1_pd(span);
    /* out[2l + k] is lane l's draw from words (2k, 2k + 1) */
    const __m512i order = _mm512_set_epi32(15, 7, 14, 6, 13, 5, 12, 4, 11, 3, 10, 2, 9, 1, 8, 0);
    for (int r = 0; r < R; r++) {
        __m256 f[2];
        const __m512i ws[4] = {c0[r], c1[r], c2[r], c3[r]};
        for (int k = 0; k < 2; k++) {
            __m512i a = _mm512_and_si512(ws[2 * k], low), b = _mm512_and_si512(ws[2 * k + 1], low);
            __m512i top = _mm512_srli_epi64(a, 5);
            __m512i rest = _mm512_or_si512(_mm512_slli_epi64(_mm512_and_si512(a, low5), 21),
                                           _mm512_srli_epi64(b, 11));
            __m512d v = _mm512_add_pd(_mm512_mul_pd(_mm512_cvtepi64_pd(top), two26),
                                      _mm512_cvtepi64_pd(rest));
            __m512d d = _mm512_add_pd(vlo, _mm512_mul_pd(vspan, _mm512_mul_pd(v, two_53)));
            f[k] = _mm512_cvtpd_ps(d);
        }
        __m512 both = _mm512_insertf32x8(_mm512_castps256_ps512(f[0]), f[1], 1);
        _mm512_storeu_ps(out + 16 * r, _mm512_permutexvar_ps(order, both));
    }
}
#endif

typedef void rounds_fn(const uint32_t key[2], uint64_t pos, uint32_t w[4][L]);

static const struct {
    const char *name;
    rounds_fn *fn;
    const char *cpu;   /* the feature it needs, NULL for none */
} round_kinds[] = {
#ifdef HAVE_VECTOR_ROUNDS
    {"avx512", rounds_avx512, "avx512f"},
    {"avx2", rounds_avx2, "avx2"},
#endif
    {"portable", rounds_scalar, NULL},
};
enum { N_ROUND_KINDS = sizeof round_kinds / sizeof round_kinds[0] };
static int forced_rounds = -1;   /* rng_use_rounds; -1: the widest the CPU has */

static bool cpu_has(const char *feature)
{
#ifdef HAVE_VECTOR_ROUNDS
    if (feature && strcmp(feature, "avx512f") == 0)
        return __builtin_cpu_supports("avx512f");
    if (feature && strcmp(feature, "avx2") == 0)
        return __builtin_cpu_supports("avx2");
#endif
    return feature == NULL;
}

bool rng_use_rounds(const char *name)
{
    if (strcmp(name, "auto") == 0) {
        forced_rounds = -1;
        return true;
    }
    for (int i = 0; i < N_ROUND_KINDS; i++)
        if (strcmp(round_kinds[i].name, name) == 0 && cpu_has(round_kinds[i].cpu)) {
            forced_rounds = i;
            return true;
        }
    return false;
}

static rounds_fn *pick_rounds(void)
{
    if (forced_rounds >= 0)
        return round_kinds[forced_rounds].fn;
    for (int i = 0;; i++)
        if (cpu_has(round_kinds[i].cpu))
            return round_kinds[i].fn;
}

/* Draws 2·pos … 2·(pos+blocks)-1 of key's stream as (float)rng_range(lo,
 * hi), into out, L blocks at a time, each block's word pairs made draws as
 * rng_u64 pairs them. */
KSHOT_CLONES static void philox_draws(const uint32_t key[2], uint64_t pos, size_t blocks,
                                      double lo, double hi, float *out)
{
    rounds_fn *rounds = pick_rounds();
    const double span = hi - lo;
    size_t b0 = 0;
#ifdef HAVE_VECTOR_ROUNDS
    if (rounds == rounds_avx512 && __builtin_cpu_supports("avx512dq"))
        for (; blocks - b0 >= 32; b0 += 32)
            draws32_avx512(key, pos + b0, lo, span, out + 2 * b0);
#endif
    for (; b0 < blocks; b0 += L) {
        uint32_t w[4][L];
        rounds(key, pos + b0, w);
        /* A draw is the top 53 bits of a·2³² + b for a word pair (a, b):
         * v = (a >> 5)·2²⁶ + ((a & 31) << 21 | b >> 11), two parts below
         * 2³¹ that convert from int32 in any vector unit, scaled and added
         * exactly (the sum is below 2⁵³): (double)(u64 >> 11), bit for bit. */
        float d[2 * L];
        for (int l = 0; l < L; l++)
            for (int k = 0; k < 2; k++) {
                uint32_t a = w[2 * k][l], b = w[2 * k + 1][l];
                double v = (double)(int32_t)(a >> 5) * 0x1.0p26 +
                           (double)(int32_t)((a & 31u) << 21 | b >> 11);
                d[2 * l + k] = (float)(lo + span * (v * 0x1.0p-53));
            }
        size_t n = blocks - b0 < L ? 2 * (blocks - b0) : 2 * L;
        memcpy(out + 2 * b0, d, sizeof *d * n);
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
    size_t blocks = (n - i) / 2;
    philox_draws(r->key, r->pos, blocks, lo, hi, out + i);
    r->pos += blocks;
    i += 2 * blocks;
    if (i < n)
        out[i] = (float)rng_range(r, lo, hi);
}

/* Box–Muller's cosine branch from two uniforms u and w in [0, 1): 1 − u
 * lies in (0, 1], so the log is finite. */
static double box_muller(double u, double w)
{
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * w);
}

double rng_normal(struct rng *r)
{
    double u = rng_uniform(r);
    return box_muller(u, rng_uniform(r));
}

/* The uniform rng_uniform makes of the word pair (a, b). */
static double uniform_of(uint32_t a, uint32_t b)
{
    return (double)(((uint64_t)a << 32 | b) >> 11) * 0x1.0p-53;
}

void rng_normal_fill(struct rng *r, double *out, size_t n)
{
    size_t i = 0;
    /* a normal takes four words, a whole block when the stream is at a
     * block's start; otherwise (rare: nothing in kshot draws so) one by one */
    if (r->avail != 0)
        for (; i < n; i++)
            out[i] = rng_normal(r);
    rounds_fn *rounds = pick_rounds();
    while (i < n) {
        uint32_t w[4][L];
        rounds(r->key, r->pos, w);
        size_t m = n - i < L ? n - i : L;
        for (size_t l = 0; l < m; l++)
            out[i + l] = box_muller(uniform_of(w[0][l], w[1][l]), uniform_of(w[2][l], w[3][l]));
        r->pos += m;
        i += m;
    }
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
