/* forecast_csv.h: the forecast CSV every forecaster writes, in Prophet's convention:
 * `ds,y,yhat,yhat_lower,yhat_upper`, one row per point, ds as "YYYY-MM-DD HH:MM:SS" (UTC).
 * A point with no actual value (a forecast past the data) has an empty y; a forecaster without
 * an interval passes NULL bounds and gets empty bound fields.
 *
 *     hs_forecast_rows fr = {start_unix, 60, n, y, yhat, lower, upper};
 *     HS_TRY(hs_forecast_csv_write(f, path, &fr));
 */
#ifndef HYSCALE_FORECAST_CSV_H
#define HYSCALE_FORECAST_CSV_H

#include <stdint.h>
#include <stdio.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_forecast_rows {
    int64_t start_unix;   /* time of row 0 */
    int64_t step_seconds; /* spacing */
    int64_t n;            /* rows */
    const float *y;       /* (n) actuals, or NULL; NaN entries are written empty */
    const float *yhat;    /* (n) required */
    const float *lower;   /* (n) or NULL */
    const float *upper;   /* (n) or NULL */
} hs_forecast_rows;

/* Writes the header and the rows to f; path names the file in messages. */
hs_status hs_forecast_csv_write(FILE *f, const char *path, const hs_forecast_rows *r);

/* The rows alone, without the header (to append rows of irregular times one run at a time). */
hs_status hs_forecast_csv_write_rows(FILE *f, const char *path, const hs_forecast_rows *r);

/* Header and n rows at the given times (any spacing): ds (n); y, lower, upper may be NULL. */
hs_status hs_forecast_csv_write_at(FILE *f, const char *path, const int64_t *ds, const float *y, const float *yhat,
                                   const float *lower, const float *upper, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
