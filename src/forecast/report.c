/* report.c: forecast_report.md: one table of every model and scoring mode in a run folder next
 * to the persistence and seasonal-naive baselines (hybrid.h), then the scores by lead time
 * (report_lead.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/forecast_rows.h"
#include "hyscale/hybrid.h"
#include "hyscale/manifest.h"
#include "hyscale/outfiles.h"
#include "report_lead.h"

static cJSON *hs_read_opt(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cJSON *j = NULL;
    if (hs_json_read(p, &j) != HS_OK)
        return NULL;
    return j;
}

static void hs_row(FILE *f, const char *model, const char *mode, const cJSON *o)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "mae"), *r = cJSON_GetObjectItemCaseSensitive(o, "rmse");
    if (cJSON_IsNumber(a) && cJSON_IsNumber(r))
        fprintf(f, "| %s | %s | %.2f | %.2f |\n", model, mode, a->valuedouble, r->valuedouble);
}

hs_status hs_forecast_report_write(const char *dir)
{
    cJSON *pm = hs_read_opt(dir, "prophet_metrics.json"), *lm = hs_read_opt(dir, "lstm_metrics.json");
    cJSON *hm = hs_read_opt(dir, "hybrid_metrics.json");
    hs_status st = HS_OK;
    if (!pm)
        st = hs_error_set(HS_ERR_INPUT, "%s: no prophet_metrics.json: nothing to report", dir);
    hs_fc_table t;
    memset(&t, 0, sizeof t);
    char p[4096];
    snprintf(p, sizeof p, "%s/prophet_full.csv", dir);
    if (st == HS_OK)
        st = hs_fc_table_read(p, &t);
    int64_t H = 0, step = 60;
    if (st == HS_OK) {
        H = (int64_t)cJSON_GetObjectItem(pm, "holdout")->valuedouble;
        const cJSON *s = cJSON_GetObjectItem(pm, "step_seconds");
        step = cJSON_IsNumber(s) && s->valuedouble > 0 ? (int64_t)s->valuedouble : 60;
        if (H <= 0)
            st = hs_error_set(HS_ERR_INPUT, "%s: no holdout was scored: nothing to report", dir);
    }
    hs_outset *os = NULL;
    if (st == HS_OK)
        st = hs_outset_open(dir, &os);
    FILE *f = NULL;
    if (st == HS_OK)
        st = hs_outset_file(os, "forecast_report.md", &f, NULL);
    if (st == HS_OK) {
        int64_t n = t.n, ntr = n - H, day = 86400 / step;
        fprintf(f, "# Forecast report\n\nHoldout: the last %lld points (every %llds) of %lld; MAE and RMSE on the "
                   "scale of the series (invocations per minute for a preprocessed series), lower is better.\n\n",
                (long long)H, (long long)step, (long long)n);
        fprintf(f, "| model | scoring | MAE | RMSE |\n|---|---|---:|---:|\n");
        hs_row(f, "Prophet", "forecast from the end of training", pm);
        if (lm) {
            hs_row(f, "LSTM", "one step ahead", cJSON_GetObjectItem(lm, "one_step"));
            hs_row(f, "LSTM", "recursive from the end of training", cJSON_GetObjectItem(lm, "recursive"));
        }
        if (hm) {
            const cJSON *a = cJSON_GetObjectItem(hm, "average"), *w = cJSON_GetObjectItem(hm, "weighted");
            hs_row(f, "Hybrid (average)", "LSTM one step", cJSON_GetObjectItem(a, "one_step"));
            hs_row(f, "Hybrid (average)", "LSTM recursive", cJSON_GetObjectItem(a, "recursive"));
            char name[64];
            snprintf(name, sizeof name, "Hybrid (weighted, Prophet %.2f)",
                     cJSON_GetObjectItem(w, "prophet_weight")->valuedouble);
            hs_row(f, name, "LSTM one step", cJSON_GetObjectItem(w, "one_step"));
            hs_row(f, name, "LSTM recursive", cJSON_GetObjectItem(w, "recursive"));
            const cJSON *pl = cJSON_GetObjectItem(hm, "per_lead");
            if (pl && cJSON_GetObjectItem(pl, "recursive"))
                hs_row(f, "Hybrid (per lead, the default)", "from the end of training",
                       cJSON_GetObjectItem(pl, "recursive"));
        }
        /* baselines over the same points: the previous point, and the same time a day before */
        double ap = 0, sp = 0, as = 0, ss = 0;
        int64_t cp = 0, cs = 0;
        for (int64_t i = ntr; i < n; i++) {
            if (i >= 1 && !isnan(t.y[i]) && !isnan(t.y[i - 1])) {
                double e = t.y[i] - t.y[i - 1];
                ap += fabs(e);
                sp += e * e;
                cp++;
            }
            if (i >= day && !isnan(t.y[i]) && !isnan(t.y[i - day])) {
                double e = t.y[i] - t.y[i - day];
                as += fabs(e);
                ss += e * e;
                cs++;
            }
        }
        if (cp)
            fprintf(f, "| persistence (previous point) | one step ahead | %.2f | %.2f |\n", ap / (double)cp,
                    sqrt(sp / (double)cp));
        if (cs == H)
            fprintf(f, "| seasonal naive (same time the day before) | one day ahead | %.2f | %.2f |\n",
                    as / (double)cs, sqrt(ss / (double)cs));
        else
            fprintf(f, "| seasonal naive (same time the day before) | one day ahead | n/a | n/a |\n");
        fprintf(f, "\nOne step ahead: each point forecast from the actual values before it. Recursive: the whole "
                   "holdout forecast from the end of the training span, feeding forecasts back.%s\n",
                cs == H ? "" : " The seasonal-naive baseline needs a day of history before every holdout point.");
        st = hs_report_by_lead(dir, &t, H, step, os, f);
    }
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    hs_fc_table_free(&t);
    cJSON_Delete(pm);
    cJSON_Delete(lm);
    cJSON_Delete(hm);
    return st;
}
