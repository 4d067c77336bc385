/* env_step.cu: E autoscaling environments stepping on the device, one thread each, over the
 * flat arrays of math/env_state.h in device memory: the same reset, step and observation the CPU
 * runs (src/backend/cpu/env_cpu.c), so the integer state is the CPU's bit for bit. Host glue:
 * src/backend/cuda/env_cuda.c; entry points in src/backend/cuda/kernels.h.
 *
 * The one difference from the CPU is where ended episodes are summed: the CPU adds each to one
 * total in environment order, a thread here to its own environment's total (fin[e], fin_n[e]),
 * which the host adds up when asked (hs_env_cuda take_finished): the integer sums are equal, the
 * reward sum (double) equal to rounding. */
#include <cuda_runtime.h>

#include "backend/cuda/kernels.h"
#include "hyscale/math/env_state.h"
#include "launch.cuh"

#define HS_ENV_T 256

static inline int64_t hs_env_blocks(int64_t E) { return (E + HS_ENV_T - 1) / HS_ENV_T; }

/* Every environment anew: training draws its next episode, replay goes back to its start. */
static __global__ void hs_env_reset_all(hs_env_arrays a, int64_t E)
{
    int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= E)
        return;
    if (a.replay)
        hs_env_replay_reset_at(&a, e);
    else
        hs_env_reset_at(&a, e);
}

/* One step of every environment: targets, or actions mapped by the mode (in = NULL: none; the
 * caller checked the actions' range); training auto-resets an ended episode after adding its
 * sums to the environment's finished total. */
static __global__ void hs_env_step_all(hs_env_arrays a, int64_t E, const int32_t *in, int actions,
                                       hs_env_metrics *fin, int64_t *fin_n)
{
    int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= E)
        return;
    int32_t target = actions ? hs_env_target_at(&a, e, in[e]) : in[e];
    hs_env_step_at(&a, e, target);
    if (a.replay || !a.done[e])
        return;
    hs_env_metrics_accumulate(&fin[e], &a.sums[e]);
    fin_n[e]++;
    hs_env_reset_at(&a, e);
}

extern "C" int hs_kernel_env_reset(const hs_env_arrays *a, int64_t E, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    hs_env_reset_all<<<(unsigned)hs_env_blocks(E), HS_ENV_T, 0, s>>>(*a, E);
    return (int)hs_launched(s);
}

extern "C" int hs_kernel_env_step(const hs_env_arrays *a, int64_t E, const int32_t *in, int actions,
                                  hs_env_metrics *fin, int64_t *fin_n, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    hs_env_step_all<<<(unsigned)hs_env_blocks(E), HS_ENV_T, 0, s>>>(*a, E, in, actions, fin, fin_n);
    return (int)hs_launched(s);
}
