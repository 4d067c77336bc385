/* prophet_interval.c: the uncertainty interval of Prophet's future points (t > 1), simulated as
 * Prophet's vectorized predictive sampling (forecaster.py, Prophet 1.5.0: _sample_uncertainty,
 * _make_trend_shift_matrix, sample_model_vectorized) and cut at its percentiles (numpy's linear
 * rule). For each of the samples, a slope change happens at each future step with probability
 * S * dt (S changepoints, dt the mean future step in t units), of Laplace(0, mean|delta| + 1e-8)
 * size; the changes are averaged with the previous step's, summed twice and scaled by dt; then
 * N(0, sigma) observation noise is added.
 *
 * The same distribution as Prophet's draws, drawn faster (the backtest's cutoffs simulate
 * 1,000 futures at each of 365 to 1,440 points):
 * - a sample's steps between changes are drawn as geometric gaps (one Philox draw per change;
 *   S * dt is 0.5-1.5% on the bench's series) instead of a uniform at every step;
 * - the noise is a ziggurat over SplitMix64 (math/normal.h), seeded per point from Philox,
 *   instead of Box-Muller over Philox (sincos and log were a fifth of the time);
 * - a point's simulated values are kept as floats less the point's yhat (a float's resolution
 *   of the interval's width, 6e-8 of it), and its percentiles found by counting passes that
 *   narrow brackets around the previous point's (hs_quantile_pair_f): the same order
 *   statistics as a quickselect over all of them (which was 40% of the time);
 * - the trend's own interval only when asked for (cfg->trend_interval; the backtest does not).
 * Random numbers are counter-based, keyed by (seed, sample) for the walk and (seed, point) for
 * the noise: a forecast depends on the seed and its times only, not on threads. */
#include <math.h>
#include <stdlib.h>

#include "hyscale/math/normal.h"
#include "hyscale/math/rng.h"
#include "hyscale/select.h"
#include "prophet_internal.h"

#define HS_WALK_STREAM ((uint64_t)1 << 40) /* the walk's streams: seed, HS_WALK_STREAM + sample */

/* The brackets hs_quantile_pair_f starts from: the previous point's percentiles, widened by a
 * share of the interval's width (yhat: its noise is drawn afresh at every point, so its
 * percentiles move by their sampling error, about 1% of the ranks; the trend's move smoothly,
 * by about the last step's change). A bracket that misses costs one or two more counting
 * passes, not a wrong answer; these shares gave the fewest instructions on the bench's cases. */
#define HS_BAND_SHARE 0.05
#define HS_TREND_SHARE 0.003

/* A uniform in (0, 1) from two Philox words (hs_u64_to_unit moved off 0 by half a step). */
static double hs_open_unit(uint32_t hi, uint32_t lo) { return hs_u64_to_unit(hi, lo) + 0x1p-54; }

/* Slope changes, each twice: half its size at its step, half at the next (Prophet averages a
 * step's change with the previous step's), grouped by step (CSR). */
typedef struct hs_walk_events {
    int64_t *start;  /* (nf + 1) the halves at step f: [start[f], start[f + 1]) */
    int32_t *sample; /* (count) */
    double *half;    /* (count) half the change */
} hs_walk_events;

static void hs_walk_events_free(hs_walk_events *ev)
{
    free(ev->start);
    free(ev->sample);
    free(ev->half);
}

/* Every sample's slope changes over nf steps, by step. Sample j's c-th change comes from Philox
 * (seed, HS_WALK_STREAM + j, c): the steps since the previous one are geometric on {1, 2, ...},
 * P(g) = (1 - like)^(g - 1) like (the first step at which a uniform falls below like, as Prophet
 * draws one at every step; inv_log = 1 / log(1 - like)), its size Laplace(0, scale).
 * HS_ERR_NOMEM or HS_OK; hs_walk_events_free frees, on failure too. */
