/* test_prophet_gaps.c: Prophet on series with systematic gaps (issue 14, part 5). A series that
 * never shows some weekdays leaves the model free in some directions (combinations of the
 * intercept and the weekly columns that vanish on every observed day); Prophet's L-BFGS leaves
 * them at its initial point and users expect its forecast of the unseen days. Checked here:
 * the free directions of synthetic calendars and that the fit keeps theta's projection on
 * them at the start's; hyscale against the real Prophet's fixtures of
 * tests/gen/prophet_gap_fixtures.py on every future point (unseen weekdays included) within
 * 1% of the range of y, where the exact MAP point (Prophet's Newton, hyscale before) is off by
 * far more; business hours of business days (weakly determined nights, fitted by Stan's L-BFGS
 * as Prophet runs it: hourly within 1%, per minute within its measured 6%, not 1%); and
 * `hyscale forecast prophet` end to end on a business-days file. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/forecast_input.h"
#include "hyscale/manifest.h"
#include "hyscale/prophet.h"
#include "hyscale/series.h"

#define FIXTURES HS_SOURCE_DIR "/tests/fixtures/prophet"

/* Monday = 0 .. Sunday = 6 of a time (1970-01-01 was a Thursday). */
static int weekday(int64_t ds)
{
    int64_t d = ds >= 0 ? ds / 86400 : -((-ds + 86399) / 86400);
    return (int)(((d + 3) % 7 + 7) % 7);
}

/* ---- synthetic calendars: the free directions, held at the start -------------------------- */

/* A daily series of 730 days from Monday 2018-01-01 with a trend, a weekly and a yearly shape
 * and a deterministic wobble, keeping the weekdays whose bit is set in `keep` (bit 0 Monday). */
static int64_t synthetic_days(unsigned keep, int64_t *ds, double *y)
{
    const int64_t t0 = 1514764800; /* 2018-01-01 00:00 UTC, a Monday */
    int64_t n = 0;
    for (int d = 0; d < 730; d++) {
        int64_t t = t0 + (int64_t)d * 86400;
        if (!(keep >> weekday(t) & 1))
            continue;
        ds[n] = t;
        y[n] = 20.0 + 0.004 * d + 1.5 * sin(2 * M_PI * d / 7.0) + 0.8 * cos(4 * M_PI * d / 7.0) +
               2.0 * sin(2 * M_PI * d / 365.25) + 0.3 * sin(12.9898 * d) * cos(78.233 * d);
        n++;
    }
    return n;
}

/* The combinations v = (v_m, v_weekly(6)) with v_m + sum_j v_j x_j(d) = 0 on every kept weekday
 * d, where x (6) are the weekly Fourier features: a basis of 7 - kept vectors. Solved with the
 * last 7 - kept coordinates set to unit vectors and the first `kept` by Gaussian elimination. */
static int weekly_null_basis(unsigned keep, double basis[7][7])
{
    const int64_t monday = 1514764800;
    double M[7][7];
    int r = 0;
    for (int w = 0; w < 7; w++)
        if (keep >> w & 1) {
            M[r][0] = 1.0;
            hs_prophet_fourier(monday + (int64_t)w * 86400, 7.0, 3, &M[r][1]);
            r++;
        }
    int nb = 7 - r;
    for (int b = 0; b < nb; b++) {
        double A[7][8];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < r; j++)
                A[i][j] = M[i][j];
            A[i][r] = -M[i][r + b]; /* the free coordinate r + b set to 1 */
        }
        for (int c = 0; c < r; c++) { /* elimination with partial pivoting */
            int p = c;
            for (int i = c + 1; i < r; i++)
                if (fabs(A[i][c]) > fabs(A[p][c]))
                    p = i;
            for (int j = 0; j <= r; j++) {
                double t = A[c][j];
                A[c][j] = A[p][j];
                A[p][j] = t;
            }
            for (int i = 0; i < r; i++)
                if (i != c) {
                    double f = A[i][c] / A[c][c];
                    for (int j = c; j <= r; j++)
                        A[i][j] -= f * A[c][j];
                }
        }
        for (int j = 0; j < 7; j++)
            basis[b][j] = 0;
        for (int i = 0; i < r; i++)
            basis[b][i] = A[i][r] / A[i][i];
        basis[b][r + b] = 1.0;
    }
    return nb;
}

