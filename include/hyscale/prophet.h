/* prophet.h: Prophet's additive model (Taylor & Letham, facebook/prophet, MIT) in C: the same
 * design (piecewise-linear trend with changepoints, Fourier seasonalities), priors and MAP fit,
 * the same prediction and uncertainty simulation, so the answers match Prophet's.
 *
 *     hs_prophet_config cfg = HS_PROPHET_DEFAULTS;
 *     hs_prophet_model m;
 *     HS_TRY(hs_prophet_fit(&cfg, ds, y, n, &m));           // ds: seconds since the epoch, sorted
 *     hs_prophet_forecast fc;
 *     HS_TRY(hs_prophet_predict(&m, &cfg, ds_all, n_all, &fc));
 *     ... fc.yhat[i], fc.lower[i], fc.upper[i], fc.trend[i], fc.comp[s * n_all + i] ...
 *     hs_prophet_forecast_free(&fc);
 *     hs_prophet_model_free(&m);
 *
 * Scaling as Prophet's: y_scale = max|y| (0 -> 1), t = (ds - start) / (ds_max - start).
 * Fit: the MAP point of k, m ~ N(0, 5), delta ~ Laplace(0, tau), beta ~ N(0, prior_scale),
 * sigma ~ N+(0, 0.5), y ~ N(trend .* (1 + X_m beta) + X_a beta, sigma), from Prophet's initial
 * point, by an exact block method (see HS_PROPHET_EXACT) or liblbfgs's OWL-QN. Where the data
 * leave directions free (a series with systematic gaps, such as business days only: the weekly
 * seasonality and the intercept are then determined on the observed weekdays alone), the exact
 * method keeps them at the initial point's value, as Prophet's L-BFGS does, instead of where the
 * priors alone would put them; where the data determine directions only weakly (business hours
 * of business days: the night), the fit is Stan's L-BFGS as Prophet runs it, since Prophet's
 * answer there is where that optimizer stops (prophet_fit.c says how and why).
 */
#ifndef HYSCALE_PROPHET_H
#define HYSCALE_PROPHET_H

#include <stdint.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_PROPHET_MAX_SEASONALITIES 16

typedef struct hs_seasonality {
    char name[32];
    double period;      /* days */
    int order;          /* Fourier order: 2*order columns, sin/cos interleaved */
    double prior_scale; /* beta ~ N(0, prior_scale) */
    int multiplicative; /* 1: multiplies the trend; 0: adds */
} hs_seasonality;

typedef struct hs_prophet_config {
    int n_changepoints;             /* 25 */
    double changepoint_range;       /* 0.8 */
    double changepoint_prior_scale; /* tau, 0.05 */
    double seasonality_prior_scale; /* 10 */
    int multiplicative;             /* seasonality mode of the built-in seasonalities */
    int yearly, weekly, daily;      /* -1 auto (Prophet's rules), 0 off, > 0 Fourier order */
    hs_seasonality extra[HS_PROPHET_MAX_SEASONALITIES]; /* user seasonalities, before the built-ins */
    int n_extra;
    int uncertainty_samples; /* 1000; 0: no interval */
    double interval_width;   /* 0.8 */
    uint64_t seed;           /* of the uncertainty simulation */
    int max_iterations;      /* of the fit, 10000 */
    int optimizer;           /* HS_PROPHET_EXACT (default) or HS_PROPHET_OWLQN */
    int trend_interval;      /* 1: the trend's interval too (default); 0: yhat's only (a fifth less work) */
} hs_prophet_config;

/* The MAP fit's optimizer. EXACT: block coordinate descent, each block solved exactly: the
 * L1-penalised QP of (k, m, delta, beta) given sigma by feature-sign search (lasso_qp.h), then
 * sigma in closed form (multiplicative models: the trend block, then beta, then sigma).
 * OWLQN: liblbfgs's orthant-wise L-BFGS on all variables at once (slow to converge on the
 * correlated changepoint columns; kept for comparison). */
#define HS_PROPHET_EXACT 0
#define HS_PROPHET_OWLQN 1

#define HS_PROPHET_DEFAULTS                                                                          \
    {25, 0.8, 0.05, 10.0, 0, -1, -1, -1, {{{0}, 0, 0, 0, 0}}, 0, 1000, 0.8, 0, 10000, HS_PROPHET_EXACT, 1}

