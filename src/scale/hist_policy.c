/* hist_policy.c: the hybrid-histogram keep-alive / pre-warm policy (hist_policy.h), replayed
 * minute by minute. The histogram, its sum of squared counts (for the CV) and the smoothed OOB
 * idle time are updated at each active minute; the windows are recomputed there too, so each
 * minute in between costs O(1). */
#include "hyscale/hist_policy.h"

#include <math.h>
#include <stdlib.h>

/* Guard for floor/ceil of products such as 1.1*30 that land a rounding error off an integer. */
#define HS_HIST_ROUND_EPS 1e-9

enum { HS_HIST_MODE_FIXED, HS_HIST_MODE_HIST, HS_HIST_MODE_TS };

typedef struct hs_hist_state {
    int64_t *count;    /* (bins) ITs per 1-minute bin */
    int64_t in_range;  /* sum of count */
    double sumsq;      /* sum of count[i]^2 */
    int64_t all;       /* ITs recorded, OOB included */
    int64_t oob;       /* ITs >= bins */
    double ts_pred;    /* smoothed OOB IT (valid when oob > 0) */
} hs_hist_state;

static int64_t hs_hist_floor(double x) { return (int64_t)floor(x + HS_HIST_ROUND_EPS); }
static int64_t hs_hist_ceil(double x) { return (int64_t)ceil(x - HS_HIST_ROUND_EPS); }

static void hs_hist_record(const hs_hist_config *cfg, hs_hist_state *s, int64_t it)
{
    s->all++;
    if (it >= cfg->bins) {
        s->ts_pred = s->oob == 0 ? (double)it : cfg->ts_alpha * (double)it + (1.0 - cfg->ts_alpha) * s->ts_pred;
        s->oob++;
        return;
    }
    int64_t c = s->count[it];
    s->sumsq += (double)(2 * c + 1); /* (c+1)^2 - c^2 */
    s->count[it] = c + 1;
    s->in_range++;
}

/* First bin whose cumulative count is positive and reaches pct/100 of in_range (> 0). */
static int64_t hs_hist_percentile_bin(const hs_hist_config *cfg, const hs_hist_state *s, double pct)
{
    double need = pct / 100.0 * (double)s->in_range - HS_HIST_ROUND_EPS;
    int64_t cum = 0;
    for (int i = 0; i < cfg->bins; i++) {
        cum += s->count[i];
        if (cum > 0 && (double)cum >= need)
            return i;
    }
    return cfg->bins - 1;
}

/* CV of the bin counts >= cv_min, compared squared: (B*sumsq - S^2) / S^2 >= cv_min^2. */
static int hs_hist_representative(const hs_hist_config *cfg, const hs_hist_state *s)
{
    if (s->in_range <= 0 || s->in_range < cfg->min_its)
        return 0;
    double b = (double)cfg->bins, sum = (double)s->in_range;
    double var_b2 = b * s->sumsq - sum * sum;
    return var_b2 >= cfg->cv_min * cfg->cv_min * sum * sum;
}

static int hs_hist_windows(const hs_hist_config *cfg, const hs_hist_state *s, int64_t *pw, int64_t *ka)
{
    if (s->all > 0 && (double)s->oob >= cfg->oob_max_frac * (double)s->all) {
        double p = s->ts_pred;
        int64_t lo = hs_hist_floor((1.0 - cfg->ts_margin) * p);
        int64_t hi = hs_hist_ceil((1.0 + cfg->ts_margin) * p);
        *pw = lo;
        *ka = hi > lo ? hi - lo : 1;
        return HS_HIST_MODE_TS;
    }
    if (s->all == 0 || !hs_hist_representative(cfg, s)) {
        *pw = 0;
        *ka = cfg->bins;
        return HS_HIST_MODE_FIXED;
    }
    int64_t head = hs_hist_percentile_bin(cfg, s, cfg->prewarm_pct);
    int64_t tail = hs_hist_percentile_bin(cfg, s, cfg->keepalive_pct) + 1;
    int64_t lo = hs_hist_floor((1.0 - cfg->margin) * (double)head);
    int64_t hi = hs_hist_ceil((1.0 + cfg->margin) * (double)tail);
    *pw = lo;
    *ka = hi > lo ? hi - lo : 1;
    return HS_HIST_MODE_HIST;
}

