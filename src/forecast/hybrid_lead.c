/* hybrid_lead.c: the per-lead Hybrid (hybrid.h): Prophet's weight at each lead of lead.h chosen
 * on validation, and its interpolation between the leads (the service and the stage share it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hyscale/backtest_csv.h"
#include "hyscale/forecast_rows.h"
#include "hyscale/hybrid.h"
#include "hyscale/lead.h"
#include "hyscale/manifest.h"

double hs_hybrid_lead_weight(const double w[6], double lead_minutes)
{
    int lo = -1, hi = -1; /* the scored anchors at or below and at or above the lead */
    for (int i = 0; i < HS_LEADS; i++) {
        if (isnan(w[i]))
            continue;
        double a = (double)hs_lead_minutes(i);
        if (a <= lead_minutes)
            lo = i;
        if (a >= lead_minutes && hi < 0)
            hi = i;
    }
    if (lo < 0 && hi < 0)
        return 0.5;
    if (lo < 0)
        return w[hi];
    if (hi < 0 || hi == lo)
        return w[lo];
    double a = log((double)hs_lead_minutes(lo)), b = log((double)hs_lead_minutes(hi));
    double f = (log(lead_minutes) - a) / (b - a);
    return w[lo] + f * (w[hi] - w[lo]);
}

/* Index of time t in a regular table (ds[0] + k * step), or -1. */
static int64_t hs_hl_index(const hs_fc_table *t, int64_t step, int64_t ds)
{
    if (t->n == 0 || step <= 0 || ds < t->ds[0] || (ds - t->ds[0]) % step != 0)
        return -1;
    int64_t k = (ds - t->ds[0]) / step;
    return k < t->n && t->ds[k] == ds ? k : -1;
}

static double hs_hl_mae(const double *y, const double *p, const double *l, int64_t n, double w)
{
    double a = 0;
    for (int64_t i = 0; i < n; i++)
        a += fabs(y[i] - (w * p[i] + (1 - w) * l[i]));
    return n ? a / (double)n : NAN;
}

hs_status hs_hybrid_lead_choose(const char *dir, int64_t step_seconds, hs_hybrid_lead_fit *fit)
{
    memset(fit, 0, sizeof *fit);
    for (int i = 0; i < HS_LEADS; i++)
        fit->w[i] = fit->best[i] = fit->mae_prophet[i] = fit->mae_lstm[i] = fit->mae_hybrid[i] = NAN;
    char pp[4096], lp[4096];
    snprintf(pp, sizeof pp, "%s/prophet_validation.csv", dir);
    snprintf(lp, sizeof lp, "%s/lstm_validation_by_lead.csv", dir);
    if (access(pp, F_OK) != 0 || access(lp, F_OK) != 0)
        return HS_OK;
    hs_fc_table pv;
    hs_bt_table lv;
    memset(&lv, 0, sizeof lv);
    HS_TRY(hs_fc_table_read(pp, &pv));
    hs_status st = hs_bt_table_read(lp, &lv);
    int64_t n = lv.n;
    double *buf = st == HS_OK ? malloc((size_t)(n > 0 ? n : 1) * 3 * sizeof *buf) : NULL;
    if (st == HS_OK && !buf)
        st = hs_error_set(HS_ERR_NOMEM, "hybrid: out of memory");
    for (int i = 0; st == HS_OK && i < HS_LEADS; i++) {
        int64_t L = hs_lead_points(i, step_seconds), c = 0;
        double *y = buf, *p = buf + n, *l = buf + 2 * n;
        for (int64_t r = 0; L > 0 && r < n; r++) {
            if ((lv.ds[r] - lv.cutoff[r]) != L * step_seconds || isnan(lv.y[r]))
                continue;
            int64_t k = hs_hl_index(&pv, step_seconds, lv.ds[r]);
            if (k < 0 || isnan(pv.yhat[k]))
                continue;
            y[c] = lv.y[r];
            p[c] = pv.yhat[k];
            l[c] = lv.yhat[r];
            c++;
        }
        fit->rows[i] = c;
        if (c < HS_HYBRID_LEAD_MIN_ROWS)
            continue;
        double best = INFINITY;
        for (int k = 0; k <= 20; k++) {
            double e = hs_hl_mae(y, p, l, c, k / 20.0);
            if (e < best) {
                best = e;
                fit->best[i] = k / 20.0;
            }
        }
        fit->w[i] = 0.5 * (fit->best[i] + 0.5);
        fit->mae_hybrid[i] = hs_hl_mae(y, p, l, c, fit->w[i]);
        fit->mae_prophet[i] = hs_hl_mae(y, p, l, c, 1.0);
        fit->mae_lstm[i] = hs_hl_mae(y, p, l, c, 0.0);
    }
    if (st == HS_OK)
        fit->found = 1;
    free(buf);
    hs_fc_table_free(&pv);
    hs_bt_table_free(&lv);
    return st;
}

