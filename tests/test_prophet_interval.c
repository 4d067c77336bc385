/* test_prophet_interval.c: the fast pieces of Prophet's uncertainty interval against plain
 * references: the float percentiles found by counting (hs_quantile_pair_f) against
 * hs_quantile_inplace, the ziggurat's draws against N(0, 1), and the whole simulation of
 * hs_prophet_predict against a plain one written here as Prophet's forecaster.py draws it (a
 * uniform at every step for the slope changes, Box-Muller noise, a sort for the percentiles),
 * by distribution: both averaged over 30 seeds. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/math/normal.h"
#include "hyscale/prophet.h"
#include "hyscale/select.h"

/* ---- percentiles of floats ------------------------------------------------------------------ */

static uint64_t test_state = 7;

static double test_unit(void) /* (0, 1) */
{
    return ((double)(hs_splitmix64(&test_state) >> 11) + 0.5) / 9007199254740992.0;
}

/* Values of six kinds: spread, small integers (ties), all zero, zeros among spread values,
 * magnitudes from 1e-9 to 1e9 of both signs, a thousandth grid. */
static float test_value(int kind)
{
    double u = test_unit();
    switch (kind) {
    case 0:
        return (float)u;
    case 1:
        return (float)floor(5 * u);
    case 2:
        return 0.0f;
    case 3:
        return test_unit() < 0.6 ? 0.0f : (float)(u - 0.5);
    case 4:
        return (float)(ldexp(u, (int)(60 * test_unit()) - 30) * (test_unit() < 0.5 ? -1 : 1));
    default:
        return (float)(floor(1000 * u) * 1e-3 - 0.5);
    }
}

/* Every answer exact (the same order statistics, numpy's step between them), whatever the
 * guess: none, values of the data, near the answer, random, empty brackets. */
Test(interval, float_percentiles_match_quickselect)
{
    float *w = malloc(3000 * sizeof *w), *scratch = malloc(6000 * sizeof *scratch);
    double *d = malloc(3000 * sizeof *d);
    int missed = 0;
    for (int it = 0; it < 40000; it++) {
        int n = 1 + (int)(test_unit() * (it % 10 == 0 ? 3000 : 60)), kind = it % 6;
        for (int i = 0; i < n; i++)
            w[i] = test_value(kind);
        double plo = 100 * test_unit(), phi = plo + (100 - plo) * test_unit(), want[2];
        for (int q = 0; q < 2; q++) {
            for (int i = 0; i < n; i++)
                d[i] = w[i];
            want[q] = hs_quantile_inplace(d, n, q ? phi : plo);
        }
        float g[4];
        int how = it % 4;
        for (int k = 0; k < 4; k++)
            g[k] = how == 0   ? w[(int)(test_unit() * n)]
                   : how == 1 ? (float)want[k / 2] + (float)((k % 2) - 0.5) * 1e-3f * (float)test_unit()
                              : (float)(4 * test_unit() - 2);
        for (int k = 0; k < 4; k += 2)
            if (g[k] > g[k + 1]) {
                float t = g[k];
                g[k] = g[k + 1];
                g[k + 1] = t;
            }
        if (it % 7 == 0)
            g[1] = g[0];
        double lo, hi;
        missed += hs_quantile_pair_f(w, n, plo, phi, how == 3 ? NULL : g, scratch, &lo, &hi);
        cr_assert(lo == want[0] && hi == want[1], "n %d, kind %d, guess %d: %.9g %.9g, want %.9g %.9g", n, kind, how,
                  lo, hi, want[0], want[1]);
    }
    cr_expect(missed > 1000, "the cases should miss their brackets often (%d)", missed);
    free(w);
    free(scratch);
    free(d);
}

Test(interval, float_select_partitions)
{
    float w[500], c[500];
    for (int it = 0; it < 2000; it++) {
        int n = 1 + (int)(test_unit() * 500), k = (int)(test_unit() * n);
        for (int i = 0; i < n; i++)
            c[i] = w[i] = test_value(it % 6);
        float v = hs_select_inplace_f(c, n, k);
        cr_assert(c[k] == v);
        for (int i = 0; i < n; i++)
            cr_assert(i < k ? c[i] <= v : i > k ? c[i] >= v : 1, "n %d k %d: w[%d] on the wrong side", n, k, i);
        int below = 0, equal = 0;
        for (int i = 0; i < n; i++) {
            below += w[i] < v;
            equal += w[i] == v;
        }
        cr_assert(below <= k && k < below + equal, "n %d k %d: %g is not the k-th", n, k, v);
    }
}

/* ---- the ziggurat --------------------------------------------------------------------------- */

/* 4 million draws: the mean, the variance and P(x < q) at seven points, within five standard
 * errors of N(0, 1)'s (sqrt(p (1 - p) / N) for a share, 1/sqrt(N) and sqrt(2/N) for the
 * moments); the points include the tail beyond the base layer's edge (3.654). */
