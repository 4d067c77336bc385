/* lstm_functions.c: `hyscale forecast lstm --per-function N`: one LSTM per function for the top
 * N per-function series of preprocessing, trained at once with a model dimension in every
 * buffer (lstm_stage.h). In three steps like lstm_stage.c: plan (the series, their cleaning and
 * normalisation with the shared rules, the lengths), compute (train, predict the holdout and F8,
 * score), write (every file together or none). */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/backend.h"
#include "hyscale/forecast_input.h"
#include "hyscale/lstm_stage.h"
#include "hyscale/parse.h"
#include "hyscale/manifest.h"
#include "hyscale/outfiles.h"
#include "hyscale/safetensors.h"
#include "hyscale/series.h"

/* Everything one run holds between plan, compute and write. */
typedef struct hs_lstm_fn_job {
    hs_forecast_input in;
    hs_st_file sf;
    char path[4200];   /* functions.safetensors beside the input */
    int k;             /* the 'invocations' tensor of sf */
    int N;             /* functions modelled */
    int64_t M, H, ntr; /* minutes, holdout, training span */
    hs_lstm_scale *sc; /* (N) each function's normalisation */
    float *v;          /* (N, M) normalised log1p of the cleaned series */
    float *clip;       /* (N, M) the cleaned series (invocations) */
    float *one, *rec;  /* (N, H) one-step and recursive holdout, normalised */
    float *f8;         /* (N, M, 8) invocations */
    hs_lstm *m;
    hs_lstm_history hist;
    hs_lstm_data d;
    hs_lstm_train_config tc; /* c->train with the day-ahead defaults resolved (hs_lstm_stage_resolve) */
    double mo, ro, mr, rr; /* mean over functions of the one-step and recursive MAE and RMSE */
} hs_lstm_fn_job;

static void hs_lstm_fn_job_free(hs_lstm_fn_job *j)
{
    free(j->v);
    free(j->clip);
    free(j->one);
    free(j->rec);
    free(j->f8);
    free(j->sc);
    hs_lstm_free(j->m);
    hs_lstm_history_free(&j->hist);
    hs_st_file_free(&j->sf);
    hs_forecast_input_free(&j->in);
}

/* Each function cleaned as the aggregate is (spike clipping, log1p), normalised on its training
 * span by the rule of the aggregate's stage. */
static hs_status hs_lstm_fn_normalise(hs_lstm_fn_job *j)
{
    int64_t M = j->M;
    double *y = malloc((size_t)M * sizeof *y);
    if (!y)
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for %lld minutes", (long long)M);
    hs_clip_config cc = HS_CLIP_DEFAULTS;
    for (int n = 0; n < j->N; n++) {
        const float *raw = j->sf.data[j->k] + (int64_t)n * M;
        float *cl = j->clip + (int64_t)n * M;
        hs_clip_spikes(raw, M, &cc, cl);
        for (int64_t i = 0; i < M; i++)
            y[i] = (float)log1p(cl[i]); /* the model's input precision, as the aggregate's series.csv */
        hs_lstm_scale_fit(y, j->ntr, 1, &j->sc[n]);
        hs_lstm_scale_apply(&j->sc[n], y, M, j->v + (int64_t)n * M);
    }
    free(y);
    return HS_OK;
}

/* Plan: the input, the functions' tensor beside it, the lengths (the shared minimum-length rule,
 * and a holdout of at least 1), the buffers and the normalised series. */
