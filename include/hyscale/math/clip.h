/* clip.h: gradient-norm clipping as torch.nn.utils.clip_grad_norm_ does it, written once for
 * the LSTM (CPU loop and CUDA kernel) and PPO: the gradient is scaled by
 * max_norm / (norm + 1e-6) when that is below 1, else left as it is.
 * Two precisions of the one rule: the LSTM and its kernels work in float, PPO sums its norm in
 * double on the host; each keeps the precision it has always used, so no result moves. A
 * coefficient of exactly 1 leaves every finite gradient unchanged, bit for bit. */
#ifndef HYSCALE_MATH_CLIP_H
#define HYSCALE_MATH_CLIP_H

#include "hyscale/math/hd.h"

#define HS_CLIP_EPS 1e-6

/* the factor that scales a gradient of norm `norm` (float precision) */
static inline HS_HD float hs_clip_coef(float norm, float max_norm)
{
    float c = max_norm / (norm + (float)HS_CLIP_EPS);
    return c < 1.0f ? c : 1.0f;
}

/* the same rule with the norm and the ratio in double, rounded to float at the end */
static inline HS_HD float hs_clip_coef_d(double norm, double max_norm)
{
    double c = max_norm / (norm + HS_CLIP_EPS);
    return c < 1.0 ? (float)c : 1.0f;
}

#endif
