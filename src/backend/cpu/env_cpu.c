/* env_cpu.c: the CPU backend of the autoscaling environment (ENV.md version 1): E environments
 * as structure of arrays in host memory (hs_envs), reset, step and auto-reset, and the
 * environment seam (src/backend/env_seam.h) filled over them. The per-element math is
 * math/env_step.h; nothing is allocated inside a step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/env_seam.h"
#include "hyscale/env_rules.h"
#include "hyscale/math/rng.h"

void hs_envs_free(hs_envs *v)
{
    if (!v)
        return;
    free(v->series);
    free(v->t);
    free(v->p);
    free(v->steps);
    free(v->cold);
    free(v->idle);
    free(v->episode);
    free(v->sums);
    free(v->obs);
    free(v->reward);
    free(v->done);
    free(v->target);
    free(v->w_idle);
    memset(v, 0, sizeof *v);
}

static hs_status hs_envs_alloc(hs_envs *v, const hs_env_series *s, int64_t E, const hs_env_config *cfg)
{
    memset(v, 0, sizeof *v);
    v->E = E;
    v->s = s;
    v->cfg = *cfg;
    size_t e = (size_t)E;
    v->series = calloc(e, sizeof *v->series);
    v->t = calloc(e, sizeof *v->t);
    v->p = calloc(e, sizeof *v->p);
    v->steps = calloc(e, sizeof *v->steps);
    v->cold = calloc(e, sizeof *v->cold);
    v->idle = calloc(e, sizeof *v->idle);
    v->episode = calloc(e, sizeof *v->episode);
    v->sums = calloc(e, sizeof *v->sums);
    v->O = hs_env_obs_size(cfg->version);
    v->obs = calloc(e * (size_t)v->O, sizeof *v->obs);
    v->w_idle = calloc(e, sizeof *v->w_idle);
    v->reward = calloc(e, sizeof *v->reward);
    v->done = calloc(e, sizeof *v->done);
    v->target = calloc(e, sizeof *v->target);
    if (!v->series || !v->t || !v->p || !v->steps || !v->cold || !v->idle || !v->episode || !v->sums || !v->obs ||
        !v->reward || !v->done || !v->target || !v->w_idle) {
        hs_envs_free(v);
        return hs_error_set(HS_ERR_NOMEM, "environment: out of memory for %lld environments", (long long)E);
    }
    for (int64_t i = 0; i < E; i++) {
        v->series[i] = (int32_t)(i % s->k);
        v->w_idle[i] = cfg->w.w_idle;
    }
    return HS_OK;
}

static void hs_envs_observe_one(hs_envs *v, int64_t e)
{
    const hs_env_series *s = v->s;
    int64_t j = v->series[e];
    float *obs = v->obs + e * v->O;
    hs_env_observe(obs, s->need + j * s->n, s->fneed ? s->fneed + j * s->n * HS_ENV_FC : NULL, v->t[e], v->p[e],
                   s->S[j], v->cold[e], v->idle[e], s->time_feat + (int64_t)v->t[e] * 4);
    if (v->cfg.version == HS_ENV_V2)
        hs_env_observe_v2(obs, s->err + j * s->n, s->rms + j * s->n, v->t[e], s->S[j], v->w_idle[e]);
}

/* A new episode for environment e: t0 uniform in [lo, hi] from the stream (seed, first_stream + e),
 * at the counter of its episodes. */
static void hs_envs_reset_one(hs_envs *v, int64_t e)
{
    hs_u32x4 r = hs_rng_u32x4(v->cfg.seed, v->cfg.first_stream + (uint64_t)e, (uint64_t)v->episode[e]);
    double u = hs_u64_to_unit(r.v[0], r.v[1]);
    int64_t span = v->hi - v->lo + 1;
    int64_t t0 = v->lo + (int64_t)(u * (double)span);
    if (t0 > v->hi)
        t0 = v->hi;
    v->episode[e]++;
    if (v->cfg.version == HS_ENV_V2) { /* the episode's idle weight, log-uniform, from the same draw */
        double u2 = hs_u64_to_unit(r.v[2], r.v[3]), lo = log(v->cfg.w_idle_lo), hi = log(v->cfg.w_idle_hi);
        v->w_idle[e] = (float)exp(lo + u2 * (hi - lo));
    }
    const hs_env_series *s = v->s;
    v->t[e] = (int32_t)t0;
    v->p[e] = s->need[v->series[e] * s->n + t0];
    v->steps[e] = 0;
    v->cold[e] = v->idle[e] = 0;
    memset(&v->sums[e], 0, sizeof v->sums[e]);
    hs_envs_observe_one(v, e);
}

