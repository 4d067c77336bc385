/* prophet_internal.h: pieces shared by the Prophet design, fit and prediction files. */
#ifndef HYSCALE_PROPHET_INTERNAL_H
#define HYSCALE_PROPHET_INTERNAL_H

#include "hyscale/prophet.h"

/* Seasonal columns K of a model (>= 1). */
int hs_prophet_columns(const hs_prophet_model *m);
/* The K seasonal features of one time. */
void hs_prophet_features(const hs_prophet_model *m, int64_t ds, double *x);
/* t of a time. */
double hs_prophet_t(const hs_prophet_model *m, int64_t ds);
/* The (n, 2 + S + K) design: t, 1, max(0, t - cp_j), features. Caller frees *out. */
hs_status hs_prophet_design(const hs_prophet_model *m, const int64_t *ds, int64_t n, double **out);
/* Scaling (y_scale from y), changepoints and seasonalities of a history of n points: the model's
 * shape, its parameters zero; the caller frees it with hs_prophet_model_free, on failure too. */
hs_status hs_prophet_shape(const hs_prophet_config *cfg, const int64_t *ds, const double *y, int64_t n,
                           hs_prophet_model *m);
/* The exact MAP fit (HS_PROPHET_EXACT) of an additive model of this shape from its Gram
 * matrix alone: G = D'D (P, P, both triangles), b = D'y and yy = y'y of the design D (n, P) and
 * the y scaled by shape->y_scale; tau the changepoint prior scale. theta (P) = (k, m, delta,
 * beta) in: the start (Prophet's initial k and m, the rest 0), out: the optimum; *sig2 in: 1,
 * out: sigma^2. Returns the rounds, or -1 (a singular system, out of memory, or a multiplicative
 * shape). hs_prophet_fit runs the same solver after forming G from the data; the per-function
 * fits share one G between every function of a ds grid. Thread-safe. */
int hs_prophet_solve_gram(const hs_prophet_model *shape, double tau, int max_rounds, const double *G, const double *b,
                          double yy, int64_t n, double *theta, double *sig2);
/* Stan's L-BFGS with CmdStan's defaults (prophet_stan_lbfgs.c), the optimizer Prophet runs:
 * minimises fn from x (n, in: the start, out: where it stops). fn writes f and its gradient g
 * (n) at x and returns 0 (nonzero, or a non-finite value: a point the search backs off from).
 * *fx (may be NULL) gets f at the end, *iters (may be NULL) the iterations. Returns how it
 * stopped: one of HS_SL_* below (negative: a failure; the x reached is still written). */
typedef int (*hs_stan_fn)(void *inst, const double *x, double *f, double *g);
enum {
    HS_SL_RUNNING = 0,
    HS_SL_ABSX = 10,
    HS_SL_ABSF = 20,
    HS_SL_RELF = 21,
    HS_SL_ABSGRAD = 30,
    HS_SL_RELGRAD = 31,
    HS_SL_MAXIT = 40,
    HS_SL_LSFAIL = -1,
    HS_SL_BAD_START = -2,
    HS_SL_NOMEM = -3
};
int hs_stan_lbfgs(int n, double *x, hs_stan_fn fn, void *inst, int max_iter, double *fx, int *iters);
/* The fitted trend at t (scaled units). */
double hs_prophet_trend(const hs_prophet_model *m, double t);
/* The interval of the future points f0..n-1 (t > 1; 0 <= f0 < n) from cfg->uncertainty_samples
 * (> 0) simulated futures (prophet_interval.c): out->lower and upper (allocated, n) there, from
 * out->yhat, and trend_lower and trend_upper from out->trend when they are allocated; ts (n)
 * the points' t, xm (n) their multiplicative seasonal sum. HS_ERR_NOMEM or HS_OK. Thread-safe. */
hs_status hs_prophet_interval(const hs_prophet_model *m, const hs_prophet_config *cfg, const double *ts,
                              const double *xm, int64_t f0, int64_t n, hs_prophet_forecast *out);

#endif
