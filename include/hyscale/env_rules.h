/* env_rules.h: what the autoscaling environment asks of a series before it will run, as pure
 * functions, so a stage or the pipeline can ask "will this fit?" without loading anything.
 *
 *     hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
 *     int64_t L, lo, hi;
 *     if (!hs_env_episode_starts(&cfg, n_train, &L, &lo, &hi))
 *         ... too short: hs_envs_init would refuse it ...
 *
 * hs_env_series_init (src/scale/env.c) and hs_envs_init (src/backend/cpu/env_cpu.c) apply these
 * very functions, so a plan and the environment can never drift apart.
 */
#ifndef HYSCALE_ENV_RULES_H
#define HYSCALE_ENV_RULES_H

#include <stdint.h>

#include "hyscale/env.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The fewest minutes a training span may hold (hs_env_series_init). */
#define HS_ENV_MIN_TRAIN 16

/* Training episodes start in [7, n_train - L - 9]: 7 minutes of history before the start, 9
 * after the end (the 8-step forecast and the last transition). */
#define HS_ENV_START_LO 7
#define HS_ENV_END_MARGIN 9

/* 1 when n minutes with a holdout of `holdout` leave a training span the environment takes
 * (holdout >= 0, n - holdout >= HS_ENV_MIN_TRAIN); else 0. */
int hs_env_span_fits(int64_t n, int64_t holdout);

/* The episode length L = hs_env_episode_length(cfg, n_train) and the range [lo, hi] episodes
 * start in, written where the pointers are not NULL; returns 1 when L >= 1 and lo <= hi (the
 * rule of hs_envs_init), else 0. */
int hs_env_episode_starts(const hs_env_config *cfg, int64_t n_train, int64_t *L, int64_t *lo, int64_t *hi);

#ifdef __cplusplus
}
#endif
#endif
