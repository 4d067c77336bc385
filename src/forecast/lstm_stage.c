/* lstm_stage.c: `hyscale forecast lstm`: read the input, normalise on the training span,
 * train, predict one step and recursively, write every file of the stage (lstm_stage.h). */
#include "hyscale/lstm_stage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/forecast_csv.h"
#include "hyscale/forecast_input.h"
#include "hyscale/manifest.h"
#include "hyscale/metrics.h"
#include "hyscale/outfiles.h"
#include "hyscale/plot.h"
#include "hyscale/safetensors.h"
#include "hyscale/series.h"
#include "backend/lstm_seam.h"

typedef struct hs_lstm_scale {
    double mean, std;
    int log_scale;
} hs_lstm_scale;

/* normalised -> the input's scale (invocations for a log model) */
static float hs_lstm_back(const hs_lstm_scale *s, float v)
{
    double m = (double)v * s->std + s->mean;
    return (float)(s->log_scale ? expm1(m) : m);
}

static cJSON *hs_scores(hs_device dev, const hs_forecast_input *in, int64_t from, int64_t h, const float *yhat,
                        const float *y_in, hs_metrics *out)
{
    cJSON *o = cJSON_CreateObject();
    hs_metrics mt;
    memset(&mt, 0, sizeof mt);
    if (in->log_scale) {
        hs_metrics_report(dev, in->clipped + from, in->raw + from, yhat, h, &mt);
    } else {
        hs_errsum s;
        hs_metrics_errsum_cpu(y_in + from, yhat, h, &s);
        mt.mae = s.abs_sum / (double)h;
        mt.rmse = sqrt(s.sq_sum / (double)h);
    }
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
    return o;
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

hs_status hs_lstm_stage_run(const hs_lstm_stage_config *c, cJSON *manifest, hs_lstm_stage_result *res)
{
    memset(res, 0, sizeof *res);
    res->one_step_mae = res->one_step_rmse = res->recursive_mae = res->recursive_rmse = NAN;
    hs_forecast_input in;
    HS_TRY(hs_forecast_input_read(c->input, &in));
    hs_lstm *m = NULL;
    hs_lstm_norm wnorm;
    memset(&wnorm, 0, sizeof wnorm);
    hs_lstm_train_config tc = c->train;
    if (c->weights) {
        hs_status ls = hs_lstm_load(c->weights, c->train.batch, &m, &wnorm);
        if (ls == HS_OK && wnorm.log_scale != in.log_scale)
            ls = hs_error_set(HS_ERR_INPUT, "%s: the weights model %s, the input %s is %s", c->weights,
                              wnorm.log_scale ? "log1p of a series.csv" : "a ds,y series as given", c->input,
                              in.log_scale ? "a series.csv" : "a ds,y file");
        if (ls == HS_OK && wnorm.step_seconds != in.step_seconds)
            ls = hs_error_set(HS_ERR_INPUT, "%s: trained on a %llds step, the input steps %llds", c->weights,
                              (long long)wnorm.step_seconds, (long long)in.step_seconds);
        if (ls != HS_OK) {
            hs_lstm_free(m);
            hs_forecast_input_free(&in);
            return ls;
        }
        tc.window = hs_lstm_get_config(m)->window;
        tc.calendar = wnorm.calendar;
        tc.epochs = 0;
    }
    int64_t n = in.n, H = c->holdout, W = tc.window;
    int64_t horizon = c->horizon >= 0 ? c->horizon : (in.step_seconds == 60 ? 1440 : 30);
    int64_t ntr = n - H;
    hs_status st = HS_OK;
    if (H < 0 || ntr < 2 * W + 2)
        st = hs_error_set(HS_ERR_INPUT,
                          "%s: %lld points with a holdout of %lld leave %lld to train on; the window of %lld needs "
                          "at least %lld",
                          c->input, (long long)n, (long long)H, (long long)ntr, (long long)W, (long long)(2 * W + 2));
    for (int64_t i = 0; st == HS_OK && i < n; i++)
        if (!isfinite(in.y[i]))
            st = hs_error_set(HS_ERR_INPUT, "%s: point %lld is not finite", c->input, (long long)i + 1);
    for (int64_t i = 1; st == HS_OK && i < n; i++)
        if (in.ds[i] - in.ds[i - 1] != in.step_seconds)
            st = hs_error_set(HS_ERR_INPUT, "%s: the LSTM needs a regular series; the spacing changes at point %lld",
                              c->input, (long long)i + 1);
    hs_lstm_scale sc = {0, 1, in.log_scale};
    float *v = NULL, *yin = NULL, *one = NULL, *rec = NULL, *next = NULL, *f8 = NULL;
    int64_t *ends = NULL;
    hs_lstm_history hist;
    memset(&hist, 0, sizeof hist);
    if (st == HS_OK) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < ntr; i++)
            s += in.y[i];
        sc.mean = s / (double)ntr;
        for (int64_t i = 0; i < ntr; i++)
            s2 += (in.y[i] - sc.mean) * (in.y[i] - sc.mean);
        sc.std = sqrt(s2 / (double)ntr);
        if (!(sc.std > 1e-12))
            sc.std = 1.0; /* a constant training span */
        if (m) { /* loaded weights carry their own normalisation */
            sc.mean = wnorm.mean;
            sc.std = wnorm.std;
        }
        v = malloc((size_t)n * sizeof *v);
        yin = malloc((size_t)n * sizeof *yin);
        one = malloc((size_t)n * sizeof *one);
        rec = malloc((size_t)(H > 0 ? H : 1) * sizeof *rec);
        next = malloc((size_t)(horizon > 0 ? horizon : 1) * sizeof *next);
        f8 = malloc((size_t)n * 8 * sizeof *f8);
        ends = malloc((size_t)n * sizeof *ends);
        if (!v || !yin || !one || !rec || !next || !f8 || !ends)
            st = hs_error_set(HS_ERR_NOMEM, "lstm: out of memory");
    }
    if (st == HS_OK) {
        for (int64_t i = 0; i < n; i++) {
            v[i] = (float)((in.y[i] - sc.mean) / sc.std);
            yin[i] = in.clipped ? in.clipped[i] : (float)in.y[i];
        }
    }
    hs_lstm_data d = {1, n, in.ds[0], in.step_seconds, v, tc.calendar};
    /* pad before the series start: zero invocations */
    float pad = (float)((0.0 - sc.mean) / sc.std);
    /* a short series gets at least 32 optimizer steps an epoch: a day of minutes at batch 256
     * gives 4, too few for early stopping to judge (the manifest records the batch used) */
    int64_t nwin = ntr - ntr / 10 - tc.window;
    if (st == HS_OK && !m && nwin > 0 && (int64_t)tc.batch * 32 > nwin) {
        int64_t b = nwin / 32 > 32 ? nwin / 32 : 32;
        if (b < tc.batch) {
            if (!c->quiet)
                fprintf(stderr, "lstm: %lld training windows: batch %d -> %lld, for 32 steps an epoch\n",
                        (long long)nwin, tc.batch, (long long)b);
            tc.batch = (int)b;
        }
    }
    if (st == HS_OK && !m)
        st = hs_lstm_train(&tc, &d, ntr, &m, &hist);
    /* one step ahead from every point (window before it), recursive holdout, next, and F8 */
    if (st == HS_OK) {
        for (int64_t i = 0; i < n; i++)
            ends[i] = i;
        st = hs_lstm_predict(m, &d, ends, n, 1, pad, one);
    }
    if (st == HS_OK && H > 0) {
        int64_t e = ntr;
        st = hs_lstm_predict(m, &d, &e, 1, (int)H, pad, rec);
    }
    if (st == HS_OK && horizon > 0) {
        int64_t e = n;
        st = hs_lstm_predict(m, &d, &e, 1, (int)horizon, pad, next);
    }
    if (st == HS_OK) {
        for (int64_t i = 0; i < n; i++)
            ends[i] = i + 1; /* the end of minute i: values up to i are known */
        st = hs_lstm_predict(m, &d, ends, n, 8, pad, f8);
    }
    hs_metrics m1, m2;
    cJSON *js_one = NULL, *js_rec = NULL;
    if (st == HS_OK) {
        for (int64_t i = 0; i < n; i++)
            one[i] = hs_lstm_back(&sc, one[i]);
        for (int64_t i = 0; i < H; i++)
            rec[i] = hs_lstm_back(&sc, rec[i]);
        for (int64_t i = 0; i < horizon; i++)
            next[i] = hs_lstm_back(&sc, next[i]);
        for (int64_t i = 0; i < n * 8; i++)
            f8[i] = hs_lstm_back(&sc, f8[i]);
        if (H > 0) {
            js_one = hs_scores(HS_DEVICE_CPU, &in, ntr, H, one + ntr, yin, &m1);
            js_rec = hs_scores(HS_DEVICE_CPU, &in, ntr, H, rec, yin, &m2);
            res->one_step_mae = m1.mae;
            res->one_step_rmse = m1.rmse;
            res->recursive_mae = m2.mae;
            res->recursive_rmse = m2.rmse;
        }
    }
    res->n = n;
    res->n_train = ntr;
    res->holdout = H;
    res->horizon = horizon;
    res->train_seconds = hist.seconds;
    res->epochs = hist.epochs;
    hs_outset *os = NULL;
    if (st == HS_OK)
        st = hs_outset_open(c->out_dir, &os);
    if (st == HS_OK)
        st = hs_write_series_rows(os, "lstm_full.csv", in.ds, yin, one, n);
    int64_t *ds_h = NULL;
    if (st == HS_OK) {
        int64_t nh = H > horizon ? H : horizon;
        ds_h = malloc((size_t)(nh > 0 ? nh : 1) * sizeof *ds_h);
        if (!ds_h)
            st = hs_error_set(HS_ERR_NOMEM, "lstm: out of memory");
    }
    if (st == HS_OK) {
        for (int64_t i = 0; i < H; i++)
            ds_h[i] = in.ds[ntr + i];
        st = hs_write_series_rows(os, "lstm_recursive.csv", ds_h, yin + ntr, rec, H);
    }
    if (st == HS_OK) {
        for (int64_t i = 0; i < horizon; i++)
            ds_h[i] = in.ds[n - 1] + (i + 1) * in.step_seconds;
        st = hs_write_series_rows(os, "lstm_next.csv", ds_h, NULL, next, horizon);
    }
    if (st == HS_OK) {
        FILE *f;
        const char *tmp;
        st = hs_outset_file(os, "lstm_forecast8.csv", &f, &tmp);
        if (st == HS_OK) {
            fputs("minute,f1,f2,f3,f4,f5,f6,f7,f8\n", f);
            for (int64_t i = 0; i < n; i++) {
                fprintf(f, "%lld", (long long)((in.ds[i] - in.ds[0]) / 60));
                for (int k = 0; k < 8; k++)
                    fprintf(f, ",%.6g", f8[i * 8 + k]);
                fputc('\n', f);
            }
        }
    }
    if (st == HS_OK)
        st = hs_lstm_write_weights(os, m, &sc, &in, &tc);
    if (st == HS_OK) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", "lstm");
        const char *impl = hs_lstm_impl_name(m);
        cJSON_AddStringToObject(j, "device", strcmp(impl, "cpu") ? "cuda" : "cpu");
        cJSON_AddStringToObject(j, "implementation", impl);
        cJSON_AddStringToObject(j, "input", c->input);
        if (c->weights)
            cJSON_AddStringToObject(j, "weights", c->weights);
        cJSON_AddStringToObject(j, "scale", in.log_scale ? "invocations (model fitted on log1p)" : "as given");
        cJSON_AddNumberToObject(j, "points", (double)n);
        cJSON_AddNumberToObject(j, "train_points", (double)ntr);
        cJSON_AddNumberToObject(j, "holdout", (double)H);
        cJSON_AddNumberToObject(j, "horizon", (double)horizon);
        if (js_one) {
            cJSON_AddItemToObject(j, "one_step", js_one);
            cJSON_AddItemToObject(j, "recursive", js_rec);
            js_one = js_rec = NULL;
        }
        cJSON_AddNumberToObject(j, "train_seconds", hist.seconds);
        cJSON_AddNumberToObject(j, "samples_per_second", hist.samples_per_second);
        cJSON_AddNumberToObject(j, "epochs", hist.epochs);
        cJSON_AddNumberToObject(j, "best_epoch", hist.best_epoch);
        cJSON *cf = cJSON_AddObjectToObject(j, "config");
        cJSON_AddNumberToObject(cf, "hidden", c->train.hidden);
        cJSON_AddNumberToObject(cf, "layers", c->train.layers);
        cJSON_AddNumberToObject(cf, "window", c->train.window);
        cJSON_AddNumberToObject(cf, "outputs", c->train.horizon);
        cJSON_AddNumberToObject(cf, "batch", tc.batch);
        cJSON_AddNumberToObject(cf, "batch_requested", c->train.batch);
        cJSON_AddNumberToObject(cf, "epochs", c->train.epochs);
        cJSON_AddNumberToObject(cf, "patience", c->train.patience);
        cJSON_AddNumberToObject(cf, "lr", c->train.lr);
        cJSON_AddNumberToObject(cf, "clip", c->train.clip);
        cJSON_AddBoolToObject(cf, "calendar", c->train.calendar);
        cJSON_AddNumberToObject(cf, "seed", (double)c->train.seed);
        cJSON *lc = cJSON_AddObjectToObject(j, "loss_curve");
        cJSON *tl = cJSON_AddArrayToObject(lc, "train"), *vl = cJSON_AddArrayToObject(lc, "validation");
        for (int e = 0; e < hist.epochs; e++) {
            cJSON_AddItemToArray(tl, cJSON_CreateNumber(hist.train_loss[e]));
            cJSON_AddItemToArray(vl, cJSON_CreateNumber(hist.val_loss[e]));
        }
        cJSON *nm = cJSON_AddObjectToObject(j, "normalisation");
        cJSON_AddNumberToObject(nm, "mean", sc.mean);
        cJSON_AddNumberToObject(nm, "std", sc.std);
        st = hs_json_write(os, "lstm_metrics.json", j);
        if (st == HS_OK && manifest) {
            hs_manifest_set_device(manifest, strcmp(impl, "cpu") ? HS_DEVICE_CUDA : HS_DEVICE_CPU);
            cJSON_AddStringToObject(manifest, "implementation", impl);
            cJSON_AddItemToObject(manifest, "metrics", cJSON_Duplicate(j, 1));
            cJSON_AddNumberToObject(hs_manifest_section(manifest, "timings"), "train_seconds", hist.seconds);
            st = hs_json_write(os, c->manifest_name ? c->manifest_name : "manifest.json", manifest);
        }
        cJSON_Delete(j);
    }
    if (st == HS_OK && c->plot) {
        /* lstm.png: actuals, the one-step fit, the recursive holdout and the next horizon */
        int64_t nf = n + horizon;
        double *xa = malloc((size_t)n * sizeof *xa), *ya = malloc((size_t)n * sizeof *ya);
        double *xf = malloc((size_t)nf * sizeof *xf), *yf = malloc((size_t)nf * sizeof *yf);
        if (!xa || !ya || !xf || !yf)
            st = hs_error_set(HS_ERR_NOMEM, "lstm: out of memory");
        for (int64_t i = 0; st == HS_OK && i < n; i++) {
            xa[i] = xf[i] = (double)(in.ds[i] - in.ds[0]) / 86400.0;
            ya[i] = yin[i];
            yf[i] = i >= ntr ? rec[i - ntr] : one[i];
        }
        for (int64_t i = 0; st == HS_OK && i < horizon; i++) {
            xf[n + i] = (double)(in.ds[n - 1] + (i + 1) * in.step_seconds - in.ds[0]) / 86400.0;
            yf[n + i] = next[i];
        }
        const char *tmp;
        if (st == HS_OK)
            st = hs_outset_path(os, "lstm.png", &tmp);
        if (st == HS_OK)
            st = hs_plot_forecast_png(tmp, "LSTM (hyscale): one-step fit, recursive holdout and next", xa, ya, n, xf, yf,
                                      NULL, NULL, nf);
        if (st == HS_OK && hist.epochs > 0) {
            double ex[512], tr[512], va[512];
            int ne = hist.epochs < 512 ? hist.epochs : 512;
            for (int e = 0; e < ne; e++) {
                ex[e] = e + 1;
                tr[e] = hist.train_loss[e];
                va[e] = hist.val_loss[e];
            }
            hs_plot_line ln[2] = {{ex, tr, ne, "training loss", HS_COLOR_BLUE},
                                  {ex, va, ne, "validation loss", HS_COLOR_ORANGE}};
            st = hs_outset_path(os, "lstm_loss.png", &tmp);
            if (st == HS_OK)
                st = hs_plot_lines_png(tmp, "LSTM (hyscale): loss per epoch (MSE, normalised)", "epoch", "loss", ln,
                                       2);
        }
        free(xa);
        free(ya);
        free(xf);
        free(yf);
    }
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    cJSON_Delete(js_one);
    cJSON_Delete(js_rec);
    free(ds_h);
    free(v);
    free(yin);
    free(one);
    free(rec);
    free(next);
    free(f8);
    free(ends);
    hs_lstm_free(m);
    hs_lstm_history_free(&hist);
    hs_forecast_input_free(&in);
    return st;
}
