/* prophet_fit.c: the MAP fit of Prophet's model (prophet.h): an exact block method (default)
 * or liblbfgs's OWL-QN for the Laplace prior on the changepoint deltas.
 *
 * Variables x = (k, m, delta(S), beta(K), s) with sigma = exp(s), the unconstrained form Stan
 * optimises (no Jacobian, as in Stan's optimizer). Smooth part of the negative log posterior:
 *   (k^2 + m^2) / 50 + sum beta_j^2 / (2 ps_j^2) + 2 sigma^2 + N s + RSS / (2 sigma^2);
 * the |delta| / tau term goes to OWL-QN as orthantwise_c = 1/tau over the delta block.
 * Additive models are linear in theta = (k, m, delta, beta): RSS(theta) = y'y - 2 theta'b +
 * theta'G theta with G = D'D and b = D'y formed once (one OpenBLAS syrk), so an evaluation
 * costs O(P^2) however long the series. Multiplicative models are evaluated over the data.
 *
 * Where the data leave the model free. A series with systematic gaps (business days without
 * weekends, some weekdays never observed) has a design D without full rank: the 7 functions
 * {1, the 6 weekly Fourier columns} take 5 values on 5 weekdays, so 2 combinations of the
 * intercept m and the weekly betas vanish on every observed day and only the priors pin them.
 * The exact MAP point moves them where the priors want: the intercept (N(0, 5)) into the weekly
 * seasonality (N(0, 10)), which puts the unseen weekend days far off (peyton's documentation
 * series without its weekends: -4 on weekends against 8 on weekdays, 177% of the range of y;
 * Stan's Newton, which reaches the MAP point, gives the same). Prophet's answer is Stan's L-BFGS,
 * which starts from Prophet's initial point and stops, by its tolerances, long before the priors'
 * weak pull moves those directions: they stay where the start put them (on that series the
 * start's projection on the free directions and L-BFGS's agree to 4e-4), and the weekend is
 * forecast near the weekday level. So the exact method solves the MAP problem on the affine
 * subspace theta_start + range(G): the free directions are the eigenvectors of G whose
 * eigenvalue is at most 1e-12 of its trace (rank deficiency: the free directions measure about
 * 4e-18, the smallest data-determined ones of every series tried 3e-10 or more), and a quadratic
 * pin as stiff as the data term holds theta's projection on them at the start's (the minimum-
 * norm change from the start in those directions, which is where L-BFGS's gradient steps, all
 * in range(G) but for the priors' part, leave it). A design of full rank has none, and the fit
 * is the exact MAP point as before. Euclidean, not prior-weighted: Stan's L-BFGS starts with a
 * multiple of the identity as its inverse Hessian in theta's own coordinates.
 * Directions that the data determine only weakly (eigenvalues above that tolerance, their
 * curvature over sigma^2 below the priors': business hours of business days, where the daily
 * seasonality is extrapolated over the unseen night and weekend) are not held by a pin: there
 * Prophet's answer is wherever its L-BFGS stops on its slow way towards the MAP point (NASA-HTTP
 * 9:00-17:00 per minute: Prophet's L-BFGS and Newton 10 ranges apart at night), and a larger
 * pin tolerance (up to 2e-8 of the trace) came only within 13-40% of the range of it while
 * moving series that the data do determine. So when the (m, beta) block of G, scaled to a unit
 * diagonal, has an eigenvalue in (HS_FREE_TOL, HS_WEAK_TOL] (hs_weak_directions), the fit is
 * Prophet's own optimizer: Stan's L-BFGS with CmdStan's defaults (prophet_stan_lbfgs.c) from
 * Prophet's initial point, on Stan's objective evaluated over the data (the Gram expansion's
 * rounding moves where it stops); where its line search fails the exact method answers, as
 * Prophet then falls back to Newton, and below 100 rows, where Prophet runs Newton. Its steps agree with CmdStan's log to the
 * 6 digits printed for the first 90 iterations and then part by rounding, so the agreement is
 * that of two runs of one algorithm: NASA-HTTP's business hours summed per hour 0.59% of the
 * range (the MAP point 153%), per minute 6.0% (the MAP point 1,000%; not the 1%).
 * The per-function fits (hs_prophet_solve_gram) have no data to run it on and keep the pin.
 * Multiplicative models are not pinned: their seasonal block is a ridge problem, and where its
 * free directions lie within one prior scale (the weekly columns) the ridge solution keeps
 * theta there at the start's zero (peyton's weekdays, multiplicative: 1.1% of the range off
 * Prophet, the MAP point 118%). */
