/* lstm_cudnn.h: the cuDNN v9 RNN path of the LSTM (--lstm-impl cudnn), the reference a user
 * knows: cudnnRNNForward, cudnnRNNBackwardData_v8, cudnnRNNBackwardWeights_v8, with the weights
 * mapped from and to hyscale's layout (lstm.h: PyTorch's order, gates i, f, g, o; cuDNN's
 * linear-layer ids 0..3 act on the input, 4..7 on the recurrence, in the same gate order).
 * Only the LSTM layers: the linear head stays in lstm_cuda.c. N models are run one after the
 * other (cuDNN has no model dimension). All pointers are device memory; every cuDNN and CUDA
 * call is checked. */
#ifndef HYSCALE_LSTM_CUDNN_H
#define HYSCALE_LSTM_CUDNN_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#include "hyscale/lstm.h"

typedef struct hs_lstm_cudnn hs_lstm_cudnn;

/* Descriptors, weight space, workspace and reserve space for batches up to cfg->batch. */
hs_status hs_lstm_cudnn_create(const hs_lstm_config *cfg, cudaStream_t stream, hs_lstm_cudnn **out);
void hs_lstm_cudnn_free(hs_lstm_cudnn *c);

/* Forward in training mode (keeps the reserve space for backward) for batch B <= cfg->batch:
 * params (N, P) in hyscale's layout; x: model n at x + n * W * B * F, (W, B, F) time-major;
 * h_last: model n's top-layer hidden state after the last step, (B, H), at h_last + n * hl_stride. */
hs_status hs_lstm_cudnn_forward(hs_lstm_cudnn *c, const float *params, const float *x, int B, float *h_last,
                                int64_t hl_stride);

/* Backward for the batch of the last forward: dh_last (B, H) at dh_last + n * dl_stride is
 * dL/d h_last (the only gradient reaching the LSTM: the head reads the last step alone). Writes
 * (overwrites) the gradients of every LSTM parameter of grads (N, P) in hyscale's layout
 * (b_ih and b_hh each get their own gradient, equal in value), leaving the head's untouched. */
hs_status hs_lstm_cudnn_backward(hs_lstm_cudnn *c, const float *params, const float *dh_last, int64_t dl_stride,
                                 float *grads);

#endif
