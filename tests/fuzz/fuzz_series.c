/* fuzz_series.c: series.csv, the preprocessed series, through both of its readers: the
 * forecasters' hs_forecast_input_read (`hyscale forecast --input series.csv`) and the strict
 * hs_series_read_csv (the scaling stages and the hybrid read it back). */
#include "fuzz_common.h"

#include "hyscale/forecast_input.h"
#include "hyscale/series.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = hs_fuzz_write("series.csv", data, size);
    if (!path)
        return 0;
    hs_forecast_input in;
    memset(&in, 0, sizeof in);
    if (hs_forecast_input_read(path, &in) == HS_OK)
        hs_forecast_input_free(&in);
    hs_series s;
    memset(&s, 0, sizeof s);
    if (hs_series_read_csv(path, &s) == HS_OK)
        hs_series_free(&s);
    return 0;
}
