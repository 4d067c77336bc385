/* lstm_device.c: --device and --lstm-impl for the LSTM stages (lstm_stage.h). */
#include <stdio.h>
#include <string.h>

#include "hyscale/lstm_stage.h"

hs_status hs_lstm_pick_backend(const char *device, const char *impl, int quiet, const hs_lstm_backend **be,
                               hs_device *dev)
{
    *be = NULL;
    if (!impl)
        impl = "auto";
    if (strcmp(impl, "auto") && strcmp(impl, "cublas") && strcmp(impl, "persistent") && strcmp(impl, "cudnn"))
        return hs_error_set(HS_ERR_USAGE, "--lstm-impl: expected auto, cublas, persistent or cudnn, got '%s'", impl);
    HS_TRY(hs_device_resolve(device, dev));
    if (*dev == HS_DEVICE_CPU) {
        if (device && !strcmp(device, "cpu") && strcmp(impl, "auto"))
            return hs_error_set(HS_ERR_USAGE, "--lstm-impl %s runs on the GPU: use --device cuda (or auto)", impl);
        if ((!device || !strcmp(device, "auto")) && !quiet)
            fprintf(stderr, "lstm: no CUDA device answers here (%s): training on the CPU\n",
                    hs_cuda_built() ? "the CUDA backend is built" : "this build has no CUDA backend");
        return HS_OK;
    }
    return hs_lstm_backend_cuda(impl, be);
}
