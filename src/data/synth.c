/* synth.c: the built-in synthetic trace generator (synth.h), in the Azure Functions 2019 layout.
 *
 * Why: every stage of hyscale must run without the real trace (tests, CI, a first `hyscale run`
 * on a laptop), on data that looks like it. The generator draws each function from a small model
 * calibrated on a real day (src/data/synth_calibration.h, made by scripts/calibrate_synth.py):
 *
 *   - trigger: from the shares of Shahrad et al. 2020 (approximate);
 *   - timer functions fire on a schedule: every 1..60 minutes with a phase (most aligned to the
 *     hour), every few tens of seconds, or once a day. Some are strict all day; the others carry
 *     a few perturbations a day (an extra manual run, a double firing, a missed firing);
 *   - every other function has a weekday daily volume drawn from the real inverse CDF of daily
 *     totals, times a weekly factor (day 1 is a Monday) and day-to-day noise. The day's total is
 *     spread over the minutes along a rate profile: on/off sessions (low-volume functions are
 *     idle most minutes), a daily shape for about half of them (a cosine or a busy window of some
 *     hours), a slowly varying log-normal noise (AR(1)); evenly for regular functions, as Poisson
 *     counts for random ones; plus occasional bursts (a spike over a few minutes).
 *
 * Every random draw comes from the counter-based generator (math/rng.h) on a stream named by
 * (purpose, day, function), so the output depends on the seed only, and day d is the same
 * whatever the number of days asked for. Rows are formatted by hand into one buffer per chunk.
 */
#include "hyscale/synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/math/rng.h"
#include "hyscale/manifest.h"
#include "hyscale/outfiles.h"
#include "hyscale/progress.h"
#include "synth_calibration.h"

#define HS_SYNTH_MINUTES 1440
#define HS_SYNTH_MAX_DAYS 99 /* file names carry two digits */
#define HS_SYNTH_MAX_FUNCTIONS 10000000
#define HS_SYNTH_PI 3.14159265358979323846

/* Random stream purposes (the top byte of the stream id; day and function fill the rest). */
enum { HS_SYNTH_S_FN = 1, HS_SYNTH_S_GROUP, HS_SYNTH_S_DAY, HS_SYNTH_S_HASH_OWNER, HS_SYNTH_S_HASH_APP,
       HS_SYNTH_S_HASH_FN };

/* ---- model parameters that are not measured by the calibration script ----
 * Each was tuned by hand so that the figures of a generated day (1000 functions, any seed)
 * match the calibration figures; tests/test_synth.c checks them. */

/* Apps and owners: a function starts a new app with this probability, else joins the previous
 * function's app; a new app starts a new owner with the second. Approximate: in "Serverless in
 * the Wild" about half the apps have a single function and few have more than ten. */
#define HS_SYNTH_P_NEW_APP 0.55
#define HS_SYNTH_P_NEW_OWNER 0.6
/* Weekly rhythm of non-timer volume: weekday factor 1, Saturday and Sunday lower. An assumption,
 * not a measurement: the calibration day is a single day of unknown weekday. */
#define HS_SYNTH_SATURDAY 0.75
#define HS_SYNTH_SUNDAY 0.7
/* Day-to-day noise of a function's volume: log-normal sigma. */
#define HS_SYNTH_DAY_SIGMA 0.3
/* Timers: share aligned to the hour (phase 0; the real aggregate spikes at minute 0 of each
 * hour and every 5 and 15 minutes), the share firing several times per firing minute (the real
 * 1-minute timers include constant 2, 3, 6 and 30 a minute), the range of sub-minute periods in
 * seconds (the real alternating rows: 25 to 54 s, most near 42 s), the perturbation rate range
 * of non-strict timers (events a day, uniform), and the kinds of perturbation: a manual run at a
 * random minute, a firing counted twice (a retry), else a missed firing. (The real near-timers
 * show mostly one or a few extra invocations: 289 firings of a 5-minute timer.) */
#define HS_SYNTH_TIMER_ALIGNED 0.85
#define HS_SYNTH_TIMER_MULTI 0.1
#define HS_SYNTH_SUB_LO 25.0
#define HS_SYNTH_SUB_HI 55.0
#define HS_SYNTH_TIMER_PERTURB_LO 1.0
#define HS_SYNTH_TIMER_PERTURB_HI 6.0
#define HS_SYNTH_PERTURB_MANUAL 0.6
#define HS_SYNTH_PERTURB_RETRY 0.3
/* Traffic: the share of random functions (Poisson counts; the others are regular, as most real
 * busy rows are: their per-minute variance is below the mean); invocations per on-minute
 * (log-normal median and sigma: volume / rate = on-minutes); the mean session length in minutes
 * (1 + exponential); the fewest on-minutes a function with K invocations gets (min(K, this));
 * the largest K placed invocation by invocation (above it: by expected counts per minute); the
 * AR(1) noise of the log rate (coefficient, uniform sigma range). */
