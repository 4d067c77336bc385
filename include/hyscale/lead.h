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
 * whole (a daily series keeps 1,440 minutes = 1 point alone). Each is the end of a bucket, the
 * leads after the one before up to it: 1, 2-5, 6-15, 16-60, 61-240 and 241-1,440 minutes, scored
 * at the sampled leads inside it (HS_LEAD_SAMPLES: every minute to 15, every 5 to 60, every 15
 * to 240, every 60 to 1,440; those a whole number of points). A bucket's score pools every
 * cutoff and sampled lead in it: the day's bucket of a one-day holdout pools 1,640 forecasts from
 * 163 cutoffs, where the day alone lands from one cutoff (one point: the report's first version
 * scored the day on that one point, a coin toss). A cutoff is the index of the last
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

/* The sampled leads, in increasing order: j (0 <= j < HS_LEAD_SAMPLES) in minutes, its bucket
 * (the lead index it ends at or before, 0 .. HS_LEADS - 1), in points of step_seconds (0 when
 * not whole), and the sample of a lead of L points (-1 when L is no sampled lead). */
#define HS_LEAD_SAMPLES 56
int64_t hs_lead_sample_minutes(int j);
int hs_lead_sample_bucket(int j);
int64_t hs_lead_sample_points(int j, int64_t step_seconds);
int hs_lead_sample_of(int64_t L, int64_t step_seconds);

/* The largest sample whose points from cutoff c land inside n points (c + L < n), or -1. */
int hs_lead_sample_last(int64_t c, int64_t n, int64_t step_seconds);

/* The first minute of bucket i: 1 for the first, else one after the lead before. */
int64_t hs_lead_bucket_first_minutes(int i);

#ifdef __cplusplus
}
#endif
#endif
