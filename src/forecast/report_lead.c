/* report_lead.c: the scores by lead time of forecast_report.md (report_lead.h): MAE and RMSE in
 * the lead buckets of lead.h (1, 2-5, 6-15, 16-60, 61-240 and 241-1,440 minutes, each pooled over
 * its sampled leads) from the rolling cutoffs of lead.h over the holdout, for every model and
 * baseline, as two tables, forecast_by_lead.csv and a plot.
 *
 * From a cutoff c (the last point known) the forecast of point c + L is: Prophet's yhat there
 * (prophet_full.csv: Prophet fitted on the training span is a function of the time alone, so
 * its forecast from any cutoff inside the holdout is the same number), the LSTM's recursive
 * forecast from c (lstm_by_lead.csv, written by the LSTM stage from the same cutoffs), their
 * average (the Hybrid average), y[c] (persistence) and y[c + L - day] (seasonal naive, the
 * same time the day before, known at c for every L up to a day). */
#include "report_lead.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hyscale/backtest_csv.h"
#include "hyscale/hybrid.h"
#include "hyscale/lead.h"
#include "hyscale/math/errsum.h"
#include "hyscale/plot.h"

enum { HS_RL_PROPHET, HS_RL_LSTM, HS_RL_HYBRID_LEAD, HS_RL_HYBRID, HS_RL_PERSIST, HS_RL_SNAIVE, HS_RL_MODELS };

static const char *const hs_rl_key[HS_RL_MODELS] = {"prophet",        "lstm_recursive", "hybrid",
                                                    "hybrid_average", "persistence",    "seasonal_naive"};
static const char *const hs_rl_name[HS_RL_MODELS] = {"Prophet",
                                                     "LSTM (recursive)",
                                                     "Hybrid (per lead, the default)",
                                                     "Hybrid (average)",
                                                     "persistence (last point at the cutoff)",
                                                     "seasonal naive (same time the day before)"};
static const hs_color hs_rl_color[HS_RL_MODELS] = {HS_COLOR_BLUE, HS_COLOR_GREEN, HS_COLOR_RED,
                                                   HS_COLOR_PURPLE, HS_COLOR_GREY, HS_COLOR_ORANGE};

typedef struct hs_rl_score {
    double mae, rmse;
    int64_t count, pairs; /* cutoffs that reach the bucket; forecasts scored in it */
} hs_rl_score;

