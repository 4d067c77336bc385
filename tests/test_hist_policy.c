/* test_hist_policy.c: the hybrid-histogram keep-alive / pre-warm policy (hist_policy.h) on
 * hand-computed per-minute series: the window convention, a periodic function (histogram
 * path), the fixed fallback (too few ITs, flat histogram), OOB functions (time-series path),
 * no peeking at the future, and bad arguments. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/hist_policy.h"

/* Active minutes from a list of idle times: first activity at minute `first`, then each IT k
 * puts the next active minute k+1 later. Returns the last active minute; active must hold
 * it + 1 entries and be zeroed. */
static int64_t build_from_its(uint8_t *active, int64_t first, const int64_t *its, int n_its)
{
    int64_t t = first;
    active[t] = 1;
    for (int i = 0; i < n_its; i++) {
        t += its[i] + 1;
        active[t] = 1;
    }
    return t;
}

/* The last active minute strictly before t, -1 when none. */
static int64_t last_before(const uint8_t *active, int64_t t)
{
    for (int64_t u = t - 1; u >= 0; u--)
        if (active[u])
            return u;
    return -1;
}

static hs_hist_stats run_ok(const hs_hist_config *cfg, const uint8_t *active, int64_t n, int64_t t_begin,
                            int64_t t_end, uint8_t *warm)
{
    hs_hist_stats st;
    memset(&st, 0xab, sizeof st);
    hs_status rc = hs_hist_policy_run(cfg, active, n, t_begin, t_end, warm, &st);
    cr_assert_eq(rc, HS_OK, "run failed: %s", hs_error_message());
    cr_assert_eq(st.decisions_hist + st.decisions_fixed + st.decisions_ts, t_end - t_begin);
    return st;
}

/* pw = 0, ka = 10 (the fixed keep-alive with bins = 10): warm for exactly the 10 minutes
 * after the last active minute; IT 0 (the next minute active) is warm. */
Test(hist_policy, fixed_keepalive_convention)
{
    hs_hist_config cfg = HS_HIST_DEFAULTS;
    cfg.bins = 10;
    uint8_t active[40] = {0}, warm[40];
    active[5] = 1;
    memset(warm, 7, sizeof warm);
    hs_hist_stats st = run_ok(&cfg, active, 40, 0, 39, warm);
    cr_assert_eq(warm[0], 7, "warm[t_begin] must be left untouched");
    for (int t = 1; t < 40; t++)
        cr_assert_eq(warm[t], (t >= 6 && t <= 15), "minute %d: warm %d", t, warm[t]);
    cr_assert_eq(st.decisions_fixed, 39);
    cr_assert_eq(st.idle_times, 0);
    cr_assert_eq(st.prewarm, 0);
    cr_assert_eq(st.keepalive, 10);

    /* two consecutive active minutes: IT 0, and minute 6 is warm */
    active[6] = 1;
    st = run_ok(&cfg, active, 40, 0, 39, warm);
    cr_assert_eq(st.idle_times, 1);
    cr_assert_eq(warm[6], 1);
    cr_assert_eq(warm[16], 1);
    cr_assert_eq(warm[17], 0);
}

/* Invoked every 30 minutes: IT 29 every time. After min_its = 5 ITs the histogram is one bin
 * (CV = sqrt(239)), head 29, tail 30: pw = floor(0.9*29) = 26, end = ceil(1.1*30) = 33,
 * ka = 7. Warm at t_a+27 .. t_a+30 (the invocation), unloaded at t_a+1 .. t_a+26. */
