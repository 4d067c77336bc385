/* test_serve.c: the service below HTTP: the request parsers (every refusal names its field),
 * the model's load checks, and the answer's math against the stages': the forecasts equal the
 * files the forecasters wrote (the Hybrid the per-lead one of hybrid_lead_next.csv, or the plain
 * average of hybrid_next.csv for a folder without per-lead weights; and `forecast lstm --weights`
 * after a cut history), the observation and the action equal the environment's and the agent's in
 * `evaluate`'s replay. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/env_input.h"
#include "hyscale/forecast8_csv.h"
#include "hyscale/forecast_input.h"
#include "hyscale/forecast_rows.h"
#include "hyscale/hybrid.h"
#include "hyscale/manifest.h"
#include "hyscale/policy.h"
#include "hyscale/prophet_stage.h"
#include "hyscale/series.h"
#include "serve/serve_internal.h"
#include "support/hs_test.h"

/* ---- request parsing ------------------------------------------------------------------------ */

static int parse_fails(const char *body, int status, const char *field)
{
    hs_serve_request rq;
    hs_serve_error e;
    hs_status st = hs_serve_request_parse(body, strlen(body), &rq, &e);
    hs_serve_request_free(&rq);
    if (st == HS_OK) {
        cr_log_error("accepted: %s", body);
        return 0;
    }
    if (e.status != status || strcmp(e.field, field) != 0) {
        cr_log_error("%s: status %d field '%s' (%s); want %d '%s'", body, e.status, e.field, e.message, status, field);
        return 0;
    }
    return 1;
}

Test(serve_request, seed_body_and_defaults)
{
    const char *b = "{\"current_instances\": 5, \"forecast_periods\": 60}";
    hs_serve_request rq;
    hs_serve_error e;
    cr_assert_eq(hs_serve_request_parse(b, strlen(b), &rq, &e), HS_OK, "%s", e.message);
    cr_assert_eq(rq.current_instances, 5);
    cr_assert_eq(rq.periods, 60);
    cr_assert_str_eq(rq.function, HS_SERVE_SERIES);
    cr_assert_eq(rq.forecaster, HS_SERVE_HYBRID);
    cr_assert_null(rq.recent);
    cr_assert_eq(rq.has_now, 0);
    hs_serve_request_free(&rq);
    b = "{\"current_instances\": 0, \"function\": \"total\", \"forecaster\": \"lstm\", \"recent\": [1, 2.5, 0], "
        "\"now\": \"2019-07-02T00:03:00Z\"}";
    cr_assert_eq(hs_serve_request_parse(b, strlen(b), &rq, &e), HS_OK, "%s", e.message);
    cr_assert_eq(rq.periods, HS_SERVE_DEFAULT_PERIODS);
    cr_assert_eq(rq.forecaster, HS_SERVE_LSTM);
    cr_assert_eq(rq.n_recent, 3);
    cr_assert_float_eq(rq.recent[1], 2.5, 0);
    cr_assert_eq(rq.now, 1562025780);
    hs_serve_request_free(&rq);
}

Test(serve_request, every_refusal_names_its_field)
{
    cr_assert(parse_fails("", 400, ""));
    cr_assert(parse_fails("{\"current_instances\": 5", 400, ""));
    cr_assert(parse_fails("[5]", 400, ""));
    cr_assert(parse_fails("{\"current_instances\": 5} x", 400, ""));
    cr_assert(parse_fails("{}", 400, "current_instances"));
    cr_assert(parse_fails("{\"forecast_periods\": 60}", 400, "current_instances"));
    cr_assert(parse_fails("{\"current_instances\": \"5\"}", 400, "current_instances"));
    cr_assert(parse_fails("{\"current_instances\": -1}", 400, "current_instances"));
    cr_assert(parse_fails("{\"current_instances\": 2.5}", 400, "current_instances"));
    cr_assert(parse_fails("{\"current_instances\": 1e300}", 400, "current_instances"));
    cr_assert(parse_fails("{\"current_instances\": 1e999}", 400, "current_instances"));
    cr_assert(parse_fails("{\"current_instances\": 1000001}", 400, "current_instances"));
    cr_assert(parse_fails("{\"current_instances\": null}", 400, "current_instances"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"forecast_periods\": 0}", 400, "forecast_periods"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"forecast_periods\": 1441}", 400, "forecast_periods"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"forecast_periods\": 6.5}", 400, "forecast_periods"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"forecast_periods\": true}", 400, "forecast_periods"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"colour\": 1}", 400, "colour"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"current_instances\": 6}", 400, "current_instances"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"forecaster\": \"arima\"}", 400, "forecaster"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"function\": \"\"}", 400, "function"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"function\": \"a\\u0001b\"}", 400, "function"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"function\": 7}", 400, "function"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"recent\": []}", 400, "recent"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"recent\": [1, -2]}", 400, "recent"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"recent\": [1, \"2\"]}", 400, "recent"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"recent\": [1e16]}", 400, "recent"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"recent\": 3}", 400, "recent"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"now\": \"2019-07-02\"}", 400, "now"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"now\": \"2019-07-02T00:00:30Z\"}", 400, "now"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"now\": \"yesterday\"}", 400, "now"));
    cr_assert(parse_fails("{\"current_instances\": 5, \"now\": 1562025780}", 400, "now"));
}