#define HS_SYNTH_RANDOM 0.25
#define HS_SYNTH_ON_RATE 0.5
#define HS_SYNTH_ON_RATE_SIGMA 1.2
#define HS_SYNTH_SESSION_EXTRA 2.0
#define HS_SYNTH_MIN_ON 16
#define HS_SYNTH_SCATTER_MAX 256
#define HS_SYNTH_NOISE_PHI 0.95
#define HS_SYNTH_NOISE_SIGMA_LO 0.05
#define HS_SYNTH_NOISE_SIGMA_HI 0.3
/* Daily rhythm: share of traffic functions with one (about half the real busy rows are flat over
 * the day, the others clearly shaped: calibration fn_rhythmic_share counts timers too); of those,
 * the share shaped as a busy window of some hours (a working day, a nightly batch: many real rows
 * switch on and off for hours) rather than a cosine; the cosine's amplitude range; the spread of
 * peak hours around the calibrated one; the window's length range in hours and the highest rate
 * factor outside it (uniform from 0). */
#define HS_SYNTH_RHYTHMIC 0.45
#define HS_SYNTH_RHYTHM_WINDOW 0.4
#define HS_SYNTH_AMP_LO 0.3
#define HS_SYNTH_AMP_HI 1.0
#define HS_SYNTH_PEAK_SPREAD_H 5.0
#define HS_SYNTH_WINDOW_LO_H 3.0
#define HS_SYNTH_WINDOW_HI_H 16.0
#define HS_SYNTH_WINDOW_OUT 0.3
/* Bursts: share of traffic functions that burst, their expected bursts a day, the burst's mean
 * length in minutes, and its size as a share of the day's volume (log-normal median, sigma),
 * on top of the day's volume. */
#define HS_SYNTH_BURSTY 0.35
#define HS_SYNTH_BURSTS_PER_DAY 1.0
#define HS_SYNTH_BURSTS_SIGMA 1.0
#define HS_SYNTH_BURST_LEN 4.0
#define HS_SYNTH_BURST_SHARE 0.2
#define HS_SYNTH_BURST_SHARE_SIGMA 1.5
#define HS_SYNTH_BURST_SHARE_MAX 0.3

enum { HS_SYNTH_TRAFFIC = 0, HS_SYNTH_TIMER = 1 };

/* One function's fixed parameters (drawn once from its HS_SYNTH_S_FN stream). */
typedef struct hs_synth_fn {
    int trigger; /* index into HS_SYNTH_CAL_TRIGGERS */
    int kind;    /* HS_SYNTH_TRAFFIC or HS_SYNTH_TIMER */
    uint32_t owner, app;
    /* timer */
    int period;      /* minutes between firings (1440: once a day) */
    int phase;       /* minute of the first firing, 0..period-1 */
    int per_fire;    /* invocations per firing */
    double sub_seconds; /* 0, or a firing every this many seconds (sub-minute timers) */
    double sub_phase;   /* seconds to the first sub-minute firing, 0..sub_seconds */
    int strict;      /* 1: never perturbed */
    double perturb;  /* expected perturbations a day (non-strict) */
    /* traffic */
    double volume;      /* weekday daily invocations (before day noise) */
    double on_rate;     /* mean invocations per on-minute */
    double session;     /* mean on-session length, minutes */
    double noise_sigma; /* stationary sigma of the AR(1) log-rate noise */
    double amp;         /* cosine amplitude, 0..1 (0: none) */
    double peak;        /* minute of the diurnal peak */
    int win_start, win_len; /* busy window (minutes; win_len 0: none); outside it the rate drops */
    double win_out;         /* rate factor outside the window */
    double bursts;      /* expected bursts a day */
    int random;         /* 1: Poisson counts per minute; 0: spread evenly (regular) */
} hs_synth_fn;

/* Scratch for one function-day, allocated once per run. */
typedef struct hs_synth_work {
    double rate[HS_SYNTH_MINUTES];     /* (1440) a traffic function's rate profile, then its CDF */
    double cos_m[HS_SYNTH_MINUTES];    /* (1440) cos(2 pi m / 1440) */
    double sin_m[HS_SYNTH_MINUTES];    /* (1440) sin(2 pi m / 1440) */
    uint32_t counts[HS_SYNTH_MINUTES]; /* (1440) one function's counts for the day */
} hs_synth_work;

