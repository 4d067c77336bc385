/* backtest_rules.c: Prophet's diagnostics rules in C (backtest.h): the durations of the
 * options, generate_cutoffs, performance_metrics (rolling_mean_by_h, rolling_median_by_h) and
 * the horizon's text as pandas writes it. Read beside prophet/diagnostics.py (Prophet 1.5.0). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/backtest.h"
#include "hyscale/parse.h"
#include "hyscale/select.h"

int hs_backtest_parse_duration(const char *text, int64_t *seconds)
{
    if (!text)
        return -1;
    size_t len = strlen(text), k = 0;
    while (k < len && ((text[k] >= '0' && text[k] <= '9') || text[k] == '.'))
        k++;
    double v;
    if (k == 0 || hs_parse_real(text, k, 0.0, HS_PARSE_Y_MAX, &v) != HS_PARSE_OK)
        return -1;
    const char *u = text + k;
    if (*u == ' ')
        u++;
    static const struct {
        const char *name;
        double s;
    } units[] = {{"", 60},        {"d", 86400},    {"day", 86400}, {"days", 86400},  {"h", 3600},
                 {"hour", 3600},  {"hours", 3600}, {"m", 60},      {"min", 60},      {"minutes", 60},
                 {"minute", 60},  {"s", 1},        {"sec", 1},     {"seconds", 1},   {"second", 1}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (!strcmp(u, units[i].name)) {
            if (!*u && text[k] == ' ')
                return -1; /* a number and a trailing space */
            double s = v * units[i].s;
            if (!(s >= 1) || s > 1e12 || s != floor(s))
                return -1;
            *seconds = (int64_t)s;
            return 0;
        }
    return -1;
}

int64_t hs_backtest_last_at_or_before(const int64_t *ds, int64_t n, int64_t t)
{
    int64_t lo = 0, hi = n - 1, r = -1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (ds[mid] <= t) {
            r = mid;
            lo = mid + 1;
        } else
            hi = mid - 1;
    }
    return r;
}

hs_status hs_backtest_cutoffs(const int64_t *ds, int64_t n, int64_t horizon, int64_t initial, int64_t period,
                              int64_t **cut, int64_t *ncut)
{
    *cut = NULL;
    *ncut = 0;
    HS_ASSERT(n >= 1 && horizon > 0 && period > 0 && initial >= 0);
    int64_t lo = ds[0], cutoff = ds[n - 1] - horizon;
    if (cutoff < lo)
        return hs_error_set(HS_ERR_INPUT, "backtest: less data than the horizon (%lld s of data, horizon %lld s)",
                            (long long)(ds[n - 1] - lo), (long long)horizon);
    int64_t cap = 16, k = 0;
    int64_t *r = malloc((size_t)cap * sizeof *r);
    if (!r)
        return hs_error_set(HS_ERR_NOMEM, "backtest: out of memory");
    r[k++] = cutoff;
    while (r[k - 1] >= lo + initial) {
        cutoff -= period;
        /* no point in (cutoff, cutoff + horizon]: next, the last point before the cutoff - horizon */
        int64_t i = hs_backtest_last_at_or_before(ds, n, cutoff);
        int any = i + 1 < n && ds[i + 1] <= cutoff + horizon;
        if (!any && cutoff > lo)
            cutoff = ds[i] - horizon;
        if (k == cap) {
            int64_t *p = realloc(r, (size_t)(cap *= 2) * sizeof *r);
            if (!p) {
                free(r);
                return hs_error_set(HS_ERR_NOMEM, "backtest: out of memory");
            }
            r = p;
        }
        r[k++] = cutoff;
    }
    k--; /* the last one fell before the initial window */
    if (k == 0) {
        free(r);
        return hs_error_set(HS_ERR_INPUT, "backtest: less data than the horizon after the initial window: make the "
                                          "horizon or the initial window shorter");
    }
    for (int64_t a = 0, b = k - 1; a < b; a++, b--) {
        int64_t t = r[a];
        r[a] = r[b];
        r[b] = t;
    }
    *cut = r;
    *ncut = k;
    return HS_OK;
}

