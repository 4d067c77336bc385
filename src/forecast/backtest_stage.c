/* backtest_stage.c: `hyscale backtest` (backtest.h) in three steps like the other stages: plan
 * (read the input, resolve Prophet's defaults, the cutoffs and the rows each forecasts),
 * compute (Prophet refitted at every cutoff, the LSTM trained once and forecasting from every
 * cutoff, or their average; then performance_metrics), write (every file together or none). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/backtest.h"
#include "hyscale/forecast_input.h"
#include "hyscale/lstm_stage.h"
#include "hyscale/manifest.h"
#include "hyscale/math/rng.h"
#include "hyscale/outfiles.h"
#include "hyscale/plot.h"
#include "hyscale/progress.h"
#include "hyscale/prophet_stage.h"
#include "hyscale/series.h"

static const char *const hs_bt_model_names[3] = {"prophet", "lstm", "hybrid"};

hs_status hs_backtest_check(const hs_backtest_config *c)
{
    const int64_t *d[3] = {&c->horizon, &c->period, &c->initial};
    static const char *const names[3] = {"--horizon", "--period", "--initial"};
    for (int i = 0; i < 3; i++)
        if (*d[i] != -1 && *d[i] <= 0)
            return hs_error_set(HS_ERR_USAGE, "%s %lld s: out of range (positive)", names[i], (long long)*d[i]);
    if (!(c->rolling_window >= 0 && c->rolling_window <= 1))
        return hs_error_set(HS_ERR_USAGE, "--rolling-window %g: out of range [0, 1]", c->rolling_window);
    if ((int)c->model < 0 || (int)c->model > 2)
        return hs_error_set(HS_ERR_USAGE, "--model: prophet, lstm or hybrid");
    hs_prophet_stage_config pc = HS_PROPHET_STAGE_DEFAULTS;
    pc.model = c->prophet;
    HS_TRY(hs_prophet_stage_check(&pc));
    if (c->model != HS_BT_PROPHET) {
        hs_lstm_stage_config lc = HS_LSTM_STAGE_DEFAULTS;
        lc.train = c->lstm;
        HS_TRY(hs_lstm_stage_check(&lc));
    }
    return HS_OK;
}

/* Everything one run holds between plan, compute and write. */
typedef struct hs_bt_job {
    hs_forecast_input in;
    float *yin;                 /* (n) the actuals written as y */
    hs_prophet_config pcfg;     /* the seasonalities of the model on every point, fixed */
    int64_t horizon, period, initial;
    int64_t *cut, ncut;         /* cutoffs (seconds) */
    int64_t *last;              /* (ncut) index of the last point at or before each cutoff */
    int64_t *first_row;         /* (ncut + 1) each cutoff's first row of the table */
    int64_t rows, max_steps;
    int64_t *t_cut, *t_ds;      /* (rows) */
    double *y, *yhat, *lo, *hi; /* (rows); lo, hi with Prophet's interval only */
    double *yp, *yl;            /* (rows) Prophet's and the LSTM's yhat (hybrid) */
    hs_bt_metrics met;
    double seconds, lstm_train_seconds;
    int lstm_epochs, lstm_calendar, lstm_outputs; /* as trained (hs_lstm_stage_resolve) */
    int64_t lstm_train_points;
} hs_bt_job;

static void hs_bt_job_free(hs_bt_job *j)
{
    free(j->yin);
    free(j->cut);
    free(j->last);
    free(j->first_row);
    free(j->t_cut);
    free(j->t_ds);
    free(j->y);
    free(j->yhat);
    free(j->lo);
    free(j->hi);
    free(j->yp);
    free(j->yl);
    hs_bt_metrics_free(&j->met);
    hs_forecast_input_free(&j->in);
}

/* Plan, 1: the defaults as Prophet resolves them. The seasonalities are those of the model on
 * every point (cross_validation copies them into each cutoff's model, prophet_copy). */