static uint64_t hs_synth_stream(int purpose, int day, uint32_t fn)
{
    return ((uint64_t)purpose << 56) | ((uint64_t)(uint32_t)day << 32) | fn;
}

static double hs_synth_normal(hs_rng *r)
{
    double u1 = hs_rng_next_double(r), u2 = hs_rng_next_double(r);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * HS_SYNTH_PI * u2);
}

/* Normals in pairs (both Box-Muller outputs) for the per-minute loops, where they dominate. */
typedef struct hs_synth_gauss {
    double spare;
    int has;
} hs_synth_gauss;

static double hs_synth_gauss_next(hs_rng *r, hs_synth_gauss *g)
{
    if (g->has) {
        g->has = 0;
        return g->spare;
    }
    double u1 = hs_rng_next_double(r), u2 = hs_rng_next_double(r);
    double rad = sqrt(-2.0 * log(1.0 - u1)), th = 2.0 * HS_SYNTH_PI * u2;
    g->spare = rad * sin(th);
    g->has = 1;
    return rad * cos(th);
}

/* Poisson(mu): inversion below 30, a rounded normal above (its skewness, 1/sqrt(mu) < 0.2, is
 * ignored: such counts only come from the busiest functions). */
static uint32_t hs_synth_poisson(hs_rng *r, double mu)
{
    if (mu <= 0.0)
        return 0;
    if (mu < 30.0) {
        double u = hs_rng_next_double(r), p = exp(-mu), c = p;
        uint32_t k = 0;
        while (u > c && k < 200) {
            k++;
            p *= mu / (double)k;
            c += p;
        }
        return k;
    }
    double x = floor(mu + sqrt(mu) * hs_synth_normal(r) + 0.5);
    return x <= 0.0 ? 0 : x >= 4e9 ? 4000000000u : (uint32_t)x;
}

/* An index drawn with probability proportional to w. w: (n) */
static int hs_synth_pick(hs_rng *r, const double *w, int n)
{
    double tot = 0.0;
    for (int i = 0; i < n; i++)
        tot += w[i];
    double u = hs_rng_next_double(r) * tot;
    for (int i = 0; i < n; i++) {
        if (u < w[i])
            return i;
        u -= w[i];
    }
    return n - 1;
}

/* Inverse CDF of the calibrated weekday volume: log-linear between the tabulated quantiles. */
static double hs_synth_volume(double u)
{
    static const double ps[HS_SYNTH_CAL_VOLUME_K] = HS_SYNTH_CAL_VOLUME_PS;
    static const double lq[HS_SYNTH_CAL_VOLUME_K] = HS_SYNTH_CAL_VOLUME_LOGQ;
    int k = 1;
    while (k < HS_SYNTH_CAL_VOLUME_K - 1 && u > ps[k])
        k++;
    double t = (u - ps[k - 1]) / (ps[k] - ps[k - 1]);
    t = t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t;
    return exp(lq[k - 1] + t * (lq[k] - lq[k - 1]));
}

/* Share of non-strict timers that draw no perturbation on a day: E[exp(-lambda)] for lambda
 * uniform on [LO, HI]. Used so the strict share per day matches the calibration. */
static double hs_synth_p_unperturbed(void)
{
    double lo = HS_SYNTH_TIMER_PERTURB_LO, hi = HS_SYNTH_TIMER_PERTURB_HI;
    return (exp(-lo) - exp(-hi)) / (hi - lo);
}