/* The rows sorted by horizon (stable: ties keep the table's order, cutoffs ascending). */
typedef struct hs_bt_sorted {
    int64_t h;
    int64_t row;
} hs_bt_sorted;

static int hs_bt_cmp(const void *a, const void *b)
{
    const hs_bt_sorted *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* rolling_mean_by_h: x (n) sorted by horizon in groups g (ng groups: first index gs[g], count
 * gn[g]); out (ng) NaN where the window of w cannot be filled. Returns the first group filled. */
static int64_t hs_bt_rolling_mean(const double *x, const int64_t *gs, const int64_t *gn, int64_t ng, int64_t w,
                                  double *out)
{
    double *xs = malloc((size_t)ng * sizeof *xs);
    if (!xs)
        return -1;
    for (int64_t g = 0; g < ng; g++) {
        double s = 0;
        for (int64_t i = 0; i < gn[g]; i++)
            s += x[gs[g] + i];
        xs[g] = s;
        out[g] = NAN;
    }
    int64_t trailing = ng - 1, nsum = 0;
    double xsum = 0;
    for (int64_t i = ng - 1; i >= 0; i--) {
        xsum += xs[i];
        nsum += gn[i];
        while (nsum >= w) {
            /* the points of group i beyond the window, weighted by group i's mean */
            double excess_x = (double)(nsum - w) * xs[i] / (double)gn[i];
            out[trailing] = (xsum - excess_x) / (double)w;
            xsum -= xs[trailing];
            nsum -= gn[trailing];
            trailing--;
        }
    }
    free(xs);
    return trailing + 1;
}

/* rolling_median_by_h: each group's points, then the points before it one at a time (the
 * sorted order backwards) until there are w; the median. Returns the first group filled. */
static int64_t hs_bt_rolling_median(const double *x, const int64_t *gs, const int64_t *gn, int64_t ng, int64_t w,
                                    int64_t n, double *out)
{
    double *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof *buf);
    if (!buf)
        return -1;
    int64_t g = ng - 1;
    for (int64_t i = 0; i < ng; i++)
        out[i] = NAN;
    for (; g >= 0; g--) {
        int64_t m = 0;
        for (int64_t i = 0; i < gn[g]; i++)
            buf[m++] = x[gs[g] + i];
        for (int64_t next = gs[g] - 1; m < w && next >= 0; next--)
            buf[m++] = x[next];
        if (m < w)
            break;
        int nan = 0;
        for (int64_t i = 0; i < m; i++)
            nan |= isnan(buf[i]);
        out[g] = nan ? NAN : hs_quantile_inplace(buf, m, 50.0); /* np.median of a NaN is NaN */
    }
    free(buf);
    return g + 1;
}

void hs_bt_metrics_free(hs_bt_metrics *m)
{
    if (!m)
        return;
    free(m->horizon);
    free(m->mse);
    free(m->rmse);
    free(m->mae);
    free(m->mape);
    free(m->mdape);
    free(m->smape);
    free(m->coverage);
    memset(m, 0, sizeof *m);
}

