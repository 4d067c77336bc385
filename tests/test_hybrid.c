/* test_hybrid.c: the Hybrid and the forecast report on hand-made forecast files: the average,
 * the weight chosen on the validation span, both holdout scores, and the baselines. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/hybrid.h"
#include "hyscale/manifest.h"

/* n points, the last h held out; actual y = 10 + i; Prophet exact on the validation span and
 * off by +4 elsewhere, LSTM one step off by -2 everywhere, LSTM recursive off by -6. */
static void write_inputs(const char *dir, int n, int h)
{
    char p[600];
    FILE *pf, *lf, *lr, *pn, *ln;
    snprintf(p, sizeof p, "%s/prophet_full.csv", dir);
    pf = fopen(p, "w");
    snprintf(p, sizeof p, "%s/lstm_full.csv", dir);
    lf = fopen(p, "w");
    snprintf(p, sizeof p, "%s/lstm_recursive.csv", dir);
    lr = fopen(p, "w");
    snprintf(p, sizeof p, "%s/prophet_next.csv", dir);
    pn = fopen(p, "w");
    snprintf(p, sizeof p, "%s/lstm_next.csv", dir);
    ln = fopen(p, "w");
    FILE *all[5] = {pf, lf, lr, pn, ln};
    for (int k = 0; k < 5; k++)
        fputs("ds,y,yhat,yhat_lower,yhat_upper\n", all[k]);
    int ntr = n - h, v0 = ntr - ntr / 10;
    for (int i = 0; i < n; i++) {
        double y = 10 + i;
        double pv = (i >= v0 && i < ntr) ? y : y + 4;
        fprintf(pf, "2020-01-01 %02d:%02d:00,%g,%g,,\n", i / 60, i % 60, y, pv);
        fprintf(lf, "2020-01-01 %02d:%02d:00,%g,%g,,\n", i / 60, i % 60, y, y - 2);
        if (i >= ntr)
            fprintf(lr, "2020-01-01 %02d:%02d:00,%g,%g,,\n", i / 60, i % 60, y, y - 6);
    }
    for (int i = 0; i < 5; i++) {
        int t = n + i;
        fprintf(pn, "2020-01-01 %02d:%02d:00,,%d,,\n", t / 60, t % 60, 100);
        fprintf(ln, "2020-01-01 %02d:%02d:00,,%d,,\n", t / 60, t % 60, 200);
    }
    for (int k = 0; k < 5; k++)
        fclose(all[k]);
    snprintf(p, sizeof p, "%s/prophet_metrics.json", dir);
    char j[256];
    snprintf(j, sizeof j, "{\"holdout\": %d, \"step_seconds\": 60, \"mae\": 4, \"rmse\": 4}", h);
    hs_test_write_file(p, j);
    snprintf(p, sizeof p, "%s/lstm_metrics.json", dir);
    snprintf(j, sizeof j,
             "{\"holdout\": %d, \"one_step\": {\"mae\": 2, \"rmse\": 2}, \"recursive\": {\"mae\": 6, \"rmse\": 6}}", h);
    hs_test_write_file(p, j);
    snprintf(p, sizeof p, "%s/lstm_forecast8.csv", dir);
    FILE *f = fopen(p, "w");
    fputs("minute,f1,f2,f3,f4,f5,f6,f7,f8\n", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%d,1,1,1,1,1,1,1,1\n", i);
    fclose(f);
}

Test(hybrid, average_weight_scores_and_report)
{
    char *dir = hs_test_scratch("hyb");
    int n = 200, h = 20;
    write_inputs(dir, n, h);
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "hybrid", "--out", dir, "--report", "--quiet", NULL), 0, "%s", err);
    free(err);
    char p[700];
    snprintf(p, sizeof p, "%s/hybrid_metrics.json", dir);
    cJSON *j;
    cr_assert_eq(hs_json_read(p, &j), HS_OK);
    const cJSON *a = cJSON_GetObjectItem(j, "average"), *w = cJSON_GetObjectItem(j, "weighted");
    /* Prophet is exact on the validation span: the blend puts all its weight there */
    cr_assert_float_eq(cJSON_GetObjectItem(w, "prophet_weight")->valuedouble, 1.0, 1e-12);
    /* holdout: Prophet +4, LSTM one step -2, recursive -6: averages +1 and -1 */
    cr_assert_float_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "one_step"), "mae")->valuedouble, 1.0, 1e-9);
    cr_assert_float_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "recursive"), "mae")->valuedouble, 1.0, 1e-9);
    cr_assert_float_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(w, "one_step"), "mae")->valuedouble, 4.0, 1e-9);
    cJSON_Delete(j);
    /* the next horizon: the average of 100 and 200 */
    snprintf(p, sizeof p, "%s/hybrid_next.csv", dir);
    char *t = hs_test_read_file(p, NULL);
    cr_assert(strstr(t, ",,150,,"), "%s", t);
    free(t);
    /* F8: (Prophet's forecast of t+k + 1) / 2; at minute 0, Prophet's value of point 1 is 15 */
    snprintf(p, sizeof p, "%s/hybrid_forecast8.csv", dir);
    t = hs_test_read_file(p, NULL);
    cr_assert(strstr(t, "\n0,8,8.5,9,"), "%s", t);
    /* past Prophet's next rows (200 + 5), the LSTM's forecast alone */
    cr_assert(strstr(t, "\n199,50.5,50.5,50.5,50.5,50.5,1,1,1\n"), "%s", t);
    free(t);
    /* the blend's next horizon: all weight on Prophet */
    snprintf(p, sizeof p, "%s/hybrid_weighted_next.csv", dir);
    t = hs_test_read_file(p, NULL);
    cr_assert(strstr(t, ",,100,,"), "%s", t);
    free(t);
    /* the report: every model, and persistence (previous minute: error 1 on a ramp) */
    snprintf(p, sizeof p, "%s/forecast_report.md", dir);
    t = hs_test_read_file(p, NULL);
    cr_assert(strstr(t, "| persistence (previous point) | one step ahead | 1.00 | 1.00 |"), "%s", t);
    cr_assert(strstr(t, "| LSTM | recursive from the end of training | 6.00 | 6.00 |"), "%s", t);
    cr_assert(strstr(t, "| Hybrid (average) | LSTM one step | 1.00 | 1.00 |"), "%s", t);
    free(t);
}

