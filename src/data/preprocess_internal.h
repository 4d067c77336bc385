/* preprocess_internal.h: state shared by the preprocessing passes (preprocess.c) and the
 * writer of its files (preprocess_write.c). Not a public header. */
#ifndef HYSCALE_PREPROCESS_INTERNAL_H
#define HYSCALE_PREPROCESS_INTERNAL_H

#include "hyscale/fnmap.h"
#include "hyscale/preprocess.h"

typedef struct hs_agg {
    /* wide layouts and the log: invocations by global minute */
    double *v;              /* (cap) */
    unsigned char *covered; /* (cap) 1 where a day file covers the minute */
    int64_t cap, lo, hi;    /* minutes [lo, hi] hold the series */
    int64_t max_span;       /* the most points the series may span (hs_preprocess_config) */
    int wide;
    hs_status err;
    hs_fnmap *fns;
    /* plain layouts: the points and a set of their times */
    int64_t *pt; /* (np) seconds since the epoch */
    double *py;  /* (np) */
    int64_t np;
    int64_t *tset; /* (tslots) open addressing, INT64_MIN empty */
    int64_t tslots;
    /* pass 2 */
    int64_t m;     /* M minutes of the series */
    float *mat;    /* (N, M) kept functions' invocations */
    int64_t *kept; /* (N) fnmap index of each matrix row */
} hs_agg;

hs_status hs_preprocess_write(const hs_preprocess_config *cfg, const hs_trace_files *files, hs_agg *a,
                              hs_preprocess_result *res, cJSON *manifest);

#endif
