/* test_validation.c: the validation span's forecasts that the per-lead Hybrid chooses its
 * weights on (hybrid.h): Prophet's is out of sample (the same as a fit on the points before the
 * span), the LSTM's come from cutoffs inside the span and land inside it; the LSTM stage's
 * day-ahead defaults as a run records them; the calendar flags' conflict. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/lead.h"
#include "hyscale/manifest.h"

/* The first `rows` data rows of a CSV (and its header) into out. */
static void head_rows(const char *in, const char *out, int rows)
{
    FILE *f = fopen(in, "r"), *g = fopen(out, "w");
    cr_assert(f && g);
    char line[512];
    for (int i = 0; i <= rows && fgets(line, sizeof line, f); i++)
        fputs(line, g);
    fclose(f);
    fclose(g);
}

/* Line k (0: the header) of a file, without its newline, into buf. */
static int line_at(const char *path, int k, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int i = 0, ok = 0;
    while (fgets(buf, (int)cap, f))
        if (i++ == k) {
            buf[strcspn(buf, "\n")] = 0;
            ok = 1;
            break;
        }
    fclose(f);
    return ok;
}

static char *series_3days(const char *tag)
{
    char *dir = hs_test_scratch(tag);
    char *series = hs_test_keep(hs_test_make_series(dir, 3, 20, 0));
    cr_assert(series);
    return series;
}

Test(validation, prophets_is_a_fit_on_the_points_before_the_span)
{
    char *series = series_3days("val_prophet");
    char *d1 = hs_test_scratch("val_p1"), *d2 = hs_test_scratch("val_p2"), *err;
    int n = 4320, H = 1440, ntr = n - H, v0 = (int)hs_lead_validation_start(ntr);
    cr_assert_eq(hs_test_run(&err, "forecast", "prophet", "--input", series, "--out", d1, "--holdout", "1440",
                             "--horizon", "5", "--uncertainty-samples", "0", "--no-plot", "--quiet", NULL),
                 0, "%s", err);
    free(err);
    /* the same series cut at the end of training, its validation span held out */
    char cut[700], hold[32];
    snprintf(cut, sizeof cut, "%s/series.csv", d2);
    head_rows(series, cut, ntr);
    snprintf(hold, sizeof hold, "%d", ntr - v0);
    cr_assert_eq(hs_test_run(&err, "forecast", "prophet", "--input", cut, "--out", d2, "--holdout", hold,
                             "--horizon", "5", "--uncertainty-samples", "0", "--no-plot", "--quiet", NULL),
                 0, "%s", err);
    free(err);
    char pv[700], pf[700], a[256], b[256];
    snprintf(pv, sizeof pv, "%s/prophet_validation.csv", d1);
    snprintf(pf, sizeof pf, "%s/prophet_full.csv", d2);
    cr_assert_eq(hs_test_count_lines(pv), 1 + ntr - v0);
    for (int k = 1; k <= ntr - v0; k++) {
        cr_assert(line_at(pv, k, a, sizeof a) && line_at(pf, v0 + k, b, sizeof b), "row %d", k);
        cr_assert_str_eq(a, b, "validation row %d: the forecast of a fit on the %d points before the span", k, v0);
    }
}

Test(validation, lstms_cutoffs_and_forecasts_lie_in_the_span)
{
    char *series = series_3days("val_lstm");
    char *d = hs_test_scratch("val_l"), *err;
    int ntr = 4320 - 1440, v0 = (int)hs_lead_validation_start(ntr);
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", series, "--out", d, "--holdout", "1440",
                             "--epochs", "1", "--no-plot", "--quiet", NULL),
                 0, "%s", err);
    free(err);
    /* the times of the span's first cutoff (row v0 - 1) and of the holdout's first point */
    char first[256], end[256], p[700], row[256];
    cr_assert(line_at(series, v0, first, sizeof first) && line_at(series, ntr + 1, end, sizeof end));
    const char *t_first = strchr(first, ',') + 1, *t_end = strchr(end, ',') + 1; /* minute,timestamp,... */
    snprintf(p, sizeof p, "%s/lstm_validation_by_lead.csv", d);
    int rows = hs_test_count_lines(p) - 1;
    cr_assert(rows > 100, "%d rows", rows);
    for (int k = 1; k <= rows; k++) {
        cr_assert(line_at(p, k, row, sizeof row));
        char *ds = strchr(row, ',') + 1;
        cr_assert(strncmp(row, t_first, 19) >= 0, "cutoff before the span: %s (span from %.19s)", row, t_first);
        cr_assert(strncmp(ds, t_end, 19) < 0, "a forecast past the training span: %s (holdout from %.19s)", row,
                  t_end);
    }
    /* three days of minutes: the day-ahead defaults, recorded as chosen */
    snprintf(p, sizeof p, "%s/lstm_metrics.json", d);
    cJSON *j;
    cr_assert_eq(hs_json_read(p, &j), HS_OK);
    const cJSON *cf = cJSON_GetObjectItem(j, "config");
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(cf, "calendar")));
    cr_expect_eq(cJSON_GetObjectItem(cf, "outputs")->valueint, 60);
    cr_expect_str_eq(cJSON_GetObjectItem(cf, "outputs_requested")->valuestring, "auto");
    cJSON_Delete(j);
}

Test(validation, calendar_flags_conflict)
{
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", "x.csv", "--out", "/tmp", "--calendar",
                             "--no-calendar", NULL),
                 2);
    cr_expect(strstr(err, "--calendar and --no-calendar"), "%s", err);
    free(err);
    cr_assert_eq(hs_test_run(&err, "backtest", "--input", "x.csv", "--out", "/tmp", "--model", "lstm",
                             "--calendar", "--no-calendar", NULL),
                 2);
    cr_expect(strstr(err, "--calendar and --no-calendar"), "%s", err);
    free(err);
}