Test(hist_policy, periodic_30_minutes_is_prewarmed)
{
    enum { N = 30 * 100 + 1 };
    static uint8_t active[N], warm[N];
    for (int t = 0; t < N; t += 30)
        active[t] = 1;

    /* before the 5th IT (recorded at minute 150): fixed keep-alive, always warm */
    hs_hist_stats st = run_ok(&(hs_hist_config)HS_HIST_DEFAULTS, active, N, 0, 150, warm);
    cr_assert_eq(st.decisions_fixed, 150);
    for (int t = 1; t <= 150; t++)
        cr_assert_eq(warm[t], 1, "minute %d", t);

    st = run_ok(&(hs_hist_config)HS_HIST_DEFAULTS, active, N, 200, N - 1, warm);
    cr_assert_eq(st.decisions_hist, N - 1 - 200);
    cr_assert_eq(st.prewarm, 26);
    cr_assert_eq(st.keepalive, 7);
    cr_assert_eq(st.idle_times, 99);
    cr_assert_eq(st.idle_oob, 0);
    int cold = 0, warm_minutes = 0;
    for (int t = 201; t < N; t++) {
        int r = t % 30;
        cr_assert_eq(warm[t], (r == 0 || r >= 27), "minute %d (t mod 30 = %d): warm %d", t, r, warm[t]);
        cold += active[t] && !warm[t];
        warm_minutes += warm[t];
    }
    cr_assert_eq(cold, 0);
    cr_assert_eq(warm_minutes, 94 * 4); /* minutes 30k-3 .. 30k for k = 7..100 */
}

/* 19 ITs of 10 and one of 50 (20 in range): the 5th percentile bin is 10, the 99th is 50
 * (cumulative 19 < 19.8 at bin 10), so T = 51: pw = floor(9.0) = 9, end = ceil(56.1) = 57,
 * ka = 48. */
Test(hist_policy, percentiles_and_margins)
{
    int64_t its[20];
    for (int i = 0; i < 20; i++)
        its[i] = i == 7 ? 50 : 10;
    static uint8_t active[600], warm[600];
    int64_t last = build_from_its(active, 3, its, 20);
    cr_assert_lt(last + 100, 600);
    hs_hist_stats st = run_ok(&(hs_hist_config)HS_HIST_DEFAULTS, active, 600, last, last + 100, warm);
    cr_assert_eq(st.decisions_hist, 100);
    cr_assert_eq(st.prewarm, 9);
    cr_assert_eq(st.keepalive, 48);
    for (int64_t t = last + 1; t <= last + 100; t++)
        cr_assert_eq(warm[t], (t > last + 9 && t <= last + 57), "minute %lld", (long long)t);
}

/* Too few ITs: 3 ITs of 99 are concentrated but below min_its = 5, so the fixed 240-minute
 * keep-alive applies; with min_its = 0 the same series already uses the histogram
 * (pw = floor(0.9*99) = 89, end = ceil(1.1*100) = 110). */
Test(hist_policy, too_few_its_fall_back_to_fixed)
{
    enum { N = 700 };
    static uint8_t active[N], warm[N];
    for (int t = 0; t <= 300; t += 100)
        active[t] = 1;
    hs_hist_stats st = run_ok(&(hs_hist_config)HS_HIST_DEFAULTS, active, N, 0, N - 1, warm);
    cr_assert_eq(st.decisions_hist + st.decisions_ts, 0);
    cr_assert_eq(st.idle_times, 3);
    for (int t = 1; t < N; t++)
        cr_assert_eq(warm[t], t <= 300 + 240, "minute %d", t);

    hs_hist_config cfg = HS_HIST_DEFAULTS;
    cfg.min_its = 0;
    st = run_ok(&cfg, active, N, 0, N - 1, warm);
    cr_assert_eq(st.prewarm, 89);
    cr_assert_eq(st.keepalive, 21);
    cr_assert_eq(st.decisions_fixed, 100); /* minutes 1..100, before the first IT */
    cr_assert_eq(st.decisions_hist, N - 1 - 100);
    cr_assert_eq(warm[300 + 89], 0);
    cr_assert_eq(warm[300 + 90], 1);
    cr_assert_eq(warm[300 + 110], 1);
    cr_assert_eq(warm[300 + 111], 0);
}

/* A flat histogram: ITs 7k mod 240 for k = 0..239 fill every bin once (after k ITs, k bins of
 * one count: CV = sqrt(240/k - 1) < 2 once k > 48). Then one IT of 300 (OOB, 1 in 241): the
 * fixed keep-alive ends 240 minutes after the last activity and that invocation is cold. */
