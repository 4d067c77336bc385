/* lstm_cell.h: the per-element math of one LSTM unit, in PyTorch's gate order (i, f, g, o),
 * shared by the CPU loops (src/backend/cpu/lstm_cpu.c) and the CUDA kernels.
 *
 *   i = s(a_i), f = s(a_f), g = tanh(a_g), o = s(a_o), c = f c_prev + i g, h = o tanh(c)
 *
 * Backward: given dL/dh and the cell gradient flowing back from step t+1 (dc_next, already
 * multiplied by f_{t+1}), the pre-activation gradients and dL/dc_prev (to pass to step t-1).
 */
#ifndef HYSCALE_MATH_LSTM_CELL_H
#define HYSCALE_MATH_LSTM_CELL_H

#include <math.h>

#include "hyscale/math/hd.h"

static inline HS_HD float hs_sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* a: the four pre-activations (i, f, g, o) of this unit, overwritten by the activated gates. */
static inline HS_HD void hs_lstm_cell_fwd(float *ai, float *af, float *ag, float *ao, float c_prev, float *c,
                                          float *h)
{
    float i = hs_sigmoidf(*ai), f = hs_sigmoidf(*af), g = tanhf(*ag), o = hs_sigmoidf(*ao);
    float cc = f * c_prev + i * g;
    *ai = i;
    *af = f;
    *ag = g;
    *ao = o;
    *c = cc;
    *h = o * tanhf(cc);
}

/* i, f, g, o: activated gates; c, c_prev: cell states; dh: dL/dh_t; dc_next: dL/dc_t carried
 * from t+1. Writes the pre-activation gradients and returns dL/dc_{t-1}. */
static inline HS_HD float hs_lstm_cell_bwd(float i, float f, float g, float o, float c, float c_prev, float dh,
                                           float dc_next, float *dai, float *daf, float *dag, float *dao)
{
    float tc = tanhf(c);
    float dc = dc_next + dh * o * (1.0f - tc * tc);
    *dao = dh * tc * o * (1.0f - o);
    *dai = dc * g * i * (1.0f - i);
    *dag = dc * i * (1.0f - g * g);
    *daf = dc * c_prev * f * (1.0f - f);
    return dc * f;
}

#endif
