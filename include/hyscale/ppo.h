/* ppo.h: PPO for the autoscaling environment: the actor and critic MLPs in one flat parameter
 * buffer and the agent, whose backend (src/backend/ppo_seam.h) keeps the parameters, the Adam
 * state and the rollout in its own memory and steps the environments there; the training loop
 * is written once above that seam.
 *
 *     hs_ppo_config pc = HS_PPO_CONFIG_DEFAULTS;
 *     hs_ppo *agent;
 *     HS_TRY(hs_ppo_create(&agent, &pc, HS_DEVICE_CPU));       // orthogonal initialisation
 *     hs_ppo_history hist;
 *     HS_TRY(hs_ppo_train(agent, &envs, &hist));                 // rollouts, GAE, updates
 *     HS_TRY(hs_ppo_act(agent, envs.obs, envs.E, 1, actions));   // greedy actions
 *     hs_ppo_history_free(&hist);
 *     hs_ppo_free(agent);
 *
 * Shapes: E environments, T rollout steps, B minibatch, A = 9 actions, O = 23 observations,
 * H = 64 hidden units. Each MLP is O -> H -> H -> out with tanh; the actor's out is A logits,
 * the critic's 1 value.
 */
#ifndef HYSCALE_PPO_H
#define HYSCALE_PPO_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "hyscale/backend.h"
#include "hyscale/env.h"
#include "hyscale/math/adam.h"
#include "hyscale/math/ppo_loss.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_ppo_config {
    int hidden;              /* H */
    int64_t envs;            /* E */
    int64_t steps;           /* T per rollout */
    int64_t total_steps;     /* environment steps in all (E * T per update) */
    int epochs, minibatches; /* 4 epochs of 8 minibatches */
    float gamma, lambda;     /* GAE */
    hs_ppo_coefs coefs;      /* clip 0.2, value 0.5, entropy 0.01 */
    float lr, adam_eps, max_grad_norm;
    int anneal;              /* 1: learning rate falls linearly to 0 */
    uint64_t seed;
    int quiet;
    int actions;             /* A: 9 (margin mode) or 5 (delta mode) */
    float beta1, beta2;      /* Adam's betas: torch's 0.9 and 0.999 */
    int obs;                 /* O: the observation size of the ENV version (23; 33 for version 2) */
    int norm_reward;         /* 1: the learner sees rewards divided by the running standard deviation of
                              * each environment's discounted return (math/moments.h); 0: as stepped */
} hs_ppo_config;

#define HS_PPO_CONFIG_DEFAULTS                                                                                         \
    {64, 64, 128, 5000000, 4, 8, 0.99f, 0.95f, {0.2f, 0.5f, 0.01f}, 3e-4f, 1e-5f, 0.5f, 0, 1, 0, HS_ENV_ACTIONS,        \
     HS_ADAM_BETA1, HS_ADAM_BETA2, HS_ENV_OBS, 0}

/* Offsets (in floats) of each tensor in the flat buffer; weights are (out, in) row-major like
 * torch.nn.Linear. Actor first, then critic. */
typedef struct hs_mlp_layout {
    int64_t obs, hidden, actions;
    int64_t a_w1, a_b1, a_w2, a_b2, a_w3, a_b3; /* (H,O) (H) (H,H) (H) (A,H) (A) */
    int64_t c_w1, c_b1, c_w2, c_b2, c_w3, c_b3; /* (H,O) (H) (H,H) (H) (1,H) (1) */
    int64_t total;
} hs_mlp_layout;

hs_mlp_layout hs_mlp_layout_make(int64_t obs, int64_t hidden, int64_t actions);

/* Orthogonal initialisation (gain sqrt 2 for hidden layers, 0.01 for the policy head, 1 for
 * the value head; biases 0) of params (total), from the stream of seed. */
void hs_mlp_init_orthogonal(const hs_mlp_layout *l, float *params, uint64_t seed);

/* A minibatch of B samples, gathered by the training loop. */
typedef struct hs_ppo_minibatch {
    int64_t B;
    const float *obs;      /* (B, O) */
    const int32_t *action; /* (B) */
    const float *logp;     /* (B) log-probability under the rollout's policy */
    const float *adv;      /* (B) GAE advantages (normalised inside the update) */
    const float *ret;      /* (B) returns: advantages + values */
} hs_ppo_minibatch;

/* Means over one minibatch (or accumulated over an update). */
typedef struct hs_ppo_stats {
    double loss, pg_loss, value_loss, entropy, approx_kl, clip_frac, grad_norm;
} hs_ppo_stats;

/* ---- the CPU reference (also used by tests) ------------------------------------------------ */

/* Workspace for batches up to max_b; one allocation. */
typedef struct hs_mlp_work hs_mlp_work;
hs_status hs_mlp_work_create(hs_mlp_work **w, const hs_mlp_layout *l, int64_t max_b);
void hs_mlp_work_free(hs_mlp_work *w);