hs_status hs_envs_init(hs_envs *v, const hs_env_series *s, int64_t E, const hs_env_config *cfg)
{
    HS_ASSERT(E > 0);
    int64_t L, lo, hi;
    if (!hs_env_episode_starts(cfg, s->n_train, &L, &lo, &hi))
        return hs_error_set(HS_ERR_INPUT, "environment: a training span of %lld minutes is shorter than an episode "
                                          "of %lld minutes plus %d (episodes start in [%d, N - L - %d])",
                            (long long)s->n_train, (long long)L, HS_ENV_START_LO + HS_ENV_END_MARGIN,
                            HS_ENV_START_LO, HS_ENV_END_MARGIN);
    HS_TRY(hs_envs_alloc(v, s, E, cfg));
    v->L = L;
    v->lo = lo;
    v->hi = hi;
    for (int64_t e = 0; e < E; e++)
        hs_envs_reset_one(v, e);
    return HS_OK;
}

hs_status hs_envs_init_replay(hs_envs *v, const hs_env_series *s, const hs_env_config *cfg, int64_t t_start,
                              int64_t t_end)
{
    if (t_start < 0 || t_end >= s->n || t_end <= t_start)
        return hs_error_set(HS_ERR_INPUT, "environment: replay span [%lld, %lld] is not inside the %lld minutes",
                            (long long)t_start, (long long)t_end, (long long)s->n);
    HS_TRY(hs_envs_alloc(v, s, s->k, cfg));
    v->replay = 1;
    v->t_end = t_end;
    v->L = t_end - t_start;
    for (int64_t e = 0; e < v->E; e++) {
        v->t[e] = (int32_t)t_start;
        v->p[e] = s->need[v->series[e] * s->n + t_start];
        hs_envs_observe_one(v, e);
    }
    return HS_OK;
}

void hs_envs_targets_from_actions(const hs_envs *v, const int32_t *actions, int32_t *targets)
{
    const hs_env_series *s = v->s;
    for (int64_t e = 0; e < v->E; e++) {
        int64_t j = v->series[e];
        HS_ASSERT(actions[e] >= 0 && actions[e] < hs_env_action_count(v->cfg.mode));
        if (v->cfg.mode == HS_ENV_DELTA)
            targets[e] = hs_env_delta_target(v->p[e], actions[e], s->step[j], s->pmax[j]);
        else
            targets[e] = hs_env_margin_target(s->fneed1[j * s->n + v->t[e]], actions[e], s->pmax[j]);
    }
}

void hs_envs_step(hs_envs *v, const int32_t *targets)
{
    const hs_env_series *s = v->s;
    int64_t E = v->E;
    /* the transitions, in parallel for many environments (each touches only its own state) */
#pragma omp parallel for schedule(static) if (E >= 256)
    for (int64_t e = 0; e < E; e++) {
        v->done[e] = 0;
        if (v->replay && v->t[e] >= v->t_end) {
            v->reward[e] = 0.0f;
            continue;
        }
        int64_t j = v->series[e];
        int32_t target = hs_env_clamp(targets[e], s->pmax[j]);
        int32_t n = s->need[j * s->n + v->t[e] + 1];
        hs_env_weights w = v->cfg.w;
        w.w_idle = v->w_idle[e];
        hs_env_out o = hs_env_transition(&v->p[e], target, n, s->S[j], w);
        v->t[e]++;
        v->steps[e]++;
        v->cold[e] = o.cold;
        v->idle[e] = o.idle;
        v->reward[e] = o.reward;
        hs_env_metrics *m = &v->sums[e];
        m->steps++;
        m->cold += o.cold;
        m->idle += o.idle;
        m->change += o.change;
        m->need += n;
        m->reward += o.reward;
        if (v->replay ? v->t[e] >= v->t_end : v->steps[e] >= v->L)
            v->done[e] = 1;
        if (v->replay || !v->done[e])
            hs_envs_observe_one(v, e);
    }
    /* ended episodes, in environment order: their sums, then the auto-reset */
    if (v->replay)
        return;
    for (int64_t e = 0; e < E; e++)
        if (v->done[e]) {
            hs_env_metrics_add(&v->finished, &v->sums[e]);
            v->finished_count++;
            hs_envs_reset_one(v, e);
        }
}

int hs_envs_replay_done(const hs_envs *v)
{
    for (int64_t e = 0; e < v->E; e++)
        if (v->t[e] < v->t_end)
            return 0;
    return 1;
}

