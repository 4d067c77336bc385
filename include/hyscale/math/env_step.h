/* env_step.h: the per-environment math of the autoscaling environment, ENV.md version 1: the
 * action-to-target maps, the transition and reward, and the observation. Written once, shared by
 * the CPU loops (src/scale/env.c) and the CUDA kernels, so both step the same way.
 *
 *     int32_t target = hs_env_margin_target(fneed1, a, pmax);
 *     hs_env_out o = hs_env_transition(&p, target, need[t + 1], S, w);
 *
 * Instance counts are int32; the scale S is a float. The margin action's target is computed in
 * integers (headroom in tenths), so that ceil(10 * 1.1) is 11 and not 12 as 10 * 1.1f would give.
 */
#ifndef HYSCALE_MATH_ENV_STEP_H
#define HYSCALE_MATH_ENV_STEP_H

#include <math.h>
#include <stdint.h>

#include "hyscale/math/calendar.h"
#include "hyscale/math/hd.h"

#define HS_ENV_VERSION 1
#define HS_ENV_OBS 23    /* observation size */
/* ENV version 2 (docs/ENV-v2.md): version 1's observation and transition, plus the forecaster's
 * recent one-step errors, their RMS over an hour, and the idle cost weight as an input (drawn per
 * episode in training, so one agent traces the whole trade-off). */
#define HS_ENV_V2 2
#define HS_ENV_OBS_V2 33
#define HS_ENV_ERR_WINDOW 60 /* minutes of errors in the RMS */
#define HS_ENV_OBS_MAX HS_ENV_OBS_V2
#define HS_ENV_ACTIONS 9       /* margin actions */
#define HS_ENV_DELTA_ACTIONS 5 /* delta actions: k = a - 2 in {-2..2} */
#define HS_ENV_HIST 8    /* need[t-7..t] */
#define HS_ENV_FC 8      /* fneed[t][1..8] */

typedef struct hs_env_weights {
    float w_cold, w_idle, w_change;
} hs_env_weights;

typedef struct hs_env_out {
    int32_t cold, idle, change;
    float reward;
} hs_env_out;

/* need = ceil(d / c): the instances minute demand d needs (ENV.md), for the environment and
 * the service alike. */
static inline HS_HD int32_t hs_env_need(float d, double c)
{
    return (int32_t)ceil((double)d / c);
}

/* fneed = ceil(max(F, 0) / c): the instances a forecast F asks for. */
static inline HS_HD int32_t hs_env_fneed(float F, double c)
{
    return (int32_t)ceil((double)(F > 0.0f ? F : 0.0f) / c);
}

/* Headroom of action a in tenths: m = {-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3, 0.5, 1.0}[a]. */
static inline HS_HD int32_t hs_env_margin_tenths(int a)
{
    const int32_t m[HS_ENV_ACTIONS] = {-3, -2, -1, 0, 1, 2, 3, 5, 10};
    return m[a];
}

static inline HS_HD int32_t hs_env_clamp(int64_t x, int32_t pmax)
{
    return x < 0 ? 0 : x > pmax ? pmax : (int32_t)x;
}

/* target = clamp(ceil(fneed1 * (1 + pct / 100)), 0, P_max), exactly, for fneed1 >= 0 and
 * pct >= -100: the forecast+margin policy at any whole-percent headroom (the swept front). */
static inline HS_HD int32_t hs_env_headroom_target(int32_t fneed1, int32_t pct, int32_t pmax)
{
    int64_t num = (int64_t)fneed1 * (100 + pct); /* >= 0 */
    return hs_env_clamp((num + 99) / 100, pmax);
}

/* target = clamp(ceil(fneed1 * (1 + m)), 0, P_max), exactly, for fneed1 >= 0. */
static inline HS_HD int32_t hs_env_margin_target(int32_t fneed1, int a, int32_t pmax)
{
    return hs_env_headroom_target(fneed1, 10 * hs_env_margin_tenths(a), pmax);
}

/* Delta mode: target = clamp(p + k * step, 0, P_max) with k = a - 2 in {-2..2}. */
static inline HS_HD int32_t hs_env_delta_target(int32_t p, int a, int32_t step, int32_t pmax)
{
    return hs_env_clamp((int64_t)p + (int64_t)(a - 2) * step, pmax);
}

