/* fuzz_lstm_weights.c: lstm.safetensors, through hs_lstm_load as `hyscale forecast --model lstm
 * --weights FILE` and the hybrid call it: the safetensors container (header length, JSON header,
 * dtypes, shapes, offsets) and the LSTM's metadata and tensor checks. */
#include "fuzz_common.h"

#include "hyscale/lstm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = hs_fuzz_write("lstm.safetensors", data, size);
    if (!path)
        return 0;
    hs_lstm *m = NULL;
    hs_lstm_norm norm;
    if (hs_lstm_load(path, 1, &m, &norm) == HS_OK)
        hs_lstm_free(m);
    return 0;
}
