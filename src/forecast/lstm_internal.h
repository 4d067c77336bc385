/* lstm_internal.h: the LSTM's buffers, shared by the model code and the backends. */
#ifndef HYSCALE_LSTM_INTERNAL_H
#define HYSCALE_LSTM_INTERNAL_H

#include "hyscale/lstm.h"

struct hs_lstm {
    hs_lstm_config cfg;
    int64_t P; /* parameters per model */
    hs_lstm_layout lay;
    float *params, *grads;   /* (N, P) */
    float *adam_m, *adam_v;  /* (N, P) */
    int64_t adam_t;          /* Adam steps taken */
    float *gates;            /* (N, L, W, B, 4H) activated gates; the CPU backward writes the
                              * pre-activation gradients over them (one buffer streamed, not two) */
    float *cell, *hid;       /* (N, L, W, B, H) */
    float *y;                /* (N, B, K) */
    float *dx;               /* (N, W, B, H) gradient into the layer below */
    /* rows are processed in chunks of HS_LSTM_CHUNK: forward and backward through time run one
     * OpenMP task per (model, chunk), the weight gradients one per (model, part) */
    float *dh, *dc;          /* (N, B, H) */
    float *zeros;            /* (B, H) the state before the first step */
    const float *x;          /* the last forward's input (N, W, B, F) */
    int B;                   /* its batch */
    /* a device backend's state (its copy of everything above), freed with the model */
    void *dev;
    void (*dev_free)(void *dev);
    const hs_lstm_backend *backend; /* where hs_lstm_predict runs (NULL: the CPU) */
    const char *impl; /* the implementation that ran last ("cpu" until a device one runs) */
    /* the host training steps' state (lstm_host_steps.c), between bind and finish */
    void *steps;
    void (*steps_free)(void *steps);
};

/* The training steps of a backend that works on host memory (lstm_host_steps.c). */
const hs_lstm_resident *hs_lstm_host_resident(void);

/* Fills slot b of x (N, W, B, F) with the windows ending at e (exclusive) of every series, and
 * target (N, B, K) with the K values from e on (when target is not NULL). */
void hs_lstm_gather_window(const hs_lstm_data *d, int W, int B, int K, int b, int64_t e, float *x, float *target);

#endif
