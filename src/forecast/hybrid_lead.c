/* hybrid_lead.c: the per-lead Hybrid (hybrid.h): Prophet's weight and the correction's share of
 * Prophet's last error in each lead bucket of lead.h, chosen on validation, their interpolation
 * between the buckets and the forecast they make (the stage, the report and the service share
 * it), and hybrid_metrics.json's per_lead written and read. */
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
    return hs_hybrid_lead_interp(w, lead_minutes, 0.5);
}

double hs_hybrid_lead_correction(const double a[6], double lead_minutes)
{
    return a ? hs_hybrid_lead_interp(a, lead_minutes, 0.0) : 0.0;
}

double hs_hybrid_lead_interp(const double w[6], double lead_minutes, double none)
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
        return none;
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

/* The validation rows: per row its bucket, the actual, Prophet's and the LSTM's forecasts, the
 * lead in minutes and Prophet's error at the cutoff (0 at the first cutoff, which precedes the
 * span Prophet forecast). */
typedef struct hs_hl_rows {
    int64_t n;
    int *bucket;
    double *y, *p, *l, *lead, *e;
} hs_hl_rows;

static void hs_hl_rows_free(hs_hl_rows *r)
{
    free(r->bucket);
    free(r->y);
    memset(r, 0, sizeof *r);
}

static hs_status hs_hl_rows_gather(const hs_fc_table *pv, const hs_bt_table *lv, int64_t step, hs_hl_rows *r)
{
    size_t cap = (size_t)(lv->n > 0 ? lv->n : 1);
    memset(r, 0, sizeof *r);
    r->bucket = malloc(cap * sizeof *r->bucket);
    r->y = malloc(cap * 5 * sizeof *r->y);
    if (!r->bucket || !r->y) {
        hs_hl_rows_free(r);
        return hs_error_set(HS_ERR_NOMEM, "hybrid: out of memory");
    }
    r->p = r->y + cap;
    r->l = r->p + cap;
    r->lead = r->l + cap;
    r->e = r->lead + cap;
    for (int64_t i = 0; i < lv->n; i++) {
        int64_t dt = lv->ds[i] - lv->cutoff[i];
        int j = dt > 0 && dt % step == 0 ? hs_lead_sample_of(dt / step, step) : -1;
        int64_t k = j >= 0 && !isnan(lv->y[i]) ? hs_hl_index(pv, step, lv->ds[i]) : -1;
        if (k < 0 || isnan(pv->yhat[k]))
            continue;
        int64_t kc = hs_hl_index(pv, step, lv->cutoff[i]), c = r->n++;
        r->bucket[c] = hs_lead_sample_bucket(j);
        r->y[c] = lv->y[i];
        r->p[c] = pv->yhat[k];
        r->l[c] = lv->yhat[i];
        r->lead[c] = (double)dt / 60.0;
        r->e[c] = kc >= 0 && !isnan(pv->y[kc]) && !isnan(pv->yhat[kc]) ? pv->y[kc] - pv->yhat[kc] : 0.0;
    }
    return HS_OK;
}

/* MAE over the rows of bucket i of the blend with Prophet's weight w (no correction). */
static double hs_hl_mae(const hs_hl_rows *r, int i, double w)
{
    double a = 0;
    int64_t c = 0;
    for (int64_t k = 0; k < r->n; k++)
        if (r->bucket[k] == i) {
            a += fabs(r->y[k] - (w * r->p[k] + (1 - w) * r->l[k]));
            c++;
        }
    return c ? a / (double)c : NAN;
}

double hs_hybrid_lead_forecast(const double w[6], const double a[6], double lead_minutes, double prophet,
                               double lstm, double prophet_error)
{
    double wl = hs_hybrid_lead_weight(w, lead_minutes);
    return wl * prophet + (1 - wl) * lstm + hs_hybrid_lead_correction(a, lead_minutes) * prophet_error;
}