static void check_calendar(unsigned keep, int want_free)
{
    static int64_t ds[730];
    static double y[730];
    int64_t n = synthetic_days(keep, ds, y);
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    hs_prophet_model m;
    cr_assert_eq(hs_prophet_fit(&cfg, ds, y, n, &m), HS_OK, "%s", hs_error_message());
    int w = -1, col = 0;
    for (int s = 0; s < m.ns; s++) {
        if (!strcmp(m.seas[s].name, "weekly"))
            w = col;
        col += 2 * m.seas[s].order;
    }
    cr_assert(w >= 0, "no weekly seasonality");
    double basis[7][7];
    int nb = weekly_null_basis(keep, basis);
    cr_assert_eq(nb, want_free);
    for (int b = 0; b < nb; b++) {
        /* v'(theta - theta_start): theta_start = (init_k, init_m, 0, ...) */
        double proj = basis[b][0] * (m.m - m.init_m), norm = 0;
        for (int j = 0; j < 7; j++)
            norm += basis[b][j] * basis[b][j];
        for (int j = 0; j < 6; j++)
            proj += basis[b][1 + j] * m.beta[w + j];
        /* the pin holds it to (prior pull) / (data curvature) ~ 1e-8; 1e-6 of |v| leaves room,
         * and the MAP point moves it by O(1) (0.7 on peyton's weekdays) */
        cr_assert(fabs(proj) <= 1e-6 * sqrt(norm), "weekdays %#x: theta moved %g along free direction %d", keep,
                  proj, b);
    }
    cr_assert_eq(m.free_directions, want_free, "weekdays %#x: %d free directions, want %d", keep, m.free_directions,
                 want_free);
    hs_prophet_model_free(&m);
}

Test(calendar, free_directions_held_at_the_start)
{
    check_calendar(0x7f, 0); /* every day: full rank, the exact MAP point as before */
    check_calendar(0x1f, 2); /* business days */
    check_calendar(0x3f, 1); /* no Sundays */
    check_calendar(0x15, 4); /* Monday, Wednesday, Friday */
}

/* ---- the real Prophet's fixtures ---------------------------------------------------------- */

/* A fixture table, read or the test fails. */
static void rows_read(const char *path, hs_test_rows *fr)
{
    cr_assert_eq(hs_test_rows_read(path, fr), 0, "cannot read %s (missing, empty or a bad ds)", path);
}

/* A column of the fixture, or the test fails. */
static int rows_col(const hs_test_rows *fr, const char *name)
{
    int c = hs_test_rows_col(fr, name);
    cr_assert_geq(c, 0, "fixture lacks column %s", name);
    return c;
}

static double jnum(const cJSON *j, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, k);
    cr_assert(cJSON_IsNumber(x), "fixture lacks %s", k);
    return x->valuedouble;
}

/* The fixture's input rebuilt from the shared file as the generator did (its "filter"); 0 when
 * the shared file is absent. in->ds / in->y are replaced by the rebuilt series. */
