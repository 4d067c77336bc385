/* evaluate_internal.h: what the evaluation's files share (evaluate_stage.c runs it and writes its
 * files, evaluate_sweep.c adds the swept settings of the classic policies). Not public. */
#ifndef HYSCALE_EVALUATE_INTERNAL_H
#define HYSCALE_EVALUATE_INTERNAL_H

#include "hyscale/hist_policy.h"
#include "hyscale/scale_stage.h"

/* none, prophet, lstm, hybrid: the order of the plan's series */
extern const char *const hs_forecasters[4];

/* What an evaluation works on: the series with each forecaster's tables, the replayed span and
 * the margin policy's validation start, the histogram policy's warm flags. */
typedef struct hs_eval_plan {
    hs_env_series s[4]; /* none, prophet, lstm, hybrid (hs_forecasters) */
    int have[4];
    int64_t t_start, t_end, v0;
    uint8_t *warm;      /* (K, N) the histogram policy's, or NULL */
    hs_hist_stats hs;
    int skipped;        /* policy files trained on the other series kind */
} hs_eval_plan;

/* 1 when policy is in the comma-separated list (NULL: every policy). */
int hs_eval_selected(const char *list, const char *policy);

/* Appends a row (parameter may be NULL); HS_ERR_INPUT past HS_EVAL_MAX_ROWS. */
hs_status hs_eval_add_row(hs_evaluate_result *r, const char *policy, const char *fc, const char *source,
                          const char *parameter, int sweep, const hs_env_metrics *m);

/* The hybrid-histogram policy with cfg on every function's binary activity: warm (K, N). */
hs_status hs_eval_histogram(const hs_env_series *s, const hs_hist_config *cfg, int64_t t_start, int64_t t_end,
                            uint8_t *warm, hs_hist_stats *tot);

/* The swept classic settings (evaluate_sweep.c): forecast+margin's headroom 0-100% in 5% steps for
 * each forecaster, keep-alive 1-60 minutes, static at percentiles 50-100, and per function the
 * histogram's tail percentile; each a row with sweep = 1. */
hs_status hs_eval_sweep(const hs_evaluate_config *c, hs_eval_plan *p, hs_evaluate_result *r);

#endif
