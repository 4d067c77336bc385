/* test_prophet.c: the Prophet model in C against the real Prophet and against itself:
 * the design (changepoint grid, Fourier rows) by hand and against Prophet's own matrices, the
 * objective's gradient by central finite differences, the exact optimizer against OWL-QN,
 * the fixtures of tests/gen/prophet_fixtures.py (yhat, components, interval widths, the
 * objective), the model file round trip, and the command's files and errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/forecast_input.h"
#include "hyscale/manifest.h"
#include "hyscale/prophet.h"
#include "hyscale/prophet_stage.h"
#include "hyscale/series.h"

#define FIXTURES HS_SOURCE_DIR "/tests/fixtures/prophet"

/* ---- the design --------------------------------------------------------------------------- */

Test(design, changepoint_grid_by_hand)
{
    int64_t idx[32];
    /* n = 100: floor(0.8 n) = 80, linspace(0, 79, 26)[1:] rounded half to even (numpy) */
    static const int64_t want100[25] = {3, 6, 9, 13, 16, 19, 22, 25, 28, 32, 35, 38, 41,
                                        44, 47, 51, 54, 57, 60, 63, 66, 70, 73, 76, 79};
    cr_assert_eq(hs_prophet_changepoint_index(100, 25, 0.8, idx), 25);
    for (int i = 0; i < 25; i++)
        cr_assert_eq(idx[i], want100[i], "n 100, changepoint %d: %lld != %lld", i, (long long)idx[i],
                     (long long)want100[i]);
    /* a short series caps S at floor(0.8 n) - 1: n = 10 -> 7 changepoints at 1..7 */
    cr_assert_eq(hs_prophet_changepoint_index(10, 25, 0.8, idx), 7);
    for (int i = 0; i < 7; i++)
        cr_assert_eq(idx[i], i + 1);
    /* n = 2: no room for any */
    cr_assert_eq(hs_prophet_changepoint_index(2, 25, 0.8, idx), 0);
    /* linspace(0, 5, 3) = 0, 2.5, 5: 2.5 rounds to 2 (half to even) */
    cr_assert_eq(hs_prophet_changepoint_index(7, 2, 0.9, idx), 2);
    cr_assert_eq(idx[0], 2);
    cr_assert_eq(idx[1], 5);
}

Test(design, fourier_rows_by_hand)
{
    double x[8];
    hs_prophet_fourier(0, 7.0, 2, x); /* the epoch: sin 0, cos 1 */
    cr_assert_float_eq(x[0], 0.0, 1e-15);
    cr_assert_float_eq(x[1], 1.0, 1e-15);
    cr_assert_float_eq(x[2], 0.0, 1e-15);
    cr_assert_float_eq(x[3], 1.0, 1e-15);
    hs_prophet_fourier(6 * 3600, 1.0, 2, x); /* a quarter day into a daily period */
    cr_assert_float_eq(x[0], 1.0, 1e-12);
    cr_assert_float_eq(x[1], 0.0, 1e-12);
    cr_assert_float_eq(x[2], 0.0, 1e-12); /* sin(pi) */
    cr_assert_float_eq(x[3], -1.0, 1e-12);
}

Test(design, auto_seasonalities)
{
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    hs_seasonality s[HS_PROPHET_MAX_SEASONALITIES];
    int64_t ds[3] = {0, 60, 20 * 86400}; /* 20 days, minute spacing: weekly and daily */
    cr_assert_eq(hs_prophet_seasonalities(&cfg, ds, 3, s), 2);
    cr_assert_str_eq(s[0].name, "weekly");
    cr_assert_eq(s[0].order, 3);
    cr_assert_str_eq(s[1].name, "daily");
    cr_assert_eq(s[1].order, 4);
    int64_t daily[3] = {0, 86400, 800 * 86400}; /* daily spacing, 800 days: yearly and weekly */
    cr_assert_eq(hs_prophet_seasonalities(&cfg, daily, 3, s), 2);
    cr_assert_str_eq(s[0].name, "yearly");
    cr_assert_eq(s[0].order, 10);
    cr_assert_str_eq(s[1].name, "weekly");
    cfg.daily = 6;
    cfg.weekly = 0;
    cfg.n_extra = 1;
    strcpy(cfg.extra[0].name, "hourly");
    cfg.extra[0].period = 1.0 / 24;
    cfg.extra[0].order = 2;
    cfg.extra[0].prior_scale = 3;
    cr_assert_eq(hs_prophet_seasonalities(&cfg, ds, 3, s), 2);
    cr_assert_str_eq(s[0].name, "hourly"); /* user seasonalities come first, as in Prophet */
    cr_assert_str_eq(s[1].name, "daily");
    cr_assert_eq(s[1].order, 6);
}

