/* env_cpu.c: the CPU backend of the autoscaling environment (ENV.md version 1): E environments
 * as structure of arrays in host memory (hs_envs), reset, step and auto-reset, and the
 * environment seam (src/backend/env_seam.h) filled over them. The per-environment reset, step
 * and observation are math/env_state.h's, which the CUDA kernels run too; nothing is allocated
 * inside a step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/env_seam.h"
#include "hyscale/env_rules.h"
#include "hyscale/math/env_state.h"

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

/* hs_envs as the flat arrays of math/env_state.h (a view: the pointers are v's). */
static hs_env_arrays hs_envs_arrays(hs_envs *v)
{
    const hs_env_series *s = v->s;
    hs_env_arrays a = {s->n,
                       s->need,
                       s->fneed,
                       s->fneed1,
                       s->err,
                       s->S,
                       s->rms,
                       s->time_feat,
                       s->pmax,
                       s->step,
                       v->cfg.version,
                       (int)v->cfg.mode,
                       v->replay,
                       v->O,
                       v->cfg.w,
                       v->cfg.seed,
                       v->cfg.first_stream,
                       v->cfg.w_idle_lo,
                       v->cfg.w_idle_hi,
                       v->L,
                       v->lo,
                       v->hi,
                       v->t_end,
                       v->series,
                       v->t,
                       v->p,
                       v->steps,
                       v->cold,
                       v->idle,
                       v->episode,
                       v->sums,
                       v->obs,
                       v->w_idle,
                       v->reward,
                       v->done};
    return a;
}

static void hs_envs_observe_one(hs_envs *v, int64_t e)
{
    hs_env_arrays a = hs_envs_arrays(v);
    hs_env_observe_at(&a, e);
}

static void hs_envs_reset_one(hs_envs *v, int64_t e)
{
    hs_env_arrays a = hs_envs_arrays(v);
    hs_env_reset_at(&a, e);
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
    hs_env_arrays a = hs_envs_arrays((hs_envs *)v); /* read only here */
    for (int64_t e = 0; e < v->E; e++) {
        HS_ASSERT(actions[e] >= 0 && actions[e] < hs_env_action_count(v->cfg.mode));
        targets[e] = hs_env_target_at(&a, e, actions[e]);
    }
}

void hs_envs_step(hs_envs *v, const int32_t *targets)
{
    hs_env_arrays a = hs_envs_arrays(v);
    int64_t E = v->E;
    /* the transitions, in parallel for many environments (each touches only its own state) */
#pragma omp parallel for schedule(static) if (E >= 256)
    for (int64_t e = 0; e < E; e++)
        hs_env_step_at(&a, e, targets[e]);
    /* ended episodes, in environment order: their sums, then the auto-reset */
    if (v->replay)
        return;
    for (int64_t e = 0; e < E; e++)
        if (v->done[e]) {
            hs_env_metrics_add(&v->finished, &v->sums[e]);
            v->finished_count++;
            hs_env_reset_at(&a, e);
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
    hs_env_arrays a = hs_envs_arrays(v);
    for (int64_t e = 0; e < v->E; e++) {
        if (v->replay)
            hs_env_replay_reset_at(&a, e);
        else
            hs_env_reset_at(&a, e);
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
