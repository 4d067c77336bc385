/* ppo_act_cuda.c: host glue of PPO's act on the device (backend/ppo_act.h, kernels/ppo_act.cu):
 * parameters and observations copied in, one launch, actions, log-probabilities and values
 * copied out. */
#include <stdlib.h>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"
#include "backend/ppo_act.h"

typedef struct hs_act_dev {
    float *params, *obs, *logp, *values;
    int32_t *actions;
} hs_act_dev;

static hs_status hs_act_run(hs_act_dev *d, const hs_mlp_layout *l, const float *params, const float *obs, int64_t E,
                            int greedy, uint64_t seed, uint64_t counter, int32_t *actions, float *logp, float *values)
{
    size_t e = (size_t)E;
    HS_CUDA_CHECK(cudaMalloc((void **)&d->params, (size_t)l->total * sizeof(float)));
    HS_CUDA_CHECK(cudaMalloc((void **)&d->obs, e * (size_t)l->obs * sizeof(float)));
    HS_CUDA_CHECK(cudaMalloc((void **)&d->actions, e * sizeof(int32_t)));
    if (logp)
        HS_CUDA_CHECK(cudaMalloc((void **)&d->logp, e * sizeof(float)));
    if (values)
        HS_CUDA_CHECK(cudaMalloc((void **)&d->values, e * sizeof(float)));
    HS_CUDA_CHECK(cudaMemcpy(d->params, params, (size_t)l->total * sizeof(float), cudaMemcpyHostToDevice));
    HS_CUDA_CHECK(cudaMemcpy(d->obs, obs, e * (size_t)l->obs * sizeof(float), cudaMemcpyHostToDevice));
    hs_mlp_row_net a = hs_mlp_row_net_of(l, 0), c = hs_mlp_row_net_of(l, 1);
    HS_CUDA_CHECK((cudaError_t)hs_kernel_ppo_act(&a, &c, d->params, d->obs, E, greedy, seed, counter, d->actions,
                                                 d->logp, d->values, NULL));
    HS_CUDA_CHECK(cudaMemcpy(actions, d->actions, e * sizeof(int32_t), cudaMemcpyDeviceToHost));
    if (logp)
        HS_CUDA_CHECK(cudaMemcpy(logp, d->logp, e * sizeof(float), cudaMemcpyDeviceToHost));
    if (values)
        HS_CUDA_CHECK(cudaMemcpy(values, d->values, e * sizeof(float), cudaMemcpyDeviceToHost));
    return HS_OK;
}

hs_status hs_ppo_act_cuda(const hs_mlp_layout *l, const float *params, const float *obs, int64_t E, int greedy,
                          uint64_t seed, uint64_t counter, int32_t *actions, float *logp, float *values)
{
    if (E <= 0)
        return HS_OK;
    if (l->hidden > HS_ACT_MAX_HIDDEN || l->actions > HS_ACT_MAX_ACTIONS)
        return hs_error_set(HS_ERR_USAGE, "ppo act (cuda): hidden %lld and %lld actions; the kernel takes at most %d "
                                          "and %d",
                            (long long)l->hidden, (long long)l->actions, HS_ACT_MAX_HIDDEN, HS_ACT_MAX_ACTIONS);
    hs_act_dev d = {0};
    hs_status st = hs_act_run(&d, l, params, obs, E, greedy, seed, counter, actions, logp, values);
    cudaFree(d.params);
    cudaFree(d.obs);
    cudaFree(d.actions);
    cudaFree(d.logp);
    cudaFree(d.values);
    return st;
}