#include <cblas.h>
#include <lbfgs.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/lasso_qp.h"
#include "hyscale/progress.h"
#include "hyscale/prophet.h"
#include "prophet_internal.h"

typedef struct hs_pfit {
    const hs_prophet_model *m;
    int P, S, K;
    int64_t n;
    const double *D; /* (n, P) design */
    const double *y; /* (n) scaled */
    double *G, *b, yy; /* additive: (P, P), (P) */
    double *inv_ps2;   /* (K) 1 / prior_scale^2 */
    unsigned char *mult; /* (K) 1 for multiplicative columns */
    int any_mult;
    double *tmp; /* (P) */
    double f_hist[16];
    int iterations;
    int free_directions; /* the exact method's: directions held at the start (see the top) */
    double c;            /* Stan's objective: 1 / tau, the Laplace prior's weight on |delta| */
    int direct;          /* 1: the RSS over the data even where G is formed */
} hs_pfit;

/* The prior terms and their gradient; returns their value. */
static double hs_prior(const hs_pfit *F, const double *x, double *g)
{
    double f = (x[0] * x[0] + x[1] * x[1]) / 50.0;
    g[0] += x[0] / 25.0;
    g[1] += x[1] / 25.0;
    const double *beta = x + 2 + F->S;
    for (int j = 0; j < F->K; j++) {
        f += 0.5 * beta[j] * beta[j] * F->inv_ps2[j];
        g[2 + F->S + j] += beta[j] * F->inv_ps2[j];
    }
    return f;
}

/* RSS and its gradient over the data (either mode); g gets -2 * residual terms. */
static double hs_rss_direct(const hs_pfit *F, const double *x, double *g)
{
    int P = F->P, T = 2 + F->S;
    const double *beta = x + T;
    double rss = 0;
    memset(g, 0, (size_t)P * sizeof *g);
    for (int64_t i = 0; i < F->n; i++) {
        const double *row = F->D + i * P;
        double trend = 0, xm = 0, xa = 0;
        for (int c = 0; c < T; c++)
            trend += row[c] * x[c];
        for (int j = 0; j < F->K; j++) {
            double v = row[T + j] * beta[j];
            if (F->mult[j])
                xm += v;
            else
                xa += v;
        }
        double r = F->y[i] - (trend * (1.0 + xm) + xa);
        rss += r * r;
        double wt = -2.0 * r * (1.0 + xm);
        for (int c = 0; c < T; c++)
            g[c] += wt * row[c];
        for (int j = 0; j < F->K; j++)
            g[T + j] += -2.0 * r * row[T + j] * (F->mult[j] ? trend : 1.0);
    }
    return rss;
}

/* RSS from the Gram matrix (additive models). */
static double hs_rss_gram(const hs_pfit *F, const double *x, double *g)
{
    int P = F->P;
    cblas_dsymv(CblasRowMajor, CblasUpper, P, 1.0, F->G, P, x, 1, 0.0, F->tmp, 1);
    double xb = 0, xgx = 0;
    for (int c = 0; c < P; c++) {
        xb += x[c] * F->b[c];
        xgx += x[c] * F->tmp[c];
        g[c] = 2.0 * (F->tmp[c] - F->b[c]);
    }
    double rss = F->yy - 2.0 * xb + xgx;
    return rss > 0 ? rss : 0;
}

static lbfgsfloatval_t hs_pfit_eval(void *inst, const lbfgsfloatval_t *x, lbfgsfloatval_t *g, const int nvar,
                                    const lbfgsfloatval_t step)
{
    (void)step;
    hs_pfit *F = inst;
    int P = F->P;
    double s = x[nvar - 1], sig2 = exp(2.0 * s);
    double rss = F->any_mult || !F->G || F->direct ? hs_rss_direct(F, x, g) : hs_rss_gram(F, x, g);
    for (int c = 0; c < P; c++)
        g[c] /= 2.0 * sig2;
    double f = hs_prior(F, x, g);
    f += 2.0 * sig2 + (double)F->n * s + rss / (2.0 * sig2);
    g[nvar - 1] = 4.0 * sig2 + (double)F->n - rss / sig2;
    return f;
}

/* The whole objective as Stan's model writes it, |delta| / tau included: its gradient there is
 * sign(delta) / tau, 0 at delta = 0 (Stan's double_exponential). */
