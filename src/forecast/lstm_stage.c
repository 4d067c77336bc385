/* lstm_stage.c: `hyscale forecast lstm` (lstm_stage.h) in three steps: plan (read the input,
 * check it, fix the lengths, normalise on the training span), compute (train or load, predict
 * one step, recursively, the next horizon and F8, score the holdout), write (every file of the
 * stage together or none). Also the rules both LSTM stages share: the minimum training span and
 * the normalisation. */
#include "hyscale/lstm_stage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/backend.h"
#include "hyscale/forecast_csv.h"
#include "hyscale/forecast_input.h"
#include "hyscale/lead.h"
#include "hyscale/manifest.h"
#include "hyscale/metrics.h"
#include "hyscale/outfiles.h"
#include "hyscale/plot.h"
#include "hyscale/safetensors.h"
#include "hyscale/series.h"
#include "backend/lstm_seam.h"

int64_t hs_lstm_min_train(int window) { return 2 * (int64_t)window + 2; }

int hs_lstm_stage_fits(int64_t n, int64_t holdout, int window)
{
    return holdout >= 0 && n - holdout >= hs_lstm_min_train(window);
}

hs_status hs_lstm_stage_check(const hs_lstm_stage_config *c)
{
    const hs_lstm_train_config *t = &c->train;
    if (t->hidden < 1 || t->hidden > 1024)
        return hs_error_set(HS_ERR_USAGE, "hidden size %d: out of range [1, 1024]", t->hidden);
    if (t->layers < 1 || t->layers > 2)
        return hs_error_set(HS_ERR_USAGE, "layers %d: out of range (1 or 2)", t->layers);
    if (t->window < 1 || t->horizon < 0 || t->epochs < 1 || t->batch < 1 || t->patience < 1)
        return hs_error_set(HS_ERR_USAGE, "window %d, outputs %d, epochs %d, batch %d, patience %d: each must be at "
                                          "least 1 (out of range)",
                            t->window, t->horizon, t->epochs, t->batch, t->patience);
    if (!(t->lr > 0) || !(t->clip > 0))
        return hs_error_set(HS_ERR_USAGE, "lr %g, clip %g: out of range (each positive)", (double)t->lr,
                            (double)t->clip);
    return HS_OK;
}

void hs_lstm_stage_resolve(hs_lstm_train_config *t, int64_t n_train, int64_t step_seconds)
{
    int two_days = step_seconds > 0 && n_train * step_seconds >= 2 * 86400;
    if (t->calendar < 0)
        t->calendar = two_days;
    if (t->horizon <= 0)
        t->horizon = two_days && step_seconds <= 3600 && 3600 % step_seconds == 0 ? (int)(3600 / step_seconds) : 1;
}

hs_status hs_lstm_stage_plan(const hs_lstm_stage_config *c, int64_t n, int64_t step_seconds, int window,
                             hs_lstm_plan *p)
{
    int64_t H = c->holdout;
    p->n = n;
    p->holdout = H;
    p->n_train = n - H;
    p->window = window;
    p->horizon = c->horizon >= 0 ? c->horizon : (step_seconds == 60 ? 1440 : 30);
    if (!hs_lstm_stage_fits(n, H, window))
        return hs_error_set(HS_ERR_INPUT,
                            "%s: %lld points with a holdout of %lld leave %lld to train on; the window of %lld needs "
                            "at least %lld",
                            c->input, (long long)n, (long long)H, (long long)(n - H), (long long)window,
                            (long long)hs_lstm_min_train(window));
    return HS_OK;
}

void hs_lstm_scale_fit(const double *y, int64_t n_train, int log_scale, hs_lstm_scale *sc)
{
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n_train; i++)
        s += y[i];
    sc->mean = s / (double)n_train;
    for (int64_t i = 0; i < n_train; i++)
        s2 += (y[i] - sc->mean) * (y[i] - sc->mean);
    sc->std = sqrt(s2 / (double)n_train);
    if (!(sc->std > 1e-12))
        sc->std = 1.0; /* a constant training span */
    sc->log_scale = log_scale;
}

