/* policy.h: scaling policies evaluated by one code path: the classic policies of ENV.md, the
 * hybrid-histogram keep-alive policy (per-function series) and a trained PPO agent. Each sets the
 * target of every environment at minute t, and the environment's transition does the rest.
 *
 *     hs_policy pol = {.kind = HS_POLICY_KEEPALIVE, .keepalive = 10};
 *     hs_env_metrics m;
 *     HS_TRY(hs_policy_evaluate(&pol, &series, &cfg, t_start, t_end, &m));
 *     printf("%s: cold rate %.3f\n", hs_policy_name(&pol), hs_env_metrics_cold_rate(&m));
 */
#ifndef HYSCALE_POLICY_H
#define HYSCALE_POLICY_H

#include <stdint.h>

#include "hyscale/env.h"
#include "hyscale/ppo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hs_policy_kind {
    HS_POLICY_REACTIVE,  /* target = need[t] */
    HS_POLICY_FORECAST,  /* target = fneed[t][1] */
    HS_POLICY_MARGIN,    /* target = ceil(fneed[t][1] (1 + headroom_pct / 100)) */
    HS_POLICY_KEEPALIVE, /* target = max(need[t - keepalive + 1 .. t]) */
    HS_POLICY_STATIC,    /* target = ceil(S), or level[j] */
    HS_POLICY_HISTOGRAM, /* warm[t + 1] ? max(1, need[t]) : 0 */
    HS_POLICY_PPO        /* the agent's most likely action */
} hs_policy_kind;

typedef struct hs_policy {
    hs_policy_kind kind;
    int headroom_pct;     /* HS_POLICY_MARGIN: headroom over the forecast in percent (10 * the
                           * action set's tenths for the validated setting; 0-100 in the sweep) */
    int keepalive;        /* HS_POLICY_KEEPALIVE: minutes (10) */
    const int32_t *level; /* HS_POLICY_STATIC: (K) each series' target; NULL: ceil(S) (static-p99) */
    const uint8_t *warm;  /* HS_POLICY_HISTOGRAM: (K, N) 1 when an instance is loaded in minute t */
    hs_ppo *agent;        /* HS_POLICY_PPO (borrowed); evaluate it with the action mode it was
                           * trained with in the environment configuration */
} hs_policy;

/* "reactive", "forecast", "forecast+margin", "keepalive-10", "static-p99", "hybrid-histogram",
 * "ppo" (ENV.md's names). */
const char *hs_policy_name(const hs_policy *p);

/* Targets (E) of the policy for the environments' current minutes. */
hs_status hs_policy_targets(const hs_policy *p, const hs_envs *v, int32_t *targets);

/* Replays [t_start, t_end] of every series once with the policy; out sums all of them. */
hs_status hs_policy_evaluate(const hs_policy *p, const hs_env_series *s, const hs_env_config *cfg, int64_t t_start,
                             int64_t t_end, hs_env_metrics *out);

/* The forecast+margin policy's headroom: the action whose fixed margin gives the best mean reward
 * on [t_start, t_end] (the validation span), as its percent. */
hs_status hs_policy_best_margin(const hs_env_series *s, const hs_env_config *cfg, int64_t t_start, int64_t t_end,
                                int *headroom_pct);

/* The static policy's levels at percentile q: level[j] = ceil(max(1, q-th percentile of need over
 * series j's training span)) (q = 99 gives static-p99's ceil(S)). level (K) is the caller's. */
hs_status hs_policy_static_levels(const hs_env_series *s, double q, int32_t *level);

#ifdef __cplusplus
}
#endif
#endif
