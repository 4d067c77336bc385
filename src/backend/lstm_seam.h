/* lstm_seam.h: the LSTM's backend seam, in one place: the model's state as every backend sees
 * it, the table of operations a backend fills, and the one list of implementation names.
 *
 *     const hs_lstm_backend *be = hs_lstm_backend_cpu();          // or hs_lstm_backend_cuda("auto", &be)
 *     HS_TRY(be->forward(m, x, B));                               // x: (N, W, B, F), host memory
 *     hs_lstm_mse(m, target, B, loss, dy);
 *     HS_TRY(be->backward(m, dy, B));                             // hs_lstm_grads(m)
 *     HS_TRY(be->resident->bind(m, &data, max_ends));             // the training loop's steps
 *
 * Who includes this: the model (src/forecast/lstm_model.c), the training loop and prediction
 * (src/forecast/lstm_train.c, lstm_predict.c), the backends (src/backend/cpu/, src/backend/cuda/),
 * and tests and benchmarks that drive a backend directly. It never includes a stage's folder.
 *
 * Every backend is complete: forward, backward and the resident steps. The recursive forecast
 * from one end is an optional operation (NULL: hs_lstm_predict batches windows through forward).
 */
#ifndef HYSCALE_BACKEND_LSTM_SEAM_H
#define HYSCALE_BACKEND_LSTM_SEAM_H

#include "hyscale/backend.h"
#include "hyscale/lstm.h"

/* The model: what is the model's (configuration, parameters, gradients, Adam moments), the host
 * copy of the last output, and one workspace slot that the backend which last ran owns. */
struct hs_lstm {
    hs_lstm_config cfg;
    int64_t P;               /* parameters per model */
    hs_lstm_layout lay;
    float *params, *grads;   /* (N, P) */
    float *adam_m, *adam_v;  /* (N, P) */
    int64_t adam_t;          /* Adam steps taken */
    float *y;                /* (N, B, K) the last forward's output, host memory */
    /* where training ran, so that predictions run there too (NULL: the CPU) */
    const struct hs_lstm_backend *backend;
    const char *impl;        /* the implementation that ran last ("cpu" until a device one runs) */
    hs_device device;        /* its device */
    /* the workspace of the backend that ran last (activations, device buffers, training steps'
     * state): made by that backend on first use, freed through ws_free, which also tells a
     * backend whether the slot is its own */
    void *ws;
    void (*ws_free)(void *ws);
};

/* Frees m's workspace (if any) and clears the slot: a backend calls it before making its own. */
void hs_lstm_ws_release(hs_lstm *m);

/* The training loop's steps on a backend's own copy of the data: the loop (lstm_train.c) calls
 * these in this order and reads back only the per-model loss sums, once an epoch. The CPU fills
 * them over host buffers (src/backend/cpu/lstm_cpu_steps.c), the GPU on the device. */
typedef struct hs_lstm_resident {
    /* copies the series (and the host parameters) in; room for up to max_ends window ends */
    hs_status (*bind)(hs_lstm *m, const hs_lstm_data *d, int64_t max_ends);
    /* the window ends of this epoch's batches (exclusive ends, as hs_lstm_train draws them) */
    hs_status (*set_ends)(hs_lstm *m, const int64_t *ends, int64_t n);
    /* one training step on the windows ending at ends[first .. first + nb): gather, forward,
     * MSE, backward, clip_grad_norm(clip) per model, Adam on the active models; adds loss * nb
     * to the train sums */
    hs_status (*train)(hs_lstm *m, int64_t first, int nb, float clip, const hs_adam_hparams *h);
    /* forward and MSE on the nb windows ending at e0, e0 + 1, ...; adds loss * nb to the
     * validation sums */
    hs_status (*eval)(hs_lstm *m, int64_t e0, int nb);
    /* the per-model sums since the last call (N each; either may be NULL), then zeroes them */
    hs_status (*take_losses)(hs_lstm *m, double *train, double *val);
    hs_status (*set_active)(hs_lstm *m, const unsigned char *active); /* (N) */
    hs_status (*keep_best)(hs_lstm *m, int n);  /* model n's parameters become its best */
    hs_status (*finish)(hs_lstm *m, int best);  /* the best (or the current) parameters -> host */
} hs_lstm_resident;

struct hs_lstm_backend {
    const char *name;  /* "cpu", "cuda-auto", "cuda-cublas", "cuda-persistent", "cuda-cudnn" */
    hs_device device;
    /* x: (N, W, B, F), time-major per model, host memory; keeps what backward needs; output in
     * hs_lstm_output. A device backend copies the host parameters in and the output out. */
    hs_status (*forward)(hs_lstm *m, const float *x, int B);
    /* dy: (N, B, K) = dL/dy, host memory; writes (overwrites) the gradients of every parameter
     * (hs_lstm_grads; a device backend copies them out) */
    hs_status (*backward)(hs_lstm *m, const float *dy, int B);
    const hs_lstm_resident *resident; /* never NULL */
    /* Optional: the recursive forecast of every model from one end (hs_lstm_predict's rule,
     * out (N, steps)). *declined = 1 (and HS_OK) when the shape is past what it can run; any
     * other failure is an error that the caller propagates. */
    hs_status (*predict_one)(hs_lstm *m, const hs_lstm_data *d, int64_t end, int steps, float pad, float *out,
                             int *declined);
};

/* ---- the implementations (--lstm-impl), one table ------------------------------------------ */

typedef enum hs_lstm_impl {
    HS_LSTM_IMPL_AUTO = 0,   /* the fastest correct one for the shape */
    HS_LSTM_IMPL_CUBLAS,     /* one GEMM per step for the recurrence, fused gate kernels */
    HS_LSTM_IMPL_PERSISTENT, /* one launch per layer, W_hh in shared memory */
    HS_LSTM_IMPL_CUDNN,      /* the cuDNN v9 RNN API */
    HS_LSTM_IMPL_COUNT
} hs_lstm_impl;

/* The enum of a name; HS_ERR_USAGE naming the choices for another one. */
hs_status hs_lstm_impl_parse(const char *name, hs_lstm_impl *out);
/* The name of an implementation ("auto", "cublas", "persistent", "cudnn"). */
const char *hs_lstm_impl_str(hs_lstm_impl impl);

/* The CUDA backend of one implementation, once the name is parsed and a GPU answers
 * (src/backend/cuda/lstm_cuda.c; src/backend/nocuda.c without the CUDA build). */
hs_status hs_lstm_backend_cuda_impl(hs_lstm_impl impl, const hs_lstm_backend **out);

#endif
