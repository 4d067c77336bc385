/* env.h: the autoscaling environment of ENV.md (version 1), E environments at once as structure
 * of arrays in host memory: the CPU backend of the environment seam (src/backend/env_seam.h,
 * filled in src/backend/cpu/env_cpu.c). Each environment replays one of K demand series; the per-element math lives in
 * math/env_step.h and one environment's reset, step and observation in math/env_state.h, so the
 * CUDA backend (src/backend/cuda/env_cuda.c) steps the same way.
 *
 *     hs_env_series s;                                  // K series of N minutes + forecasts
 *     HS_TRY(hs_env_series_init(&s, d, F, K, N, holdout, "hybrid"));
 *     hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
 *     hs_envs v;
 *     HS_TRY(hs_envs_init(&v, &s, E, &cfg));            // training: random episodes, auto-reset
 *     for (...) {
 *         hs_envs_targets_from_actions(&v, actions, v.target);
 *         hs_envs_step(&v, v.target);                   // v.reward, v.done, v.obs (E, 23)
 *     }
 *     hs_envs_free(&v);
 *     hs_env_series_free(&s);
 *
 * Evaluation replays a whole span once, one environment per series (hs_envs_init_replay); its
 * per-environment sums (v.sums) are the metrics of ENV.md.
 */
#ifndef HYSCALE_ENV_H
#define HYSCALE_ENV_H

#include <stdint.h>

#include "hyscale/math/env_step.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* K demand series of N minutes, the needs derived from them and one forecaster's F. */
typedef struct hs_env_series {
    int64_t k, n;      /* K series, N minutes each */
    int64_t n_train;   /* training span [0, n_train): c and S come from it */
    int has_forecast;  /* 0: no forecaster */
    char forecaster[16];
    float *d;          /* (K, N) invocations per minute (clipped) */
    int32_t *need;     /* (K, N) ceil(d / c) */
    int32_t *fneed;    /* (K, N, 8) ceil(max(F, 0) / c); NULL without a forecaster */
    int32_t *fneed1;   /* (K, N) fneed[t][1], or need[t] without a forecaster */
    double *c;         /* (K) invocations one instance serves in a minute */
    float *S;          /* (K) q99 of need over the training span, at least 1 */
    int32_t *pmax;     /* (K) ceil(4 S) */
    int32_t *step;     /* (K) the delta mode's step: max(1, round(S / 20)) */
    float *time_feat;  /* (N, 4) observation entries 17..20 of each minute, shared by the series */
    int32_t *err;      /* (K, N) ENV v2: need[t] - fneed1[t-1], the one-step error (0 at t = 0) */
    float *rms;        /* (K, N) ENV v2: RMS of err over the last HS_ENV_ERR_WINDOW minutes */
} hs_env_series;

/* Copies d (K, N) and F (K, N, 8; NULL for none) and derives need, fneed, c, S. holdout is the
 * number of minutes at the end of each series kept out of the training span. Errors: a
 * negative or non-finite demand, a non-finite forecast, holdout leaving < 16 minutes. */
hs_status hs_env_series_init(hs_env_series *s, const float *d, const float *F, int64_t k, int64_t n, int64_t holdout,
                             const char *forecaster);
/* The q-th percentile of need[0, n_train) (NumPy's rule), at least 1, in float: S at q = 99 (ENV.md)
 * and the static policy's level at any q. tmp (n_train) is the caller's scratch. */
float hs_env_need_quantile(const int32_t *need, int64_t n_train, double q, float *tmp);

/* Frees the arrays; a zeroed or freed series is fine. */
void hs_env_series_free(hs_env_series *s);
/* Keeps the first k series (k <= s->k); the arrays stay allocated until hs_env_series_free. */
void hs_env_series_keep(hs_env_series *s, int64_t k);

typedef enum hs_env_action_mode { HS_ENV_MARGIN = 0, HS_ENV_DELTA = 1 } hs_env_action_mode;

