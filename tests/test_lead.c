/* test_lead.c: the scores by lead time: the leads and rolling cutoffs (lead.h), the report's
 * table on hand-made forecast files against sums written out here, and the LSTM stage's
 * lstm_by_lead.csv against its own recursive forecast from the end of training. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/backtest_csv.h"
#include "hyscale/forecast_rows.h"
#include "hyscale/hybrid.h"
#include "hyscale/lead.h"
#include "hyscale/series.h"

Test(lead, leads_and_cutoffs)
{
    int64_t want[HS_LEADS] = {1, 5, 15, 60, 240, 1440};
    for (int i = 0; i < HS_LEADS; i++) {
        cr_expect_eq(hs_lead_points(i, 60), want[i]);
        cr_expect_eq(hs_lead_points(i, 300), want[i] % 5 ? 0 : want[i] / 5);
    }
    cr_expect_eq(hs_lead_points(5, 86400), 1); /* a daily series keeps the day alone */
    cr_expect_eq(hs_lead_points(4, 86400), 0);
    cr_expect_eq(hs_lead_stride(60), 7);
    cr_expect_eq(hs_lead_stride(86400), 1);
    cr_expect_eq(hs_lead_stride(20), 21);
    /* a one-day holdout of minutes: 206 cutoffs from n_train - 1, 7 minutes apart */
    int64_t cut[1440];
    int64_t nc = hs_lead_cutoffs(20160 - 1440, 20160, 60, cut);
    cr_assert_eq(nc, 206);
    cr_expect_eq(cut[0], 20160 - 1441);
    cr_expect_eq(cut[205], 20160 - 1441 + 205 * 7);
    cr_expect_eq(hs_lead_sample_last(20159, 20160, 60), -1, "no point after the last");
    cr_expect_eq(hs_lead_sample_last(cut[1], 20160, 60), HS_LEAD_SAMPLES - 2, "7 minutes short of a day: 1,380");
    /* the sampled leads: increasing, each in its bucket, the buckets' ends among them */
    int ends = 0;
    for (int j = 0; j < HS_LEAD_SAMPLES; j++) {
        int64_t m = hs_lead_sample_minutes(j);
        int b = hs_lead_sample_bucket(j);
        cr_assert(j == 0 || m > hs_lead_sample_minutes(j - 1));
        cr_assert(b >= 0 && m <= hs_lead_minutes(b) && m >= hs_lead_bucket_first_minutes(b), "%lld in %d", (long long)m,
                  b);
        ends += m == hs_lead_minutes(b);
        cr_expect_eq(hs_lead_sample_of(hs_lead_sample_points(j, 60), 60), j);
    }
    cr_expect_eq(ends, HS_LEADS);
    cr_expect_eq(hs_lead_sample_minutes(HS_LEAD_SAMPLES - 1), 1440);
    cr_expect_eq(hs_lead_sample_minutes(15), 20);
    cr_expect_eq(hs_lead_sample_minutes(24), 75);
    cr_expect_eq(hs_lead_sample_minutes(36), 300);
    cr_expect_eq(hs_lead_sample_of(16, 60), -1, "16 minutes is no sampled lead");
    cr_expect_eq(hs_lead_sample_of(4, 300), hs_lead_sample_of(20, 60), "4 points of 5 minutes: 20 minutes");
    cr_expect_eq(hs_lead_sample_points(1, 300), 0, "2 minutes is no whole number of 5-minute points");
    cr_expect_eq(hs_lead_bucket_first_minutes(0), 1);
    cr_expect_eq(hs_lead_bucket_first_minutes(5), 241);
    cr_expect_eq(hs_lead_sample_last(cut[0], 20160, 60), HS_LEAD_SAMPLES - 1);
    cr_expect_eq(hs_lead_sample_last(20160 - 3, 20160, 60), 1, "two points left: lead 2 minutes");
    cr_expect_eq(hs_lead_cutoffs(0, 10, 60, NULL), 0);
    cr_expect_eq(hs_lead_cutoffs(10, 10, 60, NULL), 0);
}

/* y[i] of the hand-made series: a pattern of period 7 over a slow rise. */
static double y_at(int64_t i) { return 20.0 + (double)(i % 7) * 3.0 + (double)i / 100.0; }

/* n minutes, the last h held out: prophet_full.csv (Prophet off by +2 everywhere),
 * prophet_metrics.json, and lstm_by_lead.csv from every cutoff of lead.h at every sampled lead
 * (the LSTM off by -3). */