/* ---- data and fixtures -------------------------------------------------------------------- */

static double jnum(const cJSON *j, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, k);
    cr_assert(cJSON_IsNumber(x), "fixture lacks %s", k);
    return x->valuedouble;
}

/* Fits the shared-data file the way the fixture case did and compares: yhat, trend and every
 * component with Prophet's Newton fit (the exact MAP, the *_newton columns) at every row, and
 * yhat with Prophet's default fit (Stan's L-BFGS) in the history and, where default_future,
 * in the forecast too; both within 1% of the range of y. */
static void check_case(const char *case_name, const char *rel_data, int default_future)
{
    const char *data = hs_test_shared_file(rel_data);
    if (!data)
        cr_skip_test("shared data absent");
    char p[512];
    snprintf(p, sizeof p, "%s/%s.json", FIXTURES, case_name);
    cJSON *fj;
    cr_assert_eq(hs_json_read(p, &fj), HS_OK, "%s", hs_error_message());
    snprintf(p, sizeof p, "%s/%s.csv", FIXTURES, case_name);
    hs_test_rows fr;
    cr_assert_eq(hs_test_rows_read(p, &fr), 0, "cannot read %s", p);

    hs_forecast_input in;
    cr_assert_eq(hs_forecast_input_read(data, &in), HS_OK, "%s", hs_error_message());
    cr_assert_eq(in.n, (int64_t)jnum(fj, "n_fit_rows"), "rows fitted differ from Prophet's");
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    const cJSON *mode = cJSON_GetObjectItem(cJSON_GetObjectItem(fj, "settings"), "seasonality_mode");
    cfg.multiplicative = cJSON_IsString(mode) && !strcmp(mode->valuestring, "multiplicative");
    hs_prophet_model m;
    cr_assert_eq(hs_prophet_fit(&cfg, in.ds, in.y, in.n, &m), HS_OK, "%s", hs_error_message());

    /* the scaling and the changepoints are Prophet's exactly */
    cr_assert_float_eq(m.y_scale, jnum(fj, "y_scale"), 1e-12 * m.y_scale);
    cr_assert_float_eq(m.t_scale, jnum(fj, "t_scale_seconds"), 1e-6);
    const cJSON *cps = cJSON_GetObjectItem(fj, "changepoints_t");
    cr_assert_eq(cJSON_GetArraySize(cps), m.S);
    int j = 0;
    for (const cJSON *e = cps->child; e; e = e->next, j++)
        cr_assert_float_eq(m.cp_t[j], e->valuedouble, 1e-12, "changepoint %d", j);
    const cJSON *seas = cJSON_GetObjectItem(fj, "seasonalities");
    cr_assert_eq(cJSON_GetArraySize(seas), m.ns);

    /* our MAP is at least as good as Prophet's (Stan's L-BFGS may stop short: see nasa) */
    const cJSON *pp = cJSON_GetObjectItem(fj, "params");
    int P = 2 + m.S + m.K;
    double *x = calloc((size_t)P + 1, sizeof *x), *g = calloc((size_t)P + 1, sizeof *g), l1;
    x[0] = jnum(pp, "k");
    x[1] = jnum(pp, "m");
    j = 0;
    for (const cJSON *e = cJSON_GetObjectItem(pp, "delta")->child; e; e = e->next)
        x[2 + j++] = e->valuedouble;
    j = 0;
    for (const cJSON *e = cJSON_GetObjectItem(pp, "beta")->child; e; e = e->next)
        x[2 + m.S + j++] = e->valuedouble;
    x[P] = log(jnum(pp, "sigma_obs"));
    double f_prophet = hs_prophet_objective_direct(&m, in.ds, in.y, in.n, x, g, &l1) + l1 / cfg.changepoint_prior_scale;
    cr_assert(m.objective <= f_prophet + 1e-9 * fabs(f_prophet), "%s: our objective %.10g > Prophet's %.10g",
              case_name, m.objective, f_prophet);
    fprintf(stderr, "%s: objective ours %.10g, Prophet's params %.10g\n", case_name, m.objective, f_prophet);

    /* predictions at the fixture rows */
    hs_prophet_forecast fc;
    cr_assert_eq(hs_prophet_predict(&m, &cfg, fr.ds, fr.n, &fc), HS_OK, "%s", hs_error_message());
    double range = jnum(fj, "y_max") - jnum(fj, "y_min");
    int cy = hs_test_rows_col(&fr, "y"), cyh = hs_test_rows_col(&fr, "yhat"),
        clo = hs_test_rows_col(&fr, "yhat_lower"), chi = hs_test_rows_col(&fr, "yhat_upper"),
        cyn = hs_test_rows_col(&fr, "yhat_newton"), ctn = hs_test_rows_col(&fr, "trend_newton");
    cr_assert(cyn >= 0 && ctn >= 0, "%s: the fixture lacks the Newton columns (rerun tests/gen/prophet_fixtures.py)",
              case_name);
    double worst_n = 0, worst_d = 0;
    int wn = 0, wd = 0;
    for (int i = 0; i < fr.n; i++) {
        const double *row = fr.v + (int64_t)i * fr.ncol;
        double dn = fabs(fc.yhat[i] - row[cyn]) / range, dd = fabs(fc.yhat[i] - row[cyh]) / range;
        if (dn > worst_n) {
            worst_n = dn;
            wn = i;
        }
        if ((default_future || !isnan(row[cy])) && dd > worst_d) {
            worst_d = dd;
            wd = i;
        }
        /* the tolerance: 1% of the range of y, at every point, history and forecast */
        cr_assert(fabs(fc.trend[i] - row[ctn]) <= 0.01 * range, "%s row %d: trend %g vs %g", case_name, i,
                  fc.trend[i], row[ctn]);
        for (int s = 0; s < m.ns; s++) {
            char nn[48];
            snprintf(nn, sizeof nn, "%s_newton", m.seas[s].name);
            int csn = hs_test_rows_col(&fr, nn);
            cr_assert(csn >= 0, "fixture lacks component %s", nn);
            cr_assert(fabs(fc.comp[(int64_t)s * fr.n + i] - row[csn]) <= 0.01 * range, "%s row %d: %s %g vs %g",
                      case_name, i, m.seas[s].name, fc.comp[(int64_t)s * fr.n + i], row[csn]);
        }
    }
    fprintf(stderr, "%s: worst |yhat - Prophet Newton| = %.3g%% of the range (row %d); vs Prophet default %.3g%% "
                    "(row %d%s)\n",
            case_name, 100 * worst_n, wn, 100 * worst_d, wd, default_future ? "" : ", history only");
    cr_assert(worst_n <= 0.01, "%s: yhat off Prophet's Newton fit by %.3g%% of the range at row %d", case_name,
              100 * worst_n, wn);
    cr_assert(worst_d <= 0.01, "%s: yhat off Prophet's default fit by %.3g%% of the range at row %d", case_name,
              100 * worst_d, wd);

    /* interval widths: Prophet's per point is a 1000-draw quantile (~4% sampling error), so
     * compare means over blocks of 24 rows (history and future apart) within 10% */
    for (int part = 0; part < 2; part++) {
        double wo = 0, wp = 0;
        int cnt = 0;
        for (int i = 0; i < fr.n; i++) {
            const double *row = fr.v + (int64_t)i * fr.ncol;
            int future = isnan(row[cy]);
            if (future != part)
                continue;
            wo += fc.upper[i] - fc.lower[i];
            wp += row[chi] - row[clo];
            if (++cnt == 24 || i == fr.n - 1) {
                cr_assert(fabs(wo / wp - 1) <= 0.10, "%s %s: mean interval width %g vs Prophet's %g", case_name,
                          part ? "future" : "history", wo / cnt, wp / cnt);
                wo = wp = 0;
                cnt = 0;
            }
        }
    }
    hs_prophet_forecast_free(&fc);
    hs_prophet_model_free(&m);
    hs_forecast_input_free(&in);
    free(x);
    free(g);
    hs_test_rows_free(&fr);
    cJSON_Delete(fj);
}

