/* bench_util.h: the pieces the C benchmarks share (bench_lstm.c, bench_lstm_gpu.c): an integer
 * option, a monotonic clock, the median, a Philox normal draw and JSON scalars. Header-only
 * (each bench/ file is its own program). */
#ifndef HYSCALE_BENCH_UTIL_H
#define HYSCALE_BENCH_UTIL_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hyscale/math/rng.h"

/* An integer option >= lo (and <= 1e9); 0 and a message naming prog and the option otherwise. */
static inline int bench_parse_int(const char *prog, const char *name, const char *s, int lo, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > 1000000000L) {
        fprintf(stderr, "%s: %s: '%s' is not an integer >= %d\n", prog, name, s, lo);
        return 0;
    }
    *out = (int)v;
    return 1;
}

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v (n >= 1), NaN when out of memory. */
static inline double bench_median(const double *v, int n)
{
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return NAN;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, bench_cmp_double);
    double r = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return r;
}

/* A standard normal draw (Box-Muller on two Philox uniforms). */
static inline float bench_normal(uint64_t seed, uint64_t stream, uint64_t index)
{
    hs_u32x4 r = hs_rng_u32x4(seed, stream, index);
    double u1 = ((double)(r.v[0] >> 8) + 0.5) / 16777216.0; /* (0, 1): log is finite */
    double u2 = (double)(r.v[1] >> 8) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* A JSON string value: quotes, backslashes and control characters escaped; NULL as null. */
static inline void bench_json_str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* A number, or null when it is not finite (JSON has no NaN). */
static inline void bench_json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

#endif