/* Function i's fixed parameters (owner and app come later, from hs_synth_group). */
static void hs_synth_draw_fn(uint64_t seed, uint32_t i, hs_synth_fn *f)
{
    static const double shares[HS_SYNTH_CAL_NTRIGGERS] = HS_SYNTH_CAL_TRIGGER_SHARES;
    static const int periods[HS_SYNTH_CAL_TIMER_NPERIODS] = HS_SYNTH_CAL_TIMER_PERIODS;
    static const double pweights[HS_SYNTH_CAL_TIMER_NPERIODS] = HS_SYNTH_CAL_TIMER_WEIGHTS;
    static const char *const names[HS_SYNTH_CAL_NTRIGGERS] = HS_SYNTH_CAL_TRIGGERS;
    hs_rng r = hs_rng_make(seed, hs_synth_stream(HS_SYNTH_S_FN, 0, i));
    memset(f, 0, sizeof *f);
    f->trigger = hs_synth_pick(&r, shares, HS_SYNTH_CAL_NTRIGGERS);
    f->kind = strcmp(names[f->trigger], "timer") == 0 ? HS_SYNTH_TIMER : HS_SYNTH_TRAFFIC;
    if (f->kind == HS_SYNTH_TIMER) {
        double u = hs_rng_next_double(&r);
        f->per_fire = 1;
        if (u < HS_SYNTH_CAL_TIMER_DAILY_SHARE) {
            f->period = HS_SYNTH_MINUTES;
            f->phase = 60 * (int)(hs_rng_next_double(&r) * 24.0);
        } else if (u < HS_SYNTH_CAL_TIMER_DAILY_SHARE + HS_SYNTH_CAL_TIMER_SUBMINUTE_SHARE) {
            f->period = 1;
            f->sub_seconds = HS_SYNTH_SUB_LO + hs_rng_next_double(&r) * (HS_SYNTH_SUB_HI - HS_SYNTH_SUB_LO);
            f->sub_phase = hs_rng_next_double(&r) * f->sub_seconds;
        } else {
            f->period = periods[hs_synth_pick(&r, pweights, HS_SYNTH_CAL_TIMER_NPERIODS)];
            int aligned = hs_rng_next_double(&r) < HS_SYNTH_TIMER_ALIGNED;
            f->phase = aligned ? 0 : (int)(hs_rng_next_double(&r) * f->period);
            if (hs_rng_next_double(&r) < HS_SYNTH_TIMER_MULTI)
                f->per_fire = 2 + (int)(hs_rng_next_double(&r) * 5.0);
        }
        double pu = hs_synth_p_unperturbed();
        double p_clean = (HS_SYNTH_CAL_STRICT_GIVEN_TIMER - pu) / (1.0 - pu);
        /* sub-minute timers stay unperturbed: their real rows hold exactly two values */
        f->strict = f->sub_seconds > 0.0 || hs_rng_next_double(&r) < p_clean;
        f->perturb = HS_SYNTH_TIMER_PERTURB_LO +
                     hs_rng_next_double(&r) * (HS_SYNTH_TIMER_PERTURB_HI - HS_SYNTH_TIMER_PERTURB_LO);
        return;
    }
    f->volume = hs_synth_volume(hs_rng_next_double(&r));
    f->on_rate = HS_SYNTH_ON_RATE * exp(HS_SYNTH_ON_RATE_SIGMA * hs_synth_normal(&r));
    f->session = 1.0 - HS_SYNTH_SESSION_EXTRA * log(1.0 - hs_rng_next_double(&r));
    f->noise_sigma =
        HS_SYNTH_NOISE_SIGMA_LO + hs_rng_next_double(&r) * (HS_SYNTH_NOISE_SIGMA_HI - HS_SYNTH_NOISE_SIGMA_LO);
    double peak_h = HS_SYNTH_CAL_DIURNAL_PEAK_HOUR + HS_SYNTH_PEAK_SPREAD_H * hs_synth_normal(&r);
    f->peak = fmod(fmod(peak_h * 60.0, HS_SYNTH_MINUTES) + HS_SYNTH_MINUTES, HS_SYNTH_MINUTES);
    if (hs_rng_next_double(&r) < HS_SYNTH_RHYTHMIC) {
        if (hs_rng_next_double(&r) < HS_SYNTH_RHYTHM_WINDOW) {
            double h = HS_SYNTH_WINDOW_LO_H + hs_rng_next_double(&r) * (HS_SYNTH_WINDOW_HI_H - HS_SYNTH_WINDOW_LO_H);
            f->win_len = (int)(h * 60.0);
            f->win_start = ((int)f->peak - f->win_len / 2 + HS_SYNTH_MINUTES) % HS_SYNTH_MINUTES;
            f->win_out = HS_SYNTH_WINDOW_OUT * hs_rng_next_double(&r);
        } else {
            f->amp = HS_SYNTH_AMP_LO + hs_rng_next_double(&r) * (HS_SYNTH_AMP_HI - HS_SYNTH_AMP_LO);
        }
    }
    f->random = hs_rng_next_double(&r) < HS_SYNTH_RANDOM;
    int bursty = hs_rng_next_double(&r) < HS_SYNTH_BURSTY;
    f->bursts = bursty ? HS_SYNTH_BURSTS_PER_DAY * exp(HS_SYNTH_BURSTS_SIGMA * hs_synth_normal(&r)) : 0.0;
}

/* Owner and app indices for all functions: sequential groups (see HS_SYNTH_P_NEW_APP). */
static void hs_synth_group(uint64_t seed, int n, hs_synth_fn *fns)
{
    uint32_t owner = 0, app = 0;
    for (int i = 0; i < n; i++) {
        hs_rng r = hs_rng_make(seed, hs_synth_stream(HS_SYNTH_S_GROUP, 0, (uint32_t)i));
        if (i > 0 && hs_rng_next_double(&r) < HS_SYNTH_P_NEW_APP) {
            app++;
            if (hs_rng_next_double(&r) < HS_SYNTH_P_NEW_OWNER)
                owner++;
        }
        fns[i].owner = owner;
        fns[i].app = app;
    }
}

