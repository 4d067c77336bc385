/* lstm_stage.h: the `hyscale forecast lstm` stage: train on the training span, score the
 * holdout one step ahead and recursively, forecast the horizon, write the files.
 *
 *     hs_lstm_stage_config c = HS_LSTM_STAGE_DEFAULTS;
 *     c.input = "outputs/run1/series.csv"; c.out_dir = "outputs/run1"; c.holdout = 1440;
 *     hs_lstm_stage_result r;
 *     HS_TRY(hs_lstm_stage_run(&c, manifest, &r));
 *
 * Files (all together or none): lstm_full.csv (ds,y,yhat,yhat_lower,yhat_upper: the one-step
 * prediction of every point from the window before it), lstm_recursive.csv (the recursive
 * forecast of the holdout from the end of the training span), lstm_next.csv (the recursive
 * forecast of the horizon after the data), lstm_forecast8.csv (minute,f1..f8: the 8-step
 * recursive forecast made at the end of every minute, for the autoscaling environment),
 * lstm_by_lead.csv (with a holdout: the recursive forecasts from the holdout's rolling cutoffs
 * at the leads of lead.h, in backtest_csv.h's layout, for the report's scores by lead time),
 * lstm_validation_by_lead.csv (the same from the cutoffs of the validation span, the last tenth
 * of the training span (hs_lead_validation_start), where the per-lead Hybrid's weights are
 * chosen; with a holdout),
 * lstm_metrics.json, lstm.safetensors, lstm.png, lstm_loss.png and the manifest. Numbers are on
 * the invocation scale for a series.csv (log1p modelled), as given for ds,y.
 */
#ifndef HYSCALE_LSTM_STAGE_H
#define HYSCALE_LSTM_STAGE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "hyscale/backend.h"
#include "hyscale/backtest_csv.h"
#include "hyscale/lstm.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_lstm_stage_config {
    const char *input, *out_dir;
    int64_t holdout; /* 0: none */
    int64_t horizon; /* -1: 1440 for a per-minute series, else 30 */
    hs_lstm_train_config train;
    int plot, quiet;
    const char *manifest_name;
    const char *weights; /* predict with this lstm.safetensors instead of training (NULL: train) */
} hs_lstm_stage_config;

/* The stage's training defaults: HS_LSTM_TRAIN_DEFAULTS with the calendar inputs and the head's
 * outputs left to hs_lstm_stage_resolve (calendar -1, horizon 0: chosen from the series). */
#define HS_LSTM_TRAIN_AUTO {64, 1, 60, 0, 256, 30, 5, -1, 1e-3f, 1.0f, 0.1, 1, 0, NULL, 0}
#define HS_LSTM_STAGE_DEFAULTS {NULL, NULL, 0, -1, HS_LSTM_TRAIN_AUTO, 1, 0, NULL, NULL}

typedef struct hs_lstm_stage_result {
    int64_t n, n_train, holdout, horizon;
    double one_step_mae, one_step_rmse, recursive_mae, recursive_rmse; /* NAN when not scored */
    double train_seconds;
    int epochs;
} hs_lstm_stage_result;

hs_status hs_lstm_stage_run(const hs_lstm_stage_config *c, cJSON *manifest, hs_lstm_stage_result *res);

/* HS_OK when the training options are in range (hidden in [1, 1024], layers 1 or 2, window,
 * outputs, epochs, batch and patience at least 1, lr and clip positive); else HS_ERR_USAGE naming
 * the option. */
hs_status hs_lstm_stage_check(const hs_lstm_stage_config *c);

/* The day-ahead defaults, for a training span of n_train points stepping step_seconds: calendar
 * -1 becomes 1 (sin/cos of minute of day and day of week as inputs) when the span covers at
 * least two days, else 0; horizon 0 (the head's outputs K) becomes the points of an hour (60 for
 * minutes) when the span covers two days and an hour is a whole number of points, else 1. One
 * forward then forecasts the next hour, trained on the loss of all K (multi-step), and a day is
 * 24 forwards instead of 1,440 steps fed back one at a time: the recursion that settled on a
 * flat line within two hours (README, "LSTM and Hybrid": the measurements). Set values are kept. Pure. */
