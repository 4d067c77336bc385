/* ppo_loss.h: the per-element math of PPO, shared by the CPU loops and the CUDA kernels: the GAE
 * step, the categorical policy's log-probabilities and entropy, and one sample's share of the
 * clipped loss with its gradient with respect to the logits and the value.
 *
 * Per sample i of a minibatch of B (CleanRL's PPO with an unclipped value loss):
 *   r = exp(logp(a) - logp_old(a))
 *   pg = max(-A r, -A clip(r, 1 - eps, 1 + eps))         A normalised per minibatch
 *   loss = mean(pg) - c_ent mean(entropy) + c_v * 0.5 * mean((v - R)^2)
 */
#ifndef HYSCALE_MATH_PPO_LOSS_H
#define HYSCALE_MATH_PPO_LOSS_H

#include <math.h>

#include "hyscale/math/hd.h"

typedef struct hs_ppo_coefs {
    float clip, c_value, c_entropy;
} hs_ppo_coefs;

/* One backward step of GAE: the advantage at t from the one at t+1. nonterminal is 0 when the
 * step at t ended the episode. */
static inline HS_HD float hs_gae_step(float reward, float value, float next_value, float nonterminal, float next_adv,
                                      float gamma, float lambda)
{
    float delta = reward + gamma * next_value * nonterminal - value;
    return delta + gamma * lambda * nonterminal * next_adv;
}

/* log-softmax of A logits into logp (A); returns the entropy. */
static inline HS_HD float hs_log_softmax(const float *logits, int A, float *logp)
{
    float mx = logits[0];
    for (int j = 1; j < A; j++)
        mx = logits[j] > mx ? logits[j] : mx;
    float z = 0.0f;
    for (int j = 0; j < A; j++)
        z += expf(logits[j] - mx);
    float lz = mx + logf(z);
    float ent = 0.0f;
    for (int j = 0; j < A; j++) {
        logp[j] = logits[j] - lz;
        ent -= expf(logp[j]) * logp[j];
    }
    return ent;
}

/* Per-sample terms of the loss, for the statistics. */
typedef struct hs_ppo_terms {
    float pg, value, entropy, kl, clipped;
} hs_ppo_terms;

/* One sample's loss terms and gradient: dlogits (A) and *dvalue, each already divided by the
 * minibatch size B (inv_b = 1/B). logp (A) is scratch. adv is the normalised advantage. */
static inline HS_HD hs_ppo_terms hs_ppo_sample_grad(const float *logits, int A, int action, float old_logp, float adv,
                                                    float value, float ret, hs_ppo_coefs k, float inv_b,
                                                    float *logp, float *dlogits, float *dvalue)
{
    hs_ppo_terms o;
    float ent = hs_log_softmax(logits, A, logp);
    float lr = logp[action] - old_logp;
    float r = expf(lr);
    float rc = r < 1.0f - k.clip ? 1.0f - k.clip : r > 1.0f + k.clip ? 1.0f + k.clip : r;
    float u = -adv * r, c = -adv * rc;
    o.pg = u >= c ? u : c;
    /* d pg / d logp(a): through the unclipped term when it is the max, else none (the clipped
     * term is constant outside the range and equal to the unclipped one inside it) */
    float dpg = u >= c ? -adv * r : 0.0f;
    o.clipped = fabsf(r - 1.0f) > k.clip ? 1.0f : 0.0f;
    o.kl = (r - 1.0f) - lr;
    o.entropy = ent;
    float dv = value - ret;
    o.value = 0.5f * dv * dv;
    *dvalue = k.c_value * dv * inv_b;
    for (int j = 0; j < A; j++) {
        float pj = expf(logp[j]);
        float g = dpg * ((j == action ? 1.0f : 0.0f) - pj);   /* pg through logp(a) */
        g += k.c_entropy * pj * (logp[j] + ent);               /* -c_ent * d entropy */
        dlogits[j] = g * inv_b;
    }
    return o;
}

#endif