/* One timer's counts for a day. counts: (1440) */
static void hs_synth_timer_day(const hs_synth_fn *f, hs_rng *r, uint32_t *counts)
{
    memset(counts, 0, HS_SYNTH_MINUTES * sizeof *counts);
    if (f->sub_seconds > 0.0) {
        /* firings at sub_phase + k*sub_seconds; counts[m] = firings in [60m, 60m+60) */
        double prev = 0.0;
        for (int m = 0; m < HS_SYNTH_MINUTES; m++) {
            double c = floor((60.0 * (m + 1) - f->sub_phase) / f->sub_seconds) + 1.0;
            counts[m] = (uint32_t)(c - prev);
            prev = c;
        }
    } else {
        for (int m = f->phase; m < HS_SYNTH_MINUTES; m += f->period)
            counts[m] = (uint32_t)f->per_fire;
    }
    if (f->strict)
        return;
    uint32_t events = hs_synth_poisson(r, f->perturb);
    int firings = (HS_SYNTH_MINUTES - f->phase + f->period - 1) / f->period;
    for (uint32_t e = 0; e < events; e++) {
        double u = hs_rng_next_double(r);
        int fire = f->phase + f->period * (int)(hs_rng_next_double(r) * firings);
        if (fire >= HS_SYNTH_MINUTES)
            fire = f->phase;
        if (u < HS_SYNTH_PERTURB_MANUAL)
            counts[(int)(hs_rng_next_double(r) * HS_SYNTH_MINUTES)] += 1; /* a manual run */
        else if (u < HS_SYNTH_PERTURB_MANUAL + HS_SYNTH_PERTURB_RETRY)
            counts[fire] += (uint32_t)f->per_fire; /* fired twice (a retry) */
        else
            counts[fire] = 0; /* missed */
    }
}

static double hs_synth_weekly(int day)
{
    int dow = day % 7; /* day 0 is a Monday */
    return dow == 5 ? HS_SYNTH_SATURDAY : dow == 6 ? HS_SYNTH_SUNDAY : 1.0;
}

/* One traffic function's counts for a day, into w->counts (w->rate is scratch).
 * The day's total K is drawn first (volume x weekly factor x day noise, rounded at random), so
 * low totals keep the real distribution (1, 2, 3 invocations a day); K is then spread over the
 * minutes in proportion to rate = on/off x diurnal x noise: evenly (systematic sampling, exact K)
 * for regular functions, as independent Poisson counts for random ones. Bursts come on top. */
