/* lstm_calendar.h: the LSTM's calendar inputs, shared by the host window gather
 * (src/forecast/lstm_train.c) and the CUDA gather and forecast kernels: for time index t of a
 * series starting at start_unix with steps of step_seconds, f[1..4] = sin/cos of the minute of
 * day and of the day of week (Monday = 0), computed in double as the host does. */
#ifndef HYSCALE_MATH_LSTM_CALENDAR_H
#define HYSCALE_MATH_LSTM_CALENDAR_H

#include <math.h>
#include <stdint.h>

#include "hyscale/math/hd.h"

#define HS_LSTM_TWO_PI 6.283185307179586476925286766559

static inline HS_HD void hs_lstm_calendar_at(int64_t start_unix, int64_t step_seconds, int64_t t, float *f)
{
    int64_t ts = start_unix + t * step_seconds;
    int64_t day = ts >= 0 ? ts / 86400 : -((-ts + 86399) / 86400);
    double mod = (double)(ts - day * 86400) / 86400.0;
    double dow = (double)(((day + 3) % 7 + 7) % 7) / 7.0; /* 1970-01-01 was a Thursday: Monday = 0 */
    f[1] = (float)sin(HS_LSTM_TWO_PI * mod);
    f[2] = (float)cos(HS_LSTM_TWO_PI * mod);
    f[3] = (float)sin(HS_LSTM_TWO_PI * dow);
    f[4] = (float)cos(HS_LSTM_TWO_PI * dow);
}

#endif