typedef struct hs_prophet_model {
    int64_t start;   /* ds of the first history point */
    double t_scale;  /* seconds from the first to the last history point */
    double y_scale;  /* max |y| (1 when all are 0) */
    int64_t n;       /* history points fitted */
    int64_t last_ds; /* ds of the last history point */
    double hist_dt;  /* mean spacing of the history in t units */
    int S;           /* changepoints (1 dummy at t = 0 when none were placed) */
    double *cp_t;    /* (S) changepoint times in t units */
    int placed_changepoints; /* 0 when the grid was empty (the dummy's delta is folded into k) */
    int ns;          /* seasonalities */
    hs_seasonality seas[HS_PROPHET_MAX_SEASONALITIES];
    int K;           /* seasonal columns (one zero column when there is no seasonality) */
    double k, m, sigma;
    double *delta;   /* (S) */
    double *beta;    /* (K) */
    double init_k, init_m; /* Prophet's initial point */
    int iterations;  /* L-BFGS iterations (0 for a constant series) */
    int lbfgs_status;
    double objective; /* negative log posterior at the optimum (up to constants) */
    double fit_seconds;
    int constant;     /* the series was constant: Prophet's shortcut, sigma = 1e-9 */
    int free_directions; /* directions of (k, m, delta, beta) the data leave free (a design without
                          * full rank: gaps such as business days only), held at the initial
                          * point's value as Prophet's L-BFGS leaves them (exact optimizer,
                          * additive models; 0 otherwise) */
    int weak_directions; /* directions of the intercept and seasonalities the data determine
                          * only weakly (business hours of business days: the night); when
                          * there are any, the fit is Stan's L-BFGS as Prophet runs it
                          * (lbfgs_status its stop: 10..40 as Stan's codes) */
} hs_prophet_model;

/* Fits on n >= 2 points, ds strictly increasing. Frees nothing of the caller's. */
hs_status hs_prophet_fit(const hs_prophet_config *cfg, const int64_t *ds, const double *y, int64_t n,
                         hs_prophet_model *out);

void hs_prophet_model_free(hs_prophet_model *m);

typedef struct hs_prophet_forecast {
    int64_t n;
    double *yhat, *lower, *upper;             /* (n); lower/upper NULL without samples */
    double *trend, *trend_lower, *trend_upper; /* (n); trend_lower/upper NULL without samples or
                                                * with cfg->trend_interval 0 */
    double *comp;                              /* (ns, n): each seasonality's contribution */
    int ns;
    double predict_seconds;
} hs_prophet_forecast;

/* Predicts at n times (history and future alike). Intervals from cfg->uncertainty_samples
 * simulated futures (Prophet's vectorized simulation), cfg->seed, cfg->interval_width. */
hs_status hs_prophet_predict(const hs_prophet_model *m, const hs_prophet_config *cfg, const int64_t *ds, int64_t n,
                             hs_prophet_forecast *out);

void hs_prophet_forecast_free(hs_prophet_forecast *fc);

/* ---- pieces, public for tests ------------------------------------------------------------- */

/* Prophet's changepoint grid over n history points: indexes round(linspace(0, floor(range*n)
 * - 1, S + 1))[1:], S capped at floor(range*n) - 1. Writes up to want indexes into idx; returns
 * the count. */
int hs_prophet_changepoint_index(int64_t n, int want, double range, int64_t *idx);

/* Fourier features of one seasonality at time ds: out (2*order) = sin, cos of 2*pi*(i+1)*d/P
 * for d = days since 1970-01-01. */
void hs_prophet_fourier(int64_t ds, double period, int order, double *out);

/* Resolves the seasonalities Prophet would use for this history (user ones first, then
 * yearly, weekly, daily by the auto rules or the config). Returns the count. */
int hs_prophet_seasonalities(const hs_prophet_config *cfg, const int64_t *ds, int64_t n,
                             hs_seasonality out[HS_PROPHET_MAX_SEASONALITIES]);

/* The negative log posterior (smooth part and the |delta| term separately) and its gradient
 * at x = (k, m, delta(S), beta(K), log sigma), evaluated directly over the data. For tests. */
double hs_prophet_objective_direct(const hs_prophet_model *shape, const int64_t *ds, const double *y, int64_t n,
                                   const double *x, double *grad, double *l1);

#ifdef __cplusplus
}
#endif
#endif
