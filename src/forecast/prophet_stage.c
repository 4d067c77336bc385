/* prophet_stage.c: `hyscale forecast prophet` (prophet_stage.h) in three steps: plan (check the
 * options, read the input, fix the lengths and the times to predict), compute (fit on the
 * training span and score the holdout; refit on all data and forecast the horizon), write (every
 * file of the stage together or none). */
#include "hyscale/prophet_stage.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/forecast_csv.h"
#include "hyscale/forecast_input.h"
#include "hyscale/lead.h"
#include "hyscale/manifest.h"
#include "hyscale/metrics.h"
#include "hyscale/outfiles.h"
#include "hyscale/plot.h"
#include "hyscale/progress.h"
#include "hyscale/series.h"

/* A prediction on the input's scale, as floats for the writers: expm1 for a log model. */
typedef struct hs_fc_rows {
    int64_t n;
    int64_t *ds;
    float *y, *yhat, *lo, *hi;
} hs_fc_rows;

static void hs_fc_rows_free(hs_fc_rows *r)
{
    free(r->ds);
    free(r->y);
    free(r->yhat);
    free(r->lo);
    free(r->hi);
    memset(r, 0, sizeof *r);
}

static float hs_back(double v, int log_scale) { return (float)(log_scale ? expm1(v) : v); }

static hs_status hs_fc_rows_make(const hs_prophet_forecast *fc, const int64_t *ds, const float *y, int log_scale,
                                 hs_fc_rows *r)
{
    memset(r, 0, sizeof *r);
    int64_t n = fc->n;
    size_t fb = (size_t)(n > 0 ? n : 1) * sizeof(float);
    r->n = n;
    r->ds = malloc((size_t)(n > 0 ? n : 1) * sizeof *r->ds);
    r->y = malloc(fb);
    r->yhat = malloc(fb);
    r->lo = fc->lower ? malloc(fb) : NULL;
    r->hi = fc->upper ? malloc(fb) : NULL;
    if (!r->ds || !r->y || !r->yhat || (fc->lower && (!r->lo || !r->hi))) {
        hs_fc_rows_free(r);
        return hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        r->ds[i] = ds[i];
        r->y[i] = y ? y[i] : NAN;
        r->yhat[i] = hs_back(fc->yhat[i], log_scale);
        if (r->lo) {
            r->lo[i] = hs_back(fc->lower[i], log_scale);
            r->hi[i] = hs_back(fc->upper[i], log_scale);
        }
    }
    return HS_OK;
}

static hs_status hs_write_rows(hs_outset *os, const char *name, const hs_fc_rows *r)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, name, &f, &tmp));
    return hs_forecast_csv_write_at(f, tmp, r->ds, r->y, r->yhat, r->lo, r->hi, r->n);
}

