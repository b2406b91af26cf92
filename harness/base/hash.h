/* hash: kshot's one non-cryptographic hash — FNV-1a, 64 bits, and a
 * streaming 128-bit digest built from two FNV states for unit ids.
 *
 * hash_fnv1a turns names into RNG stream indices (rng_hash_str) and keys
 * into table slots (summary); its values are part of the reproducibility
 * contract and never change. A hash128 digests a canonical description of
 * everything that determines a unit's numbers: text is fed as it is
 * written, never held in a buffer, so nothing is ever cut short; strings a
 * user chose go in with their length in front, so no choice of names can
 * make two descriptions read the same. Not here: checksums of files and
 * data (zlib's CRC32), anything cryptographic. */
#ifndef KSHOT_HASH_H
#define KSHOT_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a of n bytes. */
uint64_t hash_fnv1a(const void *p, size_t n);

struct hash128 {
    uint64_t h1, h2;   /* two differently seeded FNV-1a states */
    uint64_t len;      /* bytes fed */
};

void hash128_init(struct hash128 *h);
void hash128_feed(struct hash128 *h, const void *p, size_t n);
/* Numbers and fixed words: one formatted call's text must fit 256 bytes. */
void hash128_printf(struct hash128 *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A string with its length in front ("5:hello"); NULL counts as "". */
void hash128_str(struct hash128 *h, const char *s);
/* 32 lowercase hex digits and a NUL. */
void hash128_hex(const struct hash128 *h, char out[33]);

#endif