/* Forward of both MLPs over B observations: logits (B, A), values (B). Either may be NULL. */
void hs_mlp_forward_cpu(const hs_mlp_layout *l, const float *params, const float *obs, int64_t B, float *logits,
                        float *values, hs_mlp_work *w);
/* The loss of a minibatch and its gradient (total floats) with respect to params; returns the
 * loss and fills st (grad_norm excluded). Advantages are normalised here, per minibatch. */
double hs_ppo_loss_grad_cpu(const hs_mlp_layout *l, const float *params, const hs_ppo_minibatch *mb, hs_ppo_coefs k,
                            float *grad, hs_ppo_stats *st, hs_mlp_work *w);

/* ---- the agent ------------------------------------------------------------------------------ */

typedef struct hs_ppo hs_ppo;

/* An agent with freshly initialised weights on the device. Free with hs_ppo_free. */
hs_status hs_ppo_create(hs_ppo **out, const hs_ppo_config *cfg, hs_device dev);
void hs_ppo_free(hs_ppo *p);
const hs_mlp_layout *hs_ppo_layout(const hs_ppo *p);
const hs_ppo_config *hs_ppo_get_config(const hs_ppo *p);
/* Copies the parameters (total floats) out of or into the agent. */
hs_status hs_ppo_get_params(hs_ppo *p, float *out);
hs_status hs_ppo_set_params(hs_ppo *p, const float *in);

/* Actions (E) for observations (E, O): the most likely when greedy, else sampled from the stream
 * (seed, 1 << 32 | e) at draw `counter`. logp and values (E) may be NULL. */
hs_status hs_ppo_act(hs_ppo *p, const float *obs, int64_t E, int greedy, uint64_t counter, int32_t *actions,
                     float *logp, float *values);

/* The agent's backend (src/backend/ppo_seam.h) and its context, both the agent's: for the
 * training loop and for tests that drive the seam. */
struct hs_ppo_ops;
const struct hs_ppo_ops *hs_ppo_backend(hs_ppo *p, void **ctx);

/* One update over a rollout batch of E*T samples (4 epochs of 8 minibatches). */
hs_status hs_ppo_update(hs_ppo *p, const float *obs, const int32_t *action, const float *logp, const float *adv,
                        const float *ret, int64_t n, float lr, hs_ppo_stats *st);

/* GAE over a rollout: rewards, values, dones (T, E) and the values after the last step (E) into
 * advantages and returns (T, E). The plain reference loop (the CPU backend's). */
void hs_ppo_gae(const float *rewards, const float *values, const uint8_t *dones, const float *last_values, int64_t T,
                int64_t E, float gamma, float lambda, float *adv, float *ret);

/* The learning curve: one row per update. */
typedef struct hs_ppo_history {
    int64_t n;               /* updates */
    int64_t *env_steps;      /* (n) environment steps so far */
    double *seconds;         /* (n) wall time so far */
    double *episode_reward;  /* (n) mean reward of the episodes ended in that rollout (NaN: none) */
    double *cold_rate;       /* (n) of those episodes */
    double *idle_ratio;      /* (n) idle / need of those episodes */
    double *loss, *entropy, *approx_kl; /* (n) update statistics */
    double steps_per_second; /* over the whole run */
} hs_ppo_history;

void hs_ppo_history_free(hs_ppo_history *h);

/* Trains on envs (training mode) for cfg->total_steps environment steps: the agent's backend
 * adopts envs (the CPU's steps them in place; another copies their state in and back out), so
 * envs ends where the last rollout left it, its `finished` taken. */
hs_status hs_ppo_train(hs_ppo *p, hs_envs *envs, hs_ppo_history *hist);


/* ---- the policy file ------------------------------------------------------------------------ */

/* ppo_policy.safetensors: the tensors of both MLPs under PyTorch's nn.Sequential names
 * (actor.0.weight ... critic.4.bias, F32) and `__metadata__` with format "hyscale-ppo-v1",
 * env_version, obs, actions, hidden, forecaster, action_mode, env_series and the training
 * configuration. meta (strings only, may be NULL) is added to those. */
hs_status hs_ppo_policy_write(FILE *f, const char *path, const hs_mlp_layout *l, const float *params,
                              const char *forecaster, hs_env_action_mode mode, const char *env_series,
                              const cJSON *meta);

typedef struct hs_ppo_policy_file {
    hs_mlp_layout l;
    float *params;          /* (l.total) */
    char forecaster[16];
    char env_series[16];    /* "aggregate" or "functions" */
    hs_env_action_mode mode;
    int env_version;        /* 1 (ENV.md) or 2 (docs/ENV-v2.md: obs 33) */
    cJSON *metadata;        /* the file's metadata object */
} hs_ppo_policy_file;

/* Reads and checks a policy file: errors for another ENV version, another observation size or
 * action count, missing or misshapen tensors. Free with hs_ppo_policy_file_free. */
hs_status hs_ppo_policy_read(const char *path, hs_ppo_policy_file *out);
void hs_ppo_policy_file_free(hs_ppo_policy_file *f);

#ifdef __cplusplus
}
#endif
#endif