/* The transition from minute t to t+1 with n = need[t+1]; updates *p. */
static inline HS_HD hs_env_out hs_env_transition(int32_t *p, int32_t target, int32_t n, float S, hs_env_weights w)
{
    hs_env_out o;
    int32_t p_new = target;
    o.cold = n > p_new ? n - p_new : 0;
    o.idle = p_new > n ? p_new - n : 0;
    o.change = p_new > *p ? p_new - *p : *p - p_new;
    o.reward = -(w.w_cold * (float)o.cold + w.w_idle * (float)o.idle + w.w_change * (float)o.change) / S;
    *p = p_new > n ? p_new : n;
    return o;
}

/* The observation size of an ENV version (1 or 2). */
static inline HS_HD int hs_env_obs_size(int version)
{
    return version == HS_ENV_V2 ? HS_ENV_OBS_V2 : HS_ENV_OBS;
}

/* Observation entries 17..20 for minute index t >= 0: sin and cos of the minute of the day and of
 * the day of the week, counted from the series' first day (math/calendar.h), into tf (4). */
static inline HS_HD void hs_env_time_features(int64_t t, float *tf)
{
    const float two_pi = (float)HS_CAL_TWO_PI;
    hs_cal_day d = hs_cal_split(t, HS_CAL_MINUTES_PER_DAY);
    float day = two_pi * (float)d.within / (float)HS_CAL_MINUTES_PER_DAY;
    float week = two_pi * (float)hs_cal_weekday(d.day, HS_CAL_SERIES_WEEKDAY0) / (float)HS_CAL_DAYS_PER_WEEK;
    tf[0] = sinf(day);
    tf[1] = cosf(day);
    tf[2] = sinf(week);
    tf[3] = cosf(week);
}

/* The 23-float observation at minute t. need (N) and fneed (N, 8) are one series' rows;
 * fneed is NULL with no forecaster. cold and idle come from the step that led to t. tf holds
 * hs_env_time_features of t (precomputed per minute), or is NULL to compute them here. */
static inline HS_HD void hs_env_observe(float *obs, const int32_t *need, const int32_t *fneed, int64_t t, int32_t p,
                                        float S, int32_t cold, int32_t idle, const float *tf)
{
    float inv = 1.0f / S;
    obs[0] = (float)p * inv;
    for (int i = 0; i < HS_ENV_HIST; i++) {
        int64_t j = t - (HS_ENV_HIST - 1) + i;
        obs[1 + i] = j >= 0 ? (float)need[j] * inv : 0.0f;
    }
    for (int k = 0; k < HS_ENV_FC; k++)
        obs[1 + HS_ENV_HIST + k] = fneed ? (float)fneed[t * HS_ENV_FC + k] * inv : 0.0f;
    if (tf) {
        for (int i = 0; i < 4; i++)
            obs[17 + i] = tf[i];
    } else {
        hs_env_time_features(t, obs + 17);
    }
    obs[21] = (float)cold * inv;
    obs[22] = (float)idle * inv;
}

/* ENV v2's entries 23..32 after hs_env_observe's 23: err[t-7..t] / S (the forecaster's one-step
 * errors, err[j] = need[j] - fneed[j-1][1], 0 before the series start), rms[t] / S (their RMS over
 * the last HS_ENV_ERR_WINDOW minutes) and log10(w_idle / 0.1) (0 at version 1's weight). err and
 * rms are one series' rows. */
static inline HS_HD void hs_env_observe_v2(float *obs, const int32_t *err, const float *rms, int64_t t, float S,
                                           float w_idle)
{
    float inv = 1.0f / S;
    for (int i = 0; i < HS_ENV_HIST; i++) {
        int64_t j = t - (HS_ENV_HIST - 1) + i;
        obs[HS_ENV_OBS + i] = j >= 0 ? (float)err[j] * inv : 0.0f;
    }
    obs[HS_ENV_OBS + HS_ENV_HIST] = rms[t] * inv;
    obs[HS_ENV_OBS + HS_ENV_HIST + 1] = log10f(w_idle / 0.1f);
}

#endif