static int hs_pfit_stan_eval(void *inst, const double *x, double *f, double *g)
{
    hs_pfit *F = inst;
    double l1 = 0;
    *f = hs_pfit_eval(F, x, g, F->P + 1, 0);
    for (int j = 0; j < F->S; j++) {
        double d = x[2 + j];
        l1 += fabs(d);
        g[2 + j] += F->c * (double)((d > 0) - (d < 0));
    }
    *f += F->c * l1;
    return 0;
}

/* Stops when the objective has not moved (relative 1e-13) over 10 iterations: liblbfgs's own
 * `delta` test divides by f, which is negative here (N log sigma). */
static int hs_pfit_progress(void *inst, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
                            const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm, const lbfgsfloatval_t gnorm,
                            const lbfgsfloatval_t step, int nvar, int k, int ls)
{
    (void)x;
    (void)g;
    (void)xnorm;
    (void)gnorm;
    (void)step;
    (void)nvar;
    (void)ls;
    hs_pfit *F = inst;
    F->iterations = k;
    double old = F->f_hist[k % 10];
    F->f_hist[k % 10] = fx;
    if (k > 10 && fabs(old - fx) <= 1e-13 * fmax(1.0, fabs(fx)))
        return 1;
    return 0;
}


/* sigma^2 minimising 2 sigma^2 + N log sigma + RSS / (2 sigma^2): the positive root of
 * 4 s^2 + N s - RSS = 0 (s = sigma^2), written without cancellation. */
static double hs_sigma2(double rss, double n)
{
    double s2 = 2.0 * rss / (n + sqrt(n * n + 16.0 * rss));
    return s2 > 1e-300 ? s2 : 1e-300;
}

/* The full objective (smooth part plus |delta| / tau) for the convergence test. */
static double hs_full_objective(const hs_pfit *F, const double *theta, double sig2, double rss, double c)
{
    double f = (theta[0] * theta[0] + theta[1] * theta[1]) / 50.0;
    for (int j = 0; j < F->S; j++)
        f += c * fabs(theta[2 + j]);
    for (int j = 0; j < F->K; j++)
        f += 0.5 * theta[2 + F->S + j] * theta[2 + F->S + j] * F->inv_ps2[j];
    return f + 2.0 * sig2 + 0.5 * (double)F->n * log(sig2) + rss / (2.0 * sig2);
}

/* Gram matrix G = W'W (upper triangle filled, then mirrored) and b = W'v of an (n, p) matrix. */
static void hs_gram(const double *W, int64_t n, int p, const double *v, double *G, double *b)
{
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, (int)n, 1.0, W, p, 0.0, G, p);
    for (int i = 0; i < p; i++)
        for (int j = 0; j < i; j++)
            G[i * p + j] = G[j * p + i];
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, p, 1.0, W, p, v, 1, 0.0, b, 1);
}

/* LAPACK's symmetric eigen-solver (in Debian's OpenBLAS, which the build links already). */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                   double *work, const int *lwork, int *info);

/* The directions of theta that the data leave free: an orthonormal basis (rows of N, (P, P)
 * room) of the eigenvectors of G whose eigenvalue is at most HS_FREE_TOL times the trace of G.
 * Returns their count (0 for every series whose design has full rank), or -1 (out of memory, or
 * LAPACK's dsyev did not converge).
 * A Cholesky factorisation of G - tol I settles the common case: when it succeeds every
 * eigenvalue is above tol, and the eigen-decomposition is skipped. */
#define HS_FREE_TOL 1e-12
static int hs_free_directions(int P, const double *G, double *N)
{
    double tr = 0;
    for (int i = 0; i < P; i++)
        tr += G[i * P + i];
    double tol = HS_FREE_TOL * tr;
    double *A = malloc((size_t)P * P * sizeof *A), *V = malloc((size_t)P * P * sizeof *V);
    int r = -1;
    if (!A || !V)
        goto done;
    memcpy(A, G, (size_t)P * P * sizeof *A);
    for (int i = 0; i < P; i++)
        A[i * P + i] -= tol;
    memset(V, 0, (size_t)P * sizeof *V);
    r = 0;
    if (!(tr > 0) || hs_cholesky_solve(P, A, P, V) == 0)
        goto done;
    /* G symmetric: its row-major layout is LAPACK's column-major one, and each eigenvector
     * (a column for LAPACK) comes back as a row of A. dsyev's absolute error in an eigenvalue is
     * about 1e-16 of the trace, far below tol; the data-determined ones found are 3e-10 or more. */
    memcpy(A, G, (size_t)P * P * sizeof *A);
    int n = P, lwork = 3 * P + P * P, info = 0;
    double *ev = malloc((size_t)(P + lwork) * sizeof *ev); /* (P) eigenvalues, then dsyev's work */
    if (!ev) {
        r = -1;
        goto done;
    }
    dsyev_("V", "U", &n, A, &n, ev, ev + P, &lwork, &info);
    for (int j = 0; info == 0 && j < P; j++)
        if (ev[j] <= tol) {
            memcpy(N + (int64_t)r * P, A + (int64_t)j * P, (size_t)P * sizeof *N);
            r++;
        }
    if (info != 0) /* no convergence: the fit fails rather than hold the wrong directions */
        r = -1;
    free(ev);
done:
    free(A);
    free(V);
    return r;
}

