/* env_input.c: the environment's demand series and forecast matrices read from the files of the
 * preprocess and forecast stages (see env_input.h). */
#include "hyscale/env_input.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/forecast8_csv.h"
#include "hyscale/parse.h"
#include "hyscale/forecast_rows.h"
#include "hyscale/safetensors.h"
#include "hyscale/series.h"

int hs_env_forecaster_valid(const char *name)
{
    return name && (!strcmp(name, "none") || !strcmp(name, "prophet") || !strcmp(name, "lstm") ||
                    !strcmp(name, "hybrid"));
}

const char *hs_env_forecast_file(const char *forecaster)
{
    if (!strcmp(forecaster, "prophet"))
        return "prophet_full.csv";
    if (!strcmp(forecaster, "lstm"))
        return "lstm_forecast8.csv";
    if (!strcmp(forecaster, "hybrid"))
        return "hybrid_forecast8.csv";
    return "";
}

hs_status hs_env_read_forecast8(const char *path, int64_t n, float *F)
{
    hs_f8_table t;
    HS_TRY(hs_f8_table_read(path, n, 1, &t));
    hs_status st = HS_OK;
    if (t.n < n)
        st = hs_error_set(HS_ERR_INPUT, "%s: %lld rows, but the series has %lld minutes: the forecast is shorter "
                                        "than the series (made from another series?)",
                          path, (long long)t.n, (long long)n);
    for (int64_t i = 0; st == HS_OK && i < n * 8; i++)
        F[i] = (float)t.v[i];
    hs_f8_table_free(&t);
    return st;
}

hs_status hs_env_read_functions_forecast8(const char *path, int64_t n, float **F, int64_t *k)
{
    *F = NULL;
    hs_st_file sf;
    hs_status st = hs_safetensors_read(path, &sf);
    if (st == HS_ERR_IO)
        return hs_error_set(HS_ERR_INPUT, "%s: missing (run hyscale forecast lstm or prophet --per-function N first)",
                            path);
    if (st)
        return st;
    int i = hs_st_find(&sf, "forecast8");
    if (i < 0 || sf.ndim[i] != 3 || sf.shape[i][2] != 8 || sf.shape[i][0] < 1)
        st = hs_error_set(HS_ERR_INPUT, "%s: no (functions, minutes, 8) tensor 'forecast8'", path);
    else if (sf.shape[i][1] != n)
        st = hs_error_set(HS_ERR_INPUT, "%s: forecasts for %lld minutes, but the series has %lld: the forecast is %s "
                                        "than the series",
                          path, (long long)sf.shape[i][1], (long long)n, sf.shape[i][1] < n ? "shorter" : "longer");
    else if (sf.shape[i][0] > *k)
        st = hs_error_set(HS_ERR_INPUT, "%s: forecasts for %lld functions, but functions.safetensors has %lld", path,
                          (long long)sf.shape[i][0], (long long)*k);
    if (st == HS_OK)
        st = hs_st_check_range(&sf, i, path, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX);
    if (st == HS_OK) {
        size_t cnt = (size_t)(sf.shape[i][0] * n * 8);
        *F = malloc(cnt * sizeof **F);
        if (!*F)
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
        else {
            memcpy(*F, sf.data[i], cnt * sizeof **F);
            *k = sf.shape[i][0];
        }
    }
    hs_st_file_free(&sf);
    return st;
}

/* Prophet's F: yhat at t + k from the fitted rows then the forecast rows after the data. */
static hs_status hs_env_prophet_F(const char *dir, const hs_series *s, float *F)
{
    char pf_path[4096], pn_path[4096];
    snprintf(pf_path, sizeof pf_path, "%s/prophet_full.csv", dir);
    snprintf(pn_path, sizeof pn_path, "%s/prophet_next.csv", dir);
    hs_fc_table pf, pn;
    memset(&pf, 0, sizeof pf);
    memset(&pn, 0, sizeof pn);
    hs_status st = hs_fc_table_read(pf_path, &pf);
    if (st == HS_OK)
        st = hs_fc_table_read(pn_path, &pn);
    int64_t n = s->n;
    if (st == HS_OK && (pf.n < n || pf.ds[0] != s->start_unix))
        st = hs_error_set(HS_ERR_INPUT, "%s: %lld rows from %lld, but the series has %lld minutes from %lld: the "
                                        "forecast is shorter than the series or made from another one",
                          pf_path, (long long)pf.n, pf.n ? (long long)pf.ds[0] : 0LL, (long long)n,
                          (long long)s->start_unix);
    if (st == HS_OK && pf.n + pn.n < n + 8)
        st = hs_error_set(HS_ERR_INPUT, "%s: %lld rows after the data; the last minutes need 8", pn_path,
                          (long long)pn.n);
    for (int64_t t = 0; st == HS_OK && t < n; t++)
        for (int k = 0; k < 8; k++) {
            int64_t j = t + k + 1;
            double v = j < pf.n ? pf.yhat[j] : pn.yhat[j - pf.n];
            if (!isfinite(v)) {
                st = hs_error_set(HS_ERR_INPUT, "%s: row %lld: yhat is empty or not finite",
                                  j < pf.n ? pf_path : pn_path, (long long)(j < pf.n ? j : j - pf.n) + 2);
                break;
            }
            F[t * 8 + k] = (float)v;
        }
    hs_fc_table_free(&pf);
    hs_fc_table_free(&pn);
    return st;
}