typedef struct hs_env_config {
    hs_env_weights w;     /* reward weights w_cold, w_idle, w_change */
    int64_t episode;      /* L; 0: 1440, or floor(N_span / 4) for a span under 4 * 1440 */
    hs_env_action_mode mode;
    uint64_t seed;        /* environment e draws from the stream (seed, first_stream + e) */
    uint64_t first_stream; /* 0; lets one environment replay environment e of a larger set */
    int version;           /* ENV version: 1 (ENV.md, the reference) or 2 (docs/ENV-v2.md) */
    float w_idle_lo, w_idle_hi; /* version 2 in training: w_idle log-uniform in [lo, hi] per episode;
                                 * a replay uses w.w_idle */
} hs_env_config;

#define HS_ENV_CONFIG_DEFAULTS {{1.0f, 0.1f, 0.01f}, 0, HS_ENV_MARGIN, 1, 0, 1, 0.02f, 0.5f}

/* Sums over transitions: the metrics of an evaluation span or of one episode. */
typedef struct hs_env_metrics {
    int64_t steps, cold, idle, change, need; /* need: sum of n = need[t+1] */
    double reward;
} hs_env_metrics;

void hs_env_metrics_add(hs_env_metrics *a, const hs_env_metrics *b);
/* cold / need and idle / need (0 when no demand). */
double hs_env_metrics_cold_rate(const hs_env_metrics *m);
double hs_env_metrics_overprov(const hs_env_metrics *m);

typedef struct hs_envs {
    int64_t E;                /* environments */
    const hs_env_series *s;   /* borrowed; outlives the envs */
    hs_env_config cfg;
    int64_t L;                /* episode length (training mode) */
    int replay;               /* 1: one pass over [t_start, t_end], no reset */
    int64_t lo, hi;           /* training mode: episodes start in [lo, hi] */
    int64_t t_end;            /* replay mode: last minute */
    int32_t *series;          /* (E) which series environment e replays */
    int32_t *t, *p, *steps;   /* (E) minute, warm instances, steps into the episode */
    int32_t *cold, *idle;     /* (E) of the step that led to minute t */
    int64_t *episode;         /* (E) episodes started (the reset draw's counter) */
    hs_env_metrics *sums;     /* (E) the running episode (replay: the whole span) */
    int O;                    /* observation size: 23 (version 1) or 33 (version 2) */
    float *obs;               /* (E, O) observation at minute t */
    float *w_idle;            /* (E) each environment's idle cost weight (version 2: its episode's) */
    float *reward;            /* (E) of the last step */
    uint8_t *done;            /* (E) 1 when the last step ended an episode */
    int32_t *target;          /* (E) scratch for callers */
    hs_env_metrics finished;  /* sums over the episodes ended since the last take */
    int64_t finished_count;
} hs_envs;

/* E environments in training mode over the training span of s; environment e replays series
 * e mod K. Resets all and writes the first observations. Errors: a span too short for an
 * episode (it names the lengths). */
hs_status hs_envs_init(hs_envs *v, const hs_env_series *s, int64_t E, const hs_env_config *cfg);
/* One environment per series replaying [t_start, t_end] once, from p = need[t_start]. */
hs_status hs_envs_init_replay(hs_envs *v, const hs_env_series *s, const hs_env_config *cfg, int64_t t_start,
                              int64_t t_end);
void hs_envs_free(hs_envs *v);

/* Actions of a mode: 9 headroom choices (margin), or 5 steps of -2..2 (delta). */
int hs_env_action_count(hs_env_action_mode mode);

/* The episode length the configuration gives for a span of n_span minutes. */
int64_t hs_env_episode_length(const hs_env_config *cfg, int64_t n_span);

/* Maps actions (E) to targets (E) by the configured action mode. */
void hs_envs_targets_from_actions(const hs_envs *v, const int32_t *actions, int32_t *targets);
/* One step of every environment with the given targets (E), clamped to [0, P_max]. In training
 * mode an environment whose episode ends reports done = 1, adds its episode to `finished` and
 * resets itself. In replay mode an environment at t_end does not move. */
void hs_envs_step(hs_envs *v, const int32_t *targets);
/* Every environment anew: in training mode each draws its next episode (the reset draw's
 * counter moves on), in replay mode each goes back to t_start; the running sums restart and
 * `finished` is kept. */
void hs_envs_reset(hs_envs *v);
/* 1 when every replaying environment has reached t_end. */
int hs_envs_replay_done(const hs_envs *v);

#ifdef __cplusplus
}
#endif
#endif