static hs_status hs_lstm_fn_plan(const hs_lstm_stage_config *c, int nfun, hs_lstm_fn_job *j)
{
    HS_TRY(hs_forecast_input_read(c->input, &j->in));
    if (!j->in.log_scale)
        return hs_error_set(HS_ERR_USAGE, "--per-function reads a preprocessed series.csv and the "
                                          "functions.safetensors beside it, not a ds,y file");
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", c->input);
    snprintf(j->path, sizeof j->path, "%s/functions.safetensors", dirname(dirbuf));
    HS_TRY(hs_safetensors_read(j->path, &j->sf));
    int k = j->k = hs_st_find(&j->sf, "invocations");
    j->M = j->in.n;
    j->H = c->holdout;
    j->ntr = j->M - j->H;
    int64_t M = j->M, H = j->H;
    if (k < 0 || j->sf.ndim[k] != 2 || j->sf.shape[k][1] != M)
        return hs_error_set(HS_ERR_INPUT, "%s: expected a tensor 'invocations' of (functions, %lld minutes)", j->path,
                            (long long)M);
    HS_TRY(hs_st_check_range(&j->sf, k, j->path, 0.0, HS_PARSE_Y_MAX)); /* counts, as parse.h admits them */
    j->N = nfun < j->sf.shape[k][0] ? nfun : (int)j->sf.shape[k][0];
    if (j->N < 1)
        return hs_error_set(HS_ERR_INPUT, "%s: holds no functions", j->path);
    if (H < 1 || !hs_lstm_stage_fits(M, H, c->train.window))
        return hs_error_set(HS_ERR_INPUT, "%s: %lld points with a holdout of %lld leave too few to train a window of %lld",
                            c->input, (long long)M, (long long)H, (long long)c->train.window);
    int N = j->N;
    j->tc = c->train;
    hs_lstm_stage_resolve(&j->tc, j->ntr, j->in.step_seconds);
    j->v = malloc((size_t)N * M * sizeof *j->v);
    j->clip = malloc((size_t)N * M * sizeof *j->clip);
    j->one = malloc((size_t)N * H * sizeof *j->one);
    j->rec = malloc((size_t)N * H * sizeof *j->rec);
    j->sc = malloc((size_t)N * sizeof *j->sc);
    if (!j->v || !j->clip || !j->one || !j->rec || !j->sc)
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for %d functions", N);
    HS_TRY(hs_lstm_fn_normalise(j));
    j->d = (hs_lstm_data){N, M, j->in.ds[0], j->in.step_seconds, j->v, j->tc.calendar};
    return HS_OK;
}

/* Compute, normalised: the holdout one step from the actual windows and recursively from the
 * end of training (every window lies after the series start, since ntr > W: no padding is
 * read); then F8, the 8-step forecast made at the end of every minute, back in invocations.
 * Before the series start a window reads HS_LSTM_PAD_MEAN (each model's normalised mean, 0),
 * where the aggregate's stage reads zero invocations: the two differ, each kept as it was. */
static hs_status hs_lstm_fn_predict(hs_lstm_fn_job *j)
{
    int64_t M = j->M, H = j->H, ntr = j->ntr;
    int N = j->N;
    float pad = hs_lstm_scale_pad(&j->sc[0], HS_LSTM_PAD_MEAN);
    int64_t *ends = malloc((size_t)(M > H ? M : H) * sizeof *ends);
    if (!ends)
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for %d functions", N);
    for (int64_t i = 0; i < H; i++)
        ends[i] = ntr + i;
    hs_status st = hs_lstm_predict(j->m, &j->d, ends, H, 1, pad, j->one);
    if (st == HS_OK) {
        int64_t e = ntr;
        st = hs_lstm_predict(j->m, &j->d, &e, 1, (int)H, pad, j->rec);
    }
    if (st == HS_OK) {
        j->f8 = malloc((size_t)N * M * 8 * sizeof *j->f8);
        if (!j->f8)
            st = hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for %d x %lld 8-step forecasts", N, (long long)M);
    }
    if (st == HS_OK) {
        for (int64_t i = 0; i < M; i++)
            ends[i] = i + 1;
        st = hs_lstm_predict(j->m, &j->d, ends, M, 8, pad, j->f8);
    }
    free(ends);
    if (st == HS_OK)
        for (int n = 0; n < N; n++)
            for (int64_t i = 0; i < M * 8; i++) {
                float *x = j->f8 + (int64_t)n * M * 8 + i;
                *x = (float)hs_lstm_scale_back(&j->sc[n], *x);
            }
    return st;
}