static void write_lead_inputs(const char *dir, int64_t n, int64_t h)
{
    char p[600], ts[24], tc[24];
    snprintf(p, sizeof p, "%s/prophet_full.csv", dir);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    fputs("ds,y,yhat,yhat_lower,yhat_upper\n", f);
    int64_t t0 = 1577836800; /* 2020-01-01 */
    for (int64_t i = 0; i < n; i++) {
        hs_format_time(t0 + 60 * i, ts);
        fprintf(f, "%s,%.10g,%.10g,,\n", ts, y_at(i), y_at(i) + 2);
    }
    fclose(f);
    snprintf(p, sizeof p, "%s/prophet_metrics.json", dir);
    char js[128];
    snprintf(js, sizeof js, "{\"holdout\": %lld, \"step_seconds\": 60, \"mae\": 2, \"rmse\": 2}", (long long)h);
    hs_test_write_file(p, js);
    snprintf(p, sizeof p, "%s/lstm_by_lead.csv", dir);
    f = fopen(p, "w");
    fputs("cutoff,ds,y,yhat,yhat_lower,yhat_upper\n", f);
    int64_t cut[4000];
    int64_t nc = hs_lead_cutoffs(n - h, n, 60, cut);
    for (int64_t k = 0; k < nc; k++)
        for (int j = 0; j < HS_LEAD_SAMPLES; j++) {
            int64_t L = hs_lead_sample_points(j, 60), x = cut[k] + L;
            if (x >= n)
                continue;
            hs_format_time(t0 + 60 * cut[k], tc);
            hs_format_time(t0 + 60 * x, ts);
            fprintf(f, "%s,%s,%.10g,%.10g,,\n", tc, ts, y_at(x), y_at(x) - 3);
        }
    fclose(f);
}

/* The row of model at lead in forecast_by_lead.csv: mae, rmse, origins, forecasts; 0 when absent
 * or when its lead_from is not the bucket's first minute. */
static int by_lead_row(const char *text, const char *model, int lead, double *mae, double *rmse, long *orig,
                       long *pairs)
{
    char key[64];
    snprintf(key, sizeof key, "\n%s,%d,", model, lead);
    const char *p = strstr(text, key);
    long from = -1;
    if (!p || sscanf(p + strlen(key), "%lf,%lf,%ld,%ld,%ld", mae, rmse, orig, &from, pairs) != 5)
        return 0;
    for (int i = 0; i < HS_LEADS; i++)
        if (hs_lead_minutes(i) == lead)
            return from == hs_lead_bucket_first_minutes(i);
    return 0;
}

Test(lead, report_table_on_hand_made_forecasts, .timeout = 60)
{
    char *dir = hs_test_scratch("lead_report");
    int64_t n = 4320, h = 1440;
    write_lead_inputs(dir, n, h);
    cr_assert_eq(hs_forecast_report_write(dir), HS_OK);
    char p[700];
    snprintf(p, sizeof p, "%s/forecast_by_lead.csv", dir);
    char *t = hs_test_read_file(p, NULL);
    cr_assert(t, "no %s", p);
    cr_assert(strncmp(t, "model,lead,mae,rmse,origins,lead_from,forecasts\n", 48) == 0, "%s", t);
    int64_t cut[1440];
    int64_t nc = hs_lead_cutoffs(n - h, n, 60, cut);
    for (int i = 0; i < HS_LEADS; i++) {
        /* each bucket pools its sampled leads from every cutoff they land inside the series from */
        int64_t cnt = 0, origins = 0;
        double ap = 0, sp = 0, as = 0, ss = 0;
        for (int64_t k = 0; k < nc; k++) {
            int reached = 0;
            for (int j = 0; j < HS_LEAD_SAMPLES; j++) {
                int64_t L = hs_lead_sample_points(j, 60);
                if (hs_lead_sample_bucket(j) != i || cut[k] + L >= n)
                    continue;
                reached = 1;
                cnt++;
                double e = y_at(cut[k] + L) - y_at(cut[k]); /* persistence */
                ap += fabs(e);
                sp += e * e;
                e = y_at(cut[k] + L) - y_at(cut[k] + L - 1440); /* the same minute the day before */
                as += fabs(e);
                ss += e * e;
            }
            origins += reached;
        }
        int lead = (int)hs_lead_minutes(i);
        /* constant errors: Prophet +2, the LSTM -3, their average -0.5 */
        const char *models[3] = {"prophet", "lstm_recursive", "hybrid_average"};
        double err[3] = {2, 3, 0.5};
        for (int m = 0; m < 3; m++) {
            double mae, rmse;
            long o, q;
            cr_assert(by_lead_row(t, models[m], lead, &mae, &rmse, &o, &q), "no %s at %d in\n%s", models[m], lead, t);
            cr_expect_eq(o, origins, "%s at %d: %ld origins, want %lld", models[m], lead, o, (long long)origins);
            cr_expect_eq(q, cnt, "%s at %d: %ld forecasts, want %lld", models[m], lead, q, (long long)cnt);
            /* the file keeps 6 significant digits */
            cr_expect(fabs(mae - err[m]) < 1e-5 && fabs(rmse - err[m]) < 1e-5, "%s at %d: %g %g", models[m], lead, mae,
                      rmse);
        }
        double mae, rmse;
        long o, q;
        cr_assert(by_lead_row(t, "persistence", lead, &mae, &rmse, &o, &q));
        cr_expect(q == cnt && fabs(mae - ap / cnt) < 1e-5 * (1 + ap / cnt) &&
                      fabs(rmse - sqrt(sp / cnt)) < 1e-5 * (1 + rmse),
                  "persistence at %d: %g %g %ld, want %g %g %lld", lead, mae, rmse, q, ap / cnt, sqrt(sp / cnt),
                  (long long)cnt);
        cr_assert(by_lead_row(t, "seasonal_naive", lead, &mae, &rmse, &o, &q));
        cr_expect(q == cnt && fabs(mae - as / cnt) < 1e-5 * (1 + as / cnt) &&
                      fabs(rmse - sqrt(ss / cnt)) < 1e-5 * (1 + rmse),
                  "seasonal naive at %d: %g %g", lead, mae, rmse);
    }
    free(t);
    /* the report keeps its first table and adds the section, the plot beside it */
    snprintf(p, sizeof p, "%s/forecast_report.md", dir);
    t = hs_test_read_file(p, NULL);
    cr_assert(t);
    cr_expect(strstr(t, "| Prophet | forecast from the end of training | 2.00 | 2.00 |") != NULL, "%s", t);
    cr_expect(strstr(t, "## Scores by lead time") != NULL, "%s", t);
    cr_expect(strstr(t, "| MAE | 1 min | 2-5 min | 6-15 min | 16-60 min | 61-240 min | 241-1440 min |") != NULL, "%s",
              t);
    /* the day's bucket from the 163 cutoffs 300 minutes reach from (the day alone: 1 cutoff) */
    cr_expect(strstr(t, "| cutoffs | 206 | 206 | 205 | 203 | 196 | 163 |") != NULL, "%s", t);
    cr_expect(strstr(t, "| forecasts | 206 | 824 | 2047 | 1805 | 2205 | 1640 |") != NULL, "%s", t);
    free(t);
    cr_expect(hs_test_nonempty(dir, "forecast_by_lead.png"));
}

