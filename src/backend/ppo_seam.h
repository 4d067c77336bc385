/* ppo_seam.h: PPO's backend seam, resident like the LSTM's (hs_lstm_resident): a backend owns
 * the parameters, their gradient, the Adam moments and the rollout buffers in its own memory and
 * steps the environments of the same device (env_seam.h) without copying observations or logits
 * out. The training loop (src/scale/ppo_train.c) is written once over these operations and reads
 * back only the update's statistics and the ended episodes' metrics, once an update.
 *
 *     const hs_ppo_ops *ops = hs_ppo_cpu_ops();
 *     void *ctx, *envs;
 *     HS_TRY(ops->create(&ctx, &layout, &cfg, init_params, max_b));
 *     HS_TRY(ops->env()->adopt(&envs, &host_envs));
 *     HS_TRY(ops->bind(ctx, envs, T));
 *     for each update:
 *         HS_TRY(ops->rollout(ctx, counter));  counter += T;   // act + step, T times
 *         HS_TRY(ops->gae(ctx, gamma, lambda));
 *         HS_TRY(ops->update(ctx, lr, &stats));                  // epochs x minibatches
 *         HS_TRY(ops->env()->take_finished(envs, &m, &n));
 *     HS_TRY(ops->unbind(ctx));
 *     HS_TRY(ops->env()->release(envs, &host_envs));
 *     ops->destroy(ctx);
 *
 * Shapes: E environments, T rollout steps, B minibatch, O = 23 observations, A actions,
 * H hidden. Rollout buffers are (T, E) step-major, observations (T, E, O). Backends include
 * only public headers and the seam headers. */
#ifndef HYSCALE_BACKEND_PPO_SEAM_H
#define HYSCALE_BACKEND_PPO_SEAM_H

#include "backend/env_seam.h"
#include "hyscale/ppo.h"

/* Host copies of a bound rollout (read_rollout); any pointer may be NULL. */
typedef struct hs_ppo_rollout {
    float *obs;        /* (T, E, O) observation each action was taken on */
    int32_t *action;   /* (T, E) */
    float *logp;       /* (T, E) log-probability of the action under the rollout's policy */
    float *value;      /* (T, E) critic's value */
    float *reward;     /* (T, E) */
    uint8_t *done;     /* (T, E) 1 when that step ended an episode */
    float *last_value; /* (E) value after the last step */
    float *adv, *ret;  /* (T, E) GAE advantages and returns (after gae) */
} hs_ppo_rollout;

typedef struct hs_ppo_ops {
    const char *name;       /* the device: "cpu" */
    const hs_env_ops *(*env)(void); /* the environment backend whose contexts bind takes */
    /* parameters (l->total, host memory) copied in; batches of up to max_b samples. Free with
     * destroy (NULL does nothing). */
    hs_status (*create)(void **ctx, const hs_mlp_layout *l, const hs_ppo_config *cfg, const float *params,
                        int64_t max_b);
    void (*destroy)(void *ctx);
    /* the parameters (total floats) out of or into host memory */
    hs_status (*get_params)(void *ctx, float *out);
    hs_status (*set_params)(void *ctx, const float *in);
    /* actions (E) for host observations (E, O), greedy or sampled from the stream
     * (seed, 1 << 32 | e) at draw `counter` (hs_ppo_act); logp and values (E) may be NULL */
    hs_status (*act)(void *ctx, const float *obs, int64_t E, int greedy, uint64_t counter, int32_t *actions,
                     float *logp, float *values);
    /* one update over n host samples (hs_ppo_update): the same epochs and minibatches as update */
    hs_status (*update_host)(void *ctx, const float *obs, const int32_t *action, const float *logp,
                             const float *adv, const float *ret, int64_t n, float lr, hs_ppo_stats *st);

    /* ---- resident training ---- */
    /* the environments (a context of ops->env(), E = cfg.envs, borrowed until unbind) and rollout
     * buffers of T steps in the backend's memory (allocated here, once) */
    hs_status (*bind)(void *ctx, void *envs, int64_t T);
    /* T steps: each observes, acts (sampled at draws counter + t), steps the environments and
     * records obs, action, logp, value, reward and done; then the values after the last step.
     * With cfg.norm_reward the recorded reward is the scaled one (math/moments.h): each
     * environment's discounted return, kept across rollouts and restarted at each bind, joins
     * the running moments after every step */
    hs_status (*rollout)(void *ctx, uint64_t counter);
    /* advantages and returns of the rollout (hs_ppo_gae) */
    hs_status (*gae)(void *ctx, float gamma, float lambda);
    /* the update over the rollout's E T samples: per epoch a fresh permutation (Fisher-Yates from
     * the stream (seed, 2 << 32 + epochs drawn)), per minibatch gather, loss and gradient, joint
     * clipping at max_grad_norm, one Adam step at lr; st: the means over the minibatches */
    hs_status (*update)(void *ctx, float lr, hs_ppo_stats *st);
    /* host copies of the bound rollout's buffers (tests, parity checks) */
    hs_status (*read_rollout)(void *ctx, const hs_ppo_rollout *out);
    /* forgets the environments; the buffers stay for the next bind */
    hs_status (*unbind)(void *ctx);
} hs_ppo_ops;

/* The CPU backend (src/backend/cpu/ppo_cpu.c, math in mlp_cpu.c), over hs_env_cpu_ops. */
const hs_ppo_ops *hs_ppo_cpu_ops(void);

#endif
