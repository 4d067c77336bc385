/* backtest.h: `hyscale backtest`: Prophet's cross_validation and performance_metrics
 * (prophet.diagnostics, Prophet 1.5.0) for every forecaster.
 *
 *     hs_backtest_config c = HS_BACKTEST_DEFAULTS;
 *     c.input = "outputs/run1/series.csv"; c.out_dir = "outputs/bt"; c.model = HS_BT_PROPHET;
 *     hs_backtest_result r;
 *     HS_TRY(hs_backtest_run(&c, manifest, &r));
 *
 * Cutoffs as Prophet's generate_cutoffs: the last at the end of the data minus the horizon,
 * then back by the period while the cutoff is at least the start plus the initial window (the
 * last one found below it dropped), a cutoff whose (cutoff, cutoff + horizon] holds no point
 * moved to the last point before it minus the horizon. Defaults as Prophet's cross_validation:
 * period = horizon / 2, initial = max(3 x horizon, the longest seasonality's period); the
 * horizon, which Prophet requires, is 1 day for a series stepping by the minute (required
 * otherwise). Each cutoff forecasts the points in (cutoff, cutoff + horizon]:
 * - prophet: refitted on the points at or before the cutoff (the exact solver), with the
 *   seasonalities of the model fitted on every point (Prophet's prophet_copy), its interval
 *   from the simulation of hs_prophet_predict, each cutoff's from its own seed (drawn from the
 *   run's), as each of Prophet's cutoffs draws its own futures;
 * - lstm: trained once on the points at or before the first cutoff (normalised there), then a
 *   recursive forecast from every cutoff with the actual points before it; no interval;
 * - hybrid: the average of the two; no interval.
 * Metrics as performance_metrics(rolling_window=0.1): by horizon (ds - cutoff), each the mean of
 * the w = max(1, floor(0.1 x rows)) rows of the smallest horizons up to it (the median for
 * mdape), mape left empty when some |y| < 1e-8 (Prophet drops it), coverage empty without an
 * interval. For a series.csv, y is the cleaned invocations and every forecast expm1 of the
 * log1p model, as the forecast stages write them.
 *
 * Files (all together or none): backtest.csv (cutoff,ds,y,yhat,yhat_lower,yhat_upper;
 * backtest_csv.h), backtest_metrics.csv (horizon,mse,rmse,mae,mape,mdape,smape,coverage,
 * horizon as pandas writes a Timedelta: "365 days", or "0 days 00:05:00" when some horizon is
 * not whole days), backtest_metrics.png and the manifest (default backtest.manifest.json).
 */
#ifndef HYSCALE_BACKTEST_H
#define HYSCALE_BACKTEST_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "hyscale/backend.h"
#include "hyscale/backtest_csv.h"
#include "hyscale/lstm.h"
#include "hyscale/prophet.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hs_bt_model { HS_BT_PROPHET = 0, HS_BT_LSTM = 1, HS_BT_HYBRID = 2 } hs_bt_model;

typedef struct hs_backtest_config {
    const char *input, *out_dir;
    hs_bt_model model;
    int64_t horizon, period, initial; /* seconds; -1: the default above */
    double rolling_window;            /* 0.1; in [0, 1] */
    hs_prophet_config prophet;
    hs_lstm_train_config lstm;
    int plot, quiet;
    const char *manifest_name; /* NULL: "backtest.manifest.json" */
} hs_backtest_config;

#define HS_BACKTEST_DEFAULTS                                                                                           \
    {NULL, NULL, HS_BT_PROPHET, -1, -1, -1, 0.1, HS_PROPHET_DEFAULTS, HS_LSTM_TRAIN_AUTO, 1, 0, NULL}

typedef struct hs_backtest_result {
    int64_t cutoffs, rows, horizons;     /* forecasts from how many cutoffs, rows of backtest.csv, of the metrics */
    int64_t horizon, period, initial;    /* seconds, as resolved */
    double seconds;                      /* the whole backtest (fits, training, forecasts, metrics) */
    double mae, rmse;                    /* over every row of backtest.csv */
} hs_backtest_result;

hs_status hs_backtest_run(const hs_backtest_config *c, cJSON *manifest, hs_backtest_result *res);

/* HS_OK when the options are in range (positive durations where given, rolling window in [0, 1],
 * the Prophet options as hs_prophet_stage_check, the LSTM's as hs_lstm_stage_check when the
 * model uses it); else HS_ERR_USAGE naming the option. Pure. */
hs_status hs_backtest_check(const hs_backtest_config *c);

/* ---- pieces, public for tests --------------------------------------------------------------- */

/* A duration: a plain decimal number with a unit, `3d`, `12h`, `90min`, `30s` (also `day`,
 * `days`, `hour`, `hours`, `m`, `minutes`, `sec`, `seconds`, and a space before the unit as in
 * Prophet's "365 days"), or a bare number of minutes (`1440`); a whole, positive number of
 * seconds. 0 and *seconds set, or -1 (the text is not one). */
int hs_backtest_parse_duration(const char *text, int64_t *seconds);

/* The last index i with ds[i] <= t in sorted ds (n), or -1: where a cutoff falls. */
int64_t hs_backtest_last_at_or_before(const int64_t *ds, int64_t n, int64_t t);

/* Prophet's generate_cutoffs over the times ds (n, increasing): *cut (malloc'd, the caller
 * frees) gets *ncut cutoffs in increasing order. HS_ERR_INPUT with Prophet's reasons: less data
 * than the horizon, or no cutoff after the initial window. */
hs_status hs_backtest_cutoffs(const int64_t *ds, int64_t n, int64_t horizon, int64_t initial, int64_t period,
                              int64_t **cut, int64_t *ncut);

/* performance_metrics of a cross-validation table (its rows in any order). Columns NaN where
 * Prophet leaves them out (mape: some |y| < 1e-8; coverage: no interval) or where a value is not
 * finite (mdape of a y of 0). Owned by the caller (hs_bt_metrics_free). */
typedef struct hs_bt_metrics {
    int64_t n;
    int64_t *horizon; /* (n) seconds, increasing */
    double *mse, *rmse, *mae, *mape, *mdape, *smape, *coverage; /* (n) */
    int has_mape, has_coverage;
} hs_bt_metrics;

hs_status hs_backtest_metrics(const hs_bt_table *cv, double rolling_window, hs_bt_metrics *out);
void hs_bt_metrics_free(hs_bt_metrics *m);

/* A horizon as pandas writes a Timedelta column: "N days" when every horizon of the column is
 * whole days (all_days), else "N days HH:MM:SS". buf: at least 48 bytes. */
void hs_backtest_format_horizon(int64_t seconds, int all_days, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
