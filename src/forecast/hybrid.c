/* hybrid.c: the Hybrid of the Prophet and LSTM forecasts in a folder (hybrid.h). In three steps,
 * as the other stages: plan (read every input and check the two forecasters agree), compute (the
 * weight, the average and the blend, the scores) and write (every file, all together or none). */
#include "hyscale/hybrid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hyscale/forecast8_csv.h"
#include "hyscale/forecast_rows.h"
#include "hyscale/forecast_csv.h"
#include "hyscale/lead.h"
#include "hyscale/manifest.h"
#include "hyscale/outfiles.h"
#include "hyscale/plot.h"
#include "hyscale/prophet_stage.h"

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
    int64_t r = -1;
    if (!*st)
        *st = hs_json_read_count(p, key, &r);
    return r;
}

/* Prophet's forecast of point j (full rows, then next rows), NAN past both. */
static double hs_prophet_at(const hs_fc_table *pf, const hs_fc_table *pn, int64_t j)
{
    if (j < pf->n)
        return pf->yhat[j];
    return j - pf->n < pn->n ? pn->yhat[j - pf->n] : NAN;
}

/* Prophet's error at point j, the last known one (0 where y or yhat is missing): the per-lead
 * Hybrid's correction carries a share of it forward. */
static double hs_prophet_error(const hs_fc_table *pf, int64_t j)
{
    double e = j >= 0 && j < pf->n ? pf->y[j] - pf->yhat[j] : NAN;
    return isnan(e) ? 0.0 : e;
}

/* Prophet's error at the last point of pf by the model that forecast prophet_next.csv (fitted on
 * all the points: prophet_model.json, the service's too), or by prophet_full.csv's fit where the
 * folder has no model (hand-made folders). */
static hs_status hs_next_prophet_error(const char *dir, const hs_fc_table *pf, double *e)
{
    *e = hs_prophet_error(pf, pf->n - 1);
    char p[4096];
    snprintf(p, sizeof p, "%s/prophet_model.json", dir);
    if (pf->n == 0 || access(p, F_OK) != 0 || isnan(pf->y[pf->n - 1]))
        return HS_OK;
    hs_prophet_model m;
    hs_prophet_config cfg;
    int log_scale = 0;
    int64_t step = 0, at = pf->ds[pf->n - 1];
    HS_TRY(hs_prophet_model_load(p, &m, &cfg, &log_scale, &step));
    cfg.uncertainty_samples = 0;
    hs_prophet_forecast fc;
    memset(&fc, 0, sizeof fc);
    hs_status st = hs_prophet_predict(&m, &cfg, &at, 1, &fc);
    if (st == HS_OK) {
        double yhat = log_scale ? expm1(fc.yhat[0]) : fc.yhat[0];
        *e = isfinite(yhat) ? pf->y[pf->n - 1] - yhat : 0.0;
    }
    hs_prophet_forecast_free(&fc);
    hs_prophet_model_free(&m);
    return st;
}

/* Everything one run of the stage holds between plan, compute and write. */
typedef struct hs_hybrid_job {
    hs_fc_table pf, pn;         /* Prophet: full (n rows), next */
    hs_fc_table lf, lr, ln;     /* LSTM: full (n), recursive holdout (H), next */
    int64_t n, H, ntr, v0, nn;  /* points, holdout, training span, validation start, next rows */
    int64_t f8_rows;
    double *f8;                 /* (f8_rows, 9): minute, then the LSTM's 8 forecasts; the Hybrid's after compute */
    double w;                   /* Prophet's weight in the blend */
    double *avg, *wgt;          /* (n) average and blend with the LSTM's one step */
    double *ar, *wr;            /* (H) the same with the LSTM's recursive holdout */
    double *avg_next, *w_next;  /* (nn) the same on the next horizon */
    int64_t step;               /* seconds between points */
    hs_hybrid_lead_fit lead;    /* the per-lead Hybrid's weights (hybrid_lead.c) */
    double *lead_rec, *lead_next; /* (H), (nn): the per-lead Hybrid from the end of training, of the next horizon */
    double e_next;              /* Prophet's error at the last point, by the model of prophet_next.csv */
    cJSON *metrics;             /* hybrid_metrics.json */
} hs_hybrid_job;

