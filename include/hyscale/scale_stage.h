/* scale_stage.h: the two scaling stages behind `hyscale train-ppo` and `hyscale evaluate`.
 *
 *     hs_train_ppo_config c = HS_TRAIN_PPO_DEFAULTS;
 *     c.series_dir = "out"; c.out_dir = "out/ppo_hybrid"; c.forecaster = "hybrid";
 *     HS_TRY(hs_train_ppo_run(&c, manifest, &res));  // ppo_policy.safetensors, learning curve
 *
 *     hs_evaluate_config e = HS_EVALUATE_DEFAULTS;
 *     e.series_dir = "out"; e.out_dir = "out";
 *     HS_TRY(hs_evaluate_run(&e, manifest, &er));     // scaling_eval.csv, report, pareto.png
 */
#ifndef HYSCALE_SCALE_STAGE_H
#define HYSCALE_SCALE_STAGE_H

#include <cjson/cJSON.h>

#include "hyscale/env_input.h"
#include "hyscale/ppo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_train_ppo_config {
    const char *series_dir;   /* a preprocess output folder (series.csv, functions.safetensors) */
    const char *forecast_dir; /* where the forecasts are; NULL: series_dir */
    const char *forecaster;   /* none|prophet|lstm|hybrid */
    const char *out_dir;
    hs_env_source source;
    int64_t holdout;          /* minutes kept out of training (1440) */
    hs_env_config env;
    hs_ppo_config ppo;
    const char *manifest_name; /* "train_ppo.manifest.json" */
    int plot, quiet;
} hs_train_ppo_config;

#define HS_TRAIN_PPO_DEFAULTS                                                                                          \
    {NULL, NULL, "none", NULL, HS_ENV_AGGREGATE, 1440, HS_ENV_CONFIG_DEFAULTS, HS_PPO_CONFIG_DEFAULTS,                  \
     "train_ppo.manifest.json", 1, 0}

typedef struct hs_train_ppo_result {
    int64_t env_steps, episode_length;
    double seconds, steps_per_second;
    double final_episode_reward; /* mean over the last 10% of updates with episodes */
} hs_train_ppo_result;

hs_status hs_train_ppo_run(const hs_train_ppo_config *c, cJSON *manifest, hs_train_ppo_result *r);

/* HS_OK when every option of c is in range (the forecaster known; envs in [1, 2^20], steps in
 * [1, 2^16], total_steps >= 1, holdout >= 0, episode >= 0, lr > 0, reward weights >= 0); else
 * HS_ERR_USAGE naming the option. hs_train_ppo_run assumes it. */
hs_status hs_train_ppo_check(const hs_train_ppo_config *c);

/* Whether training scales rewards (hs_ppo_config.norm_reward): c->ppo.norm_reward when 0 or 1;
 * -1 takes the ENV version's default, 1 for version 2 (docs/ENV-v2.md, "Training") and 0 for
 * version 1, whose agents train as they always have. */
int hs_train_ppo_norm_reward(const hs_train_ppo_config *c);

/* 1 when a series of n minutes with this holdout leaves the environment room for episodes (the
 * rule hs_env_series_init and hs_envs_init apply, env_rules.h), else 0; *episode (when not NULL)
 * gets the episode length the environment would use. Pure: reads no file. */
int hs_train_ppo_fits(const hs_env_config *env, int64_t n, int64_t holdout, int64_t *episode);

typedef struct hs_evaluate_config {
    const char *series_dir;
    const char *out_dir;      /* policies (ppo_policy.safetensors here and one folder down) and forecasts */
    hs_env_source source;
    int64_t holdout;
    hs_env_config env;
    const char *manifest_name; /* "evaluate.manifest.json" */
    int plot, quiet;
    const char *policies;      /* comma-separated policy names to evaluate; NULL: all */
    int sweep;                 /* 1: also every setting of each classic policy's knob (the swept front) */
} hs_evaluate_config;

#define HS_EVALUATE_DEFAULTS                                                                                           \
    {NULL, NULL, HS_ENV_AGGREGATE, 1440, HS_ENV_CONFIG_DEFAULTS, "evaluate.manifest.json", 1, 0, NULL, 1}

/* HS_OK when every name in the comma-separated list is a policy (reactive, forecast,
 * forecast+margin, keepalive-10, static-p99, hybrid-histogram, ppo); else a usage error naming it. */
hs_status hs_evaluate_check_policies(const char *list);

/* HS_OK when the policies are known and holdout >= 1; else HS_ERR_USAGE naming the option. */
hs_status hs_evaluate_check(const hs_evaluate_config *c);

/* 1 when n minutes with this holdout leave the environment a training span (env_rules.h), else 0.
 * Pure: reads no file. */
int hs_evaluate_fits(int64_t n, int64_t holdout);

/* One row of scaling_eval.csv. */
typedef struct hs_eval_row {
    char policy[32], forecaster[16], source[256];
    char parameter[48]; /* the setting of the policy's knob ("headroom=+25%", "minutes=10"), "" for none */
    int sweep;          /* 1 for a setting of the classic sweep, 0 for the default rows and the agents */
    int env_version;    /* the ENV version the row was replayed in (2: an ENV v2 agent) */
    hs_env_metrics m;
    int dominated; /* 1 when a classic policy is no worse on cold rate and over-provisioning, better on one */
    int front;     /* 1 when no row at all dominates it (the Pareto front of the plot) */
    double hull_cold_rate; /* the classic hull's cold rate at this row's over-provisioning (NaN left of it) */
} hs_eval_row;

#define HS_EVAL_MAX_ROWS 384

typedef struct hs_evaluate_result {
    int n;
    hs_eval_row rows[HS_EVAL_MAX_ROWS];
    int ppo_rows, ppo_dominated; /* trained policies evaluated, and how many a classic policy dominates */
    int n_hull;                  /* the lower convex hull of every classic row (pareto.h) */
    double hull_x[HS_EVAL_MAX_ROWS], hull_y[HS_EVAL_MAX_ROWS];
} hs_evaluate_result;

/* An agent's cold starts against the classic hull at its over-provisioning: 1 - cold rate / hull
 * cold rate (0.2: 20% fewer cold starts than the best pick or mix of classic settings); NaN where
 * the hull does not reach (less idle capacity than any classic setting) or is 0. */
double hs_eval_vs_hull(const hs_eval_row *w);

hs_status hs_evaluate_run(const hs_evaluate_config *c, cJSON *manifest, hs_evaluate_result *r);

#ifdef __cplusplus
}
#endif
#endif
