/* env_seam.h: the environment's backend seam. A backend keeps E environments (ENV.md version 1)
 * in its own memory (the CPU's is hs_envs in host memory; a GPU's would be device arrays of the
 * same structure) and fills every operation; the PPO backend of the same device steps them
 * without a copy (ppo_seam.h). Only small things cross the seam: targets or actions (E) in,
 * observations (E, O) and metrics out when a caller asks.
 *
 *     const hs_env_ops *ops = hs_env_cpu_ops();
 *     void *ctx;
 *     HS_TRY(ops->create(&ctx, &series, E, &cfg));   // training mode, auto-reset
 *     HS_TRY(ops->step_actions(ctx, actions));       // actions (E), host memory
 *     HS_TRY(ops->observe(ctx, obs));                // (E, O) into host memory
 *     HS_TRY(ops->take_finished(ctx, &m, &n));       // the episodes ended since the last take
 *     ops->destroy(ctx);
 *
 * Shapes: E environments, O = 23 observations, K series of N minutes. Backends include only
 * public headers and this one. */
#ifndef HYSCALE_BACKEND_ENV_SEAM_H
#define HYSCALE_BACKEND_ENV_SEAM_H

#include "hyscale/env.h"

typedef struct hs_env_ops {
    const char *name; /* the device: "cpu" */
    /* E environments in training mode over the training span of s (borrowed: it outlives the
     * context): environment e replays series e mod K and draws its episodes from the Philox
     * stream (cfg->seed, cfg->first_stream + e); an ended episode resets itself. Errors: a span
     * too short for an episode. Free with destroy. */
    hs_status (*create)(void **ctx, const hs_env_series *s, int64_t E, const hs_env_config *cfg);
    /* one environment per series replaying [t_start, t_end] once, from p = need[t_start] */
    hs_status (*create_replay)(void **ctx, const hs_env_series *s, const hs_env_config *cfg, int64_t t_start,
                               int64_t t_end);
    /* the backend's environments as host environments stand (state, counters and running sums);
     * the CPU borrows host itself. release copies the state back into host and ends the
     * context (host stays the caller's). */
    hs_status (*adopt)(void **ctx, hs_envs *host);
    hs_status (*release)(void *ctx, hs_envs *host);
    /* every environment anew: training draws each one's next episode, replay goes back to
     * t_start; the running sums restart, `finished` is kept */
    hs_status (*reset)(void *ctx);
    /* one step of every environment with targets (E) or actions (E) of the configured mode, in
     * host memory; training mode auto-resets ended episodes (in environment order) */
    hs_status (*step_targets)(void *ctx, const int32_t *targets);
    hs_status (*step_actions)(void *ctx, const int32_t *actions);
    /* the observations (E, O) at each environment's minute, into host memory */
    hs_status (*observe)(void *ctx, float *obs);
    /* the sums over the episodes ended since the last take and their count, then zeroes them */
    hs_status (*take_finished)(void *ctx, hs_env_metrics *m, int64_t *count);
    /* the running sums (E) of each environment (replay: the whole span so far), into host memory */
    hs_status (*sums)(void *ctx, hs_env_metrics *out);
    int64_t (*count)(const void *ctx); /* E */
    void (*destroy)(void *ctx);        /* of create or create_replay; NULL does nothing */
} hs_env_ops;

/* The CPU backend (src/backend/cpu/env_cpu.c): its context is an hs_envs. */
const hs_env_ops *hs_env_cpu_ops(void);
/* The CUDA backend (src/backend/cuda/env_cuda.c, kernels/env_step.cu): the environments resident
 * on the current device; NULL in a build without CUDA (src/backend/nocuda.c). Its calls need a
 * device (HS_ERR_DEVICE naming the CUDA error otherwise). */
const hs_env_ops *hs_env_cuda_ops(void);

#endif