static void hs_hybrid_job_free(hs_hybrid_job *j)
{
    cJSON_Delete(j->metrics);
    free(j->f8);
    free(j->avg);
    free(j->wgt);
    free(j->ar);
    free(j->wr);
    free(j->avg_next);
    free(j->w_next);
    free(j->lead_rec);
    free(j->lead_next);
    hs_fc_table_free(&j->pf);
    hs_fc_table_free(&j->pn);
    hs_fc_table_free(&j->lf);
    hs_fc_table_free(&j->lr);
    hs_fc_table_free(&j->ln);
}

/* Plan: lstm_forecast8.csv (a header, then rows of a minute and 8 forecasts; forecast8_csv.h)
 * into j->f8. */
static hs_status hs_hybrid_read_f8(const char *dir, hs_hybrid_job *j)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/lstm_forecast8.csv", dir);
    if (access(p, F_OK) != 0)
        return hs_error_set(HS_ERR_INPUT, "%s: missing (run hyscale forecast lstm first)", p);
    hs_f8_table t;
    HS_TRY(hs_f8_table_read(p, -1, 0, &t));
    j->f8 = malloc((size_t)(t.n > 0 ? t.n : 1) * 9 * sizeof *j->f8);
    if (!j->f8) {
        hs_f8_table_free(&t);
        return hs_error_set(HS_ERR_NOMEM, "hybrid: out of memory");
    }
    for (int64_t r = 0; r < t.n; r++) {
        j->f8[r * 9] = (double)t.minute[r];
        memcpy(j->f8 + r * 9 + 1, t.v + r * 8, 8 * sizeof *t.v);
    }
    j->f8_rows = t.n;
    hs_f8_table_free(&t);
    return HS_OK;
}

/* Plan: the forecasters' tables and holdouts read, checked to agree point for point, the spans
 * fixed and the buffers sized. */
static hs_status hs_hybrid_plan(const char *dir, hs_hybrid_job *j)
{
    HS_TRY(hs_read_in(dir, "prophet_full.csv", &j->pf));
    HS_TRY(hs_read_in(dir, "prophet_next.csv", &j->pn));
    HS_TRY(hs_next_prophet_error(dir, &j->pf, &j->e_next));
    HS_TRY(hs_read_in(dir, "lstm_full.csv", &j->lf));
    HS_TRY(hs_read_in(dir, "lstm_recursive.csv", &j->lr));
    HS_TRY(hs_read_in(dir, "lstm_next.csv", &j->ln));
    hs_status st = HS_OK;
    int64_t hp = hs_json_int(dir, "prophet_metrics.json", "holdout", &st);
    int64_t hl = hs_json_int(dir, "lstm_metrics.json", "holdout", &st);
    HS_TRY(st);
    int64_t n = j->pf.n;
    if (j->lf.n != n || hp != hl || j->lr.n != hl)
        return hs_error_set(HS_ERR_INPUT, "%s: the Prophet and LSTM outputs disagree (%lld vs %lld points, holdout "
                                          "%lld vs %lld): run both on the same input and holdout",
                            dir, (long long)n, (long long)j->lf.n, (long long)hp, (long long)hl);
    for (int64_t i = 0; i < n; i++)
        if (j->pf.ds[i] != j->lf.ds[i])
            return hs_error_set(HS_ERR_INPUT, "%s: prophet_full.csv and lstm_full.csv differ in time at row %lld", dir,
                                (long long)i + 2);
    HS_TRY(hs_hybrid_read_f8(dir, j));
    j->n = n;
    j->H = hp;
    j->ntr = n - j->H;
    j->v0 = hs_lead_validation_start(j->ntr);
    j->nn = j->pn.n < j->ln.n ? j->pn.n : j->ln.n;
    int64_t H1 = j->H > 0 ? j->H : 1, nn1 = j->nn > 0 ? j->nn : 1;
    j->avg = malloc((size_t)n * sizeof *j->avg);
    j->wgt = malloc((size_t)n * sizeof *j->wgt);
    j->avg_next = malloc((size_t)nn1 * sizeof *j->avg_next);
    j->w_next = malloc((size_t)nn1 * sizeof *j->w_next);
    j->ar = malloc((size_t)H1 * sizeof *j->ar);
    j->lead_rec = malloc((size_t)H1 * sizeof *j->lead_rec);
    j->lead_next = malloc((size_t)nn1 * sizeof *j->lead_next);
    j->wr = malloc((size_t)H1 * sizeof *j->wr);
    if (!j->avg || !j->wgt || !j->avg_next || !j->w_next || !j->ar || !j->wr || !j->lead_rec || !j->lead_next)
        return hs_error_set(HS_ERR_NOMEM, "hybrid: out of memory");
    j->step = n > 1 ? j->pf.ds[1] - j->pf.ds[0] : (j->pn.n > 0 ? j->pn.ds[0] - j->pf.ds[0] : 60);
    return hs_hybrid_lead_choose(dir, j->step, &j->lead);
}