Test(interval, ziggurat_draws_are_standard_normal)
{
    hs_zig z;
    hs_zig_init(&z);
    uint64_t s = 12345;
    const int n = 4000000;
    const double q[7] = {-3.8, -2.5758, -1.2816, 0, 0.6745, 1.6449, 3.8};
    double sum = 0, sum2 = 0;
    long below[7] = {0};
    for (int i = 0; i < n; i += 2) {
        double x[2];
        hs_zig_normal2(&z, &s, &x[0], &x[1]);
        for (int k = 0; k < 2; k++) {
            sum += x[k];
            sum2 += x[k] * x[k];
            for (int j = 0; j < 7; j++)
                below[j] += x[k] < q[j];
        }
    }
    cr_expect(fabs(sum / n) <= 5 / sqrt(n), "mean %g", sum / n);
    cr_expect(fabs(sum2 / n - 1) <= 5 * sqrt(2.0 / n), "variance %g", sum2 / n);
    for (int j = 0; j < 7; j++) {
        double p = 0.5 * erfc(-q[j] / sqrt(2.0)), got = (double)below[j] / n;
        cr_expect(fabs(got - p) <= 5 * sqrt(p * (1 - p) / n), "P(x < %g) = %.6f, want %.6f", q[j], got, p);
    }
}

/* ---- the simulation against a plain one ----------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile_sorted(const double *v, int n, double p)
{
    double h = p / 100 * (n - 1);
    int j = (int)floor(h);
    return j + 1 < n ? v[j] + (h - j) * (v[j + 1] - v[j]) : v[j];
}

/* Prophet's _sample_uncertainty and sample_model_vectorized for an additive model, plainly:
 * out (4, nf): yhat's lower and upper, the trend's lower and upper, less the point's own. */
static void plain_interval(const hs_prophet_model *m, const double *t, int nf, int samples, double width, double *out)
{
    double dt = (t[nf - 1] - t[0]) / (nf - 1), like = m->S * dt, mean_delta = 0;
    for (int j = 0; j < m->S; j++)
        mean_delta += fabs(m->delta[j]);
    mean_delta = mean_delta / m->S + 1e-8;
    double *u = calloc((size_t)samples * nf, sizeof *u), *col = malloc(samples * sizeof *col);
    for (int j = 0; j < samples; j++) {
        double prev = 0, slope = 0, level = 0;
        for (int f = 0; f < nf; f++) {
            double shift = 0;
            if (test_unit() < like) {
                double v = test_unit() - 0.5;
                shift = v < 0 ? mean_delta * log(1 + 2 * v) : -mean_delta * log(1 - 2 * v);
            }
            slope += 0.5 * (prev + shift);
            prev = shift;
            level += slope;
            u[(size_t)j * nf + f] = level * dt;
        }
    }
    double plo = 100 * (1 - width) / 2;
    for (int f = 0; f < nf; f++) {
        for (int part = 0; part < 2; part++) {
            for (int j = 0; j < samples; j++) {
                double noise = 0;
                if (part == 0) { /* Box-Muller */
                    double r = sqrt(-2 * log(test_unit()));
                    noise = r * cos(2 * M_PI * test_unit()) * m->sigma;
                }
                col[j] = (u[(size_t)j * nf + f] + noise) * m->y_scale;
            }
            qsort(col, samples, sizeof *col, cmp_double);
            out[(2 * part) * nf + f] = percentile_sorted(col, samples, plo);
            out[(2 * part + 1) * nf + f] = percentile_sorted(col, samples, 100 - plo);
        }
    }
    free(u);
    free(col);
}

/* A daily series of 400 days with a slope change, weekly seasonality and noise; then 200 days
 * ahead. The averages over 30 seeds of each bound (less yhat, or less the trend) at five
 * horizons and over all, from hs_prophet_predict and from the plain simulation, agree within
 * five standard errors of their difference (from the spread of each over the seeds: a bound
 * of 1,000 draws varies by about 4% of the interval from seed to seed). */