void hs_lstm_scale_apply(const hs_lstm_scale *sc, const double *y, int64_t n, float *v)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)((y[i] - sc->mean) / sc->std);
}

float hs_lstm_scale_pad(const hs_lstm_scale *sc, hs_lstm_pad_rule rule)
{
    return rule == HS_LSTM_PAD_MEAN ? 0.0f : (float)((0.0 - sc->mean) / sc->std);
}

double hs_lstm_scale_back(const hs_lstm_scale *sc, float v)
{
    double m = (double)v * sc->std + sc->mean;
    return sc->log_scale ? expm1(m) : m;
}

/* The holdout's scores into *out and as a JSON object into *js (the caller's to free). */
static hs_status hs_scores(const hs_forecast_input *in, int64_t from, int64_t h, const float *yhat, const float *y_in,
                           hs_metrics *out, cJSON **js)
{
    hs_metrics mt;
    memset(&mt, 0, sizeof mt);
    if (in->log_scale) {
        HS_TRY(hs_metrics_report(in->clipped + from, in->raw + from, yhat, h, &mt));
    } else {
        hs_errsum s;
        hs_metrics_errsum(y_in + from, yhat, h, &s);
        mt.mae = s.abs_sum / (double)h;
        mt.rmse = sqrt(s.sq_sum / (double)h);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "mae", mt.mae);
    cJSON_AddNumberToObject(o, "rmse", mt.rmse);
    if (in->log_scale) {
        cJSON_AddNumberToObject(o, "mae_raw", mt.mae_raw);
        cJSON_AddNumberToObject(o, "rmse_raw", mt.rmse_raw);
        cJSON_AddNumberToObject(o, "mae_log", mt.mae_log);
        cJSON_AddNumberToObject(o, "rmse_log", mt.rmse_log);
    }
    cJSON_AddNumberToObject(o, "points", (double)h);
    *out = mt;
    *js = o;
    return HS_OK;
}

/* One model's parameters as named tensors with the configuration in the metadata. */
static hs_status hs_lstm_write_weights(hs_outset *os, hs_lstm *m, const hs_lstm_scale *sc, const hs_forecast_input *in,
                                       const hs_lstm_train_config *tc)
{
    const hs_lstm_config *c = hs_lstm_get_config(m);
    hs_lstm_layout lay;
    hs_lstm_get_layout(c, &lay);
    int64_t H = c->hidden, G4 = 4 * H, K = c->horizon;
    hs_st_tensor t[10];
    char names[10][32];
    int nt = 0;
    const float *p = hs_lstm_params(m);
    for (int l = 0; l < c->layers; l++) {
        int64_t Fl = l ? H : c->features;
        snprintf(names[nt], 32, "lstm.weight_ih_l%d", l);
        t[nt] = (hs_st_tensor){names[nt], p + lay.w_ih[l], 2, {G4, Fl, 0, 0}};
        nt++;
        snprintf(names[nt], 32, "lstm.weight_hh_l%d", l);
        t[nt] = (hs_st_tensor){names[nt], p + lay.w_hh[l], 2, {G4, H, 0, 0}};
        nt++;
        snprintf(names[nt], 32, "lstm.bias_ih_l%d", l);
        t[nt] = (hs_st_tensor){names[nt], p + lay.b_ih[l], 1, {G4, 0, 0, 0}};
        nt++;
        snprintf(names[nt], 32, "lstm.bias_hh_l%d", l);
        t[nt] = (hs_st_tensor){names[nt], p + lay.b_hh[l], 1, {G4, 0, 0, 0}};
        nt++;
    }
    t[nt++] = (hs_st_tensor){"head.weight", p + lay.w_out, 2, {K, H, 0, 0}};
    t[nt++] = (hs_st_tensor){"head.bias", p + lay.b_out, 1, {K, 0, 0, 0}};
    cJSON *meta = cJSON_CreateObject();
    char buf[256];
    cJSON_AddStringToObject(meta, "format", "hyscale-lstm-v1");
    snprintf(buf, sizeof buf, "{\"hidden\":%d,\"layers\":%d,\"features\":%d,\"window\":%d,\"horizon\":%d}",
             c->hidden, c->layers, c->features, c->window, c->horizon);
    cJSON_AddStringToObject(meta, "config", buf);
    snprintf(buf, sizeof buf, "%.17g", sc->mean);
    cJSON_AddStringToObject(meta, "norm_mean", buf);
    snprintf(buf, sizeof buf, "%.17g", sc->std);
    cJSON_AddStringToObject(meta, "norm_std", buf);
    cJSON_AddStringToObject(meta, "scale", sc->log_scale ? "log1p" : "identity");
    cJSON_AddStringToObject(meta, "calendar_features", tc->calendar ? "true" : "false");
    snprintf(buf, sizeof buf, "%lld", (long long)in->step_seconds);
    cJSON_AddStringToObject(meta, "step_seconds", buf);
    hs_format_time(in->ds[in->n - 1], buf);
    cJSON_AddStringToObject(meta, "last", buf);
    cJSON_AddStringToObject(meta, "gate_order", "i,f,g,o (PyTorch)");
    FILE *f;
    const char *tmp;
    hs_status st = hs_outset_file(os, "lstm.safetensors", &f, &tmp);
    if (st == HS_OK)
        st = hs_safetensors_write(f, tmp, t, nt, meta);
    cJSON_Delete(meta);
    return st;
}