static void hs_synth_traffic_day(const hs_synth_fn *f, int day, hs_rng *r, hs_synth_work *w)
{
    double *rate = w->rate;
    uint32_t *counts = w->counts;
    double vol = f->volume * hs_synth_weekly(day) *
                 exp(HS_SYNTH_DAY_SIGMA * hs_synth_normal(r) - 0.5 * HS_SYNTH_DAY_SIGMA * HS_SYNTH_DAY_SIGMA);
    double k = floor(vol + hs_rng_next_double(r));
    memset(counts, 0, HS_SYNTH_MINUTES * sizeof *counts);
    double on_frac = vol / HS_SYNTH_MINUTES / f->on_rate;
    if (on_frac > 1.0)
        on_frac = 1.0;
    /* on/off chain with stationary share on_frac and mean on-run f->session */
    double p_off = on_frac >= 1.0 ? 0.0 : 1.0 / f->session;
    double p_on = on_frac >= 1.0 ? 1.0 : p_off * on_frac / (1.0 - on_frac);
    if (p_on > 1.0) {
        p_on = 1.0;
        p_off = (1.0 - on_frac) / on_frac;
    }
    int on = hs_rng_next_double(r) < on_frac;
    double sig = f->noise_sigma, phi = HS_SYNTH_NOISE_PHI;
    double innov = sig * sqrt(1.0 - phi * phi), z = sig * hs_synth_normal(r);
    double wsum = 0.0;
    int n_on = 0;
    hs_synth_gauss g = {0.0, 0};
    double ca = f->amp * cos(2.0 * HS_SYNTH_PI * f->peak / HS_SYNTH_MINUTES);
    double sa = f->amp * sin(2.0 * HS_SYNTH_PI * f->peak / HS_SYNTH_MINUTES);
    for (int m = 0; m < HS_SYNTH_MINUTES; m++) {
        /* 1 + amp cos(2 pi (m - peak) / 1440), from the day's cos/sin tables */
        double d = 1.0 + ca * w->cos_m[m] + sa * w->sin_m[m];
        if (f->win_len && (m - f->win_start + HS_SYNTH_MINUTES) % HS_SYNTH_MINUTES >= f->win_len)
            d *= f->win_out;
        z = phi * z + innov * hs_synth_gauss_next(r, &g);
        rate[m] = on ? d * exp(z) : 0.0;
        wsum += rate[m];
        n_on += rate[m] > 0.0;
        on = on ? hs_rng_next_double(r) >= p_off : hs_rng_next_double(r) < p_on;
    }
    /* A tiny volume may draw fewer on-minutes than invocations (or none): switch on random
     * minutes until there are min(K, HS_SYNTH_MIN_ON) of them, so a function invoked a few times
     * a day is active in about as many minutes, as in the real trace. After this, K > 0 implies
     * wsum > 0. */
    int want = k < HS_SYNTH_MIN_ON ? (int)k : HS_SYNTH_MIN_ON;
    for (int tries = 0; n_on < want && tries < 16 * HS_SYNTH_MIN_ON; tries++) {
        int m = (int)(hs_rng_next_double(r) * HS_SYNTH_MINUTES);
        if (rate[m] > 0.0)
            continue;
        rate[m] = 1.0;
        wsum += 1.0;
        n_on++;
    }
    if (k > 0.0 && k <= HS_SYNTH_SCATTER_MAX) {
        /* few invocations: each lands on a draw from the rate profile (exact K), redrawn a few
         * times when the minute is taken (the real rows with a few invocations a day hold one
         * per minute) */
        for (int m = 1; m < HS_SYNTH_MINUTES; m++)
            rate[m] += rate[m - 1];
        for (int j = 0; j < (int)k; j++) {
            int lo = 0;
            for (int t = 0; t < 4; t++) {
                double u = hs_rng_next_double(r) * rate[HS_SYNTH_MINUTES - 1];
                int hi = HS_SYNTH_MINUTES - 1;
                lo = 0;
                while (lo < hi) {
                    int mid = (lo + hi) / 2;
                    if (rate[mid] > u)
                        hi = mid;
                    else
                        lo = mid + 1;
                }
                if (!counts[lo])
                    break;
            }
            counts[lo]++;
        }
    } else if (k > 0.0 && f->random) {
        for (int m = 0; m < HS_SYNTH_MINUTES; m++)
            if (rate[m] > 0.0)
                counts[m] = hs_synth_poisson(r, k * rate[m] / wsum);
    } else if (k > 0.0) {
        double u = hs_rng_next_double(r), cum = 0.0, prev = 0.0;
        for (int m = 0; m < HS_SYNTH_MINUTES; m++) {
            cum += rate[m];
            double c = floor(k * cum / wsum + u);
            counts[m] = (uint32_t)(c - prev);
            prev = c;
        }
    }
    uint32_t nb = f->bursts > 0.0 ? hs_synth_poisson(r, f->bursts) : 0;
    for (uint32_t b = 0; b < nb; b++) {
        int start = (int)(hs_rng_next_double(r) * HS_SYNTH_MINUTES);
        int len = 2 + (int)(-HS_SYNTH_BURST_LEN * log(1.0 - hs_rng_next_double(r)));
        double share = HS_SYNTH_BURST_SHARE * exp(HS_SYNTH_BURST_SHARE_SIGMA * hs_synth_normal(r));
        double size = vol * (share < HS_SYNTH_BURST_SHARE_MAX ? share : HS_SYNTH_BURST_SHARE_MAX);
        /* triangular spike over len minutes: weights 1, 2, .., peak, .., 2, 1 summing to wt */
        double wt = 0.0;
        for (int j = 0; j < len; j++)
            wt += 1.0 + (j < len - j - 1 ? j : len - j - 1);
        for (int j = 0; j < len && start + j < HS_SYNTH_MINUTES; j++) {
            double wj = 1.0 + (j < len - j - 1 ? j : len - j - 1);
            counts[start + j] += hs_synth_poisson(r, size * wj / wt);
        }
    }
}

/* ---- output ---- */