Test(interval, simulation_matches_prophets_by_distribution, .timeout = 300)
{
    enum { N = 400, NF = 200, SEEDS = 30 };
    int64_t ds[N + NF];
    double y[N];
    for (int i = 0; i < N + NF; i++)
        ds[i] = 1577836800 + (int64_t)i * 86400;
    for (int i = 0; i < N; i++)
        y[i] = 10 + 0.02 * i - (i > 250 ? 0.05 * (i - 250) : 0) + 2 * sin(2 * M_PI * i / 7.0) + (test_unit() - 0.5);
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    hs_prophet_model m;
    cr_assert_eq(hs_prophet_fit(&cfg, ds, y, N, &m), HS_OK, "%s", hs_error_message());
    double t[NF];
    for (int f = 0; f < NF; f++)
        t[f] = (double)(ds[N + f] - m.start) / m.t_scale;
    cr_assert(t[0] > 1);
    static double fast[SEEDS][4][NF], plain[SEEDS][4][NF];
    for (int k = 0; k < SEEDS; k++) {
        cfg.seed = 1000 + (uint64_t)k;
        hs_prophet_forecast fc;
        cr_assert_eq(hs_prophet_predict(&m, &cfg, ds + N, NF, &fc), HS_OK);
        for (int f = 0; f < NF; f++) {
            fast[k][0][f] = fc.lower[f] - fc.yhat[f];
            fast[k][1][f] = fc.upper[f] - fc.yhat[f];
            fast[k][2][f] = fc.trend_lower[f] - fc.trend[f];
            fast[k][3][f] = fc.trend_upper[f] - fc.trend[f];
        }
        hs_prophet_forecast_free(&fc);
        plain_interval(&m, t, NF, 1000, cfg.interval_width, &plain[k][0][0]);
    }
    static const char *const names[4] = {"yhat_lower", "yhat_upper", "trend_lower", "trend_upper"};
    const int at[6] = {0, 9, 49, 99, 199, -1}; /* -1: the mean over every horizon */
    for (int b = 0; b < 4; b++)
        for (int h = 0; h < 6; h++) {
            double mf = 0, mp = 0, vf = 0, vp = 0;
            for (int pass = 0; pass < 2; pass++)
                for (int k = 0; k < SEEDS; k++) {
                    double a = 0, c = 0;
                    for (int f = at[h] < 0 ? 0 : at[h]; f < (at[h] < 0 ? NF : at[h] + 1); f++) {
                        a += fast[k][b][f];
                        c += plain[k][b][f];
                    }
                    a /= at[h] < 0 ? NF : 1;
                    c /= at[h] < 0 ? NF : 1;
                    if (pass == 0) {
                        mf += a / SEEDS;
                        mp += c / SEEDS;
                    } else {
                        vf += (a - mf) * (a - mf) / (SEEDS - 1);
                        vp += (c - mp) * (c - mp) / (SEEDS - 1);
                    }
                }
            double se = sqrt(vf / SEEDS + vp / SEEDS);
            cr_expect(fabs(mf - mp) <= 5 * se + 1e-12, "%s at horizon %d: %.5g, plain %.5g (5 se = %.3g)", names[b],
                      at[h] + 1, mf, mp, 5 * se);
        }
    hs_prophet_model_free(&m);
}

/* The same seed, the same interval to the bit; another seed, another; with or without the
 * trend's interval, the same yhat interval. */
Test(interval, deterministic_for_a_seed)
{
    enum { N = 200, NF = 50 };
    int64_t ds[N + NF];
    double y[N];
    for (int i = 0; i < N + NF; i++)
        ds[i] = (int64_t)i * 3600;
    for (int i = 0; i < N; i++)
        y[i] = 5 + sin(2 * M_PI * i / 24.0) + 0.3 * test_unit();
    hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
    hs_prophet_model m;
    cr_assert_eq(hs_prophet_fit(&cfg, ds, y, N, &m), HS_OK);
    hs_prophet_forecast a, b, c;
    cr_assert_eq(hs_prophet_predict(&m, &cfg, ds, N + NF, &a), HS_OK);
    cr_assert_eq(hs_prophet_predict(&m, &cfg, ds, N + NF, &b), HS_OK);
    cfg.seed = 1;
    cr_assert_eq(hs_prophet_predict(&m, &cfg, ds, N + NF, &c), HS_OK);
    cr_assert(!memcmp(a.lower, b.lower, sizeof(double) * (N + NF)) &&
              !memcmp(a.upper, b.upper, sizeof(double) * (N + NF)) &&
              !memcmp(a.trend_lower, b.trend_lower, sizeof(double) * (N + NF)));
    cr_assert(memcmp(a.lower + N, c.lower + N, sizeof(double) * NF), "another seed, the same draws");
    for (int i = N; i < N + NF; i++)
        cr_assert(a.lower[i] < a.yhat[i] && a.yhat[i] < a.upper[i] && a.trend_lower[i] <= a.trend_upper[i]);
    /* without the trend's interval: none, and yhat's the same to the bit */
    cfg.seed = 0;
    cfg.trend_interval = 0;
    hs_prophet_forecast d;
    cr_assert_eq(hs_prophet_predict(&m, &cfg, ds, N + NF, &d), HS_OK);
    cr_assert(!d.trend_lower && !d.trend_upper);
    cr_assert(!memcmp(a.lower, d.lower, sizeof(double) * (N + NF)) &&
              !memcmp(a.upper, d.upper, sizeof(double) * (N + NF)));
    hs_prophet_forecast_free(&a);
    hs_prophet_forecast_free(&b);
    hs_prophet_forecast_free(&c);
    hs_prophet_forecast_free(&d);
    hs_prophet_model_free(&m);
}
