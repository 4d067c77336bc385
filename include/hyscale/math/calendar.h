/* calendar.h: the one day / weekday decomposition behind every calendar feature, shared by the
 * C loops and the CUDA kernels (HS_HD). Two callers build on it:
 *
 *   - the LSTM's inputs (math/lstm_calendar.h) from unix time, in seconds:
 *         hs_cal_day d = hs_cal_split(ts, HS_CAL_SECONDS_PER_DAY);
 *         int64_t wd = hs_cal_weekday(d.day, HS_CAL_UNIX_WEEKDAY0);   0 = Monday
 *   - the environment's observation entries 17..20 (math/env_step.h) from a minute index t >= 0
 *     of the series (ENV.md v1: day t div 1440, weekday (t div 1440) mod 7):
 *         hs_cal_day d = hs_cal_split(t, HS_CAL_MINUTES_PER_DAY);
 *         int64_t wd = hs_cal_weekday(d.day, HS_CAL_SERIES_WEEKDAY0);  0 = the series' first day
 *
 * The weekday origin: weekday 0 is the weekday of day index 0 plus `weekday0`, so
 * hs_cal_weekday(day, w0) = (day + w0) mod 7 in 0..6. For unix time day 0 is 1970-01-01, a
 * Thursday, and w0 = 3 makes Monday weekday 0. The environment counts from the first day of its
 * series (w0 = 0), whatever weekday that was. Both origins are fixed: the LSTM's by trained weights,
 * the environment's by ENV.md version 1.
 *
 * Days are floor divisions (the time of day is in [0, per_day) for negative times too); for
 * x >= 0 that is C's / and %, so the env's t div 1440 and t mod 1440 come out exactly. */
#ifndef HYSCALE_MATH_CALENDAR_H
#define HYSCALE_MATH_CALENDAR_H

#include <stdint.h>

#include "hyscale/math/hd.h"

#define HS_CAL_SECONDS_PER_DAY 86400
#define HS_CAL_MINUTES_PER_DAY 1440
#define HS_CAL_DAYS_PER_WEEK 7
#define HS_CAL_UNIX_WEEKDAY0 3   /* 1970-01-01 was a Thursday: Monday = 0 */
#define HS_CAL_SERIES_WEEKDAY0 0 /* a series' first day is weekday 0 */
#define HS_CAL_TWO_PI 6.283185307179586476925286766559

typedef struct hs_cal_day {
    int64_t day;    /* floor(x / per_day) */
    int64_t within; /* x - day * per_day, in [0, per_day) */
} hs_cal_day;

/* x (in units of which per_day > 0 make a day) as whole days and the rest. */
static inline HS_HD hs_cal_day hs_cal_split(int64_t x, int64_t per_day)
{
    hs_cal_day d;
    d.day = x >= 0 ? x / per_day : -((-x + per_day - 1) / per_day);
    d.within = x - d.day * per_day;
    return d;
}

/* The weekday (0..6) of day index `day` when day 0 is weekday `weekday0` (see the top). */
static inline HS_HD int64_t hs_cal_weekday(int64_t day, int64_t weekday0)
{
    return ((day + weekday0) % HS_CAL_DAYS_PER_WEEK + HS_CAL_DAYS_PER_WEEK) % HS_CAL_DAYS_PER_WEEK;
}

#endif