static hs_status hs_write_series_rows(hs_outset *os, const char *name, const int64_t *ds, const float *y,
                                      const float *yhat, int64_t n)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, name, &f, &tmp));
    return hs_forecast_csv_write_at(f, tmp, ds, y, yhat, NULL, NULL, n);
}

/* Everything one run of the stage holds between plan, compute and write. */
typedef struct hs_lstm_job {
    hs_forecast_input in;
    hs_lstm *m;           /* trained, or loaded from c->weights */
    hs_lstm_norm wnorm;   /* the loaded weights' normalisation */
    hs_lstm_train_config tc; /* the configuration used (window and calendar from the weights file) */
    hs_lstm_plan plan;
    hs_lstm_scale sc;
    hs_lstm_data d;
    float pad;
    float *v;    /* (n) normalised input */
    float *yin;  /* (n) the actuals written as y */
    float *one;  /* (n) one-step predictions */
    float *rec;  /* (H) recursive holdout */
    float *next; /* (horizon) recursive forecast after the data */
    float *f8;   /* (n, 8) */
    int64_t *ends; /* (n) */
    hs_bt_table by_lead; /* recursive forecasts from the holdout's rolling cutoffs (lead.h) */
    hs_bt_table val_by_lead; /* the same from the validation span's cutoffs */
    hs_lstm_history hist;
    cJSON *js_one, *js_rec; /* holdout scores, NULL without a holdout */
} hs_lstm_job;

static void hs_lstm_job_free(hs_lstm_job *j)
{
    cJSON_Delete(j->js_one);
    cJSON_Delete(j->js_rec);
    free(j->v);
    free(j->yin);
    free(j->one);
    free(j->rec);
    free(j->next);
    free(j->f8);
    free(j->ends);
    hs_bt_table_free(&j->by_lead);
    hs_bt_table_free(&j->val_by_lead);
    hs_lstm_free(j->m);
    hs_lstm_history_free(&j->hist);
    hs_forecast_input_free(&j->in);
}

