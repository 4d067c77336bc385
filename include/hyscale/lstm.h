/* lstm.h: N independent LSTM forecasters in one set of buffers (a model dimension everywhere),
 * the backend seam they are trained through, and the pieces of the training step.
 *
 *     hs_lstm_config cfg = {.models = 1, .layers = 1, .hidden = 64, .features = 1,
 *                           .window = 60, .horizon = 1, .batch = 256};
 *     hs_lstm *m;
 *     HS_TRY(hs_lstm_init(&cfg, seed, &m));                   // PyTorch's init: U(-1/sqrt(H), 1/sqrt(H))
 *     const hs_lstm_backend *be = hs_lstm_backend_cpu();
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

/* The backend seam: the training loop calls only these. */
typedef struct hs_lstm_backend {
    const char *name;
    /* x: (N, W, B, F), time-major per model; keeps what backward needs; output in hs_lstm_output */
    hs_status (*forward)(hs_lstm *m, const float *x, int B);
    /* dy: (N, B, K) = dL/dy; writes (overwrites) the gradients of every parameter */
    hs_status (*backward)(hs_lstm *m, const float *dy, int B);
} hs_lstm_backend;

const hs_lstm_backend *hs_lstm_backend_cpu(void);

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

/* ---- training and prediction above the seam (lstm_train.c, lstm_predict.c) --------------- */

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

/* Recursive forecasts: for each end e in ends (nends), the window of the W values before e
 * (values before the series start read as `pad`, values at or after M are the forecasts),
 * forecast `steps` values feeding predictions back. out: (N, nends, steps), normalised.
 * Never reads a value at or after e. */
hs_status hs_lstm_predict(hs_lstm *m, const hs_lstm_data *d, const int64_t *ends, int64_t nends, int steps, float pad,
                          float *out);

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
