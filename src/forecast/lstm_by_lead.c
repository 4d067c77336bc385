/* lstm_by_lead.c: the LSTM's recursive forecasts from the rolling cutoffs of the holdout
 * (lead.h), kept at the sampled leads only, for the forecast report's scores by lead time
 * (lstm_by_lead.csv; lstm_stage.h). Each cutoff forecasts as far as the largest sampled lead
 * that lands inside the series, so the cutoffs are grouped by that lead: one hs_lstm_predict per
 * group; a one-day holdout of minutes costs about 150,000 forecast steps (206 cutoffs, 1,440
 * steps from the first, 7 fewer from each next), 2,500 forwards of a 60-output head. */
#include <stdlib.h>
#include <string.h>

#include "hyscale/lead.h"
#include "hyscale/lstm_stage.h"

/* Rows of cutoff c in the table: one per sampled lead that lands inside n points. */
static int hs_lead_rows(int64_t c, int64_t n, int64_t step)
{
    int r = 0;
    for (int j = 0; j < HS_LEAD_SAMPLES; j++) {
        int64_t L = hs_lead_sample_points(j, step);
        r += L > 0 && c + L < n;
    }
    return r;
}

static hs_status hs_lead_alloc(hs_bt_table *t, int64_t rows)
{
    size_t k = (size_t)(rows > 0 ? rows : 1);
    t->cutoff = malloc(k * sizeof *t->cutoff);
    t->ds = malloc(k * sizeof *t->ds);
    t->y = malloc(k * sizeof *t->y);
    t->yhat = malloc(k * sizeof *t->yhat);
    if (!t->cutoff || !t->ds || !t->y || !t->yhat)
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for %lld forecasts by lead", (long long)rows);
    t->n = rows;
    return HS_OK;
}

hs_status hs_lstm_by_lead(hs_lstm *m, const hs_lstm_data *d, const hs_lstm_scale *sc, float pad, const int64_t *ds,
                          const float *yin, int64_t n, int64_t n_train, hs_bt_table *out)
{
    memset(out, 0, sizeof *out);
    int64_t H = n - n_train, step = d->step_seconds;
    if (H <= 0)
        return HS_OK;
    int64_t *cut = malloc((size_t)HS_LEAD_MAX_CUTOFFS(H) * sizeof *cut);
    int64_t *first = malloc((size_t)HS_LEAD_MAX_CUTOFFS(H) * sizeof *first); /* each cutoff's first row */
    int64_t *ends = malloc((size_t)HS_LEAD_MAX_CUTOFFS(H) * sizeof *ends), *who = NULL;
    hs_status st = cut && first && ends ? HS_OK : hs_error_set(HS_ERR_NOMEM, "lstm: out of memory");
    int64_t nc = st == HS_OK ? hs_lead_cutoffs(n_train, n, step, cut) : 0, rows = 0;
    for (int64_t k = 0; k < nc; k++) {
        first[k] = rows;
        rows += hs_lead_rows(cut[k], n, step);
    }
    if (st == HS_OK)
        st = hs_lead_alloc(out, rows);
    if (st == HS_OK && !(who = malloc((size_t)HS_LEAD_MAX_CUTOFFS(H) * sizeof *who)))
        st = hs_error_set(HS_ERR_NOMEM, "lstm: out of memory");
    for (int g = 0; st == HS_OK && g < HS_LEAD_SAMPLES; g++) {
        int64_t Lg = hs_lead_sample_points(g, step), ne = 0;
        for (int64_t k = 0; Lg > 0 && k < nc; k++)
            if (hs_lead_sample_last(cut[k], n, step) == g) {
                who[ne] = k;
                ends[ne++] = cut[k] + 1; /* the window ends after the cutoff */
            }
        if (ne == 0)
            continue;
        float *fc = malloc((size_t)ne * (size_t)Lg * sizeof *fc); /* (ne, Lg) normalised */
        if (!fc) {
            st = hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for %lld forecasts of %lld steps", (long long)ne,
                              (long long)Lg);
            break;
        }
        st = hs_lstm_predict(m, d, ends, ne, (int)Lg, pad, fc);
        for (int64_t e = 0; st == HS_OK && e < ne; e++) {
            int64_t c = cut[who[e]], r = first[who[e]];
            for (int i = 0; i <= g; i++) {
                int64_t L = hs_lead_sample_points(i, step);
                if (L <= 0 || c + L >= n)
                    continue;
                out->cutoff[r] = ds[c];
                out->ds[r] = ds[c + L];
                out->y[r] = yin[c + L];
                out->yhat[r] = hs_lstm_scale_back(sc, fc[e * Lg + L - 1]);
                r++;
            }
        }
        free(fc);
    }
    free(cut);
    free(first);
    free(ends);
    free(who);
    if (st != HS_OK)
        hs_bt_table_free(out);
    return st;
}