static cJSON *hs_seasonalities_json(const hs_prophet_model *m)
{
    cJSON *a = cJSON_CreateArray();
    for (int s = 0; s < m->ns; s++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m->seas[s].name);
        cJSON_AddNumberToObject(o, "period", m->seas[s].period);
        cJSON_AddNumberToObject(o, "fourier_order", m->seas[s].order);
        cJSON_AddStringToObject(o, "mode", m->seas[s].multiplicative ? "multiplicative" : "additive");
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *hs_params_json(const hs_prophet_model *m)
{
    cJSON *p = cJSON_CreateObject();
    double dabs = 0, bn = 0;
    int nz = 0;
    for (int j = 0; j < m->S; j++) {
        dabs += fabs(m->delta[j]);
        nz += m->delta[j] != 0;
    }
    for (int j = 0; j < m->K; j++)
        bn += m->beta[j] * m->beta[j];
    cJSON_AddNumberToObject(p, "k", m->k);
    cJSON_AddNumberToObject(p, "m", m->m);
    cJSON_AddNumberToObject(p, "sigma_obs", m->sigma);
    cJSON_AddNumberToObject(p, "changepoints", m->placed_changepoints ? m->S : 0);
    cJSON_AddNumberToObject(p, "delta_abs_mean", m->S ? dabs / m->S : 0);
    cJSON_AddNumberToObject(p, "delta_nonzero", nz);
    cJSON_AddNumberToObject(p, "beta_norm", sqrt(bn));
    cJSON_AddNumberToObject(p, "y_scale", m->y_scale);
    cJSON_AddNumberToObject(p, "objective", m->objective);
    return p;
}

hs_status hs_prophet_stage_check(const hs_prophet_stage_config *c)
{
    const hs_prophet_config *m = &c->model;
    if (c->holdout < 0)
        return hs_error_set(HS_ERR_USAGE, "--holdout %lld: out of range (at least 0)", (long long)c->holdout);
    if (m->n_changepoints < 0)
        return hs_error_set(HS_ERR_USAGE, "--changepoints %d: out of range (at least 0)", m->n_changepoints);
    if (!(m->changepoint_range > 0 && m->changepoint_range <= 1))
        return hs_error_set(HS_ERR_USAGE, "--changepoint-range %g: out of range (0, 1]", m->changepoint_range);
    if (!(m->changepoint_prior_scale > 0))
        return hs_error_set(HS_ERR_USAGE, "--changepoint-prior-scale %g: out of range (positive)",
                            m->changepoint_prior_scale);
    if (!(m->seasonality_prior_scale > 0))
        return hs_error_set(HS_ERR_USAGE, "--seasonality-prior-scale %g: out of range (positive)",
                            m->seasonality_prior_scale);
    if (m->uncertainty_samples < 0)
        return hs_error_set(HS_ERR_USAGE, "--uncertainty-samples %d: out of range (at least 0)",
                            m->uncertainty_samples);
    if (!(m->interval_width > 0 && m->interval_width < 1))
        return hs_error_set(HS_ERR_USAGE, "--interval-width %g: out of range (0, 1)", m->interval_width);
    return HS_OK;
}

/* Everything one run of the stage holds between plan, compute and write. */
typedef struct hs_prophet_job {
    hs_forecast_input in;
    int64_t n, n_train, holdout, horizon;
    float *yin;                 /* (n) the actuals written as y: the cleaned series, or y as given */
    int64_t *ds_all;            /* (n + horizon) the input's times, then the horizon's */
    hs_prophet_model mt, ma;    /* fitted on the training span; on everything (only with a holdout) */
    hs_prophet_forecast ft, fa; /* mt on the input's times; the final model (hs_job_model) on ds_all */
    hs_fc_rows full, next;      /* ft, and fa's horizon rows, on the input's scale */
    int64_t v0;                 /* the validation span [v0, n_train) (lead.h), 0: none */
    hs_prophet_model mv;        /* fitted on [0, v0): the validation forecast, out of sample */
    hs_prophet_forecast fv;     /* mv on [v0, n_train) */
    hs_fc_rows val;             /* fv on the input's scale */
    hs_metrics met;             /* the holdout's scores when scored */
    int scored;
} hs_prophet_job;

/* The model of the forecast: refitted on everything, or the training fit without a holdout. */
static const hs_prophet_model *hs_job_model(const hs_prophet_job *j) { return j->holdout > 0 ? &j->ma : &j->mt; }

static void hs_prophet_job_free(hs_prophet_job *j)
{
    free(j->yin);
    free(j->ds_all);
    hs_fc_rows_free(&j->full);
    hs_fc_rows_free(&j->next);
    hs_fc_rows_free(&j->val);
    hs_prophet_forecast_free(&j->fv);
    hs_prophet_model_free(&j->mv);
    hs_prophet_forecast_free(&j->ft);
    hs_prophet_forecast_free(&j->fa);
    hs_prophet_model_free(&j->mt);
    hs_prophet_model_free(&j->ma);
    hs_forecast_input_free(&j->in);
}

/* Plan: the input read, the lengths fixed (a holdout leaving fewer than 2 points to fit is
 * refused), the actuals as floats and the times of every prediction. */
static hs_status hs_prophet_job_plan(const hs_prophet_stage_config *c, hs_prophet_job *j)
{
    HS_TRY(hs_forecast_input_read(c->input, &j->in));
    const hs_forecast_input *in = &j->in;
    int64_t n = in->n;
    j->n = n;
    j->holdout = c->holdout;
    j->n_train = n - c->holdout;
    j->horizon = c->horizon >= 0 ? c->horizon : (in->step_seconds == 60 ? 1440 : 30);
    if (c->holdout > n - 2)
        return hs_error_set(HS_ERR_USAGE, "--holdout %lld: the series has %lld points and the fit needs at least 2",
                            (long long)c->holdout, (long long)n);
    int64_t na = n + j->horizon;
    j->yin = malloc((size_t)n * sizeof *j->yin);
    j->ds_all = malloc((size_t)na * sizeof *j->ds_all);
    if (!j->yin || !j->ds_all)
        return hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
    for (int64_t i = 0; i < n; i++)
        j->yin[i] = in->clipped ? in->clipped[i] : (float)in->y[i];
    for (int64_t i = 0; i < na; i++)
        j->ds_all[i] = i < n ? in->ds[i] : hs_forecast_next_time(in, in->ds[n - 1], i - n + 1);
    return HS_OK;
}

/* Compute, 1: fit on the training span, predict every input point, score the holdout. */
static hs_status hs_prophet_job_score(const hs_prophet_stage_config *c, hs_prophet_job *j)
{
    const hs_forecast_input *in = &j->in;
    int64_t ntr = j->n_train, h = j->holdout;
    HS_TRY(hs_prophet_fit(&c->model, in->ds, in->y, ntr, &j->mt));
    HS_TRY(hs_prophet_predict(&j->mt, &c->model, in->ds, j->n, &j->ft));
    HS_TRY(hs_fc_rows_make(&j->ft, in->ds, j->yin, in->log_scale, &j->full));
    if (h == 0)
        return HS_OK;
    if (in->log_scale) {
        HS_TRY(hs_metrics_report(in->clipped + ntr, in->raw + ntr, j->full.yhat + ntr, h, &j->met));
    } else {
        hs_errsum s;
        hs_metrics_errsum(j->yin + ntr, j->full.yhat + ntr, h, &s);
        j->met.mae = s.abs_sum / (double)h;
        j->met.rmse = sqrt(s.sq_sum / (double)h);
        j->met.n = h;
    }
    j->scored = 1;
    return HS_OK;
}

/* Compute, 2: refit on everything (unless there was no holdout), predict the input and the
 * horizon after it; the horizon's rows on the input's scale. */
static hs_status hs_prophet_job_forecast(const hs_prophet_stage_config *c, hs_prophet_job *j)
{
    int64_t n = j->n;
    if (j->holdout > 0)
        HS_TRY(hs_prophet_fit(&c->model, j->in.ds, j->in.y, n, &j->ma));
    HS_TRY(hs_prophet_predict(hs_job_model(j), &c->model, j->ds_all, n + j->horizon, &j->fa));
    hs_prophet_forecast tail = j->fa;
    tail.n = j->horizon;
    tail.yhat = j->fa.yhat + n;
    tail.lower = j->fa.lower ? j->fa.lower + n : NULL;
    tail.upper = j->fa.upper ? j->fa.upper + n : NULL;
    return hs_fc_rows_make(&tail, j->ds_all + n, NULL, j->in.log_scale, &j->next);
}

/* Compute, 3 (with a holdout): the validation span's forecast from a fit on the points before
 * it, without the interval, for the per-lead Hybrid's weights (hybrid.h): Prophet fitted on the
 * whole training span would score the validation span in sample, and look better there than it
 * forecasts. */
static hs_status hs_prophet_job_validate(const hs_prophet_stage_config *c, hs_prophet_job *j)
{
    int64_t v0 = hs_lead_validation_start(j->n_train);
    if (j->holdout == 0 || v0 < 2 || v0 >= j->n_train)
        return HS_OK;
    const hs_forecast_input *in = &j->in;
    hs_prophet_config mc = c->model;
    mc.uncertainty_samples = 0;
    HS_TRY(hs_prophet_fit(&mc, in->ds, in->y, v0, &j->mv));
    HS_TRY(hs_prophet_predict(&j->mv, &mc, in->ds + v0, j->n_train - v0, &j->fv));
    HS_TRY(hs_fc_rows_make(&j->fv, in->ds + v0, j->yin + v0, in->log_scale, &j->val));
    j->v0 = v0;
    return HS_OK;
}

/* prophet.png: the actuals, the training fit over the input and the forecast with its band (x in
 * days since the series start). */
static hs_status hs_prophet_plot_forecast(hs_outset *os, const hs_prophet_job *j)
{
    const hs_forecast_input *in = &j->in;
    const hs_fc_rows *full = &j->full, *next = &j->next;
    int64_t n = in->n, nf = full->n + next->n;
    double *xa = malloc((size_t)n * sizeof *xa), *ya = malloc((size_t)n * sizeof *ya);
    double *xf = malloc((size_t)nf * 4 * sizeof *xf);
    hs_status st = xa && ya && xf ? HS_OK : hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
    double t0 = (double)in->ds[0];
    for (int64_t i = 0; st == HS_OK && i < n; i++) {
        xa[i] = ((double)in->ds[i] - t0) / 86400.0;
        ya[i] = in->clipped ? in->clipped[i] : in->y[i];
    }
    double *yh = xf + nf, *lo = yh + nf, *hi = lo + nf;
    int band = full->lo != NULL;
    for (int64_t i = 0; st == HS_OK && i < nf; i++) {
        const hs_fc_rows *r = i < full->n ? full : next;
        int64_t k = i < full->n ? i : i - full->n;
        xf[i] = ((double)r->ds[k] - t0) / 86400.0;
        yh[i] = r->yhat[k];
        lo[i] = band ? r->lo[k] : NAN;
        hi[i] = band ? r->hi[k] : NAN;
    }
    const char *tmp;
    if (st == HS_OK)
        st = hs_outset_path(os, "prophet.png", &tmp);
    if (st == HS_OK)
        st = hs_plot_forecast_png(tmp, "Prophet (hyscale): actuals, fit, forecast and 80% interval", xa, ya, n, xf, yh,
                                  band ? lo : NULL, band ? hi : NULL, nf);
    free(xa);
    free(ya);
    free(xf);
    return st;
}

/* prophet_components.png: the final model's trend over the whole span, each seasonality over one
 * period from the start (at most four). */
static hs_status hs_prophet_plot_components(hs_outset *os, const hs_prophet_job *j)
{
    const hs_prophet_model *m = hs_job_model(j);
    const hs_prophet_forecast *fc_all = &j->fa;
    double t0 = (double)j->in.ds[0];
    int64_t na = fc_all->n;
    double *x = malloc((size_t)na * sizeof *x), *trend = malloc((size_t)na * sizeof *trend);
    if (!x || !trend) {
        free(x);
        free(trend);
        return hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
    }
    for (int64_t i = 0; i < na; i++) {
        x[i] = ((double)j->ds_all[i] - t0) / 86400.0;
        trend[i] = fc_all->trend[i];
    }
    hs_plot_line lines[HS_PROPHET_MAX_SEASONALITIES + 1];
    hs_plot_panel_spec panels[HS_PROPHET_MAX_SEASONALITIES + 1];
    int np = 0;
    lines[0] = (hs_plot_line){x, trend, na, "trend (model scale)", HS_COLOR_BLUE};
    panels[np++] = (hs_plot_panel_spec){"trend", "days since start", "trend", &lines[0], 1};
    for (int s = 0; s < m->ns && np < 5; s++) {
        int64_t len = 0;
        while (len < na && x[len] - x[0] <= m->seas[s].period)
            len++;
        lines[np] = (hs_plot_line){x, fc_all->comp + (int64_t)s * na, len, m->seas[s].name, HS_COLOR_PURPLE};
        panels[np] = (hs_plot_panel_spec){m->seas[s].name, "days since start", m->seas[s].multiplicative ? "x trend" : "",
                                          &lines[np], 1};
        np++;
    }
    const char *tmp;
    hs_status st = hs_outset_path(os, "prophet_components.png", &tmp);
    if (st == HS_OK)
        st = hs_plot_panels_png(tmp, "Prophet (hyscale): components", panels, np);
    free(x);
    free(trend);
    return st;
}

/* The prophet_metrics.json object (the caller's to free). */
static cJSON *hs_prophet_metrics_json(const hs_prophet_stage_config *c, const hs_prophet_job *j)
{
    const hs_prophet_model *mall = hs_job_model(j);
    const hs_metrics *met = &j->met;
    int log_scale = j->in.log_scale;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", "prophet");
    /* the solver that ran: none for a constant series (Prophet's shortcut), else the one asked for */
    const char *solver = mall->constant                           ? "none (constant series)"
                         : c->model.optimizer == HS_PROPHET_OWLQN ? "liblbfgs OWL-QN"
                                                                  : "exact block coordinate descent";
    char impl[128];
    snprintf(impl, sizeof impl, "hyscale C (%s%s), Prophet's model", solver, mall->constant ? "" : " MAP");
    cJSON_AddStringToObject(o, "implementation", impl);
    cJSON_AddStringToObject(o, "optimizer", solver);
    cJSON_AddStringToObject(o, "input", c->input);
    cJSON_AddStringToObject(o, "scale", log_scale ? "invocations (model fitted on log1p)" : "as given");
    cJSON_AddNumberToObject(o, "points", (double)j->n);
    cJSON_AddNumberToObject(o, "train_points", (double)j->n_train);
    cJSON_AddNumberToObject(o, "holdout", (double)j->holdout);
    cJSON_AddNumberToObject(o, "horizon", (double)j->horizon);
    cJSON_AddNumberToObject(o, "step_seconds", (double)j->in.step_seconds);
    if (j->in.dropped_empty)
        cJSON_AddNumberToObject(o, "rows_without_y", (double)j->in.dropped_empty);
    if (j->scored) {
        cJSON_AddNumberToObject(o, "mae", met->mae);
        cJSON_AddNumberToObject(o, "rmse", met->rmse);
        if (log_scale) {
            cJSON_AddNumberToObject(o, "mae_raw", met->mae_raw);
            cJSON_AddNumberToObject(o, "rmse_raw", met->rmse_raw);
            cJSON_AddNumberToObject(o, "mae_log", met->mae_log);
            cJSON_AddNumberToObject(o, "rmse_log", met->rmse_log);
        }
    } else {
        cJSON_AddNullToObject(o, "mae");
        cJSON_AddNullToObject(o, "rmse");
    }
    if (j->v0 > 0) {
        cJSON *v = cJSON_AddObjectToObject(o, "validation");
        cJSON_AddNumberToObject(v, "fit_points", (double)j->v0);
        cJSON_AddNumberToObject(v, "points", (double)(j->n_train - j->v0));
        cJSON_AddStringToObject(v, "file", "prophet_validation.csv");
    }
    cJSON_AddNumberToObject(o, "fit_seconds", mall->fit_seconds);
    cJSON_AddNumberToObject(o, "predict_seconds", j->fa.predict_seconds);
    cJSON_AddNumberToObject(o, "fit_seconds_train", j->mt.fit_seconds);
    cJSON_AddNumberToObject(o, "iterations", mall->iterations);
    cJSON_AddNumberToObject(o, "optimizer_status", mall->lbfgs_status);
    cJSON_AddNumberToObject(o, "uncertainty_samples", c->model.uncertainty_samples);
    cJSON_AddNumberToObject(o, "interval_width", c->model.interval_width);
    cJSON_AddItemToObject(o, "params", hs_params_json(mall));
    cJSON_AddItemToObject(o, "seasonalities", hs_seasonalities_json(mall));
    return o;
}

/* prophet_metrics.json and, with a manifest, the manifest (metrics, timings). */
static hs_status hs_prophet_write_metrics(hs_outset *os, const hs_prophet_stage_config *c, const hs_prophet_job *j,
                                          cJSON *manifest)
{
    cJSON *o = hs_prophet_metrics_json(c, j);
    hs_status st = hs_json_write(os, "prophet_metrics.json", o);
    if (st == HS_OK && manifest) {
        cJSON_AddItemToObject(manifest, "metrics", cJSON_Duplicate(o, 1));
        cJSON *tm = hs_manifest_section(manifest, "timings");
        cJSON_AddNumberToObject(tm, "fit_seconds", hs_job_model(j)->fit_seconds);
        cJSON_AddNumberToObject(tm, "predict_seconds", j->fa.predict_seconds);
        st = hs_json_write(os, c->manifest_name ? c->manifest_name : "manifest.json", manifest);
    }
    cJSON_Delete(o);
    return st;
}

/* Write: every file of the stage into out_dir, all together or none. */
static hs_status hs_prophet_job_write(const hs_prophet_stage_config *c, const hs_prophet_job *j, cJSON *manifest)
{
    hs_outset *os = NULL;
    hs_status st = hs_outset_open(c->out_dir, &os);
    if (st == HS_OK)
        st = hs_write_rows(os, "prophet_full.csv", &j->full);
    if (st == HS_OK)
        st = hs_write_rows(os, "prophet_next.csv", &j->next);
    if (st == HS_OK && j->v0 > 0)
        st = hs_write_rows(os, "prophet_validation.csv", &j->val);
    if (st == HS_OK) {
        cJSON *mj = hs_prophet_model_json(hs_job_model(j), &c->model, j->in.log_scale, j->in.step_seconds);
        st = hs_json_write(os, "prophet_model.json", mj);
        cJSON_Delete(mj);
    }
    if (st == HS_OK)
        st = hs_prophet_write_metrics(os, c, j, manifest);
    if (st == HS_OK && c->plot)
        st = hs_prophet_plot_forecast(os, j);
    if (st == HS_OK && c->plot)
        st = hs_prophet_plot_components(os, j);
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    return st;
}

hs_status hs_prophet_stage_run(const hs_prophet_stage_config *c, cJSON *manifest, hs_prophet_stage_result *res)
{
    memset(res, 0, sizeof *res);
    res->mae = res->rmse = res->mae_log = res->rmse_log = NAN;
    HS_TRY(hs_prophet_stage_check(c));
    hs_prophet_job j;
    memset(&j, 0, sizeof j);
    hs_status st = hs_prophet_job_plan(c, &j);
    if (st == HS_OK)
        st = hs_prophet_job_score(c, &j);
    if (st == HS_OK)
        st = hs_prophet_job_forecast(c, &j);
    if (st == HS_OK)
        st = hs_prophet_job_validate(c, &j);
    res->n = j.n;
    res->n_train = j.n_train;
    res->holdout = j.holdout;
    res->horizon = j.horizon;
    res->fit_seconds = hs_job_model(&j)->fit_seconds;
    res->predict_seconds = j.fa.predict_seconds;
    res->iterations = hs_job_model(&j)->iterations;
    if (j.scored) {
        res->mae = j.met.mae;
        res->rmse = j.met.rmse;
        res->mae_log = j.in.log_scale ? j.met.mae_log : NAN;
        res->rmse_log = j.in.log_scale ? j.met.rmse_log : NAN;
    }
    if (st == HS_OK)
        st = hs_prophet_job_write(c, &j, manifest);
    hs_prophet_job_free(&j);
    return st;
}
