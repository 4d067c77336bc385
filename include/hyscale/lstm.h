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

/* Adam over the flat (N, P) buffer; the moments live in the model, the step counts from 1. */
void hs_lstm_adam_step(hs_lstm *m, const hs_adam_hparams *h);

#ifdef __cplusplus
}
#endif
#endif