/* Function n's holdout scores: MAE and RMSE one step and recursive, in invocations. */
static void hs_lstm_fn_score(const hs_lstm_fn_job *j, int n, double out[4])
{
    int64_t M = j->M, H = j->H, ntr = j->ntr;
    double a1 = 0, s1 = 0, a2 = 0, s2 = 0;
    for (int64_t i = 0; i < H; i++) {
        double y = j->clip[(int64_t)n * M + ntr + i];
        double p1 = hs_lstm_scale_back(&j->sc[n], j->one[(int64_t)n * H + i]);
        double p2 = hs_lstm_scale_back(&j->sc[n], j->rec[(int64_t)n * H + i]);
        a1 += fabs(y - p1);
        s1 += (y - p1) * (y - p1);
        a2 += fabs(y - p2);
        s2 += (y - p2) * (y - p2);
    }
    out[0] = a1 / H;
    out[1] = sqrt(s1 / H);
    out[2] = a2 / H;
    out[3] = sqrt(s2 / H);
}

/* lstm_functions.csv: each function's scores; their means into j. */
static hs_status hs_lstm_fn_write_scores(hs_outset *os, hs_lstm_fn_job *j)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, "lstm_functions.csv", &f, &tmp));
    fputs("index,one_step_mae,one_step_rmse,recursive_mae,recursive_rmse\n", f);
    int N = j->N;
    for (int n = 0; n < N; n++) {
        double s[4];
        hs_lstm_fn_score(j, n, s);
        static const char *const names[4] = {"one_step_mae", "one_step_rmse", "recursive_mae", "recursive_rmse"};
        HS_TRY(hs_out_check_finite(tmp, n + 2, 2, names, s, 4));
        fprintf(f, "%d,%.6g,%.6g,%.6g,%.6g\n", n, s[0], s[1], s[2], s[3]);
        j->mo += s[0] / N;
        j->ro += s[1] / N;
        j->mr += s[2] / N;
        j->rr += s[3] / N;
    }
    return HS_OK;
}

/* lstm_functions.safetensors (every function's weights, a leading model dimension) and
 * lstm_functions_forecast8.safetensors. */
static hs_status hs_lstm_fn_write_tensors(hs_outset *os, const hs_lstm_fn_job *j)
{
    FILE *f;
    const char *tmp;
    const hs_lstm_config *mc = hs_lstm_get_config(j->m);
    int64_t P = hs_lstm_param_count(mc);
    hs_st_tensor t = {"params", hs_lstm_params(j->m), 2, {j->N, P, 0, 0}};
    cJSON *meta = cJSON_CreateObject();
    char buf[256];
    cJSON_AddStringToObject(meta, "format", "hyscale-lstm-functions-v1");
    snprintf(buf, sizeof buf, "{\"hidden\":%d,\"layers\":%d,\"features\":%d,\"window\":%d,\"horizon\":%d}", mc->hidden,
             mc->layers, mc->features, mc->window, mc->horizon);
    cJSON_AddStringToObject(meta, "config", buf);
    cJSON_AddStringToObject(meta, "layout", "params (N, P): each row one model's parameters in PyTorch order "
                                            "(nn.LSTM then nn.Linear), as lstm.safetensors' tensors flattened");
    cJSON_AddStringToObject(meta, "rows", "functions.csv order of the preprocessing folder");
    hs_status st = hs_outset_file(os, "lstm_functions.safetensors", &f, &tmp);
    if (st == HS_OK)
        st = hs_safetensors_write(f, tmp, &t, 1, meta);
    cJSON_Delete(meta);
    if (st != HS_OK)
        return st;
    hs_st_tensor t8 = {"forecast8", j->f8, 3, {j->N, j->M, 8, 0}};
    meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "hyscale-forecast8-v1");
    cJSON_AddStringToObject(meta, "layout", "forecast8 (N, M, 8): F[t][k] of each function, the forecast of minute "
                                            "t + k made at the end of minute t, invocations per minute");
    cJSON_AddStringToObject(meta, "rows", "functions.csv order of the preprocessing folder");
    st = hs_outset_file(os, "lstm_functions_forecast8.safetensors", &f, &tmp);
    if (st == HS_OK)
        st = hs_safetensors_write(f, tmp, &t8, 1, meta);
    cJSON_Delete(meta);
    return st;
}

