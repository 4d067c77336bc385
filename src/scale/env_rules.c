/* env_rules.c: the environment's length rules (env_rules.h) as pure functions, written once
 * for the environment itself, the training stage and the pipeline's plan. */
#include "hyscale/env_rules.h"

#include <stddef.h>

int hs_env_span_fits(int64_t n, int64_t holdout)
{
    return holdout >= 0 && n - holdout >= HS_ENV_MIN_TRAIN;
}

int hs_env_episode_starts(const hs_env_config *cfg, int64_t n_train, int64_t *L, int64_t *lo, int64_t *hi)
{
    int64_t len = hs_env_episode_length(cfg, n_train);
    int64_t first = HS_ENV_START_LO, last = n_train - len - HS_ENV_END_MARGIN;
    if (L)
        *L = len;
    if (lo)
        *lo = first;
    if (hi)
        *hi = last;
    return len >= 1 && last >= first;
}