/* --weights: the model and its normalisation, refused when it models another kind of series. */
static hs_status hs_lstm_job_load(const hs_lstm_stage_config *c, hs_lstm_job *j)
{
    hs_status st = hs_lstm_load(c->weights, c->train.batch, &j->m, &j->wnorm);
    if (st == HS_OK && j->wnorm.log_scale != j->in.log_scale)
        st = hs_error_set(HS_ERR_INPUT, "%s: the weights model %s, the input %s is %s", c->weights,
                          j->wnorm.log_scale ? "log1p of a series.csv" : "a ds,y series as given", c->input,
                          j->in.log_scale ? "a series.csv" : "a ds,y file");
    if (st == HS_OK && j->wnorm.step_seconds != j->in.step_seconds)
        st = hs_error_set(HS_ERR_INPUT, "%s: trained on a %llds step, the input steps %llds", c->weights,
                          (long long)j->wnorm.step_seconds, (long long)j->in.step_seconds);
    if (st != HS_OK)
        return st;
    j->tc.window = hs_lstm_get_config(j->m)->window;
    j->tc.calendar = j->wnorm.calendar;
    j->tc.horizon = hs_lstm_get_config(j->m)->horizon;
    j->tc.epochs = 0;
    return HS_OK;
}

/* Plan: the input read and checked (long enough, finite, regular), the lengths fixed, the
 * series normalised on its training span (or as the loaded weights say), the buffers sized. */
static hs_status hs_lstm_job_plan(const hs_lstm_stage_config *c, hs_lstm_job *j)
{
    HS_TRY(hs_forecast_input_read(c->input, &j->in));
    j->tc = c->train;
    if (c->weights)
        HS_TRY(hs_lstm_job_load(c, j));
    const hs_forecast_input *in = &j->in;
    int64_t n = in->n;
    HS_TRY(hs_lstm_stage_plan(c, n, in->step_seconds, j->tc.window, &j->plan));
    hs_lstm_stage_resolve(&j->tc, j->plan.n_train, in->step_seconds);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(in->y[i]))
            return hs_error_set(HS_ERR_INPUT, "%s: point %lld is not finite", c->input, (long long)i + 1);
    for (int64_t i = 1; i < n; i++)
        if (in->ds[i] - in->ds[i - 1] != in->step_seconds)
            return hs_error_set(HS_ERR_INPUT, "%s: the LSTM needs a regular series; the spacing changes at point %lld",
                                c->input, (long long)i + 1);
    hs_lstm_scale_fit(in->y, j->plan.n_train, in->log_scale, &j->sc);
    if (j->m) { /* loaded weights carry their own normalisation */
        j->sc.mean = j->wnorm.mean;
        j->sc.std = j->wnorm.std;
    }
    int64_t H = j->plan.holdout, horizon = j->plan.horizon;
    j->v = malloc((size_t)n * sizeof *j->v);
    j->yin = malloc((size_t)n * sizeof *j->yin);
    j->one = malloc((size_t)n * sizeof *j->one);
    j->rec = malloc((size_t)(H > 0 ? H : 1) * sizeof *j->rec);
    j->next = malloc((size_t)(horizon > 0 ? horizon : 1) * sizeof *j->next);
    j->f8 = malloc((size_t)n * 8 * sizeof *j->f8);
    j->ends = malloc((size_t)n * sizeof *j->ends);
    if (!j->v || !j->yin || !j->one || !j->rec || !j->next || !j->f8 || !j->ends)
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory");
    hs_lstm_scale_apply(&j->sc, in->y, n, j->v);
    for (int64_t i = 0; i < n; i++)
        j->yin[i] = in->clipped ? in->clipped[i] : (float)in->y[i];
    j->d = (hs_lstm_data){1, n, in->ds[0], in->step_seconds, j->v, j->tc.calendar};
    j->pad = hs_lstm_scale_pad(&j->sc, HS_LSTM_PAD_ZERO); /* before the series start: zero invocations */
    return HS_OK;
}

/* A short series gets at least 32 optimizer steps an epoch: a day of minutes at batch 256 gives
 * 4, too few for early stopping to judge (the manifest records the batch used). */
static void hs_lstm_job_fit_batch(const hs_lstm_stage_config *c, hs_lstm_job *j)
{
    int64_t ntr = j->plan.n_train, nwin = hs_lead_validation_start(ntr) - j->tc.window;
    if (j->m || nwin <= 0 || (int64_t)j->tc.batch * 32 <= nwin)
        return;
    int64_t b = nwin / 32 > 32 ? nwin / 32 : 32;
    if (b < j->tc.batch) {
        if (!c->quiet)
            fprintf(stderr, "lstm: %lld training windows: batch %d -> %lld, for 32 steps an epoch\n", (long long)nwin,
                    j->tc.batch, (long long)b);
        j->tc.batch = (int)b;
    }
}

