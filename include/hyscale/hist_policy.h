/* hist_policy.h: the hybrid-histogram keep-alive and pre-warm policy of Shahrad et al.,
 * "Serverless in the Wild" (USENIX ATC 2020), replayed on one function's per-minute activity.
 *
 *     hs_hist_config cfg = HS_HIST_DEFAULTS;      // 4 h range, 5th/99th percentiles, CV >= 2
 *     hs_hist_stats st;
 *     HS_TRY(hs_hist_policy_run(&cfg, active, n, t_begin, t_end, warm, &st));
 *     // warm[t] for t_begin < t <= t_end; a cold start is active[t] && !warm[t]
 *
 * Time is in whole minutes. active (n) is the binary view of one function: nonzero when the
 * function had any invocation in minute t. The policy learns online from minute 0, so the
 * minutes before t_begin are its training history; warm[t] depends only on active[0..t-1].
 *
 * Conventions (all windows are measured from the end of the last active minute t_a):
 * - Idle time (IT) between active minutes t_a < t_b with none between: t_b - t_a - 1 minutes
 *   (consecutive active minutes give IT 0). It is recorded when minute t_b is seen.
 * - With pre-warm pw and keep-alive ka, minute t is warm iff t_a + pw < t <= t_a + pw + ka.
 *   pw = 0, ka = 10 keeps the instance for the 10 minutes after t_a; pw > 0 unloads it right
 *   after t_a and loads it again for minutes t_a+pw+1 .. t_a+pw+ka. A next invocation with IT
 *   k is warm iff pw <= k < pw + ka. The same rule holds right after an active minute
 *   (t = t_a + 1, IT 0): warm iff pw == 0. warm[t] is the state at the start of minute t; an
 *   active minute has its instance loaded during it whatever warm[t] says.
 * - The windows are recomputed at each active minute from the ITs recorded so far, first
 *   match wins:
 *   1. no IT yet: fixed keep-alive (pw = 0, ka = bins, the histogram range);
 *   2. OOB ITs / all ITs >= oob_max_frac: time series. The predicted IT P is an exponential
 *      smoothing of the OOB ITs only, P <- ts_alpha*IT + (1-ts_alpha)*P, started at the
 *      first one; pw = floor((1-ts_margin)*P), end = ceil((1+ts_margin)*P), ka = end - pw;
 *   3. fewer than min_its in-range ITs, or CV < cv_min (not representative): fixed keep-alive;
 *   4. the histogram: head H = the prewarm_pct percentile bin, tail T = the keepalive_pct
 *      percentile bin + 1 (its upper edge), where the p percentile bin is the first bin whose
 *      cumulative count is positive and reaches p/100 of the in-range ITs;
 *      pw = floor((1-margin)*H), end = ceil((1+margin)*T), ka = end - pw.
 *   Rounding uses a 1e-9 guard so that 1.1*30 gives 33, not 34.
 * - Histogram: one bin per minute of IT, bins 0..bins-1; IT >= bins is out of bounds (OOB) and
 *   is not binned. CV is the population standard deviation of the bins' counts (all bins,
 *   empty ones included) over their mean.
 * - Before the first active minute nothing is loaded: warm is 0 and the minute counts as a
 *   fixed-keep-alive decision.
 */
#ifndef HYSCALE_HIST_POLICY_H
#define HYSCALE_HIST_POLICY_H

#include <stdint.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_hist_config {
    int bins;             /* histogram range in 1-minute bins (240 = 4 h); also the fixed keep-alive, >= 1 */
    double prewarm_pct;   /* head percentile for the pre-warm window, 0..100 (5) */
    double keepalive_pct; /* tail percentile for the keep-alive end, prewarm_pct..100 (99) */
    double margin;        /* histogram margin: pre-warm * (1-margin), end * (1+margin), 0..1 (0.10) */
    double cv_min;        /* histogram used only when the CV of its bin counts is >= cv_min (2) */
    double oob_max_frac;  /* time series when OOB ITs / all ITs >= this, (0, 1] (0.5) */
    int min_its;          /* histogram used only with >= min_its in-range ITs, >= 0 (5) */
    double ts_alpha;      /* smoothing weight of the newest OOB IT, (0, 1] (0.5) */
    double ts_margin;     /* time-series margin: pw = (1-m)*P, end = (1+m)*P, 0..1 (0.15) */
} hs_hist_config;

#define HS_HIST_DEFAULTS {240, 5.0, 99.0, 0.10, 2.0, 0.5, 5, 0.5, 0.15}

typedef struct hs_hist_stats {
    int64_t decisions_hist;  /* minutes in (t_begin, t_end] decided by the histogram windows */
    int64_t decisions_fixed; /* ... by the fixed keep-alive (including before any activity) */
    int64_t decisions_ts;    /* ... by the time-series prediction */
    int64_t idle_times;      /* ITs recorded from active[0..t_end-1] (all, OOB included) */
    int64_t idle_oob;        /* of which out of bounds (IT >= bins) */
    int64_t prewarm;         /* pw in effect for minute t_end (0 before any activity) */
    int64_t keepalive;       /* ka in effect for minute t_end (0 before any activity) */
} hs_hist_stats;

/* Replays the policy over active (n) from minute 0 and writes warm[t] (0 or 1) for
 * t_begin < t <= t_end; the other entries of warm (n) are left untouched. stats may be NULL.
 * Requires 0 <= t_begin <= t_end < n (t_begin == t_end decides nothing) and a valid cfg;
 * otherwise returns HS_ERR_USAGE with a message naming the field. NULL cfg, active or warm is
 * a caller bug (HS_ASSERT). Allocates one scratch histogram of cfg->bins counts, freed before
 * returning (HS_ERR_NOMEM if that fails). O(n + active minutes * bins). */
hs_status hs_hist_policy_run(const hs_hist_config *cfg, const uint8_t *active, int64_t n, int64_t t_begin,
                             int64_t t_end, uint8_t *warm, hs_hist_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
