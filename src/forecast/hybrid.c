/* hybrid.c: the Hybrid of the Prophet and LSTM forecasts in a folder (hybrid.h). */
#include "hyscale/hybrid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/forecast_rows.h"
#include "hyscale/forecast_csv.h"
#include "hyscale/manifest.h"
#include "hyscale/outfiles.h"
#include "hyscale/plot.h"

static void hs_err2(const double *y, const double *yh, int64_t n, double *mae, double *rmse)
{
    double a = 0, s = 0;
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(y[i]) || isnan(yh[i]))
            continue;
        double e = y[i] - yh[i];
        a += fabs(e);
        s += e * e;
        c++;
    }
    *mae = c ? a / (double)c : NAN;
    *rmse = c ? sqrt(s / (double)c) : NAN;
}

static cJSON *hs_score_json(const double *y, const double *yh, int64_t n, double *mae_out)
{
    double mae, rmse;
    hs_err2(y, yh, n, &mae, &rmse);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "mae", mae);
    cJSON_AddNumberToObject(o, "rmse", rmse);
    if (mae_out)
        *mae_out = mae;
    return o;
}

static hs_status hs_write_table(hs_outset *os, const char *name, const int64_t *ds, const double *y,
                                const double *yhat, int64_t n)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, name, &f, &tmp));
    fputs("ds,y,yhat,yhat_lower,yhat_upper\n", f);
    for (int64_t i = 0; i < n; i++) {
        float fy = y ? (float)y[i] : NAN, fh = (float)yhat[i];
        hs_forecast_rows one = {ds[i], 1, 1, &fy, &fh, NULL, NULL};
        HS_TRY(hs_forecast_csv_write_rows(f, tmp, &one));
    }
    return HS_OK;
}

static hs_status hs_read_in(const char *dir, const char *name, hs_fc_table *t)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    hs_status st = hs_fc_table_read(p, t);
    if (st == HS_ERR_IO)
        return hs_error_set(HS_ERR_INPUT, "%s: missing; run `hyscale forecast prophet` and `hyscale forecast lstm` "
                                          "into this folder first",
                            p);
    return st;
}

static int64_t hs_json_int(const char *dir, const char *name, const char *key, hs_status *st)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cJSON *j;
    if (*st || (*st = hs_json_read(p, &j)))
        return 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    int64_t r = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
    if (r < 0)
        *st = hs_error_set(HS_ERR_INPUT, "%s: no '%s'", p, key);
    cJSON_Delete(j);
    return r;
}

/* Prophet's forecast of point j (full rows, then next rows), NAN past both. */
static double hs_prophet_at(const hs_fc_table *pf, const hs_fc_table *pn, int64_t j)
{
    if (j < pf->n)
        return pf->yhat[j];
    return j - pf->n < pn->n ? pn->yhat[j - pf->n] : NAN;
}

static hs_status hs_write_f8(hs_outset *os, const char *dir, const hs_fc_table *pf, const hs_fc_table *pn)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/lstm_forecast8.csv", dir);
    FILE *in = fopen(p, "r");
    if (!in)
        return hs_error_set(HS_ERR_INPUT, "%s: missing (run hyscale forecast lstm first)", p);
    FILE *f;
    const char *tmp;
    hs_status st = hs_outset_file(os, "hybrid_forecast8.csv", &f, &tmp);
    char line[1024];
    int64_t t = -1;
    while (st == HS_OK && fgets(line, sizeof line, in)) {
        if (t < 0) {
            fputs(line, f); /* the header */
            t = 0;
            continue;
        }
        double v[9];
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
                   &v[8]) != 9) {
            st = hs_error_set(HS_ERR_INPUT, "%s:%lld: expected minute and 8 forecasts", p, (long long)t + 2);
            break;
        }
        fprintf(f, "%.0f", v[0]);
        for (int k = 1; k <= 8; k++) {
            double pv = hs_prophet_at(pf, pn, t + k);
            fprintf(f, ",%.6g", isnan(pv) ? v[k] : 0.5 * (v[k] + pv));
        }
        fputc('\n', f);
        t++;
    }
    fclose(in);
    return st;
}

