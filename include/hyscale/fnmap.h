/* fnmap.h: a hash map from a function's identity (owner, app, function) to its running totals,
 * for the preprocessing passes over a trace.
 *
 *     hs_fnmap *m = hs_fnmap_new();
 *     int64_t i = hs_fnmap_get(m, owner, app, func, trigger);   // inserted when new; -1: no memory
 *     hs_fnmap_entry *e = hs_fnmap_at(m, i);
 *     hs_fnmap_free(m);
 */
#ifndef HYSCALE_FNMAP_H
#define HYSCALE_FNMAP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_fnmap_entry {
    int64_t key;          /* offset of "owner\0app\0func\0trigger\0" in the map's arena */
    uint64_t hash;
    double total;         /* invocations over all files */
    int64_t active;       /* minutes with at least one invocation */
    int last_file;        /* last file index that had a row for it (duplicate check) */
    int row;              /* row in the kept matrix, -1 when not kept */
} hs_fnmap_entry;

typedef struct hs_fnmap hs_fnmap;

hs_fnmap *hs_fnmap_new(void);
void hs_fnmap_free(hs_fnmap *m);

/* Index of the function, inserted (totals zero, last_file -1, row -1) when new.
 * -1 when out of memory. */
int64_t hs_fnmap_get(hs_fnmap *m, const char *owner, const char *app, const char *func, const char *trigger);
/* Index or -1 when absent (no insertion). */
int64_t hs_fnmap_find(const hs_fnmap *m, const char *owner, const char *app, const char *func);

int64_t hs_fnmap_count(const hs_fnmap *m);
hs_fnmap_entry *hs_fnmap_at(hs_fnmap *m, int64_t i);
/* The four strings of entry i (owned by the map). */
void hs_fnmap_ids(const hs_fnmap *m, int64_t i, const char **owner, const char **app, const char **func,
                  const char **trigger);

#ifdef __cplusplus
}
#endif
#endif