static hs_status hs_bt_defaults(const hs_backtest_config *c, hs_bt_job *j)
{
    const hs_forecast_input *in = &j->in;
    hs_seasonality seas[HS_PROPHET_MAX_SEASONALITIES];
    int ns = hs_prophet_seasonalities(&c->prophet, in->ds, in->n, seas);
    j->pcfg = c->prophet;
    memcpy(j->pcfg.extra, seas, sizeof seas);
    j->pcfg.n_extra = ns;
    j->pcfg.yearly = j->pcfg.weekly = j->pcfg.daily = 0;
    j->pcfg.trend_interval = 0; /* cross_validation keeps yhat's interval only */
    double pmax = 0;
    for (int s = 0; s < ns; s++)
        pmax = fmax(pmax, seas[s].period);
    j->horizon = c->horizon;
    if (j->horizon < 0) {
        if (in->step_seconds != 60)
            return hs_error_set(HS_ERR_USAGE, "--horizon: required for a series that does not step by the minute (this "
                                              "one steps %llds; Prophet's cross_validation requires it too)",
                                (long long)in->step_seconds);
        j->horizon = 86400;
    }
    j->period = c->period > 0 ? c->period : j->horizon / 2;
    if (j->period <= 0)
        j->period = 1;
    int64_t seas_s = (int64_t)ceil(pmax * 86400.0);
    j->initial = c->initial > 0 ? c->initial : (3 * j->horizon > seas_s ? 3 * j->horizon : seas_s);
    return HS_OK;
}

/* Plan: the input, the defaults, the cutoffs, the rows (every point in (cutoff, cutoff +
 * horizon] of each cutoff, in cutoff order) and the buffers. */
static hs_status hs_bt_plan(const hs_backtest_config *c, hs_bt_job *j)
{
    HS_TRY(hs_forecast_input_read(c->input, &j->in));
    const hs_forecast_input *in = &j->in;
    int64_t n = in->n;
    j->yin = malloc((size_t)n * sizeof *j->yin);
    if (!j->yin)
        return hs_error_set(HS_ERR_NOMEM, "backtest: out of memory");
    for (int64_t i = 0; i < n; i++)
        j->yin[i] = in->clipped ? in->clipped[i] : (float)in->y[i];
    HS_TRY(hs_bt_defaults(c, j));
    HS_TRY(hs_backtest_cutoffs(in->ds, n, j->horizon, j->initial, j->period, &j->cut, &j->ncut));
    int64_t nc = j->ncut;
    j->last = malloc((size_t)nc * sizeof *j->last);
    j->first_row = malloc((size_t)(nc + 1) * sizeof *j->first_row);
    if (!j->last || !j->first_row)
        return hs_error_set(HS_ERR_NOMEM, "backtest: out of memory");
    j->rows = 0;
    for (int64_t k = 0; k < nc; k++) {
        int64_t a = hs_backtest_last_at_or_before(in->ds, n, j->cut[k]),
                b = hs_backtest_last_at_or_before(in->ds, n, j->cut[k] + j->horizon);
        if (a + 1 < 2) {
            char t[24];
            hs_format_time(j->cut[k], t);
            return hs_error_set(HS_ERR_INPUT, "%s: fewer than two points before the cutoff %s: make --initial longer",
                                c->input, t);
        }
        j->last[k] = a;
        j->first_row[k] = j->rows;
        j->rows += b - a;
        j->max_steps = b - a > j->max_steps ? b - a : j->max_steps;
    }
    j->first_row[nc] = j->rows;
    size_t r = (size_t)(j->rows > 0 ? j->rows : 1);
    j->t_cut = malloc(r * sizeof *j->t_cut);
    j->t_ds = malloc(r * sizeof *j->t_ds);
    j->y = malloc(r * sizeof *j->y);
    j->yhat = malloc(r * sizeof *j->yhat);
    j->yp = malloc(r * sizeof *j->yp);
    j->yl = malloc(r * sizeof *j->yl);
    if (!j->t_cut || !j->t_ds || !j->y || !j->yhat || !j->yp || !j->yl)
        return hs_error_set(HS_ERR_NOMEM, "backtest: out of memory for %lld forecasts", (long long)j->rows);
    for (int64_t k = 0; k < nc; k++)
        for (int64_t q = j->first_row[k], i = j->last[k] + 1; q < j->first_row[k + 1]; q++, i++) {
            j->t_cut[q] = j->cut[k];
            j->t_ds[q] = in->ds[i];
            j->y[q] = j->yin[i];
        }
    return HS_OK;
}