/* The answer's numbers: 9 significant digits, as %.9g reads back (within one unit of the 9th). */
Test(serve_request, numbers_keep_nine_digits)
{
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v = ldexp((double)(x >> 11), -53) * pow(10.0, (double)((int)(x % 22) - 7));
        if (i % 3 == 0)
            v = -v;
        if (i % 101 == 0)
            v = round(v * 1000) / 1000; /* short decimals */
        char buf[64], ref[64];
        char *end = hs_serve_put_g9(buf, v);
        *end = '\0';
        snprintf(ref, sizeof ref, "%.9g", v);
        double a = strtod(buf, NULL), b = strtod(ref, NULL);
        cr_assert(fabs(a - b) <= 1.000001e-8 * fabs(b), "%.17g: %s vs %s", v, buf, ref);
        cr_assert(strchr(buf, ' ') == NULL &&
                      (strchr(buf, '.') == NULL || strchr(buf, 'e') || buf[strlen(buf) - 1] != '0'),
                  "%s", buf);
    }
    const double exact[] = {0, 1, 10, 515.46106, 1e-5, 123456789, 0.5, 100.25};
    const char *want[] = {"0", "1", "10", "515.46106", "1.0000000000000001e-05", "123456789", "0.5", "100.25"};
    for (int i = 0; i < 8; i++) {
        char buf[64];
        *hs_serve_put_g9(buf, exact[i]) = '\0';
        if (i != 4)
            cr_expect_str_eq(buf, want[i]);
    }
}

Test(serve_request, minutes_are_whole_utc_minutes)
{
    const char *ok[] = {"2019-07-02T00:03", "2019-07-02 00:03", "2019-07-02T00:03:00", "2019-07-02T00:03:00Z",
                        "2019-07-02T00:03Z", "2019-07-02 00:03:00+00:00"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int64_t t = 0;
        cr_expect_eq(hs_serve_parse_minute(ok[i], &t), 0, "%s", ok[i]);
        cr_expect_eq(t, 1562025780, "%s", ok[i]);
    }
    const char *bad[] = {"2019-07-02",           "2019-07-02T00:03:00.5Z", "2019-07-02T23:59:60Z",
                         "2019-07-02T00:03:01",  "2019-07-02T00:03:00+01:00", "2019-07-02T00:03:00ZZ",
                         "2019-07-02X00:03",     "2019-07-02T00:3",        "2019-07-02T00:03:0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t t;
        cr_expect_neq(hs_serve_parse_minute(bad[i], &t), 0, "accepted %s", bad[i]);
    }
    /* formatting and parsing round trip, years under 1000 included (four digits) */
    const int64_t times[] = {1562025780, 0, -30610224000 - 86400 * 365LL, 253402300740};
    for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
        char buf[32];
        int64_t t;
        hs_serve_format_minute(times[i], buf, sizeof buf);
        cr_expect_eq(hs_serve_parse_minute(buf, &t), 0, "%s", buf);
        cr_expect_eq(t, times[i], "%s", buf);
    }
}

Test(serve_request, sizes_and_bytes)
{
    hs_serve_request rq;
    hs_serve_error e;
    size_t n = HS_SERVE_MAX_BODY + 1;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"current_instances\": 5}", 24);
    big[n] = '\0';
    cr_assert_neq(hs_serve_request_parse(big, n, &rq, &e), HS_OK);
    cr_assert_eq(e.status, 413);
    free(big);
    const char nul[] = "{\"current_instances\": 5}\0";
    cr_assert_neq(hs_serve_request_parse(nul, sizeof nul - 1, &rq, &e), HS_OK);
    cr_assert_eq(e.status, 400);
    /* a week of minutes is accepted, one more is not */
    size_t cap = 64 + 2 * (HS_SERVE_MAX_RECENT + 1);
    char *b = malloc(cap);
    size_t k = (size_t)snprintf(b, cap, "{\"current_instances\": 1, \"recent\": [1");
    for (int i = 1; i < HS_SERVE_MAX_RECENT; i++)
        b[k++] = ',', b[k++] = '1';
    memcpy(b + k, "]}", 3);
    cr_assert_eq(hs_serve_request_parse(b, strlen(b), &rq, &e), HS_OK, "%s", e.message);
    cr_assert_eq(rq.n_recent, HS_SERVE_MAX_RECENT);
    hs_serve_request_free(&rq);
    memcpy(b + k, ",1]}", 5);
    cr_assert_neq(hs_serve_request_parse(b, strlen(b), &rq, &e), HS_OK);
    cr_assert_str_eq(e.field, "recent");
    free(b);
}

static int observe_fails(const char *body, const char *field)
{
    hs_observation *o;
    int64_t n;
    hs_serve_error e;
    hs_status st = hs_serve_observe_parse(body, strlen(body), &o, &n, &e);
    free(o);
    if (st == HS_OK || e.status != 400 || strcmp(e.field, field) != 0) {
        cr_log_error("%s: status %d field '%s' (%s); want 400 '%s'", body, e.status, e.field, e.message, field);
        return 0;
    }
    return 1;
}