static char *hs_synth_put_u32(char *p, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *hs_synth_put_hash(char *p, uint64_t seed, int purpose, uint32_t idx)
{
    static const char hex[] = "0123456789abcdef";
    for (uint64_t half = 0; half < 2; half++) {
        hs_u32x4 w = hs_rng_u32x4(seed, hs_synth_stream(purpose, 0, idx), half);
        for (int k = 0; k < 4; k++)
            for (int s = 28; s >= 0; s -= 4)
                *p++ = hex[(w.v[k] >> s) & 15u];
    }
    return p;
}

typedef struct hs_synth_out {
    FILE *f;
    const char *path;
    char *buf; /* (cap) */
    size_t len, cap;
    int64_t bytes;
} hs_synth_out;

static hs_status hs_synth_flush(hs_synth_out *o)
{
    if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
        return hs_error_set(HS_ERR_IO, "%s: write failed: %s", o->path, strerror(errno));
    o->bytes += (int64_t)o->len;
    o->len = 0;
    return HS_OK;
}

/* Largest row: 3 hashes + trigger + 1440 counts of up to 10 digits, with separators. */
#define HS_SYNTH_ROW_MAX (3 * 65 + 32 + HS_SYNTH_MINUTES * 11 + 2)
#define HS_SYNTH_CHUNK (1u << 20)

static hs_status hs_synth_write_day(hs_outset *os, const hs_synth_config *cfg, const hs_synth_fn *fns, int day,
                                    hs_synth_out *o, hs_synth_work *w, hs_synth_summary *sum)
{
    const uint32_t *counts = w->counts;
    static const char *const trig[HS_SYNTH_CAL_NTRIGGERS] = HS_SYNTH_CAL_TRIGGERS;
    char name[64];
    snprintf(name, sizeof name, "invocations_per_function_md.anon.d%02d.csv", day + 1);
    HS_TRY(hs_outset_file(os, name, &o->f, &o->path));
    char *p = o->buf;
    p += sprintf(p, "HashOwner,HashApp,HashFunction,Trigger");
    for (int m = 1; m <= HS_SYNTH_MINUTES; m++) {
        *p++ = ',';
        p = hs_synth_put_u32(p, (uint32_t)m);
    }
    *p++ = '\n';
    o->len = (size_t)(p - o->buf);
    for (int i = 0; i < cfg->functions; i++) {
        const hs_synth_fn *f = &fns[i];
        hs_rng r = hs_rng_make(cfg->seed, hs_synth_stream(HS_SYNTH_S_DAY, day, (uint32_t)i));
        if (f->kind == HS_SYNTH_TIMER)
            hs_synth_timer_day(f, &r, w->counts);
        else
            hs_synth_traffic_day(f, day, &r, w);
        int64_t tot = 0;
        for (int m = 0; m < HS_SYNTH_MINUTES; m++)
            tot += counts[m];
        if (tot == 0)
            continue; /* idle all day: no row, as in the real trace */
        if (o->len + HS_SYNTH_ROW_MAX > o->cap)
            HS_TRY(hs_synth_flush(o));
        p = o->buf + o->len;
        p = hs_synth_put_hash(p, cfg->seed, HS_SYNTH_S_HASH_OWNER, f->owner);
        *p++ = ',';
        p = hs_synth_put_hash(p, cfg->seed, HS_SYNTH_S_HASH_APP, f->app);
        *p++ = ',';
        p = hs_synth_put_hash(p, cfg->seed, HS_SYNTH_S_HASH_FN, (uint32_t)i);
        *p++ = ',';
        size_t tl = strlen(trig[f->trigger]);
        memcpy(p, trig[f->trigger], tl);
        p += tl;
        for (int m = 0; m < HS_SYNTH_MINUTES; m++) {
            *p++ = ',';
            p = hs_synth_put_u32(p, counts[m]);
        }
        *p++ = '\n';
        o->len = (size_t)(p - o->buf);
        sum->invocations += tot;
        sum->rows++;
    }
    return hs_synth_flush(o);
}

static hs_status hs_synth_write_meta(hs_outset *os, const hs_synth_config *cfg, hs_synth_summary *sum)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, "SYNTHETIC.md", &f, &tmp));
    int n = fprintf(f,
                    "# Synthetic trace\n\n"
                    "This folder holds a SYNTHETIC trace made by `hyscale generate`, not real data. It\n"
                    "imitates the layout of the Azure Functions Trace 2019 "
                    "(`invocations_per_function_md.anon.dNN.csv`,\n"
                    "one row per function invoked that day, counts per minute) and is calibrated on one\n"
                    "real day (%s, figures in src/data/synth_calibration.h,\n"
                    "derived by scripts/calibrate_synth.py). The ids are pseudo hashes; day 1 is a Monday.\n\n"
                    "Configuration: days %d, functions %d, seed %llu.\n"
                    "Rows written: %lld; invocations: %lld.\n",
                    HS_SYNTH_CAL_SOURCE, cfg->days, cfg->functions, (unsigned long long)cfg->seed,
                    (long long)sum->rows, (long long)sum->invocations);
    if (n < 0)
        return hs_error_set(HS_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    sum->bytes += n;
    /* generate.json is this run's manifest: configuration, seed, timings and what was made */
    cJSON *m = hs_manifest_new("generate", 0, NULL);
    if (!m)
        return hs_error_set(HS_ERR_NOMEM, "generate: out of memory");
    cJSON_AddBoolToObject(m, "synthetic", 1);
    cJSON_AddStringToObject(m, "generator", "hyscale generate");
    cJSON_AddNumberToObject(m, "days", cfg->days);
    cJSON_AddNumberToObject(m, "functions", cfg->functions);
    cJSON_AddNumberToObject(m, "seed", (double)cfg->seed);
    cJSON_AddStringToObject(m, "calibration", HS_SYNTH_CAL_SOURCE " (scripts/calibrate_synth.py)");
    cJSON_AddNumberToObject(m, "invocations", (double)sum->invocations);
    cJSON_AddNumberToObject(m, "rows", (double)sum->rows);
    cJSON_AddNumberToObject(hs_manifest_section(m, "timings"), "total_seconds", sum->seconds);
    hs_manifest_set_device(m, HS_DEVICE_CPU);
    hs_status st = hs_json_write(os, "generate.json", m);
    cJSON_Delete(m);
    HS_TRY(st);
    return HS_OK;
}

