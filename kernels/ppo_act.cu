/* ppo_act.cu: PPO's actor and critic over E observations and the action drawn for each, one
 * thread per environment, from math/mlp_row.h and the action stream (seed, 1 << 32 | e) at draw
 * `counter`, as the CPU's act (src/backend/cpu/ppo_cpu.c) draws: the first brick of the rollout
 * on the device (issue 12). Host glue: src/backend/cuda/ppo_act_cuda.c. The weights are read from
 * global memory (L1/L2 cached); shared memory and a warp per environment are for the rollout
 * kernel to measure. */
#include <cuda_runtime.h>

#include "backend/cuda/kernels.h"
#include "hyscale/math/mlp_row.h"
#include "hyscale/math/ppo_loss.h"
#include "hyscale/math/rng.h"
#include "launch.cuh"

#define HS_ACT_T 128

static __global__ void hs_ppo_act_all(hs_mlp_row_net actor, hs_mlp_row_net critic, const float *params,
                                      const float *obs, int64_t E, int greedy, uint64_t seed, uint64_t counter,
                                      int32_t *actions, float *logp, float *values)
{
    int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= E)
        return;
    float h1[HS_ACT_MAX_HIDDEN], h2[HS_ACT_MAX_HIDDEN], logits[HS_ACT_MAX_ACTIONS], lp[HS_ACT_MAX_ACTIONS];
    const float *x = obs + e * actor.obs;
    hs_mlp_row_forward(&actor, params, x, h1, h2, logits);
    int A = (int)actor.n_out;
    hs_log_softmax(logits, A, lp);
    double u = greedy ? 0.0 : (double)hs_rng_uniform(seed, (1ull << 32) | (uint64_t)e, counter, 0);
    int a = hs_ppo_choose(lp, A, greedy, u);
    actions[e] = a;
    if (logp)
        logp[e] = lp[a];
    if (values) {
        float v;
        hs_mlp_row_forward(&critic, params, x, h1, h2, &v);
        values[e] = v;
    }
}

extern "C" int hs_kernel_ppo_act(const hs_mlp_row_net *actor, const hs_mlp_row_net *critic, const float *params,
                                 const float *obs, int64_t E, int greedy, uint64_t seed, uint64_t counter,
                                 int32_t *actions, float *logp, float *values, void *stream)
{
    if (actor->hidden > HS_ACT_MAX_HIDDEN || actor->n_out > HS_ACT_MAX_ACTIONS || critic->hidden > HS_ACT_MAX_HIDDEN)
        return (int)cudaErrorInvalidValue;
    cudaStream_t s = (cudaStream_t)stream;
    unsigned blocks = (unsigned)((E + HS_ACT_T - 1) / HS_ACT_T);
    hs_ppo_act_all<<<blocks, HS_ACT_T, 0, s>>>(*actor, *critic, params, obs, E, greedy, seed, counter, actions, logp,
                                               values);
    return (int)hs_launched(s);
}