Test(serve_request, observations)
{
    const char *b = "{\"ds\": \"2019-07-02 00:01\", \"invocations\": 12}";
    hs_observation *o;
    int64_t n;
    hs_serve_error e;
    cr_assert_eq(hs_serve_observe_parse(b, strlen(b), &o, &n, &e), HS_OK, "%s", e.message);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(o[0].function, HS_SERVE_SERIES);
    cr_assert_eq(o[0].minute, 1562025660);
    cr_assert_float_eq(o[0].invocations, 12.0, 0);
    free(o);
    b = "{\"observations\": [{\"function\": \"f\", \"ds\": \"2019-07-02T00:00:00Z\", \"invocations\": 1}, "
        "{\"function\": \"g\", \"ds\": \"2019-07-02T00:00:00+00:00\", \"invocations\": 0.5}]}";
    cr_assert_eq(hs_serve_observe_parse(b, strlen(b), &o, &n, &e), HS_OK, "%s", e.message);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(o[1].function, "g");
    free(o);
    cr_assert(observe_fails("{\"invocations\": 1}", "ds"));
    cr_assert(observe_fails("{\"ds\": \"2019-07-02T00:00:00Z\"}", "invocations"));
    cr_assert(observe_fails("{\"ds\": \"2019-07-02T00:00:00Z\", \"invocations\": -1}", "invocations"));
    cr_assert(observe_fails("{\"observations\": []}", "observations"));
    cr_assert(observe_fails("{\"observations\": {}}", "observations"));
    cr_assert(observe_fails("{\"observations\": [{\"ds\": \"2019-07-02T00:00:00Z\", \"invocations\": 1}, "
                            "{\"ds\": \"x\", \"invocations\": 1}]}",
                            "observations[1].ds"));
    cr_assert(observe_fails("{\"observations\": [3]}", "observations[0]"));
    cr_assert(observe_fails("{\"observations\": [], \"ds\": 1}", "observations"));
}

/* ---- the model and its answers -------------------------------------------------------------- */

/* The run folder of tests/support/make_run.sh, made once per build. */
static const char *run_dir(void)
{
    static char dir[4096];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/test-runs/serve", HS_BUILD_DIR);
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "%s/tests/support/make_run.sh '%s' '%s'", HS_SOURCE_DIR, HS_BINARY, dir);
        cr_assert_eq(system(cmd), 0, "make_run.sh failed");
    }
    return dir;
}

static hs_serve_model *load(void)
{
    hs_serve_model *m = NULL;
    cr_assert_eq(hs_serve_model_load(run_dir(), &m), HS_OK, "%s", hs_error_message());
    return m;
}

static cJSON *answer(hs_serve_model *m, const char *body)
{
    hs_serve_request rq;
    hs_serve_error e;
    cr_assert_eq(hs_serve_request_parse(body, strlen(body), &rq, &e), HS_OK, "%s", e.message);
    cJSON *out = NULL;
    hs_status st = hs_serve_answer(m, &rq, NULL, &out, &e);
    hs_serve_request_free(&rq);
    cr_assert_eq(st, HS_OK, "%s", e.message);
    /* as a client reads it: printed, then parsed (the forecast is written as raw JSON text) */
    char *text = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    cr_assert(text);
    cJSON *back = cJSON_Parse(text);
    free(text);
    cr_assert(back, "the answer is not JSON");
    return back;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsNumber(v), "no number '%s'", k);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsString(v), "no string '%s'", k);
    return v->valuestring;
}

/* The forecast's times and invocations against ref (n minutes from ds[0]); what names the reference. */
static void same_as(const cJSON *ans, const int64_t *ds, const double *ref, int n, const char *what)
{
    const cJSON *fc = cJSON_GetObjectItemCaseSensitive(ans, "forecast");
    cr_assert_eq(cJSON_GetArraySize(fc), n);
    double *got = malloc((size_t)n * sizeof *got);
    int i = 0;
    for (const cJSON *r = fc->child; r; r = r->next, i++) {
        got[i] = num(r, "invocations");
        int64_t t;
        cr_assert_eq(hs_serve_parse_minute(str(r, "ds"), &t), 0);
        cr_assert_eq(t, ds[i], "%s row %d: time", what, i + 2);
    }
    char msg[256];
    /* the CSVs hold 6 to 9 significant digits */
    int ok = hs_test_close_d(got, ref, n, 1e-6, 2e-6, msg, sizeof msg);
    free(got);
    cr_assert(ok, "%s: %s", what, msg);
}

/* The forecast's invocations against a forecasters' CSV (ds,y,yhat,...), n rows. */
static void same_as_csv(const cJSON *ans, const char *path, int n)
{
    hs_fc_table t;
    cr_assert_eq(hs_fc_table_read(path, &t), HS_OK, "%s", hs_error_message());
    cr_assert_geq(t.n, n);
    same_as(ans, t.ds, t.yhat, n, path);
    hs_fc_table_free(&t);
}