static double hs_bt_back(double v, int log_scale) { return log_scale ? expm1(v) : v; }

/* Prophet at cutoff k: refitted on the points at or before it, predicted after it (rows of k).
 * Each cutoff simulates its interval from its own seed (Philox of the run's seed and k), as
 * Prophet's cutoffs draw their own futures: one seed for all would give every cutoff the same
 * draws, and the coverage by horizon one sample's error instead of an average over the cutoffs'. */
static hs_status hs_bt_prophet_cutoff(hs_bt_job *j, int64_t k)
{
    const hs_forecast_input *in = &j->in;
    int64_t a = j->last[k], q0 = j->first_row[k], m = j->first_row[k + 1] - q0;
    hs_prophet_config pc = j->pcfg;
    hs_u32x4 r = hs_rng_u32x4(j->pcfg.seed, (uint64_t)3 << 40, (uint64_t)k);
    pc.seed = ((uint64_t)r.v[1] << 32) | r.v[0];
    hs_prophet_model mdl;
    hs_prophet_forecast fc;
    memset(&fc, 0, sizeof fc);
    hs_status st = hs_prophet_fit(&j->pcfg, in->ds, in->y, a + 1, &mdl);
    if (st == HS_OK) {
        st = hs_prophet_predict(&mdl, &pc, in->ds + a + 1, m, &fc);
        hs_prophet_model_free(&mdl);
    }
    for (int64_t i = 0; st == HS_OK && i < m; i++) {
        j->yp[q0 + i] = hs_bt_back(fc.yhat[i], in->log_scale);
        if (j->lo) {
            j->lo[q0 + i] = hs_bt_back(fc.lower[i], in->log_scale);
            j->hi[q0 + i] = hs_bt_back(fc.upper[i], in->log_scale);
        }
    }
    hs_prophet_forecast_free(&fc);
    return st;
}

/* Compute, Prophet: every cutoff, OpenMP over the cutoffs (each writes its own rows; the
 * results do not depend on the thread count), the last cutoff first: the longest fits start
 * first and the shortest fill in at the end, so no thread waits long for the last. A failed
 * cutoff is run again on this thread for its message (the message is thread-local). */
static hs_status hs_bt_prophet(const hs_backtest_config *c, hs_bt_job *j)
{
    if (j->pcfg.uncertainty_samples > 0) {
        j->lo = malloc((size_t)(j->rows > 0 ? j->rows : 1) * sizeof *j->lo);
        j->hi = malloc((size_t)(j->rows > 0 ? j->rows : 1) * sizeof *j->hi);
        if (!j->lo || !j->hi)
            return hs_error_set(HS_ERR_NOMEM, "backtest: out of memory");
    }
    hs_progress p;
    hs_progress_start(&p, "backtest prophet", (double)j->ncut, c->quiet);
    int64_t failed = -1, done = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t r = 0; r < j->ncut; r++) {
        int64_t k = j->ncut - 1 - r;
        hs_status st = hs_bt_prophet_cutoff(j, k);
#pragma omp critical(hs_bt_progress)
        {
            if (st != HS_OK && (failed < 0 || k < failed))
                failed = k;
            done++;
            hs_progress_update(&p, (double)done, "%lld of %lld cutoffs", (long long)done, (long long)j->ncut);
        }
    }
    if (failed >= 0)
        return hs_bt_prophet_cutoff(j, failed);
    hs_progress_finish(&p, "%lld cutoffs, %lld forecasts", (long long)j->ncut, (long long)j->rows);
    return HS_OK;
}