/* Index of time t in the sorted ds (n), or -1. */
static int64_t hs_rl_find(const int64_t *ds, int64_t n, int64_t t)
{
    int64_t lo = 0, hi = n - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (ds[mid] == t)
            return mid;
        if (ds[mid] < t)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* The LSTM's forecasts into lf (nc, HS_LEAD_SAMPLES) by cutoff slot and sampled lead; NAN where
 * absent. *have: 0 when lstm_by_lead.csv is missing. A row that does not land on a cutoff and a
 * sampled lead of this holdout means the LSTM ran on another series or holdout: an input error.
 * (A file from before the sampled leads holds the six leads alone, all of them samples: its
 * buckets are scored at their ends.) */
static hs_status hs_rl_read_lstm(const char *dir, const hs_fc_table *pf, int64_t ntr, int64_t step, int64_t nc,
                                 double *lf, int *have)
{
    for (int64_t i = 0; i < nc * HS_LEAD_SAMPLES; i++)
        lf[i] = NAN;
    char p[4096];
    snprintf(p, sizeof p, "%s/lstm_by_lead.csv", dir);
    hs_bt_table t;
    hs_status st = hs_bt_table_read(p, &t);
    *have = st == HS_OK;
    if (st == HS_ERR_IO) {
        hs_error_clear();
        return HS_OK;
    }
    HS_TRY(st);
    int64_t stride = hs_lead_stride(step);
    for (int64_t r = 0; st == HS_OK && r < t.n; r++) {
        int64_t c = hs_rl_find(pf->ds, pf->n, t.cutoff[r]), x = hs_rl_find(pf->ds, pf->n, t.ds[r]);
        int j = c >= 0 && x >= 0 ? hs_lead_sample_of(x - c, step) : -1;
        int64_t k = c >= ntr - 1 ? (c - (ntr - 1)) / stride : -1;
        if (j < 0 || k < 0 || k >= nc || (c - (ntr - 1)) % stride)
            st = hs_error_set(HS_ERR_INPUT, "%s:%lld: not a forecast from a cutoff of this holdout at a lead of the "
                                            "report (made from another series or holdout? run forecast lstm again)",
                              p, (long long)r + 2);
        else
            lf[k * HS_LEAD_SAMPLES + j] = t.yhat[r];
    }
    hs_bt_table_free(&t);
    return st;
}

/* Sums |e| and e^2 of each model in each bucket over the cutoffs and the bucket's sampled leads;
 * count: the cutoffs that reach the bucket, pairs: the forecasts scored. */
static void hs_rl_score_all(const hs_fc_table *pf, const int64_t *cut, int64_t nc, const double *lf, int have_lstm,
                            const double *wlead, const double *alead, int64_t step,
                            hs_rl_score sc[HS_RL_MODELS][HS_LEADS])
{
    int64_t n = pf->n, day = 86400 / step;
    hs_errsum s[HS_RL_MODELS][HS_LEADS];
    int64_t cnt[HS_RL_MODELS][HS_LEADS];
    memset(s, 0, sizeof s);
    memset(cnt, 0, sizeof cnt);
    memset(sc, 0, sizeof(hs_rl_score) * HS_RL_MODELS * HS_LEADS);
    for (int64_t k = 0; k < nc; k++) {
        int64_t c = cut[k];
        int reached[HS_LEADS] = {0};
        for (int j = 0; j < HS_LEAD_SAMPLES; j++) {
            int64_t L = hs_lead_sample_points(j, step), x = c + L;
            int i = hs_lead_sample_bucket(j);
            if (L <= 0 || x >= n || isnan(pf->y[x]))
                continue;
            double y = pf->y[x], f[HS_RL_MODELS];
            f[HS_RL_PROPHET] = pf->yhat[x];
            f[HS_RL_LSTM] = have_lstm ? lf[k * HS_LEAD_SAMPLES + j] : NAN;
            f[HS_RL_HYBRID] = 0.5 * (f[HS_RL_PROPHET] + f[HS_RL_LSTM]);
            double ec = pf->y[c] - pf->yhat[c]; /* Prophet's error at the cutoff: the correction's input */
            f[HS_RL_HYBRID_LEAD] = wlead ? hs_hybrid_lead_forecast(wlead, alead, (double)(L * step) / 60.0,
                                                                   f[HS_RL_PROPHET], f[HS_RL_LSTM], isnan(ec) ? 0 : ec)
                                         : NAN;
            f[HS_RL_PERSIST] = pf->y[c];
            f[HS_RL_SNAIVE] = day >= 1 && L <= day && x - day >= 0 ? pf->y[x - day] : NAN;
            for (int mdl = 0; mdl < HS_RL_MODELS; mdl++)
                if (!isnan(f[mdl])) {
                    double e = y - f[mdl];
                    s[mdl][i].abs_sum += fabs(e);
                    s[mdl][i].sq_sum += e * e;
                    cnt[mdl][i]++;
                    if (!(reached[i] >> mdl & 1)) {
                        reached[i] |= 1 << mdl;
                        sc[mdl][i].count++;
                    }
                }
        }
    }
    for (int mdl = 0; mdl < HS_RL_MODELS; mdl++)
        for (int i = 0; i < HS_LEADS; i++) {
            int64_t m = cnt[mdl][i];
            sc[mdl][i].pairs = m;
            sc[mdl][i].mae = m ? s[mdl][i].abs_sum / (double)m : NAN;
            sc[mdl][i].rmse = m ? sqrt(s[mdl][i].sq_sum / (double)m) : NAN;
        }
}

/* Bucket i's leads: "1 min", "2-5 min", .., "241-1440 min". */
static void hs_rl_lead_text(int i, char *buf, size_t cap)
{
    int64_t a = hs_lead_bucket_first_minutes(i), m = hs_lead_minutes(i);
    if (a == m)
        snprintf(buf, cap, "%lld min", (long long)m);
    else
        snprintf(buf, cap, "%lld-%lld min", (long long)a, (long long)m);
}

/* One markdown table (rmse 0: MAE, 1: RMSE) of every model with a score, then the cutoffs row. */
static void hs_rl_table(FILE *md, hs_rl_score sc[HS_RL_MODELS][HS_LEADS], int rmse, const int used[HS_LEADS])
{
    char lt[32];
    fprintf(md, "| %s", rmse ? "RMSE" : "MAE");
    for (int i = 0; i < HS_LEADS; i++)
        if (used[i]) {
            hs_rl_lead_text(i, lt, sizeof lt);
            fprintf(md, " | %s", lt);
        }
    fputs(" |\n|---|", md);
    for (int i = 0; i < HS_LEADS; i++)
        if (used[i])
            fputs("---:|", md);
    fputc('\n', md);
    for (int mdl = 0; mdl < HS_RL_MODELS; mdl++) {
        int any = 0;
        for (int i = 0; i < HS_LEADS; i++)
            any |= used[i] && sc[mdl][i].count > 0;
        if (!any)
            continue;
        fprintf(md, "| %s", hs_rl_name[mdl]);
        for (int i = 0; i < HS_LEADS; i++)
            if (used[i]) {
                if (sc[mdl][i].count > 0)
                    fprintf(md, " | %.2f", rmse ? sc[mdl][i].rmse : sc[mdl][i].mae);
                else
                    fputs(" | n/a", md);
            }
        fputs(" |\n", md);
    }
    fputs("| cutoffs", md);
    for (int i = 0; i < HS_LEADS; i++)
        if (used[i])
            fprintf(md, " | %lld", (long long)sc[HS_RL_PROPHET][i].count);
    fputs(" |\n| forecasts", md);
    for (int i = 0; i < HS_LEADS; i++)
        if (used[i])
            fprintf(md, " | %lld", (long long)sc[HS_RL_PROPHET][i].pairs);
    fputs(" |\n\n", md);
}

static hs_status hs_rl_csv(hs_outset *os, hs_rl_score sc[HS_RL_MODELS][HS_LEADS])
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, "forecast_by_lead.csv", &f, &tmp));
    fputs("model,lead,mae,rmse,origins,lead_from,forecasts\n", f);
    int64_t line = 1;
    static const char *const names[2] = {"mae", "rmse"};
    for (int mdl = 0; mdl < HS_RL_MODELS; mdl++)
        for (int i = 0; i < HS_LEADS; i++) {
            const hs_rl_score *s = &sc[mdl][i];
            if (s->count <= 0)
                continue;
            double v[2] = {s->mae, s->rmse};
            HS_TRY(hs_out_check_finite(tmp, ++line, 3, names, v, 2));
            fprintf(f, "%s,%lld,%.6g,%.6g,%lld,%lld,%lld\n", hs_rl_key[mdl], (long long)hs_lead_minutes(i), s->mae,
                    s->rmse, (long long)s->count, (long long)hs_lead_bucket_first_minutes(i), (long long)s->pairs);
        }
    return HS_OK;
}