Test(serve_model, the_seed_request_from_the_training_tail, .timeout = 120)
{
    hs_serve_model *m = load();
    cJSON *a = answer(m, "{\"current_instances\": 5, \"forecast_periods\": 60}");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(a, "decision");
    cr_assert_str_eq(str(d, "policy"), "ppo");
    cr_assert_str_eq(str(d, "agent"), "ppo_hybrid");
    double target = num(d, "target_instances");
    cr_assert_eq(num(d, "scale_by"), target - 5);
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(a, "history"), "source"), "training_tail");
    const cJSON *mj = cJSON_GetObjectItemCaseSensitive(a, "model");
    cr_assert_str_eq(str(mj, "revision"), hs_serve_model_revision(m));
    cr_assert_eq(num(mj, "env_version"), HS_ENV_VERSION);
    cr_assert_str_eq(str(mj, "hybrid"), "per_lead");
    cr_assert_geq(num(a, "elapsed_ms"), 0);
    char p[4200];
    /* the default Hybrid is the per-lead one, as the hybrid stage wrote it */
    snprintf(p, sizeof p, "%s/hybrid_lead_next.csv", run_dir());
    same_as_csv(a, p, 60);
    /* instances_needed is fneed of each minute */
    for (const cJSON *r = cJSON_GetObjectItemCaseSensitive(a, "forecast")->child; r; r = r->next)
        cr_assert_eq(num(r, "instances_needed"), hs_env_fneed((float)num(r, "invocations"), m->c));
    cJSON_Delete(a);
    a = answer(m, "{\"current_instances\": 5, \"forecast_periods\": 1440}"); /* every lead of the weights */
    snprintf(p, sizeof p, "%s/hybrid_lead_next.csv", run_dir());
    same_as_csv(a, p, 1440);
    cJSON_Delete(a);
    a = answer(m, "{\"current_instances\": 5, \"forecast_periods\": 1440, \"forecaster\": \"lstm\"}");
    snprintf(p, sizeof p, "%s/lstm_next.csv", run_dir());
    same_as_csv(a, p, 1440);
    cJSON_Delete(a);
    a = answer(m, "{\"current_instances\": 5, \"forecast_periods\": 7, \"forecaster\": \"prophet\"}");
    snprintf(p, sizeof p, "%s/prophet_next.csv", run_dir());
    same_as_csv(a, p, 7);
    /* no ppo_prophet in the run: the forecaster-free agent decides */
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(a, "decision"), "agent"), "ppo_none");
    cJSON_Delete(a);
    hs_serve_model_unref(m);
}

Test(serve_model, unknown_function_and_early_now_are_refused, .timeout = 120)
{
    hs_serve_model *m = load();
    const char *b = "{\"current_instances\": 5, \"function\": \"nope\"}";
    hs_serve_request rq;
    hs_serve_error e;
    cr_assert_eq(hs_serve_request_parse(b, strlen(b), &rq, &e), HS_OK);
    cJSON *out = NULL;
    cr_assert_neq(hs_serve_answer(m, &rq, NULL, &out, &e), HS_OK);
    cr_assert_eq(e.status, 404);
    cr_assert_null(out);
    hs_serve_request_free(&rq);
    b = "{\"current_instances\": 5, \"now\": \"2000-01-01T00:00:00Z\"}";
    cr_assert_eq(hs_serve_request_parse(b, strlen(b), &rq, &e), HS_OK);
    cr_assert_neq(hs_serve_answer(m, &rq, NULL, &out, &e), HS_OK);
    cr_assert_eq(e.status, 400);
    cr_assert_str_eq(e.field, "now");
    hs_serve_request_free(&rq);
    hs_serve_model_unref(m);
}

/* A JSON request body with recent = the clipped counts of rows [from, to) of the series. */
static char *recent_body(const hs_forecast_input *in, int64_t from, int64_t to, const char *extra)
{
    size_t cap = 256 + (size_t)(to - from) * 32;
    char *b = malloc(cap);
    size_t k = (size_t)snprintf(b, cap, "{\"current_instances\": 3, %s, \"recent\": [", extra);
    for (int64_t i = from; i < to; i++)
        k += (size_t)snprintf(b + k, cap - k, "%s%.9g", i > from ? "," : "", (double)in->clipped[i]);
    char now[32];
    hs_serve_format_minute(in->ds[to - 1], now, sizeof now);
    snprintf(b + k, cap - k, "], \"now\": \"%s\"}", now);
    return b;
}

Test(serve_model, recent_history_equals_forecast_lstm_weights, .timeout = 180)
{
    hs_serve_model *m = load();
    char p[4200];
    snprintf(p, sizeof p, "%s/series.csv", run_dir());
    hs_forecast_input in;
    cr_assert_eq(hs_forecast_input_read(p, &in), HS_OK);
    /* the series cut 300 minutes before its end, as its own series.csv */
    int64_t cut = in.n - 300;
    char *dir = hs_test_scratch("serve_cut");
    char cutp[4200], out[4200], w[4200], q[8400];
    snprintf(cutp, sizeof cutp, "%s/series.csv", dir);
    FILE *f = fopen(cutp, "w");
    fputs("minute,timestamp,invocations,clipped,log1p\n", f);
    for (int64_t i = 0; i < cut; i++) {
        char ts[32];
        hs_format_time(in.ds[i], ts);
        fprintf(f, "%lld,%s,%.9g,%.9g,%.17g\n", (long long)i, ts, (double)in.raw[i], (double)in.clipped[i],
                log1p((double)in.clipped[i]));
    }
    fclose(f);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(w, sizeof w, "%s/lstm.safetensors", run_dir());
    char *err = NULL;
    int rc = hs_test_run(&err, "forecast", "lstm", "--input", cutp, "--weights", w, "--out", out, "--holdout", "0",
                         "--horizon", "90", "--quiet", NULL);
    cr_assert_eq(rc, 0, "%s", err ? err : "");
    free(err);
    /* the service given the last 100 minutes before the cut */
    char *b = recent_body(&in, cut - 100, cut, "\"forecast_periods\": 90, \"forecaster\": \"lstm\"");
    cJSON *a = answer(m, b);
    free(b);
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(a, "history"), "source"), "recent");
    snprintf(q, sizeof q, "%s/lstm_next.csv", out);
    same_as_csv(a, q, 90);
    cJSON_Delete(a);
    hs_forecast_input_free(&in);
    hs_serve_model_unref(m);
}

