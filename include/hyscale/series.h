/* series.h: the per-minute invocation series, its cleaning, splits and files.
 *
 *     hs_series s;
 *     hs_series_init(&s, m, 60, start_unix);       // (M) zeroed arrays
 *     ... fill s.invocations ...
 *     hs_clip_config cc = HS_CLIP_DEFAULTS;
 *     int64_t nclipped = hs_series_clean(&s, &cc);  // fills s.clipped and s.log1p
 *     hs_series_write_csv(&s, f, path);
 *     hs_series_free(&s);
 *
 * Cleaning: a point above `rolling median + k * rolling MAD` (centered window of `window`
 * points, MAD scaled by 1.4826 to estimate a standard deviation and floored at `min_scale`)
 * is clipped down to that threshold; log1p is taken of the clipped value.
 */
#ifndef HYSCALE_SERIES_H
#define HYSCALE_SERIES_H

#include <stdint.h>
#include <stdio.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_series {
    int64_t n;            /* M points */
    int64_t step_seconds; /* spacing: 60 for a per-minute series */
    int64_t start_unix;   /* time of point 0, seconds since 1970-01-01 UTC */
    float *invocations;   /* (M) raw values */
    float *clipped;       /* (M) after spike clipping */
    float *log1p;         /* (M) log1p(clipped) */
} hs_series;

/* Allocates three zeroed (M) arrays. Free with hs_series_free. */
hs_status hs_series_init(hs_series *s, int64_t n, int64_t step_seconds, int64_t start_unix);
/* Frees the arrays; a zeroed or freed series is fine. */
void hs_series_free(hs_series *s);

typedef struct hs_clip_config {
    int window;       /* centered rolling window in points (odd; even is rounded up) */
    double k;         /* threshold = median + k * scale */
    double min_scale; /* floor of the scale (1.4826 * MAD), so flat stretches don't clip noise */
} hs_clip_config;

#define HS_CLIP_DEFAULTS {61, 10.0, 1.0}

/* The longest series a trace may make: 2^24 points (32 years at one a minute). The series is
 * continuous from the first to the last time with gaps as zeros, so one wrong date in a small
 * file (the year 1020 among 2020 rows) would otherwise ask for a hundred million points and
 * minutes of work; past this the input is refused, naming the span. */
#define HS_SERIES_MAX_SPAN ((int64_t)1 << 24)

/* Clips spikes of x (n) into out (n) and returns the number of clipped points. */
int64_t hs_clip_spikes(const float *x, int64_t n, const hs_clip_config *cfg, float *out);

/* Fills s->clipped and s->log1p from s->invocations; returns the number of clipped points. */
int64_t hs_series_clean(hs_series *s, const hs_clip_config *cfg);

/* Summary statistics of a series' columns, stored for later stages (normalisation). */
typedef struct hs_series_stats {
    double total, mean, min, max, median, q99; /* of the raw invocations */
    double clipped_total;
    double log1p_mean, log1p_std, log1p_min, log1p_max; /* of log1p(clipped) */
    int64_t zero_points;
} hs_series_stats;

void hs_series_stats_compute(const hs_series *s, hs_series_stats *out);

/* The P-th percentile of x (n) by linear interpolation (NumPy's default). x is not changed. */
double hs_percentile(const float *x, int64_t n, double p);

/* Formats point i's time as "YYYY-MM-DD HH:MM:SS" (UTC) into buf (>= 20 bytes). */
void hs_format_time(int64_t unix_seconds, char *buf);

/* Parses "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.frac]]" or with 'T' and optional 'Z' (UTC).
 * Returns 0 on success, -1 when text is not such a date. */
int hs_parse_time(const char *text, int64_t *unix_seconds);

/* Writes `minute,timestamp,invocations,clipped,log1p` rows. path names the file in messages. */
hs_status hs_series_write_csv(const hs_series *s, FILE *f, const char *path);

/* Reads a series.csv written above (strict). */
hs_status hs_series_read_csv(const char *path, hs_series *out);

/* Splits M points by minutes: train [0, train_end), validation [train_end, val_end),
 * test [val_end, n) where the test span is the last `holdout` points and validation the last
 * `val_frac` of the rest. */
typedef struct hs_split {
    int64_t train_end, val_end, n;
} hs_split;

hs_status hs_split_make(int64_t n, int64_t holdout, double val_frac, hs_split *out);

#ifdef __cplusplus
}
#endif
#endif