Test(fixtures, peyton_manning, .timeout = 120) { check_case("peyton", "prophet/example_wp_log_peyton_manning.csv", 1); }
Test(fixtures, yosemite_5min, .timeout = 120) { check_case("yosemite", "prophet/example_yosemite_temps.csv", 1); }
/* On NASA-HTTP 1995 Prophet's default L-BFGS stops short of the MAP (its log posterior is 17
 * lower than at the exact optimum that Stan's Newton reaches, and the trend slope at the end
 * differs): its forecast is compared through the Newton columns and the objective only. */
Test(fixtures, nasa_http_per_minute, .timeout = 120) { check_case("nasa", "web/nasa_http_1995_jul_per_minute.csv", 0); }
Test(fixtures, air_passengers_multiplicative, .timeout = 120)
{
    check_case("air_passengers", "prophet/example_air_passengers.csv", 1);
}

Test(fixtures, design_rows_match_prophets)
{
    const char *data = hs_test_shared_file("prophet/example_wp_log_peyton_manning.csv");
    if (!data)
        cr_skip_test("shared data absent");
    cJSON *d;
    cr_assert_eq(hs_json_read(FIXTURES "/design_peyton.json", &d), HS_OK, "%s", hs_error_message());
    hs_forecast_input in;
    cr_assert_eq(hs_forecast_input_read(data, &in), HS_OK);
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    hs_prophet_model m;
    cr_assert_eq(hs_prophet_fit(&cfg, in.ds, in.y, in.n, &m), HS_OK);
    const cJSON *rows = cJSON_GetObjectItem(d, "rows"), *feat = cJSON_GetObjectItem(d, "features"),
                *A = cJSON_GetObjectItem(d, "A");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetArrayItem(feat, 0)), m.K);
    double x[64];
    for (int r = 0; r < cJSON_GetArraySize(rows); r++) {
        int i = cJSON_GetArrayItem(rows, r)->valueint;
        hs_prophet_fourier(in.ds[i], m.seas[0].period, m.seas[0].order, x);
        hs_prophet_fourier(in.ds[i], m.seas[1].period, m.seas[1].order, x + 2 * m.seas[0].order);
        const cJSON *fr = cJSON_GetArrayItem(feat, r), *ar = cJSON_GetArrayItem(A, r);
        for (int c = 0; c < m.K; c++)
            /* Prophet computes the same sin/cos in float64 from nanosecond times: 1e-9 */
            cr_assert_float_eq(x[c], cJSON_GetArrayItem(fr, c)->valuedouble, 1e-9, "row %d column %d", i, c);
        double t = (double)(in.ds[i] - m.start) / m.t_scale;
        for (int j = 0; j < m.S; j++)
            cr_assert_eq(t >= m.cp_t[j], cJSON_GetArrayItem(ar, j)->valuedouble != 0, "A[%d][%d]", i, j);
    }
    hs_prophet_model_free(&m);
    hs_forecast_input_free(&in);
    cJSON_Delete(d);
}

