/* evaluate_sweep.c: the classic front, swept. Each classic policy has a knob; scoring one
 * setting of each leaves the front an agent is compared with sparse, so that any agent between
 * two points looks good. Every setting here is its own row of scaling_eval.csv (the `parameter`
 * column says which, `sweep` is 1), and the lower convex hull of all classic rows is what an
 * operator could pick or mix (evaluate_stage.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/policy.h"
#include "scale/evaluate_internal.h"

#define HS_SWEEP_HEADROOM_STEP 5   /* percent, 0..100 */
#define HS_SWEEP_KEEPALIVE_MAX 60  /* minutes, 1..60 */

static const double hs_sweep_quantiles[] = {50, 60, 70, 80, 85, 90, 95, 97.5, 99, 99.5, 99.9, 100};
static const double hs_sweep_tails[] = {50, 75, 90, 95, 99, 99.9};

static hs_status hs_sweep_margin(const hs_evaluate_config *c, hs_eval_plan *p, hs_evaluate_result *r)
{
    for (int i = 1; i < 4; i++) {
        if (!p->have[i])
            continue;
        for (int pct = 0; pct <= 100; pct += HS_SWEEP_HEADROOM_STEP) {
            hs_policy mp = {.kind = HS_POLICY_MARGIN, .headroom_pct = pct};
            hs_env_metrics m;
            HS_TRY(hs_policy_evaluate(&mp, &p->s[i], &c->env, p->t_start, p->t_end, &m));
            char par[48];
            snprintf(par, sizeof par, "headroom=+%d%%", pct);
            HS_TRY(hs_eval_add_row(r, "forecast+margin", hs_forecasters[i], "sweep", par, 1, &m));
        }
    }
    return HS_OK;
}

static hs_status hs_sweep_keepalive(const hs_evaluate_config *c, hs_eval_plan *p, hs_evaluate_result *r)
{
    for (int k = 1; k <= HS_SWEEP_KEEPALIVE_MAX; k++) {
        hs_policy kp = {.kind = HS_POLICY_KEEPALIVE, .keepalive = k};
        hs_env_metrics m;
        HS_TRY(hs_policy_evaluate(&kp, &p->s[0], &c->env, p->t_start, p->t_end, &m));
        char par[48], name[32];
        snprintf(par, sizeof par, "minutes=%d", k);
        snprintf(name, sizeof name, "keepalive-%d", k);
        HS_TRY(hs_eval_add_row(r, name, "none", "sweep", par, 1, &m));
    }
    return HS_OK;
}

static hs_status hs_sweep_static(const hs_evaluate_config *c, hs_eval_plan *p, hs_evaluate_result *r)
{
    const hs_env_series *s = &p->s[0];
    int32_t *level = malloc((size_t)s->k * sizeof *level);
    if (!level)
        return hs_error_set(HS_ERR_NOMEM, "evaluate: out of memory");
    hs_status st = HS_OK;
    for (size_t i = 0; st == HS_OK && i < sizeof hs_sweep_quantiles / sizeof *hs_sweep_quantiles; i++) {
        double q = hs_sweep_quantiles[i];
        st = hs_policy_static_levels(s, q, level);
        hs_policy sp = {.kind = HS_POLICY_STATIC, .level = level};
        hs_env_metrics m;
        if (st == HS_OK)
            st = hs_policy_evaluate(&sp, s, &c->env, p->t_start, p->t_end, &m);
        char par[48], name[32];
        snprintf(par, sizeof par, "quantile=%g", q);
        snprintf(name, sizeof name, "static-p%g", q);
        if (st == HS_OK)
            st = hs_eval_add_row(r, name, "none", "sweep", par, 1, &m);
    }
    free(level);
    return st;
}

/* Per function: the histogram's keep-alive (tail) percentile, the pre-warm (head) at its 5th. */
static hs_status hs_sweep_histogram(const hs_evaluate_config *c, hs_eval_plan *p, hs_evaluate_result *r)
{
    const hs_env_series *s = &p->s[0];
    uint8_t *warm = malloc((size_t)(s->k * s->n));
    if (!warm)
        return hs_error_set(HS_ERR_NOMEM, "evaluate: out of memory");
    hs_status st = HS_OK;
    for (size_t i = 0; st == HS_OK && i < sizeof hs_sweep_tails / sizeof *hs_sweep_tails; i++) {
        hs_hist_config hc = HS_HIST_DEFAULTS;
        hc.keepalive_pct = hs_sweep_tails[i];
        hs_hist_stats hs;
        st = hs_eval_histogram(s, &hc, p->t_start, p->t_end, warm, &hs);
        hs_policy hp = {.kind = HS_POLICY_HISTOGRAM, .warm = warm};
        hs_env_metrics m;
        if (st == HS_OK)
            st = hs_policy_evaluate(&hp, s, &c->env, p->t_start, p->t_end, &m);
        char par[48];
        snprintf(par, sizeof par, "percentiles=%g/%g", hc.prewarm_pct, hc.keepalive_pct);
        if (st == HS_OK)
            st = hs_eval_add_row(r, "hybrid-histogram", "none", "sweep", par, 1, &m);
    }
    free(warm);
    return st;
}

hs_status hs_eval_sweep(const hs_evaluate_config *c, hs_eval_plan *p, hs_evaluate_result *r)
{
    if (!c->sweep)
        return HS_OK;
    if (hs_eval_selected(c->policies, "forecast+margin"))
        HS_TRY(hs_sweep_margin(c, p, r));
    if (hs_eval_selected(c->policies, "keepalive-10"))
        HS_TRY(hs_sweep_keepalive(c, p, r));
    if (hs_eval_selected(c->policies, "static-p99"))
        HS_TRY(hs_sweep_static(c, p, r));
    if (c->source == HS_ENV_FUNCTIONS && hs_eval_selected(c->policies, "hybrid-histogram"))
        HS_TRY(hs_sweep_histogram(c, p, r));
    return HS_OK;
}