/* Compute, normalised: one step ahead from every point (the window before it), the recursive
 * holdout from the end of training, the next horizon from the end of the data, and F8 (the
 * 8-step forecast made at the end of every minute); then, with a holdout, the forecasts by lead
 * time (on the input's scale). */
static hs_status hs_lstm_job_predict(hs_lstm_job *j)
{
    int64_t n = j->plan.n, ntr = j->plan.n_train, H = j->plan.holdout, horizon = j->plan.horizon;
    for (int64_t i = 0; i < n; i++)
        j->ends[i] = i;
    HS_TRY(hs_lstm_predict(j->m, &j->d, j->ends, n, 1, j->pad, j->one));
    if (H > 0) {
        int64_t e = ntr;
        HS_TRY(hs_lstm_predict(j->m, &j->d, &e, 1, (int)H, j->pad, j->rec));
    }
    if (horizon > 0) {
        int64_t e = n;
        HS_TRY(hs_lstm_predict(j->m, &j->d, &e, 1, (int)horizon, j->pad, j->next));
    }
    for (int64_t i = 0; i < n; i++)
        j->ends[i] = i + 1; /* the end of minute i: values up to i are known */
    HS_TRY(hs_lstm_predict(j->m, &j->d, j->ends, n, 8, j->pad, j->f8));
    HS_TRY(hs_lstm_by_lead(j->m, &j->d, &j->sc, j->pad, j->in.ds, j->yin, n, ntr, &j->by_lead));
    int64_t v0 = hs_lead_validation_start(ntr);
    if (H == 0 || v0 < 1)
        return HS_OK;
    return hs_lstm_by_lead(j->m, &j->d, &j->sc, j->pad, j->in.ds, j->yin, ntr, v0, &j->val_by_lead);
}

/* Compute: train (unless loaded), predict, back on the input's scale, score the holdout. */
static hs_status hs_lstm_job_compute(const hs_lstm_stage_config *c, hs_lstm_job *j, hs_lstm_stage_result *res)
{
    hs_lstm_job_fit_batch(c, j);
    if (!j->m)
        HS_TRY(hs_lstm_train(&j->tc, &j->d, j->plan.n_train, &j->m, &j->hist));
    HS_TRY(hs_lstm_job_predict(j));
    int64_t n = j->plan.n, ntr = j->plan.n_train, H = j->plan.holdout, horizon = j->plan.horizon;
    for (int64_t i = 0; i < n; i++)
        j->one[i] = (float)hs_lstm_scale_back(&j->sc, j->one[i]);
    for (int64_t i = 0; i < H; i++)
        j->rec[i] = (float)hs_lstm_scale_back(&j->sc, j->rec[i]);
    for (int64_t i = 0; i < horizon; i++)
        j->next[i] = (float)hs_lstm_scale_back(&j->sc, j->next[i]);
    for (int64_t i = 0; i < n * 8; i++)
        j->f8[i] = (float)hs_lstm_scale_back(&j->sc, j->f8[i]);
    if (H > 0) {
        hs_metrics m1, m2;
        HS_TRY(hs_scores(&j->in, ntr, H, j->one + ntr, j->yin, &m1, &j->js_one));
        HS_TRY(hs_scores(&j->in, ntr, H, j->rec, j->yin, &m2, &j->js_rec));
        res->one_step_mae = m1.mae;
        res->one_step_rmse = m1.rmse;
        res->recursive_mae = m2.mae;
        res->recursive_rmse = m2.rmse;
    }
    return HS_OK;
}

/* lstm_full.csv, lstm_recursive.csv, lstm_next.csv, lstm_forecast8.csv and, with a holdout,
 * lstm_by_lead.csv. */
