/* policy.c: the classic scaling policies of ENV.md, the hybrid-histogram policy's targets and a
 * trained agent, all evaluated by one replay loop over the environment's transition. */
#include "hyscale/policy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *hs_policy_name(const hs_policy *p)
{
    switch (p->kind) {
    case HS_POLICY_REACTIVE:
        return "reactive";
    case HS_POLICY_FORECAST:
        return "forecast";
    case HS_POLICY_MARGIN:
        return "forecast+margin";
    case HS_POLICY_KEEPALIVE:
        return "keepalive-10";
    case HS_POLICY_STATIC:
        return "static-p99";
    case HS_POLICY_HISTOGRAM:
        return "hybrid-histogram";
    case HS_POLICY_PPO:
        return "ppo";
    }
    return "?";
}

hs_status hs_policy_targets(const hs_policy *p, const hs_envs *v, int32_t *targets)
{
    const hs_env_series *s = v->s;
    if (p->kind == HS_POLICY_PPO) {
        int32_t *act = targets; /* actions first, then mapped in place by the environment's mode */
        HS_TRY(hs_ppo_act(p->agent, v->obs, v->E, 1, 0, act, NULL, NULL));
        hs_envs_targets_from_actions(v, act, targets);
        return HS_OK;
    }
    for (int64_t e = 0; e < v->E; e++) {
        int64_t j = v->series[e], t = v->t[e];
        const int32_t *need = s->need + j * s->n;
        int32_t f1 = s->fneed1[j * s->n + t];
        int64_t x = 0;
        switch (p->kind) {
        case HS_POLICY_REACTIVE:
            x = need[t];
            break;
        case HS_POLICY_FORECAST:
            x = f1;
            break;
        case HS_POLICY_MARGIN:
            x = hs_env_headroom_target(f1, p->headroom_pct, s->pmax[j]);
            break;
        case HS_POLICY_KEEPALIVE:
            for (int64_t i = t - p->keepalive + 1; i <= t; i++)
                if (i >= 0 && need[i] > x)
                    x = need[i];
            break;
        case HS_POLICY_STATIC:
            x = p->level ? p->level[j] : (int64_t)ceilf(s->S[j]);
            break;
        case HS_POLICY_HISTOGRAM:
            x = p->warm[j * s->n + t + 1] ? (need[t] > 1 ? need[t] : 1) : 0;
            break;
        case HS_POLICY_PPO:
            break;
        }
        targets[e] = hs_env_clamp(x, s->pmax[j]);
    }
    return HS_OK;
}

hs_status hs_policy_evaluate(const hs_policy *p, const hs_env_series *s, const hs_env_config *cfg, int64_t t_start,
                             int64_t t_end, hs_env_metrics *out)
{
    memset(out, 0, sizeof *out);
    hs_envs v;
    HS_TRY(hs_envs_init_replay(&v, s, cfg, t_start, t_end));
    hs_status st = HS_OK;
    while (st == HS_OK && !hs_envs_replay_done(&v)) {
        st = hs_policy_targets(p, &v, v.target);
        if (st == HS_OK)
            hs_envs_step(&v, v.target);
    }
    for (int64_t e = 0; st == HS_OK && e < v.E; e++)
        hs_env_metrics_add(out, &v.sums[e]);
    hs_envs_free(&v);
    return st;
}

hs_status hs_policy_best_margin(const hs_env_series *s, const hs_env_config *cfg, int64_t t_start, int64_t t_end,
                                int *headroom_pct)
{
    double best = -INFINITY;
    *headroom_pct = 0;
    for (int a = 0; a < HS_ENV_ACTIONS; a++) {
        hs_policy p = {.kind = HS_POLICY_MARGIN, .headroom_pct = 10 * hs_env_margin_tenths(a)};
        hs_env_metrics m;
        HS_TRY(hs_policy_evaluate(&p, s, cfg, t_start, t_end, &m));
        if (m.reward > best) {
            best = m.reward;
            *headroom_pct = p.headroom_pct;
        }
    }
    return HS_OK;
}

hs_status hs_policy_static_levels(const hs_env_series *s, double q, int32_t *level)
{
    float *x = malloc((size_t)(s->n_train > 0 ? s->n_train : 1) * sizeof *x);
    if (!x)
        return hs_error_set(HS_ERR_NOMEM, "policy: out of memory");
    for (int64_t j = 0; j < s->k; j++) /* as S is made: q = 99 gives ceil(S) */
        level[j] = hs_env_clamp((int64_t)ceilf(hs_env_need_quantile(s->need + j * s->n, s->n_train, q, x)), s->pmax[j]);
    free(x);
    return HS_OK;
}