Test(hybrid, refuses_mismatched_inputs)
{
    char *dir = hs_test_scratch("hybbad");
    write_inputs(dir, 100, 10);
    char p[600];
    snprintf(p, sizeof p, "%s/lstm_metrics.json", dir);
    hs_test_write_file(p, "{\"holdout\": 12}");
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "hybrid", "--out", dir, NULL), 1);
    cr_assert(strstr(err, "disagree"), "%s", err);
    free(err);
    snprintf(p, sizeof p, "%s/hybrid_full.csv", dir);
    cr_assert_null(hs_test_read_file(p, NULL), "a failed Hybrid left a file behind");
}

Test(hybrid, bad_forecast8_row_writes_nothing)
{
    char *dir = hs_test_scratch("hybf8");
    write_inputs(dir, 100, 10);
    char p[600];
    snprintf(p, sizeof p, "%s/lstm_forecast8.csv", dir);
    hs_test_write_file(p, "minute,f1,f2,f3,f4,f5,f6,f7,f8\n0,1,1,1,1,1,1,1,1\n1,1,1\n");
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "hybrid", "--out", dir, NULL), 1);
    cr_assert(strstr(err, "lstm_forecast8.csv:3: column 4 (f3): wrong column count: expected 9 columns, found 3"), "%s", err);
    free(err);
    const char *names[3] = {"hybrid_full.csv", "hybrid_metrics.json", "hybrid_forecast8.csv"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        cr_assert_null(hs_test_read_file(p, NULL), "a failed Hybrid left %s behind", names[i]);
    }
}

/* The per-lead weights between the leads: linear in log(lead), flat outside the scored ones,
 * 0.5 (the plain average) with none scored. */
