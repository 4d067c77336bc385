/* lstm_calendar.h: the LSTM's calendar inputs, shared by the host window gather
 * (src/backend/lstm_window.c) and the CUDA gather and forecast kernels: for time index t of a
 * series starting at start_unix with steps of step_seconds, f[1..4] = sin/cos of the time of day
 * and of the day of week (Monday = 0), computed in double as the host does. The day and weekday
 * come from math/calendar.h, which documents the weekday origin. */
#ifndef HYSCALE_MATH_LSTM_CALENDAR_H
#define HYSCALE_MATH_LSTM_CALENDAR_H

#include <math.h>
#include <stdint.h>

#include "hyscale/math/calendar.h"
#include "hyscale/math/hd.h"

static inline HS_HD void hs_lstm_calendar_at(int64_t start_unix, int64_t step_seconds, int64_t t, float *f)
{
    hs_cal_day d = hs_cal_split(start_unix + t * step_seconds, HS_CAL_SECONDS_PER_DAY);
    double mod = (double)d.within / (double)HS_CAL_SECONDS_PER_DAY;
    double dow = (double)hs_cal_weekday(d.day, HS_CAL_UNIX_WEEKDAY0) / (double)HS_CAL_DAYS_PER_WEEK;
    f[1] = (float)sin(HS_CAL_TWO_PI * mod);
    f[2] = (float)cos(HS_CAL_TWO_PI * mod);
    f[3] = (float)sin(HS_CAL_TWO_PI * dow);
    f[4] = (float)cos(HS_CAL_TWO_PI * dow);
}

#endif
