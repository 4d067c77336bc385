/* fnmap.c: open-addressing hash map of functions, keys in one arena (fnmap.h). */
#include "hyscale/fnmap.h"

#include <stdlib.h>
#include <string.h>

struct hs_fnmap {
    hs_fnmap_entry *e; /* (n) entries in insertion order */
    int64_t n, cap;
    int64_t *slot; /* (nslot) index into e, -1 empty */
    int64_t nslot;
    char *arena;
    int64_t used, acap;
};

static uint64_t hs_fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0x1f) * 0x100000001b3ull; /* separator, so ("ab","c") != ("a","bc") */
}

static uint64_t hs_fn_hash(const char *owner, const char *app, const char *func)
{
    return hs_fnv(hs_fnv(hs_fnv(0xcbf29ce484222325ull, owner), app), func);
}

hs_fnmap *hs_fnmap_new(void)
{
    hs_fnmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->nslot = 1024;
    m->slot = malloc((size_t)m->nslot * sizeof *m->slot);
    if (!m->slot) {
        free(m);
        return NULL;
    }
    memset(m->slot, 0xff, (size_t)m->nslot * sizeof *m->slot);
    return m;
}

void hs_fnmap_free(hs_fnmap *m)
{
    if (!m)
        return;
    free(m->e);
    free(m->slot);
    free(m->arena);
    free(m);
}

static int hs_key_eq(const hs_fnmap *m, int64_t i, const char *owner, const char *app, const char *func)
{
    const char *k = m->arena + m->e[i].key;
    size_t lo = strlen(k);
    if (strcmp(k, owner))
        return 0;
    k += lo + 1;
    if (strcmp(k, app))
        return 0;
    k += strlen(k) + 1;
    return strcmp(k, func) == 0;
}

int64_t hs_fnmap_find(const hs_fnmap *m, const char *owner, const char *app, const char *func)
{
    uint64_t h = hs_fn_hash(owner, app, func);
    for (int64_t s = (int64_t)(h & (uint64_t)(m->nslot - 1));; s = (s + 1) & (m->nslot - 1)) {
        int64_t i = m->slot[s];
        if (i < 0)
            return -1;
        if (m->e[i].hash == h && hs_key_eq(m, i, owner, app, func))
            return i;
    }
}

static int hs_fnmap_grow(hs_fnmap *m)
{
    int64_t ns = m->nslot * 2;
    int64_t *slot = malloc((size_t)ns * sizeof *slot);
    if (!slot)
        return -1;
    memset(slot, 0xff, (size_t)ns * sizeof *slot);
    for (int64_t i = 0; i < m->n; i++) {
        int64_t s = (int64_t)(m->e[i].hash & (uint64_t)(ns - 1));
        while (slot[s] >= 0)
            s = (s + 1) & (ns - 1);
        slot[s] = i;
    }
    free(m->slot);
    m->slot = slot;
    m->nslot = ns;
    return 0;
}

int64_t hs_fnmap_get(hs_fnmap *m, const char *owner, const char *app, const char *func, const char *trigger)
{
    int64_t found = hs_fnmap_find(m, owner, app, func);
    if (found >= 0)
        return found;
    if (2 * (m->n + 1) > m->nslot && hs_fnmap_grow(m))
        return -1;
    if (m->n == m->cap) {
        int64_t nc = m->cap ? 2 * m->cap : 1024;
        hs_fnmap_entry *e = realloc(m->e, (size_t)nc * sizeof *e);
        if (!e)
            return -1;
        m->e = e;
        m->cap = nc;
    }
    size_t lo = strlen(owner), la = strlen(app), lf = strlen(func), lt = strlen(trigger);
    int64_t need = (int64_t)(lo + la + lf + lt + 4);
    if (m->used + need > m->acap) {
        int64_t nc = m->acap ? 2 * m->acap : 65536;
        while (nc < m->used + need)
            nc *= 2;
        char *a = realloc(m->arena, (size_t)nc);
        if (!a)
            return -1;
        m->arena = a;
        m->acap = nc;
    }
    char *k = m->arena + m->used;
    memcpy(k, owner, lo + 1);
    memcpy(k + lo + 1, app, la + 1);
    memcpy(k + lo + la + 2, func, lf + 1);
    memcpy(k + lo + la + lf + 3, trigger, lt + 1);
    uint64_t h = hs_fn_hash(owner, app, func);
    hs_fnmap_entry *e = &m->e[m->n];
    memset(e, 0, sizeof *e);
    e->key = m->used;
    e->hash = h;
    e->last_file = -1;
    e->row = -1;
    m->used += need;
    int64_t s = (int64_t)(h & (uint64_t)(m->nslot - 1));
    while (m->slot[s] >= 0)
        s = (s + 1) & (m->nslot - 1);
    m->slot[s] = m->n;
    return m->n++;
}

int64_t hs_fnmap_count(const hs_fnmap *m) { return m->n; }

hs_fnmap_entry *hs_fnmap_at(hs_fnmap *m, int64_t i) { return &m->e[i]; }

void hs_fnmap_ids(const hs_fnmap *m, int64_t i, const char **owner, const char **app, const char **func,
                  const char **trigger)
{
    const char *k = m->arena + m->e[i].key;
    *owner = k;
    k += strlen(k) + 1;
    *app = k;
    k += strlen(k) + 1;
    *func = k;
    k += strlen(k) + 1;
    *trigger = k;
}
