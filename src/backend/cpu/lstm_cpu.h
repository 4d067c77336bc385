/* lstm_cpu.h: the CPU LSTM backend's workspace, shared by its forward and backward
 * (lstm_cpu.c) and its training steps (lstm_cpu_steps.c). It lives in the model's workspace slot
 * (lstm_seam.h), made on the first forward or bind and sized once for cfg.batch. */
#ifndef HYSCALE_BACKEND_CPU_LSTM_CPU_H
#define HYSCALE_BACKEND_CPU_LSTM_CPU_H

#include "backend/lstm_seam.h"

/* The training steps' state, between bind and finish. */
typedef struct hs_lstm_cpu_steps {
    const hs_lstm_data *d;  /* borrowed: outlives the steps */
    float *x, *t, *dy;      /* (N, W, B, F), (N, B, K), (N, B, K) */
    float *loss, *best;     /* (N), (N, P) */
    double *tr, *va;        /* (N) loss sums */
    unsigned char *active;  /* (N) */
    int64_t *ends, max_ends;
} hs_lstm_cpu_steps;

typedef struct hs_lstm_cpu_ws {
    float *gates;            /* (N, L, W, B, 4H) activated gates; backward writes the
                              * pre-activation gradients over them (one buffer streamed, not two) */
    float *cell, *hid;       /* (N, L, W, B, H) */
    float *dx;               /* (N, W, B, H) gradient into the layer below */
    /* rows are processed in chunks of HS_LSTM_CHUNK: forward and backward through time run one
     * OpenMP task per (model, chunk), the weight gradients one per (model, part) */
    float *dh, *dc;          /* (N, B, H) */
    float *zeros;            /* (B, H) the state before the first step */
    const float *x;          /* the last forward's input (N, W, B, F); NULL once backward ran */
    int B;                   /* its batch */
    hs_lstm_cpu_steps *steps; /* NULL outside training */
} hs_lstm_cpu_ws;

#define HS_WS(m) ((hs_lstm_cpu_ws *)(m)->ws)

/* m's CPU workspace, made (replacing another backend's) on first use; *out may be NULL. */
hs_status hs_lstm_cpu_ws_get(hs_lstm *m, hs_lstm_cpu_ws **out);
void hs_lstm_cpu_ws_free(void *ws);

extern const hs_lstm_resident hs_lstm_cpu_resident;

#endif