/* Prophet fits fewer rows than this with Stan's Newton (the MAP point), more with L-BFGS. */
#define HS_PROPHET_NEWTON_BELOW 100
/* Weakly determined: an eigenvalue of the (m, beta) block of G, scaled to a unit diagonal, at
 * most this (and above HS_FREE_TOL: the exactly free ones, which the pin holds). Measured
 * (tests/fixtures/prophet): every series with all hours of all days 0.79 or more; hours of
 * business days 0.021; business hours of business days 6e-8 (hourly), 5e-9 (per minute); the
 * exactly free directions 1e-15 or less. 1e-4 lies more than two decades from each side. */
#define HS_WEAK_TOL 1e-4

/* The scaled (q, q) block of G over the columns idx into A, less shift on its diagonal. */
static void hs_scaled_block(int P, const double *G, const int *idx, int q, double shift, double *A)
{
    for (int i = 0; i < q; i++)
        for (int j = 0; j < q; j++)
            A[i * q + j] = G[idx[i] * P + idx[j]] / sqrt(G[idx[i] * P + idx[i]] * G[idx[j] * P + idx[j]]) -
                           (i == j ? shift : 0.0);
}

/* The count of weakly determined directions of the intercept and the seasonal columns (see
 * HS_WEAK_TOL), or -1 (out of memory, or dsyev failed). A Cholesky factorisation of the scaled
 * block less HS_WEAK_TOL I settles the common case (none) without an eigen-decomposition. */
static int hs_weak_directions(int P, int S, const double *G)
{
    int *idx = malloc((size_t)P * sizeof *idx), q = 0, r = -1;
    double *A = malloc((size_t)P * P * sizeof *A), *w = malloc((size_t)(2 * P + P * P) * sizeof *w);
    if (!idx || !A || !w)
        goto done;
    for (int i = 0; i < P; i++)
        if ((i == 1 || i >= 2 + S) && G[i * P + i] > 0)
            idx[q++] = i;
    hs_scaled_block(P, G, idx, q, HS_WEAK_TOL, A);
    memset(w, 0, (size_t)q * sizeof *w);
    r = 0;
    if (hs_cholesky_solve(q, A, q, w) == 0)
        goto done; /* every eigenvalue above HS_WEAK_TOL */
    hs_scaled_block(P, G, idx, q, 0.0, A);
    int n = q, lwork = q + q * q, info = 0;
    dsyev_("N", "U", &n, A, &n, w, w + q, &lwork, &info);
    for (int j = 0; info == 0 && j < q; j++)
        r += w[j] > HS_FREE_TOL && w[j] <= HS_WEAK_TOL;
    if (info != 0)
        r = -1;
done:
    free(idx);
    free(A);
    free(w);
    return r;
}

