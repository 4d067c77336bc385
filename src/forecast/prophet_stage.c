/* prophet_stage.c: `hyscale forecast prophet`: fit on the training span, score the holdout,
 * refit on all data, forecast the horizon, write every file of the stage (prophet_stage.h). */
#include "hyscale/prophet_stage.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/forecast_csv.h"
#include "hyscale/forecast_input.h"
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

/* prophet.png and prophet_components.png (x in days since the series start). */
static hs_status hs_prophet_plots(hs_outset *os, const hs_forecast_input *in, const hs_fc_rows *full,
                                  const hs_fc_rows *next, const hs_prophet_model *m, const hs_prophet_forecast *fc_all,
                                  const int64_t *ds_all)
{
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
    if (st != HS_OK)
        return st;
    /* components: the trend over the whole span, each seasonality over one period from the start */
    int64_t na = fc_all->n;
    double *x = malloc((size_t)na * sizeof *x), *trend = malloc((size_t)na * sizeof *trend);
    if (!x || !trend) {
        free(x);
        free(trend);
        return hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
    }
    for (int64_t i = 0; i < na; i++) {
        x[i] = ((double)ds_all[i] - t0) / 86400.0;
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
    st = hs_outset_path(os, "prophet_components.png", &tmp);
    if (st == HS_OK)
        st = hs_plot_panels_png(tmp, "Prophet (hyscale): components", panels, np);
    free(x);
    free(trend);
    return st;
}

hs_status hs_prophet_stage_run(const hs_prophet_stage_config *c, cJSON *manifest, hs_prophet_stage_result *res)
{
    memset(res, 0, sizeof *res);
    res->mae = res->rmse = res->mae_log = res->rmse_log = NAN;
    hs_forecast_input in;
    HS_TRY(hs_forecast_input_read(c->input, &in));
    int64_t n = in.n;
    hs_status st = HS_OK;
    if (c->holdout < 0 || c->holdout > n - 2)
        st = hs_error_set(HS_ERR_USAGE, "--holdout %lld: the series has %lld points and the fit needs at least 2",
                          (long long)c->holdout, (long long)n);
    int64_t H = c->horizon >= 0 ? c->horizon : (in.step_seconds == 60 ? 1440 : 30);
    int64_t ntr = n - c->holdout;
    res->n = n;
    res->n_train = ntr;
    res->holdout = c->holdout;
    res->horizon = H;
    hs_prophet_model mt, ma;
    memset(&mt, 0, sizeof mt);
    memset(&ma, 0, sizeof ma);
    hs_prophet_forecast ft, fa;
    memset(&ft, 0, sizeof ft);
    memset(&fa, 0, sizeof fa);
    hs_fc_rows full, next;
    memset(&full, 0, sizeof full);
    memset(&next, 0, sizeof next);
    int64_t *ds_all = NULL;
    hs_metrics met;
    memset(&met, 0, sizeof met);
    int scored = 0;
    /* 1. fit on the training span, predict every input point, score the holdout */
    if (st == HS_OK)
        st = hs_prophet_fit(&c->model, in.ds, in.y, ntr, &mt);
    if (st == HS_OK)
        st = hs_prophet_predict(&mt, &c->model, in.ds, n, &ft);
    const float *yin = in.clipped;
    float *ytmp = NULL;
    if (st == HS_OK && !yin) {
        ytmp = malloc((size_t)n * sizeof *ytmp);
        if (!ytmp)
            st = hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
        for (int64_t i = 0; st == HS_OK && i < n; i++)
            ytmp[i] = (float)in.y[i];
        yin = ytmp;
    }
    if (st == HS_OK)
        st = hs_fc_rows_make(&ft, in.ds, yin, in.log_scale, &full);
    if (st == HS_OK && c->holdout > 0) {
        int64_t h = c->holdout;
        if (in.log_scale) {
            st = hs_metrics_report(in.clipped + ntr, in.raw + ntr, full.yhat + ntr, h, &met);
        } else {
            hs_errsum s;
            hs_metrics_errsum(yin + ntr, full.yhat + ntr, h, &s);
            met.mae = s.abs_sum / (double)h;
            met.rmse = sqrt(s.sq_sum / (double)h);
            met.n = h;
        }
        scored = st == HS_OK;
    }
    /* 2. refit on everything (unless there was no holdout) and forecast the horizon */
    const hs_prophet_model *mall = &mt;
    if (st == HS_OK && c->holdout > 0) {
        st = hs_prophet_fit(&c->model, in.ds, in.y, n, &ma);
        mall = &ma;
    }
    if (st == HS_OK) {
        ds_all = malloc((size_t)(n + H) * sizeof *ds_all);
        if (!ds_all)
            st = hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
        for (int64_t i = 0; st == HS_OK && i < n + H; i++)
            ds_all[i] = i < n ? in.ds[i] : hs_forecast_next_time(&in, in.ds[n - 1], i - n + 1);
    }
    if (st == HS_OK)
        st = hs_prophet_predict(mall, &c->model, ds_all, n + H, &fa);
    if (st == HS_OK) {
        /* the horizon rows of the all-data prediction */
        hs_prophet_forecast tail = fa;
        tail.n = H;
        tail.yhat = fa.yhat + n;
        tail.lower = fa.lower ? fa.lower + n : NULL;
        tail.upper = fa.upper ? fa.upper + n : NULL;
        st = hs_fc_rows_make(&tail, ds_all + n, NULL, in.log_scale, &next);
    }
    res->fit_seconds = mall->fit_seconds;
    res->predict_seconds = fa.predict_seconds;
    res->iterations = mall->iterations;
    if (scored) {
        res->mae = met.mae;
        res->rmse = met.rmse;
        res->mae_log = in.log_scale ? met.mae_log : NAN;
        res->rmse_log = in.log_scale ? met.rmse_log : NAN;
    }
    /* 3. files */
    hs_outset *os = NULL;
    if (st == HS_OK)
        st = hs_outset_open(c->out_dir, &os);
    if (st == HS_OK)
        st = hs_write_rows(os, "prophet_full.csv", &full);
    if (st == HS_OK)
        st = hs_write_rows(os, "prophet_next.csv", &next);
    if (st == HS_OK) {
        cJSON *mj = hs_prophet_model_json(mall, &c->model, in.log_scale, in.step_seconds);
        st = hs_json_write(os, "prophet_model.json", mj);
        cJSON_Delete(mj);
    }
    if (st == HS_OK) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", "prophet");
        cJSON_AddStringToObject(j, "implementation", "hyscale C (liblbfgs OWL-QN MAP), Prophet's model");
        cJSON_AddStringToObject(j, "input", c->input);
        cJSON_AddStringToObject(j, "scale", in.log_scale ? "invocations (model fitted on log1p)" : "as given");
        cJSON_AddNumberToObject(j, "points", (double)n);
        cJSON_AddNumberToObject(j, "train_points", (double)ntr);
        cJSON_AddNumberToObject(j, "holdout", (double)c->holdout);
        cJSON_AddNumberToObject(j, "horizon", (double)H);
        cJSON_AddNumberToObject(j, "step_seconds", (double)in.step_seconds);
        if (in.dropped_empty)
            cJSON_AddNumberToObject(j, "rows_without_y", (double)in.dropped_empty);
        if (scored) {
            cJSON_AddNumberToObject(j, "mae", met.mae);
            cJSON_AddNumberToObject(j, "rmse", met.rmse);
            if (in.log_scale) {
                cJSON_AddNumberToObject(j, "mae_raw", met.mae_raw);
                cJSON_AddNumberToObject(j, "rmse_raw", met.rmse_raw);
                cJSON_AddNumberToObject(j, "mae_log", met.mae_log);
                cJSON_AddNumberToObject(j, "rmse_log", met.rmse_log);
            }
        } else {
            cJSON_AddNullToObject(j, "mae");
            cJSON_AddNullToObject(j, "rmse");
        }
        cJSON_AddNumberToObject(j, "fit_seconds", mall->fit_seconds);
        cJSON_AddNumberToObject(j, "predict_seconds", fa.predict_seconds);
        cJSON_AddNumberToObject(j, "fit_seconds_train", mt.fit_seconds);
        cJSON_AddNumberToObject(j, "iterations", mall->iterations);
        cJSON_AddNumberToObject(j, "optimizer_status", mall->lbfgs_status);
        cJSON_AddNumberToObject(j, "uncertainty_samples", c->model.uncertainty_samples);
        cJSON_AddNumberToObject(j, "interval_width", c->model.interval_width);
        cJSON_AddItemToObject(j, "params", hs_params_json(mall));
        cJSON_AddItemToObject(j, "seasonalities", hs_seasonalities_json(mall));
        st = hs_json_write(os, "prophet_metrics.json", j);
        if (st == HS_OK && manifest) {
            cJSON_AddItemToObject(manifest, "metrics", cJSON_Duplicate(j, 1));
            cJSON *tm = hs_manifest_section(manifest, "timings");
            cJSON_AddNumberToObject(tm, "fit_seconds", mall->fit_seconds);
            cJSON_AddNumberToObject(tm, "predict_seconds", fa.predict_seconds);
            st = hs_json_write(os, c->manifest_name ? c->manifest_name : "manifest.json", manifest);
        }
        cJSON_Delete(j);
    }
    if (st == HS_OK && c->plot)
        st = hs_prophet_plots(os, &in, &full, &next, mall, &fa, ds_all);
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    free(ytmp);
    free(ds_all);
    hs_fc_rows_free(&full);
    hs_fc_rows_free(&next);
    hs_prophet_forecast_free(&ft);
    hs_prophet_forecast_free(&fa);
    hs_prophet_model_free(&mt);
    hs_prophet_model_free(&ma);
    hs_forecast_input_free(&in);
    return st;
}