static int gap_input(const cJSON *fj, hs_forecast_input *in)
{
    const char *rel = cJSON_GetStringValue(cJSON_GetObjectItem(fj, "input"));
    const char *how = cJSON_GetStringValue(cJSON_GetObjectItem(fj, "filter"));
    cr_assert(rel && how, "fixture lacks input or filter");
    const char *path = hs_test_shared_file(rel);
    if (!path)
        return 0;
    cr_assert_eq(hs_forecast_input_read(path, in), HS_OK, "%s", hs_error_message());
    int64_t k = 0;
    if (!strcmp(how, "weekdays") || !strcmp(how, "business_hours")) {
        int business = !strcmp(how, "business_hours");
        for (int64_t i = 0; i < in->n; i++)
            if (weekday(in->ds[i]) < 5 &&
                (!business || (((in->ds[i] / 3600) % 24 + 24) % 24 >= 9 && ((in->ds[i] / 3600) % 24 + 24) % 24 < 17))) {
                in->ds[k] = in->ds[i];
                in->y[k++] = in->y[i];
            }
    } else if (!strcmp(how, "hourly_sum_weekdays") || !strcmp(how, "hourly_sum_business_hours")) {
        /* per clock hour: the sum of y over hours with all 60 minutes (the input is per minute,
         * sorted), then the weekdays' hours (business hours: those starting 09:00..16:00);
         * written over the front of the arrays */
        int business = !strcmp(how, "hourly_sum_business_hours");
        for (int64_t i = 0; i < in->n;) {
            int64_t h = in->ds[i] / 3600, j = i;
            double s = 0;
            while (j < in->n && in->ds[j] / 3600 == h)
                s += in->y[j++];
            int hour = (int)(((h % 24) + 24) % 24);
            if (j - i == 60 && weekday(h * 3600) < 5 && (!business || (hour >= 9 && hour < 17))) {
                in->ds[k] = h * 3600;
                in->y[k++] = s;
            }
            i = j;
        }
    } else {
        cr_assert_fail("unknown filter %s", how);
    }
    in->n = k;
    double sum = 0;
    for (int64_t i = 0; i < k; i++)
        sum += in->y[i];
    cr_assert_eq(k, (int64_t)jnum(fj, "n_fit_rows"), "rebuilt %lld rows, the generator had %lld", (long long)k,
                 (long long)jnum(fj, "n_fit_rows"));
    cr_assert(fabs(sum - jnum(fj, "y_sum")) <= 1e-12 * fabs(jnum(fj, "y_sum")), "rebuilt y sums to %.17g, not %.17g",
              sum, jnum(fj, "y_sum"));
    const cJSON *first = cJSON_GetObjectItem(fj, "first_rows");
    for (int r = 0; r < cJSON_GetArraySize(first); r++) {
        int64_t t;
        const cJSON *row = cJSON_GetArrayItem(first, r);
        cr_assert_eq(hs_parse_time(cJSON_GetStringValue(cJSON_GetArrayItem(row, 0)), &t), 0);
        cr_assert_eq(in->ds[r], t, "rebuilt row %d at %lld, the generator's at %lld", r, (long long)in->ds[r],
                     (long long)t);
        cr_assert_eq(in->y[r], cJSON_GetArrayItem(row, 1)->valuedouble, "rebuilt row %d", r);
    }
    return 1;
}

typedef struct gap_case {
    cJSON *fj;
    hs_test_rows fr;
    hs_forecast_input in;
    double range;
} gap_case;

static int gap_case_open(const char *name, gap_case *g)
{
    memset(g, 0, sizeof *g);
    char p[512];
    snprintf(p, sizeof p, "%s/%s.json", FIXTURES, name);
    cr_assert_eq(hs_json_read(p, &g->fj), HS_OK, "%s", hs_error_message());
    if (!gap_input(g->fj, &g->in)) {
        cJSON_Delete(g->fj);
        return 0;
    }
    snprintf(p, sizeof p, "%s/%s.csv", FIXTURES, name);
    rows_read(p, &g->fr);
    g->range = jnum(g->fj, "y_max") - jnum(g->fj, "y_min");
    return 1;
}

static void gap_case_close(gap_case *g)
{
    hs_forecast_input_free(&g->in);
    hs_test_rows_free(&g->fr);
    cJSON_Delete(g->fj);
}

/* Worst |a - ref| / range and the RMSE over the fixture's rows, the future (y empty) or the
 * history alone. */
static double worst(const gap_case *g, const double *a, int ca, int cref, int future, double *rmse, int *at)
{
    int cy = rows_col(&g->fr, "y"), cnt = 0;
    double w = 0, ss = 0;
    for (int i = 0; i < g->fr.n; i++) {
        const double *row = g->fr.v + (int64_t)i * g->fr.ncol;
        if (isnan(row[cy]) != future)
            continue;
        double va = a ? a[i] : row[ca], d = fabs(va - row[cref]);
        ss += d * d;
        cnt++;
        if (d / g->range > w) {
            w = d / g->range;
            if (at)
                *at = i;
        }
    }
    if (rmse)
        *rmse = cnt ? sqrt(ss / cnt) : 0;
    return w;
}

