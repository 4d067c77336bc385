/* fuzz_forecast_rows.c: a forecast CSV (`ds,y,yhat,yhat_lower,yhat_upper`, prophet_full.csv,
 * lstm_next.csv, hybrid_*.csv and friends) through hs_fc_table_read, the reader the Hybrid, the
 * forecast report and the scaling environment call to read a forecaster's output back. */
#include "fuzz_common.h"

#include "hyscale/forecast_rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = hs_fuzz_write("forecast.csv", data, size);
    if (!path)
        return 0;
    hs_fc_table t;
    memset(&t, 0, sizeof t);
    if (hs_fc_table_read(path, &t) == HS_OK) {
        /* touch every row read, so a count past what was filled is a sanitizer report */
        volatile double sink = 0;
        for (int64_t i = 0; i < t.n; i++)
            sink += (double)t.ds[i] + t.y[i] + t.yhat[i];
        (void)sink;
        hs_fc_table_free(&t);
    }
    return 0;
}