/* Compute, LSTM: trained once on the points at or before the first cutoff, then a recursive
 * forecast from every cutoff (the actual points before it in the window). */
static hs_status hs_bt_lstm(const hs_backtest_config *c, hs_bt_job *j)
{
    const hs_forecast_input *in = &j->in;
    int64_t n = in->n, ntr = j->last[0] + 1;
    for (int64_t i = 1; i < n; i++)
        if (in->ds[i] - in->ds[i - 1] != in->step_seconds)
            return hs_error_set(HS_ERR_INPUT, "%s: the LSTM needs a regular series; the spacing changes at point %lld",
                                c->input, (long long)i + 1);
    if (!hs_lstm_stage_fits(ntr, 0, c->lstm.window))
        return hs_error_set(HS_ERR_INPUT, "%s: %lld points before the first cutoff; the LSTM's window of %d needs at "
                                          "least %lld: make --initial longer",
                            c->input, (long long)ntr, c->lstm.window, (long long)hs_lstm_min_train(c->lstm.window));
    hs_lstm_scale sc;
    hs_lstm_scale_fit(in->y, ntr, in->log_scale, &sc);
    float *v = malloc((size_t)n * sizeof *v), *out = NULL;
    int64_t *ends = malloc((size_t)j->ncut * sizeof *ends);
    hs_status st = v && ends ? HS_OK : hs_error_set(HS_ERR_NOMEM, "backtest: out of memory");
    hs_lstm *m = NULL;
    hs_lstm_history hist;
    memset(&hist, 0, sizeof hist);
    if (st == HS_OK) {
        hs_lstm_scale_apply(&sc, in->y, n, v);
        hs_lstm_train_config tc = c->lstm;
        hs_lstm_stage_resolve(&tc, ntr, in->step_seconds); /* the stage's day-ahead defaults */
        j->lstm_calendar = tc.calendar;
        j->lstm_outputs = tc.horizon;
        hs_lstm_data d = {1, n, in->ds[0], in->step_seconds, v, tc.calendar};
        tc.quiet = c->quiet;
        st = hs_lstm_train(&tc, &d, ntr, &m, &hist);
        for (int64_t k = 0; k < j->ncut; k++)
            ends[k] = j->last[k] + 1;
        if (st == HS_OK && !(out = malloc((size_t)j->ncut * (size_t)j->max_steps * sizeof *out)))
            st = hs_error_set(HS_ERR_NOMEM, "backtest: out of memory");
        if (st == HS_OK)
            st = hs_lstm_predict(m, &d, ends, j->ncut, (int)j->max_steps, hs_lstm_scale_pad(&sc, HS_LSTM_PAD_ZERO),
                                 out);
    }
    for (int64_t k = 0; st == HS_OK && k < j->ncut; k++)
        for (int64_t q = j->first_row[k]; q < j->first_row[k + 1]; q++)
            j->yl[q] = hs_lstm_scale_back(&sc, out[k * j->max_steps + (q - j->first_row[k])]);
    j->lstm_train_seconds = hist.seconds;
    j->lstm_epochs = hist.epochs;
    j->lstm_train_points = ntr;
    hs_lstm_free(m);
    hs_lstm_history_free(&hist);
    free(v);
    free(out);
    free(ends);
    return st;
}

/* Compute: the model's forecasts, then the metrics. */
static hs_status hs_bt_compute(const hs_backtest_config *c, hs_bt_job *j)
{
    double t0 = hs_time_now();
    if (c->model != HS_BT_LSTM)
        HS_TRY(hs_bt_prophet(c, j));
    if (c->model != HS_BT_PROPHET)
        HS_TRY(hs_bt_lstm(c, j));
    for (int64_t q = 0; q < j->rows; q++)
        j->yhat[q] = c->model == HS_BT_PROPHET ? j->yp[q]
                     : c->model == HS_BT_LSTM  ? j->yl[q]
                                               : 0.5 * (j->yp[q] + j->yl[q]);
    if (c->model != HS_BT_PROPHET) { /* no interval: the LSTM has none, nor their average */
        free(j->lo);
        free(j->hi);
        j->lo = j->hi = NULL;
    }
    hs_bt_table t = {j->rows, j->t_cut, j->t_ds, j->y, j->yhat, j->lo, j->hi};
    HS_TRY(hs_backtest_metrics(&t, c->rolling_window, &j->met));
    j->seconds = hs_time_now() - t0;
    return HS_OK;
}