Test(hist_policy, flat_histogram_falls_back_to_fixed)
{
    int64_t its[241];
    for (int k = 0; k < 240; k++)
        its[k] = (7 * k) % 240;
    its[240] = 300;
    enum { N = 240 * 241 / 2 + 241 + 301 + 10 };
    static uint8_t active[N], warm[N];
    int64_t end = build_from_its(active, 0, its, 241);
    cr_assert_lt(end, N);
    int64_t t60 = 0; /* the active minute that ends the 60th IT */
    for (int k = 0; k < 60; k++)
        t60 += its[k] + 1;
    int64_t before = end - 301; /* the active minute before the OOB gap */

    hs_hist_stats st = run_ok(&(hs_hist_config)HS_HIST_DEFAULTS, active, N, t60, end, warm);
    cr_assert_eq(st.decisions_fixed, end - t60);
    cr_assert_eq(st.idle_times, 240); /* the OOB IT ends at minute `end`, not seen for decisions */
    for (int64_t t = t60 + 1; t <= before + 240; t++)
        cr_assert_eq(warm[t], 1, "minute %lld", (long long)t);
    cr_assert_eq(warm[before + 241], 0);
    cr_assert_eq(warm[end], 0, "the invocation after a 300-minute gap is a cold start");

    st = run_ok(&(hs_hist_config)HS_HIST_DEFAULTS, active, N, end, N - 1, warm);
    cr_assert_eq(st.idle_times, 241);
    cr_assert_eq(st.idle_oob, 1);
    cr_assert_eq(st.decisions_fixed, N - 1 - end);
}

/* Every 6 hours: IT 359 >= 240 is OOB every time, so after the first IT the time series
 * predicts 359: pw = floor(0.85*359) = 305, end = ceil(1.15*359) = 413, ka = 108. Before
 * that, the fixed keep-alive covers 240 minutes and the first repeat is a cold start. */
Test(hist_policy, oob_uses_time_series)
{
    enum { N = 360 * 10 + 1 };
    static uint8_t active[N], warm[N];
    for (int t = 0; t < N; t += 360)
        active[t] = 1;
    hs_hist_stats st = run_ok(&(hs_hist_config)HS_HIST_DEFAULTS, active, N, 0, N - 1, warm);
    cr_assert_eq(st.decisions_fixed, 360);
    cr_assert_eq(st.decisions_ts, N - 1 - 360);
    cr_assert_eq(st.idle_times, 9);
    cr_assert_eq(st.idle_oob, 9);
    cr_assert_eq(st.prewarm, 305);
    cr_assert_eq(st.keepalive, 108);
    for (int t = 1; t <= 360; t++)
        cr_assert_eq(warm[t], t <= 240, "minute %d", t);
    int cold = 0;
    for (int t = 361; t < N; t++) {
        int d = t - last_before(active, t);
        cr_assert_eq(warm[t], d > 305, "minute %d (d = %d)", t, d);
        cold += active[t] && !warm[t];
    }
    cr_assert_eq(cold, 0);
}

/* The smoothing: OOB ITs 299 then 399 predict 0.5*399 + 0.5*299 = 349: pw = floor(296.65) =
 * 296, end = ceil(401.35) = 402. */