hs_status hs_synth_generate(const hs_synth_config *cfg, const char *out_dir, hs_synth_summary *sum)
{
    if (!cfg || !out_dir || !*out_dir)
        return hs_error_set(HS_ERR_USAGE, "generate: missing configuration or output folder");
    if (cfg->days < 1 || cfg->days > HS_SYNTH_MAX_DAYS)
        return hs_error_set(HS_ERR_USAGE, "generate: days is %d, must be 1..%d (file names carry two digits)",
                            cfg->days, HS_SYNTH_MAX_DAYS);
    if (cfg->functions < 1 || cfg->functions > HS_SYNTH_MAX_FUNCTIONS)
        return hs_error_set(HS_ERR_USAGE, "generate: functions is %d, must be 1..%d", cfg->functions,
                            HS_SYNTH_MAX_FUNCTIONS);
    hs_synth_summary s;
    memset(&s, 0, sizeof s);
    s.days = cfg->days;
    s.functions = cfg->functions;
    double t0 = hs_time_now();

    hs_status st = HS_OK;
    hs_outset *os = NULL;
    hs_progress prog;
    int started = 0;
    hs_synth_out o;
    memset(&o, 0, sizeof o);
    hs_synth_fn *fns = calloc((size_t)cfg->functions, sizeof *fns);
    hs_synth_work *w = malloc(sizeof *w);
    o.cap = HS_SYNTH_CHUNK + HS_SYNTH_ROW_MAX;
    o.buf = malloc(o.cap);
    if (!fns || !w || !o.buf) {
        st = hs_error_set(HS_ERR_NOMEM, "generate: out of memory for %d functions", cfg->functions);
        goto done;
    }
    if ((st = hs_outset_open(out_dir, &os)))
        goto done;
    for (int i = 0; i < cfg->functions; i++)
        hs_synth_draw_fn(cfg->seed, (uint32_t)i, &fns[i]);
    hs_synth_group(cfg->seed, cfg->functions, fns);
    for (int m = 0; m < HS_SYNTH_MINUTES; m++) {
        w->cos_m[m] = cos(2.0 * HS_SYNTH_PI * m / HS_SYNTH_MINUTES);
        w->sin_m[m] = sin(2.0 * HS_SYNTH_PI * m / HS_SYNTH_MINUTES);
    }

    hs_progress_start(&prog, "generate", (double)cfg->days * cfg->functions, cfg->quiet);
    started = 1;
    for (int d = 0; d < cfg->days; d++) {
        if ((st = hs_synth_write_day(os, cfg, fns, d, &o, w, &s)))
            goto done;
        hs_progress_update(&prog, (double)(d + 1) * cfg->functions, "day %d of %d", d + 1, cfg->days);
    }
    s.bytes = o.bytes;
    s.seconds = hs_time_now() - t0;
    if ((st = hs_synth_write_meta(os, cfg, &s)))
        goto done;
    if ((st = hs_outset_commit(os)))
        goto done;
    s.seconds = hs_time_now() - t0;
    hs_progress_finish(&prog, "%d days, %d functions, %lld rows, %lld invocations in %.2f s", s.days, s.functions,
                       (long long)s.rows, (long long)s.invocations, s.seconds);
    started = 0;
    if (sum)
        *sum = s;
done:
    if (started)
        hs_progress_finish(&prog, "failed");
    hs_outset_free(os);
    free(o.buf);
    free(w);
    free(fns);
    return st;
}
