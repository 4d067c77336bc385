/* kernels.h (src/backend/cuda/, not public): the extern "C" entry points of kernels/ (device pointers, sizes, a stream),
 * called by the host glue in src/backend/cuda/. Each returns the cudaError_t of its launch
 * (cudaGetLastError after the launch; synchronised first under HS_CUDA_SYNC_DEBUG). */
#ifndef HYSCALE_KERNELS_H
#define HYSCALE_KERNELS_H

#include <stdint.h>

#include "hyscale/lstm.h"

#ifdef __cplusplus
extern "C" {
#endif


/* ---- the LSTM training step (kernels/lstm_step.cu, kernels/lstm_persist.cu) ----------------
 * Layout as the CPU's (src/backend/cpu/lstm_cpu.h); strides are per model, in floats. */
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
/* ---- the recursive forecast (kernels/lstm_recursive.cu, for hs_lstm_predict_cuda) ------------
 * N models, each forecasting `steps` values from one end e, K a step, every window from a zero
 * state; one launch, one thread-block cluster per model (the design is in the kernel file).
 *
 *     hs_lstm_rec_plan pl;
 *     e = hs_kernel_lstm_recursive_plan(&sh, &pl);            // on the current device
 *     ... cudaMalloc pl.scratch_floats floats when it is not 0 ...
 *     e = hs_kernel_lstm_recursive(params, win, out, scratch, &sh, &pl, stream);
 */
typedef struct hs_lstm_rec_shape {
    int N, L, H, F, W, K; /* models, layers (1, 2), hidden, features (1, or 5 with the calendar),
                           * window, horizon */
    int steps;            /* forecasts per model */
    int64_t P;            /* parameters per model */
    hs_lstm_layout lay;   /* their offsets (hs_lstm_get_layout), the one definition */
    int64_t start_unix, step_seconds; /* the calendar's grid (F = 5) */
    int64_t t0;                       /* time index of the first window's first input: e - W */
} hs_lstm_rec_shape;

typedef struct hs_lstm_rec_plan {
    int cluster;            /* C: blocks (SMs) per model */
    int slots;              /* windows in flight per block, a multiple of 8 */
    int weights_smem;       /* 1: weights in shared memory; 0: the fallback, weights in scratch */
    int use_cluster;        /* the device has clusters (sm_90 and up) */
    int64_t smem_bytes;     /* dynamic shared memory per block */
    int64_t scratch_floats; /* device scratch the launch needs (0 when weights_smem) */
} hs_lstm_rec_plan;

/* Plans the launch for the current device. cudaErrorInvalidValue for a bad shape,
 * cudaErrorInvalidConfiguration when even the fallback's per-block state does not fit in shared
 * memory (then the CPU's hs_lstm_predict is the way). */
int hs_kernel_lstm_recursive_plan(const hs_lstm_rec_shape *sh, hs_lstm_rec_plan *plan);
/* params (N, P); win (N, W): the W values before e, pad applied; out (N, steps); scratch
 * (plan->scratch_floats, may be NULL when 0): device arrays. */
int hs_kernel_lstm_recursive(const float *params, const float *win, float *out, float *scratch,
                             const hs_lstm_rec_shape *sh, const hs_lstm_rec_plan *plan, void *stream);

/* ---- the environments (kernels/env_step.cu) -------------------------------------------------
 * a: math/env_state.h's arrays, every pointer a device array; E environments, one thread each. */
#include "hyscale/math/env_state.h"

/* Every environment anew (training: its next episode; replay: back to its start). */
int hs_kernel_env_reset(const hs_env_arrays *a, int64_t E, void *stream);
/* One step of every environment with in (E): targets, or actions of the mode (actions 1; each in
 * range); an ended training episode adds its sums to fin[e] and 1 to fin_n[e], then resets. */
int hs_kernel_env_step(const hs_env_arrays *a, int64_t E, const int32_t *in, int actions, hs_env_metrics *fin,
                       int64_t *fin_n, void *stream);

/* ---- PPO's act (kernels/ppo_act.cu) -----------------------------------------------------------
 * actor and critic: math/mlp_row.h's offsets into params (device, hs_mlp_layout's total); obs
 * (E, actor->obs), actions (E), logp and values (E, either may be NULL): device arrays. The hidden
 * size at most HS_ACT_MAX_HIDDEN and the actions at most HS_ACT_MAX_ACTIONS (cudaErrorInvalidValue
 * otherwise). */
#include "hyscale/math/mlp_row.h"
#define HS_ACT_MAX_HIDDEN 256
#define HS_ACT_MAX_ACTIONS 16
int hs_kernel_ppo_act(const hs_mlp_row_net *actor, const hs_mlp_row_net *critic, const float *params,
                      const float *obs, int64_t E, int greedy, uint64_t seed, uint64_t counter, int32_t *actions,
                      float *logp, float *values, void *stream);

#ifdef __cplusplus
}
#endif
#endif