/* tol: the largest |yhat - Prophet| / range allowed over the future (the 1% unless a
 * case says why not); weak: whether the design has weakly determined directions (then the fit
 * is Prophet's L-BFGS, and the MAP point must be far off for the case to discriminate). */
static void check_gap_case(const char *name, double tol, int weak)
{
    gap_case g;
    if (!gap_case_open(name, &g))
        cr_skip_test("shared data absent");
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    hs_prophet_model m;
    cr_assert_eq(hs_prophet_fit(&cfg, g.in.ds, g.in.y, g.in.n, &m), HS_OK, "%s", hs_error_message());
    int want_free = (int)jnum(cJSON_GetObjectItem(g.fj, "free_directions"), "count");
    hs_prophet_forecast fc;
    cr_assert_eq(hs_prophet_predict(&m, &cfg, g.fr.ds, g.fr.n, &fc), HS_OK, "%s", hs_error_message());
    int cyh = rows_col(&g.fr, "yhat"), cyn = rows_col(&g.fr, "yhat_newton"), wf = 0, wh = 0;
    double rf, rn, rh;
    double df = worst(&g, fc.yhat, -1, cyh, 1, &rf, &wf), dh = worst(&g, fc.yhat, -1, cyh, 0, &rh, &wh);
    double dn = worst(&g, fc.yhat, -1, cyn, 1, NULL, NULL), ln = worst(&g, NULL, cyn, cyh, 1, &rn, NULL);
    fprintf(stderr,
            "%s: %d free directions; future: max |yhat - Prophet| %.3g%% of the range (row %d), RMSE %.4g; "
            "history %.3g%% (row %d); Prophet's Newton (the exact MAP) is %.3g%% off Prophet (RMSE %.4g), "
            "%.3g%% off hyscale\n",
            name, m.free_directions, 100 * df, wf, rf, 100 * dh, wh, 100 * ln, rn, 100 * dn);
    /* the tolerance: 1% of the range of y at every point, the future's unseen weekdays
     * included */
    cr_assert(df <= tol, "%s: the forecast is off Prophet's by %.3g%% of the range at row %d (allowed %.3g%%)", name,
              100 * df, wf, 100 * tol);
    cr_assert(dh <= 0.01, "%s: the history fit is off Prophet's by %.3g%% of the range at row %d", name, 100 * dh,
              wh);
    cr_assert_eq(m.free_directions, want_free, "%s: %d free directions, Prophet's design has %d", name,
                 m.free_directions, want_free);
    cr_assert_eq(m.weak_directions > 0, weak, "%s: %d weakly determined directions", name, m.weak_directions);
    if (want_free > 0 || weak) {
        /* the test can fail: the exact MAP point (what hyscale gave before, and Prophet's Newton)
         * is far off Prophet's default forecast here, and far off ours */
        cr_assert(ln > 0.10, "%s: Newton within %.3g%% of L-BFGS: the case no longer discriminates", name, 100 * ln);
        cr_assert(dn > 0.10, "%s: hyscale within %.3g%% of the MAP point", name, 100 * dn);
    }
    hs_prophet_forecast_free(&fc);
    hs_prophet_model_free(&m);
    gap_case_close(&g);
}

Test(fixtures, peyton_weekdays, .timeout = 120) { check_gap_case("gap_peyton_weekdays", 0.01, 0); }
/* hourly, weekdays only: the design has full rank (120 phases of the week): nothing is held,
 * and the exact MAP point is Prophet's answer there as on every series without gaps */
Test(fixtures, nasa_hourly_weekdays, .timeout = 120) { check_gap_case("gap_nasa_hourly_weekdays", 0.01, 0); }
/* business hours of business days, hourly: the night and the weekend are weakly determined (and
 * one direction exactly free); the fit is Stan's L-BFGS from Prophet's start, whose steps agree
 * with CmdStan's log to its 6 printed digits for the first 90 iterations, then part by
 * rounding: 0.59% of the range at worst, the exact MAP point 153% */