/* Exact block coordinate descent. theta (P) in/out, *sig2 in/out. Returns rounds or -1. */
static int hs_fit_exact(hs_pfit *F, double c, int max_rounds, double *theta, double *sig2)
{
    int P = F->P, T = 2 + F->S, K = F->K;
    int64_t n = F->n;
    int wide = T > K ? T : K;
    double *H = malloc((size_t)P * P * sizeof *H), *q = malloc((size_t)P * sizeof *q);
    double *work = malloc((size_t)HS_LASSO_WORK(P) * sizeof *work);
    double *Gm = malloc((size_t)P * P * sizeof *Gm), *bm = malloc((size_t)P * sizeof *bm);
    unsigned char *pen = calloc((size_t)P, 1);
    double *W = NULL, *v = NULL, *tr = NULL;
    if (F->any_mult) {
        W = malloc((size_t)n * wide * sizeof *W);
        v = malloc((size_t)n * sizeof *v);
        tr = malloc((size_t)n * sizeof *tr);
    }
    int rounds = -1;
    if (!H || !q || !work || !Gm || !bm || !pen || (F->any_mult && (!W || !v || !tr)))
        goto done;
    for (int j = 0; j < F->S; j++)
        pen[2 + j] = 1;
    /* additive: the free directions of the design and where the start puts theta along them */
    int nfree = 0;
    if (!F->any_mult) {
        nfree = hs_free_directions(P, F->G, Gm);
        if (nfree < 0)
            goto done;
        F->free_directions = nfree;
        for (int k = 0; k < nfree; k++) {
            bm[k] = 0;
            for (int i = 0; i < P; i++)
                bm[k] += Gm[k * P + i] * theta[i];
        }
    }
    double prev = INFINITY;
    for (int r = 1; r <= max_rounds; r++) {
        double rss;
        if (!F->any_mult) {
            /* one block: every coefficient, from the Gram matrix formed once */
            for (int i = 0; i < P; i++) {
                for (int j = 0; j < P; j++)
                    H[i * P + j] = F->G[i * P + j] / *sig2;
                q[i] = F->b[i] / *sig2;
            }
            /* pinned along the free directions: w (v'theta - v'theta_start)^2 / 2 for each v, w
             * the largest curvature of the data term, so the pin wins over the prior by as much as
             * the data do elsewhere and leaves the conditioning of H as it was */
            double w = 0;
            for (int i = 0; i < P; i++)
                w = fmax(w, H[i * P + i]);
            for (int k = 0; k < nfree; k++) {
                const double *u = Gm + (size_t)k * P;
                for (int i = 0; i < P; i++) {
                    for (int j = 0; j < P; j++)
                        H[i * P + j] += w * u[i] * u[j];
                    q[i] += w * u[i] * bm[k];
                }
            }
            H[0] += 1.0 / 25.0;
            H[P + 1] += 1.0 / 25.0;
            for (int j = 0; j < K; j++)
                H[(T + j) * P + T + j] += F->inv_ps2[j];
            if (hs_lasso_qp(P, H, q, pen, c, theta, work) < 0)
                goto done;
            double xb = 0, xgx = 0;
            for (int i = 0; i < P; i++) {
                double gi = 0;
                for (int j = 0; j < P; j++)
                    gi += F->G[i * P + j] * theta[j];
                xgx += theta[i] * gi;
                xb += theta[i] * F->b[i];
            }
            rss = F->yy - 2.0 * xb + xgx;
            rss = rss > 0 ? rss : 0;
        } else {
            const double *beta = theta + T;
            /* trend block: y - X_a beta = (1 + X_m beta) .* (D_T theta_T) */
            for (int64_t i = 0; i < n; i++) {
                const double *row = F->D + i * P;
                double xm = 0, xa = 0;
                for (int j = 0; j < K; j++) {
                    double t = row[T + j] * beta[j];
                    if (F->mult[j])
                        xm += t;
                    else
                        xa += t;
                }
                double w = 1.0 + xm;
                for (int cc = 0; cc < T; cc++)
                    W[i * T + cc] = w * row[cc];
                v[i] = F->y[i] - xa;
            }
            hs_gram(W, n, T, v, Gm, bm);
            for (int i = 0; i < T; i++) {
                for (int j = 0; j < T; j++)
                    H[i * T + j] = Gm[i * T + j] / *sig2;
                q[i] = bm[i] / *sig2;
            }
            H[0] += 1.0 / 25.0;
            H[T + 1] += 1.0 / 25.0;
            if (hs_lasso_qp(T, H, q, pen, c, theta, work) < 0)
                goto done;
            /* beta block: y - trend = Z beta, Z_ij = X_ij * (trend_i if multiplicative else 1) */
            for (int64_t i = 0; i < n; i++) {
                const double *row = F->D + i * P;
                double t = 0;
                for (int cc = 0; cc < T; cc++)
                    t += row[cc] * theta[cc];
                tr[i] = t;
                for (int j = 0; j < K; j++)
                    W[i * K + j] = row[T + j] * (F->mult[j] ? t : 1.0);
                v[i] = F->y[i] - t;
            }
            hs_gram(W, n, K, v, Gm, bm);
            for (int i = 0; i < K; i++) {
                for (int j = 0; j < K; j++)
                    H[i * K + j] = Gm[i * K + j] / *sig2;
                H[i * K + i] += F->inv_ps2[i];
                q[i] = bm[i] / *sig2;
            }
            if (hs_cholesky_solve(K, H, K, q))
                goto done;
            memcpy(theta + T, q, (size_t)K * sizeof *q);
            rss = 0;
            for (int64_t i = 0; i < n; i++) {
                const double *row = F->D + i * P;
                double xm = 0, xa = 0;
                for (int j = 0; j < K; j++) {
                    double t = row[T + j] * theta[T + j];
                    if (F->mult[j])
                        xm += t;
                    else
                        xa += t;
                }
                double e = F->y[i] - (tr[i] * (1.0 + xm) + xa);
                rss += e * e;
            }
        }
        double s2 = hs_sigma2(rss, (double)n);
        double f = hs_full_objective(F, theta, s2, rss, c);
        double ds = fabs(s2 - *sig2) / s2;
        *sig2 = s2;
        rounds = r;
        /* converged to rounding: RSS from the Gram expansion carries ~1e-13 relative noise
         * (seen: sigma^2 wandering by 5e-12 once settled), so stop well above it */
        if (fabs(prev - f) <= 1e-11 * fmax(1.0, fabs(f)) && ds < 1e-9)
            break;
        prev = f;
    }
done:
    free(H);
    free(q);
    free(work);
    free(Gm);
    free(bm);
    free(pen);
    free(W);
    free(v);
    free(tr);
    return rounds;
}

