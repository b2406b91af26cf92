/* keymap: byte strings to dense ids, by open addressing. */
#include "harness/base/keymap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "harness/base/err.h"
#include "harness/base/hash.h"

/* p resized to hold need elements of elem bytes (capacity doubles), or NULL
 * when out of memory; p is then unchanged and still the caller's. */
void *keymap_reserve(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 4;
    while (c < need)
        c *= 2;
    void *q = realloc(p, c * elem);
    if (q)
        *cap = c;
    return q;
}


void keymap_free(struct keymap *m)
{
    free(m->text);
    free(m->keys);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

const char *keymap_key(const struct keymap *m, size_t id)
{
    assert(id < m->n);
    return m->text + m->keys[id].off;
}

/* Double the slot table and reinsert every key by its stored hash. */
static int keymap_rehash(struct keymap *m)
{
    size_t n_slots = m->n_slots ? 2 * m->n_slots : 64, mask = n_slots - 1;
    struct keymap_slot *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return ERR_NOMEM;
    for (size_t i = 0; i < m->n_slots; i++) {
        if (!m->slots[i].id1)
            continue;
        size_t j = m->slots[i].hash & mask;
        while (slots[j].id1)
            j = (j + 1) & mask;
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->n_slots = n_slots;
    return 0;
}

/* Store key[0..len) as id m->n into slot j. */
static int keymap_append(struct keymap *m, const char *key, size_t len, uint64_t h, size_t j)
{
    char *text = keymap_reserve(m->text, &m->text_cap, m->text_len + len + 1, 1);
    if (!text)
        return ERR_NOMEM;
    m->text = text;
    struct key_span *keys = keymap_reserve(m->keys, &m->keys_cap, m->n + 1, sizeof *keys);
    if (!keys)
        return ERR_NOMEM;
    m->keys = keys;
    memcpy(text + m->text_len, key, len);
    text[m->text_len + len] = '\0';
    keys[m->n] = (struct key_span){m->text_len, len};
    m->text_len += len + 1;
    m->slots[j] = (struct keymap_slot){h, m->n + 1};
    m->n++;
    return 0;
}

/* *id of key[0..len): returns 0 when it was there, 1 when it is new (id
 * m->n − 1 afterwards), ERR_NOMEM. */
int keymap_put(struct keymap *m, const char *key, size_t len, size_t *id)
{
    if (2 * (m->n + 1) > m->n_slots && keymap_rehash(m) != 0)
        return ERR_NOMEM;
    uint64_t h = hash_fnv1a(key, len);
    size_t mask = m->n_slots - 1, j = h & mask;
    for (; m->slots[j].id1; j = (j + 1) & mask) {
        const struct key_span *k = &m->keys[m->slots[j].id1 - 1];
        if (m->slots[j].hash == h && k->len == len && memcmp(m->text + k->off, key, len) == 0) {
            *id = m->slots[j].id1 - 1;
            return 0;
        }
    }
    if (keymap_append(m, key, len, h, j) != 0)
        return ERR_NOMEM;
    *id = m->n - 1;
    return 1;
}

/* Whether key[0..len) is there: 0 and *id, or −1. */
int keymap_find(const struct keymap *m, const char *key, size_t len, size_t *id)
{
    if (!m->n_slots)
        return -1;
    uint64_t h = hash_fnv1a(key, len);
    size_t mask = m->n_slots - 1;
    for (size_t j = h & mask; m->slots[j].id1; j = (j + 1) & mask) {
        const struct key_span *k = &m->keys[m->slots[j].id1 - 1];
        if (m->slots[j].hash == h && k->len == len && memcmp(m->text + k->off, key, len) == 0) {
            *id = m->slots[j].id1 - 1;
            return 0;
        }
    }
    return -1;
}


long keymap_join(char **buf, size_t *cap, const char *const *fields, const int *cols, int n)
{
    size_t len = 0;
    for (int k = 0; k < n; k++) {
        const char *s = fields[cols ? cols[k] : k];
        size_t m = strlen(s);
        char *key = keymap_reserve(*buf, cap, len + m + 1, 1);
        if (!key)
            return -1;
        *buf = key;
        memcpy(key + len, s, m + 1);
        len += m + 1;
    }
    return (long)len - 1;
}