Test(hist_policy, time_series_smooths_oob_its)
{
    enum { N = 1200 };
    static uint8_t active[N], warm[N];
    active[0] = active[300] = active[700] = 1;
    hs_hist_stats st = run_ok(&(hs_hist_config)HS_HIST_DEFAULTS, active, N, 700, N - 1, warm);
    cr_assert_eq(st.decisions_ts, N - 1 - 700);
    cr_assert_eq(st.prewarm, 296);
    cr_assert_eq(st.keepalive, 106);
    for (int t = 701; t < N; t++)
        cr_assert_eq(warm[t], (t > 700 + 296 && t <= 700 + 402), "minute %d", t);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* warm[t] depends on active[0..t-1] only: rewriting active[c..] (or flipping active[c]) never
 * changes warm[1..c]. The series goes through all three paths. */
Test(hist_policy, no_peeking)
{
    enum { N = 6000 };
    static uint8_t active[N], other[N], warm[N], warm2[N];
    uint32_t seed = 12345;
    active[0] = active[400] = active[800] = 1;       /* OOB ITs: time series */
    for (int t = 1000; t < 3000; t += 20)             /* periodic with jitter: histogram */
        active[t + (int)(lcg(&seed) % 3)] = 1;
    for (int t = 3000; t < N; t++)                    /* sparse noise */
        active[t] = lcg(&seed) % 37 == 0;
    hs_hist_stats st = run_ok(&(hs_hist_config)HS_HIST_DEFAULTS, active, N, 0, N - 1, warm);
    cr_assert_gt(st.decisions_ts, 0);
    cr_assert_gt(st.decisions_hist, 0);
    cr_assert_gt(st.decisions_fixed, 0);

    const int64_t cuts[] = {1, 2, 399, 400, 401, 800, 801, 1000, 1500, 2999, 3000, 4500, N - 2, N - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        int64_t c = cuts[i];
        for (int mode = 0; mode < 2; mode++) {
            memcpy(other, active, N);
            if (mode == 0)
                for (int64_t t = c; t < N; t++)
                    other[t] = lcg(&seed) % 5 == 0;
            else
                other[c] = !other[c];
            run_ok(&(hs_hist_config)HS_HIST_DEFAULTS, other, N, 0, N - 1, warm2);
            for (int64_t t = 1; t <= c; t++)
                cr_assert_eq(warm2[t], warm[t], "cut %lld mode %d: minute %lld changed", (long long)c, mode,
                             (long long)t);
        }
    }
}

/* Bad ranges and configs return HS_ERR_USAGE with a message and write nothing. */
Test(hist_policy, bad_arguments)
{
    uint8_t active[10] = {1, 0, 1}, warm[10];
    hs_hist_config good = HS_HIST_DEFAULTS;
    struct {
        int64_t n, b, e;
    } ranges[] = {{10, 0, 10}, {10, -1, 5}, {10, 6, 5}, {0, 0, 0}, {-3, 0, 0}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        memset(warm, 7, sizeof warm);
        hs_error_clear();
        hs_status rc = hs_hist_policy_run(&good, active, ranges[i].n, ranges[i].b, ranges[i].e, warm, NULL);
        cr_assert_eq(rc, HS_ERR_USAGE, "range %zu: rc %d", i, rc);
        cr_assert(strstr(hs_error_message(), "hist_policy") != NULL, "range %zu: message '%s'", i,
                  hs_error_message());
        for (int t = 0; t < 10; t++)
            cr_assert_eq(warm[t], 7);
    }

    hs_hist_config bad[10];
    for (int i = 0; i < 10; i++)
        bad[i] = good;
    bad[0].bins = 0;
    bad[1].prewarm_pct = -1;
    bad[2].keepalive_pct = 4; /* below prewarm_pct */
    bad[3].keepalive_pct = 101;
    bad[4].margin = 1.0;
    bad[5].cv_min = -0.5;
    bad[6].oob_max_frac = 0;
    bad[7].min_its = -1;
    bad[8].ts_alpha = 0;
    bad[9].ts_margin = 1.5;
    for (int i = 0; i < 10; i++) {
        memset(warm, 7, sizeof warm);
        hs_error_clear();
        hs_status rc = hs_hist_policy_run(&bad[i], active, 10, 0, 9, warm, NULL);
        cr_assert_eq(rc, HS_ERR_USAGE, "config %d: rc %d", i, rc);
        cr_assert(hs_error_message()[0] != '\0', "config %d: no message", i);
        for (int t = 0; t < 10; t++)
            cr_assert_eq(warm[t], 7);
    }

    /* an empty range is fine and decides nothing; stats may be NULL */
    memset(warm, 7, sizeof warm);
    cr_assert_eq(hs_hist_policy_run(&good, active, 10, 4, 4, warm, NULL), HS_OK);
    for (int t = 0; t < 10; t++)
        cr_assert_eq(warm[t], 7);
}

/* A NULL buffer is a caller bug: HS_ASSERT aborts. */
Test(hist_policy, null_buffer_asserts, .signal = SIGABRT)
{
    hs_hist_config cfg = HS_HIST_DEFAULTS;
    uint8_t warm[4];
    hs_hist_policy_run(&cfg, NULL, 4, 0, 3, warm, NULL);
}