/* A row of lstm_by_lead.csv that no cutoff of the holdout explains: the report says so. */
Test(lead, report_refuses_a_foreign_lstm_file, .timeout = 60)
{
    char *dir = hs_test_scratch("lead_foreign");
    write_lead_inputs(dir, 4320, 1440);
    char p[700];
    snprintf(p, sizeof p, "%s/prophet_metrics.json", dir);
    hs_test_write_file(p, "{\"holdout\": 1000, \"step_seconds\": 60, \"mae\": 1, \"rmse\": 1}");
    cr_assert_eq(hs_forecast_report_write(dir), HS_ERR_INPUT);
    cr_expect(strstr(hs_error_message(), "lstm_by_lead.csv:2:") != NULL, "%s", hs_error_message());
    cr_expect(!hs_test_nonempty(dir, "forecast_report.md"));
}

/* The LSTM stage's forecasts from the first cutoff (the end of training) are its recursive
 * holdout forecast at the leads; every cutoff of lead.h is there. */
Test(lead, lstm_stage_by_lead_matches_its_recursive_forecast, .timeout = 300)
{
    char *dir = hs_test_scratch("lead_lstm");
    char *series = hs_test_make_series(dir, 3, 20, 0);
    cr_assert(series);
    char out[700];
    snprintf(out, sizeof out, "%s/fc", dir);
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", series, "--out", out, "--holdout", "1440", "--epochs",
                             "1", "--hidden", "8", "--device", "cpu", "--no-plot", "--quiet", NULL),
                 0, "%s", err);
    free(err);
    char p[800];
    snprintf(p, sizeof p, "%s/lstm_by_lead.csv", out);
    hs_bt_table b;
    cr_assert_eq(hs_bt_table_read(p, &b), HS_OK, "%s", hs_error_message());
    snprintf(p, sizeof p, "%s/lstm_recursive.csv", out);
    hs_fc_table r;
    cr_assert_eq(hs_fc_table_read(p, &r), HS_OK, "%s", hs_error_message());
    cr_assert_eq(r.n, 1440);
    int64_t c0 = r.ds[0] - 60; /* the end of training */
    int first = 0;
    for (int64_t i = 0; i < b.n; i++) {
        cr_assert(b.ds[i] > b.cutoff[i] && (b.cutoff[i] - c0) % 420 == 0);
        if (b.cutoff[i] != c0)
            continue;
        int64_t L = (b.ds[i] - c0) / 60;
        /* one end alone or in a batch of ends: the same model, float rounding apart */
        cr_expect(fabs(b.yhat[i] - r.yhat[L - 1]) <= 1e-4 * (1 + fabs(r.yhat[L - 1])), "lead %lld: %g vs %g",
                  (long long)L, b.yhat[i], r.yhat[L - 1]);
        cr_expect(b.y[i] == r.y[L - 1]);
        first++;
    }
    cr_expect_eq(first, HS_LEAD_SAMPLES);
    cr_expect_eq(b.n, 206 + 824 + 2047 + 1805 + 2205 + 1640, "every cutoff at every sampled lead it reaches");
    hs_bt_table_free(&b);
    hs_fc_table_free(&r);
    free(series);
}