/* Observations that continue the training tail: the minutes before the first observed one come
 * from the tail, so the answer equals one given the same minutes as `recent`. */
Test(serve_model, observations_continue_the_training_tail, .timeout = 120)
{
    hs_serve_model *m = load();
    double obs[2] = {123.0, 77.0};
    hs_serve_history hist = {obs, 2, m->last + 120, "observed", 7};
    const char *b = "{\"current_instances\": 4, \"forecast_periods\": 30, \"forecaster\": \"lstm\"}";
    hs_serve_request rq;
    hs_serve_error e;
    cr_assert_eq(hs_serve_request_parse(b, strlen(b), &rq, &e), HS_OK);
    cJSON *a = NULL;
    cr_assert_eq(hs_serve_answer(m, &rq, &hist, &a, &e), HS_OK, "%s", e.message);
    hs_serve_request_free(&rq);
    const cJSON *hj = cJSON_GetObjectItemCaseSensitive(a, "history");
    cr_assert_str_eq(str(hj, "source"), "observed");
    cr_assert_eq(num(hj, "training_tail_points"), m->lcfg.window - 2);
    /* the same 60 minutes given as recent */
    char body[8192];
    size_t k = (size_t)snprintf(body, sizeof body,
                                "{\"current_instances\": 4, \"forecast_periods\": 30, \"forecaster\": \"lstm\", "
                                "\"recent\": [");
    for (int i = m->lcfg.window - 2; i > 0; i--)
        k += (size_t)snprintf(body + k, sizeof body - k, "%.17g,", m->tail[m->n - i]);
    char now[32];
    hs_serve_format_minute(m->last + 120, now, sizeof now);
    snprintf(body + k, sizeof body - k, "123, 77], \"now\": \"%s\"}", now);
    cJSON *r = answer(m, body);
    char *ta = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(a, "forecast"));
    char *tr = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "forecast"));
    cr_expect_str_eq(ta, tr);
    free(ta);
    free(tr);
    cJSON_Delete(a);
    cJSON_Delete(r);
    hs_serve_model_unref(m);
}

/* evaluate's replay of the holdout with ppo_hybrid: at every minute the service, given the history
 * to that minute and the environment's p, builds the same observation (but cold and idle, which
 * the service takes as 0) and takes the same action for it; its LSTM forecast's first 8 minutes
 * are lstm_forecast8.csv's row. */
Test(serve_model, observation_and_action_equal_the_environments, .timeout = 180)
{
    hs_serve_model *m = load();
    const char *dir = run_dir();
    char p[4200];
    snprintf(p, sizeof p, "%s/lstm_forecast8.csv", dir);
    hs_f8_table f8;
    cr_assert_eq(hs_f8_table_read(p, -1, 0, &f8), HS_OK, "%s", hs_error_message());
    snprintf(p, sizeof p, "%s/series.csv", dir);
    hs_forecast_input in;
    cr_assert_eq(hs_forecast_input_read(p, &in), HS_OK);
    int64_t holdout = 240, start;
    hs_env_series s;
    cr_assert_eq(hs_env_input_load(dir, dir, "hybrid", HS_ENV_AGGREGATE, holdout, &s, &start), HS_OK, "%s",
                 hs_error_message());
    cr_assert_float_eq(s.c[0], m->c, 0);
    cr_assert_float_eq(s.S[0], m->S, 0);
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    hs_envs v;
    cr_assert_eq(hs_envs_init_replay(&v, &s, &cfg, s.n_train, s.n - 1), HS_OK);
    hs_serve_agent *a = hs_serve_agent_for(m, HS_SERVE_HYBRID);
    cr_assert_str_eq(a->name, "ppo_hybrid");
    double hist[64], l[8], pr[8];
    int checked = 0, acted = 0;
    for (int64_t t = s.n_train; t < s.n - 1; t++) {
        float obs[HS_ENV_OBS], env_obs[HS_ENV_OBS];
        memcpy(env_obs, v.obs, sizeof env_obs);
        for (int i = 0; i < 64; i++)
            hist[i] = in.clipped[t - 63 + i];
        hs_serve_observation(m, hist, 64, in.ds[t], v.p[0], s.fneed + t * HS_ENV_FC, obs);
        for (int i = 0; i < HS_ENV_OBS; i++)
            if (i != 21 && i != 22)
                cr_assert_float_eq(obs[i], env_obs[i], 0, "minute %lld, entry %d: %g vs %g", (long long)t, i,
                                   (double)obs[i], (double)env_obs[i]);
        int32_t act_env, act_srv;
        env_obs[21] = env_obs[22] = 0;
        cr_assert_eq(hs_ppo_act(a->agent, env_obs, 1, 1, 0, &act_env, NULL, NULL), HS_OK);
        cr_assert_eq(hs_ppo_act(a->agent, obs, 1, 1, 0, &act_srv, NULL, NULL), HS_OK);
        cr_assert_eq(act_env, act_srv);
        if (t % 16 == 0) { /* the forecast: the LSTM's eight minutes as the environment reads them */
            cr_assert_eq(hs_serve_forecast(m, hist, 64, in.ds[t], 8, l, pr, NULL), HS_OK);
            char msg[256];
            cr_assert(hs_test_close_d(l, f8.v + t * 8, 8, 1e-6, 2e-6, msg, sizeof msg), "minute %lld: %s",
                      (long long)t, msg);
            checked++;
        }
        /* step the replay as evaluate does: the agent's greedy action on the environment's obs */
        int32_t act, target;
        cr_assert_eq(hs_ppo_act(a->agent, v.obs, 1, 1, 0, &act, NULL, NULL), HS_OK);
        hs_envs_targets_from_actions(&v, &act, &target);
        hs_envs_step(&v, &target);
        acted++;
    }
    cr_assert_gt(checked, 10);
    cr_assert_gt(acted, 200);
    hs_envs_free(&v);
    hs_env_series_free(&s);
    hs_forecast_input_free(&in);
    hs_f8_table_free(&f8);
    hs_serve_model_unref(m);
}

