/* profile.c: the mean daily and weekly profiles of a series (profile.h). They used to be computed
 * inside the plot; here they are plain numbers a caller (or a test) can check and the plot only
 * draws. The time of a point within a day or a week comes from math/calendar.h, the same day and
 * weekday decomposition as the LSTM's calendar inputs. */
#include "hyscale/profile.h"

#include <math.h>
#include <stdlib.h>

#include "hyscale/math/calendar.h"

enum { HS_DAY = HS_CAL_SECONDS_PER_DAY, HS_WEEK = HS_CAL_DAYS_PER_WEEK * HS_CAL_SECONDS_PER_DAY };

/* Buckets for a profile of `period` seconds: one per `unit` seconds, fewer when points are sparser. */
static int64_t hs_profile_buckets(int64_t period, int64_t unit, int64_t step)
{
    if (step <= unit)
        return period / unit;
    int64_t nb = period / step;
    return nb > 0 ? nb : 1;
}

/* Seconds since the start of the period (a UTC day, or a week from Monday 00:00 UTC) at unix time ts. */
static int64_t hs_profile_offset(int64_t ts, int64_t period)
{
    hs_cal_day d = hs_cal_split(ts, HS_CAL_SECONDS_PER_DAY);
    if (period == HS_DAY)
        return d.within;
    return hs_cal_weekday(d.day, HS_CAL_UNIX_WEEKDAY0) * HS_CAL_SECONDS_PER_DAY + d.within;
}

/* Fills p->mean (nb) with the mean clipped value per bucket, NaN where empty; count (nb) is scratch. */
static void hs_profile_fill(hs_profile *p, const hs_series *s, int64_t *count)
{
    for (int64_t b = 0; b < p->nb; b++) {
        p->mean[b] = 0;
        count[b] = 0;
    }
    for (int64_t i = 0; i < s->n; i++) {
        if (!isfinite(s->clipped[i]))
            continue;
        int64_t b = hs_profile_offset(s->start_unix + i * s->step_seconds, p->period) * p->nb / p->period;
        p->mean[b] += s->clipped[i];
        count[b]++;
    }
    p->filled = 0;
    for (int64_t b = 0; b < p->nb; b++) {
        if (count[b] > 0) {
            p->mean[b] /= (double)count[b];
            p->filled++;
        } else {
            p->mean[b] = NAN;
        }
    }
}

hs_status hs_series_profiles_init(hs_series_profiles *p, const hs_series *s)
{
    HS_ASSERT(p && s && s->step_seconds > 0 && (s->n == 0 || s->clipped));
    p->daily = (hs_profile){.period = HS_DAY, .nb = hs_profile_buckets(HS_DAY, 60, s->step_seconds)};
    p->weekly = (hs_profile){.period = HS_WEEK, .nb = hs_profile_buckets(HS_WEEK, 3600, s->step_seconds)};
    p->daily.mean = malloc((size_t)p->daily.nb * sizeof *p->daily.mean);
    p->weekly.mean = malloc((size_t)p->weekly.nb * sizeof *p->weekly.mean);
    int64_t *count = malloc((size_t)(p->daily.nb > p->weekly.nb ? p->daily.nb : p->weekly.nb) * sizeof *count);
    if (!p->daily.mean || !p->weekly.mean || !count) {
        free(count);
        hs_series_profiles_free(p);
        return hs_error_set(HS_ERR_NOMEM, "out of memory for the profiles of a series of %lld points",
                            (long long)s->n);
    }
    hs_profile_fill(&p->daily, s, count);
    hs_profile_fill(&p->weekly, s, count);
    free(count);
    return HS_OK;
}

void hs_series_profiles_free(hs_series_profiles *p)
{
    if (!p)
        return;
    free(p->daily.mean);
    free(p->weekly.mean);
    p->daily.mean = p->weekly.mean = NULL;
}
