/* prophet_stage.h: the `hyscale forecast prophet` stage: read the input, fit on the training
 * span and score the holdout, refit on everything and forecast the horizon, write the files.
 *
 *     hs_prophet_stage_config c = HS_PROPHET_STAGE_DEFAULTS;
 *     c.input = "outputs/run1/series.csv"; c.out_dir = "outputs/run1"; c.holdout = 1440;
 *     hs_prophet_stage_result r;
 *     HS_TRY(hs_prophet_stage_run(&c, manifest, &r));
 *
 * Files in out_dir (all together or none): prophet_full.csv (every input point:
 * ds,y,yhat,yhat_lower,yhat_upper from the fit on the training span), prophet_next.csv (the
 * horizon after the data, fitted on all of it), prophet_metrics.json, prophet_model.json
 * (everything needed to predict again: hs_prophet_model_load), prophet.png,
 * prophet_components.png and the manifest (manifest_name).
 * For a series.csv the log1p column is modelled and every number in the files is on the
 * invocation scale (expm1) unless its name says log. hs_prophet_functions_run fits every function
 * of a preprocessing folder at once (--per-function N).
 */
#ifndef HYSCALE_PROPHET_STAGE_H
#define HYSCALE_PROPHET_STAGE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "hyscale/prophet.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_prophet_stage_config {
    const char *input;
    const char *out_dir;
    int64_t holdout; /* last points kept out of the first fit and scored (0: none) */
    int64_t horizon; /* points forecast after the data; -1: 1440 for a per-minute series, else 30 */
    hs_prophet_config model;
    int plot;
    int quiet;
    const char *manifest_name; /* NULL: "manifest.json" */
} hs_prophet_stage_config;

#define HS_PROPHET_STAGE_DEFAULTS {NULL, NULL, 0, -1, HS_PROPHET_DEFAULTS, 1, 0, NULL}

typedef struct hs_prophet_stage_result {
    int64_t n, n_train, holdout, horizon;
    double mae, rmse, mae_log, rmse_log; /* NAN when not scored */
    double fit_seconds, predict_seconds;
    int iterations;
} hs_prophet_stage_result;

/* Runs the stage; checks c first (hs_prophet_stage_check). HS_ERR_USAGE also when the holdout
 * leaves fewer than 2 points to fit. */
hs_status hs_prophet_stage_run(const hs_prophet_stage_config *c, cJSON *manifest, hs_prophet_stage_result *res);

/* HS_OK when the options are in range (holdout, changepoints and uncertainty_samples at least 0,
 * changepoint_range in (0, 1], both prior scales positive, interval_width in (0, 1)); else
 * HS_ERR_USAGE naming the option (by its CLI name) and the value. Pure: reads no input. */
hs_status hs_prophet_stage_check(const hs_prophet_stage_config *c);

/* --per-function N: one model per function for the top N series of the functions.safetensors
 * beside the input series.csv, fitted at once (each cleaned as the aggregate is, log1p
 * modelled, the training span of c->holdout >= 1 points fitted). Additive and exact only (a
 * usage error otherwise). Files: prophet_functions.csv (index,mae,rmse,mae_log,rmse_log: each
 * function's holdout scores, invocations per minute), prophet_functions_forecast8.safetensors
 * (tensor forecast8 (N, minutes, 8): the layout of the LSTM's, F[t][k] the forecast of minute
 * t + k + 1 from the fit on the training span), prophet_functions_metrics.json and the
 * manifest. */
typedef struct hs_prophet_functions_result {
    int functions;
    int64_t n, holdout;
    double mean_mae, mean_rmse; /* over the functions */
    double clean_seconds, fit_seconds, predict_seconds;
    int threads;
} hs_prophet_functions_result;

hs_status hs_prophet_functions_run(const hs_prophet_stage_config *c, int nfun, cJSON *manifest,
                                   hs_prophet_functions_result *res);

/* prophet_model.json <-> model. The JSON carries the model, the scale (log or not) and the
 * uncertainty settings; a loaded model predicts exactly as the saved one. */
cJSON *hs_prophet_model_json(const hs_prophet_model *m, const hs_prophet_config *cfg, int log_scale,
                             int64_t step_seconds);
hs_status hs_prophet_model_load(const char *path, hs_prophet_model *m, hs_prophet_config *cfg, int *log_scale,
                                int64_t *step_seconds);

#ifdef __cplusplus
}
#endif
#endif
