/* nocuda.c: every CUDA entry point in a build without the CUDA backend, in one file: no device
 * answers, and each call that needs one is HS_ERR_DEVICE with a message, so callers and tests
 * need no #ifdef. With the CUDA backend the definitions come from src/backend/cuda/. */
#ifndef HS_HAVE_CUDA
#include <stddef.h>

#include "backend/env_seam.h"
#include "backend/lstm_seam.h"
#include "backend/ppo_act.h"
#include "hyscale/backend.h"
#include "hyscale/lstm.h"

#define HS_NO_CUDA "this build has no CUDA backend (configure with -DHS_CUDA=ON where nvcc is installed)"

int hs_cuda_built(void) { return 0; }
int hs_cuda_device_count(void) { return 0; }
const char *hs_cuda_device_describe(void) { return "cuda: not built"; }

hs_status hs_lstm_backend_cuda_impl(hs_lstm_impl impl, const hs_lstm_backend **out)
{
    (void)impl;
    *out = NULL;
    return hs_error_set(HS_ERR_DEVICE, "the CUDA LSTM: " HS_NO_CUDA);
}

int hs_lstm_cuda_persist_max_hidden(void) { return 0; }

const hs_env_ops *hs_env_cuda_ops(void) { return NULL; }

hs_status hs_ppo_act_cuda(const hs_mlp_layout *l, const float *params, const float *obs, int64_t E, int greedy,
                          uint64_t seed, uint64_t counter, int32_t *actions, float *logp, float *values)
{
    (void)l;
    (void)params;
    (void)obs;
    (void)E;
    (void)greedy;
    (void)seed;
    (void)counter;
    (void)actions;
    (void)logp;
    (void)values;
    return hs_error_set(HS_ERR_DEVICE, "ppo act (cuda): " HS_NO_CUDA);
}

hs_status hs_lstm_predict_cuda(hs_lstm *m, const hs_lstm_data *d, int64_t end, int steps, float pad, float *out,
                               double *seconds)
{
    (void)m;
    (void)d;
    (void)end;
    (void)steps;
    (void)pad;
    (void)out;
    (void)seconds;
    return hs_error_set(HS_ERR_DEVICE, "lstm predict (cuda): " HS_NO_CUDA);
}

#else
/* ISO C wants a translation unit to declare something */
typedef int hs_nocuda_unused;
#endif
