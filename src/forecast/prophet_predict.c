/* prophet_predict.c: Prophet's prediction: trend, seasonal components, yhat and the
 * uncertainty interval from simulated futures (prophet.h).
 *
 * The simulation is Prophet's vectorized one (forecaster.py, _sample_uncertainty): for each of
 * the samples, at every future step (t > 1) a slope change happens with probability
 * S * dt (S changepoints, dt the mean future step in t units) with a Laplace(0, mean|delta|)
 * size; changes are averaged with the previous step, summed twice and scaled by dt; then
 * observation noise N(0, sigma) is added. History points (t <= 1) carry no trend uncertainty,
 * only the noise, so their interval is yhat plus the exact normal quantiles of the noise (what
 * Prophet's draws estimate, with ~4% sampling error per point); this drops the work from
 * n x samples draws to none for the history.
 * Quantiles as numpy.percentile (linear). Random numbers: Philox (math/rng.h), seeded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/math/rng.h"
#include "hyscale/progress.h"
#include "hyscale/prophet.h"
#include "hyscale/select.h"
#include "prophet_internal.h"

#define HS_TWO_PI 6.283185307179586476925286766559

void hs_prophet_forecast_free(hs_prophet_forecast *fc)
{
    if (!fc)
        return;
    free(fc->yhat);
    free(fc->lower);
    free(fc->upper);
    free(fc->trend);
    free(fc->trend_lower);
    free(fc->trend_upper);
    free(fc->comp);
    memset(fc, 0, sizeof *fc);
}

/* Two standard normals (Box-Muller) from one Philox draw. */
static void hs_normal2(uint64_t seed, uint64_t stream, uint64_t index, double *z0, double *z1)
{
    hs_u32x4 r = hs_rng_u32x4(seed, stream, index);
    double u1 = hs_u64_to_unit(r.v[0], r.v[1]), u2 = hs_u64_to_unit(r.v[2], r.v[3]);
    double rad = sqrt(-2.0 * log(1.0 - u1)); /* 1 - u1 in (0, 1] */
    *z0 = rad * cos(HS_TWO_PI * u2);
    *z1 = rad * sin(HS_TWO_PI * u2);
}

/* The standard normal quantile: Newton's method on Phi(x) - p from 0 (a handful of steps). */
static double hs_norm_ppf(double p)
{
    double x = 0;
    for (int i = 0; i < 100; i++) {
        double cdf = 0.5 * erfc(-x / sqrt(2.0));
        double pdf = exp(-0.5 * x * x) / sqrt(HS_TWO_PI);
        double step = (cdf - p) / pdf;
        x -= step;
        if (fabs(step) < 1e-15 * (1 + fabs(x)))
            break;
    }
    return x;
}

/* The plo and phi percentiles of w (n, reordered) as hs_quantile_inplace gives them (numpy's
 * linear rule), the second selected among the values above the first's rank only. */
static void hs_band_inplace(double *w, int64_t n, double plo, double phi, double *lo, double *hi)
{
    double h = plo / 100.0 * (double)(n - 1);
    int64_t j = (int64_t)floor(h);
    *lo = hs_quantile_inplace(w, n, plo);
    double h2 = phi / 100.0 * (double)(n - 1);
    int64_t j2 = (int64_t)floor(h2);
    if (j2 <= j || j + 1 >= n) {
        *hi = hs_quantile_inplace(w, n, phi);
        return;
    }
    /* w[j + 1 ..] hold the n - j - 1 largest values: rank j2 overall is rank j2 - j - 1 there */
    double *r = w + j + 1;
    int64_t m = n - j - 1, k = j2 - j - 1;
    double a = hs_select_inplace(r, m, k);
    if (k >= m - 1) {
        *hi = a;
        return;
    }
    double b = r[k + 1];
    for (int64_t i = k + 2; i < m; i++)
        b = r[i] < b ? r[i] : b;
    *hi = a + (h2 - (double)j2) * (b - a);
}