/* 1 / prior_scale^2 of each seasonal column into inv (K) and the multiplicative flags into mult
 * (K; may be NULL); returns 1 when any column is multiplicative. */
static int hs_prior_inv(const hs_prophet_model *m, double *inv, unsigned char *mult)
{
    int c = 0, any = 0;
    for (int s = 0; s < m->ns; s++)
        for (int j = 0; j < 2 * m->seas[s].order; j++, c++) {
            inv[c] = 1.0 / (m->seas[s].prior_scale * m->seas[s].prior_scale);
            if (mult)
                mult[c] = (unsigned char)m->seas[s].multiplicative;
            any |= m->seas[s].multiplicative;
        }
    if (c == 0)
        inv[0] = 1.0; /* the zeros column, prior scale 1 as in Prophet */
    return any;
}

int hs_prophet_solve_gram(const hs_prophet_model *shape, double tau, int max_rounds, const double *G, const double *b,
                          double yy, int64_t n, double *theta, double *sig2)
{
    int S = shape->S, K = shape->K, P = 2 + S + K;
    double *inv = malloc((size_t)K * sizeof *inv);
    unsigned char *mult = calloc((size_t)K, 1);
    int rounds = -1;
    if (inv && mult && !hs_prior_inv(shape, inv, mult)) {
        /* the exact method reads G, b and yy alone: no design, no data */
        hs_pfit F = {shape, P, S, K, n, NULL, NULL, (double *)G, (double *)b, yy, inv, mult, 0, NULL, {0}, 0, 0, 0, 0};
        rounds = hs_fit_exact(&F, 1.0 / tau, max_rounds, theta, sig2);
    }
    free(inv);
    free(mult);
    return rounds;
}

static hs_status hs_prophet_alloc(hs_prophet_model *m)
{
    m->cp_t = calloc((size_t)m->S, sizeof *m->cp_t);
    m->delta = calloc((size_t)m->S, sizeof *m->delta);
    m->beta = calloc((size_t)m->K, sizeof *m->beta);
    if (!m->cp_t || !m->delta || !m->beta)
        return hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
    return HS_OK;
}

void hs_prophet_model_free(hs_prophet_model *m)
{
    if (!m)
        return;
    free(m->cp_t);
    free(m->delta);
    free(m->beta);
    memset(m, 0, sizeof *m);
}

hs_status hs_prophet_shape(const hs_prophet_config *cfg, const int64_t *ds, const double *y, int64_t n,
                                  hs_prophet_model *m)
{
    memset(m, 0, sizeof *m);
    if (n < 2)
        return hs_error_set(HS_ERR_INPUT, "prophet: %lld point%s; the model needs at least 2", (long long)n,
                            n == 1 ? "" : "s");
    for (int64_t i = 1; i < n; i++)
        if (ds[i] <= ds[i - 1])
            return hs_error_set(HS_ERR_INPUT, "prophet: times must increase strictly (point %lld)", (long long)i);
    m->start = ds[0];
    m->last_ds = ds[n - 1];
    m->t_scale = (double)(ds[n - 1] - ds[0]);
    m->n = n;
    m->hist_dt = 1.0 / (double)(n - 1);
    double ymax = 0;
    for (int64_t i = 0; i < n; i++)
        ymax = fmax(ymax, fabs(y[i]));
    m->y_scale = ymax > 0 ? ymax : 1.0;
    int64_t *idx = malloc((size_t)(cfg->n_changepoints > 0 ? cfg->n_changepoints : 1) * sizeof *idx);
    if (!idx)
        return hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
    int S = hs_prophet_changepoint_index(n, cfg->n_changepoints, cfg->changepoint_range, idx);
    m->placed_changepoints = S > 0;
    m->S = S > 0 ? S : 1;
    m->ns = hs_prophet_seasonalities(cfg, ds, n, m->seas);
    m->K = hs_prophet_columns(m);
    hs_status st = hs_prophet_alloc(m);
    if (st == HS_OK)
        for (int j = 0; j < S; j++)
            m->cp_t[j] = hs_prophet_t(m, ds[idx[j]]); /* the dummy (S = 0) stays at t = 0 */
    free(idx);
    return st;
}

