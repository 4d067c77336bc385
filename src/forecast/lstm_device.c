/* lstm_device.c: --device and --lstm-impl for the LSTM stages (lstm_stage.h). */
#include <stdio.h>
#include <string.h>

#include "hyscale/lstm_stage.h"
#include "lstm_internal.h"

static const char *const hs_impls[] = {"auto", "cublas", "persistent", "cudnn"};

int hs_lstm_impl_index(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (!strcmp(name, hs_impls[i]))
            return i;
    return -1;
}

const char *hs_lstm_impl_by_index(int i) { return i >= 0 && i < 4 ? hs_impls[i] : "?"; }

hs_status hs_lstm_impl_unknown(const char *name)
{
    return hs_error_set(HS_ERR_USAGE, "--lstm-impl: expected auto, cublas, persistent or cudnn, got '%s'",
                        name ? name : "(null)");
}

hs_status hs_lstm_pick_backend(const char *device, const char *impl, int quiet, const hs_lstm_backend **be,
                               hs_device *dev)
{
    *be = NULL;
    if (!impl)
        impl = "auto";
    if (hs_lstm_impl_index(impl) < 0)
        return hs_lstm_impl_unknown(impl);
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
