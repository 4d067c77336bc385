/* backtest_csv.h: the table of forecasts from several cutoffs, in the layout of Prophet's
 * cross_validation: `cutoff,ds,y,yhat,yhat_lower,yhat_upper`, one row per (cutoff, ds), times
 * as "YYYY-MM-DD HH:MM:SS" (UTC). `hyscale backtest` writes backtest.csv in it and the LSTM
 * stage lstm_by_lead.csv (its recursive forecasts from the rolling cutoffs of lead.h); the
 * forecast report reads the latter back.
 *
 *     hs_bt_rows r = {n, cutoff, ds, y, yhat, lower, upper};    // lower/upper may be NULL
 *     HS_TRY(hs_bt_csv_write(f, tmp_path, &r));
 *     hs_bt_table t;
 *     HS_TRY(hs_bt_table_read(path, &t));   ... t.cutoff[i], t.ds[i], t.yhat[i] ...
 *     hs_bt_table_free(&t);
 */
#ifndef HYSCALE_BACKTEST_CSV_H
#define HYSCALE_BACKTEST_CSV_H

#include <stdint.h>
#include <stdio.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_bt_rows {
    int64_t n;
    const int64_t *cutoff, *ds;           /* (n) seconds since the epoch */
    const double *y;                      /* (n) or NULL; NaN entries are written empty */
    const double *yhat;                   /* (n) required, finite */
    const double *lower, *upper;          /* (n) or NULL (empty fields) */
} hs_bt_rows;

/* Header and rows to f; path names the file in messages. A non-finite yhat or bound stops the
 * writer naming the line and column (HS_ERR_INTERNAL); a failed write is HS_ERR_IO. */
hs_status hs_bt_csv_write(FILE *f, const char *path, const hs_bt_rows *r);

/* The table read back, owned by the caller (hs_bt_table_free). */
typedef struct hs_bt_table {
    int64_t n;
    int64_t *cutoff, *ds;                 /* (n) */
    double *y, *yhat, *lower, *upper;     /* (n), NAN where empty */
} hs_bt_table;

/* Strict: the exact header, six columns, times and plain decimal numbers (parse.h), yhat
 * present. Errors name the file, line and column. */
hs_status hs_bt_table_read(const char *path, hs_bt_table *t);
void hs_bt_table_free(hs_bt_table *t);

#ifdef __cplusplus
}
#endif
#endif