void hs_lstm_stage_resolve(hs_lstm_train_config *t, int64_t n_train, int64_t step_seconds);

/* The minimum-length rule of both LSTM stages: a training span needs 2 * window + 2 points
 * (windows to train on and a validation share). hs_lstm_stage_fits: 1 when n points with this
 * holdout (>= 0) leave that many, else 0. Pure. */
int64_t hs_lstm_min_train(int window);
int hs_lstm_stage_fits(int64_t n, int64_t holdout, int window);

/* The lengths a run of the stage uses: n points, n_train = n - holdout trained on, the horizon
 * forecast after the data (-1 in the config: 1440 for a per-minute series, else 30). */
typedef struct hs_lstm_plan {
    int64_t n, n_train, holdout, horizon;
    int window;
} hs_lstm_plan;

/* The plan for a series of n points stepping step_seconds with this window; HS_ERR_INPUT naming
 * c->input when it does not fit (hs_lstm_stage_fits). */
hs_status hs_lstm_stage_plan(const hs_lstm_stage_config *c, int64_t n, int64_t step_seconds, int window,
                             hs_lstm_plan *p);

/* One series' normalisation, fitted on its training span: v = (y - mean) / std, y the modelled
 * value (log1p of invocations when log_scale). Shared by both LSTM stages. */
typedef struct hs_lstm_scale {
    double mean, std; /* population std; 1 for a constant training span */
    int log_scale;
} hs_lstm_scale;

/* What the model reads before the series start. */
typedef enum hs_lstm_pad_rule {
    HS_LSTM_PAD_ZERO = 0, /* zero on the input's scale (zero invocations), normalised: -mean / std */
    HS_LSTM_PAD_MEAN = 1  /* the normalised mean, 0 */
} hs_lstm_pad_rule;

/* mean and std of y[0, n_train) (n_train >= 1). */
void hs_lstm_scale_fit(const double *y, int64_t n_train, int log_scale, hs_lstm_scale *sc);
/* v (n) = the normalised y (n). */
void hs_lstm_scale_apply(const hs_lstm_scale *sc, const double *y, int64_t n, float *v);
/* The pad value of a rule, normalised. */
float hs_lstm_scale_pad(const hs_lstm_scale *sc, hs_lstm_pad_rule rule);
/* A normalised value back on the input's scale (invocations for a log model), in double. */
double hs_lstm_scale_back(const hs_lstm_scale *sc, float v);

/* The recursive forecasts from the rolling cutoffs of the holdout [n_train, n) (lead.h), at the
 * leads only, back on the input's scale: one row per (cutoff, lead) landing inside the series,
 * ordered by cutoff then lead, with the actual yin at the forecast point; lower/upper NULL. d and
 * pad as for hs_lstm_predict (one model), ds (n) the times. *out is the caller's to free
 * (hs_bt_table_free); empty without a holdout. */
hs_status hs_lstm_by_lead(hs_lstm *m, const hs_lstm_data *d, const hs_lstm_scale *sc, float pad, const int64_t *ds,
                          const float *yin, int64_t n, int64_t n_train, hs_bt_table *out);

/* --per-function N: one model per function for the top N series of the functions.safetensors
 * beside the input series.csv, all trained at once. Files: lstm_functions.csv (holdout scores
 * per function), lstm_functions.safetensors (params (N, P)), lstm_functions_metrics.json and
 * the manifest. res carries the means over the functions. */
hs_status hs_lstm_functions_run(const hs_lstm_stage_config *c, int nfun, cJSON *manifest, hs_lstm_stage_result *res);

/* --device auto|cpu|cuda and --lstm-impl auto|cublas|persistent|cudnn: *be NULL for the CPU, else a
 * CUDA backend; "auto" without a GPU falls back to the CPU and says so on stderr (unless quiet).
 * *dev gets the device that will run. */
hs_status hs_lstm_pick_backend(const char *device, const char *impl, int quiet, const hs_lstm_backend **be,
                               hs_device *dev);

#ifdef __cplusplus
}
#endif
#endif
