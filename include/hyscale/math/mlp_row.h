/* mlp_row.h: PPO's two MLPs (O -> H -> H -> out, tanh; ppo.h's hs_mlp_layout) over one
 * observation, and the action drawn from the policy's log-probabilities: the per-environment
 * work of a rollout step, written once (HS_HD) for a device thread (kernels/ppo_act.cu) and
 * checked on the host against the CPU's batched GEMMs (src/backend/cpu/mlp_cpu.c), which sum in
 * another order: the two agree to float rounding, and the actions agree except where u falls
 * within that rounding of a boundary of the cumulative probabilities (tests/test_mlp_row.c).
 *
 *     float h1[H], h2[H], logits[A], value, lp[A];
 *     hs_mlp_row_forward(&l, params, 0, obs, h1, h2, logits);     // the actor
 *     hs_mlp_row_forward(&l, params, 1, obs, h1, h2, &value);     // the critic
 *     hs_log_softmax(logits, A, lp);                               // math/ppo_loss.h
 *     int a = hs_ppo_choose(lp, A, greedy, u);                     // u from the action stream
 */
#ifndef HYSCALE_MATH_MLP_ROW_H
#define HYSCALE_MATH_MLP_ROW_H

#include <math.h>
#include <stdint.h>

#include "hyscale/math/hd.h"

/* y (n) = W (n, k) x (k) + b (n), tanh'd when act. */
static inline HS_HD void hs_dense_row(const float *W, const float *b, const float *x, int64_t n, int64_t k, int act,
                                      float *y)
{
    for (int64_t j = 0; j < n; j++) {
        float s = 0.0f;
        const float *w = W + j * k;
        for (int64_t i = 0; i < k; i++)
            s += w[i] * x[i];
        s += b[j];
        y[j] = act ? tanhf(s) : s;
    }
}

/* One MLP over one observation: the actor's A logits (critic 0) or the critic's value (critic 1)
 * into out; h1 and h2 (H each) are scratch. The offsets are hs_mlp_layout's (ppo.h), passed as
 * numbers so this header needs no host types. */
typedef struct hs_mlp_row_net {
    int64_t obs, hidden, n_out, w1, b1, w2, b2, w3, b3;
} hs_mlp_row_net;

static inline HS_HD void hs_mlp_row_forward(const hs_mlp_row_net *n, const float *params, const float *obs,
                                            float *h1, float *h2, float *out)
{
    hs_dense_row(params + n->w1, params + n->b1, obs, n->hidden, n->obs, 1, h1);
    hs_dense_row(params + n->w2, params + n->b2, h1, n->hidden, n->hidden, 1, h2);
    hs_dense_row(params + n->w3, params + n->b3, h2, n->n_out, n->hidden, 0, out);
}

/* The action from log-probabilities lp (A): the most likely (the first of equals) when greedy,
 * else the first j whose cumulative probability exceeds u in [0, 1) (the last when rounding
 * leaves the sum below u). */
static inline HS_HD int hs_ppo_choose(const float *lp, int A, int greedy, double u)
{
    if (greedy) {
        int a = 0;
        for (int j = 1; j < A; j++)
            if (lp[j] > lp[a])
                a = j;
        return a;
    }
    double cum = 0.0;
    for (int j = 0; j < A; j++) {
        cum += exp(lp[j]);
        if (u < cum)
            return j;
    }
    return A - 1;
}

#endif
