/* ppo_act.h: PPO's act on the device for host arrays (src/backend/cuda/ppo_act_cuda.c,
 * kernels/ppo_act.cu): the same actions, log-probabilities and values as the CPU backend's act
 * (ppo_seam.h) from the same parameters, observations, seed and draw counter, to float rounding
 * (tests/test_mlp_row.c says where actions may differ). The first brick of the rollout on the
 * device (issue 12); src/backend/nocuda.c answers HS_ERR_DEVICE in a build without CUDA.
 *
 *     HS_TRY(hs_ppo_act_cuda(&layout, params, obs, E, 0, seed, counter, actions, logp, values));
 */
#ifndef HYSCALE_BACKEND_PPO_ACT_H
#define HYSCALE_BACKEND_PPO_ACT_H

#include "hyscale/math/mlp_row.h"
#include "hyscale/ppo.h"

/* The actor's and the critic's offsets of a layout, for math/mlp_row.h. */
static inline hs_mlp_row_net hs_mlp_row_net_of(const hs_mlp_layout *l, int critic)
{
    hs_mlp_row_net n = {l->obs,
                        l->hidden,
                        critic ? 1 : l->actions,
                        critic ? l->c_w1 : l->a_w1,
                        critic ? l->c_b1 : l->a_b1,
                        critic ? l->c_w2 : l->a_w2,
                        critic ? l->c_b2 : l->a_b2,
                        critic ? l->c_w3 : l->a_w3,
                        critic ? l->c_b3 : l->a_b3};
    return n;
}

/* params (l->total), obs (E, l->obs) in host memory; actions (E), logp and values (E, may be
 * NULL) out into host memory; greedy, or drawn from (seed, 1 << 32 | e) at counter. */
hs_status hs_ppo_act_cuda(const hs_mlp_layout *l, const float *params, const float *obs, int64_t E, int greedy,
                          uint64_t seed, uint64_t counter, int32_t *actions, float *logp, float *values);

#endif