Test(hybrid, lead_weight_interpolates_in_log_lead)
{
    double w[6] = {0.0, 0.2, NAN, 1.0, NAN, NAN};
    cr_expect_float_eq(hs_hybrid_lead_weight(w, 1), 0.0, 1e-12);
    cr_expect_float_eq(hs_hybrid_lead_weight(w, 0.5), 0.0, 1e-12);
    cr_expect_float_eq(hs_hybrid_lead_weight(w, 5), 0.2, 1e-12);
    double f = (log(15.0) - log(5.0)) / (log(60.0) - log(5.0));
    cr_expect_float_eq(hs_hybrid_lead_weight(w, 15), 0.2 + f * 0.8, 1e-12);
    cr_expect_float_eq(hs_hybrid_lead_weight(w, 60), 1.0, 1e-12);
    cr_expect_float_eq(hs_hybrid_lead_weight(w, 1440), 1.0, 1e-12, "after the last scored lead, its weight");
    double none[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    cr_expect_float_eq(hs_hybrid_lead_weight(none, 30), 0.5, 1e-12);
    /* the correction interpolates the same way, with no share at all where nothing was scored */
    cr_expect_float_eq(hs_hybrid_lead_correction(w, 15), 0.2 + f * 0.8, 1e-12);
    cr_expect_float_eq(hs_hybrid_lead_correction(none, 30), 0.0, 1e-12);
    cr_expect_float_eq(hs_hybrid_lead_correction(NULL, 30), 0.0, 1e-12);
    double a[6] = {0.4, NAN, NAN, NAN, NAN, NAN};
    cr_expect_float_eq(hs_hybrid_lead_forecast(w, a, 1, 10, 20, 5), 0.0 * 10 + 1.0 * 20 + 0.4 * 5, 1e-12);
    cr_expect_float_eq(hs_hybrid_lead_forecast(w, NULL, 5, 10, 20, 5), 0.2 * 10 + 0.8 * 20, 1e-12);
}

/* Validation files where the LSTM is exact at lead 1, Prophet at 5 minutes and their average at
 * 15: the weights 0, 1 and 0.5; the other leads have no rows (NAN). */
static void write_validation(const char *dir)
{
    char p[600];
    snprintf(p, sizeof p, "%s/prophet_validation.csv", dir);
    FILE *pv = fopen(p, "w");
    fputs("ds,y,yhat,yhat_lower,yhat_upper\n", pv);
    for (int i = 0; i < 120; i++)
        fprintf(pv, "2020-01-02 %02d:%02d:00,,%d,,\n", i / 60, i % 60, 100 + i);
    fclose(pv);
    snprintf(p, sizeof p, "%s/lstm_validation_by_lead.csv", dir);
    FILE *lv = fopen(p, "w");
    fputs("cutoff,ds,y,yhat,yhat_lower,yhat_upper\n", lv);
    for (int c = 0; c < 90; c += 7) {
        int t1 = c + 1, t5 = c + 5, t15 = c + 15;
        fprintf(lv, "2020-01-02 %02d:%02d:00,2020-01-02 %02d:%02d:00,%d,%d,,\n", c / 60, c % 60, t1 / 60, t1 % 60,
                100 + t1 + 7, 100 + t1 + 7); /* Prophet 7 low, the LSTM exact */
        fprintf(lv, "2020-01-02 %02d:%02d:00,2020-01-02 %02d:%02d:00,%d,%d,,\n", c / 60, c % 60, t5 / 60, t5 % 60,
                100 + t5, 100 + t5 - 9); /* Prophet exact */
        fprintf(lv, "2020-01-02 %02d:%02d:00,2020-01-02 %02d:%02d:00,%d,%d,,\n", c / 60, c % 60, t15 / 60,
                t15 % 60, 100 + t15 + 3, 100 + t15 + 6); /* the average exact */
    }
    fclose(lv);
}

Test(hybrid, lead_weights_chosen_on_validation)
{
    char *dir = hs_test_scratch("hyblead");
    hs_hybrid_lead_fit fit;
    cr_assert_eq(hs_hybrid_lead_choose(dir, 60, &fit), HS_OK);
    cr_expect_eq(fit.found, 0, "no validation files: not found, the plain average");
    cr_expect(isnan(fit.w[0]));
    write_validation(dir);
    cr_assert_eq(hs_hybrid_lead_choose(dir, 60, &fit), HS_OK);
    cr_expect_eq(fit.found, 1);
    cr_expect_float_eq(fit.best[0], 0.0, 1e-12);
    cr_expect_float_eq(fit.best[1], 1.0, 1e-12);
    cr_expect_float_eq(fit.best[2], 0.5, 1e-12);
    /* half way to the plain average */
    cr_expect_float_eq(fit.w[0], 0.25, 1e-12);
    cr_expect_float_eq(fit.w[1], 0.75, 1e-12);
    cr_expect_float_eq(fit.w[2], 0.5, 1e-12);
    cr_expect_float_eq(fit.mae_hybrid[0], 0.25 * 7.0, 1e-9);
    cr_expect(isnan(fit.w[3]) && isnan(fit.w[5]), "a lead without rows has no weight");
    cr_expect_eq(fit.rows[0], 13);
    cr_expect_float_eq(fit.mae_prophet[0], 7.0, 1e-9);
    cr_expect_float_eq(fit.mae_lstm[1], 9.0, 1e-9);
    cr_expect_float_eq(fit.mae_hybrid[2], 0.0, 1e-9);
    /* Prophet's errors at the cutoffs are unknown (no y in prophet_validation.csv): no correction */
    cr_expect_float_eq(fit.a[0], 0.0, 1e-12);
    cr_expect(isnan(fit.a[3]));
}

/* Validation at lead 1 from 12 cutoffs where y is Prophet plus 0.6 of Prophet's error at the
 * cutoff (+4 or -4, as many of each) and the LSTM is 50 above Prophet: the best weight is
 * Prophet's alone (w = 0.75 halved), the blend then misses 0.6 e - 12.5. */
static void write_validation_with_errors(const char *dir)
{
    char p[600];
    snprintf(p, sizeof p, "%s/prophet_validation.csv", dir);
    FILE *pv = fopen(p, "w");
    fputs("ds,y,yhat,yhat_lower,yhat_upper\n", pv);
    for (int i = 0; i < 120; i++) /* Prophet's error at minute i: +4 or -4 */
        fprintf(pv, "2020-01-02 %02d:%02d:00,%d,%d,,\n", i / 60, i % 60, 100 + i + (i % 2 ? 4 : -4), 100 + i);
    fclose(pv);
    snprintf(p, sizeof p, "%s/lstm_validation_by_lead.csv", dir);
    FILE *lv = fopen(p, "w");
    fputs("cutoff,ds,y,yhat,yhat_lower,yhat_upper\n", lv);
    for (int c = 0; c < 84; c += 7) {
        int t = c + 1;
        double e = c % 2 ? 4 : -4, y = 100 + t + 0.6 * e;
        fprintf(lv, "2020-01-02 %02d:%02d:00,2020-01-02 %02d:%02d:00,%.10g,%d,,\n", c / 60, c % 60, t / 60, t % 60, y,
                150 + t);
    }
    fclose(lv);
}

/* The correction's share is half the least-squares 0.6 (the errors sum to 0), and the Hybrid's
 * validation MAE what the halved share leaves: the mean of |0.3 e - 12.5|, 12.5. */
Test(hybrid, lead_correction_chosen_on_validation)
{
    char *dir = hs_test_scratch("hybcorr");
    write_validation_with_errors(dir);
    hs_hybrid_lead_fit fit;
    cr_assert_eq(hs_hybrid_lead_choose(dir, 60, &fit), HS_OK, "%s", hs_error_message());
    cr_assert_eq(fit.rows[0], 12);
    cr_expect_float_eq(fit.best[0], 1.0, 1e-12);
    cr_expect_float_eq(fit.w[0], 0.75, 1e-12);
    cr_expect_float_eq(fit.a[0], 0.3, 1e-9);
    cr_expect_float_eq(fit.mae_prophet[0], 0.6 * 4, 1e-9);
    cr_expect_float_eq(fit.mae_lstm[0], 50, 1e-9);
    cr_expect_float_eq(fit.mae_hybrid[0], 12.5, 1e-9);
    cJSON *j = hs_hybrid_lead_json(&fit);
    cJSON *rw = cJSON_GetObjectItemCaseSensitive(j, "residual_weight");
    cr_assert(cJSON_IsArray(rw) && cJSON_GetArraySize(rw) == 6);
    cr_expect_float_eq(cJSON_GetArrayItem(rw, 0)->valuedouble, 0.3, 1e-9);
    cr_expect(cJSON_IsNull(cJSON_GetArrayItem(rw, 1)));
    cJSON_Delete(j);
}

/* The stage with validation files: the per-lead Hybrid is the default, recorded in
 * hybrid_metrics.json, feeds hybrid_forecast8.csv and writes hybrid_lead_next.csv. */
Test(hybrid, per_lead_is_the_default_with_validation)
{
    char *dir = hs_test_scratch("hybpl");
    write_inputs(dir, 200, 20);
    write_validation(dir);
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "hybrid", "--out", dir, "--report", "--quiet", NULL), 0, "%s", err);
    free(err);
    char p[700];
    snprintf(p, sizeof p, "%s/hybrid_metrics.json", dir);
    cJSON *j;
    cr_assert_eq(hs_json_read(p, &j), HS_OK);
    cr_expect_str_eq(cJSON_GetObjectItem(j, "default")->valuestring, "per_lead");
    cJSON_Delete(j);
    double w[6], a[6];
    int found;
    cr_assert_eq(hs_hybrid_lead_read(p, w, a, &found), HS_OK);
    cr_expect(found && w[0] == 0.25 && w[1] == 0.75 && w[2] == 0.5 && isnan(w[3]));
    cr_expect(a[0] == 0 && isnan(a[3]), "no y in the validation file: no correction");
    /* the next 5 minutes: Prophet 100, LSTM 200; lead 1 0.25 x 100 + 0.75 x 200, lead 5
     * 0.75 x 100 + 0.25 x 200 */
    snprintf(p, sizeof p, "%s/hybrid_lead_next.csv", dir);
    char *t = hs_test_read_file(p, NULL);
    cr_assert(t && strstr(t, "03:20:00,,175,,\n") && strstr(t, "03:24:00,,125,,\n"), "%s", t);
    free(t);
    /* F8 at minute 0 (the LSTM's 1 everywhere; Prophet's point k is 14 + k): lead 1
     * 0.25 x 15 + 0.75 x 1 = 4.5, lead 5 0.75 x 19 + 0.25 x 1 = 14.5 */
    snprintf(p, sizeof p, "%s/hybrid_forecast8.csv", dir);
    t = hs_test_read_file(p, NULL);
    char *row = strstr(t, "\n0,4.5,");
    cr_assert(row, "%s", t);
    int commas = 0;
    const char *q = row + 1;
    while (*q && commas < 5)
        commas += *q++ == ',';
    cr_assert(strncmp(q, "14.5,", 5) == 0, "f5 should be 14.5: %.60s", row);
    free(t);
    snprintf(p, sizeof p, "%s/forecast_report.md", dir);
    t = hs_test_read_file(p, NULL);
    cr_assert(strstr(t, "| Hybrid (per lead, the default) | from the end of training |"), "%s", t);
    free(t);
}

