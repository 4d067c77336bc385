/* prophet_predict.c: Prophet's prediction: trend, seasonal components, yhat and the
 * uncertainty interval (prophet.h).
 *
 * History points (t <= 1) carry no trend uncertainty in Prophet's simulation, only the noise
 * N(0, sigma), so their interval is yhat plus the exact normal quantiles of the noise (what
 * Prophet's draws estimate, with ~4% sampling error per point); this drops the work from
 * n x samples draws to none for the history. Future points are simulated as Prophet does
 * (prophet_interval.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/progress.h"
#include "hyscale/prophet.h"
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
        if (cfg->trend_interval) {
            out->trend_lower = malloc(nb);
            out->trend_upper = malloc(nb);
        }
        if (!out->lower || !out->upper || (cfg->trend_interval && (!out->trend_lower || !out->trend_upper)))
            st = hs_error_set(HS_ERR_NOMEM, "prophet: out of memory for the uncertainty samples");
        int64_t f0 = n; /* first future point (t > 1); the rest are future too */
        while (f0 > 0 && ts[f0 - 1] > 1.0)
            f0--;
        double plo = 100.0 * (1.0 - cfg->interval_width) / 2.0, phi = 100.0 - plo;
        if (st == HS_OK) {
            /* history: noise only; its exact quantiles */
            double qlo = hs_norm_ppf(plo / 100.0) * m->sigma * m->y_scale;
            double qhi = hs_norm_ppf(phi / 100.0) * m->sigma * m->y_scale;
            for (int64_t i = 0; i < f0; i++) {
                out->lower[i] = out->yhat[i] + qlo;
                out->upper[i] = out->yhat[i] + qhi;
                if (out->trend_lower)
                    out->trend_lower[i] = out->trend_upper[i] = out->trend[i];
            }
        }
        if (st == HS_OK && f0 < n)
            st = hs_prophet_interval(m, cfg, ts, xm, f0, n, out);
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