/* backtest_metrics.csv: Prophet's columns, horizon as pandas writes it; empty where Prophet
 * leaves a metric out. */
static hs_status hs_bt_write_metrics(hs_outset *os, const hs_bt_job *j)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, "backtest_metrics.csv", &f, &tmp));
    const hs_bt_metrics *m = &j->met;
    int all_days = 1;
    for (int64_t i = 0; i < m->n; i++)
        all_days &= m->horizon[i] % 86400 == 0;
    fputs("horizon,mse,rmse,mae,mape,mdape,smape,coverage\n", f);
    for (int64_t i = 0; i < m->n; i++) {
        char h[64];
        hs_backtest_format_horizon(m->horizon[i], all_days, h, sizeof h);
        fputs(h, f);
        const double v[7] = {m->mse[i], m->rmse[i], m->mae[i], m->mape[i], m->mdape[i], m->smape[i], m->coverage[i]};
        for (int k = 0; k < 7; k++) {
            if (isfinite(v[k]))
                fprintf(f, ",%.10g", v[k]);
            else
                fputc(',', f); /* left out, as Prophet leaves the column out */
        }
        fputc('\n', f);
    }
    return HS_OK;
}

/* backtest_metrics.png: MAE and RMSE (top), sMAPE and MdAPE (middle), coverage (bottom, with
 * an interval) against the horizon in hours (days past two days). */
static hs_status hs_bt_plot(hs_outset *os, const hs_backtest_config *c, const hs_bt_job *j)
{
    const hs_bt_metrics *m = &j->met;
    if (m->n < 1)
        return HS_OK;
    double unit = m->horizon[m->n - 1] > 2 * 86400 ? 86400.0 : 3600.0;
    double *x = malloc((size_t)m->n * sizeof *x);
    if (!x)
        return hs_error_set(HS_ERR_NOMEM, "backtest: out of memory");
    for (int64_t i = 0; i < m->n; i++)
        x[i] = (double)m->horizon[i] / unit;
    const char *xl = unit > 3600 ? "horizon (days)" : "horizon (hours)";
    hs_plot_line a[2] = {{x, m->mae, m->n, "MAE", HS_COLOR_BLUE}, {x, m->rmse, m->n, "RMSE", HS_COLOR_ORANGE}};
    hs_plot_line b[2] = {{x, m->smape, m->n, "sMAPE", HS_COLOR_PURPLE}, {x, m->mdape, m->n, "MdAPE", HS_COLOR_GREEN}};
    hs_plot_line cv = {x, m->coverage, m->n, "coverage", HS_COLOR_BLACK};
    hs_plot_panel_spec p[3] = {{"error by horizon", xl, "y units", a, 2},
                               {"relative error by horizon", xl, "share", b, 2},
                               {"interval coverage by horizon", xl, "share", &cv, 1}};
    char title[160];
    snprintf(title, sizeof title, "Backtest (%s): %lld cutoffs, rolling window %.2g", hs_bt_model_names[c->model],
             (long long)j->ncut, c->rolling_window);
    const char *tmp;
    hs_status st = hs_outset_path(os, "backtest_metrics.png", &tmp);
    if (st == HS_OK)
        st = hs_plot_panels_png(tmp, title, p, m->has_coverage ? 3 : 2);
    free(x);
    return st;
}

