/* fuzz_prophet_model.c: prophet_model.json, through hs_prophet_model_load (the loader of the
 * file `hyscale forecast --model prophet` writes; a loaded model predicts exactly as the saved
 * one). An accepted model also predicts three points past its history without intervals, as a
 * loaded model is used right away: its numbers reach the predictor's loops. */
#include "fuzz_common.h"

#include "hyscale/prophet.h"
#include "hyscale/prophet_stage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = hs_fuzz_write("prophet_model.json", data, size);
    if (!path)
        return 0;
    hs_prophet_model m;
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    memset(&m, 0, sizeof m);
    int log_scale = 0;
    int64_t step = 0;
    if (hs_prophet_model_load(path, &m, &cfg, &log_scale, &step) != HS_OK)
        return 0;
    int64_t ds[3];
    int64_t dt = step > 0 && step < 86400 * 366 ? step : 60;
    for (int i = 0; i < 3; i++)
        ds[i] = m.last_ds + (i + 1) * dt;
    cfg.uncertainty_samples = 0;
    hs_prophet_forecast fc;
    memset(&fc, 0, sizeof fc);
    if (hs_prophet_predict(&m, &cfg, ds, 3, &fc) == HS_OK)
        hs_prophet_forecast_free(&fc);
    hs_prophet_model_free(&m);
    return 0;
}
