/* lstm_seam.c: the LSTM seam's one table of implementation names (--lstm-impl), the choice of a
 * backend from --device and --lstm-impl, and the workspace slot's release (lstm_seam.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/lstm_seam.h"

static const char *const hs_lstm_impl_names[HS_LSTM_IMPL_COUNT] = {
    [HS_LSTM_IMPL_AUTO] = "auto",
    [HS_LSTM_IMPL_CUBLAS] = "cublas",
    [HS_LSTM_IMPL_PERSISTENT] = "persistent",
    [HS_LSTM_IMPL_CUDNN] = "cudnn",
};

hs_status hs_lstm_impl_parse(const char *name, hs_lstm_impl *out)
{
    for (int i = 0; name && i < HS_LSTM_IMPL_COUNT; i++)
        if (!strcmp(name, hs_lstm_impl_names[i])) {
            *out = (hs_lstm_impl)i;
            return HS_OK;
        }
    return hs_error_set(HS_ERR_USAGE, "--lstm-impl: expected auto, cublas, persistent or cudnn, got '%s'",
                        name ? name : "(null)");
}

const char *hs_lstm_impl_str(hs_lstm_impl impl)
{
    return impl >= 0 && impl < HS_LSTM_IMPL_COUNT ? hs_lstm_impl_names[impl] : "?";
}

hs_status hs_lstm_backend_cuda(const char *impl, const hs_lstm_backend **out)
{
    *out = NULL;
    hs_lstm_impl k = HS_LSTM_IMPL_AUTO;
    if (impl)
        HS_TRY(hs_lstm_impl_parse(impl, &k));
    return hs_lstm_backend_cuda_impl(k, out);
}

hs_status hs_lstm_pick_backend(const char *device, const char *impl, int quiet, const hs_lstm_backend **be,
                               hs_device *dev)
{
    *be = NULL;
    hs_lstm_impl k = HS_LSTM_IMPL_AUTO;
    if (impl)
        HS_TRY(hs_lstm_impl_parse(impl, &k));
    HS_TRY(hs_device_resolve(device, dev));
    if (*dev == HS_DEVICE_CPU) {
        if (device && !strcmp(device, "cpu") && k != HS_LSTM_IMPL_AUTO)
            return hs_error_set(HS_ERR_USAGE, "--lstm-impl %s runs on the GPU: use --device cuda (or auto)", impl);
        if ((!device || !strcmp(device, "auto")) && !quiet)
            fprintf(stderr, "lstm: no CUDA device answers here (%s): training on the CPU\n",
                    hs_cuda_built() ? "the CUDA backend is built" : "this build has no CUDA backend");
        *be = hs_lstm_backend_cpu();
        return HS_OK;
    }
    return hs_lstm_backend_cuda_impl(k, be);
}

void hs_lstm_ws_release(hs_lstm *m)
{
    if (m->ws_free)
        m->ws_free(m->ws);
    m->ws = NULL;
    m->ws_free = NULL;
}