hs_status hs_prophet_predict(const hs_prophet_model *m, const hs_prophet_config *cfg, const int64_t *ds, int64_t n,
                             hs_prophet_forecast *out)
{
    double t0 = hs_time_now();
    memset(out, 0, sizeof *out);
    int K = m->K, ns = m->ns, ns_out = ns;
    int samples = cfg->uncertainty_samples;
    size_t nb = (size_t)(n > 0 ? n : 1) * sizeof(double);
    out->n = n;
    out->ns = ns_out;
    out->yhat = malloc(nb);
    out->trend = malloc(nb);
    out->comp = malloc(nb * (size_t)(ns > 0 ? ns : 1));
    double *x = malloc((size_t)K * sizeof *x), *xm = malloc(nb), *xa = malloc(nb), *ts = malloc(nb);
    hs_status st = out->yhat && out->trend && out->comp && x && xm && xa && ts
                       ? HS_OK
                       : hs_error_set(HS_ERR_NOMEM, "prophet: out of memory for %lld predictions", (long long)n);
    for (int64_t i = 0; st == HS_OK && i < n; i++) {
        double t = hs_prophet_t(m, ds[i]);
        double tr = hs_prophet_trend(m, t);
        hs_prophet_features(m, ds[i], x);
        double sm = 0, sa = 0;
        int c = 0;
        for (int s = 0; s < ns; s++) {
            double v = 0;
            for (int j = 0; j < 2 * m->seas[s].order; j++, c++)
                v += x[c] * m->beta[c];
            if (m->seas[s].multiplicative) {
                sm += v;
                out->comp[(int64_t)s * n + i] = v;
            } else {
                sa += v;
                out->comp[(int64_t)s * n + i] = v * m->y_scale;
            }
        }
        ts[i] = t;
        xm[i] = sm;
        xa[i] = sa * m->y_scale;
        out->trend[i] = tr * m->y_scale;
        out->yhat[i] = out->trend[i] * (1.0 + sm) + xa[i];
    }
    if (st == HS_OK && samples > 0) {
        out->lower = malloc(nb);
        out->upper = malloc(nb);
        out->trend_lower = malloc(nb);
        out->trend_upper = malloc(nb);
        double *w = malloc((size_t)samples * sizeof *w), *wt = malloc((size_t)samples * sizeof *wt);
        double *noise = malloc((size_t)(samples + 1) * sizeof *noise);
        int64_t f0 = n; /* first future point (t > 1); the rest are future too */
        while (f0 > 0 && ts[f0 - 1] > 1.0)
            f0--;
        int64_t nf = n - f0;
        double *unc = malloc((size_t)samples * (size_t)(nf > 0 ? nf : 1) * sizeof *unc); /* (nf, samples) */
        double *state = malloc((size_t)samples * 3 * sizeof *state); /* (3, samples) prev, slope, level */
        if (!out->lower || !out->upper || !out->trend_lower || !out->trend_upper || !w || !wt || !noise || !unc ||
            !state)
            st = hs_error_set(HS_ERR_NOMEM, "prophet: out of memory for the uncertainty samples");
        double plo = 100.0 * (1.0 - cfg->interval_width) / 2.0, phi = 100.0 - plo;
        uint64_t seed = cfg->seed;
        if (st == HS_OK) {
            /* history: noise only; its exact quantiles */
            double qlo = hs_norm_ppf(plo / 100.0) * m->sigma * m->y_scale;
            double qhi = hs_norm_ppf(phi / 100.0) * m->sigma * m->y_scale;
            for (int64_t i = 0; i < f0; i++) {
                out->lower[i] = out->yhat[i] + qlo;
                out->upper[i] = out->yhat[i] + qhi;
                out->trend_lower[i] = out->trend_upper[i] = out->trend[i];
            }
        }
        if (st == HS_OK && nf > 0) {
            double dt = nf > 1 ? (ts[n - 1] - ts[f0]) / (double)(nf - 1) : m->hist_dt;
            double like = (double)m->S * dt, mean_delta = 1e-8;
            for (int j = 0; j < m->S; j++)
                mean_delta += fabs(m->delta[j]) / m->S;
            /* each sample's walk step by step, all samples at a step together (the same draws and
             * sums as one sample at a time; the layout keeps a step's samples contiguous) */
            double *prev = state, *slope = state + samples, *level = state + 2 * samples;
            for (int j = 0; j < samples; j++)
                prev[j] = slope[j] = level[j] = 0;
            for (int64_t f = 0; f < nf; f++) {
                double *u = unc + f * samples;
                for (int j = 0; j < samples; j++) {
                    hs_u32x4 r = hs_rng_u32x4(seed, ((uint64_t)1 << 40) + (uint64_t)j, (uint64_t)f);
                    double shift = 0;
                    if (hs_u64_to_unit(r.v[0], r.v[1]) < like) {
                        double v = hs_u64_to_unit(r.v[2], r.v[3]) - 0.5; /* Laplace by inversion */
                        shift = v < 0 ? mean_delta * log(1.0 + 2.0 * v) : -mean_delta * log(1.0 - 2.0 * v);
                    }
                    double smooth = 0.5 * (prev[j] + shift);
                    prev[j] = shift;
                    slope[j] += smooth;
                    level[j] += slope[j];
                    u[j] = level[j] * dt;
                }
            }
            for (int64_t f = 0; f < nf; f++) {
                int64_t i = f0 + f;
                const double *u = unc + f * samples;
                double trend_i = hs_prophet_trend(m, ts[i]);
                for (int j = 0; j < samples; j += 2)
                    hs_normal2(seed, 1 + (uint64_t)i, (uint64_t)j / 2, &noise[j], &noise[j + 1]);
                for (int j = 0; j < samples; j++) {
                    double tr = (trend_i + u[j]) * m->y_scale;
                    wt[j] = tr;
                    w[j] = tr * (1.0 + xm[i]) + xa[i] + noise[j] * m->sigma * m->y_scale;
                }
                hs_band_inplace(w, samples, plo, phi, &out->lower[i], &out->upper[i]);
                hs_band_inplace(wt, samples, plo, phi, &out->trend_lower[i], &out->trend_upper[i]);
            }
        }
        free(w);
        free(wt);
        free(noise);
        free(unc);
        free(state);
    }
    free(x);
    free(xm);
    free(xa);
    free(ts);
    out->predict_seconds = hs_time_now() - t0;
    if (st != HS_OK)
        hs_prophet_forecast_free(out);
    return st;
}