/* The file dir/name holds the text want. */
static void assert_file_has(const char *dir, const char *name, const char *want)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    char *t = hs_test_read_file(p, NULL);
    cr_assert(t && strstr(t, want), "%s: no '%s' in\n%s", name, want, t ? t : "(unreadable)");
    free(t);
}

/* The stage carries the correction into its outputs: Prophet's error at the last known point
 * (prophet_full.csv: -4 outside the validation span) times a = 0.3 (every lead: one bucket
 * scored) on top of the blend with w = 0.75. */
Test(hybrid, lead_correction_reaches_the_outputs)
{
    char *dir = hs_test_scratch("hybcorrout");
    write_inputs(dir, 200, 20);
    write_validation_with_errors(dir);
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "hybrid", "--out", dir, "--quiet", NULL), 0, "%s", err);
    free(err);
    /* the next minutes: 0.75 x 100 + 0.25 x 200 + 0.3 x (-4) */
    assert_file_has(dir, "hybrid_lead_next.csv", "03:20:00,,123.8");
    assert_file_has(dir, "hybrid_lead_next.csv", "03:24:00,,123.8");
    /* the holdout from the end of training (Prophet 194, the LSTM 184 at its first point): Prophet
     * is exact at the last training point (inside the validation span), so no correction */
    assert_file_has(dir, "hybrid_lead_recursive.csv", "03:00:00,190,191.5");
    /* F8 at minute 0: 0.75 x 15 + 0.25 x 1 + 0.3 x (-4) */
    assert_file_has(dir, "hybrid_forecast8.csv", "\n0,10.3");
}

