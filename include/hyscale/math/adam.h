/* adam.h: one Adam step for one parameter, as torch.optim.Adam computes it (no weight decay):
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * bc1 = 1 - b1^t and sqrt_bc2 = sqrt(1 - b2^t) are computed once per step (hs_adam_bias).
 * Shared by the CPU loops (LSTM, PPO) and the CUDA kernels. torch's default betas are
 * HS_ADAM_BETA1 and HS_ADAM_BETA2. */
#ifndef HYSCALE_MATH_ADAM_H
#define HYSCALE_MATH_ADAM_H

#include <math.h>

#include "hyscale/math/hd.h"

typedef struct hs_adam_hparams {
    float lr, beta1, beta2, eps;
} hs_adam_hparams;

#define HS_ADAM_BETA1 0.9f
#define HS_ADAM_BETA2 0.999f

/* The bias corrections of step t (counting from 1), in float as torch computes them. */
static inline HS_HD void hs_adam_bias(hs_adam_hparams h, long long t, float *bc1, float *sqrt_bc2)
{
    *bc1 = 1.0f - powf(h.beta1, (float)t);
    *sqrt_bc2 = sqrtf(1.0f - powf(h.beta2, (float)t));
}

static inline HS_HD void hs_adam_update(float *p, float *m, float *v, float g, hs_adam_hparams h, float bc1,
                                        float sqrt_bc2)
{
    *m = h.beta1 * *m + (1.0f - h.beta1) * g;
    *v = h.beta2 * *v + (1.0f - h.beta2) * g * g;
    float denom = sqrtf(*v) / sqrt_bc2 + h.eps;
    *p -= (h.lr / bc1) * *m / denom;
}

#endif