void hs_envs_reset(hs_envs *v)
{
    if (!v->replay) {
        for (int64_t e = 0; e < v->E; e++)
            hs_envs_reset_one(v, e);
        return;
    }
    const hs_env_series *s = v->s;
    int64_t t_start = v->t_end - v->L;
    for (int64_t e = 0; e < v->E; e++) {
        v->t[e] = (int32_t)t_start;
        v->p[e] = s->need[v->series[e] * s->n + t_start];
        v->steps[e] = 0;
        v->cold[e] = v->idle[e] = 0;
        memset(&v->sums[e], 0, sizeof v->sums[e]);
        hs_envs_observe_one(v, e);
    }
}

/* ---- the seam over hs_envs ------------------------------------------------------------------ */

static hs_status hs_env_cpu_create(void **ctx, const hs_env_series *s, int64_t E, const hs_env_config *cfg)
{
    *ctx = NULL;
    hs_envs *v = malloc(sizeof *v);
    if (!v)
        return hs_error_set(HS_ERR_NOMEM, "environment: out of memory");
    hs_status st = hs_envs_init(v, s, E, cfg);
    if (st) {
        free(v);
        return st;
    }
    *ctx = v;
    return HS_OK;
}

static hs_status hs_env_cpu_create_replay(void **ctx, const hs_env_series *s, const hs_env_config *cfg,
                                          int64_t t_start, int64_t t_end)
{
    *ctx = NULL;
    hs_envs *v = malloc(sizeof *v);
    if (!v)
        return hs_error_set(HS_ERR_NOMEM, "environment: out of memory");
    hs_status st = hs_envs_init_replay(v, s, cfg, t_start, t_end);
    if (st) {
        free(v);
        return st;
    }
    *ctx = v;
    return HS_OK;
}

static hs_status hs_env_cpu_adopt(void **ctx, hs_envs *host)
{
    *ctx = host;
    return HS_OK;
}

static hs_status hs_env_cpu_release(void *ctx, hs_envs *host)
{
    HS_ASSERT(ctx == host);
    return HS_OK;
}

static hs_status hs_env_cpu_reset(void *ctx)
{
    hs_envs_reset(ctx);
    return HS_OK;
}

static hs_status hs_env_cpu_step_targets(void *ctx, const int32_t *targets)
{
    hs_envs_step(ctx, targets);
    return HS_OK;
}

static hs_status hs_env_cpu_step_actions(void *ctx, const int32_t *actions)
{
    hs_envs *v = ctx;
    hs_envs_targets_from_actions(v, actions, v->target);
    hs_envs_step(v, v->target);
    return HS_OK;
}

static hs_status hs_env_cpu_observe(void *ctx, float *obs)
{
    const hs_envs *v = ctx;
    memcpy(obs, v->obs, (size_t)(v->E * v->O) * sizeof *obs);
    return HS_OK;
}

static hs_status hs_env_cpu_take_finished(void *ctx, hs_env_metrics *m, int64_t *count)
{
    hs_envs *v = ctx;
    *m = v->finished;
    *count = v->finished_count;
    memset(&v->finished, 0, sizeof v->finished);
    v->finished_count = 0;
    return HS_OK;
}

static hs_status hs_env_cpu_sums(void *ctx, hs_env_metrics *out)
{
    const hs_envs *v = ctx;
    memcpy(out, v->sums, (size_t)v->E * sizeof *out);
    return HS_OK;
}

static int64_t hs_env_cpu_count(const void *ctx)
{
    const hs_envs *v = ctx;
    return v->E;
}

static void hs_env_cpu_destroy(void *ctx)
{
    if (!ctx)
        return;
    hs_envs_free(ctx);
    free(ctx);
}

static const hs_env_ops hs_env_cpu_table = {
    .name = "cpu",
    .create = hs_env_cpu_create,
    .create_replay = hs_env_cpu_create_replay,
    .adopt = hs_env_cpu_adopt,
    .release = hs_env_cpu_release,
    .reset = hs_env_cpu_reset,
    .step_targets = hs_env_cpu_step_targets,
    .step_actions = hs_env_cpu_step_actions,
    .observe = hs_env_cpu_observe,
    .take_finished = hs_env_cpu_take_finished,
    .sums = hs_env_cpu_sums,
    .count = hs_env_cpu_count,
    .destroy = hs_env_cpu_destroy,
};

const hs_env_ops *hs_env_cpu_ops(void) { return &hs_env_cpu_table; }
