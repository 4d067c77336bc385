/* env_input.h: the environment's inputs read from a pipeline's folders: the demand series of a
 * preprocess output (the aggregate series.csv, or every function of functions.safetensors) and
 * the forecast matrix F of one forecaster from the files its stage wrote.
 *
 *     hs_env_series s;
 *     HS_TRY(hs_env_input_load("out", "out", "hybrid", HS_ENV_AGGREGATE, 1440, &s, &start));
 *
 * Forecasts: `prophet` from prophet_full.csv then prophet_next.csv (F[t][k] = yhat at t + k),
 * `lstm` from lstm_forecast8.csv and `hybrid` from hybrid_forecast8.csv (minute,f1..f8, one row
 * per minute of the series), `none` for no forecaster. Per function (HS_ENV_FUNCTIONS), `lstm` reads
 * lstm_functions_forecast8.safetensors of `hyscale forecast lstm --per-function N` and `prophet`
 * prophet_functions_forecast8.safetensors of `hyscale forecast prophet --per-function N` (the same
 * layout), and the environments replay the N functions it covers.
 */
#ifndef HYSCALE_ENV_INPUT_H
#define HYSCALE_ENV_INPUT_H

#include <stdint.h>

#include "hyscale/env.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hs_env_source { HS_ENV_AGGREGATE = 0, HS_ENV_FUNCTIONS = 1 } hs_env_source;

/* 1 and the forecaster's canonical name for none|prophet|lstm|hybrid; 0 otherwise. */
int hs_env_forecaster_valid(const char *name);

/* The file a forecaster's F is read from (first of them for prophet), in a static buffer. */
const char *hs_env_forecast_file(const char *forecaster);

/* Reads the series from series_dir and the forecaster's F from forecast_dir into s (free with
 * hs_env_series_free). *start_unix gets the time of minute 0. Errors name the file and line: a
 * missing file, a forecast with fewer rows than the series, a bad number. */
hs_status hs_env_input_load(const char *series_dir, const char *forecast_dir, const char *forecaster,
                            hs_env_source src, int64_t holdout, hs_env_series *s, int64_t *start_unix);

/* Reads a <forecaster>_functions_forecast8.safetensors (tensor forecast8 (N, n, 8)) into *F (malloc'd,
 * caller frees); *k holds the functions available on entry and N on return (N <= *k). */
hs_status hs_env_read_functions_forecast8(const char *path, int64_t n, float **F, int64_t *k);

/* Reads a minute,f1..f8 file of exactly n rows into F (n, 8) (caller's buffer). */
hs_status hs_env_read_forecast8(const char *path, int64_t n, float *F);

#ifdef __cplusplus
}
#endif
#endif