hs_status hs_backtest_metrics(const hs_bt_table *cv, double rolling_window, hs_bt_metrics *out)
{
    memset(out, 0, sizeof *out);
    int64_t n = cv->n;
    if (n < 1)
        return hs_error_set(HS_ERR_INPUT, "backtest: no forecasts to score");
    HS_ASSERT(rolling_window >= 0 && rolling_window <= 1);
    hs_bt_sorted *s = malloc((size_t)n * sizeof *s);
    double *x = malloc((size_t)n * 5 * sizeof *x); /* by sorted row: se, ae, ape, sape, covered */
    int64_t *gs = malloc((size_t)n * sizeof *gs), *gn = malloc((size_t)n * sizeof *gn);
    double *col = malloc((size_t)n * 6 * sizeof *col);
    hs_status st = s && x && gs && gn && col ? HS_OK : hs_error_set(HS_ERR_NOMEM, "backtest: out of memory");
    int64_t ng = 0;
    if (st == HS_OK) {
        for (int64_t i = 0; i < n; i++)
            s[i] = (hs_bt_sorted){cv->ds[i] - cv->cutoff[i], i};
        qsort(s, (size_t)n, sizeof *s, hs_bt_cmp);
        out->has_mape = 1;
        out->has_coverage = cv->lower && cv->upper;
        for (int64_t i = 0; i < n; i++) {
            int64_t r = s[i].row;
            double y = cv->y[r], yh = cv->yhat[r], e = y - yh;
            x[i] = e * e;
            x[n + i] = fabs(e);
            x[2 * n + i] = y != 0 ? fabs(e / y) : e != 0 ? INFINITY : NAN; /* numpy's e / 0 */
            double den = (fabs(y) + fabs(yh)) / 2;
            x[3 * n + i] = den > 0 ? fabs(e) / den : 0.0; /* smape: 0 / 0 is 0 (Prophet's fillna) */
            if (out->has_coverage) {
                if (isnan(cv->lower[r]) || isnan(cv->upper[r]))
                    out->has_coverage = 0;
                else
                    x[4 * n + i] = y >= cv->lower[r] && y <= cv->upper[r];
            }
            if (fabs(y) < 1e-8)
                out->has_mape = 0; /* Prophet: "Skipping MAPE because y close to 0" */
            if (i == 0 || s[i].h != s[i - 1].h) {
                gs[ng] = i;
                gn[ng++] = 0;
            }
            gn[ng - 1]++;
        }
    }
    int64_t w = (int64_t)(rolling_window * (double)n);
    w = w < 1 ? 1 : w > n ? n : w;
    /* col: mse, mae, mape, mdape, smape, coverage by group */
    int64_t first = 0;
    const int which[6] = {0, 1, 2, 2, 3, 4};
    for (int c = 0; st == HS_OK && c < 6; c++) {
        if ((c == 2 && !out->has_mape) || (c == 5 && !out->has_coverage)) {
            for (int64_t g = 0; g < ng; g++)
                col[c * n + g] = NAN;
            continue;
        }
        int64_t f = c == 3 ? hs_bt_rolling_median(x + which[c] * n, gs, gn, ng, w, n, col + c * n)
                           : hs_bt_rolling_mean(x + which[c] * n, gs, gn, ng, w, col + c * n);
        if (f < 0)
            st = hs_error_set(HS_ERR_NOMEM, "backtest: out of memory");
        else if (c == 0)
            first = f;
        else
            HS_ASSERT(f == first); /* Prophet asserts the metrics share their horizons */
    }
    int64_t m = ng - first;
    if (st == HS_OK) {
        out->n = m;
        out->horizon = malloc((size_t)(m > 0 ? m : 1) * sizeof *out->horizon);
        double **dst[7] = {&out->mse, &out->rmse, &out->mae, &out->mape, &out->mdape, &out->smape, &out->coverage};
        for (int k = 0; k < 7; k++)
            *dst[k] = malloc((size_t)(m > 0 ? m : 1) * sizeof **dst[k]);
        if (!out->horizon || !out->mse || !out->rmse || !out->mae || !out->mape || !out->mdape || !out->smape ||
            !out->coverage)
            st = hs_error_set(HS_ERR_NOMEM, "backtest: out of memory");
    }
    for (int64_t i = 0; st == HS_OK && i < m; i++) {
        int64_t g = first + i;
        out->horizon[i] = s[gs[g]].h;
        out->mse[i] = col[g];
        out->rmse[i] = sqrt(col[g]);
        out->mae[i] = col[n + g];
        out->mape[i] = col[2 * n + g];
        out->mdape[i] = isfinite(col[3 * n + g]) ? col[3 * n + g] : NAN;
        out->smape[i] = col[4 * n + g];
        out->coverage[i] = col[5 * n + g];
    }
    free(s);
    free(x);
    free(gs);
    free(gn);
    free(col);
    if (st != HS_OK)
        hs_bt_metrics_free(out);
    return st;
}

void hs_backtest_format_horizon(int64_t seconds, int all_days, char *buf, size_t cap)
{
    int64_t d = seconds / 86400, r = seconds % 86400;
    if (all_days)
        snprintf(buf, cap, "%lld days", (long long)d);
    else
        snprintf(buf, cap, "%lld days %02lld:%02lld:%02lld", (long long)d, (long long)(r / 3600),
                 (long long)(r / 60 % 60), (long long)(r % 60));
}
