/* prophet_stan_lbfgs.c: Stan's L-BFGS as Prophet runs it (CmdStan's `optimize algorithm=lbfgs`
 * with its defaults), written from the algorithm Stan documents and implements
 * (stan/optimization/bfgs.hpp, bfgs_linesearch.hpp, lbfgs_update.hpp):
 *   - history of 5 (s, y) pairs, the initial inverse Hessian (s'y / y'y) I of the newest pair;
 *   - the first step along -g with step 1e-3 (init_alpha); later steps start at
 *     min(1, 1.01 * the minimiser over [1e-12, 1] of the cubic through the previous step);
 *   - a strong Wolfe line search (c1 1e-4, c2 0.9) that grows the step tenfold until it
 *     brackets, then zooms by cubic interpolation (a bisection every 5th try), 20 tries at most;
 *     on failure the history is dropped and the step retried along -g;
 *   - stopping when |df| < 1e-12, |g| < 1e-8, |dx| < 1e-8, |df| / max(|f|, |f_prev|, 1) <
 *     1e4 eps, or -p'g / max(|f|, 1) < 1e7 eps (p the next direction), or after max_iter steps.
 * Why: where the data determine some directions only weakly (business hours of business days:
 * the daily seasonality over the unseen night), Prophet's answer is where this optimizer stops,
 * not the MAP point, and only the same steps and stopping rule end near the same place. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prophet_internal.h"

#define HS_SL_HIST 5
#define HS_SL_C1 1e-4
#define HS_SL_C2 0.9
#define HS_SL_ALPHA0 1e-3
#define HS_SL_MIN_ALPHA 1e-12
#define HS_SL_MAX_LS 20
#define HS_SL_MAX_RESTARTS 10
#define HS_SL_EPS 2.220446049250313e-16

typedef struct hs_sl {
    int n;
    hs_stan_fn fn;
    void *inst;
    int evals;
} hs_sl;

static double dot(int n, const double *a, const double *b)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* f and g at x; nonzero when either is not finite (Stan's adaptor refuses those points). */
static int sl_eval(hs_sl *L, const double *x, double *f, double *g)
{
    L->evals++;
    if (L->fn(L->inst, x, f, g) != 0 || !isfinite(*f))
        return 1;
    for (int i = 0; i < L->n; i++)
        if (!isfinite(g[i]))
            return 1;
    return 0;
}

/* The minimiser over [lo, hi] of the cubic c(0) = 0, c'(0) = df0, c(x1) = f1, c'(x1) = df1. */
static double sl_cubic(double df0, double x1, double f1, double df1, double lo, double hi)
{
    double c3 = (-12 * f1 + 6 * x1 * (df0 + df1)) / (x1 * x1 * x1);
    double c2 = -(4 * df0 + 2 * df1) / x1 + 6 * f1 / (x1 * x1), c1 = df0;
    double ts = sqrt(c2 * c2 - 2.0 * c1 * c3), s1 = -(c2 + ts) / c3, s2 = -(c2 - ts) / c3;
    double minf = lo * (lo * (lo * c3 / 3.0 + c2) / 2.0 + c1), minx = lo;
    double t = hi * (hi * (hi * c3 / 3.0 + c2) / 2.0 + c1);
    if (t < minf) {
        minf = t;
        minx = hi;
    }
    if (lo < s1 && s1 < hi) {
        t = s1 * (s1 * (s1 * c3 / 3.0 + c2) / 2.0 + c1);
        if (t < minf) {
            minf = t;
            minx = s1;
        }
    }
    if (lo < s2 && s2 < hi) {
        t = s2 * (s2 * (s2 * c3 / 3.0 + c2) / 2.0 + c1);
        if (t < minf)
            minx = s2;
    }
    return minx;
}

static void sl_point(int n, const double *x0, double a, const double *p, double *x)
{
    for (int i = 0; i < n; i++)
        x[i] = x0[i] + a * p[i];
}

