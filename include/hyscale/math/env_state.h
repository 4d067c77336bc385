/* env_state.h: E environments as flat arrays, and one environment's reset, step and observation
 * over them: written once (HS_HD), so the CPU loops (src/backend/cpu/env_cpu.c, over hs_envs in
 * host memory) and the CUDA kernels (kernels/env_step.cu, over the same arrays on the device)
 * step, draw and observe the same way, bit for bit in the integer state.
 *
 *     hs_env_arrays a = hs_envs_arrays(&v);          // a view of hs_envs (env.h), or device arrays
 *     hs_env_step_at(&a, e, hs_env_target_at(&a, e, action));
 *     if (!a.replay && a.done[e]) hs_env_reset_at(&a, e);   // after adding sums[e] to the finished
 *
 * The series rows are K series of N minutes (hs_env_series); the state is E entries each. Pure:
 * no allocation, no I/O.
 */
#ifndef HYSCALE_MATH_ENV_STATE_H
#define HYSCALE_MATH_ENV_STATE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "hyscale/env.h"
#include "hyscale/math/env_step.h"
#include "hyscale/math/hd.h"
#include "hyscale/math/rng.h"

typedef struct hs_env_arrays {
    /* the series (read only): K rows of n minutes */
    int64_t n;
    const int32_t *need, *fneed, *fneed1, *err; /* (K, n), fneed (K, n, 8) or NULL */
    const float *S, *rms, *time_feat;           /* (K), (K, n), (n, 4) */
    const int32_t *pmax, *step;                 /* (K) */
    /* the configuration */
    int version, mode, replay, O;
    hs_env_weights w;
    uint64_t seed, first_stream;
    double w_idle_lo, w_idle_hi;
    int64_t L, lo, hi, t_end; /* episode length, training starts in [lo, hi]; replay's last minute */
    /* the state (E each) */
    int32_t *series, *t, *p, *steps, *cold, *idle;
    int64_t *episode;
    hs_env_metrics *sums;
    float *obs, *w_idle, *reward;
    uint8_t *done;
} hs_env_arrays;

/* Environment e's observation at its minute into obs[e * O ..]. */
static inline HS_HD void hs_env_observe_at(const hs_env_arrays *a, int64_t e)
{
    int64_t j = a->series[e], t = a->t[e];
    float *obs = a->obs + e * a->O;
    hs_env_observe(obs, a->need + j * a->n, a->fneed ? a->fneed + j * a->n * HS_ENV_FC : NULL, t, a->p[e], a->S[j],
                   a->cold[e], a->idle[e], a->time_feat + t * 4);
    if (a->version == HS_ENV_V2)
        hs_env_observe_v2(obs, a->err + j * a->n, a->rms + j * a->n, t, a->S[j], a->w_idle[e]);
}

/* a += b, field by field (hs_env_metrics_add of env.h is this). */
static inline HS_HD void hs_env_metrics_accumulate(hs_env_metrics *a, const hs_env_metrics *b)
{
    a->steps += b->steps;
    a->cold += b->cold;
    a->idle += b->idle;
    a->change += b->change;
    a->need += b->need;
    a->reward += b->reward;
}

/* Environment e at minute t0 from p = need[t0], nothing counted yet; then its observation. */
static inline HS_HD void hs_env_start_at(hs_env_arrays *a, int64_t e, int64_t t0)
{
    a->t[e] = (int32_t)t0;
    a->p[e] = a->need[(int64_t)a->series[e] * a->n + t0];
    a->steps[e] = 0;
    a->cold[e] = a->idle[e] = 0;
    hs_env_metrics z = {0, 0, 0, 0, 0, 0.0};
    a->sums[e] = z;
    hs_env_observe_at(a, e);
}

/* Training: environment e's next episode, t0 uniform in [lo, hi] from the stream (seed,
 * first_stream + e) at the counter of its episodes (version 2: its idle weight, log-uniform in
 * [w_idle_lo, w_idle_hi], from the same draw); the running sums restart; then its observation. */
static inline HS_HD void hs_env_reset_at(hs_env_arrays *a, int64_t e)
{
    hs_u32x4 r = hs_rng_u32x4(a->seed, a->first_stream + (uint64_t)e, (uint64_t)a->episode[e]);
    double u = hs_u64_to_unit(r.v[0], r.v[1]);
    int64_t span = a->hi - a->lo + 1;
    int64_t t0 = a->lo + (int64_t)(u * (double)span);
    if (t0 > a->hi)
        t0 = a->hi;
    a->episode[e]++;
    if (a->version == HS_ENV_V2) {
        double u2 = hs_u64_to_unit(r.v[2], r.v[3]), lo = log(a->w_idle_lo), hi = log(a->w_idle_hi);
        a->w_idle[e] = (float)exp(lo + u2 * (hi - lo));
    }
    hs_env_start_at(a, e, t0);
}

/* Replay: environment e back at t_start = t_end - L, from p = need[t_start]. */
static inline HS_HD void hs_env_replay_reset_at(hs_env_arrays *a, int64_t e) { hs_env_start_at(a, e, a->t_end - a->L); }

/* The target of action a (0 <= a < the mode's count) for environment e at its minute. */
static inline HS_HD int32_t hs_env_target_at(const hs_env_arrays *a, int64_t e, int32_t action)
{
    int64_t j = a->series[e];
    if (a->mode == HS_ENV_DELTA)
        return hs_env_delta_target(a->p[e], action, a->step[j], a->pmax[j]);
    return hs_env_margin_target(a->fneed1[j * a->n + a->t[e]], action, a->pmax[j]);
}

/* One step of environment e with target (clamped to [0, P_max]): the transition, the counters
 * and running sums, done (training: the episode's L steps; replay: t_end reached), and the
 * observation unless a training episode ended (its reset observes). A replay at t_end stays. */
static inline HS_HD void hs_env_step_at(hs_env_arrays *a, int64_t e, int32_t target)
{
    a->done[e] = 0;
    if (a->replay && a->t[e] >= a->t_end) {
        a->reward[e] = 0.0f;
        return;
    }
    int64_t j = a->series[e];
    int32_t n = a->need[j * a->n + a->t[e] + 1];
    hs_env_weights w = a->w;
    w.w_idle = a->w_idle[e];
    hs_env_out o = hs_env_transition(&a->p[e], hs_env_clamp(target, a->pmax[j]), n, a->S[j], w);
    a->t[e]++;
    a->steps[e]++;
    a->cold[e] = o.cold;
    a->idle[e] = o.idle;
    a->reward[e] = o.reward;
    hs_env_metrics *m = &a->sums[e];
    m->steps++;
    m->cold += o.cold;
    m->idle += o.idle;
    m->change += o.change;
    m->need += n;
    m->reward += o.reward;
    if (a->replay ? a->t[e] >= a->t_end : a->steps[e] >= a->L)
        a->done[e] = 1;
    if (a->replay || !a->done[e])
        hs_env_observe_at(a, e);
}

#endif