/* ---- the objective and the optimizers ----------------------------------------------------- */

/* A synthetic hourly series with trend breaks, daily rhythm and noise. */
static void synth_series(int64_t n, int64_t *ds, double *y, uint64_t seed)
{
    srand((unsigned)seed);
    for (int64_t i = 0; i < n; i++) {
        ds[i] = 1561939200 + i * 3600;
        double t = (double)i / (double)n;
        y[i] = 50 + 30 * t - 40 * fmax(0, t - 0.5) + 8 * sin(2 * M_PI * (double)i / 24) +
               3 * ((double)rand() / RAND_MAX - 0.5);
    }
}

static void check_gradient(int multiplicative)
{
    enum { N = 24 * 30 };
    int64_t ds[N];
    double y[N];
    synth_series(N, ds, y, 3);
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    cfg.multiplicative = multiplicative;
    hs_prophet_model m;
    cr_assert_eq(hs_prophet_fit(&cfg, ds, y, N, &m), HS_OK, "%s", hs_error_message());
    int P = 2 + m.S + m.K, nv = P + 1;
    double *x = malloc((size_t)nv * sizeof *x), *g = malloc((size_t)nv * sizeof *g), *g2 = malloc((size_t)nv * sizeof *g2);
    srand(7);
    for (int i = 0; i < nv; i++)
        x[i] = 0.3 * ((double)rand() / RAND_MAX - 0.5);
    x[nv - 1] = log(0.2);
    hs_prophet_objective_direct(&m, ds, y, N, x, g, NULL);
    for (int i = 0; i < nv; i++) {
        double h = 1e-6, keep = x[i];
        x[i] = keep + h;
        double fp = hs_prophet_objective_direct(&m, ds, y, N, x, g2, NULL);
        x[i] = keep - h;
        double fm = hs_prophet_objective_direct(&m, ds, y, N, x, g2, NULL);
        x[i] = keep;
        double fd = (fp - fm) / (2 * h);
        /* central differences in double: truncation O(h^2) and rounding ~1e-16 |f| / h, with
         * |f| ~ 1e4 here: 1e-5 absolute plus 1e-6 relative */
        cr_assert(fabs(fd - g[i]) <= 1e-5 + 1e-6 * fabs(g[i]), "variable %d: analytic %.10g, numeric %.10g", i, g[i],
                  fd);
    }
    free(x);
    free(g);
    free(g2);
    hs_prophet_model_free(&m);
}