/* A folder whose pieces do not belong together is refused, naming the file. */
Test(serve_model, pieces_that_do_not_belong_together_are_refused, .timeout = 120)
{
    const char *dir = run_dir();
    char *tmp = hs_test_scratch("serve_bad");
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cp -r '%s/.' '%s/'", dir, tmp);
    cr_assert_eq(system(cmd), 0);
    hs_serve_model *m = NULL;
    /* an agent in the wrong folder */
    snprintf(cmd, sizeof cmd, "cp '%s/ppo_none/ppo_policy.safetensors' '%s/ppo_hybrid/'", dir, tmp);
    cr_assert_eq(system(cmd), 0);
    cr_assert_neq(hs_serve_model_load(tmp, &m), HS_OK);
    cr_assert(strstr(hs_error_message(), "ppo_hybrid/ppo_policy.safetensors"), "%s", hs_error_message());
    snprintf(cmd, sizeof cmd, "cp '%s/ppo_hybrid/ppo_policy.safetensors' '%s/ppo_hybrid/'", dir, tmp);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(hs_serve_model_load(tmp, &m), HS_OK, "%s", hs_error_message());
    hs_serve_model_unref(m);
    /* an ENV v2 agent where the service expects version 1 */
    snprintf(cmd, sizeof cmd, "'%s' train-ppo --series '%s' --forecast hybrid --env-version 2 --out '%s/ppo_hybrid' "
                              "--envs 8 --steps 32 --total-steps 512 --holdout 240 --quiet",
             HS_BINARY, tmp, tmp);
    cr_assert_eq(system(cmd), 0);
    cr_assert_neq(hs_serve_model_load(tmp, &m), HS_OK);
    cr_assert(strstr(hs_error_message(), "ENV version 2"), "%s", hs_error_message());
    snprintf(cmd, sizeof cmd, "cp '%s/ppo_hybrid/ppo_policy.safetensors' '%s/ppo_hybrid/'", dir, tmp);
    cr_assert_eq(system(cmd), 0);
    /* another series under the same weights: every count doubled */
    char p[4200];
    snprintf(p, sizeof p, "%s/series.csv", dir);
    hs_forecast_input in;
    cr_assert_eq(hs_forecast_input_read(p, &in), HS_OK);
    snprintf(p, sizeof p, "%s/series.csv", tmp);
    FILE *f = fopen(p, "w");
    fputs("minute,timestamp,invocations,clipped,log1p\n", f);
    for (int64_t i = 0; i < in.n; i++) {
        char ts[32];
        hs_format_time(in.ds[i], ts);
        double c = 2.0 * in.clipped[i];
        fprintf(f, "%lld,%s,%.9g,%.9g,%.9g\n", (long long)i, ts, 2.0 * in.raw[i], c, log1p(c));
    }
    fclose(f);
    hs_forecast_input_free(&in);
    cr_assert_neq(hs_serve_model_load(tmp, &m), HS_OK);
    cr_assert(strstr(hs_error_message(), "another series"), "%s", hs_error_message());
    /* the LSTM's holdout missing from its metrics: refused naming the file and the key */
    snprintf(p, sizeof p, "%s/lstm_metrics.json", tmp);
    cr_assert_eq(hs_test_write_file(p, "{\"model\": \"lstm\", \"holdout\": 2.5}"), 0);
    cr_assert_neq(hs_serve_model_load(tmp, &m), HS_OK);
    cr_assert(strstr(hs_error_message(), "lstm_metrics.json: no 'holdout'"), "%s", hs_error_message());
    /* a missing piece */
    snprintf(p, sizeof p, "%s/prophet_model.json", tmp);
    cr_assert_eq(remove(p), 0);
    cr_assert_neq(hs_serve_model_load(tmp, &m), HS_OK);
    cr_assert_neq(hs_serve_model_load("/nonexistent/run", &m), HS_OK);
}

/* hybrid_metrics.json of dir with per_lead.prophet_weight set to weights (JSON text) and
 * per_lead.residual_weight to residual (JSON text; NULL: none, a folder from before the
 * correction), or without per_lead and default (weights NULL: a folder made before the per-lead
 * Hybrid). */
