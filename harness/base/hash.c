/* hash: FNV-1a and the 128-bit digest of unit descriptions. */
#include "harness/base/hash.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325u
#define FNV_PRIME 0x100000001b3u

uint64_t hash_fnv1a(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= FNV_PRIME;
    }
    return h;
}

void hash128_init(struct hash128 *h)
{
    h->h1 = FNV_OFFSET, h->h2 = 0x84222325cbf29ce4u, h->len = 0;
}

void hash128_feed(struct hash128 *h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h->h1 = (h->h1 ^ c[i]) * FNV_PRIME;
        h->h2 = (h->h2 ^ c[i]) * FNV_PRIME;
        h->h2 ^= h->h2 >> 29;   /* the second state must not track the first */
    }
    h->len += n;
}

void hash128_printf(struct hash128 *h, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert(n >= 0 && (size_t)n < sizeof buf);
    hash128_feed(h, buf, (size_t)n);
}

void hash128_str(struct hash128 *h, const char *s)
{
    s = s ? s : "";
    hash128_printf(h, "%zu:", strlen(s));
    hash128_feed(h, s, strlen(s));
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void hash128_hex(const struct hash128 *h, char out[33])
{
    /* each state finalised with the length */
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)mix64(h->h1 ^ h->len),
             (unsigned long long)mix64(h->h2 + h->len));
}