/* The zoom of the Wolfe search between alo and ahi; 0 with the point in x1, f1, g1 and *alpha. */
static int sl_zoom(hs_sl *L, double *alpha, double *x1, double *f1, double *g1, const double *x0, double f0,
                   double c1dfp, double c2dfp, const double *p, double alo, double aloF, double aloD, double ahi,
                   double ahiF, double ahiD)
{
    const double min_range = 1e-16;
    for (int it = 1;; it++) {
        if (fabs(alo - ahi) < min_range || nextafter(alo, ahi) == ahi)
            return 1;
        double a;
        if (it % 5 == 0) {
            a = 0.5 * (alo + ahi);
        } else {
            double d1 = aloD + ahiD - 3 * (aloF - ahiF) / (alo - ahi);
            double d2 = sqrt(d1 * d1 - aloD * ahiD);
            if (ahi < alo)
                d2 = -d2;
            a = ahi - (ahi - alo) * (ahiD + d2 - d1) / (ahiD - aloD + 2 * d2);
            if (!isfinite(a) || a < fmin(alo, ahi) + 0.01 * fabs(alo - ahi) ||
                a > fmax(alo, ahi) - 0.01 * fabs(alo - ahi))
                a = 0.5 * (alo + ahi);
        }
        sl_point(L->n, x0, a, p, x1);
        while (sl_eval(L, x1, f1, g1)) {
            double prev = a;
            a = 0.5 * (a + fmin(alo, ahi));
            if (fabs(fmin(alo, ahi) - a) < min_range || a == prev)
                return 1;
            sl_point(L->n, x0, a, p, x1);
        }
        *alpha = a;
        double d = dot(L->n, g1, p);
        if (*f1 > f0 + a * c1dfp || *f1 >= aloF) {
            ahi = a;
            ahiF = *f1;
            ahiD = d;
        } else {
            if (fabs(d) <= -c2dfp)
                return 0;
            if (d * (ahi - alo) >= 0) {
                ahi = alo;
                ahiF = aloF;
                ahiD = aloD;
            }
            alo = a;
            aloF = *f1;
            aloD = d;
        }
    }
}

/* The strong Wolfe search from x0 along p, first trying *alpha (Stan's sufficient-decrease test
 * keeps that first step in it, as Stan's does). 0 with the point in x1, f1, g1, *alpha. */
static int sl_search(hs_sl *L, double *alpha, double *x1, double *f1, double *g1, const double *p, const double *x0,
                     double f0, const double *g0)
{
    double dfp = dot(L->n, g0, p), c1dfp = HS_SL_C1 * dfp, c2dfp = HS_SL_C2 * dfp;
    double a0 = HS_SL_MIN_ALPHA, a1 = *alpha, prevF = f0, prevD = dfp;
    int nits = 0, restarts = 0;
    for (;;) {
        if (nits >= HS_SL_MAX_LS)
            return 1;
        sl_point(L->n, x0, a1, p, x1);
        if (sl_eval(L, x1, f1, g1)) {
            if (restarts >= HS_SL_MAX_RESTARTS)
                return 1;
            a1 = 0.5 * (a0 + a1);
            restarts++;
            continue;
        }
        restarts = 0;
        double d = dot(L->n, g1, p);
        if (*f1 > f0 + *alpha * c1dfp || (*f1 >= prevF && nits > 0))
            return sl_zoom(L, alpha, x1, f1, g1, x0, f0, c1dfp, c2dfp, p, a0, prevF, prevD, a1, *f1, d);
        if (fabs(d) <= -c2dfp) {
            *alpha = a1;
            return 0;
        }
        if (d >= 0)
            return sl_zoom(L, alpha, x1, f1, g1, x0, f0, c1dfp, c2dfp, p, a1, *f1, d, a0, prevF, prevD);
        a0 = a1;
        prevF = *f1;
        prevD = d;
        a1 *= 10.0;
        nits++;
    }
}