Test(fixtures, nasa_business_hours, .timeout = 120) { check_gap_case("gap_nasa_business_hours", 0.01, 1); }
/* the same per minute: NOT within the 1%. Prophet's L-BFGS runs 2,600 iterations along
 * directions the data hardly see and stops where rounding led it (its forecast is 10 ranges
 * from the MAP point's); the same algorithm here parts from CmdStan's steps after 90 of them
 * and stops at 3,000, 6.0% of the range off Prophet at night (RMSE 2.4%; with the RSS from the
 * Gram matrix instead of the data, 6.5%). The bound holds that measurement with a little room,
 * so a change that moves it fails here; the exact MAP point is 1,000% off. */
Test(fixtures, nasa_minute_business_hours, .timeout = 120)
{
    check_gap_case("gap_nasa_minute_business_hours", 0.07, 1);
}

/* ---- the command on a business-days file -------------------------------------------------- */

Test(command, forecast_prophet_on_business_days, .timeout = 120)
{
    gap_case g;
    if (!gap_case_open("gap_peyton_weekdays", &g))
        cr_skip_test("shared data absent");
    char *dir = hs_test_scratch("pgap"), in[512], out[512], p[700];
    snprintf(in, sizeof in, "%s/weekdays.csv", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    FILE *f = fopen(in, "w");
    cr_assert(f);
    fputs("ds,y\n", f);
    for (int64_t i = 0; i < g.in.n; i++) {
        char t[32];
        hs_format_time(g.in.ds[i], t);
        fprintf(f, "%.10s,%.17g\n", t, g.in.y[i]);
    }
    fclose(f);
    /* as a new user would: the defaults (30 points ahead in the input's daily rhythm, weekends
     * included; Prophet's interval) */
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "prophet", "--input", in, "--out", out, "--quiet", "--no-plot", NULL), 0,
                 "%s", err);
    free(err);
    snprintf(p, sizeof p, "%s/prophet_next.csv", out);
    FILE *nf = fopen(p, "r");
    cr_assert(nf, "no %s", p);
    char line[256];
    cr_assert(fgets(line, sizeof line, nf));
    cr_assert(!strncmp(line, "ds,y,yhat,", 10), "header %s", line);
    int cyh = rows_col(&g.fr, "yhat"), cy = rows_col(&g.fr, "y"), rows = 0, weekends = 0;
    int first_future = 0;
    while (first_future < g.fr.n && !isnan(g.fr.v[(int64_t)first_future * g.fr.ncol + cy]))
        first_future++;
    double w = 0;
    while (fgets(line, sizeof line, nf)) {
        char *fields[4], *q = line;
        for (int c = 0; c < 4; c++)
            fields[c] = strsep(&q, ",");
        cr_assert(fields[2], "short line %s", line);
        int64_t t;
        cr_assert_eq(hs_parse_time(fields[0], &t), 0, "bad ds %s", fields[0]);
        int r = first_future + rows;
        cr_assert(r < g.fr.n, "more forecast rows than Prophet's future");
        cr_assert_eq(t, g.fr.ds[r], "forecast row %d at %lld, Prophet's at %lld", rows, (long long)t,
                     (long long)g.fr.ds[r]);
        w = fmax(w, fabs(strtod(fields[2], NULL) - g.fr.v[(int64_t)r * g.fr.ncol + cyh]) / g.range);
        weekends += weekday(t) >= 5;
        rows++;
    }
    fclose(nf);
    cr_assert_eq(rows, (int)jnum(g.fj, "n_future"), "%d forecast rows", rows);
    cr_assert(weekends >= 8, "only %d weekend days ahead", weekends);
    fprintf(stderr, "command on business days: %d days ahead (%d weekend days), max |yhat - Prophet| %.3g%% of the "
                    "range\n",
            rows, weekends, 100 * w);
    /* 1% of the range, as the fit; the file's yhat is a float (7 digits), far inside it */
    cr_assert(w <= 0.01, "the command's forecast is off Prophet's by %.3g%% of the range", 100 * w);
    gap_case_close(&g);
}