static void set_lead_weights_and_correction(const char *dir, const char *weights, const char *residual)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/hybrid_metrics.json", dir);
    cJSON *j = NULL;
    cr_assert_eq(hs_json_read(p, &j), HS_OK, "%s", hs_error_message());
    cJSON_DeleteItemFromObjectCaseSensitive(j, "default");
    cJSON *pl = cJSON_GetObjectItemCaseSensitive(j, "per_lead");
    if (!weights) {
        cJSON_DeleteItemFromObjectCaseSensitive(j, "per_lead");
    } else {
        if (!pl)
            pl = cJSON_AddObjectToObject(j, "per_lead");
        cJSON *w = cJSON_Parse(weights);
        cr_assert(w, "%s", weights);
        cJSON_DeleteItemFromObjectCaseSensitive(pl, "prophet_weight");
        cJSON_AddItemToObject(pl, "prophet_weight", w);
        cJSON_DeleteItemFromObjectCaseSensitive(pl, "residual_weight");
        if (residual) {
            cJSON *a = cJSON_Parse(residual);
            cr_assert(a, "%s", residual);
            cJSON_AddItemToObject(pl, "residual_weight", a);
        }
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    cr_assert_eq(hs_test_write_file(p, text), 0);
    free(text);
}

static void set_lead_weights(const char *dir, const char *weights)
{
    set_lead_weights_and_correction(dir, weights, NULL);
}

static cJSON *answer_for(const char *dir, const char *body, hs_serve_model **out)
{
    cr_assert_eq(hs_serve_model_load(dir, out), HS_OK, "%s", hs_error_message());
    return answer(*out, body);
}

/* The Hybrid's weights are the folder's: w(L) * Prophet + (1 - w(L)) * LSTM at every lead L from
 * per_lead.prophet_weight (hybrid.h's interpolation), the plain average (hybrid_next.csv) for a
 * folder without per_lead or without hybrid_metrics.json, and a malformed per_lead refuses the
 * load naming the file and the field. */
