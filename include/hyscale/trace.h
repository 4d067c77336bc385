/* trace.h: streaming readers for invocation traces, with the layout detected from the header.
 *
 * Layouts:
 *   HS_LAYOUT_AZURE2019   HashOwner,HashApp,HashFunction,Trigger,<minutes a..b>  (one file a day)
 *   HS_LAYOUT_INVITRO     HashFunction,HashOwner,HashApp,minute_<a>..minute_<b>   (one file a day)
 *   HS_LAYOUT_AZURE2021   app,func,end_timestamp,duration                         (one row a call)
 *   HS_LAYOUT_DS_Y        ds,y               (Prophet's convention; ISO date or datetime)
 *   HS_LAYOUT_MINUTE      minute,invocations
 *
 *     hs_trace_files files;
 *     HS_TRY(hs_trace_files_list(paths, npaths, &files));     // folders expanded, days ordered
 *     hs_trace_reader_config rc = {.skip_bad_rows = 0};
 *     HS_TRY(hs_trace_read(&files, &rc, &sink));             // streams every file into sink
 *     hs_trace_files_free(&files);
 *
 * Every error names the file, the line, the column and the value. With skip_bad_rows, bad rows
 * are skipped and counted by cause in rc.skips instead.
 */
#ifndef HYSCALE_TRACE_H
#define HYSCALE_TRACE_H

#include <stdint.h>

#include "hyscale/progress.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hs_layout {
    HS_LAYOUT_UNKNOWN = 0,
    HS_LAYOUT_AZURE2019,
    HS_LAYOUT_INVITRO,
    HS_LAYOUT_AZURE2021,
    HS_LAYOUT_DS_Y,
    HS_LAYOUT_MINUTE
} hs_layout;

/* "azure2019", "invitro", "azure2021", "ds_y", "minute_invocations", "unknown". */
const char *hs_layout_name(hs_layout l);

/* Why a row was bad. */
typedef enum hs_bad_cause {
    HS_BAD_COLUMN_COUNT = 0,
    HS_BAD_NON_NUMERIC,
    HS_BAD_NEGATIVE,
    HS_BAD_FRACTIONAL,
    HS_BAD_DUPLICATE_FUNCTION,
    HS_BAD_TRUNCATED_LINE,
    HS_BAD_TIMESTAMP,
    HS_BAD_DUPLICATE_TIME,
    HS_BAD_ID,             /* an id over 255 bytes, or holding a NUL or control byte */
    HS_BAD_NCAUSES
} hs_bad_cause;

/* "wrong_column_count", "non_numeric", "negative", "fractional", "duplicate_function",
 * "truncated_last_line", "bad_timestamp", "duplicate_timestamp", "bad_id". */
const char *hs_bad_cause_name(hs_bad_cause c);

typedef struct hs_trace_file {
    char *path;
    int64_t bytes;
    int day;        /* 0-based day of a day file (from dNN in the name, else its position) */
    hs_layout layout;
    int64_t rows;   /* data rows read (after the last read) */
} hs_trace_file;

typedef struct hs_trace_files {
    hs_trace_file *f; /* (count) in reading order */
    int count;
    hs_layout layout; /* the one layout all files share */
    int64_t bytes;    /* total size */
} hs_trace_files;

/* Expands folders (their *.csv files), orders day files by their dNN number (else by name),
 * detects each file's layout from its header and checks they all share one. Errors name the
 * file. Free with hs_trace_files_free. */
hs_status hs_trace_files_list(char *const *paths, int npaths, hs_trace_files *out);
void hs_trace_files_free(hs_trace_files *fs);

/* Reads just the header of path and names its layout (HS_ERR_INPUT with a message for an empty
 * file or an unknown header). */
hs_status hs_trace_detect(const char *path, hs_layout *out);

/* A function's identity as read from a row (strings valid during the callback only). */
typedef struct hs_trace_fn {
    const char *owner, *app, *func, *trigger;
} hs_trace_fn;

/* Return codes of hs_trace_sink.counts besides an hs_status failure. */
#define HS_SINK_DUPLICATE (-1) /* this function already has a row in this file */

typedef struct hs_trace_sink {
    void *ctx;
    /* Wide layouts: one function's counts for global minutes [minute0, minute0 + n) from file
     * `file_index` (a day). The 2021 log: one invocation (n = 1, c[0] = 1) at its start minute.
     * Returns 0 (HS_OK), HS_SINK_DUPLICATE, or a failing hs_status with a message. */
    int (*counts)(void *ctx, const hs_trace_fn *fn, int file_index, int64_t minute0, const uint32_t *c, int n);
    /* Plain layouts: one point at time t (seconds since the epoch) with value y. Returns 0,
     * HS_SINK_DUPLICATE (a time seen before), or a failing hs_status. */
    int (*point)(void *ctx, int64_t t, double y);
    /* Wide layouts: file `file_index` covers global minutes [minute0, minute0 + n). Optional. */
    void (*cover)(void *ctx, int file_index, int64_t minute0, int64_t n);
    /* Optional: 1 when a well-formed wide row of this function is not needed (its counts are
     * then not parsed; rows with any defect still reach `counts` through the checks). */
    int (*skip)(void *ctx, const hs_trace_fn *fn);
} hs_trace_sink;

typedef struct hs_trace_reader_config {
    int skip_bad_rows;                  /* skip and count bad rows instead of failing */
    int64_t skips[HS_BAD_NCAUSES];      /* out: skipped rows by cause */
    int64_t starts_before_trace;        /* out (2021 log): invocations starting before t = 0, put in minute 0 */
    hs_progress *progress;              /* optional: bytes read over all files */
    int64_t progress_base;              /* bytes counted as done before this read (a second pass) */
} hs_trace_reader_config;

/* Streams every file into sink. Global minute of a wide layout's column m of day d:
 * d * 1440 + m - 1; of a 2021 invocation: floor((end_timestamp - duration) / 60). */
hs_status hs_trace_read(hs_trace_files *fs, hs_trace_reader_config *rc, const hs_trace_sink *sink);

/* Nominal start time of minute 0 for a layout without dates: 2019-07-01 00:00 UTC (a Monday)
 * for the 2019 layouts and minute,invocations, 2021-01-31 00:00 UTC for the 2021 log (the
 * traces publish no calendar dates; these keep weekday rhythm consistent). */
int64_t hs_layout_nominal_start(hs_layout l);

#ifdef __cplusplus
}
#endif
#endif