Test(objective, gradient_by_finite_differences_additive) { check_gradient(0); }
Test(objective, gradient_by_finite_differences_multiplicative) { check_gradient(1); }

Test(objective, exact_optimizer_beats_or_ties_owlqn_and_gram_equals_direct)
{
    enum { N = 24 * 60 };
    static int64_t ds[N];
    static double y[N];
    synth_series(N, ds, y, 5);
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    hs_prophet_model a, b;
    cr_assert_eq(hs_prophet_fit(&cfg, ds, y, N, &a), HS_OK);
    cfg.optimizer = HS_PROPHET_OWLQN;
    cr_assert_eq(hs_prophet_fit(&cfg, ds, y, N, &b), HS_OK);
    fprintf(stderr, "exact %.12g (%d rounds), owl-qn %.12g (%d iterations)\n", a.objective, a.iterations, b.objective,
            b.iterations);
    cr_assert(a.objective <= b.objective + 1e-9 * fabs(b.objective));
    /* the exact fit's objective came from the Gram matrix: the direct sum must agree */
    int P = 2 + a.S + a.K;
    double *x = malloc((size_t)(P + 1) * sizeof *x), *g = malloc((size_t)(P + 1) * sizeof *g), l1;
    x[0] = a.k;
    x[1] = a.m;
    memcpy(x + 2, a.delta, (size_t)a.S * sizeof *x);
    memcpy(x + 2 + a.S, a.beta, (size_t)a.K * sizeof *x);
    x[P] = log(a.sigma);
    double f = hs_prophet_objective_direct(&a, ds, y, N, x, g, &l1) + l1 / 0.05;
    cr_assert(fabs(f - a.objective) <= 1e-8 * fabs(f), "direct %.12g vs Gram %.12g", f, a.objective);
    /* at the optimum the smooth gradient vanishes on every unpenalised coordinate */
    for (int i = 0; i < P + 1; i++)
        if (i < 2 || i >= 2 + a.S)
            cr_assert(fabs(g[i]) <= 1e-5 * (1 + fabs(f) / N), "gradient %d = %g at the optimum", i, g[i]);
    free(x);
    free(g);
    hs_prophet_model_free(&a);
    hs_prophet_model_free(&b);
}

Test(objective, constant_and_short_series)
{
    int64_t ds[5] = {0, 86400, 2 * 86400, 3 * 86400, 4 * 86400};
    double y[5] = {7, 7, 7, 7, 7};
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    hs_prophet_model m;
    cr_assert_eq(hs_prophet_fit(&cfg, ds, y, 5, &m), HS_OK);
    cr_assert(m.constant);
    hs_prophet_forecast fc;
    int64_t fut[2] = {5 * 86400, 10 * 86400};
    cr_assert_eq(hs_prophet_predict(&m, &cfg, fut, 2, &fc), HS_OK);
    cr_assert_float_eq(fc.yhat[0], 7.0, 1e-9);
    cr_assert_float_eq(fc.yhat[1], 7.0, 1e-9);
    hs_prophet_forecast_free(&fc);
    hs_prophet_model_free(&m);
    double y2[2] = {1, 3};
    cr_assert_eq(hs_prophet_fit(&cfg, ds, y2, 2, &m), HS_OK); /* two points: no changepoints */
    cr_assert_eq(m.placed_changepoints, 0);
    hs_prophet_model_free(&m);
    cr_assert_eq(hs_prophet_fit(&cfg, ds, y2, 1, &m), HS_ERR_INPUT);
}

/* ---- the model file and the command ------------------------------------------------------- */

