/* env.c: the autoscaling environment's inputs (ENV.md version 1): the series and their scales,
 * the episode metrics and the action modes. Stepping E environments is a backend's work
 * (src/backend/env_seam.h); the CPU's, hs_envs, is src/backend/cpu/env_cpu.c. */
#include "hyscale/env.h"
#include "hyscale/env_rules.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/math/env_state.h"
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
    free(s->err);
    free(s->rms);
    memset(s, 0, sizeof *s);
}

void hs_env_series_keep(hs_env_series *s, int64_t k)
{
    HS_ASSERT(k >= 1 && k <= s->k);
    s->k = k; /* every array is (K, ...) row-major: the first k rows stay as they are */
}

float hs_env_need_quantile(const int32_t *need, int64_t n_train, double q, float *tmp)
{
    for (int64_t t = 0; t < n_train; t++)
        tmp[t] = (float)need[t];
    double v = n_train > 0 ? hs_percentile(tmp, n_train, q) : 1.0;
    return (float)(v > 1.0 ? v : 1.0);
}

/* ENV v2's inputs: each series' one-step errors and their RMS over the last HS_ENV_ERR_WINDOW
 * minutes (sums of squares in integers: exact, and the same on every backend). */
static hs_status hs_env_series_errors(hs_env_series *s)
{
    size_t kn = (size_t)(s->k * s->n);
    s->err = malloc(kn * sizeof *s->err);
    s->rms = malloc(kn * sizeof *s->rms);
    if (!s->err || !s->rms) {
        hs_env_series_free(s);
        return hs_error_set(HS_ERR_NOMEM, "environment: out of memory");
    }
    for (int64_t j = 0; j < s->k; j++) {
        const int32_t *need = s->need + j * s->n, *f1 = s->fneed1 + j * s->n;
        int32_t *err = s->err + j * s->n;
        float *rms = s->rms + j * s->n;
        int64_t sq = 0;
        err[0] = 0;
        rms[0] = 0.0f;
        for (int64_t t = 1; t < s->n; t++) {
            err[t] = need[t] - f1[t - 1];
            sq += (int64_t)err[t] * err[t];
            if (t > HS_ENV_ERR_WINDOW)
                sq -= (int64_t)err[t - HS_ENV_ERR_WINDOW] * err[t - HS_ENV_ERR_WINDOW];
            int64_t cnt = t < HS_ENV_ERR_WINDOW ? t : HS_ENV_ERR_WINDOW;
            rms[t] = (float)sqrt((double)sq / (double)cnt);
        }
    }
    return HS_OK;
}

hs_status hs_env_series_init(hs_env_series *s, const float *d, const float *F, int64_t k, int64_t n, int64_t holdout,
                             const char *forecaster)
{
    memset(s, 0, sizeof *s);
    HS_ASSERT(k > 0 && n > 0 && d);
    if (!hs_env_span_fits(n, holdout))
        return hs_error_set(HS_ERR_INPUT, "environment: %lld minutes with a holdout of %lld leave %lld to train on "
                                          "(at least %d needed)",
                            (long long)n, (long long)holdout, (long long)(n - holdout), HS_ENV_MIN_TRAIN);
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
            need[t] = hs_env_need(dj[t], s->c[j]);
        s->S[j] = hs_env_need_quantile(need, s->n_train, 99.0, tmp);
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
            fn[i] = hs_env_fneed(Fj[i], s->c[j]);
        }
        for (int64_t t = 0; t < n; t++)
            f1[t] = fn[t * HS_ENV_FC];
    }
    free(tmp);
    return hs_env_series_errors(s);
}

void hs_env_metrics_add(hs_env_metrics *a, const hs_env_metrics *b) { hs_env_metrics_accumulate(a, b); }

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
