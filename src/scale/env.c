/* env.c: the CPU path of the autoscaling environment (ENV.md version 1): the series and their
 * scales, E environments as structure of arrays, reset, step and auto-reset. The per-element
 * math is math/env_step.h. */
#include "hyscale/env.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/math/rng.h"
#include "hyscale/series.h"

void hs_env_series_free(hs_env_series *s)
{
    if (!s)
        return;
    free(s->d);
    free(s->need);
    free(s->fneed);
    free(s->fneed1);
    free(s->c);
    free(s->S);
    free(s->pmax);
    free(s->step);
    free(s->time_feat);
    memset(s, 0, sizeof *s);
}

void hs_env_series_keep(hs_env_series *s, int64_t k)
{
    HS_ASSERT(k >= 1 && k <= s->k);
    s->k = k; /* every array is (K, ...) row-major: the first k rows stay as they are */
}

hs_status hs_env_series_init(hs_env_series *s, const float *d, const float *F, int64_t k, int64_t n, int64_t holdout,
                             const char *forecaster)
{
    memset(s, 0, sizeof *s);
    HS_ASSERT(k > 0 && n > 0 && d);
    if (holdout < 0 || n - holdout < 16)
        return hs_error_set(HS_ERR_INPUT, "environment: %lld minutes with a holdout of %lld leave %lld to train on "
                                          "(at least 16 needed)",
                            (long long)n, (long long)holdout, (long long)(n - holdout));
    s->k = k;
    s->n = n;
    s->n_train = n - holdout;
    s->has_forecast = F != NULL;
    snprintf(s->forecaster, sizeof s->forecaster, "%s", F ? forecaster : "none");
    size_t kn = (size_t)(k * n);
    s->d = malloc(kn * sizeof *s->d);
    s->need = malloc(kn * sizeof *s->need);
    s->fneed1 = malloc(kn * sizeof *s->fneed1);
    s->fneed = F ? malloc(kn * HS_ENV_FC * sizeof *s->fneed) : NULL;
    s->c = malloc((size_t)k * sizeof *s->c);
    s->S = malloc((size_t)k * sizeof *s->S);
    s->pmax = malloc((size_t)k * sizeof *s->pmax);
    s->step = malloc((size_t)k * sizeof *s->step);
    s->time_feat = malloc((size_t)n * 4 * sizeof *s->time_feat);
    float *tmp = malloc((size_t)n * sizeof *tmp);
    if (!s->d || !s->need || !s->fneed1 || (F && !s->fneed) || !s->c || !s->S || !s->pmax || !s->step ||
        !s->time_feat || !tmp) {
        free(tmp);
        hs_env_series_free(s);
        return hs_error_set(HS_ERR_NOMEM, "environment: out of memory for %lld x %lld minutes", (long long)k,
                            (long long)n);
    }
    memcpy(s->d, d, kn * sizeof *s->d);
    for (int64_t t = 0; t < n; t++)
        hs_env_time_features(t, s->time_feat + t * 4);
    for (int64_t j = 0; j < k; j++) {
        const float *dj = d + j * n;
        for (int64_t t = 0; t < n; t++)
            if (!isfinite(dj[t]) || dj[t] < 0.0f) {
                free(tmp);
                hs_env_series_free(s);
                return hs_error_set(HS_ERR_INPUT, "environment: series %lld, minute %lld: demand %g is not a "
                                                  "finite count",
                                    (long long)j, (long long)t, (double)dj[t]);
            }
        double c = hs_percentile(dj, s->n_train, 99.0) / 100.0;
        s->c[j] = c > 1.0 ? c : 1.0;
        int32_t *need = s->need + j * n;
        for (int64_t t = 0; t < n; t++)
            need[t] = (int32_t)ceil((double)dj[t] / s->c[j]);
        for (int64_t t = 0; t < s->n_train; t++)
            tmp[t] = (float)need[t];
        double S = hs_percentile(tmp, s->n_train, 99.0);
        s->S[j] = (float)(S > 1.0 ? S : 1.0);
        s->pmax[j] = (int32_t)ceil(4.0 * (double)s->S[j]);
        long st = lround((double)s->S[j] / 20.0);
        s->step[j] = st > 1 ? (int32_t)st : 1;
        int32_t *f1 = s->fneed1 + j * n;
        if (!F) {
            memcpy(f1, need, (size_t)n * sizeof *f1);
            continue;
        }
        const float *Fj = F + j * n * HS_ENV_FC;
        int32_t *fn = s->fneed + j * n * HS_ENV_FC;
        for (int64_t i = 0; i < n * HS_ENV_FC; i++) {
            if (!isfinite(Fj[i])) {
                free(tmp);
                hs_env_series_free(s);
                return hs_error_set(HS_ERR_INPUT, "environment: the %s forecast of series %lld at minute %lld, "
                                                  "f%lld, is not finite",
                                    forecaster, (long long)j, (long long)(i / HS_ENV_FC),
                                    (long long)(i % HS_ENV_FC + 1));
            }
            fn[i] = (int32_t)ceil((double)(Fj[i] > 0.0f ? Fj[i] : 0.0f) / s->c[j]);
        }
        for (int64_t t = 0; t < n; t++)
            f1[t] = fn[t * HS_ENV_FC];
    }
    free(tmp);
    return HS_OK;
}