Test(model_file, round_trip_predicts_the_same)
{
    enum { N = 24 * 20 };
    static int64_t ds[N];
    static double y[N];
    synth_series(N, ds, y, 9);
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    hs_prophet_model m, l;
    cr_assert_eq(hs_prophet_fit(&cfg, ds, y, N, &m), HS_OK);
    char *dir = hs_test_scratch("pmodel");
    cJSON *j = hs_prophet_model_json(&m, &cfg, 0, 3600);
    cr_assert_eq(hs_json_write_file(dir, "m.json", j), HS_OK);
    cJSON_Delete(j);
    char p[600];
    snprintf(p, sizeof p, "%s/m.json", dir);
    hs_prophet_config c2 = HS_PROPHET_DEFAULTS;
    int logs;
    int64_t step;
    cr_assert_eq(hs_prophet_model_load(p, &l, &c2, &logs, &step), HS_OK, "%s", hs_error_message());
    cr_assert_eq(step, 3600);
    int64_t fut[48];
    for (int i = 0; i < 48; i++)
        fut[i] = ds[N - 1] + (i + 1) * 3600;
    hs_prophet_forecast a, b;
    cr_assert_eq(hs_prophet_predict(&m, &cfg, fut, 48, &a), HS_OK);
    cr_assert_eq(hs_prophet_predict(&l, &c2, fut, 48, &b), HS_OK);
    char msg[256];
    /* cJSON prints 15 significant digits when they read back within one DBL_EPSILON of the
     * value: the parameters come back within an ulp, predictions within 1e-12 relative */
    cr_assert(hs_test_close_d(b.yhat, a.yhat, 48, 0, 1e-12, msg, sizeof msg), "%s", msg);
    cr_assert(hs_test_close_d(b.lower, a.lower, 48, 0, 1e-12, msg, sizeof msg), "%s", msg);
    hs_prophet_forecast_free(&a);
    hs_prophet_forecast_free(&b);
    hs_prophet_model_free(&m);
    hs_prophet_model_free(&l);
}

Test(command, series_file_with_holdout)
{
    char *dir = hs_test_scratch("pcmd"), out[512];
    snprintf(out, sizeof out, "%s/out", dir);
    char *series = hs_test_keep(hs_test_make_series(dir, 3, 40, 0)), *err;
    cr_assert(series, "could not make the series");
    cr_assert_eq(hs_test_run(&err, "forecast", "prophet", "--input", series, "--out", out, "--holdout", "360",
                             "--horizon", "120", "--uncertainty-samples", "200", NULL),
                 0, "%s", err);
    free(err);
    const char *files[] = {"prophet_full.csv", "prophet_next.csv", "prophet_metrics.json", "prophet_model.json",
                           "prophet.png", "prophet_components.png", "manifest.json"};
    for (int i = 0; i < 7; i++)
        cr_assert(hs_test_nonempty(out, files[i]), "missing %s", files[i]);
    char p[700];
    snprintf(p, sizeof p, "%s/prophet_metrics.json", out);
    cJSON *j;
    cr_assert_eq(hs_json_read(p, &j), HS_OK);
    const char *keys[] = {"mae", "rmse", "mae_log", "rmse_log", "mae_raw", "rmse_raw", "fit_seconds", "predict_seconds"};
    for (int k = 0; k < 8; k++)
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, keys[k])), "metrics lack %s", keys[k]);
    cr_assert(cJSON_GetObjectItem(j, "mae")->valuedouble > 0);
    cJSON_Delete(j);
    /* full: every input point; next: the horizon, on the invocation scale */
    snprintf(p, sizeof p, "%s/prophet_full.csv", out);
    cr_assert_eq(hs_test_count_lines(p), 1 + 3 * 1440);
    char *t = hs_test_read_file(p, NULL);
    cr_assert(!strncmp(t, "ds,y,yhat,yhat_lower,yhat_upper\n", 32));
    free(t);
    snprintf(p, sizeof p, "%s/prophet_next.csv", out);
    cr_assert_eq(hs_test_count_lines(p), 1 + 120);
}

/* prophet_metrics.json names the solver that ran: the exact block method by default, OWL-QN
 * when asked, none for a constant series (Prophet's shortcut). */
static void check_solver(const char *values, const char *optimizer, const char *want)
{
    char *dir = hs_test_scratch("psolver");
    char in[512], out[512], p[700];
    snprintf(in, sizeof in, "%s/in.csv", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    FILE *f = fopen(in, "w");
    fputs("ds,y\n", f);
    for (int i = 0; i < 40; i++)
        fprintf(f, "2020-01-%02d %02d:00:00,%s\n", 1 + i / 24, i % 24, values[0] == 'c' ? "5" : i % 3 ? "7" : "2");
    fclose(f);
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "prophet", "--input", in, "--out", out, "--quiet", "--horizon", "5",
                             "--uncertainty-samples", "20", "--optimizer", optimizer, NULL),
                 0, "%s", err);
    free(err);
    snprintf(p, sizeof p, "%s/prophet_metrics.json", out);
    cJSON *j;
    cr_assert_eq(hs_json_read(p, &j), HS_OK);
    const char *impl = cJSON_GetStringValue(cJSON_GetObjectItem(j, "implementation"));
    const char *opt = cJSON_GetStringValue(cJSON_GetObjectItem(j, "optimizer"));
    cr_assert(impl && strstr(impl, want), "implementation '%s' does not name '%s'", impl, want);
    cr_assert(opt && strstr(opt, want), "optimizer '%s' is not '%s'", opt, want);
    cJSON_Delete(j);
}

