/* lasso_qp.c: feature-sign search for small L1-penalised QPs (lasso_qp.h). */
#include "hyscale/lasso_qp.h"

#include <math.h>
#include <string.h>

int hs_cholesky_solve(int n, double *A, int lda, double *r)
{
    for (int j = 0; j < n; j++) {
        double d = A[j * lda + j];
        for (int k = 0; k < j; k++)
            d -= A[j * lda + k] * A[j * lda + k];
        if (!(d > 0))
            return -1;
        d = sqrt(d);
        A[j * lda + j] = d;
        for (int i = j + 1; i < n; i++) {
            double s = A[i * lda + j];
            for (int k = 0; k < j; k++)
                s -= A[i * lda + k] * A[j * lda + k];
            A[i * lda + j] = s / d;
        }
    }
    for (int i = 0; i < n; i++) { /* L y = r */
        double s = r[i];
        for (int k = 0; k < i; k++)
            s -= A[i * lda + k] * r[k];
        r[i] = s / A[i * lda + i];
    }
    for (int i = n - 1; i >= 0; i--) { /* L' z = y */
        double s = r[i];
        for (int k = i + 1; k < n; k++)
            s -= A[k * lda + i] * r[k];
        r[i] = s / A[i * lda + i];
    }
    return 0;
}

double hs_lasso_objective(int P, const double *H, const double *q, const unsigned char *pen, double c,
                          const double *x)
{
    double f = 0;
    for (int i = 0; i < P; i++) {
        double hx = 0;
        for (int j = 0; j < P; j++)
            hx += H[i * P + j] * x[j];
        f += 0.5 * x[i] * hx - q[i] * x[i];
        if (pen[i])
            f += c * fabs(x[i]);
    }
    return f;
}

static double hs_sign(double v) { return (v > 0) - (v < 0); }

int hs_lasso_qp(int P, const double *H, const double *q, const unsigned char *pen, double c, double *x,
                double *work)
{
    double *Hs = work;           /* (P, P) reduced system */
    double *z = Hs + P * P;      /* (P) reduced solution, then the full candidate */
    double *g = z + P;           /* (P) gradient of the smooth part */
    double *s = g + P;           /* (P) signs of the active penalised coordinates */
    double *xt = s + P;          /* (P) trial point of the line search */
    double *act = xt + P;        /* (P) 1 when active */
    int *idx = (int *)(act + P); /* (P) active coordinates, in order (fits in the last P doubles) */
    for (int j = 0; j < P; j++) {
        act[j] = !pen[j] || x[j] != 0;
        s[j] = pen[j] ? hs_sign(x[j]) : 0;
    }
    int steps = 0, limit = 50 * P + 100;
    /* a warm start's active set is solved first; after that, every exact solve leaves the
     * active coordinates optimal, so only the zero ones are checked */
    int first = 1;
    for (;;) {
        if (!first) {
            for (int i = 0; i < P; i++) {
                double v = -q[i], mag = fabs(q[i]);
                for (int j = 0; j < P; j++) {
                    v += H[i * P + j] * x[j];
                    mag += fabs(H[i * P + j] * x[j]);
                }
                g[i] = v;
                xt[i] = mag; /* the size of the terms: rounding in g[i] is ~1e-16 of it */
            }
            /* the zero coordinate that violates its condition most joins the active set */
            int best = -1;
            double worst = 0;
            for (int j = 0; j < P; j++) {
                double slack = 1e-10 * (c + xt[j]);
                if (pen[j] && !act[j] && fabs(g[j]) - c > slack && fabs(g[j]) - c > worst) {
                    worst = fabs(g[j]) - c;
                    best = j;
                }
            }
            if (best < 0)
                return steps;
            act[best] = 1;
            s[best] = -hs_sign(g[best]);
        }
        first = 0;
        /* feature-sign steps on the active set until the signs are consistent */
        for (;;) {
            if (++steps > limit)
                return -2;
            int na = 0;
            for (int j = 0; j < P; j++)
                if (act[j])
                    idx[na++] = j;
            for (int a = 0; a < na; a++) {
                for (int b = 0; b < na; b++)
                    Hs[a * na + b] = H[idx[a] * P + idx[b]];
                z[a] = q[idx[a]] - c * s[idx[a]];
            }
            if (hs_cholesky_solve(na, Hs, na, z))
                return -1;
            /* the candidate in full coordinates (inactive stay 0) */
            for (int j = 0; j < P; j++)
                xt[j] = act[j] ? 0 : x[j];
            for (int a = 0; a < na; a++)
                xt[idx[a]] = z[a];
            for (int j = 0; j < P; j++)
                z[j] = xt[j];
            int consistent = 1;
            for (int j = 0; j < P; j++)
                if (pen[j] && act[j] && hs_sign(z[j]) != s[j])
                    consistent = 0;
            if (consistent) {
                memcpy(x, z, (size_t)P * sizeof *x);
                break;
            }
            /* line search over the points where a coordinate reaches zero on the way to z */
            double bestf = hs_lasso_objective(P, H, q, pen, c, z), bestt = 1;
            for (int j = 0; j < P; j++) {
                if (!pen[j] || !act[j] || x[j] == 0 || hs_sign(z[j]) == hs_sign(x[j]))
                    continue;
                double t = x[j] / (x[j] - z[j]);
                for (int k = 0; k < P; k++)
                    xt[k] = x[k] + t * (z[k] - x[k]);
                xt[j] = 0;
                double f = hs_lasso_objective(P, H, q, pen, c, xt);
                if (f < bestf) {
                    bestf = f;
                    bestt = t;
                }
            }
            for (int k = 0; k < P; k++)
                x[k] = x[k] + bestt * (z[k] - x[k]);
            for (int j = 0; j < P; j++) {
                if (!pen[j] || !act[j])
                    continue;
                if (fabs(x[j]) <= 1e-15 * (1 + fabs(z[j])) || hs_sign(x[j]) != s[j]) {
                    x[j] = 0;
                    act[j] = 0;
                    s[j] = 0;
                }
            }
        }
    }
}
