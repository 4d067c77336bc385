/* csvread.h: streaming CSV reading on libcsv, with record numbers for error messages.
 *
 * The file is read in 1 MiB chunks and split into lines; libcsv (strict quoting) parses each
 * line the optional fast `line` handler declines (see below); each field reaches
 * `field` as (column, bytes, length) while it is parsed, each record end reaches `row`. Memory
 * stays constant whatever the file size. A record ended by the end of the file without a line
 * terminator reaches `row` with terminated = 0 (the caller decides whether it is truncated).
 *
 *     hs_csv_handlers h = {.ctx = &me, .field = on_field, .row = on_row};
 *     HS_TRY(hs_csv_stream(path, &h, NULL));
 *
 * A handler returns 0 to go on, or non-zero to stop: hs_csv_stream then returns the hs_status
 * held in h.stop_status (set by the handler, with its message already recorded; HS_OK for a
 * deliberate early stop, such as after a header).
 */
#ifndef HYSCALE_CSVREAD_H
#define HYSCALE_CSVREAD_H

#include <stddef.h>
#include <stdint.h>

#include "hyscale/progress.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_csv_handlers {
    void *ctx;
    /* col: 0-based; line: 1-based record number (the line number when no record spans lines). */
    int (*field)(void *ctx, int col, const char *s, size_t len, int64_t line);
    int (*row)(void *ctx, int ncols, int64_t line, int terminated);
    /* Optional fast path: a whole quote-free line (without its '\n') at a record boundary.
     * Returns 0 when it handled the record, 1 to stop, -1 to decline: the line then goes
     * through libcsv and the field/row handlers as usual (so errors are reported there). */
    int (*line)(void *ctx, const char *s, size_t len, int64_t line);
    /* Optional: the name of column col (0-based) for hs_csv_stream's own messages (malformed
     * quoting, unterminated last field); NULL or a NULL result reads "?". */
    const char *(*name)(void *ctx, int col);
    hs_status stop_status;   /* what to return when a handler stops the stream */
    hs_progress *progress;   /* optional: updated with bytes read */
    const char *progress_what; /* text after the percentage, e.g. the file name */
    int64_t progress_base;     /* bytes done before this file (several files, one progress) */
} hs_csv_handlers;

typedef struct hs_csv_info {
    int64_t bytes;   /* file size */
    int64_t records; /* records seen */
    int64_t field_grows; /* times the parser's field buffer grew: logarithmic in the longest field */
} hs_csv_info;

/* Streams path through the handlers. Errors: HS_ERR_IO (cannot open or read), HS_ERR_INPUT
 * (a folder, an empty file: "path: what"; malformed quoting or an unterminated last field:
 * "path:line: column C (name): what 'bytes so far'"), or the handler's stop_status. */
hs_status hs_csv_stream(const char *path, hs_csv_handlers *h, hs_csv_info *info);

/* The two checks every strict reader's handlers make, written once. Each returns 0 when the
 * input is as expected, else records the error in h->stop_status and returns 1 (stop).
 * hs_csv_check_header, for a field of line 1: the field is exactly `name`, else
 *   "path:1: column C (name): unexpected header 'value'".
 * hs_csv_check_columns, for a row: ncols == want, else "path:line: column C (name): wrong column
 *   count: expected W columns, found N", C the first missing or extra column, named by h->name. */
int hs_csv_check_header(hs_csv_handlers *h, const char *path, int col, const char *s, size_t len, const char *name);
int hs_csv_check_columns(hs_csv_handlers *h, const char *path, int64_t line, int ncols, int want);

#ifdef __cplusplus
}
#endif
#endif