/* The manifest's record of the run: the resolved options, the cutoffs, the timings. */
static void hs_bt_manifest(cJSON *mf, const hs_backtest_config *c, const hs_bt_job *j)
{
    cJSON *o = cJSON_AddObjectToObject(mf, "backtest");
    cJSON_AddStringToObject(o, "model", hs_bt_model_names[c->model]);
    cJSON_AddStringToObject(o, "input", c->input);
    cJSON_AddNumberToObject(o, "horizon_seconds", (double)j->horizon);
    cJSON_AddNumberToObject(o, "period_seconds", (double)j->period);
    cJSON_AddNumberToObject(o, "initial_seconds", (double)j->initial);
    cJSON_AddNumberToObject(o, "rolling_window", c->rolling_window);
    cJSON_AddNumberToObject(o, "rows", (double)j->rows);
    cJSON *a = cJSON_AddArrayToObject(o, "cutoffs");
    for (int64_t k = 0; k < j->ncut; k++) {
        char t[24];
        hs_format_time(j->cut[k], t);
        cJSON_AddItemToArray(a, cJSON_CreateString(t));
    }
    cJSON *s = cJSON_AddArrayToObject(o, "seasonalities");
    for (int i = 0; i < j->pcfg.n_extra; i++)
        cJSON_AddItemToArray(s, cJSON_CreateString(j->pcfg.extra[i].name));
    if (c->model != HS_BT_PROPHET) {
        cJSON *l = cJSON_AddObjectToObject(o, "lstm");
        cJSON_AddStringToObject(l, "training", "once, on the points at or before the first cutoff");
        cJSON_AddNumberToObject(l, "train_points", (double)j->lstm_train_points);
        cJSON_AddNumberToObject(l, "epochs", j->lstm_epochs);
        cJSON_AddBoolToObject(l, "calendar", j->lstm_calendar);
        cJSON_AddNumberToObject(l, "outputs", j->lstm_outputs);
        cJSON_AddNumberToObject(l, "train_seconds", j->lstm_train_seconds);
    }
    cJSON_AddNumberToObject(hs_manifest_section(mf, "timings"), "backtest_seconds", j->seconds);
}

static hs_status hs_bt_write(const hs_backtest_config *c, const hs_bt_job *j, cJSON *manifest)
{
    hs_outset *os = NULL;
    hs_status st = hs_outset_open(c->out_dir, &os);
    FILE *f;
    const char *tmp;
    if (st == HS_OK)
        st = hs_outset_file(os, "backtest.csv", &f, &tmp);
    if (st == HS_OK) {
        hs_bt_rows r = {j->rows, j->t_cut, j->t_ds, j->y, j->yhat, j->lo, j->hi};
        st = hs_bt_csv_write(f, tmp, &r);
    }
    if (st == HS_OK)
        st = hs_bt_write_metrics(os, j);
    if (st == HS_OK && c->plot)
        st = hs_bt_plot(os, c, j);
    if (st == HS_OK && manifest) {
        hs_bt_manifest(manifest, c, j);
        st = hs_json_write(os, c->manifest_name ? c->manifest_name : "backtest.manifest.json", manifest);
    }
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    return st;
}

hs_status hs_backtest_run(const hs_backtest_config *c, cJSON *manifest, hs_backtest_result *res)
{
    memset(res, 0, sizeof *res);
    HS_TRY(hs_backtest_check(c));
    hs_bt_job j;
    memset(&j, 0, sizeof j);
    hs_status st = hs_bt_plan(c, &j);
    if (st == HS_OK)
        st = hs_bt_compute(c, &j);
    if (st == HS_OK)
        st = hs_bt_write(c, &j, manifest);
    res->cutoffs = j.ncut;
    res->rows = j.rows;
    res->horizons = j.met.n;
    res->horizon = j.horizon;
    res->period = j.period;
    res->initial = j.initial;
    res->seconds = j.seconds;
    double a = 0, s = 0;
    for (int64_t q = 0; st == HS_OK && q < j.rows; q++) {
        double e = j.y[q] - j.yhat[q];
        a += fabs(e);
        s += e * e;
    }
    res->mae = j.rows ? a / (double)j.rows : NAN;
    res->rmse = j.rows ? sqrt(s / (double)j.rows) : NAN;
    hs_bt_job_free(&j);
    return st;
}