void hs_env_metrics_add(hs_env_metrics *a, const hs_env_metrics *b)
{
    a->steps += b->steps;
    a->cold += b->cold;
    a->idle += b->idle;
    a->change += b->change;
    a->need += b->need;
    a->reward += b->reward;
}

double hs_env_metrics_cold_rate(const hs_env_metrics *m)
{
    return m->need > 0 ? (double)m->cold / (double)m->need : 0.0;
}

double hs_env_metrics_overprov(const hs_env_metrics *m)
{
    return m->need > 0 ? (double)m->idle / (double)m->need : 0.0;
}

int hs_env_action_count(hs_env_action_mode mode)
{
    return mode == HS_ENV_DELTA ? HS_ENV_DELTA_ACTIONS : HS_ENV_ACTIONS;
}

int64_t hs_env_episode_length(const hs_env_config *cfg, int64_t n_span)
{
    if (cfg->episode > 0)
        return cfg->episode;
    return n_span < 4 * 1440 ? n_span / 4 : 1440;
}

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
    v->obs = calloc(e * HS_ENV_OBS, sizeof *v->obs);
    v->reward = calloc(e, sizeof *v->reward);
    v->done = calloc(e, sizeof *v->done);
    v->target = calloc(e, sizeof *v->target);
    if (!v->series || !v->t || !v->p || !v->steps || !v->cold || !v->idle || !v->episode || !v->sums || !v->obs ||
        !v->reward || !v->done || !v->target) {
        hs_envs_free(v);
        return hs_error_set(HS_ERR_NOMEM, "environment: out of memory for %lld environments", (long long)E);
    }
    for (int64_t i = 0; i < E; i++)
        v->series[i] = (int32_t)(i % s->k);
    return HS_OK;
}

static void hs_envs_observe_one(hs_envs *v, int64_t e)
{
    const hs_env_series *s = v->s;
    int64_t j = v->series[e];
    hs_env_observe(v->obs + e * HS_ENV_OBS, s->need + j * s->n, s->fneed ? s->fneed + j * s->n * HS_ENV_FC : NULL,
                   v->t[e], v->p[e], s->S[j], v->cold[e], v->idle[e], s->time_feat + (int64_t)v->t[e] * 4);
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
    int64_t L = hs_env_episode_length(cfg, s->n_train);
    int64_t lo = 7, hi = s->n_train - L - 9;
    if (L < 1 || hi < lo)
        return hs_error_set(HS_ERR_INPUT, "environment: a training span of %lld minutes is shorter than an episode "
                                          "of %lld minutes plus 16 (episodes start in [7, N - L - 9])",
                            (long long)s->n_train, (long long)L);
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
        hs_env_out o = hs_env_transition(&v->p[e], target, n, s->S[j], v->cfg.w);
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
