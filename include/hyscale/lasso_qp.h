/* lasso_qp.h: an exact solver for small L1-penalised quadratic programs,
 *
 *     minimise 0.5 x'Hx - q'x + c * sum_{j : pen[j]} |x_j|,   H (P, P) symmetric positive definite,
 *
 * by feature-sign search (Lee, Battle, Raina and Ng, "Efficient sparse coding algorithms",
 * NIPS 2006), extended with unpenalised coordinates: an active set with fixed signs, each step
 * an exact solve of the reduced linear system and a line search over the sign changes on the
 * way. It ends in finitely many steps at the exact minimiser (to rounding). Prophet's MAP fit
 * uses it for the Laplace prior on the changepoint deltas.
 *
 *     double work[HS_LASSO_WORK(P)];
 *     int it = hs_lasso_qp(P, H, q, pen, c, x, work);   // x: warm start in, solution out
 */
#ifndef HYSCALE_LASSO_QP_H
#define HYSCALE_LASSO_QP_H

#ifdef __cplusplus
extern "C" {
#endif

#define HS_LASSO_WORK(P) ((P) * (P) + 6 * (P))

/* Returns the number of feature-sign steps (>= 0); -1 when H is not positive definite on an
 * active set, -2 when 50 P + 100 steps did not finish (a cycle: never seen, but never silent). */
int hs_lasso_qp(int P, const double *H, const double *q, const unsigned char *pen, double c, double *x,
                double *work);

/* The objective above at x. */
double hs_lasso_objective(int P, const double *H, const double *q, const unsigned char *pen, double c,
                          const double *x);

/* Cholesky solve of A z = r for an (n, n) SPD matrix (row-major, lda). A is overwritten by its
 * factor. Returns 0, or -1 when A is not positive definite. */
int hs_cholesky_solve(int n, double *A, int lda, double *r);

#ifdef __cplusplus
}
#endif
#endif