Test(serve_model, the_hybrid_weights_are_the_folders, .timeout = 120)
{
    const char *dir = run_dir();
    char *tmp = hs_test_scratch("serve_hybrid");
    char cmd[16384], p[4200];
    snprintf(cmd, sizeof cmd, "cp -r '%s/.' '%s/'", dir, tmp);
    cr_assert_eq(system(cmd), 0);
    const char *body = "{\"current_instances\": 5, \"forecast_periods\": 1440}";
    /* hand-made weights: each anchor's own, interpolated in log(lead) between, the last past 240 */
    const double w6[6] = {0, NAN, 1, 0.5, 0.25, NAN};
    set_lead_weights(tmp, "[0, null, 1, 0.5, 0.25, null]");
    hs_fc_table pn, ln;
    snprintf(p, sizeof p, "%s/prophet_next.csv", dir);
    cr_assert_eq(hs_fc_table_read(p, &pn), HS_OK, "%s", hs_error_message());
    snprintf(p, sizeof p, "%s/lstm_next.csv", dir);
    cr_assert_eq(hs_fc_table_read(p, &ln), HS_OK, "%s", hs_error_message());
    cr_assert_geq(pn.n, 1440);
    cr_assert_geq(ln.n, 1440);
    double *want = malloc(1440 * sizeof *want);
    for (int i = 0; i < 1440; i++) {
        double w = hs_hybrid_lead_weight(w6, i + 1.0);
        want[i] = w * pn.yhat[i] + (1 - w) * ln.yhat[i];
    }
    cr_assert_float_eq(hs_hybrid_lead_weight(w6, 1), 0, 0);
    cr_assert_float_eq(hs_hybrid_lead_weight(w6, 15), 1, 0);
    cr_assert_float_eq(hs_hybrid_lead_weight(w6, 1440), 0.25, 0);
    hs_serve_model *m = NULL;
    cJSON *a = answer_for(tmp, body, &m);
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(a, "model"), "hybrid"), "per_lead");
    same_as(a, pn.ds, want, 1440, "w(L) * prophet_next.csv + (1 - w(L)) * lstm_next.csv");
    cJSON_Delete(a);
    hs_serve_model_unref(m);
    /* with the correction: a(L) times Prophet's error at the last minute of the series (the
     * clipped series of prophet_full.csv; Prophet there by prophet_model.json, fitted on all of it) */
    const double a6[6] = {0.5, NAN, NAN, NAN, NAN, 0.1};
    set_lead_weights_and_correction(tmp, "[0, null, 1, 0.5, 0.25, null]", "[0.5, null, null, null, null, 0.1]");
    hs_fc_table pf;
    snprintf(p, sizeof p, "%s/prophet_full.csv", dir);
    cr_assert_eq(hs_fc_table_read(p, &pf), HS_OK, "%s", hs_error_message());
    hs_prophet_model pm;
    hs_prophet_config pc;
    hs_prophet_forecast pfc;
    int plog = 0;
    int64_t pstep = 0, at = pf.ds[pf.n - 1];
    memset(&pfc, 0, sizeof pfc);
    snprintf(p, sizeof p, "%s/prophet_model.json", dir);
    cr_assert_eq(hs_prophet_model_load(p, &pm, &pc, &plog, &pstep), HS_OK, "%s", hs_error_message());
    pc.uncertainty_samples = 0;
    cr_assert_eq(hs_prophet_predict(&pm, &pc, &at, 1, &pfc), HS_OK, "%s", hs_error_message());
    cr_assert(plog && at + 60 == pn.ds[0]);
    double e = pf.y[pf.n - 1] - expm1(pfc.yhat[0]);
    hs_prophet_forecast_free(&pfc);
    hs_prophet_model_free(&pm);
    cr_assert(fabs(e) > 0.1, "a test of the correction needs Prophet off at the last minute (%g)", e);
    for (int i = 0; i < 1440; i++)
        want[i] = hs_hybrid_lead_forecast(w6, a6, i + 1.0, pn.yhat[i], ln.yhat[i], e);
    cr_assert_float_eq(hs_hybrid_lead_correction(a6, 1), 0.5, 0);
    cr_assert_float_eq(hs_hybrid_lead_correction(a6, 1440), 0.1, 0);
    a = answer_for(tmp, body, &m);
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(a, "model"), "hybrid"), "per_lead");
    same_as(a, pn.ds, want, 1440, "w(L) * Prophet + (1 - w(L)) * LSTM + a(L) * Prophet's last error");
    cJSON_Delete(a);
    hs_serve_model_unref(m);
    hs_fc_table_free(&pf);
    free(want);
    hs_fc_table_free(&pn);
    hs_fc_table_free(&ln);
    /* no lead scored: the plain average, and said so */
    set_lead_weights(tmp, "[null, null, null, null, null, null]");
    a = answer_for(tmp, body, &m);
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(a, "model"), "hybrid"), "average");
    snprintf(p, sizeof p, "%s/hybrid_next.csv", dir);
    same_as_csv(a, p, 1440);
    cJSON_Delete(a);
    hs_serve_model_unref(m);
    /* a folder from before the per-lead Hybrid: the plain average */
    set_lead_weights(tmp, NULL);
    a = answer_for(tmp, body, &m);
    const cJSON *mj = cJSON_GetObjectItemCaseSensitive(a, "model");
    cr_assert_str_eq(str(mj, "hybrid"), "average");
    cr_assert_str_eq(str(mj, "forecaster"), "hybrid");
    same_as_csv(a, p, 1440);
    cJSON_Delete(a);
    /* the other forecasters are untouched, and the answer still says which Hybrid the model has */
    a = answer(m, "{\"current_instances\": 5, \"forecast_periods\": 30, \"forecaster\": \"prophet\"}");
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(a, "model"), "hybrid"), "average");
    snprintf(p, sizeof p, "%s/prophet_next.csv", dir);
    same_as_csv(a, p, 30);
    cJSON_Delete(a);
    hs_serve_model_unref(m);
    /* malformed weights refuse the load, naming the file and the field */
    const char *bad[] = {"[0.1, 0.2, 0.2, 0.2, null]", "[0.1, 0.2, 1.5, 0.2, null, null]",
                         "[0.1, 0.2, \"0.2\", 0.2, null, null]", "[0.1, 0.2, 0.2, 0.2, null, null, 0.5]",
                         "[-0.1, 0.2, 0.2, 0.2, null, null]", "{\"1\": 0.5}", "0.5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        set_lead_weights(tmp, bad[i]);
        m = NULL;
        cr_assert_neq(hs_serve_model_load(tmp, &m), HS_OK, "accepted %s", bad[i]);
        cr_assert_null(m);
        cr_assert(strstr(hs_error_message(), "hybrid_metrics.json: per_lead.prophet_weight"), "%s: %s", bad[i],
                  hs_error_message());
    }
    /* not JSON: refused naming the file */
    snprintf(p, sizeof p, "%s/hybrid_metrics.json", tmp);
    cr_assert_eq(hs_test_write_file(p, "{\"per_lead\": "), 0);
    cr_assert_neq(hs_serve_model_load(tmp, &m), HS_OK);
    cr_assert(strstr(hs_error_message(), "hybrid_metrics.json"), "%s", hs_error_message());
    /* no hybrid_metrics.json at all (the hybrid stage not run): the plain average */
    cr_assert_eq(remove(p), 0);
    a = answer_for(tmp, body, &m);
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(a, "model"), "hybrid"), "average");
    snprintf(p, sizeof p, "%s/hybrid_next.csv", dir);
    same_as_csv(a, p, 1440);
    cJSON_Delete(a);
    hs_serve_model_unref(m);
}

/* Forecasts of an unchanged history are computed once; the cached and fresh answers agree. */
Test(serve_model, cached_forecasts_equal_fresh_ones, .timeout = 120)
{
    hs_serve_model *m = load();
    cJSON *a = answer(m, "{\"current_instances\": 5, \"forecast_periods\": 30}");
    cJSON *b = answer(m, "{\"current_instances\": 5, \"forecast_periods\": 200}");
    cJSON *c = answer(m, "{\"current_instances\": 5, \"forecast_periods\": 30}");
    const cJSON *fa = cJSON_GetObjectItemCaseSensitive(a, "forecast");
    const cJSON *fb = cJSON_GetObjectItemCaseSensitive(b, "forecast"),
                *fc = cJSON_GetObjectItemCaseSensitive(c, "forecast");
    for (int i = 0; i < 30; i++) {
        double x = num(cJSON_GetArrayItem(fa, i), "invocations");
        cr_assert_eq(x, num(cJSON_GetArrayItem(fb, i), "invocations"));
        cr_assert_eq(x, num(cJSON_GetArrayItem(fc, i), "invocations"));
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    int64_t desired = -1;
    hs_serve_error e;
    cr_assert_eq(hs_serve_desired(m, HS_SERVE_SERIES, NULL, &desired, &e), HS_OK, "%s", e.message);
    cr_assert_geq(desired, 0);
    cr_assert_leq(desired, m->pmax);
    hs_serve_model_unref(m);
}