static hs_status hs_walk_events_draw(uint64_t seed, int samples, int64_t nf, double like, double scale,
                                     hs_walk_events *ev)
{
    double inv_log = like > 0 && like < 1 ? 1.0 / log1p(-like) : 0;
    int64_t cap = 0, cnt = 0, *step = NULL; /* the changes in sample order: step, sample, size */
    int32_t *who = NULL;
    double *size = NULL;
    hs_status st = HS_OK;
    for (int j = 0; j < samples && st == HS_OK && like > 0; j++) {
        for (int64_t f = -1, c = 0;; c++) {
            hs_u32x4 r = hs_rng_u32x4(seed, HS_WALK_STREAM + (uint64_t)j, (uint64_t)c);
            double gap = like < 1 ? 1.0 + floor(log(hs_open_unit(r.v[0], r.v[1])) * inv_log) : 1.0;
            if ((double)f + gap >= (double)nf)
                break;
            f += (int64_t)gap;
            if (cnt == cap) {
                cap = cap ? 2 * cap : 1024;
                int64_t *s2 = realloc(step, (size_t)cap * sizeof *step);
                step = s2 ? s2 : step;
                int32_t *w2 = realloc(who, (size_t)cap * sizeof *who);
                who = w2 ? w2 : who;
                double *z2 = realloc(size, (size_t)cap * sizeof *size);
                size = z2 ? z2 : size;
                if (!s2 || !w2 || !z2) {
                    st = hs_error_set(HS_ERR_NOMEM, "prophet: out of memory for the trend's changes");
                    break;
                }
            }
            double v = hs_open_unit(r.v[2], r.v[3]) - 0.5; /* Laplace by inversion */
            step[cnt] = f;
            who[cnt] = j;
            size[cnt++] = v < 0 ? scale * log(1.0 + 2.0 * v) : -scale * log(1.0 - 2.0 * v);
        }
    }
    /* grouped by step: each change at its step and the next (a counting sort) */
    int64_t *fill = st == HS_OK ? malloc((size_t)(nf > 0 ? nf : 1) * sizeof *fill) : NULL;
    ev->start = st == HS_OK ? calloc((size_t)nf + 1, sizeof *ev->start) : NULL;
    ev->sample = st == HS_OK ? malloc((size_t)(2 * cnt + 1) * sizeof *ev->sample) : NULL;
    ev->half = st == HS_OK ? malloc((size_t)(2 * cnt + 1) * sizeof *ev->half) : NULL;
    if (st == HS_OK && (!fill || !ev->start || !ev->sample || !ev->half))
        st = hs_error_set(HS_ERR_NOMEM, "prophet: out of memory for %lld trend changes", (long long)cnt);
    if (st == HS_OK) {
        for (int64_t e = 0; e < cnt; e++)
            for (int64_t g = step[e]; g <= step[e] + 1 && g < nf; g++)
                ev->start[g + 1]++;
        for (int64_t f = 0; f < nf; f++) {
            ev->start[f + 1] += ev->start[f];
            fill[f] = ev->start[f];
        }
        for (int64_t e = 0; e < cnt; e++)
            for (int64_t g = step[e]; g <= step[e] + 1 && g < nf; g++) {
                ev->sample[fill[g]] = who[e];
                ev->half[fill[g]++] = 0.5 * size[e];
            }
    }
    free(fill);
    free(step);
    free(who);
    free(size);
    return st;
}

/* Brackets for hs_quantile_pair_f (float [a, b), b just above the top) around the previous
 * point's percentiles lo and hi: share of the interval's width plus a step's drift each side. */
static void hs_bracket(double lo, double hi, double share, double drift, float *g)
{
    double h = share * (hi - lo) + drift;
    g[0] = (float)(lo - h);
    g[1] = nextafterf((float)(lo + h), INFINITY);
    g[2] = (float)(hi - h);
    g[3] = nextafterf((float)(hi + h), INFINITY);
}