static hs_status hs_hist_check(const hs_hist_config *c, int64_t n, int64_t t_begin, int64_t t_end)
{
    if (n <= 0)
        return hs_error_set(HS_ERR_USAGE, "hist_policy: n = %lld, need n >= 1", (long long)n);
    if (t_begin < 0 || t_begin > t_end || t_end >= n)
        return hs_error_set(HS_ERR_USAGE,
                            "hist_policy: range t_begin = %lld, t_end = %lld, need 0 <= t_begin <= t_end < n = %lld",
                            (long long)t_begin, (long long)t_end, (long long)n);
    if (c->bins < 1)
        return hs_error_set(HS_ERR_USAGE, "hist_policy: bins = %d, need >= 1", c->bins);
    if (!(c->prewarm_pct >= 0 && c->prewarm_pct <= 100))
        return hs_error_set(HS_ERR_USAGE, "hist_policy: prewarm_pct = %g, need 0..100", c->prewarm_pct);
    if (!(c->keepalive_pct >= c->prewarm_pct && c->keepalive_pct <= 100))
        return hs_error_set(HS_ERR_USAGE, "hist_policy: keepalive_pct = %g, need prewarm_pct (%g)..100",
                            c->keepalive_pct, c->prewarm_pct);
    if (!(c->margin >= 0 && c->margin < 1))
        return hs_error_set(HS_ERR_USAGE, "hist_policy: margin = %g, need 0 <= margin < 1", c->margin);
    if (!(c->cv_min >= 0 && isfinite(c->cv_min)))
        return hs_error_set(HS_ERR_USAGE, "hist_policy: cv_min = %g, need a finite value >= 0", c->cv_min);
    if (!(c->oob_max_frac > 0 && c->oob_max_frac <= 1))
        return hs_error_set(HS_ERR_USAGE, "hist_policy: oob_max_frac = %g, need 0 < f <= 1", c->oob_max_frac);
    if (c->min_its < 0)
        return hs_error_set(HS_ERR_USAGE, "hist_policy: min_its = %d, need >= 0", c->min_its);
    if (!(c->ts_alpha > 0 && c->ts_alpha <= 1))
        return hs_error_set(HS_ERR_USAGE, "hist_policy: ts_alpha = %g, need 0 < alpha <= 1", c->ts_alpha);
    if (!(c->ts_margin >= 0 && c->ts_margin < 1))
        return hs_error_set(HS_ERR_USAGE, "hist_policy: ts_margin = %g, need 0 <= margin < 1", c->ts_margin);
    return HS_OK;
}

hs_status hs_hist_policy_run(const hs_hist_config *cfg, const uint8_t *active, int64_t n, int64_t t_begin,
                             int64_t t_end, uint8_t *warm, hs_hist_stats *stats)
{
    HS_ASSERT(cfg != NULL);
    HS_ASSERT(active != NULL);
    HS_ASSERT(warm != NULL);
    HS_TRY(hs_hist_check(cfg, n, t_begin, t_end));

    hs_hist_state s = {0};
    s.count = calloc((size_t)cfg->bins, sizeof *s.count);
    if (!s.count)
        return hs_error_set(HS_ERR_NOMEM, "hist_policy: histogram of %d bins", cfg->bins);

    hs_hist_stats st = {0};
    int64_t last = -1; /* last active minute seen, -1 before any */
    int64_t pw = 0, ka = 0;
    int mode = HS_HIST_MODE_FIXED;
    for (int64_t t = 0;; t++) {
        if (t > t_begin) {
            int64_t d = t - last; /* minutes since the last active minute */
            warm[t] = (uint8_t)(last >= 0 && d > pw && d <= pw + ka);
            if (mode == HS_HIST_MODE_HIST)
                st.decisions_hist++;
            else if (mode == HS_HIST_MODE_TS)
                st.decisions_ts++;
            else
                st.decisions_fixed++;
        }
        if (t == t_end)
            break;
        if (active[t]) {
            if (last >= 0)
                hs_hist_record(cfg, &s, t - last - 1);
            last = t;
            mode = hs_hist_windows(cfg, &s, &pw, &ka);
        }
    }
    free(s.count);

    if (stats) {
        st.idle_times = s.all;
        st.idle_oob = s.oob;
        st.prewarm = pw;
        st.keepalive = ka;
        *stats = st;
    }
    return HS_OK;
}
