/* forecast8_csv.h: the 8-step forecast tables (`minute,f1,...,f8`: lstm_forecast8.csv,
 * hybrid_forecast8.csv), read back strictly: the exact header, nine columns a row, the minute a
 * whole number (equal to the row's index where the caller asks) and each forecast a plain
 * decimal within +-HS_PARSE_Y_MAX (parse.h). Errors: "file:line: column C (name): what 'value'".
 *
 *     hs_f8_table t;
 *     HS_TRY(hs_f8_table_read(path, n, 1, &t));   // at most n rows, minute == row index
 *     ... t.v[row * 8 + k] ...
 *     hs_f8_table_free(&t);
 */
#ifndef HYSCALE_FORECAST8_CSV_H
#define HYSCALE_FORECAST8_CSV_H

#include <stdint.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_f8_table {
    int64_t n;       /* rows */
    int64_t *minute; /* (n) */
    double *v;       /* (n, 8) forecasts 1..8 minutes ahead */
} hs_f8_table;

/* Reads path; max_rows < 0: no limit, else more rows is an error naming the line;
 * minute_is_row: the minute of row i must be i. The caller frees t (hs_f8_table_free). */
hs_status hs_f8_table_read(const char *path, int64_t max_rows, int minute_is_row, hs_f8_table *t);
void hs_f8_table_free(hs_f8_table *t);

#ifdef __cplusplus
}
#endif
#endif
