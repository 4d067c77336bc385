/* kernels.h: the extern "C" entry points of kernels/ (device pointers, sizes, a stream),
 * called by the host glue in src/backend/cuda/. Each returns the cudaError_t of its launch
 * (cudaGetLastError after the launch; synchronised first under HS_CUDA_SYNC_DEBUG). */
#ifndef HYSCALE_KERNELS_H
#define HYSCALE_KERNELS_H

#include <stdint.h>

#include "hyscale/math/errsum.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per-block sums over blocks of HS_ERRSUM_BLOCK pairs, then the block sums in order:
 * y, yhat: (n) device arrays; partial: (ceil(n / HS_ERRSUM_BLOCK)) device scratch; out: one
 * device hs_errsum. Deterministic (fixed reduction order). */
#define HS_ERRSUM_BLOCK 4096
int hs_kernel_errsum(const float *y, const float *yhat, int64_t n, hs_errsum *partial, hs_errsum *out,
                     void *stream);


/* ---- the LSTM training step (kernels/lstm_step.cu, kernels/lstm_persist.cu) ----------------
 * Layout as the CPU's (src/forecast/lstm_internal.h); strides are per model, in floats. */
#include "hyscale/math/adam.h"

int hs_kernel_lstm_gather(const float *v, int64_t M, int N, int W, int nb, int F, int K, const int64_t *ends,
                          int64_t first, int64_t e0, int calendar, int64_t start_unix, int64_t step_seconds,
                          float *x, float *target, void *stream);
int hs_kernel_lstm_cell_fwd(int N, int H, int nb, const float *params, int64_t P, int64_t b_ih, int64_t b_hh,
                            float *gates, int64_t gstride, const float *cprev, float *c, float *h, int64_t sstride,
                            void *stream);
int hs_kernel_lstm_cell_bwd(int N, int H, int nb, float *gates, int64_t gstride, const float *c, const float *cprev,
                            int64_t sstride, const float *dh_rec, const float *dh_ext, int64_t estride, float *dc,
                            int64_t dstride, int first, void *stream);
int hs_kernel_lstm_head_fwd(int N, int H, int K, int nb, const float *params, int64_t P, int64_t w_out,
                            int64_t b_out, const float *hlast, int64_t hstride, float *y, void *stream);
int hs_kernel_lstm_head_dh(int N, int H, int K, int nb, const float *params, int64_t P, int64_t w_out,
                           const float *dy, float *dh, int64_t dstride, void *stream);
int hs_kernel_lstm_mse(int N, int K, int nb, const float *y, const float *target, float *dy, double *acc,
                       void *stream);
int hs_kernel_lstm_clip_adam(int N, int64_t P, float *params, float *grads, float *m, float *v, float *norms,
                             float max_norm, const unsigned char *active, hs_adam_hparams h, float bc1,
                             float sqrt_bc2, void *stream);
/* The persistent layer (all W steps in one launch); cudaErrorInvalidValue when H is above
 * hs_kernel_lstm_persist_max_hidden() (0 without a device). */
int hs_kernel_lstm_persist_max_hidden(void);
int hs_kernel_lstm_persist_fwd(int N, int H, int W, int B, const float *params, int64_t P, int64_t w_hh,
                               int64_t b_ih, int64_t b_hh, float *gates, int64_t gstride, float *cell, float *hid,
                               int64_t sstride, void *stream);
int hs_kernel_lstm_persist_bwd(int N, int H, int W, int B, const float *params, int64_t P, int64_t w_hh,
                               float *gates, int64_t gstride, const float *cell, int64_t sstride,
                               const float *dh_seq, int64_t qstride, const float *dh_last, int64_t lstride,
                               void *stream);

#ifdef __cplusplus
}
#endif
#endif
