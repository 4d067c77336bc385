/* lstm_cuda.h: what the CUDA LSTM backend's files share (src/backend/cuda/, not public). */
#ifndef HYSCALE_BACKEND_CUDA_LSTM_CUDA_H
#define HYSCALE_BACKEND_CUDA_LSTM_CUDA_H

#include "backend/lstm_seam.h"

/* The recursive forecast of every model from one end in one persistent launch (lstm_seam.h's
 * predict_one, with the launch's device time in seconds, may be NULL): *declined = 1 (HS_OK,
 * nothing written) when the shape's per-block state does not fit this GPU's shared memory. */
hs_status hs_lstm_cuda_predict_one(hs_lstm *m, const hs_lstm_data *d, int64_t end, int steps, float pad, float *out,
                                   double *seconds, int *declined);

#endif