hs_status hs_prophet_fit(const hs_prophet_config *cfg, const int64_t *ds, const double *y, int64_t n,
                         hs_prophet_model *m)
{
    double t0 = hs_time_now();
    HS_TRY(hs_prophet_shape(cfg, ds, y, n, m));
    if (!(cfg->changepoint_prior_scale > 0))
        return hs_error_set(HS_ERR_USAGE, "prophet: changepoint prior scale must be > 0");
    int S = m->S, K = m->K, P = 2 + S + K, nv = P + 1;
    double *ys = malloc((size_t)n * sizeof *ys);
    double *x = calloc((size_t)nv, sizeof *x);
    double *inv = malloc((size_t)K * sizeof *inv);
    unsigned char *mult = calloc((size_t)K, 1);
    double *D = NULL, *G = NULL, *b = NULL, *tmp = malloc((size_t)P * sizeof *tmp);
    hs_status st = ys && x && inv && mult && tmp ? HS_OK : hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
    double ymin = INFINITY, ymax = -INFINITY;
    for (int64_t i = 0; st == HS_OK && i < n; i++) {
        ys[i] = y[i] / m->y_scale;
        ymin = fmin(ymin, y[i]);
        ymax = fmax(ymax, y[i]);
    }
    if (st == HS_OK) {
        /* Prophet's initial point: the line through the first and last points */
        m->init_k = (ys[n - 1] - ys[0]) / (hs_prophet_t(m, ds[n - 1]) - hs_prophet_t(m, ds[0]));
        m->init_m = ys[0] - m->init_k * hs_prophet_t(m, ds[0]);
        int any_mult = hs_prior_inv(m, inv, mult);
        m->constant = ymin == ymax;
        if (m->constant) {
            /* Prophet's shortcut for a constant series: the initial point, sigma 1e-9 */
            m->k = m->init_k;
            m->m = m->init_m;
            m->sigma = 1e-9;
        } else {
            st = hs_prophet_design(m, ds, n, &D);
            hs_pfit F = {m, P, S, K, n, D, ys, NULL, NULL, 0, inv, mult, any_mult, tmp, {0}, 0, 0, 0, 0};
            if (st == HS_OK && !any_mult) {
                G = malloc((size_t)P * P * sizeof *G);
                b = malloc((size_t)P * sizeof *b);
                if (!G || !b)
                    st = hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
                else {
                    hs_gram(D, n, P, ys, G, b);
                    F.yy = cblas_ddot((int)n, ys, 1, ys, 1);
                    F.G = G;
                    F.b = b;
                }
            }
            if (st == HS_OK) {
                x[0] = m->init_k;
                x[1] = m->init_m;
                x[nv - 1] = 0.0; /* sigma = 1 */
                int weak = cfg->optimizer == HS_PROPHET_EXACT && G && n >= HS_PROPHET_NEWTON_BELOW
                               ? hs_weak_directions(P, S, G)
                               : 0;
                if (weak < 0)
                    st = hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
                int stan = 0;
                if (weak > 0) {
                    /* Prophet's own optimizer from Prophet's start, over the data (see the top) */
                    F.c = 1.0 / cfg->changepoint_prior_scale;
                    F.direct = 1;
                    double fx = 0, *x0 = malloc((size_t)nv * sizeof *x0);
                    int it = 0, nf = 0, r = -1;
                    double *N = malloc((size_t)P * P * sizeof *N);
                    if (x0 && N && (nf = hs_free_directions(P, G, N)) >= 0) {
                        memcpy(x0, x, (size_t)nv * sizeof *x);
                        r = hs_stan_lbfgs(nv, x, hs_pfit_stan_eval, &F, cfg->max_iterations, &fx, &it);
                    }
                    if (r == HS_SL_NOMEM || nf < 0 || !x0 || !N) {
                        st = hs_error_set(HS_ERR_NOMEM, "prophet: out of memory");
                    } else if (r < 0) {
                        /* Prophet falls back to Stan's Newton (the MAP point) when L-BFGS fails */
                        memcpy(x, x0, (size_t)nv * sizeof *x);
                    } else {
                        stan = 1;
                        m->iterations = it;
                        m->lbfgs_status = r;
                        m->free_directions = nf;
                        m->weak_directions = weak;
                    }
                    free(x0);
                    free(N);
                }
                if (st != HS_OK || stan) {
                    /* fitted by Prophet's L-BFGS above, or out of memory */
                } else if (cfg->optimizer == HS_PROPHET_EXACT) {
                    double sig2 = 1.0;
                    int rounds = hs_fit_exact(&F, 1.0 / cfg->changepoint_prior_scale, cfg->max_iterations, x, &sig2);
                    if (rounds < 0)
                        st = hs_error_set(HS_ERR_INTERNAL, "prophet: the exact solver failed (a singular system)");
                    x[nv - 1] = 0.5 * log(sig2);
                    m->iterations = rounds;
                    m->free_directions = F.free_directions;
                    m->lbfgs_status = 0;
                } else {
                    lbfgs_parameter_t p;
                    lbfgs_parameter_init(&p);
                    p.m = 10;
                    p.epsilon = 1e-10;
                    p.past = 0;
                    p.max_iterations = cfg->max_iterations;
                    p.max_linesearch = 60;
                    p.linesearch = LBFGS_LINESEARCH_BACKTRACKING;
                    p.orthantwise_c = 1.0 / cfg->changepoint_prior_scale;
                    p.orthantwise_start = 2;
                    p.orthantwise_end = 2 + S;
                    lbfgsfloatval_t fx = 0;
                    m->lbfgs_status = lbfgs(nv, x, &fx, hs_pfit_eval, hs_pfit_progress, &F, &p);
                    m->iterations = F.iterations;
                    if (!isfinite(fx) || m->lbfgs_status == LBFGSERR_OUTOFMEMORY ||
                        m->lbfgs_status == LBFGSERR_INVALID_N)
                        st = hs_error_set(HS_ERR_INTERNAL, "prophet: the optimizer failed (liblbfgs status %d)",
                                          m->lbfgs_status);
                }
                m->k = x[0];
                m->m = x[1];
                memcpy(m->delta, x + 2, (size_t)S * sizeof *x);
                memcpy(m->beta, x + 2 + S, (size_t)K * sizeof *x);
                m->sigma = exp(x[nv - 1]);
                double l1 = 0, *g = malloc((size_t)nv * sizeof *g);
                for (int j = 0; j < S; j++)
                    l1 += fabs(x[2 + j]);
                m->objective = (g ? hs_pfit_eval(&F, x, g, nv, 0) : NAN) + l1 / cfg->changepoint_prior_scale;
                free(g);
            }
        }
        if (st == HS_OK && !m->placed_changepoints) {
            /* as Prophet: no changepoints requested -> fold the dummy's delta into k */
            m->k += m->delta[0];
            m->delta[0] = 0;
        }
    }
    free(ys);
    free(x);
    free(inv);
    free(mult);
    free(D);
    free(G);
    free(b);
    free(tmp);
    m->fit_seconds = hs_time_now() - t0;
    if (st != HS_OK)
        hs_prophet_model_free(m);
    return st;
}

double hs_prophet_objective_direct(const hs_prophet_model *shape, const int64_t *ds, const double *y, int64_t n,
                                   const double *x, double *grad, double *l1)
{
    int S = shape->S, K = shape->K, P = 2 + S + K;
    double *D = NULL, *ys = malloc((size_t)n * sizeof *ys), *inv = malloc((size_t)K * sizeof *inv);
    unsigned char *mult = calloc((size_t)K, 1);
    double *tmp = malloc((size_t)P * sizeof *tmp);
    HS_ASSERT(ys && inv && mult && tmp && hs_prophet_design(shape, ds, n, &D) == HS_OK);
    hs_prior_inv(shape, inv, mult);
    for (int64_t i = 0; i < n; i++)
        ys[i] = y[i] / shape->y_scale;
    hs_pfit F = {shape, P, S, K, n, D, ys, NULL, NULL, 0, inv, mult, 1, tmp, {0}, 0, 0, 0, 0};
    double f = hs_pfit_eval(&F, x, grad, P + 1, 0);
    if (l1) {
        *l1 = 0;
        for (int j = 0; j < S; j++)
            *l1 += fabs(x[2 + j]);
    }
    free(D);
    free(ys);
    free(inv);
    free(mult);
    free(tmp);
    return f;
}
