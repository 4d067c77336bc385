/* lstm.h: N independent LSTM forecasters in one set of buffers (a model dimension everywhere),
 * the backends they are trained through (the seam itself: src/backend/lstm_seam.h), and the
 * pieces of the training step.
 *
 *     hs_lstm_config cfg = {.models = 1, .layers = 1, .hidden = 64, .features = 1,
 *                           .window = 60, .horizon = 1, .batch = 256};
 *     hs_lstm *m;
 *     HS_TRY(hs_lstm_init(&cfg, seed, &m));                   // PyTorch's init: U(-1/sqrt(H), 1/sqrt(H))
 *     const hs_lstm_backend *be = hs_lstm_backend_cpu();     // be->forward: backend/lstm_seam.h
 *     HS_TRY(be->forward(m, x, B));                           // x: (N, W, B, F) time-major
 *     hs_lstm_mse(m, target, B, loss, dy);                    // loss: (N), dy: (N, B, K)
 *     HS_TRY(be->backward(m, dy, B));                         // fills hs_lstm_grads(m)
 *     hs_lstm_clip_grad_norm(m, 1.0f, norms);                 // per model
 *     hs_lstm_adam_step(m, &adam);
 *     hs_lstm_free(m);
 *
 * Parameters of model n: params + n * P, in PyTorch's order (nn.LSTM then nn.Linear):
 * for each layer l: weight_ih_l{l} (4H, F_l), weight_hh_l{l} (4H, H), bias_ih_l{l} (4H),
 * bias_hh_l{l} (4H); then weight (K, H) and bias (K) of the head. F_0 = F, F_l = H above.
 * Gates in PyTorch's order i, f, g, o. Activations for backpropagation through time are kept
 * in buffers sized once for cfg.batch; nothing is allocated in forward or backward.
 */
#ifndef HYSCALE_LSTM_H
#define HYSCALE_LSTM_H

#include <stdint.h>

#include "hyscale/backend.h"
#include "hyscale/math/adam.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_lstm_config {
    int models;   /* N */
    int layers;   /* L: 1 or 2 */
    int hidden;   /* H */
    int features; /* F */
    int window;   /* W */
    int horizon;  /* K: outputs of the head */
    int batch;    /* largest B a step will see */
} hs_lstm_config;

typedef struct hs_lstm hs_lstm;

hs_status hs_lstm_init(const hs_lstm_config *cfg, uint64_t seed, hs_lstm **out);
/* As hs_lstm_init, model n drawing from random stream first_stream + n (so model n of a batch
 * and a single model with first_stream = n start from the same weights). */
hs_status hs_lstm_init_streams(const hs_lstm_config *cfg, uint64_t seed, uint64_t first_stream, hs_lstm **out);
void hs_lstm_free(hs_lstm *m);

const hs_lstm_config *hs_lstm_get_config(const hs_lstm *m);
int64_t hs_lstm_param_count(const hs_lstm_config *cfg); /* P, per model */
float *hs_lstm_params(hs_lstm *m);                      /* (N, P) */
float *hs_lstm_grads(hs_lstm *m);                       /* (N, P) */
const float *hs_lstm_output(const hs_lstm *m);          /* (N, B, K) after forward */

/* Offsets of the named tensors inside one model's P floats. */
typedef struct hs_lstm_layout {
    int64_t w_ih[2], w_hh[2], b_ih[2], b_hh[2], w_out, b_out;
} hs_lstm_layout;
void hs_lstm_get_layout(const hs_lstm_config *cfg, hs_lstm_layout *lay);

/* A backend: the table of operations that trains and runs the models on one device
 * (src/backend/lstm_seam.h defines it; the training loop and prediction call only it). */
typedef struct hs_lstm_backend hs_lstm_backend;

/* The CPU backend, the reference: it owns an activation arena sized once for cfg.batch in the
 * model's workspace (made on first use), and fills every operation of the seam. */
const hs_lstm_backend *hs_lstm_backend_cpu(void);

/* The CUDA backends (--lstm-impl): "cublas" (one GEMM for the input projection of all steps,
 * one per step for the recurrence, fused gate kernels), "persistent" (one launch runs all W
 * steps of a layer with W_hh in shared memory; H <= hs_lstm_cuda_persist_max_hidden()),
 * "cudnn" (the cuDNN v9 RNN API, the reference) and "auto" (the fastest correct one for the
 * shape). HS_ERR_DEVICE without a CUDA build or a GPU, HS_ERR_USAGE for another name. */
hs_status hs_lstm_backend_cuda(const char *impl, const hs_lstm_backend **out);
int hs_lstm_cuda_persist_max_hidden(void);
/* The backend for --device auto|cpu|cuda and --lstm-impl auto|cublas|persistent|cudnn: *be the
 * CPU's or a CUDA one; "auto" without a GPU falls back to the CPU and says so on stderr (unless
 * quiet); a GPU implementation with --device cpu, or an unknown name, is HS_ERR_USAGE. *dev gets
 * the device that will run. */
hs_status hs_lstm_pick_backend(const char *device, const char *impl, int quiet, const hs_lstm_backend **be,
                               hs_device *dev);
/* The implementation that ran for m ("cpu", "cublas", "persistent" or "cudnn"). */
const char *hs_lstm_impl_name(const hs_lstm *m);
/* The device m's backend runs on (HS_DEVICE_CPU until a device backend has run). */
hs_device hs_lstm_device(const hs_lstm *m);

/* Mean squared error per model over its B x K outputs: loss (N), dy (N, B, K) = dL/dy. */
void hs_lstm_mse(const hs_lstm *m, const float *target, int B, float *loss, float *dy);