hs_status hs_prophet_interval(const hs_prophet_model *m, const hs_prophet_config *cfg, const double *ts,
                              const double *xm, int64_t f0, int64_t n, hs_prophet_forecast *out)
{
    int samples = cfg->uncertainty_samples;
    int64_t nf = n - f0;
    HS_ASSERT(samples > 0 && f0 >= 0 && nf > 0);
    size_t s = (size_t)samples;
    uint64_t seed = cfg->seed;
    double dt = nf > 1 ? (ts[n - 1] - ts[f0]) / (double)(nf - 1) : m->hist_dt;
    double like = (double)m->S * dt, mean_delta = 1e-8;
    for (int j = 0; j < m->S; j++)
        mean_delta += fabs(m->delta[j]) / m->S;
    hs_walk_events ev = {NULL, NULL, NULL};
    hs_status st = hs_walk_events_draw(seed, samples, nf, like, mean_delta, &ev);
    /* per sample: slope, level (double); a point's yhat and trend departures w, wt (float) and
     * the gathers of hs_quantile_pair_f (2 samples floats) */
    double *buf = st == HS_OK ? malloc(s * 2 * sizeof *buf) : NULL;
    float *fbuf = st == HS_OK ? malloc(s * 4 * sizeof *fbuf) : NULL;
    hs_zig *zig = st == HS_OK ? malloc(sizeof *zig) : NULL;
    if (st == HS_OK && (!buf || !fbuf || !zig))
        st = hs_error_set(HS_ERR_NOMEM, "prophet: out of memory for the uncertainty samples");
    if (st != HS_OK) {
        hs_walk_events_free(&ev);
        free(buf);
        free(fbuf);
        free(zig);
        return st;
    }
    hs_zig_init(zig);
    double *slope = buf, *level = slope + s;
    float *w = fbuf, *wt = w + s, *scratch = wt + s;
    for (size_t j = 0; j < s; j++)
        slope[j] = level[j] = 0;
    double plo = 100.0 * (1.0 - cfg->interval_width) / 2.0, phi = 100.0 - plo;
    double sd = m->sigma * m->y_scale;
    double band[2] = {0, 0}, tband[2] = {0, 0}, tdrift = 0; /* the previous point's percentiles */
    for (int64_t f = 0; f < nf; f++) {
        int64_t i = f0 + f;
        /* each sample's walk one step on: its trend departs from the point's by level * dt */
        for (int64_t e = ev.start[f]; e < ev.start[f + 1]; e++)
            slope[ev.sample[e]] += ev.half[e];
#pragma omp simd
        for (size_t j = 0; j < s; j++)
            level[j] += slope[j];
        /* the simulated yhat and trend less the point's own, which are added back after */
        double cw = dt * m->y_scale * (1.0 + xm[i]), ct = dt * m->y_scale;
        hs_u32x4 r = hs_rng_u32x4(seed, 1 + (uint64_t)i, 0);
        uint64_t ns = ((uint64_t)r.v[1] << 32) | r.v[0]; /* the point's noise stream */
        size_t j = 0;
        for (; j + 1 < s; j += 2) {
            double z0, z1;
            hs_zig_normal2(zig, &ns, &z0, &z1);
            w[j] = (float)(level[j] * cw + z0 * sd);
            w[j + 1] = (float)(level[j + 1] * cw + z1 * sd);
        }
        if (j < s)
            w[j] = (float)(level[j] * cw + hs_zig_normal_from(zig, (uint32_t)hs_splitmix64(&ns), &ns) * sd);
        float g[4];
        hs_bracket(band[0], band[1], HS_BAND_SHARE, 0, g);
        double lo, hi;
        hs_quantile_pair_f(w, samples, plo, phi, f > 0 ? g : NULL, scratch, &lo, &hi);
        band[0] = lo;
        band[1] = hi;
        out->lower[i] = out->yhat[i] + lo;
        out->upper[i] = out->yhat[i] + hi;
        if (!out->trend_lower)
            continue;
#pragma omp simd
        for (j = 0; j < s; j++)
            wt[j] = (float)(level[j] * ct);
        float tg[4];
        hs_bracket(tband[0], tband[1], HS_TREND_SHARE, tdrift, tg);
        double tlo, thi;
        hs_quantile_pair_f(wt, samples, plo, phi, f > 0 ? tg : NULL, scratch, &tlo, &thi);
        tdrift = fmax(fabs(tlo - tband[0]), fabs(thi - tband[1]));
        tband[0] = tlo;
        tband[1] = thi;
        out->trend_lower[i] = out->trend[i] + tlo;
        out->trend_upper[i] = out->trend[i] + thi;
    }
    hs_walk_events_free(&ev);
    free(buf);
    free(fbuf);
    free(zig);
    return HS_OK;
}
