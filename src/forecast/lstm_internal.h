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

/* The --lstm-impl names, in the order of the CUDA backend's variants (lstm_device.c): auto,
 * cublas, persistent, cudnn. Index -1 for another name; hs_lstm_impl_unknown sets its error. */
int hs_lstm_impl_index(const char *name);
const char *hs_lstm_impl_by_index(int i);
hs_status hs_lstm_impl_unknown(const char *name);

/* The training steps of a backend that works on host memory (lstm_host_steps.c). */
const hs_lstm_resident *hs_lstm_host_resident(void);


#endif
