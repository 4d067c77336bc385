/* lead.c: the leads and the rolling cutoffs of the scores by lead time (lead.h). */
#include "hyscale/lead.h"

int64_t hs_lead_minutes(int i)
{
    static const int64_t m[HS_LEADS] = {1, 5, 15, 60, 240, 1440};
    return i >= 0 && i < HS_LEADS ? m[i] : 0;
}

int64_t hs_lead_points(int i, int64_t step_seconds)
{
    int64_t s = hs_lead_minutes(i) * 60;
    return step_seconds > 0 && s % step_seconds == 0 ? s / step_seconds : 0;
}

int64_t hs_lead_stride(int64_t step_seconds)
{
    int64_t p = step_seconds > 0 ? HS_LEAD_STRIDE_SECONDS / step_seconds : 1;
    return p >= 1 ? p : 1;
}

int64_t hs_lead_cutoffs(int64_t n_train, int64_t n, int64_t step_seconds, int64_t *cut)
{
    if (n_train < 1 || n_train >= n)
        return 0;
    int64_t k = 0, s = hs_lead_stride(step_seconds);
    for (int64_t c = n_train - 1; c + 1 < n; c += s) {
        if (cut)
            cut[k] = c;
        k++;
    }
    return k;
}

int64_t hs_lead_validation_start(int64_t n_train) { return n_train - n_train / 10; }

/* every minute to 15 (15), every 5 to 60 (9), every 15 to 240 (12), every 60 to 1,440 (20) */
int64_t hs_lead_sample_minutes(int j)
{
    if (j < 0 || j >= HS_LEAD_SAMPLES)
        return 0;
    if (j < 15)
        return j + 1;
    if (j < 24)
        return 15 + 5 * (j - 14);
    if (j < 36)
        return 60 + 15 * (j - 23);
    return 240 + 60 * (j - 35);
}

int hs_lead_sample_bucket(int j)
{
    int64_t m = hs_lead_sample_minutes(j);
    for (int i = 0; m > 0 && i < HS_LEADS; i++)
        if (m <= hs_lead_minutes(i))
            return i;
    return -1;
}

int64_t hs_lead_sample_points(int j, int64_t step_seconds)
{
    int64_t s = hs_lead_sample_minutes(j) * 60;
    return step_seconds > 0 && s % step_seconds == 0 ? s / step_seconds : 0;
}

int hs_lead_sample_of(int64_t L, int64_t step_seconds)
{
    if (L <= 0 || step_seconds <= 0 || (L * step_seconds) % 60 != 0)
        return -1;
    int64_t m = L * step_seconds / 60;
    for (int j = 0; j < HS_LEAD_SAMPLES; j++)
        if (hs_lead_sample_minutes(j) == m)
            return j;
    return -1;
}

int hs_lead_sample_last(int64_t c, int64_t n, int64_t step_seconds)
{
    int last = -1;
    for (int j = 0; j < HS_LEAD_SAMPLES; j++) {
        int64_t L = hs_lead_sample_points(j, step_seconds);
        if (L > 0 && c + L < n)
            last = j;
    }
    return last;
}

int64_t hs_lead_bucket_first_minutes(int i) { return i <= 0 ? 1 : hs_lead_minutes(i - 1) + 1; }
