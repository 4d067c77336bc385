/* prophet_functions.c: `hyscale forecast prophet --per-function N` (prophet_stage.h): one Prophet
 * model per function for the top N series of the functions.safetensors beside a series.csv,
 * fitted at once. In three steps like the other stages: plan (the series cleaned as the
 * aggregate is, log1p, the shared shape), compute (fit, predict, score), write (every file
 * together or none).
 *
 * Every function shares the ds grid, so it shares the design D (n_train, P) and its Gram matrix
 * G = D'D: only y changes. One syrk forms G, one GEMM per block of functions forms B = D'Y,
 * then each function's exact MAP is hs_prophet_solve_gram on (G, b_f / y_scale_f, y_f'y_f /
 * y_scale_f^2): work that does not grow with the series (OpenMP over the functions). The
 * forecasts of every function at every time are one GEMM, D_all Theta', on the design of all
 * times. The model, its priors, its initial point and its solver are hs_prophet_fit's; the
 * per-function fit is additive and exact only (as the default of the aggregate stage). */
#include <cblas.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "hyscale/forecast_input.h"
#include "hyscale/manifest.h"
#include "hyscale/metrics.h"
#include "hyscale/outfiles.h"
#include "hyscale/parse.h"
#include "hyscale/progress.h"
#include "hyscale/prophet_stage.h"
#include "hyscale/safetensors.h"
#include "hyscale/series.h"
#include "prophet_internal.h"

#define HS_PFN_BLOCK 256 /* functions per GEMM block: Y and Yhat of a block are ~40 MB at 14 days */

/* Everything one run holds between plan, compute and write. */
typedef struct hs_pfn_job {
    hs_forecast_input in;
    hs_st_file sf;
    char path[4200];     /* functions.safetensors beside the input */
    int k;               /* its 'invocations' tensor */
    int N;               /* functions modelled */
    int64_t M, H, ntr;   /* minutes, holdout, training span */
    int64_t *ds_all;     /* (M + 8) the series' times, then 8 after it */
    hs_prophet_model shape; /* the shared shape (y_scale of function 0, unused) */
    int P;
    double *G;           /* (P, P) Gram matrix of the training design */
    double *D;           /* (ntr, P) the training design */
    double *Dall;        /* (M + 8, P) the design at every time */
    float *clip;         /* (N, M) cleaned invocations */
    float *logy;         /* (N, M) their log1p, what is modelled (float: the precision of series.csv) */
    double *theta;       /* (N, P) each function's (k, m, delta, beta), scaled */
    double *yscale, *sigma; /* (N) */
    int *rounds;         /* (N) solver rounds (0: constant series, Prophet's shortcut) */
    float *f8;           /* (N, M, 8) invocations */
    double *score;       /* (N, 4) holdout mae, rmse, mae_log, rmse_log */
    double mean[4];
    double prep_seconds, fit_seconds, predict_seconds;
    double fit_cpu_seconds; /* CPU time of the fit over every thread */
    int threads;
} hs_pfn_job;

static void hs_pfn_job_free(hs_pfn_job *j)
{
    free(j->ds_all);
    free(j->G);
    free(j->D);
    free(j->Dall);
    free(j->clip);
    free(j->logy);
    free(j->theta);
    free(j->yscale);
    free(j->sigma);
    free(j->rounds);
    free(j->f8);
    free(j->score);
    hs_prophet_model_free(&j->shape);
    hs_st_file_free(&j->sf);
    hs_forecast_input_free(&j->in);
}

/* The options the per-function fit takes: additive, exact, no interval (nothing reads one). */
static hs_status hs_pfn_check(const hs_prophet_stage_config *c, int nfun)
{
    if (nfun < 1)
        return hs_error_set(HS_ERR_USAGE, "--per-function %d: out of range (at least 1)", nfun);
    if (c->model.optimizer != HS_PROPHET_EXACT)
        return hs_error_set(HS_ERR_USAGE, "--per-function fits with the exact solver only (not --optimizer owlqn)");
    if (c->model.multiplicative)
        return hs_error_set(HS_ERR_USAGE, "--per-function fits additive seasonalities only (the shared Gram matrix "
                                          "needs a model linear in its coefficients)");
    for (int i = 0; i < c->model.n_extra; i++)
        if (c->model.extra[i].multiplicative)
            return hs_error_set(HS_ERR_USAGE, "--add-seasonality %s: --per-function fits additive seasonalities only",
                                c->model.extra[i].name);
    if (c->holdout < 1)
        return hs_error_set(HS_ERR_USAGE, "--per-function scores a holdout: give --holdout N (at least 1)");
    return HS_OK;
}