hs_status hs_hybrid_run(const char *dir, int quiet, cJSON *manifest, hs_hybrid_result *res)
{
    memset(res, 0, sizeof *res);
    hs_fc_table pf, pn, lf, lr, ln;
    memset(&pf, 0, sizeof pf);
    memset(&pn, 0, sizeof pn);
    memset(&lf, 0, sizeof lf);
    memset(&lr, 0, sizeof lr);
    memset(&ln, 0, sizeof ln);
    hs_status st = hs_read_in(dir, "prophet_full.csv", &pf);
    if (st == HS_OK)
        st = hs_read_in(dir, "prophet_next.csv", &pn);
    if (st == HS_OK)
        st = hs_read_in(dir, "lstm_full.csv", &lf);
    if (st == HS_OK)
        st = hs_read_in(dir, "lstm_recursive.csv", &lr);
    if (st == HS_OK)
        st = hs_read_in(dir, "lstm_next.csv", &ln);
    int64_t hp = hs_json_int(dir, "prophet_metrics.json", "holdout", &st);
    int64_t hl = hs_json_int(dir, "lstm_metrics.json", "holdout", &st);
    int64_t n = pf.n;
    if (st == HS_OK && (lf.n != n || hp != hl || lr.n != hl))
        st = hs_error_set(HS_ERR_INPUT, "%s: the Prophet and LSTM outputs disagree (%lld vs %lld points, holdout %lld "
                                        "vs %lld): run both on the same input and holdout",
                          dir, (long long)n, (long long)lf.n, (long long)hp, (long long)hl);
    for (int64_t i = 0; st == HS_OK && i < n; i++)
        if (pf.ds[i] != lf.ds[i])
            st = hs_error_set(HS_ERR_INPUT, "%s: prophet_full.csv and lstm_full.csv differ in time at row %lld", dir,
                              (long long)i + 2);
    int64_t H = hp, ntr = n - H, v0 = ntr - ntr / 10;
    int64_t nn = pn.n < ln.n ? pn.n : ln.n;
    double *avg = NULL, *wgt = NULL, *avg_next = NULL, *w_next = NULL, *ar = NULL, *wr = NULL;
    if (st == HS_OK) {
        avg = malloc((size_t)n * sizeof *avg);
        wgt = malloc((size_t)n * sizeof *wgt);
        avg_next = malloc((size_t)(nn > 0 ? nn : 1) * sizeof *avg_next);
        w_next = malloc((size_t)(nn > 0 ? nn : 1) * sizeof *w_next);
        ar = malloc((size_t)(H > 0 ? H : 1) * sizeof *ar);
        wr = malloc((size_t)(H > 0 ? H : 1) * sizeof *wr);
        if (!avg || !wgt || !avg_next || !w_next || !ar || !wr)
            st = hs_error_set(HS_ERR_NOMEM, "hybrid: out of memory");
    }
    double w = 0.5;
    if (st == HS_OK) {
        /* the blend weight: MAE on the validation span of the training span */
        double best = INFINITY;
        for (int k = 0; k <= 20; k++) {
            double wk = k / 20.0, a = 0;
            int64_t c = 0;
            for (int64_t i = v0; i < ntr; i++)
                if (!isnan(pf.y[i])) {
                    a += fabs(pf.y[i] - (wk * pf.yhat[i] + (1 - wk) * lf.yhat[i]));
                    c++;
                }
            if (c && a / (double)c < best) {
                best = a / (double)c;
                w = wk;
            }
        }
        for (int64_t i = 0; i < n; i++) {
            avg[i] = 0.5 * (pf.yhat[i] + lf.yhat[i]);
            wgt[i] = w * pf.yhat[i] + (1 - w) * lf.yhat[i];
        }
        for (int64_t i = 0; i < H; i++) {
            ar[i] = 0.5 * (pf.yhat[ntr + i] + lr.yhat[i]);
            wr[i] = w * pf.yhat[ntr + i] + (1 - w) * lr.yhat[i];
        }
        for (int64_t i = 0; i < nn; i++) {
            avg_next[i] = 0.5 * (pn.yhat[i] + ln.yhat[i]);
            w_next[i] = w * pn.yhat[i] + (1 - w) * ln.yhat[i];
        }
        res->weight = w;
    }
    hs_outset *os = NULL;
    if (st == HS_OK)
        st = hs_outset_open(dir, &os);
    if (st == HS_OK)
        st = hs_write_table(os, "hybrid_full.csv", pf.ds, pf.y, avg, n);
    if (st == HS_OK)
        st = hs_write_table(os, "hybrid_weighted_full.csv", pf.ds, pf.y, wgt, n);
    if (st == HS_OK)
        st = hs_write_table(os, "hybrid_next.csv", pn.ds, NULL, avg_next, nn);
    if (st == HS_OK)
        st = hs_write_table(os, "hybrid_weighted_next.csv", pn.ds, NULL, w_next, nn);
    if (st == HS_OK)
        st = hs_write_f8(os, dir, &pf, &pn);
    if (st == HS_OK) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", "hybrid");
        cJSON_AddStringToObject(j, "scale", "as the inputs (invocations for a series)");
        cJSON_AddNumberToObject(j, "holdout", (double)H);
        cJSON_AddNumberToObject(j, "validation_points", (double)(ntr - v0));
        cJSON *a = cJSON_AddObjectToObject(j, "average");
        cJSON *wb = cJSON_AddObjectToObject(j, "weighted");
        cJSON_AddNumberToObject(wb, "prophet_weight", w);
        if (H > 0) {
            cJSON_AddItemToObject(a, "one_step", hs_score_json(pf.y + ntr, avg + ntr, H, &res->avg_one_step_mae));
            cJSON_AddItemToObject(a, "recursive", hs_score_json(pf.y + ntr, ar, H, &res->avg_recursive_mae));
            cJSON_AddItemToObject(wb, "one_step", hs_score_json(pf.y + ntr, wgt + ntr, H, &res->w_one_step_mae));
            cJSON_AddItemToObject(wb, "recursive", hs_score_json(pf.y + ntr, wr, H, &res->w_recursive_mae));
        }
        st = hs_json_write(os, "hybrid_metrics.json", j);
        if (st == HS_OK && manifest) {
            cJSON_AddItemToObject(manifest, "metrics", cJSON_Duplicate(j, 1));
            st = hs_json_write(os, "hybrid.manifest.json", manifest);
        }
        cJSON_Delete(j);
    }
    if (st == HS_OK) {
        /* hybrid.png: the holdout and the next horizon, with as much history before them */
        int64_t from = ntr - (H > 0 ? H : 1440) > 0 ? ntr - (H > 0 ? H : 1440) : 0, m = n - from + nn;
        double *x = malloc((size_t)m * 5 * sizeof *x);
        if (!x)
            st = hs_error_set(HS_ERR_NOMEM, "hybrid: out of memory");
        else {
            double *ya = x + m, *yp = ya + m, *yl = yp + m, *yh = yl + m, t0 = (double)pf.ds[0];
            for (int64_t i = 0; i < m; i++) {
                int64_t r = from + i;
                int hist = r < n;
                x[i] = ((double)(hist ? pf.ds[r] : pn.ds[r - n]) - t0) / 86400.0;
                ya[i] = hist ? pf.y[r] : NAN;
                yp[i] = hist ? pf.yhat[r] : pn.yhat[r - n];
                yl[i] = hist ? (r >= ntr ? lr.yhat[r - ntr] : lf.yhat[r]) : ln.yhat[r - n];
                yh[i] = hist ? (r >= ntr ? ar[r - ntr] : avg[r]) : avg_next[r - n];
            }
            hs_plot_line lines[4] = {{x, ya, m, "actual", HS_COLOR_BLACK},
                                     {x, yp, m, "Prophet", HS_COLOR_BLUE},
                                     {x, yl, m, "LSTM", HS_COLOR_GREEN},
                                     {x, yh, m, "Hybrid", HS_COLOR_PURPLE}};
            const char *tmp;
            st = hs_outset_path(os, "hybrid.png", &tmp);
            if (st == HS_OK)
                st = hs_plot_lines_png(tmp, "Hybrid (average of Prophet and LSTM): holdout (LSTM recursive) and next",
                                       "days since start", "per minute", lines, 4);
            free(x);
        }
    }
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    if (st == HS_OK && !quiet)
        printf("forecast hybrid: Prophet weight %.2f in the blend; holdout MAE average %.4g (one step) %.4g "
               "(recursive), weighted %.4g / %.4g\n",
               w, res->avg_one_step_mae, res->avg_recursive_mae, res->w_one_step_mae, res->w_recursive_mae);
    free(avg);
    free(wgt);
    free(avg_next);
    free(w_next);
    free(ar);
    free(wr);
    hs_fc_table_free(&pf);
    hs_fc_table_free(&pn);
    hs_fc_table_free(&lf);
    hs_fc_table_free(&lr);
    hs_fc_table_free(&ln);
    return st;
}
