/* lstm_functions.c: `hyscale forecast lstm --per-function N`: one LSTM per function for the top
 * N per-function series of preprocessing, trained at once with a model dimension in every
 * buffer (lstm_stage.h). */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/forecast_input.h"
#include "hyscale/lstm_stage.h"
#include "hyscale/manifest.h"
#include "hyscale/outfiles.h"
#include "hyscale/safetensors.h"
#include "hyscale/series.h"

hs_status hs_lstm_functions_run(const hs_lstm_stage_config *c, int nfun, cJSON *manifest, hs_lstm_stage_result *res)
{
    memset(res, 0, sizeof *res);
    hs_forecast_input in;
    HS_TRY(hs_forecast_input_read(c->input, &in));
    hs_status st = in.log_scale ? HS_OK
                                : hs_error_set(HS_ERR_USAGE, "--per-function reads a preprocessed series.csv and the "
                                                             "functions.safetensors beside it, not a ds,y file");
    char dirbuf[4096], path[4200];
    snprintf(dirbuf, sizeof dirbuf, "%s", c->input);
    snprintf(path, sizeof path, "%s/functions.safetensors", dirname(dirbuf));
    hs_st_file sf;
    memset(&sf, 0, sizeof sf);
    if (st == HS_OK)
        st = hs_safetensors_read(path, &sf);
    int k = st == HS_OK ? hs_st_find(&sf, "invocations") : -1;
    int64_t M = in.n, H = c->holdout, ntr = M - H, W = c->train.window;
    if (st == HS_OK && (k < 0 || sf.ndim[k] != 2 || sf.shape[k][1] != M))
        st = hs_error_set(HS_ERR_INPUT, "%s: expected a tensor 'invocations' of (functions, %lld minutes)", path,
                          (long long)M);
    int N = 0;
    if (st == HS_OK) {
        N = nfun < sf.shape[k][0] ? nfun : (int)sf.shape[k][0];
        if (N < 1)
            st = hs_error_set(HS_ERR_INPUT, "%s: holds no functions", path);
    }
    if (st == HS_OK && (H < 1 || ntr < 2 * W + 2))
        st = hs_error_set(HS_ERR_INPUT, "%s: %lld points with a holdout of %lld leave too few to train a window of %lld",
                          c->input, (long long)M, (long long)H, (long long)W);
    float *v = NULL, *clip = NULL, *one = NULL, *rec = NULL, *f8 = NULL;
    double *mean = NULL, *sd = NULL;
    int64_t *ends = NULL;
    hs_lstm *m = NULL;
    hs_lstm_history hist;
    memset(&hist, 0, sizeof hist);
    if (st == HS_OK) {
        v = malloc((size_t)N * M * sizeof *v);
        clip = malloc((size_t)N * M * sizeof *clip);
        one = malloc((size_t)N * H * sizeof *one);
        rec = malloc((size_t)N * H * sizeof *rec);
        mean = malloc((size_t)N * sizeof *mean);
        sd = malloc((size_t)N * sizeof *sd);
        ends = malloc((size_t)H * sizeof *ends);
        if (!v || !clip || !one || !rec || !mean || !sd || !ends)
            st = hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for %d functions", N);
    }
    if (st == HS_OK) {
        /* each function cleaned as the aggregate is (spike clipping, log1p), normalised on its
         * training span */
        hs_clip_config cc = HS_CLIP_DEFAULTS;
        for (int n = 0; n < N; n++) {
            const float *raw = sf.data[k] + (int64_t)n * M;
            float *cl = clip + (int64_t)n * M, *vn = v + (int64_t)n * M;
            hs_clip_spikes(raw, M, &cc, cl);
            double s = 0, s2 = 0;
            for (int64_t i = 0; i < M; i++)
                vn[i] = (float)log1p(cl[i]);
            for (int64_t i = 0; i < ntr; i++)
                s += vn[i];
            mean[n] = s / (double)ntr;
            for (int64_t i = 0; i < ntr; i++)
                s2 += (vn[i] - mean[n]) * (vn[i] - mean[n]);
            sd[n] = sqrt(s2 / (double)ntr);
            if (!(sd[n] > 1e-12))
                sd[n] = 1.0;
            for (int64_t i = 0; i < M; i++)
                vn[i] = (float)((vn[i] - mean[n]) / sd[n]);
        }
    }
    hs_lstm_data d = {N, M, in.ds[0], in.step_seconds, v, c->train.calendar};
    if (st == HS_OK)
        st = hs_lstm_train(&c->train, &d, ntr, &m, &hist);
    /* holdout: one step from the actual windows, and recursive from the end of training (every
     * window lies after the series start, since ntr > W: no padding is read) */
    if (st == HS_OK) {
        for (int64_t i = 0; i < H; i++)
            ends[i] = ntr + i;
        st = hs_lstm_predict(m, &d, ends, H, 1, 0.0f, one);
    }
    if (st == HS_OK) {
        int64_t e = ntr;
        st = hs_lstm_predict(m, &d, &e, 1, (int)H, 0.0f, rec);
    }
    /* the autoscaling environment's F: the 8-step forecast made at the end of every minute (the
     * window ends there; before the series start it reads each model's normalised mean, 0) */
    int64_t *ends8 = NULL;
    if (st == HS_OK) {
        f8 = malloc((size_t)N * M * 8 * sizeof *f8);
        ends8 = malloc((size_t)M * sizeof *ends8);
        if (!f8 || !ends8)
            st = hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for %d x %lld 8-step forecasts", N, (long long)M);
    }
    if (st == HS_OK) {
        for (int64_t i = 0; i < M; i++)
            ends8[i] = i + 1;
        st = hs_lstm_predict(m, &d, ends8, M, 8, 0.0f, f8);
    }
    free(ends8);
    if (st == HS_OK)
        for (int n = 0; n < N; n++)
            for (int64_t i = 0; i < M * 8; i++) {
                float *x = f8 + (int64_t)n * M * 8 + i;
                *x = (float)expm1((double)*x * sd[n] + mean[n]);
            }
    hs_outset *os = NULL;
    if (st == HS_OK)
        st = hs_outset_open(c->out_dir, &os);
    FILE *f = NULL;
    const char *tmp;
    double mo = 0, mr = 0, ro = 0, rr = 0;
    if (st == HS_OK)
        st = hs_outset_file(os, "lstm_functions.csv", &f, &tmp);
    if (st == HS_OK) {
        fputs("index,one_step_mae,one_step_rmse,recursive_mae,recursive_rmse\n", f);
        for (int n = 0; n < N; n++) {
            double a1 = 0, s1 = 0, a2 = 0, s2 = 0;
            for (int64_t i = 0; i < H; i++) {
                double y = clip[(int64_t)n * M + ntr + i];
                double p1 = expm1(one[(int64_t)n * H + i] * sd[n] + mean[n]);
                double p2 = expm1(rec[(int64_t)n * H + i] * sd[n] + mean[n]);
                a1 += fabs(y - p1);
                s1 += (y - p1) * (y - p1);
                a2 += fabs(y - p2);
                s2 += (y - p2) * (y - p2);
            }
            fprintf(f, "%d,%.6g,%.6g,%.6g,%.6g\n", n, a1 / H, sqrt(s1 / H), a2 / H, sqrt(s2 / H));
            mo += a1 / H / N;
            ro += sqrt(s1 / H) / N;
            mr += a2 / H / N;
            rr += sqrt(s2 / H) / N;
        }
    }
    if (st == HS_OK) {
        /* every function's weights in one file: each tensor with a leading model dimension */
        const hs_lstm_config *mc = hs_lstm_get_config(m);
        int64_t P = hs_lstm_param_count(mc);
        hs_st_tensor t = {"params", hs_lstm_params(m), 2, {N, P, 0, 0}};
        cJSON *meta = cJSON_CreateObject();
        char buf[256];
        cJSON_AddStringToObject(meta, "format", "hyscale-lstm-functions-v1");
        snprintf(buf, sizeof buf, "{\"hidden\":%d,\"layers\":%d,\"features\":%d,\"window\":%d,\"horizon\":%d}",
                 mc->hidden, mc->layers, mc->features, mc->window, mc->horizon);
        cJSON_AddStringToObject(meta, "config", buf);
        cJSON_AddStringToObject(meta, "layout", "params (N, P): each row one model's parameters in PyTorch order "
                                                "(nn.LSTM then nn.Linear), as lstm.safetensors' tensors flattened");
        cJSON_AddStringToObject(meta, "rows", "functions.csv order of the preprocessing folder");
        st = hs_outset_file(os, "lstm_functions.safetensors", &f, &tmp);
        if (st == HS_OK)
            st = hs_safetensors_write(f, tmp, &t, 1, meta);
        cJSON_Delete(meta);
    }
    if (st == HS_OK) {
        hs_st_tensor t = {"forecast8", f8, 3, {N, M, 8, 0}};
        cJSON *meta = cJSON_CreateObject();
        cJSON_AddStringToObject(meta, "format", "hyscale-forecast8-v1");
        cJSON_AddStringToObject(meta, "layout", "forecast8 (N, M, 8): F[t][k] of each function, the forecast of minute "
                                                "t + k made at the end of minute t, invocations per minute");
        cJSON_AddStringToObject(meta, "rows", "functions.csv order of the preprocessing folder");
        st = hs_outset_file(os, "lstm_functions_forecast8.safetensors", &f, &tmp);
        if (st == HS_OK)
            st = hs_safetensors_write(f, tmp, &t, 1, meta);
        cJSON_Delete(meta);
    }
    if (st == HS_OK) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", "lstm per function");
        cJSON_AddStringToObject(j, "device", strcmp(hs_lstm_impl_name(m), "cpu") ? "cuda" : "cpu");
        cJSON_AddStringToObject(j, "implementation", hs_lstm_impl_name(m));
        cJSON_AddNumberToObject(j, "functions", N);
        cJSON_AddNumberToObject(j, "holdout", (double)H);
        cJSON *o = cJSON_AddObjectToObject(j, "one_step");
        cJSON_AddNumberToObject(o, "mean_mae", mo);
        cJSON_AddNumberToObject(o, "mean_rmse", ro);
        cJSON *r = cJSON_AddObjectToObject(j, "recursive");
        cJSON_AddNumberToObject(r, "mean_mae", mr);
        cJSON_AddNumberToObject(r, "mean_rmse", rr);
        cJSON_AddNumberToObject(j, "train_seconds", hist.seconds);
        cJSON_AddNumberToObject(j, "samples_per_second", hist.samples_per_second);
        cJSON_AddNumberToObject(j, "epochs", hist.epochs);
        cJSON *nm = cJSON_AddObjectToObject(j, "normalisation");
        cJSON *am = cJSON_AddArrayToObject(nm, "mean"), *as = cJSON_AddArrayToObject(nm, "std");
        for (int n = 0; n < N; n++) {
            cJSON_AddItemToArray(am, cJSON_CreateNumber(mean[n]));
            cJSON_AddItemToArray(as, cJSON_CreateNumber(sd[n]));
        }
        st = hs_json_write(os, "lstm_functions_metrics.json", j);
        if (st == HS_OK && manifest) {
            hs_manifest_set_device(manifest, strcmp(hs_lstm_impl_name(m), "cpu") ? HS_DEVICE_CUDA : HS_DEVICE_CPU);
            cJSON_AddStringToObject(manifest, "implementation", hs_lstm_impl_name(m));
            cJSON_AddItemToObject(manifest, "metrics", cJSON_Duplicate(j, 1));
            st = hs_json_write(os, c->manifest_name ? c->manifest_name : "manifest.json", manifest);
        }
        cJSON_Delete(j);
    }
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    res->n = M;
    res->n_train = ntr;
    res->holdout = H;
    res->one_step_mae = mo;
    res->one_step_rmse = ro;
    res->recursive_mae = mr;
    res->recursive_rmse = rr;
    res->train_seconds = hist.seconds;
    res->epochs = hist.epochs;
    free(v);
    free(clip);
    free(one);
    free(rec);
    free(f8);
    free(mean);
    free(sd);
    free(ends);
    hs_lstm_free(m);
    hs_lstm_history_free(&hist);
    hs_st_file_free(&sf);
    hs_forecast_input_free(&in);
    return st;
}