/* Plan: the input's times, the functions' tensor beside it, the lengths, the buffers. */
static hs_status hs_pfn_plan(const hs_prophet_stage_config *c, int nfun, hs_pfn_job *j)
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
    int64_t M = j->M;
    if (k < 0 || j->sf.ndim[k] != 2 || j->sf.shape[k][1] != M)
        return hs_error_set(HS_ERR_INPUT, "%s: expected a tensor 'invocations' of (functions, %lld minutes)", j->path,
                            (long long)M);
    HS_TRY(hs_st_check_range(&j->sf, k, j->path, 0.0, HS_PARSE_Y_MAX)); /* counts, as parse.h admits them */
    j->N = nfun < j->sf.shape[k][0] ? nfun : (int)j->sf.shape[k][0];
    if (j->N < 1)
        return hs_error_set(HS_ERR_INPUT, "%s: holds no functions", j->path);
    if (j->ntr < 2)
        return hs_error_set(HS_ERR_USAGE, "--holdout %lld: the series has %lld points and the fit needs at least 2",
                            (long long)j->H, (long long)M);
    int N = j->N;
    j->ds_all = malloc((size_t)(M + 8) * sizeof *j->ds_all);
    j->clip = malloc((size_t)N * M * sizeof *j->clip);
    j->logy = malloc((size_t)N * M * sizeof *j->logy);
    j->yscale = malloc((size_t)N * sizeof *j->yscale);
    j->sigma = malloc((size_t)N * sizeof *j->sigma);
    j->rounds = malloc((size_t)N * sizeof *j->rounds);
    j->score = malloc((size_t)N * 4 * sizeof *j->score);
    if (!j->ds_all || !j->clip || !j->logy || !j->yscale || !j->sigma || !j->rounds || !j->score)
        return hs_error_set(HS_ERR_NOMEM, "prophet: out of memory for %d functions", N);
    for (int64_t i = 0; i < M + 8; i++)
        j->ds_all[i] = i < M ? j->in.ds[i] : hs_forecast_next_time(&j->in, j->in.ds[M - 1], i - M + 1);
    return HS_OK;
}

/* log1p of a count as a float, from a table for the small whole counts most minutes hold. */
#define HS_PFN_LOG_TABLE 4096
static float hs_pfn_log1p(float v, const float *table)
{
    if (v >= 0 && v < HS_PFN_LOG_TABLE && v == (float)(int)v)
        return table[(int)v];
    return (float)log1p(v);
}

/* Plan: every function cleaned as the aggregate is (spike clipping, log1p). */
static void hs_pfn_clean(hs_pfn_job *j)
{
    double t0 = hs_time_now();
    int64_t M = j->M;
    hs_clip_config cc = HS_CLIP_DEFAULTS;
    float table[HS_PFN_LOG_TABLE];
    for (int i = 0; i < HS_PFN_LOG_TABLE; i++)
        table[i] = (float)log1p((double)i);
#pragma omp parallel for schedule(dynamic, 4)
    for (int n = 0; n < j->N; n++) {
        float *cl = j->clip + (int64_t)n * M, *ly = j->logy + (int64_t)n * M;
        hs_clip_spikes(j->sf.data[j->k] + (int64_t)n * M, M, &cc, cl);
        for (int64_t i = 0; i < M; i++)
            ly[i] = hs_pfn_log1p(cl[i], table);
    }
    j->prep_seconds = hs_time_now() - t0;
}

/* The shared shape (from function 0's training span: only y_scale depends on y, and it is set
 * per function), the training design and its Gram matrix, the design at every time. */
static hs_status hs_pfn_design(const hs_prophet_stage_config *c, hs_pfn_job *j)
{
    int64_t ntr = j->ntr, M = j->M;
    double *y0 = malloc((size_t)ntr * sizeof *y0);
    if (!y0)
        return hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
    for (int64_t i = 0; i < ntr; i++)
        y0[i] = j->logy[i];
    hs_status st = hs_prophet_shape(&c->model, j->in.ds, y0, ntr, &j->shape);
    free(y0);
    HS_TRY(st);
    int P = j->P = 2 + j->shape.S + j->shape.K;
    HS_TRY(hs_prophet_design(&j->shape, j->in.ds, ntr, &j->D));
    HS_TRY(hs_prophet_design(&j->shape, j->ds_all, M + 8, &j->Dall));
    j->G = malloc((size_t)P * P * sizeof *j->G);
    j->theta = calloc((size_t)j->N * P, sizeof *j->theta);
    if (!j->G || !j->theta)
        return hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, P, (int)ntr, 1.0, j->D, P, 0.0, j->G, P);
    for (int a = 0; a < P; a++)
        for (int b = 0; b < a; b++)
            j->G[a * P + b] = j->G[b * P + a];
    return HS_OK;
}