Test(command, metrics_name_the_solver_that_ran)
{
    check_solver("varied", "exact", "exact block coordinate descent");
    check_solver("varied", "owlqn", "liblbfgs OWL-QN");
    check_solver("constant", "exact", "none (constant series)");
}

static void check_bad(const char *content, const char *extra, const char *want, int code)
{
    char *dir = hs_test_scratch("pbad");
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/in.csv", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    hs_test_write_file(in, content);
    char *err;
    int rc = extra ? hs_test_run(&err, "forecast", "prophet", "--input", in, "--out", out, "--holdout", extra, NULL)
                   : hs_test_run(&err, "forecast", "prophet", "--input", in, "--out", out, NULL);
    cr_assert_eq(rc, code, "exit %d: %s", rc, err);
    cr_assert(strstr(err, want), "message lacks '%s': %s", want, err);
    cr_assert_eq(hs_test_count_entries(out), -1, "output left behind");
    free(err);
}

Test(command, bad_input)
{
    check_bad("ds,y\n2020-01-01,1\n2020-01-0x,2\n", NULL, "in.csv:3: column 1 (ds): unparseable date '2020-01-0x'", 1);
    check_bad("ds,y\n2020-01-01,1\n2020-01-02,abc\n", NULL, "in.csv:3: column 2 (y): non-numeric value 'abc'", 1);
    check_bad("ds,y\n2020-01-01,1\n", NULL, "at least 2", 1);
    check_bad("ds,y\n2020-01-01,1\n2020-01-02,\n2020-01-03,\n", NULL, "at least 2", 1);
    check_bad("ds,y\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n", "5", "--holdout 5", 2);
    check_bad("ds,y\n2020-01-01,1\n2020-01-01,2\n", NULL, "appears twice", 1);
    check_bad("when,what\n1,2\n", NULL, "in.csv:1", 1);
}

/* The options' ranges, one bad value at a time: the option and the value named in the message. */
static const struct {
    const char *opt, *val, *want;
} bad_options[] = {
    {"--holdout", "-3", "--holdout -3: out of range"},
    {"--changepoints", "-1", "--changepoints -1: out of range"},
    {"--changepoint-range", "0", "--changepoint-range 0: out of range"},
    {"--changepoint-range", "1.5", "--changepoint-range 1.5: out of range"},
    {"--changepoint-prior-scale", "0", "--changepoint-prior-scale 0: out of range"},
    {"--seasonality-prior-scale", "-1", "--seasonality-prior-scale -1: out of range"},
    {"--uncertainty-samples", "-2", "--uncertainty-samples -2: out of range"},
    {"--interval-width", "1", "--interval-width 1: out of range"},
    {"--interval-width", "0", "--interval-width 0: out of range"},
};

