/* hybrid.h: the Hybrid of the Prophet and LSTM forecasts found in a folder, and the run's
 * forecast report.
 *
 *     HS_TRY(hs_hybrid_run("outputs/run1", quiet, manifest, &res));
 *     HS_TRY(hs_forecast_report_write("outputs/run1"));      // forecast_report.md
 *
 * Two Hybrids: the plain average of the two forecasts (the reference design), and a blend
 * w * Prophet + (1 - w) * LSTM with w in {0, 0.05, .., 1} chosen by MAE on the validation span
 * (the last 10% of the training span). Each is scored on the holdout two ways, with the LSTM's
 * one-step and its recursive forecast. Files: hybrid_full.csv, hybrid_next.csv,
 * hybrid_weighted_full.csv, hybrid_weighted_next.csv, hybrid_forecast8.csv,
 * hybrid_metrics.json, hybrid.png (Hybrid purple, Prophet blue, LSTM green, actual black).
 */
#ifndef HYSCALE_HYBRID_H
#define HYSCALE_HYBRID_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_hybrid_result {
    double weight; /* of Prophet in the weighted blend */
    double avg_one_step_mae, avg_recursive_mae, w_one_step_mae, w_recursive_mae;
} hs_hybrid_result;

hs_status hs_hybrid_run(const char *dir, int quiet, cJSON *manifest, hs_hybrid_result *res);

/* forecast_report.md: MAE and RMSE of every model and scoring mode found in dir, next to the
 * persistence (previous minute) and seasonal-naive (same minute the day before) baselines. */
hs_status hs_forecast_report_write(const char *dir);

#ifdef __cplusplus
}
#endif
#endif