/* Every function's series from functions.safetensors, clipped like the aggregate. */
static hs_status hs_env_functions(const char *dir, float **d, int64_t *k, int64_t *n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/functions.safetensors", dir);
    hs_st_file sf;
    HS_TRY(hs_safetensors_read(path, &sf));
    int i = hs_st_find(&sf, "invocations");
    hs_status st = HS_OK;
    if (i < 0 || sf.ndim[i] != 2 || sf.shape[i][0] < 1)
        st = hs_error_set(HS_ERR_INPUT, "%s: no (functions, minutes) tensor 'invocations'", path);
    if (st == HS_OK) /* counts, as the trace reader admits them (parse.h) */
        st = hs_st_check_range(&sf, i, path, 0.0, HS_PARSE_Y_MAX);
    if (st == HS_OK) {
        *k = sf.shape[i][0];
        *n = sf.shape[i][1];
        *d = malloc((size_t)(*k * *n) * sizeof **d);
        if (!*d)
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    }
    hs_clip_config cc = HS_CLIP_DEFAULTS;
    for (int64_t j = 0; st == HS_OK && j < *k; j++)
        hs_clip_spikes(sf.data[i] + j * *n, *n, &cc, *d + j * *n);
    hs_st_file_free(&sf);
    return st;
}

hs_status hs_env_input_load(const char *series_dir, const char *forecast_dir, const char *forecaster,
                            hs_env_source src, int64_t holdout, hs_env_series *out, int64_t *start_unix)
{
    memset(out, 0, sizeof *out);
    if (!hs_env_forecaster_valid(forecaster))
        return hs_error_set(HS_ERR_USAGE, "unknown forecaster '%s' (none, prophet, lstm or hybrid)", forecaster);
    char path[4096];
    snprintf(path, sizeof path, "%s/series.csv", series_dir);
    hs_series s;
    memset(&s, 0, sizeof s);
    HS_TRY(hs_series_read_csv(path, &s));
    *start_unix = s.start_unix;
    float *d = NULL, *F = NULL;
    int64_t k = 1, n = s.n;
    hs_status st = HS_OK;
    int none = !strcmp(forecaster, "none");
    if (src == HS_ENV_FUNCTIONS) {
        if (!none && strcmp(forecaster, "lstm") != 0 && strcmp(forecaster, "prophet") != 0)
            st = hs_error_set(HS_ERR_USAGE, "--env-series functions: per-function forecasts come from `hyscale "
                                            "forecast lstm|prophet --per-function N` only; use --forecast lstm, "
                                            "prophet or none");
        if (st == HS_OK)
            st = hs_env_functions(series_dir, &d, &k, &n);
        if (st == HS_OK && !none) {
            /* the first N functions have forecasts: the environments replay those */
            char fp[4096];
            snprintf(fp, sizeof fp, "%s/%s_functions_forecast8.safetensors", forecast_dir, forecaster);
            st = hs_env_read_functions_forecast8(fp, n, &F, &k);
        }
    } else {
        d = malloc((size_t)n * sizeof *d);
        if (!d)
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
        else
            memcpy(d, s.clipped, (size_t)n * sizeof *d);
    }
    if (st == HS_OK && !none && src == HS_ENV_AGGREGATE) {
        F = malloc((size_t)(n * 8) * sizeof *F);
        if (!F)
            st = hs_error_set(HS_ERR_NOMEM, "forecast: out of memory");
        else if (!strcmp(forecaster, "prophet"))
            st = hs_env_prophet_F(forecast_dir, &s, F);
        else {
            char fp[4096];
            snprintf(fp, sizeof fp, "%s/%s", forecast_dir, hs_env_forecast_file(forecaster));
            st = hs_env_read_forecast8(fp, n, F);
        }
    }
    if (st == HS_OK)
        st = hs_env_series_init(out, d, F, k, n, holdout, forecaster);
    free(d);
    free(F);
    hs_series_free(&s);
    return st;
}
