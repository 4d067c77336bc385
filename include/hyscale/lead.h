/* lead.h: scores by lead time from rolling origins over a holdout: the one rule the LSTM stage
 * (which forecasts from every origin, lstm_by_lead.csv) and the forecast report (which scores
 * every model and baseline there, forecast_by_lead.csv) share.
 *
 *     int64_t cut[HS_LEAD_MAX_CUTOFFS(H)];
 *     int64_t nc = hs_lead_cutoffs(n - H, n, step_seconds, cut);
 *     for (int i = 0; i < HS_LEADS; i++) {
 *         int64_t L = hs_lead_points(i, step_seconds);          // 0: not a whole number of points
 *         for (int64_t c = 0; L > 0 && c < nc && cut[c] + L < n; c++)
 *             ... the forecast made knowing points [0, cut[c]] of point cut[c] + L ...
 *     }
 *
 * Leads: 1, 5, 15, 60, 240 and 1,440 minutes, each in points of the series' step when that is
 * whole (a daily series keeps 1,440 minutes = 1 point alone). A cutoff is the index of the last
 * point known: the end of training (n_train - 1), then every HS_LEAD_STRIDE_SECONDS (7 minutes;
 * at least one point) while a point follows it. A lead is scored over the cutoffs from which it
 * lands inside the series: a one-day holdout of minutes gives 206 cutoffs at lead 1, 172 at 240
 * minutes and 1 at a day. 7 minutes, prime to the 5, 15 and 60 minutes the traces' timers fire
 * at: a 5-minute grid scored the timers' minutes alone (lead 1's MAE 25% above the same forecasts'
 * over every minute of the built-in trace), and every minute costs the LSTM 5 times the steps
 * (300,000 recursive steps for a day: 20 s of CPU) for little more precision.
 */
#ifndef HYSCALE_LEAD_H
#define HYSCALE_LEAD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HS_LEADS 6
#define HS_LEAD_STRIDE_SECONDS 420
/* Room for the cutoffs of a holdout of H points (any step). */
#define HS_LEAD_MAX_CUTOFFS(H) ((H) > 0 ? (H) : 1)

/* Lead i (0 <= i < HS_LEADS) in minutes: 1, 5, 15, 60, 240, 1440. */
int64_t hs_lead_minutes(int i);

/* Lead i in points of step_seconds, or 0 when it is not a whole number of points. */
int64_t hs_lead_points(int i, int64_t step_seconds);

/* Points between two cutoffs: HS_LEAD_STRIDE_SECONDS in points, at least 1. */
int64_t hs_lead_stride(int64_t step_seconds);

/* The cutoffs of a holdout: n_train - 1, then every hs_lead_stride points while cutoff + 1 < n;
 * written to cut (room for n - n_train) when not NULL; returns the count (0 when n_train < 1 or
 * n_train >= n). */
int64_t hs_lead_cutoffs(int64_t n_train, int64_t n, int64_t step_seconds, int64_t *cut);

/* The start of the validation span of a training span of n_train points: the last tenth,
 * [n_train - n_train / 10, n_train) (the LSTM's early stopping with its default val_frac 0.1;
 * the Prophet stage forecasts it from a fit on the points before it, and the per-lead Hybrid
 * chooses its weights there). */
int64_t hs_lead_validation_start(int64_t n_train);

/* The largest lead index whose points from cutoff c land inside n points (c + L < n), or -1. */
int hs_lead_last(int64_t c, int64_t n, int64_t step_seconds);

#ifdef __cplusplus
}
#endif
#endif
