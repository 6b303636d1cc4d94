/* Open-addressing u64 -> u32 map (linear probing, backward-shift deletion, no tombstones).
 * Capacity is a power of two, load factor <= 1/2, grows by doubling. NIL marks empty slots.
 * Used for order id -> order slot, account id -> index, (account, asset) -> balance, ... */
#ifndef VENUE_ENGINE_MAP_H
#define VENUE_ENGINE_MAP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NIL 0xFFFFFFFFu

typedef struct {
    uint64_t *keys;
    uint32_t *vals;
    uint32_t cap, len, shift;
} Map;

void venue_engine_oom(void);

static inline uint32_t map_slot(const Map *m, uint64_t k) {
    return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> m->shift);
}

static void map_init(Map *m, uint32_t cap_log2) {
    m->cap = 1u << cap_log2;
    m->shift = 64 - cap_log2;
    m->len = 0;
    m->keys = malloc(sizeof(uint64_t) * m->cap);
    m->vals = malloc(sizeof(uint32_t) * m->cap);
    if (!m->keys || !m->vals) venue_engine_oom();
    memset(m->vals, 0xFF, sizeof(uint32_t) * m->cap);
}

static void map_free(Map *m) {
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
}

static inline uint32_t map_get(const Map *m, uint64_t k) {
    uint32_t mask = m->cap - 1, i = map_slot(m, k);
    for (;;) {
        uint32_t v = m->vals[i];
        if (v == NIL || m->keys[i] == k) return v;
        i = (i + 1) & mask;
    }
}

static void map_put(Map *m, uint64_t k, uint32_t v);

static void map_grow(Map *m) {
    Map old = *m;
    map_init(m, 64 - old.shift + 1);
    for (uint32_t i = 0; i < old.cap; i++)
        if (old.vals[i] != NIL) map_put(m, old.keys[i], old.vals[i]);
    map_free(&old);
}

/* Insert or overwrite. */
static void map_put(Map *m, uint64_t k, uint32_t v) {
    if ((m->len + 1) * 2 > m->cap) map_grow(m);
    uint32_t mask = m->cap - 1, i = map_slot(m, k);
    while (m->vals[i] != NIL && m->keys[i] != k) i = (i + 1) & mask;
    if (m->vals[i] == NIL) m->len++;
    m->keys[i] = k;
    m->vals[i] = v;
}

static void map_del(Map *m, uint64_t k) {
    uint32_t mask = m->cap - 1, i = map_slot(m, k);
    for (;;) {
        if (m->vals[i] == NIL) return;
        if (m->keys[i] == k) break;
        i = (i + 1) & mask;
    }
    m->len--;
    uint32_t j = i;
    for (;;) { /* backward shift */
        m->vals[i] = NIL;
        for (;;) {
            j = (j + 1) & mask;
            if (m->vals[j] == NIL) return;
            uint32_t h = map_slot(m, m->keys[j]);
            /* move j to i if h is cyclically outside (i, j] */
            if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) break;
        }
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        i = j;
    }
}

#endif