/* Compute, one block of nb functions from f0: Y (nb, M) the modelled series in double, B =
 * D'Y over the training span, then each function's scale, initial point and exact MAP. */
static hs_status hs_pfn_fit_block(const hs_prophet_stage_config *c, hs_pfn_job *j, int f0, int nb, double *Y,
                                  double *B)
{
    int64_t M = j->M, ntr = j->ntr;
    int P = j->P;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < nb; b++)
        for (int64_t i = 0; i < M; i++)
            Y[(int64_t)b * M + i] = j->logy[(int64_t)(f0 + b) * M + i];
    /* B (nb, P) = Y (nb, ntr) D (ntr, P): row b is D'y of function f0 + b over the training span */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, P, (int)ntr, 1.0, Y, (int)M, j->D, P, 0.0, B, P);
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 4) reduction(| : failed)
    for (int b = 0; b < nb; b++) {
        int f = f0 + b;
        const double *y = Y + (int64_t)b * M;
        double ymax = 0, ymin = INFINITY, yy = 0;
        for (int64_t i = 0; i < ntr; i++) {
            ymax = fmax(ymax, fabs(y[i]));
            ymin = fmin(ymin, y[i]);
        }
        double ys = ymax > 0 ? ymax : 1.0;
        for (int64_t i = 0; i < ntr; i++)
            yy += (y[i] / ys) * (y[i] / ys);
        double *th = j->theta + (int64_t)f * P, *bf = B + (int64_t)b * P;
        /* Prophet's initial point: the line through the first and last points, as hs_prophet_fit */
        double t_first = hs_prophet_t(&j->shape, j->in.ds[0]), t_last = hs_prophet_t(&j->shape, j->in.ds[ntr - 1]);
        th[0] = (y[ntr - 1] / ys - y[0] / ys) / (t_last - t_first);
        th[1] = y[0] / ys - th[0] * t_first;
        j->yscale[f] = ys;
        if (ymin == ymax) { /* Prophet's shortcut for a constant series: the initial point */
            j->sigma[f] = 1e-9;
            j->rounds[f] = 0;
            continue;
        }
        for (int a = 0; a < P; a++)
            bf[a] /= ys;
        double sig2 = 1.0;
        int r = hs_prophet_solve_gram(&j->shape, c->model.changepoint_prior_scale, c->model.max_iterations, j->G, bf,
                                      yy, ntr, th, &sig2);
        j->rounds[f] = r;
        j->sigma[f] = sqrt(sig2);
        failed |= r < 0;
    }
    if (failed)
        return hs_error_set(HS_ERR_INTERNAL, "prophet: the exact solver failed on a function of %d..%d (a singular "
                                             "system)",
                            f0, f0 + nb - 1);
    return HS_OK;
}

/* Compute, one block: Yhat (M + 8, nb) = D_all Theta', back on the invocation scale; F8 and the
 * holdout scores of each function. */
static hs_status hs_pfn_predict_block(hs_pfn_job *j, int f0, int nb, double *Yh)
{
    int64_t M = j->M, ntr = j->ntr, H = j->H, T = M + 8;
    int P = j->P;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, nb, P, 1.0, j->Dall, P, j->theta + (int64_t)f0 * P,
                P, 0.0, Yh, nb);
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 4) reduction(| : failed)
    for (int b = 0; b < nb; b++) {
        int f = f0 + b;
        float *yh = malloc((size_t)T * sizeof *yh);
        if (!yh) {
            failed = 1;
            continue;
        }
        for (int64_t t = 0; t < T; t++)
            yh[t] = (float)expm1(Yh[t * nb + b] * j->yscale[f]);
        float *f8 = j->f8 + (int64_t)f * M * 8;
        for (int64_t t = 0; t < M; t++)
            memcpy(f8 + t * 8, yh + t + 1, 8 * sizeof *f8); /* F[t][k]: minute t + k + 1 */
        hs_metrics m;
        const float *cl = j->clip + (int64_t)f * M + ntr, *raw = j->sf.data[j->k] + (int64_t)f * M + ntr;
        if (hs_metrics_report(cl, raw, yh + ntr, H, &m) != HS_OK)
            failed = 1;
        double *s = j->score + (int64_t)f * 4;
        s[0] = m.mae;
        s[1] = m.rmse;
        s[2] = m.mae_log;
        s[3] = m.rmse_log;
        free(yh);
    }
    if (failed)
        return hs_error_set(HS_ERR_NOMEM, "prophet: out of memory scoring functions %d..%d", f0, f0 + nb - 1);
    return HS_OK;
}