int hs_stan_lbfgs(int n, double *x, hs_stan_fn fn, void *inst, int max_iter, double *fx, int *iters)
{
    hs_sl L = {n, fn, inst, 0};
    /* (n) each: g, p, the previous x, g, p, the trial x, g; then HS_SL_HIST pairs s, y */
    double *w = malloc((size_t)n * (7 + 2 * HS_SL_HIST) * sizeof *w);
    if (!w)
        return HS_SL_NOMEM;
    double *g = w, *p = g + n, *xp = p + n, *gp = xp + n, *pp = gp + n, *x1 = pp + n, *g1 = x1 + n;
    double *S = g1 + n, *Y = S + (size_t)n * HS_SL_HIST, rho[HS_SL_HIST], al[HS_SL_HIST], gamma = 1;
    int nh = 0, head = 0; /* pairs held, and the slot of the oldest */
    double f, fp = 0, alpha = 0, alphap = 0;
    int ret = HS_SL_RUNNING, it = 0;
    if (sl_eval(&L, x, &f, g)) {
        free(w);
        return HS_SL_BAD_START;
    }
    for (int i = 0; i < n; i++)
        p[i] = -g[i];
    while (ret == HS_SL_RUNNING) {
        it++;
        int reset = it == 1;
        double f1 = 0;
        for (;;) {
            if (reset)
                for (int i = 0; i < n; i++)
                    p[i] = -g[i];
            if (it > 1 && reset != 2)
                alpha = fmin(1.0, 1.01 * sl_cubic(dot(n, gp, pp), alphap, f - fp, dot(n, g, pp), HS_SL_MIN_ALPHA, 1.0));
            else
                alpha = HS_SL_ALPHA0;
            if (sl_search(&L, &alpha, x1, &f1, g1, p, x, f, g) == 0)
                break;
            if (reset) {
                ret = HS_SL_LSFAIL;
                break;
            }
            reset = 2;
        }
        if (ret == HS_SL_LSFAIL)
            break;
        /* the trial point becomes the iterate; s = x1 - x, y = g1 - g */
        double *s = S + (size_t)((head + nh) % HS_SL_HIST) * n, *yv = Y + (size_t)((head + nh) % HS_SL_HIST) * n;
        if (reset)
            nh = head = 0, s = S, yv = Y;
        else if (nh == HS_SL_HIST)
            head = (head + 1) % HS_SL_HIST, nh--;
        for (int i = 0; i < n; i++) {
            s[i] = x1[i] - x[i];
            yv[i] = g1[i] - g[i];
        }
        nh++;
        memcpy(xp, x, (size_t)n * sizeof *x);
        memcpy(gp, g, (size_t)n * sizeof *g);
        memcpy(pp, p, (size_t)n * sizeof *p);
        memcpy(x, x1, (size_t)n * sizeof *x);
        memcpy(g, g1, (size_t)n * sizeof *g);
        fp = f;
        f = f1;
        double sy = dot(n, s, yv), yy = dot(n, yv, yv), gnorm = sqrt(dot(n, g, g)), snorm = sqrt(dot(n, s, s));
        rho[(head + nh - 1) % HS_SL_HIST] = 1.0 / sy;
        gamma = sy / yy;
        if (reset) {
            /* the reset's scaling: the previous direction and step in the new Hessian's units */
            double b0 = yy / sy;
            for (int i = 0; i < n; i++)
                pp[i] /= b0;
            alphap = alpha * b0;
        } else {
            alphap = alpha;
        }
        /* the next direction: the two-loop recursion, newest pair first */
        for (int i = 0; i < n; i++)
            p[i] = -g[i];
        for (int k = nh - 1; k >= 0; k--) {
            int j = (head + k) % HS_SL_HIST;
            al[k] = rho[j] * dot(n, S + (size_t)j * n, p);
            const double *yj = Y + (size_t)j * n;
            for (int i = 0; i < n; i++)
                p[i] -= al[k] * yj[i];
        }
        for (int i = 0; i < n; i++)
            p[i] *= gamma;
        for (int k = 0; k < nh; k++) {
            int j = (head + k) % HS_SL_HIST;
            double b = rho[j] * dot(n, Y + (size_t)j * n, p);
            const double *sj = S + (size_t)j * n;
            for (int i = 0; i < n; i++)
                p[i] += (al[k] - b) * sj[i];
        }
        if (fabs(fp - f) < 1e-12)
            ret = HS_SL_ABSF;
        else if (gnorm < 1e-8)
            ret = HS_SL_ABSGRAD;
        else if (snorm < 1e-8)
            ret = HS_SL_ABSX;
        else if (it >= max_iter)
            ret = HS_SL_MAXIT;
        else if (fabs(fp - f) / fmax(fabs(fp), fmax(fabs(f), 1.0)) < 1e4 * HS_SL_EPS)
            ret = HS_SL_RELF;
        else if (-dot(n, p, g) / fmax(fabs(f), 1.0) < 1e7 * HS_SL_EPS)
            ret = HS_SL_RELGRAD;
    }
    if (fx)
        *fx = f;
    if (iters)
        *iters = it;
    free(w);
    return ret;
}
