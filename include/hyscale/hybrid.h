/* hybrid.h: the Hybrid of the Prophet and LSTM forecasts found in a folder, and the run's
 * forecast report.
 *
 *     HS_TRY(hs_hybrid_run("outputs/run1", quiet, manifest, &res));
 *     HS_TRY(hs_forecast_report_write("outputs/run1"));      // forecast_report.md
 *
 * Two Hybrids: the plain average of the two forecasts (the reference design), and a blend
 * w * Prophet + (1 - w) * LSTM with w in {0, 0.05, .., 1} chosen by MAE on the validation span
 * (the last 10% of the training span). Each is scored on the holdout two ways, with the LSTM's
 * one-step and its recursive forecast. A third, the default, blends them per lead time
 * (hs_hybrid_lead_weight below). Files: hybrid_full.csv, hybrid_next.csv,
 * hybrid_weighted_full.csv, hybrid_weighted_next.csv, hybrid_lead_next.csv,
 * hybrid_lead_recursive.csv, hybrid_forecast8.csv (the per-lead Hybrid's 8-step forecasts, the
 * environment's input), hybrid_metrics.json, hybrid.png (the default Hybrid purple, Prophet
 * blue, LSTM green, actual black).
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
    double lead_recursive_mae; /* the per-lead Hybrid from the end of training (NAN without a holdout) */
} hs_hybrid_result;

hs_status hs_hybrid_run(const char *dir, int quiet, cJSON *manifest, hs_hybrid_result *res);

/* The per-lead Hybrid (the default that feeds the environment and the service): the forecast of
 * the point L after the last known one, c, is
 *     w(L) * Prophet + (1 - w(L)) * LSTM + a(L) * (y[c] - Prophet[c]),
 * w(L) Prophet's weight and a(L) the share of Prophet's error at the last known point carried
 * forward (Prophet is a function of the time alone: its error at c says how far today sits from
 * its curve, which the LSTM's multi-output head forgets at short leads: the built-in trace's
 * persistence beat it at 1 minute, 31.8 against 38.5). Both are chosen on validation per lead
 * bucket of lead.h (1, 2-5, 6-15, 16-60, 61-240, 241-1440 minutes; NAN where validation could
 * not score it) and stored in hybrid_metrics.json under "per_lead" ("prophet_weight" and
 * "residual_weight": 6 numbers or nulls each, with "leads_minutes", the buckets' ends). Between
 * two ends a value is linear in log(lead); before the first scored end and after the last it is
 * theirs; with none scored w is 0.5 (the plain average) and a 0 (hs_hybrid_lead_interp's none).
 * Pure. */
double hs_hybrid_lead_interp(const double v[6], double lead_minutes, double none);
double hs_hybrid_lead_weight(const double w[6], double lead_minutes);       /* none 0.5 */
double hs_hybrid_lead_correction(const double a[6], double lead_minutes);   /* none 0; a NULL: 0 */
double hs_hybrid_lead_forecast(const double w[6], const double a[6], double lead_minutes, double prophet,
                               double lstm, double prophet_error);
/* The per-lead weights chosen on validation from the files of dir: prophet_validation.csv (the
 * Prophet stage's forecast of the validation span from a fit on the points before it) and
 * lstm_validation_by_lead.csv (the LSTM's recursive forecasts from the validation span's
 * cutoffs). At lead i, best[i] is the weight in {0, 0.05, .., 1} with the least MAE of the blend
 * over the rows in the lead's bucket (its sampled leads, lead.h; the first of equals) and w[i] = (best[i] + 0.5) / 2, half way to
 * the plain average: weights fitted on a short validation span overfit it (the forecast
 * combination puzzle). a[i] is half the least-squares coefficient, over the bucket's rows, of
 * what the blend w(L) misses on Prophet's error at the row's cutoff (0 at the first cutoff, which
 * precedes the span Prophet forecast), within [-1, 1], halved for the same reason. The built-in trace's validation span (a Friday and a Saturday) gave the
 * LSTM every lead, yet on its Sunday holdout the average beat the LSTM at 5 of 6 leads; halved,
 * the blend lost nothing on NASA-HTTP July (README). NAN with fewer than
 * HS_HYBRID_LEAD_MIN_ROWS rows. found: 0 when either file is missing (a folder from before the
 * per-lead Hybrid, or no holdout): then every w[i] is NAN (the plain average). */
#define HS_HYBRID_LEAD_MIN_ROWS 5
typedef struct hs_hybrid_lead_fit {
    int found;
    double w[6];                                      /* Prophet's weight per lead */
    double a[6];                                      /* the correction's share of Prophet's error */
    double best[6];                                   /* the validation's best weight per lead */
    int64_t rows[6];                                  /* validation rows per lead */
    double mae_prophet[6], mae_lstm[6], mae_hybrid[6]; /* on them, NAN without rows */
} hs_hybrid_lead_fit;
hs_status hs_hybrid_lead_choose(const char *dir, int64_t step_seconds, hs_hybrid_lead_fit *fit);

/* The "per_lead" object of hybrid_metrics.json (the caller's to free). */
cJSON *hs_hybrid_lead_json(const hs_hybrid_lead_fit *fit);

/* The six weights of a hybrid_metrics.json (path): per_lead.prophet_weight, numbers in [0, 1] or
 * null (NAN), and into a (when not NULL) per_lead.residual_weight, numbers in [-1, 1] or null,
 * all NAN when absent (a folder from before the correction: none). *found 0 when the file has no
 * "per_lead" (a folder from before it: the plain average); a malformed entry is HS_ERR_INPUT
 * naming the file and the field. */
hs_status hs_hybrid_lead_read(const char *path, double w[6], double a[6], int *found);

/* forecast_report.md: MAE and RMSE of every model and scoring mode found in dir, next to the
 * persistence (previous minute) and seasonal-naive (same minute the day before) baselines. */
hs_status hs_forecast_report_write(const char *dir);

#ifdef __cplusplus
}
#endif
#endif