/* The next day's correction reads Prophet at the last point from prophet_model.json: one that
 * does not load is an error naming it, and the stage writes nothing. */
Test(hybrid, an_unreadable_prophet_model_is_an_error)
{
    char *dir = hs_test_scratch("hybbadmodel");
    write_inputs(dir, 200, 20);
    write_validation_with_errors(dir);
    char p[700];
    snprintf(p, sizeof p, "%s/prophet_model.json", dir);
    hs_test_write_file(p, "{\"format\": ");
    char *err;
    cr_expect_neq(hs_test_run(&err, "forecast", "hybrid", "--out", dir, "--quiet", NULL), 0);
    cr_expect(strstr(err, "prophet_model.json"), "%s", err);
    free(err);
    cr_expect(!hs_test_nonempty(dir, "hybrid_metrics.json"));
    cr_expect(!hs_test_nonempty(dir, "hybrid_lead_next.csv"));
}

Test(hybrid, malformed_lead_weights_are_refused)
{
    char *dir = hs_test_scratch("hybplbad");
    char p[700];
    snprintf(p, sizeof p, "%s/hybrid_metrics.json", dir);
    double w[6], a[6];
    int found = 1;
    hs_test_write_file(p, "{\"average\": {}}");
    cr_expect_eq(hs_hybrid_lead_read(p, w, a, &found), HS_OK);
    cr_expect_eq(found, 0, "no per_lead: the plain average");
    const char *bad[3] = {"{\"per_lead\": {\"prophet_weight\": [0, 0, 0, 0, 0]}}",
                          "{\"per_lead\": {\"prophet_weight\": [0, 0, 1.5, 0, 0, 0]}}",
                          "{\"per_lead\": {\"prophet_weight\": [0, \"x\", 0, 0, 0, 0]}}"};
    for (int i = 0; i < 3; i++) {
        hs_test_write_file(p, bad[i]);
        cr_expect_eq(hs_hybrid_lead_read(p, w, a, &found), HS_ERR_INPUT, "%s", bad[i]);
        cr_expect(strstr(hs_error_message(), "per_lead.prophet_weight"), "%s", hs_error_message());
    }
    /* the correction: optional (a folder from before it), else six shares in [-1, 1] or nulls */
    hs_test_write_file(p, "{\"per_lead\": {\"prophet_weight\": [0, 0, 0, 0, 0, 0]}}");
    cr_expect_eq(hs_hybrid_lead_read(p, w, a, &found), HS_OK);
    cr_expect(found && isnan(a[0]) && isnan(a[5]));
    hs_test_write_file(p, "{\"per_lead\": {\"prophet_weight\": [0, 0, 0, 0, 0, 0], "
                          "\"residual_weight\": [0.2, -0.1, null, 0, 0, 0]}}");
    cr_expect_eq(hs_hybrid_lead_read(p, w, a, &found), HS_OK);
    cr_expect(found && a[0] == 0.2 && a[1] == -0.1 && isnan(a[2]));
    const char *bada[3] = {"[0, 0, 0, 0, 0]", "[0, 0, 1.5, 0, 0, 0]", "[0, true, 0, 0, 0, 0]"};
    for (int i = 0; i < 3; i++) {
        char text[200];
        snprintf(text, sizeof text, "{\"per_lead\": {\"prophet_weight\": [0, 0, 0, 0, 0, 0], \"residual_weight\": %s}}",
                 bada[i]);
        hs_test_write_file(p, text);
        cr_expect_eq(hs_hybrid_lead_read(p, w, a, &found), HS_ERR_INPUT, "%s", bada[i]);
        cr_expect(strstr(hs_error_message(), "per_lead.residual_weight"), "%s", hs_error_message());
    }
}

/* A validation file that does not read is an error naming it, not a silent plain average. */
Test(hybrid, unreadable_validation_is_an_error)
{
    char *dir = hs_test_scratch("hybvalbad");
    write_validation(dir);
    char p[700];
    snprintf(p, sizeof p, "%s/lstm_validation_by_lead.csv", dir);
    hs_test_write_file(p, "cutoff,ds,y,yhat,yhat_lower,yhat_upper\n2020-01-02 00:00:00,2020-01-02 00:01:00,1,x,,\n");
    hs_hybrid_lead_fit fit;
    cr_expect_eq(hs_hybrid_lead_choose(dir, 60, &fit), HS_ERR_INPUT);
    cr_expect(strstr(hs_error_message(), "lstm_validation_by_lead.csv"), "%s", hs_error_message());
    cr_expect_eq(fit.found, 0);
}