/* CPU time of the process (every thread), seconds: the fit's cost on a shared machine. */
static double hs_pfn_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Compute: the shared design, then blocks of functions fitted and predicted. */
static hs_status hs_pfn_compute(const hs_prophet_stage_config *c, hs_pfn_job *j)
{
    hs_pfn_clean(j);
    double t0 = hs_time_now(), c0 = hs_pfn_cpu_now(), cp = 0;
    HS_TRY(hs_pfn_design(c, j));
    int N = j->N, P = j->P, nbmax = N < HS_PFN_BLOCK ? N : HS_PFN_BLOCK;
    int64_t M = j->M;
    j->f8 = malloc((size_t)N * M * 8 * sizeof *j->f8);
    double *Y = malloc((size_t)nbmax * (M + 8) * sizeof *Y), *B = malloc((size_t)P * nbmax * sizeof *B);
    hs_status st = j->f8 && Y && B ? HS_OK
                                   : hs_error_set(HS_ERR_NOMEM, "prophet: out of memory for %d x %lld forecasts", N,
                                                  (long long)M);
    hs_progress pr;
    hs_progress_start(&pr, "prophet per function", N, c->quiet);
    double tp = 0;
    for (int f0 = 0; st == HS_OK && f0 < N; f0 += HS_PFN_BLOCK) {
        int nb = N - f0 < HS_PFN_BLOCK ? N - f0 : HS_PFN_BLOCK;
        st = hs_pfn_fit_block(c, j, f0, nb, Y, B);
        double t1 = hs_time_now(), c1 = hs_pfn_cpu_now();
        if (st == HS_OK)
            st = hs_pfn_predict_block(j, f0, nb, Y); /* Y is free again: Yhat (M + 8, nb) */
        tp += hs_time_now() - t1;
        cp += hs_pfn_cpu_now() - c1;
        hs_progress_update(&pr, f0 + nb, "%d of %d functions", f0 + nb, N);
    }
    hs_progress_finish(&pr, "%d functions", N);
    free(Y);
    free(B);
    j->predict_seconds = tp;
    j->fit_seconds = hs_time_now() - t0 - tp;
    j->fit_cpu_seconds = hs_pfn_cpu_now() - c0 - cp;
#ifdef _OPENMP
    j->threads = omp_get_max_threads();
#else
    j->threads = 1;
#endif
    return st;
}

/* prophet_functions.csv: each function's holdout scores; their means into j. */
static hs_status hs_pfn_write_scores(hs_outset *os, hs_pfn_job *j)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, "prophet_functions.csv", &f, &tmp));
    fputs("index,mae,rmse,mae_log,rmse_log\n", f);
    static const char *const names[4] = {"mae", "rmse", "mae_log", "rmse_log"};
    memset(j->mean, 0, sizeof j->mean);
    for (int n = 0; n < j->N; n++) {
        const double *s = j->score + (int64_t)n * 4;
        HS_TRY(hs_out_check_finite(tmp, n + 2, 2, names, s, 4));
        fprintf(f, "%d,%.6g,%.6g,%.6g,%.6g\n", n, s[0], s[1], s[2], s[3]);
        for (int k = 0; k < 4; k++)
            j->mean[k] += s[k] / j->N;
    }
    return HS_OK;
}

/* prophet_functions_forecast8.safetensors, the layout of lstm_functions_forecast8.safetensors. */
static hs_status hs_pfn_write_f8(hs_outset *os, const hs_pfn_job *j)
{
    FILE *f;
    const char *tmp;
    hs_st_tensor t8 = {"forecast8", j->f8, 3, {j->N, j->M, 8, 0}};
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "hyscale-forecast8-v1");
    cJSON_AddStringToObject(meta, "layout", "forecast8 (N, M, 8): F[t][k] of each function, the forecast of minute "
                                            "t + k made at the end of minute t, invocations per minute");
    cJSON_AddStringToObject(meta, "rows", "functions.csv order of the preprocessing folder");
    cJSON_AddStringToObject(meta, "model", "prophet per function, fitted on the training span");
    hs_status st = hs_outset_file(os, "prophet_functions_forecast8.safetensors", &f, &tmp);
    if (st == HS_OK)
        st = hs_safetensors_write(f, tmp, &t8, 1, meta);
    cJSON_Delete(meta);
    return st;
}