/* Compute: Prophet's weight w in {0, 0.05, .., 1} with the least MAE of the blend on the
 * validation span (the first of equals; 0.5 when the span has no actual value). */
static double hs_hybrid_weight(const hs_hybrid_job *j)
{
    const hs_fc_table *pf = &j->pf, *lf = &j->lf;
    double w = 0.5, best = INFINITY;
    for (int k = 0; k <= 20; k++) {
        double wk = k / 20.0, a = 0;
        int64_t c = 0;
        for (int64_t i = j->v0; i < j->ntr; i++)
            if (!isnan(pf->y[i])) {
                a += fabs(pf->y[i] - (wk * pf->yhat[i] + (1 - wk) * lf->yhat[i]));
                c++;
            }
        if (c && a / (double)c < best) {
            best = a / (double)c;
            w = wk;
        }
    }
    return w;
}

/* Compute: the weight, the average and the blend of every span and of F8 (where Prophet has no
 * forecast of t+k, the LSTM's alone), and the holdout scores (hybrid_metrics.json, res). */
static void hs_hybrid_compute(hs_hybrid_job *j, hs_hybrid_result *res)
{
    const hs_fc_table *pf = &j->pf, *pn = &j->pn, *lf = &j->lf, *lr = &j->lr, *ln = &j->ln;
    int64_t n = j->n, H = j->H, ntr = j->ntr;
    double w = j->w = res->weight = hs_hybrid_weight(j);
    for (int64_t i = 0; i < n; i++) {
        j->avg[i] = 0.5 * (pf->yhat[i] + lf->yhat[i]);
        j->wgt[i] = w * pf->yhat[i] + (1 - w) * lf->yhat[i];
    }
    for (int64_t i = 0; i < H; i++) {
        j->ar[i] = 0.5 * (pf->yhat[ntr + i] + lr->yhat[i]);
        j->wr[i] = w * pf->yhat[ntr + i] + (1 - w) * lr->yhat[i];
    }
    for (int64_t i = 0; i < j->nn; i++) {
        j->avg_next[i] = 0.5 * (pn->yhat[i] + ln->yhat[i]);
        j->w_next[i] = w * pn->yhat[i] + (1 - w) * ln->yhat[i];
    }
    /* the per-lead Hybrid (the default: F8 feeds the environment); the plain average's weight 0.5
     * and no correction everywhere when the folder has no validation files */
    double wl[8], al[8], mins = (double)j->step / 60.0;
    for (int k = 1; k <= 8; k++) {
        wl[k - 1] = hs_hybrid_lead_weight(j->lead.w, k * mins);
        al[k - 1] = hs_hybrid_lead_correction(j->lead.a, k * mins);
    }
    for (int64_t t = 0; t < j->f8_rows; t++) {
        double e = hs_prophet_error(pf, t);
        for (int k = 1; k <= 8; k++) {
            double pv = hs_prophet_at(pf, pn, t + k), *v = &j->f8[t * 9 + k];
            *v = isnan(pv) ? *v : wl[k - 1] * pv + (1 - wl[k - 1]) * *v + al[k - 1] * e;
        }
    }
    double e_end = hs_prophet_error(pf, ntr - 1), e_last = j->e_next;
    for (int64_t i = 0; i < H; i++)
        j->lead_rec[i] = hs_hybrid_lead_forecast(j->lead.w, j->lead.a, (double)(i + 1) * mins, pf->yhat[ntr + i],
                                                 lr->yhat[i], e_end);
    for (int64_t i = 0; i < j->nn; i++)
        j->lead_next[i] =
            hs_hybrid_lead_forecast(j->lead.w, j->lead.a, (double)(i + 1) * mins, pn->yhat[i], ln->yhat[i], e_last);
    cJSON *o = j->metrics = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", "hybrid");
    cJSON_AddStringToObject(o, "scale", "as the inputs (invocations for a series)");
    cJSON_AddNumberToObject(o, "holdout", (double)H);
    cJSON_AddNumberToObject(o, "validation_points", (double)(ntr - j->v0));
    /* the Hybrid that feeds the environment (hybrid_forecast8.csv) and the service */
    cJSON_AddStringToObject(o, "default", j->lead.found ? "per_lead" : "average");
    cJSON *pl = hs_hybrid_lead_json(&j->lead);
    cJSON_AddItemToObject(o, "per_lead", pl);
    cJSON *a = cJSON_AddObjectToObject(o, "average");
    cJSON *wb = cJSON_AddObjectToObject(o, "weighted");
    cJSON_AddNumberToObject(wb, "prophet_weight", w);
    if (H > 0) {
        const double *y = pf->y + ntr;
        cJSON_AddItemToObject(a, "one_step", hs_score_json(y, j->avg + ntr, H, &res->avg_one_step_mae));
        cJSON_AddItemToObject(a, "recursive", hs_score_json(y, j->ar, H, &res->avg_recursive_mae));
        cJSON_AddItemToObject(wb, "one_step", hs_score_json(y, j->wgt + ntr, H, &res->w_one_step_mae));
        cJSON_AddItemToObject(wb, "recursive", hs_score_json(y, j->wr, H, &res->w_recursive_mae));
        cJSON_AddItemToObject(pl, "recursive", hs_score_json(y, j->lead_rec, H, &res->lead_recursive_mae));
    }
}