static hs_status hs_lstm_write_forecasts(hs_outset *os, const hs_lstm_job *j)
{
    const hs_forecast_input *in = &j->in;
    int64_t n = j->plan.n, ntr = j->plan.n_train, H = j->plan.holdout, horizon = j->plan.horizon;
    HS_TRY(hs_write_series_rows(os, "lstm_full.csv", in->ds, j->yin, j->one, n));
    int64_t nh = H > horizon ? H : horizon;
    int64_t *ds_h = malloc((size_t)(nh > 0 ? nh : 1) * sizeof *ds_h);
    if (!ds_h)
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory");
    for (int64_t i = 0; i < H; i++)
        ds_h[i] = in->ds[ntr + i];
    hs_status st = hs_write_series_rows(os, "lstm_recursive.csv", ds_h, j->yin + ntr, j->rec, H);
    if (st == HS_OK) {
        for (int64_t i = 0; i < horizon; i++)
            ds_h[i] = in->ds[n - 1] + (i + 1) * in->step_seconds;
        st = hs_write_series_rows(os, "lstm_next.csv", ds_h, NULL, j->next, horizon);
    }
    free(ds_h);
    FILE *f;
    const char *tmp;
    if (st == HS_OK)
        st = hs_outset_file(os, "lstm_forecast8.csv", &f, &tmp);
    if (st == HS_OK) {
        fputs("minute,f1,f2,f3,f4,f5,f6,f7,f8\n", f);
        static const char *const names[8] = {"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"};
        for (int64_t i = 0; st == HS_OK && i < n; i++) {
            double v[8];
            for (int k = 0; k < 8; k++)
                v[k] = j->f8[i * 8 + k];
            st = hs_out_check_finite(tmp, i + 2, 2, names, v, 8);
            if (st)
                break;
            fprintf(f, "%lld", (long long)((in->ds[i] - in->ds[0]) / 60));
            for (int k = 0; k < 8; k++)
                fprintf(f, ",%.6g", j->f8[i * 8 + k]);
            fputc('\n', f);
        }
    }
    if (st == HS_OK && H > 0)
        st = hs_outset_file(os, "lstm_by_lead.csv", &f, &tmp);
    if (st == HS_OK && H > 0) {
        const hs_bt_table *b = &j->by_lead;
        hs_bt_rows r = {b->n, b->cutoff, b->ds, b->y, b->yhat, NULL, NULL};
        st = hs_bt_csv_write(f, tmp, &r);
    }
    if (st == HS_OK && H > 0)
        st = hs_outset_file(os, "lstm_validation_by_lead.csv", &f, &tmp);
    if (st == HS_OK && H > 0) {
        const hs_bt_table *b = &j->val_by_lead;
        hs_bt_rows r = {b->n, b->cutoff, b->ds, b->y, b->yhat, NULL, NULL};
        st = hs_bt_csv_write(f, tmp, &r);
    }
    return st;
}

/* The "config" object of lstm_metrics.json: the requested training options and the batch used. */
static cJSON *hs_lstm_config_json(const hs_lstm_stage_config *c, const hs_lstm_job *j)
{
    cJSON *cf = cJSON_CreateObject();
    cJSON_AddNumberToObject(cf, "hidden", c->train.hidden);
    cJSON_AddNumberToObject(cf, "layers", c->train.layers);
    cJSON_AddNumberToObject(cf, "window", c->train.window);
    cJSON_AddNumberToObject(cf, "outputs", j->tc.horizon);
    cJSON_AddStringToObject(cf, "outputs_requested", c->train.horizon > 0 ? "set" : "auto");
    cJSON_AddNumberToObject(cf, "batch", j->tc.batch);
    cJSON_AddNumberToObject(cf, "batch_requested", c->train.batch);
    cJSON_AddNumberToObject(cf, "epochs", c->train.epochs);
    cJSON_AddNumberToObject(cf, "patience", c->train.patience);
    cJSON_AddNumberToObject(cf, "lr", c->train.lr);
    cJSON_AddNumberToObject(cf, "clip", c->train.clip);
    cJSON_AddBoolToObject(cf, "calendar", j->tc.calendar);
    cJSON_AddStringToObject(cf, "calendar_requested", c->train.calendar >= 0 ? "set" : "auto");
    cJSON_AddNumberToObject(cf, "seed", (double)c->train.seed);
    return cf;
}

