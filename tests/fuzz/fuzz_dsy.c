/* fuzz_dsy.c: the `ds,y` forecast input, through hs_forecast_input_read as `hyscale forecast
 * --input FILE` calls it (the seed corpus holds ds,y files; the reader also decides between a
 * ds,y file and a series.csv from the header, so mutations reach both). */
#include "fuzz_common.h"

#include "hyscale/forecast_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = hs_fuzz_write("input.csv", data, size);
    if (!path)
        return 0;
    hs_forecast_input in;
    memset(&in, 0, sizeof in);
    if (hs_forecast_input_read(path, &in) == HS_OK) {
        if (in.n > 0)
            (void)hs_forecast_next_time(&in, in.ds[in.n - 1], 3);
        hs_forecast_input_free(&in);
    }
    return 0;
}