/* hybrid_forecast8.csv: the LSTM file's header, then the minute and the Hybrid's 8 forecasts. */
static hs_status hs_hybrid_write_f8(hs_outset *os, const hs_hybrid_job *j)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, "hybrid_forecast8.csv", &f, &tmp));
    fputs("minute,f1,f2,f3,f4,f5,f6,f7,f8\n", f);
    static const char *const names[8] = {"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"};
    for (int64_t t = 0; t < j->f8_rows; t++) {
        const double *v = j->f8 + t * 9;
        HS_TRY(hs_out_check_finite(tmp, t + 2, 2, names, v + 1, 8));
        fprintf(f, "%.0f", v[0]);
        for (int k = 1; k <= 8; k++)
            fprintf(f, ",%.6g", v[k]);
        fputc('\n', f);
    }
    return ferror(f) ? hs_error_set(HS_ERR_IO, "%s: write failed", tmp) : HS_OK;
}

/* hybrid.png: the holdout and the next horizon, with as much history before them. */
static hs_status hs_hybrid_plot(hs_outset *os, const hs_hybrid_job *j)
{
    const hs_fc_table *pf = &j->pf, *pn = &j->pn, *lf = &j->lf, *lr = &j->lr, *ln = &j->ln;
    int64_t n = j->n, ntr = j->ntr, back = j->H > 0 ? j->H : 1440;
    int64_t from = ntr - back > 0 ? ntr - back : 0, m = n - from + j->nn;
    double *x = malloc((size_t)m * 5 * sizeof *x);
    if (!x)
        return hs_error_set(HS_ERR_NOMEM, "hybrid: out of memory");
    double *ya = x + m, *yp = ya + m, *yl = yp + m, *yh = yl + m, t0 = (double)pf->ds[0];
    for (int64_t i = 0; i < m; i++) {
        int64_t r = from + i;
        int hist = r < n;
        x[i] = ((double)(hist ? pf->ds[r] : pn->ds[r - n]) - t0) / 86400.0;
        ya[i] = hist ? pf->y[r] : NAN;
        yp[i] = hist ? pf->yhat[r] : pn->yhat[r - n];
        yl[i] = hist ? (r >= ntr ? lr->yhat[r - ntr] : lf->yhat[r]) : ln->yhat[r - n];
        yh[i] = hist ? (r >= ntr ? j->lead_rec[r - ntr] : j->avg[r]) : j->lead_next[r - n];
    }
    hs_plot_line lines[4] = {{x, ya, m, "actual", HS_COLOR_BLACK},
                             {x, yp, m, "Prophet", HS_COLOR_BLUE},
                             {x, yl, m, "LSTM", HS_COLOR_GREEN},
                             {x, yh, m, "Hybrid", HS_COLOR_PURPLE}};
    const char *tmp;
    hs_status st = hs_outset_path(os, "hybrid.png", &tmp);
    if (st == HS_OK)
        st = hs_plot_lines_png(tmp,
                               j->lead.found ? "Hybrid (per lead, weights chosen on validation): holdout from the end of "
                                               "training, and next"
                                             : "Hybrid (average of Prophet and LSTM): holdout (LSTM recursive) and next",
                               "days since start", "per minute", lines, 4);
    free(x);
    return st;
}

