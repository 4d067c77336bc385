/* metrics.c: MAE and RMSE of the forecasters' holdouts (metrics.h), reduced on the CPU. */
#include "hyscale/metrics.h"

#include <math.h>
#include <stdlib.h>

/* Blocks of 4096 pairs summed in double, then the block sums in order: a fixed grouping, so the
 * metrics files keep the numbers they have always had. */
void hs_metrics_errsum(const float *y, const float *yhat, int64_t n, hs_errsum *out)
{
    hs_errsum total = {0, 0};
    for (int64_t b = 0; b < n; b += 4096) {
        hs_errsum s = {0, 0};
        int64_t e = b + 4096 < n ? b + 4096 : n;
        for (int64_t i = b; i < e; i++)
            hs_errsum_add(&s, y[i], yhat[i]);
        hs_errsum_merge(&total, s);
    }
    *out = total;
}

hs_status hs_metrics_report(const float *clipped, const float *raw, const float *yhat, int64_t n, hs_metrics *out)
{
    if (n <= 0)
        return hs_error_set(HS_ERR_USAGE, "metrics over an empty span");
    hs_errsum s;
    hs_metrics_errsum(clipped, yhat, n, &s);
    out->mae = s.abs_sum / (double)n;
    out->rmse = sqrt(s.sq_sum / (double)n);
    hs_metrics_errsum(raw, yhat, n, &s);
    out->mae_raw = s.abs_sum / (double)n;
    out->rmse_raw = sqrt(s.sq_sum / (double)n);
    float *ly = malloc((size_t)n * 2 * sizeof *ly);
    if (!ly)
        return hs_error_set(HS_ERR_NOMEM, "out of memory");
    float *lh = ly + n;
    for (int64_t i = 0; i < n; i++) {
        ly[i] = (float)log1p(clipped[i] > 0 ? clipped[i] : 0);
        lh[i] = (float)log1p(yhat[i] > 0 ? yhat[i] : 0);
    }
    hs_metrics_errsum(ly, lh, n, &s);
    free(ly);
    out->mae_log = s.abs_sum / (double)n;
    out->rmse_log = sqrt(s.sq_sum / (double)n);
    out->n = n;
    return HS_OK;
}