hs_status hs_hybrid_lead_choose(const char *dir, int64_t step_seconds, hs_hybrid_lead_fit *fit)
{
    memset(fit, 0, sizeof *fit);
    for (int i = 0; i < HS_LEADS; i++)
        fit->w[i] = fit->best[i] = fit->a[i] = fit->mae_prophet[i] = fit->mae_lstm[i] = fit->mae_hybrid[i] = NAN;
    char pp[4096], lp[4096];
    snprintf(pp, sizeof pp, "%s/prophet_validation.csv", dir);
    snprintf(lp, sizeof lp, "%s/lstm_validation_by_lead.csv", dir);
    if (access(pp, F_OK) != 0 || access(lp, F_OK) != 0)
        return HS_OK;
    hs_fc_table pv;
    hs_bt_table lv;
    hs_hl_rows r;
    memset(&lv, 0, sizeof lv);
    memset(&r, 0, sizeof r);
    HS_TRY(hs_fc_table_read(pp, &pv));
    hs_status st = hs_bt_table_read(lp, &lv);
    if (st == HS_OK)
        st = hs_hl_rows_gather(&pv, &lv, step_seconds, &r);
    if (st != HS_OK)
        goto done;
    for (int64_t k = 0; k < r.n; k++)
        fit->rows[r.bucket[k]]++;
    /* Prophet's weight per bucket, then (with w(L) known across buckets) the correction: half the
     * least-squares coefficient of what the blend misses on Prophet's error at the cutoff */
    for (int i = 0; i < HS_LEADS; i++) {
        if (fit->rows[i] < HS_HYBRID_LEAD_MIN_ROWS)
            continue;
        double best = INFINITY;
        for (int k = 0; k <= 20; k++) {
            double e = hs_hl_mae(&r, i, k / 20.0);
            if (e < best) {
                best = e;
                fit->best[i] = k / 20.0;
            }
        }
        fit->w[i] = 0.5 * (fit->best[i] + 0.5);
        fit->mae_prophet[i] = hs_hl_mae(&r, i, 1.0);
        fit->mae_lstm[i] = hs_hl_mae(&r, i, 0.0);
    }
    double se[HS_LEADS] = {0}, see[HS_LEADS] = {0}, ae[HS_LEADS] = {0};
    for (int64_t k = 0; k < r.n; k++) {
        double miss = r.y[k] - hs_hybrid_lead_forecast(fit->w, NULL, r.lead[k], r.p[k], r.l[k], 0.0);
        se[r.bucket[k]] += miss * r.e[k];
        see[r.bucket[k]] += r.e[k] * r.e[k];
    }
    for (int i = 0; i < HS_LEADS; i++)
        if (fit->rows[i] >= HS_HYBRID_LEAD_MIN_ROWS)
            fit->a[i] = see[i] > 0 ? fmax(-1.0, fmin(1.0, 0.5 * se[i] / see[i])) : 0.0;
    for (int64_t k = 0; k < r.n; k++)
        ae[r.bucket[k]] += fabs(r.y[k] - hs_hybrid_lead_forecast(fit->w, fit->a, r.lead[k], r.p[k], r.l[k], r.e[k]));
    for (int i = 0; i < HS_LEADS; i++)
        if (fit->rows[i] >= HS_HYBRID_LEAD_MIN_ROWS)
            fit->mae_hybrid[i] = ae[i] / (double)fit->rows[i];
    fit->found = 1;
done:
    hs_hl_rows_free(&r);
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
    cJSON_AddStringToObject(o, "rule", "w(L) * Prophet + (1 - w(L)) * LSTM + a(L) * (y - Prophet at the last known "
                                       "point); per lead bucket w is half way between the validation's best weight "
                                       "and 0.5, a half the least-squares coefficient of what the blend misses; "
                                       "both linear in log(lead) between leads");
    cJSON_AddItemToObject(o, "leads_minutes", hs_hl_array(lm, HS_LEADS));
    cJSON_AddItemToObject(o, "prophet_weight", hs_hl_array(fit->w, HS_LEADS));
    cJSON_AddItemToObject(o, "residual_weight", hs_hl_array(fit->a, HS_LEADS));
    cJSON *v = cJSON_AddObjectToObject(o, "validation");
    cJSON_AddStringToObject(v, "files", fit->found ? "prophet_validation.csv, lstm_validation_by_lead.csv" : "missing");
    cJSON_AddItemToObject(v, "rows", hs_hl_array(rows, HS_LEADS));
    cJSON_AddItemToObject(v, "best_weight", hs_hl_array(fit->best, HS_LEADS));
    cJSON_AddItemToObject(v, "mae_prophet", hs_hl_array(fit->mae_prophet, HS_LEADS));
    cJSON_AddItemToObject(v, "mae_lstm", hs_hl_array(fit->mae_lstm, HS_LEADS));
    cJSON_AddItemToObject(v, "mae_hybrid", hs_hl_array(fit->mae_hybrid, HS_LEADS));
    return o;
}

/* A per_lead array of six numbers in [lo, hi] or nulls (NAN) into v; absent and optional: all NAN. */
static hs_status hs_hl_read_array(const char *path, const cJSON *pl, const char *key, int optional, double lo,
                                  double hi, double v[6])
{
    for (int i = 0; i < HS_LEADS; i++)
        v[i] = NAN;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(pl, key);
    if (!a && optional)
        return HS_OK;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != HS_LEADS)
        return hs_error_set(HS_ERR_INPUT, "%s: per_lead.%s: expected an array of %d numbers", path, key, HS_LEADS);
    for (int i = 0; i < HS_LEADS; i++) {
        const cJSON *e = cJSON_GetArrayItem(a, i);
        if (cJSON_IsNull(e))
            continue;
        if (!cJSON_IsNumber(e) || !(e->valuedouble >= lo && e->valuedouble <= hi))
            return hs_error_set(HS_ERR_INPUT, "%s: per_lead.%s[%d]: expected a number in [%g, %g] or null", path, key,
                                i, lo, hi);
        v[i] = e->valuedouble;
    }
    return HS_OK;
}

hs_status hs_hybrid_lead_read(const char *path, double w[6], double a[6], int *found)
{
    *found = 0;
    double scratch[HS_LEADS];
    for (int i = 0; i < HS_LEADS; i++) {
        w[i] = NAN;
        if (a)
            a[i] = NAN;
    }
    cJSON *j;
    HS_TRY(hs_json_read(path, &j));
    hs_status st = HS_OK;
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(j, "per_lead");
    if (pl) {
        st = hs_hl_read_array(path, pl, "prophet_weight", 0, 0.0, 1.0, w);
        if (st == HS_OK) /* a folder from before the correction has none: no correction */
            st = hs_hl_read_array(path, pl, "residual_weight", 1, -1.0, 1.0, a ? a : scratch);
        *found = st == HS_OK;
    }
    cJSON_Delete(j);
    return st;
}
