/* moments.h: running mean and variance merged batch by batch (Chan, Golub and LeVeque's parallel
 * update, the one gym's RunningMeanStd and Stable-Baselines' VecNormalize use), and PPO's reward
 * scaling over it: each environment's discounted return G = gamma G + r is pushed into the
 * moments, and the reward the learner sees is r / sqrt(var(G) + eps). Shared by the CPU loop and
 * a CUDA backend to come.
 *
 *     hs_moments m = HS_MOMENTS_INIT;
 *     hs_moments_merge(&m, hs_moments_of(batch, n));   // after every batch
 *     float scaled = hs_reward_scale(r, m.var, HS_REWARD_SCALE_EPS);
 *
 * count starts at eps (1e-4) as in gym, so the first merge takes the batch's moments almost
 * unchanged and nothing divides by zero.
 */
#ifndef HYSCALE_MATH_MOMENTS_H
#define HYSCALE_MATH_MOMENTS_H

#include <math.h>
#include <stdint.h>

#include "hyscale/math/hd.h"

typedef struct hs_moments {
    double count, mean, var; /* var: the population variance (divided by count) */
} hs_moments;

#define HS_MOMENTS_INIT {1e-4, 0.0, 1.0}
#define HS_REWARD_SCALE_EPS 1e-8

/* The population mean and variance of x (n >= 1), two-pass in double. */
static inline HS_HD hs_moments hs_moments_of(const double *x, int64_t n)
{
    hs_moments b = {(double)n, 0.0, 0.0};
    for (int64_t i = 0; i < n; i++)
        b.mean += x[i];
    b.mean /= (double)n;
    for (int64_t i = 0; i < n; i++)
        b.var += (x[i] - b.mean) * (x[i] - b.mean);
    b.var /= (double)n;
    return b;
}

/* a := the moments of a's samples and b's together. */
static inline HS_HD void hs_moments_merge(hs_moments *a, hs_moments b)
{
    double n = a->count + b.count, delta = b.mean - a->mean;
    double m2 = a->var * a->count + b.var * b.count + delta * delta * a->count * b.count / n;
    a->mean += delta * b.count / n;
    a->var = m2 / n;
    a->count = n;
}

/* One environment's discounted return after reward r: G = gamma G + r (G restarts at 0 after the
 * step that ends an episode: the caller zeroes it). */
static inline HS_HD double hs_return_step(double G, float r, float gamma)
{
    return (double)gamma * G + (double)r;
}

/* The reward the learner sees: r / sqrt(var + eps). */
static inline HS_HD float hs_reward_scale(float r, double var, double eps)
{
    return (float)((double)r / sqrt(var + eps));
}

#endif