/* lstm_metrics.json and, with a manifest, the manifest (device, metrics, timings). Takes the
 * holdout scores out of j. */
static hs_status hs_lstm_write_metrics(hs_outset *os, const hs_lstm_stage_config *c, hs_lstm_job *j, cJSON *manifest)
{
    const hs_lstm_history *hist = &j->hist;
    hs_device dev = hs_lstm_device(j->m);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", "lstm");
    cJSON_AddStringToObject(o, "device", hs_device_name(dev));
    cJSON_AddStringToObject(o, "implementation", hs_lstm_impl_name(j->m));
    cJSON_AddStringToObject(o, "input", c->input);
    if (c->weights)
        cJSON_AddStringToObject(o, "weights", c->weights);
    cJSON_AddStringToObject(o, "scale", j->in.log_scale ? "invocations (model fitted on log1p)" : "as given");
    cJSON_AddNumberToObject(o, "points", (double)j->plan.n);
    cJSON_AddNumberToObject(o, "train_points", (double)j->plan.n_train);
    cJSON_AddNumberToObject(o, "holdout", (double)j->plan.holdout);
    cJSON_AddNumberToObject(o, "horizon", (double)j->plan.horizon);
    if (j->js_one) {
        cJSON_AddItemToObject(o, "one_step", j->js_one);
        cJSON_AddItemToObject(o, "recursive", j->js_rec);
        j->js_one = j->js_rec = NULL;
    }
    cJSON_AddNumberToObject(o, "train_seconds", hist->seconds);
    cJSON_AddNumberToObject(o, "samples_per_second", hist->samples_per_second);
    cJSON_AddNumberToObject(o, "epochs", hist->epochs);
    cJSON_AddNumberToObject(o, "best_epoch", hist->best_epoch);
    cJSON_AddItemToObject(o, "config", hs_lstm_config_json(c, j));
    cJSON *lc = cJSON_AddObjectToObject(o, "loss_curve");
    cJSON *tl = cJSON_AddArrayToObject(lc, "train"), *vl = cJSON_AddArrayToObject(lc, "validation");
    for (int e = 0; e < hist->epochs; e++) {
        cJSON_AddItemToArray(tl, cJSON_CreateNumber(hist->train_loss[e]));
        cJSON_AddItemToArray(vl, cJSON_CreateNumber(hist->val_loss[e]));
    }
    cJSON *nm = cJSON_AddObjectToObject(o, "normalisation");
    cJSON_AddNumberToObject(nm, "mean", j->sc.mean);
    cJSON_AddNumberToObject(nm, "std", j->sc.std);
    hs_status st = hs_json_write(os, "lstm_metrics.json", o);
    if (st == HS_OK && manifest) {
        hs_manifest_set_device(manifest, dev);
        cJSON_AddStringToObject(manifest, "implementation", hs_lstm_impl_name(j->m));
        cJSON_AddItemToObject(manifest, "metrics", cJSON_Duplicate(o, 1));
        cJSON_AddNumberToObject(hs_manifest_section(manifest, "timings"), "train_seconds", hist->seconds);
        st = hs_json_write(os, c->manifest_name ? c->manifest_name : "manifest.json", manifest);
    }
    cJSON_Delete(o);
    return st;
}

