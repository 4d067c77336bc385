/* test_hybrid.c: the Hybrid and the forecast report on hand-made forecast files: the average,
 * the weight chosen on the validation span, both holdout scores, and the baselines. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
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
