/* lstm_predict_stub.c: hs_lstm_predict_cuda (lstm.h) in a build without the CUDA backend, where
 * src/backend/cuda/lstm_predict_cuda.c is not compiled: a device error with a message, so callers
 * and tests need no #ifdef. */
#include "hyscale/lstm.h"

#ifndef HS_HAVE_CUDA
hs_status hs_lstm_predict_cuda(hs_lstm *m, const hs_lstm_data *d, int64_t end, int steps, float pad, float *out,
                               double *seconds)
{
    (void)m;
    (void)d;
    (void)end;
    (void)steps;
    (void)pad;
    (void)out;
    (void)seconds;
    return hs_error_set(HS_ERR_DEVICE, "this build has no CUDA backend");
}
#endif