/* forecast_by_lead.png: MAE (top) and RMSE (bottom) against log10 of the lead in minutes. */
static hs_status hs_rl_plot(hs_outset *os, hs_rl_score sc[HS_RL_MODELS][HS_LEADS])
{
    double x[HS_RL_MODELS][HS_LEADS], ya[HS_RL_MODELS][HS_LEADS], yr[HS_RL_MODELS][HS_LEADS];
    hs_plot_line la[HS_RL_MODELS], lr[HS_RL_MODELS];
    int nl = 0;
    for (int mdl = 0; mdl < HS_RL_MODELS; mdl++) {
        int64_t k = 0;
        for (int i = 0; i < HS_LEADS; i++)
            if (sc[mdl][i].count > 0) {
                x[nl][k] = log10((double)hs_lead_minutes(i));
                ya[nl][k] = sc[mdl][i].mae;
                yr[nl][k] = sc[mdl][i].rmse;
                k++;
            }
        if (k == 0)
            continue;
        la[nl] = (hs_plot_line){x[nl], ya[nl], k, hs_rl_key[mdl], hs_rl_color[mdl]};
        lr[nl] = (hs_plot_line){x[nl], yr[nl], k, hs_rl_key[mdl], hs_rl_color[mdl]};
        nl++;
    }
    if (nl == 0)
        return HS_OK;
    const char *xl = "lead, log10 minutes (0: 1 min, 1.78: 1 h, 3.16: 1 day)";
    hs_plot_panel_spec p[2] = {{"MAE by lead", xl, "MAE", la, nl}, {"RMSE by lead", xl, "RMSE", lr, nl}};
    const char *tmp;
    HS_TRY(hs_outset_path(os, "forecast_by_lead.png", &tmp));
    return hs_plot_panels_png(tmp, "Forecast error by lead time (rolling cutoffs over the holdout)", p, 2);
}