static cJSON *hs_hl_array(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, isnan(v[i]) ? cJSON_CreateNull() : cJSON_CreateNumber(v[i]));
    return a;
}

cJSON *hs_hybrid_lead_json(const hs_hybrid_lead_fit *fit)
{
    cJSON *o = cJSON_CreateObject();
    double lm[HS_LEADS], rows[HS_LEADS];
    for (int i = 0; i < HS_LEADS; i++) {
        lm[i] = (double)hs_lead_minutes(i);
        rows[i] = (double)fit->rows[i];
    }
    cJSON_AddStringToObject(o, "rule", "w(L) * Prophet + (1 - w(L)) * LSTM; at each lead w is half way between "
                                       "the validation's best weight and 0.5, linear in log(lead) between leads");
    cJSON_AddItemToObject(o, "leads_minutes", hs_hl_array(lm, HS_LEADS));
    cJSON_AddItemToObject(o, "prophet_weight", hs_hl_array(fit->w, HS_LEADS));
    cJSON *v = cJSON_AddObjectToObject(o, "validation");
    cJSON_AddStringToObject(v, "files", fit->found ? "prophet_validation.csv, lstm_validation_by_lead.csv" : "missing");
    cJSON_AddItemToObject(v, "rows", hs_hl_array(rows, HS_LEADS));
    cJSON_AddItemToObject(v, "best_weight", hs_hl_array(fit->best, HS_LEADS));
    cJSON_AddItemToObject(v, "mae_prophet", hs_hl_array(fit->mae_prophet, HS_LEADS));
    cJSON_AddItemToObject(v, "mae_lstm", hs_hl_array(fit->mae_lstm, HS_LEADS));
    cJSON_AddItemToObject(v, "mae_hybrid", hs_hl_array(fit->mae_hybrid, HS_LEADS));
    return o;
}

hs_status hs_hybrid_lead_read(const char *path, double w[6], int *found)
{
    *found = 0;
    for (int i = 0; i < HS_LEADS; i++)
        w[i] = NAN;
    cJSON *j;
    HS_TRY(hs_json_read(path, &j));
    hs_status st = HS_OK;
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(j, "per_lead");
    if (pl) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(pl, "prophet_weight");
        if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != HS_LEADS)
            st = hs_error_set(HS_ERR_INPUT, "%s: per_lead.prophet_weight: expected an array of %d weights", path,
                              HS_LEADS);
        for (int i = 0; st == HS_OK && i < HS_LEADS; i++) {
            const cJSON *e = cJSON_GetArrayItem(a, i);
            if (cJSON_IsNull(e))
                continue;
            if (!cJSON_IsNumber(e) || !(e->valuedouble >= 0 && e->valuedouble <= 1))
                st = hs_error_set(HS_ERR_INPUT, "%s: per_lead.prophet_weight[%d]: expected a number in [0, 1] or null",
                                  path, i);
            else
                w[i] = e->valuedouble;
        }
        *found = st == HS_OK;
    }
    cJSON_Delete(j);
    return st;
}