/* prophet_functions_metrics.json and, with a manifest, the manifest. */
static hs_status hs_pfn_write_metrics(hs_outset *os, const hs_prophet_stage_config *c, const hs_pfn_job *j,
                                      cJSON *manifest)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", "prophet per function");
    cJSON_AddStringToObject(o, "implementation", "hyscale C (exact block coordinate descent MAP), Prophet's model; one "
                                                 "Gram matrix shared by every function");
    cJSON_AddStringToObject(o, "input", c->input);
    cJSON_AddNumberToObject(o, "functions", j->N);
    cJSON_AddNumberToObject(o, "points", (double)j->M);
    cJSON_AddNumberToObject(o, "train_points", (double)j->ntr);
    cJSON_AddNumberToObject(o, "holdout", (double)j->H);
    cJSON_AddNumberToObject(o, "parameters", j->P);
    int constant = 0, rmax = 0;
    for (int n = 0; n < j->N; n++) {
        constant += j->rounds[n] == 0;
        rmax = j->rounds[n] > rmax ? j->rounds[n] : rmax;
    }
    cJSON_AddNumberToObject(o, "constant_functions", constant);
    cJSON_AddNumberToObject(o, "max_rounds", rmax);
    cJSON *s = cJSON_AddObjectToObject(o, "holdout_mean");
    cJSON_AddNumberToObject(s, "mae", j->mean[0]);
    cJSON_AddNumberToObject(s, "rmse", j->mean[1]);
    cJSON_AddNumberToObject(s, "mae_log", j->mean[2]);
    cJSON_AddNumberToObject(s, "rmse_log", j->mean[3]);
    cJSON_AddNumberToObject(o, "clean_seconds", j->prep_seconds);
    cJSON_AddNumberToObject(o, "fit_seconds", j->fit_seconds);
    cJSON_AddNumberToObject(o, "predict_seconds", j->predict_seconds);
    cJSON_AddNumberToObject(o, "fit_cpu_seconds", j->fit_cpu_seconds);
    cJSON_AddNumberToObject(o, "fits_per_second", j->fit_seconds > 0 ? j->N / j->fit_seconds : 0);
    cJSON_AddNumberToObject(o, "threads", j->threads);
    cJSON *se = cJSON_AddArrayToObject(o, "seasonalities");
    for (int k = 0; k < j->shape.ns; k++)
        cJSON_AddItemToArray(se, cJSON_CreateString(j->shape.seas[k].name));
    hs_status st = hs_json_write(os, "prophet_functions_metrics.json", o);
    if (st == HS_OK && manifest) {
        cJSON_AddItemToObject(manifest, "metrics", cJSON_Duplicate(o, 1));
        cJSON *tm = hs_manifest_section(manifest, "timings");
        cJSON_AddNumberToObject(tm, "fit_seconds", j->fit_seconds);
        cJSON_AddNumberToObject(tm, "predict_seconds", j->predict_seconds);
        st = hs_json_write(os, c->manifest_name ? c->manifest_name : "manifest.json", manifest);
    }
    cJSON_Delete(o);
    return st;
}

static hs_status hs_pfn_write(const hs_prophet_stage_config *c, hs_pfn_job *j, cJSON *manifest)
{
    hs_outset *os = NULL;
    hs_status st = hs_outset_open(c->out_dir, &os);
    if (st == HS_OK)
        st = hs_pfn_write_scores(os, j);
    if (st == HS_OK)
        st = hs_pfn_write_f8(os, j);
    if (st == HS_OK)
        st = hs_pfn_write_metrics(os, c, j, manifest);
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    return st;
}

hs_status hs_prophet_functions_run(const hs_prophet_stage_config *c, int nfun, cJSON *manifest,
                                   hs_prophet_functions_result *res)
{
    memset(res, 0, sizeof *res);
    HS_TRY(hs_prophet_stage_check(c));
    HS_TRY(hs_pfn_check(c, nfun));
    hs_pfn_job j;
    memset(&j, 0, sizeof j);
    hs_status st = hs_pfn_plan(c, nfun, &j);
    if (st == HS_OK)
        st = hs_pfn_compute(c, &j);
    if (st == HS_OK)
        st = hs_pfn_write(c, &j, manifest);
    res->functions = j.N;
    res->n = j.M;
    res->holdout = j.H;
    res->mean_mae = j.mean[0];
    res->mean_rmse = j.mean[1];
    res->clean_seconds = j.prep_seconds;
    res->fit_seconds = j.fit_seconds;
    res->predict_seconds = j.predict_seconds;
    res->threads = j.threads;
    hs_pfn_job_free(&j);
    return st;
}