/* lstm_functions_metrics.json and, with a manifest, the manifest. */
static hs_status hs_lstm_fn_write_metrics(hs_outset *os, const hs_lstm_stage_config *c, const hs_lstm_fn_job *j,
                                          cJSON *manifest)
{
    hs_device dev = hs_lstm_device(j->m);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", "lstm per function");
    cJSON_AddStringToObject(o, "device", hs_device_name(dev));
    cJSON_AddStringToObject(o, "implementation", hs_lstm_impl_name(j->m));
    cJSON_AddNumberToObject(o, "functions", j->N);
    cJSON_AddNumberToObject(o, "holdout", (double)j->H);
    cJSON *one = cJSON_AddObjectToObject(o, "one_step");
    cJSON_AddNumberToObject(one, "mean_mae", j->mo);
    cJSON_AddNumberToObject(one, "mean_rmse", j->ro);
    cJSON *r = cJSON_AddObjectToObject(o, "recursive");
    cJSON_AddNumberToObject(r, "mean_mae", j->mr);
    cJSON_AddNumberToObject(r, "mean_rmse", j->rr);
    cJSON_AddNumberToObject(o, "train_seconds", j->hist.seconds);
    cJSON_AddNumberToObject(o, "samples_per_second", j->hist.samples_per_second);
    cJSON_AddNumberToObject(o, "epochs", j->hist.epochs);
    cJSON *nm = cJSON_AddObjectToObject(o, "normalisation");
    cJSON *am = cJSON_AddArrayToObject(nm, "mean"), *as = cJSON_AddArrayToObject(nm, "std");
    for (int n = 0; n < j->N; n++) {
        cJSON_AddItemToArray(am, cJSON_CreateNumber(j->sc[n].mean));
        cJSON_AddItemToArray(as, cJSON_CreateNumber(j->sc[n].std));
    }
    hs_status st = hs_json_write(os, "lstm_functions_metrics.json", o);
    if (st == HS_OK && manifest) {
        hs_manifest_set_device(manifest, dev);
        cJSON_AddStringToObject(manifest, "implementation", hs_lstm_impl_name(j->m));
        cJSON_AddItemToObject(manifest, "metrics", cJSON_Duplicate(o, 1));
        st = hs_json_write(os, c->manifest_name ? c->manifest_name : "manifest.json", manifest);
    }
    cJSON_Delete(o);
    return st;
}

/* Write: every file into out_dir, all together or none. */
static hs_status hs_lstm_fn_write(const hs_lstm_stage_config *c, hs_lstm_fn_job *j, cJSON *manifest)
{
    hs_outset *os = NULL;
    hs_status st = hs_outset_open(c->out_dir, &os);
    if (st == HS_OK)
        st = hs_lstm_fn_write_scores(os, j);
    if (st == HS_OK)
        st = hs_lstm_fn_write_tensors(os, j);
    if (st == HS_OK)
        st = hs_lstm_fn_write_metrics(os, c, j, manifest);
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    return st;
}

hs_status hs_lstm_functions_run(const hs_lstm_stage_config *c, int nfun, cJSON *manifest, hs_lstm_stage_result *res)
{
    memset(res, 0, sizeof *res);
    hs_lstm_fn_job j;
    memset(&j, 0, sizeof j);
    hs_status st = hs_lstm_fn_plan(c, nfun, &j);
    if (st == HS_OK)
        st = hs_lstm_train(&j.tc, &j.d, j.ntr, &j.m, &j.hist);
    if (st == HS_OK)
        st = hs_lstm_fn_predict(&j);
    if (st == HS_OK)
        st = hs_lstm_fn_write(c, &j, manifest);
    res->n = j.M;
    res->n_train = j.ntr;
    res->holdout = j.H;
    res->one_step_mae = j.mo;
    res->one_step_rmse = j.ro;
    res->recursive_mae = j.mr;
    res->recursive_rmse = j.rr;
    res->train_seconds = j.hist.seconds;
    res->epochs = j.hist.epochs;
    hs_lstm_fn_job_free(&j);
    return st;
}
