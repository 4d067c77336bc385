/* metrics.h: forecast error metrics (MAE, RMSE) and their reduction, on the CPU: a holdout is a
 * few thousand points, far too few to pay for a copy to a GPU.
 *
 *     hs_errsum s;
 *     hs_metrics_errsum(y, yhat, n, &s);
 *     double mae = s.abs_sum / n, rmse = sqrt(s.sq_sum / n);
 *
 * Which series a metric is computed on is the caller's choice: `mae`/`rmse` on the cleaned
 * (clipped) invocation series, `mae_raw`/`rmse_raw` against the raw counts, `mae_log`/`rmse_log`
 * on the log1p scale (see hs_metrics_report).
 */
#ifndef HYSCALE_METRICS_H
#define HYSCALE_METRICS_H

#include <stdint.h>

#include "hyscale/math/errsum.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sums |y - yhat| and (y - yhat)^2 over n pairs (y, yhat: (n)) in plain C: blocks of 4096 pairs
 * summed in double, then the block sums in order. */
void hs_metrics_errsum(const float *y, const float *yhat, int64_t n, hs_errsum *out);

typedef struct hs_metrics {
    double mae, rmse;         /* on the cleaned invocation scale */
    double mae_raw, rmse_raw; /* against the raw counts */
    double mae_log, rmse_log; /* on the log1p scale */
    int64_t n;
} hs_metrics;

/* All six metrics of a forecast yhat (invocation scale, (n)) against the cleaned series,
 * the raw counts and their log1p. Negative forecasts are kept as they are for mae/rmse and
 * floored at 0 before log1p. HS_ERR_USAGE for n <= 0, HS_ERR_NOMEM (*out then incomplete). */
hs_status hs_metrics_report(const float *clipped, const float *raw, const float *yhat, int64_t n, hs_metrics *out);

#ifdef __cplusplus
}
#endif
#endif
