/* profile.h: the mean daily and weekly profiles of a series' cleaned (clipped) values, the
 * numbers behind the bottom panels of series.png. Computed here, drawn by plot.h.
 *
 *     hs_series_profiles p;
 *     HS_TRY(hs_series_profiles_init(&p, &series));
 *     st = hs_plot_series_png(tmp_path, &series, &p, title);
 *     hs_series_profiles_free(&p);
 *
 * A profile splits its period (a UTC day, or a week starting Monday 00:00 UTC; math/calendar.h
 * fixes the weekday origin) into nb equal buckets: one a minute (daily) or an hour (weekly), or
 * one per step when the series' points are sparser. mean[b] is the mean of the finite clipped
 * values whose time falls in bucket b, NaN for a bucket with none.
 */
#ifndef HYSCALE_PROFILE_H
#define HYSCALE_PROFILE_H

#include <stdint.h>

#include "hyscale/series.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_profile {
    int64_t period; /* seconds: 86400 (daily) or 604800 (weekly) */
    int64_t nb;     /* buckets; each covers period / nb seconds */
    int64_t filled; /* buckets holding at least one finite value */
    double *mean;   /* (nb), owned: freed by hs_series_profiles_free */
} hs_profile;

typedef struct hs_series_profiles {
    hs_profile daily;  /* by time of day (UTC) */
    hs_profile weekly; /* by time since Monday 00:00 UTC */
} hs_series_profiles;

/* Computes both profiles of s (step_seconds > 0; n may be 0: every bucket empty). HS_ERR_NOMEM
 * when the buckets cannot be allocated (nothing is left allocated). Free with
 * hs_series_profiles_free. */
hs_status hs_series_profiles_init(hs_series_profiles *p, const hs_series *s);
/* Frees the buckets; a zeroed or freed struct is fine. */
void hs_series_profiles_free(hs_series_profiles *p);

#ifdef __cplusplus
}
#endif
#endif
