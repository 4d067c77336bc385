/* test_prophet_functions.c: `forecast prophet --per-function N` against hs_prophet_fit and
 * hs_prophet_predict run on each function alone (the shared Gram matrix changes the rounding
 * only), its scores against the forecasts it wrote, the environment reading its forecasts, and
 * the options it refuses. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/forecast_input.h"
#include "hyscale/prophet.h"
#include "hyscale/safetensors.h"
#include "hyscale/series.h"

/* A preprocessing folder of 3 days and 6 functions, made once per test. */
static char *make_pre(const char *tag, char **series)
{
    char *dir = hs_test_scratch(tag);
    *series = hs_test_make_series(dir, 3, 30, 6);
    cr_assert(*series);
    hs_test_keep(*series);
    char *pre = malloc(strlen(dir) + 8);
    snprintf(pre, strlen(dir) + 8, "%s/pre", dir);
    return hs_test_keep(pre);
}

Test(prophet_functions, matches_one_fit_per_function, .timeout = 120)
{
    char *series;
    char *pre = make_pre("pfn_match", &series);
    const int64_t H = 720;
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "prophet", "--input", series, "--out", pre, "--holdout", "720",
                             "--per-function", "4", "--quiet", NULL),
                 0, "%s", err);
    free(err);
    char p[800];
    snprintf(p, sizeof p, "%s/prophet_functions_forecast8.safetensors", pre);
    hs_st_file f8;
    cr_assert_eq(hs_safetensors_read(p, &f8), HS_OK, "%s", hs_error_message());
    int k8 = hs_st_find(&f8, "forecast8");
    snprintf(p, sizeof p, "%s/functions.safetensors", pre);
    hs_st_file fn;
    cr_assert_eq(hs_safetensors_read(p, &fn), HS_OK);
    int kf = hs_st_find(&fn, "invocations");
    hs_forecast_input in;
    cr_assert_eq(hs_forecast_input_read(series, &in), HS_OK);
    int64_t M = in.n, ntr = M - H;
    cr_assert(k8 >= 0 && f8.shape[k8][0] == 4 && f8.shape[k8][1] == M && f8.shape[k8][2] == 8);
    snprintf(p, sizeof p, "%s/prophet_functions.csv", pre);
    char *scores = hs_test_read_file(p, NULL);
    cr_assert(scores && strncmp(scores, "index,mae,rmse,mae_log,rmse_log\n", 32) == 0);
    float *cl = malloc((size_t)M * sizeof *cl);
    double *y = malloc((size_t)M * sizeof *y);
    int64_t *ds = malloc((size_t)(M + 8) * sizeof *ds);
    double *got = malloc((size_t)M * sizeof *got), *want = malloc((size_t)M * sizeof *want);
    for (int64_t i = 0; i < M + 8; i++)
        ds[i] = in.ds[0] + 60 * i;
    hs_clip_config cc = HS_CLIP_DEFAULTS;
    for (int f = 0; f < 4; f++) {
        hs_clip_spikes(fn.data[kf] + (int64_t)f * M, M, &cc, cl);
        for (int64_t i = 0; i < M; i++)
            y[i] = (float)log1p(cl[i]); /* float, the precision of series.csv's log1p */
        hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
        cfg.uncertainty_samples = 0;
        hs_prophet_model m;
        cr_assert_eq(hs_prophet_fit(&cfg, in.ds, y, ntr, &m), HS_OK, "%s", hs_error_message());
        hs_prophet_forecast fc;
        cr_assert_eq(hs_prophet_predict(&m, &cfg, ds + 1, M, &fc), HS_OK);
        double ae = 0;
        for (int64_t t = 0; t < M; t++) {
            want[t] = expm1(fc.yhat[t]);
            got[t] = f8.data[k8][((int64_t)f * M + t) * 8]; /* F[t][0]: minute t + 1 */
            if (t + 1 >= ntr && t + 1 < M)
                ae += fabs((double)cl[t + 1] - got[t]);
        }
        /* float output (6e-8 relative) and the solver's stopping rule (objective still by 1e-11,
         * sigma^2 by 1e-9): a few 1e-7 of the forecast at most */
        char msg[256];
        cr_expect(hs_test_close_d(got, want, M, 1e-6, 2e-6, msg, sizeof msg), "function %d: %s", f, msg);
        for (int64_t t = 0; t < M; t++)
            for (int kk = 1; kk < 8 && t + kk < M; kk++)
                cr_assert_eq(f8.data[k8][((int64_t)f * M + t) * 8 + kk], f8.data[k8][((int64_t)f * M + t + kk) * 8],
                             "F[t][k] is the forecast of minute t + k + 1");
        /* the holdout's MAE in prophet_functions.csv, from F[t][0] of t = ntr - 1 .. M - 2 above */
        char key[16];
        snprintf(key, sizeof key, "\n%d,", f);
        const char *row = strstr(scores, key);
        cr_assert(row);
        double mae = strtod(row + strlen(key), NULL);
        cr_expect(fabs(mae - ae / (double)H) <= 1e-5 * (1 + mae), "function %d: mae %g, from F8 %g", f, mae,
                  ae / (double)H);
        hs_prophet_forecast_free(&fc);
        hs_prophet_model_free(&m);
    }
    free(scores);
    free(cl);
    free(y);
    free(ds);
    free(got);
    free(want);
    hs_forecast_input_free(&in);
    hs_st_file_free(&f8);
    hs_st_file_free(&fn);
}

