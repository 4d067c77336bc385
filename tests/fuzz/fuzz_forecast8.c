/* fuzz_forecast8.c: the 8-step forecast tables (`minute,f1,...,f8`: lstm_forecast8.csv,
 * hybrid_forecast8.csv) through hs_f8_table_read as its two callers use it: the environment's
 * (at most n rows, minute == row index) and the Hybrid's (no limit, any minutes).
 * The input's first byte picks the call: bit 0 minute_is_row; bits 1-7 max_rows - 1 (0: no
 * limit, so max_rows in {-1, 0..126}); the rest is the file. */
#include "fuzz_common.h"

#include "hyscale/forecast8_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opt = data[0];
    const char *path = hs_fuzz_write("forecast8.csv", data + 1, size - 1);
    if (!path)
        return 0;
    int minute_is_row = opt & 1;
    int64_t max_rows = (int64_t)(opt >> 1) - 1;
    hs_f8_table t;
    memset(&t, 0, sizeof t);
    if (hs_f8_table_read(path, max_rows, minute_is_row, &t) == HS_OK) {
        if (max_rows >= 0 && t.n > max_rows)
            abort(); /* the limit is the reader's promise */
        volatile double sink = 0;
        for (int64_t i = 0; i < t.n; i++) {
            if (minute_is_row && t.minute[i] != i)
                abort();
            for (int k = 0; k < 8; k++)
                sink += t.v[i * 8 + k];
        }
        (void)sink;
        hs_f8_table_free(&t);
    }
    return 0;
}