hs_status hs_report_by_lead(const char *dir, const hs_fc_table *pf, int64_t H, int64_t step, hs_outset *os, FILE *md)
{
    int64_t n = pf->n, ntr = n - H;
    int64_t *cut = malloc((size_t)HS_LEAD_MAX_CUTOFFS(H) * sizeof *cut);
    double *lf = malloc((size_t)HS_LEAD_MAX_CUTOFFS(H) * HS_LEAD_SAMPLES * sizeof *lf);
    hs_status st = cut && lf ? HS_OK : hs_error_set(HS_ERR_NOMEM, "report: out of memory");
    int64_t nc = st == HS_OK ? hs_lead_cutoffs(ntr, n, step, cut) : 0;
    int have = 0, have_w = 0;
    double wlead[HS_LEADS], alead[HS_LEADS];
    if (st == HS_OK)
        st = hs_rl_read_lstm(dir, pf, ntr, step, nc, lf, &have);
    char hp[4096];
    snprintf(hp, sizeof hp, "%s/hybrid_metrics.json", dir);
    if (st == HS_OK && access(hp, F_OK) == 0)
        st = hs_hybrid_lead_read(hp, wlead, alead, &have_w);
    hs_rl_score sc[HS_RL_MODELS][HS_LEADS];
    int used[HS_LEADS], any = 0;
    if (st == HS_OK) {
        hs_rl_score_all(pf, cut, nc, lf, have, have_w ? wlead : NULL, alead, step, sc);
        for (int i = 0; i < HS_LEADS; i++)
            any |= used[i] = sc[HS_RL_PROPHET][i].count > 0;
    }
    if (st == HS_OK) {
        char every[48] = "point";
        if (hs_lead_stride(step) > 1)
            snprintf(every, sizeof every, "%lld points", (long long)hs_lead_stride(step));
        fprintf(md, "\n## Scores by lead time\n\nMAE and RMSE of the forecast of the point L after a cutoff, over "
                    "rolling cutoffs in the holdout: the end of the training span, then every %s. A column pools "
                    "the leads of its bucket (every minute to 15, every 5 to 60, every 15 to 240, every 60 to a "
                    "day; those a whole number of points) from every cutoff they land inside the series from: "
                    "the cutoffs row counts the cutoffs, the forecasts row the forecasts scored.\n\n",
                every);
        if (any) {
            hs_rl_table(md, sc, 0, used);
            hs_rl_table(md, sc, 1, used);
        } else
            fputs("No lead of 1, 5, 15, 60, 240 or 1,440 minutes fits this holdout and step.\n\n", md);
        fprintf(md, "Prophet, fitted once on the training span, forecasts a function of the time alone: its "
                    "forecast of a point is the same from every cutoff. The LSTM forecasts recursively from each "
                    "cutoff (its forecasts fed back), trained once on the training span%s; the Hybrid (average) is "
                    "their average, the Hybrid (per lead) their blend with Prophet's weight at each lead, plus a share of "
                    "Prophet's error at the cutoff, both chosen on the validation span (hybrid_metrics.json, "
                    "per_lead). Persistence repeats the last point known; the seasonal naive forecast is the point "
                    "a day before the one forecast. Table: forecast_by_lead.csv; plot: forecast_by_lead.png.\n",
                have ? "" : " (no lstm_by_lead.csv in this folder: run `hyscale forecast lstm` with a holdout)");
    }
    if (st == HS_OK && any)
        st = hs_rl_csv(os, sc);
    if (st == HS_OK && any)
        st = hs_rl_plot(os, sc);
    free(cut);
    free(lf);
    return st;
}