/* The environment replays the functions with Prophet's per-function forecasts. */
Test(prophet_functions, read_by_the_environment, .timeout = 240)
{
    char *series;
    char *pre = make_pre("pfn_env", &series);
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "prophet", "--input", series, "--out", pre, "--holdout", "720",
                             "--per-function", "3", "--quiet", NULL),
                 0, "%s", err);
    free(err);
    char out[800];
    snprintf(out, sizeof out, "%s/ppo_prophet_fn", pre);
    cr_assert_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "prophet", "--env-series", "functions",
                             "--holdout", "720", "--total-steps", "4096", "--envs", "8", "--out", out, "--quiet", NULL),
                 0, "%s", err);
    free(err);
    cr_expect(hs_test_nonempty(out, "ppo_policy.safetensors"));
}

Test(prophet_functions, refuses_what_it_cannot_fit, .timeout = 60)
{
    char *series;
    char *pre = make_pre("pfn_bad", &series);
    char *err;
    /* no holdout to score */
    cr_expect_eq(hs_test_run(&err, "forecast", "prophet", "--input", series, "--out", pre, "--per-function", "2",
                             "--quiet", NULL),
                 2);
    cr_expect(err && strstr(err, "--holdout") != NULL, "%s", err);
    free(err);
    /* multiplicative seasonality: the shared Gram matrix needs a linear model */
    cr_expect_eq(hs_test_run(&err, "forecast", "prophet", "--input", series, "--out", pre, "--per-function", "2",
                             "--holdout", "60", "--seasonality-mode", "multiplicative", "--quiet", NULL),
                 2);
    cr_expect(err && strstr(err, "additive") != NULL, "%s", err);
    free(err);
    /* a ds,y file has no functions beside it */
    char dsy[800];
    snprintf(dsy, sizeof dsy, "%s/dsy.csv", pre);
    hs_test_write_file(dsy, "ds,y\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n2020-01-04,5\n");
    cr_expect_eq(hs_test_run(&err, "forecast", "prophet", "--input", dsy, "--out", pre, "--per-function", "2",
                             "--holdout", "1", "--quiet", NULL),
                 2);
    cr_expect(err && strstr(err, "functions.safetensors") != NULL, "%s", err);
    free(err);
    cr_expect(!hs_test_nonempty(pre, "prophet_functions.csv"), "nothing written");
}