/* lstm_loss.png: training and validation loss per epoch (the first 512). */
static hs_status hs_lstm_plot_loss(hs_outset *os, const hs_lstm_history *hist)
{
    double ex[512], tr[512], va[512];
    int ne = hist->epochs < 512 ? hist->epochs : 512;
    for (int e = 0; e < ne; e++) {
        ex[e] = e + 1;
        tr[e] = hist->train_loss[e];
        va[e] = hist->val_loss[e];
    }
    hs_plot_line ln[2] = {{ex, tr, ne, "training loss", HS_COLOR_BLUE},
                          {ex, va, ne, "validation loss", HS_COLOR_ORANGE}};
    const char *tmp;
    HS_TRY(hs_outset_path(os, "lstm_loss.png", &tmp));
    return hs_plot_lines_png(tmp, "LSTM (hyscale): loss per epoch (MSE, normalised)", "epoch", "loss", ln, 2);
}

/* lstm.png: actuals, the one-step fit, the recursive holdout and the next horizon; then the loss. */
static hs_status hs_lstm_plot(hs_outset *os, const hs_lstm_job *j)
{
    const hs_forecast_input *in = &j->in;
    int64_t n = j->plan.n, ntr = j->plan.n_train, horizon = j->plan.horizon, nf = n + horizon;
    double *xa = malloc((size_t)n * sizeof *xa), *ya = malloc((size_t)n * sizeof *ya);
    double *xf = malloc((size_t)nf * sizeof *xf), *yf = malloc((size_t)nf * sizeof *yf);
    hs_status st = HS_OK;
    if (!xa || !ya || !xf || !yf)
        st = hs_error_set(HS_ERR_NOMEM, "lstm: out of memory");
    for (int64_t i = 0; st == HS_OK && i < n; i++) {
        xa[i] = xf[i] = (double)(in->ds[i] - in->ds[0]) / 86400.0;
        ya[i] = j->yin[i];
        yf[i] = i >= ntr ? j->rec[i - ntr] : j->one[i];
    }
    for (int64_t i = 0; st == HS_OK && i < horizon; i++) {
        xf[n + i] = (double)(in->ds[n - 1] + (i + 1) * in->step_seconds - in->ds[0]) / 86400.0;
        yf[n + i] = j->next[i];
    }
    const char *tmp;
    if (st == HS_OK)
        st = hs_outset_path(os, "lstm.png", &tmp);
    if (st == HS_OK)
        st = hs_plot_forecast_png(tmp, "LSTM (hyscale): one-step fit, recursive holdout and next", xa, ya, n, xf, yf,
                                  NULL, NULL, nf);
    if (st == HS_OK && j->hist.epochs > 0)
        st = hs_lstm_plot_loss(os, &j->hist);
    free(xa);
    free(ya);
    free(xf);
    free(yf);
    return st;
}

/* Write: every file of the stage into out_dir, all together or none. */
static hs_status hs_lstm_job_write(const hs_lstm_stage_config *c, hs_lstm_job *j, cJSON *manifest)
{
    hs_outset *os = NULL;
    hs_status st = hs_outset_open(c->out_dir, &os);
    if (st == HS_OK)
        st = hs_lstm_write_forecasts(os, j);
    if (st == HS_OK)
        st = hs_lstm_write_weights(os, j->m, &j->sc, &j->in, &j->tc);
    if (st == HS_OK)
        st = hs_lstm_write_metrics(os, c, j, manifest);
    if (st == HS_OK && c->plot)
        st = hs_lstm_plot(os, j);
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    return st;
}

hs_status hs_lstm_stage_run(const hs_lstm_stage_config *c, cJSON *manifest, hs_lstm_stage_result *res)
{
    memset(res, 0, sizeof *res);
    res->one_step_mae = res->one_step_rmse = res->recursive_mae = res->recursive_rmse = NAN;
    hs_lstm_job j;
    memset(&j, 0, sizeof j);
    hs_status st = hs_lstm_job_plan(c, &j);
    if (st == HS_OK)
        st = hs_lstm_job_compute(c, &j, res);
    res->n = j.plan.n;
    res->n_train = j.plan.n_train;
    res->holdout = j.plan.holdout;
    res->horizon = j.plan.horizon;
    res->train_seconds = j.hist.seconds;
    res->epochs = j.hist.epochs;
    if (st == HS_OK)
        st = hs_lstm_job_write(c, &j, manifest);
    hs_lstm_job_free(&j);
    return st;
}