/* Per-model gradient-norm clipping (torch.nn.utils.clip_grad_norm_: scale by
 * max / (norm + 1e-6) when the norm exceeds max). norms (N, may be NULL) gets the norms before. */
void hs_lstm_clip_grad_norm(hs_lstm *m, float max_norm, float *norms);

/* Adam over the flat (N, P) buffer; the moments live in the model, the step counts from 1.
 * active (N, may be NULL: all): models whose parameters move. */
void hs_lstm_adam_step(hs_lstm *m, const hs_adam_hparams *h);
void hs_lstm_adam_step_masked(hs_lstm *m, const hs_adam_hparams *h, const unsigned char *active);

#ifdef __cplusplus
}
#endif

/* ---- training and prediction above the seam (src/forecast/lstm_train.c, lstm_predict.c) ---
 * and the windows both they and the backends read (src/backend/lstm_window.c) */

#ifdef __cplusplus
extern "C" {
#endif

/* N series of M points on one time grid, normalised (v - mean) / std per series. */
typedef struct hs_lstm_data {
    int N;
    int64_t M;
    int64_t start_unix, step_seconds;
    const float *v; /* (N, M) */
    int calendar;   /* add sin/cos of minute of day and of day of week: F = 5, else F = 1 */
} hs_lstm_data;

typedef struct hs_lstm_train_config {
    int hidden, layers, window, horizon, batch, epochs, patience;
    int calendar;
    float lr, clip;
    double val_frac; /* the last share of the training span that validates (0.1) */
    uint64_t seed;
    int quiet;
    const hs_lstm_backend *backend;
    uint64_t first_stream; /* model n initialises from random stream first_stream + n */
} hs_lstm_train_config;

#define HS_LSTM_TRAIN_DEFAULTS {64, 1, 60, 1, 256, 30, 5, 0, 1e-3f, 1.0f, 0.1, 1, 0, NULL, 0}

/* The learning curve, per epoch (mean over models). */
typedef struct hs_lstm_history {
    int epochs;            /* epochs run */
    int best_epoch;        /* of model 0 */
    float *train_loss;     /* (epochs) */
    float *val_loss;       /* (epochs) */
    double seconds, samples_per_second;
} hs_lstm_history;

void hs_lstm_history_free(hs_lstm_history *h);

/* Trains N models (one per series) on windows whose targets lie in [0, train_end); the last
 * val_frac of that span validates; early stopping per model keeps its best weights.
 * Deterministic for a seed on a backend. Caller frees *model and the history. */
hs_status hs_lstm_train(const hs_lstm_train_config *cfg, const hs_lstm_data *d, int64_t train_end, hs_lstm **model,
                        hs_lstm_history *hist);

/* Feature count of a data set (1, or 5 with the calendar). */
int hs_lstm_features(const hs_lstm_data *d);

/* The calendar inputs of time index t into f[1..4] (nothing without the calendar). */
void hs_lstm_data_calendar(const hs_lstm_data *d, int64_t t, float *f);

/* Fills slot b of x (N, W, B, F) with the window ending at e (exclusive) of every series (values
 * before the start read 0; the calendar inputs when d has them), and target (N, B, K) with the K
 * values from e on (when target is not NULL): the windows the training loop feeds the CPU. */
void hs_lstm_gather_window(const hs_lstm_data *d, int W, int B, int K, int b, int64_t e, float *x, float *target);

/* The W values of series n before e (exclusive; e <= M) into out (W); values before the start
 * read as pad: the first window of a recursive forecast, on every backend. */
void hs_lstm_window_values(const hs_lstm_data *d, int n, int64_t e, int W, float pad, float *out);

/* Recursive forecasts: for each end e in ends (nends), the window of the W values before e
 * (values before the series start read as `pad`, values at or after M are the forecasts),
 * forecast `steps` values feeding predictions back. out: (N, nends, steps), normalised.
 * Never reads a value at or after e. Runs where the model was trained: the backend's one-end
 * forecast (the GPU's persistent launch) when nends = 1 and it has one; a shape it declines, or
 * several ends, go through its forward in batches; any other error is returned. */
hs_status hs_lstm_predict(hs_lstm *m, const hs_lstm_data *d, const int64_t *ends, int64_t nends, int steps, float pad,
                          float *out);

/* As hs_lstm_predict for every model from one end e (nends = 1), on the GPU in one persistent
 * launch (kernels/lstm_recursive.cu): the same windows re-run from a zero state for each step
 * (K values a step), the same calendar inputs. out: (N, steps), normalised. seconds (may be NULL)
 * gets the launch's device time. HS_ERR_DEVICE without a CUDA build or a GPU, or for a shape
 * past the device's shared memory. */
hs_status hs_lstm_predict_cuda(hs_lstm *m, const hs_lstm_data *d, int64_t end, int steps, float pad, float *out,
                               double *seconds);

#ifdef __cplusplus
}
#endif
/* ---- weights on disk (lstm_weights.c) ------------------------------------------------------ */

#ifdef __cplusplus
extern "C" {
#endif

/* What a weights file carries besides the parameters: how the series was scaled. */
typedef struct hs_lstm_norm {
    double mean, std; /* v = (y - mean) / std, y the modelled value */
    int log_scale;    /* y = log1p(invocations) */
    int calendar;
    int64_t step_seconds;
} hs_lstm_norm;

/* Loads model 0 of a file written by hs_lstm_stage (lstm.safetensors): checks the format, the
 * configuration in the metadata, every tensor's name and shape. Caller frees *out. */
hs_status hs_lstm_load(const char *path, int batch, hs_lstm **out, hs_lstm_norm *norm);

#ifdef __cplusplus
}
#endif
#endif
