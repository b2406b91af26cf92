/* keymap: byte strings (fields joined by NUL bytes) to dense ids 0, 1, …
 * in order of insertion, by open addressing; and the growth of the arrays
 * beside it.
 *
 * A key is fields joined with a NUL after each, which no field contains
 * (the CSV readers reject NUL bytes), so the joining is unambiguous and a
 * stored key splits back into C strings. Used by summary.csv's grouping
 * (millions of episode rows: one hash lookup each, no scan). */
#ifndef KSHOT_KEYMAP_H
#define KSHOT_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

struct key_span {
    size_t off, len;        /* key id is text[off..off+len), NUL after it */
};

struct keymap_slot {
    uint64_t hash;
    size_t id1;             /* id + 1; 0 marks an empty slot */
};

struct keymap {
    char *text;             /* every key back to back, each NUL-terminated */
    size_t text_len, text_cap;
    struct key_span *keys;  /* (n) */
    size_t n, keys_cap;
    struct keymap_slot *slots;  /* (n_slots) linear probing; a power of two, at most half full */
    size_t n_slots;
};

void keymap_free(struct keymap *m);
/* Key id as stored (its first field; the others follow, NUL-separated). */
const char *keymap_key(const struct keymap *m, size_t id);
/* *id of key[0..len): 0 when it was there, 1 when it is new (id m->n − 1
 * afterwards), ERR_NOMEM (negative). */
int keymap_put(struct keymap *m, const char *key, size_t len, size_t *id);
/* Whether key[0..len) is there: 0 and *id, or −1. */
int keymap_find(const struct keymap *m, const char *key, size_t len, size_t *id);

/* *buf (grown as needed, *cap bytes) = fields[cols[i]] (fields[i] when cols
 * is NULL) for i < n, each followed by a NUL; the length without the last
 * NUL, or −1 out of memory. */
long keymap_join(char **buf, size_t *cap, const char *const *fields, const int *cols, int n);

/* p resized to hold need elements of elem bytes (capacity doubles), or NULL
 * when out of memory; p is then unchanged and still the caller's. */
void *keymap_reserve(void *p, size_t *cap, size_t need, size_t elem);

#endif