/* Write: every file of the stage into dir, all together or none. */
static hs_status hs_hybrid_write(const char *dir, const hs_hybrid_job *j, cJSON *manifest)
{
    hs_outset *os = NULL;
    hs_status st = hs_outset_open(dir, &os);
    if (st == HS_OK)
        st = hs_write_table(os, "hybrid_full.csv", j->pf.ds, j->pf.y, j->avg, j->n);
    if (st == HS_OK)
        st = hs_write_table(os, "hybrid_weighted_full.csv", j->pf.ds, j->pf.y, j->wgt, j->n);
    if (st == HS_OK)
        st = hs_write_table(os, "hybrid_next.csv", j->pn.ds, NULL, j->avg_next, j->nn);
    if (st == HS_OK)
        st = hs_write_table(os, "hybrid_weighted_next.csv", j->pn.ds, NULL, j->w_next, j->nn);
    if (st == HS_OK)
        st = hs_write_table(os, "hybrid_lead_next.csv", j->pn.ds, NULL, j->lead_next, j->nn);
    if (st == HS_OK && j->H > 0)
        st = hs_write_table(os, "hybrid_lead_recursive.csv", j->pf.ds + j->ntr, j->pf.y + j->ntr, j->lead_rec, j->H);
    if (st == HS_OK)
        st = hs_hybrid_write_f8(os, j);
    if (st == HS_OK)
        st = hs_json_write(os, "hybrid_metrics.json", j->metrics);
    if (st == HS_OK && manifest) {
        cJSON_AddItemToObject(manifest, "metrics", cJSON_Duplicate(j->metrics, 1));
        st = hs_json_write(os, "hybrid.manifest.json", manifest);
    }
    if (st == HS_OK)
        st = hs_hybrid_plot(os, j);
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    return st;
}

hs_status hs_hybrid_run(const char *dir, int quiet, cJSON *manifest, hs_hybrid_result *res)
{
    memset(res, 0, sizeof *res);
    res->lead_recursive_mae = NAN;
    hs_hybrid_job j;
    memset(&j, 0, sizeof j);
    hs_status st = hs_hybrid_plan(dir, &j);
    if (st == HS_OK) {
        hs_hybrid_compute(&j, res);
        st = hs_hybrid_write(dir, &j, manifest);
    }
    if (st == HS_OK && !quiet)
    {
        printf("forecast hybrid: Prophet weight %.2f in the blend; holdout MAE average %.4g (one step) %.4g "
               "(recursive), weighted %.4g / %.4g\n",
               j.w, res->avg_one_step_mae, res->avg_recursive_mae, res->w_one_step_mae, res->w_recursive_mae);
        if (j.lead.found) {
            printf("forecast hybrid: per lead (the default), Prophet's weight at 1, 5, 15, 60, 240, 1440 min:");
            for (int i = 0; i < 6; i++)
                printf(isnan(j.lead.w[i]) ? " -" : " %.2f", j.lead.w[i]);
            printf("; holdout MAE from the end of training %.4g\n", res->lead_recursive_mae);
        }
    }
    hs_hybrid_job_free(&j);
    return st;
}