/* The command refuses each with a usage error (exit 2) before reading the input, writing nothing. */
Test(command, out_of_range_options_name_the_option)
{
    char *dir = hs_test_tmpdir("prange"), in[512], out[512];
    snprintf(in, sizeof in, "%s/in.csv", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    hs_test_write_file(in, "ds,y\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n2020-01-04,4\n");
    for (size_t i = 0; i < sizeof bad_options / sizeof *bad_options; i++) {
        char *err;
        int rc = hs_test_run(&err, "forecast", "prophet", "--input", in, "--out", out, "--quiet", bad_options[i].opt,
                             bad_options[i].val, NULL);
        cr_expect_eq(rc, 2, "%s %s: exit %d: %s", bad_options[i].opt, bad_options[i].val, rc, err);
        cr_expect(strstr(err, bad_options[i].want), "message lacks '%s': %s", bad_options[i].want, err);
        free(err);
    }
    cr_expect_eq(hs_test_count_entries(out), -1, "output left behind");
    free(dir);
}

/* hs_prophet_stage_check accepts the defaults and refuses each bad value; the stage itself refuses
 * it at entry (a usage error, not the missing input's I/O error) and writes nothing. */
static void set_bad_option(hs_prophet_stage_config *c, int i)
{
    hs_prophet_config *m = &c->model;
    double v = atof(bad_options[i].val);
    const char *o = bad_options[i].opt;
    if (!strcmp(o, "--holdout"))
        c->holdout = (int64_t)v;
    else if (!strcmp(o, "--changepoints"))
        m->n_changepoints = (int)v;
    else if (!strcmp(o, "--changepoint-range"))
        m->changepoint_range = v;
    else if (!strcmp(o, "--changepoint-prior-scale"))
        m->changepoint_prior_scale = v;
    else if (!strcmp(o, "--seasonality-prior-scale"))
        m->seasonality_prior_scale = v;
    else if (!strcmp(o, "--uncertainty-samples"))
        m->uncertainty_samples = (int)v;
    else if (!strcmp(o, "--interval-width"))
        m->interval_width = v;
    else
        cr_assert_fail("no field for %s", o);
}

Test(stage, refuses_out_of_range_options)
{
    char *dir = hs_test_tmpdir("pstage"), in[512], out[512];
    snprintf(in, sizeof in, "%s/missing.csv", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    hs_prophet_stage_config c = HS_PROPHET_STAGE_DEFAULTS;
    c.input = in;
    c.out_dir = out;
    cr_expect_eq(hs_prophet_stage_check(&c), HS_OK, "%s", hs_error_message());
    for (int i = 0; i < (int)(sizeof bad_options / sizeof *bad_options); i++) {
        hs_prophet_stage_config b = c;
        set_bad_option(&b, i);
        cr_expect_eq(hs_prophet_stage_check(&b), HS_ERR_USAGE, "%s %s", bad_options[i].opt, bad_options[i].val);
        cr_expect(strstr(hs_error_message(), bad_options[i].want), "check: %s", hs_error_message());
        hs_prophet_stage_result r;
        cr_expect_eq(hs_prophet_stage_run(&b, NULL, &r), HS_ERR_USAGE, "%s %s", bad_options[i].opt,
                     bad_options[i].val);
        cr_expect(strstr(hs_error_message(), bad_options[i].want), "run: %s", hs_error_message());
    }
    cr_expect_eq(hs_test_count_entries(out), -1, "output left behind");
    free(dir);
}

/* The exact L1 QP solver: the optimality (KKT) conditions hold at its answer, from a cold and
 * from a warm start, on random well- and ill-conditioned problems. */
#include "hyscale/lasso_qp.h"

Test(lasso_qp, kkt_conditions_hold)
{
    enum { P = 12 };
    srand(11);
    for (int trial = 0; trial < 50; trial++) {
        double B[P * P], H[P * P], q[P], x[P], work[HS_LASSO_WORK(P)];
        unsigned char pen[P];
        double cond = trial % 2 ? 1e-3 : 1.0; /* every other problem nearly singular columns */
        for (int i = 0; i < P * P; i++)
            B[i] = (double)rand() / RAND_MAX - 0.5;
        for (int i = 0; i < P; i++)
            B[i * P + 1] = B[i * P] + cond * B[i * P + 1]; /* columns 0 and 1 nearly collinear */
        for (int i = 0; i < P; i++)
            for (int j = 0; j < P; j++) {
                double s = i == j ? 1e-6 : 0;
                for (int k = 0; k < P; k++)
                    s += B[k * P + i] * B[k * P + j];
                H[i * P + j] = s;
            }
        for (int i = 0; i < P; i++) {
            q[i] = 2 * ((double)rand() / RAND_MAX - 0.5);
            pen[i] = i % 3 != 0;
            x[i] = trial % 4 == 3 ? (double)rand() / RAND_MAX - 0.5 : 0; /* warm starts too */
        }
        double c = 0.2;
        int st = hs_lasso_qp(P, H, q, pen, c, x, work);
        cr_assert(st >= 0, "trial %d: solver returned %d", trial, st);
        for (int i = 0; i < P; i++) {
            double g = -q[i], mag = fabs(q[i]);
            for (int j = 0; j < P; j++) {
                g += H[i * P + j] * x[j];
                mag += fabs(H[i * P + j] * x[j]);
            }
            /* rounding in the gradient is ~1e-16 of the size of its terms; 1e-9 of it is slack */
            double tol = 1e-9 * (1 + mag);
            if (!pen[i])
                cr_assert(fabs(g) <= tol, "trial %d: free %d gradient %g", trial, i, g);
            else if (x[i] != 0)
                cr_assert(fabs(g + c * (x[i] > 0 ? 1 : -1)) <= tol, "trial %d: active %d", trial, i);
            else
                cr_assert(fabs(g) <= c + tol, "trial %d: zero %d violates |g| <= c (%g)", trial, i, g);
        }
    }
}
