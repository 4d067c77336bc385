/* preprocess.h: trace files -> the per-minute series (total and per function), cleaned, with
 * every output file of the stage.
 *
 *     hs_preprocess_config cfg = HS_PREPROCESS_DEFAULTS;
 *     cfg.inputs = paths; cfg.ninputs = n; cfg.out_dir = "outputs/run1";
 *     hs_preprocess_result res;
 *     HS_TRY(hs_preprocess_run(&cfg, manifest, &res));   // manifest: cJSON object or NULL
 *     hs_preprocess_print_summary(&res, stdout);
 *     hs_preprocess_result_free(&res);
 *
 * Writes into out_dir, all together or nothing: series.csv (minute,timestamp,invocations,
 * clipped,log1p), series.json (provenance and statistics), functions.safetensors (tensor
 * "invocations", (N, M) float32: the top N functions by volume) with functions.csv (their
 * ids, triggers and totals, row order = tensor rows), series.png and manifest.json.
 *
 * Two streaming passes: the first sums the aggregate and every function's total (memory: the
 * minutes plus one entry per distinct function, never the files); the second, only when
 * functions > 0, fills the (N, M) matrix of the top N.
 */
#ifndef HYSCALE_PREPROCESS_H
#define HYSCALE_PREPROCESS_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "hyscale/series.h"
#include "hyscale/status.h"
#include "hyscale/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_preprocess_config {
    char *const *inputs; /* files or folders of day files */
    int ninputs;
    const char *out_dir;
    int functions;          /* N: top functions kept (default 100; 0 = aggregate only) */
    int skip_bad_rows;
    hs_clip_config clip;
    const char *start;      /* time of minute 0 for layouts without dates (NULL: nominal) */
    int plot;               /* write series.png */
    int quiet;
    const char *manifest_name; /* NULL: "manifest.json" */
    int64_t max_span;       /* longest series in points (0: HS_SERIES_MAX_SPAN; the fuzz target
                             * sets less, so a long-but-valid span does not read as a time-out) */
} hs_preprocess_config;

#define HS_PREPROCESS_DEFAULTS {NULL, 0, NULL, 100, 0, HS_CLIP_DEFAULTS, NULL, 1, 0, NULL, 0}

typedef struct hs_preprocess_result {
    hs_layout layout;
    int files;
    int days;
    int64_t bytes;
    int64_t rows;
    int64_t functions_seen;
    int functions_kept;
    int synthetic;
    hs_series series;
    int64_t clipped;
    int64_t gap_minutes;
    int64_t skips[HS_BAD_NCAUSES];
    int64_t skipped_total;
    int64_t starts_before_trace;
    hs_series_stats stats;
    double seconds, read_seconds;
    int64_t peak_rss_kib;
} hs_preprocess_result;

hs_status hs_preprocess_run(const hs_preprocess_config *cfg, cJSON *manifest, hs_preprocess_result *res);
void hs_preprocess_print_summary(const hs_preprocess_result *res, FILE *f);
void hs_preprocess_result_free(hs_preprocess_result *res);

#ifdef __cplusplus
}
#endif
#endif
