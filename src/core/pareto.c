/* pareto.c: the Pareto front (pareto.h), one definition for the scaling evaluation's CSV, report
 * and plot, so the three cannot disagree on which policies it holds. */
#include "hyscale/pareto.h"

#include <math.h>
#include <stdlib.h>

#include "hyscale/status.h"

int hs_pareto_front(const double *x, const double *y, int n, unsigned char *front)
{
    HS_ASSERT(n >= 0 && (n == 0 || (x && y && front)));
    int nf = 0;
    for (int i = 0; i < n; i++) {
        front[i] = 1;
        for (int j = 0; j < n && front[i]; j++)
            if (j != i && hs_pareto_dominates(x[j], y[j], x[i], y[i]))
                front[i] = 0;
        nf += front[i];
    }
    return nf;
}

int hs_pareto_hull(const double *x, const double *y, int n, double *hx, double *hy)
{
    HS_ASSERT(n >= 0 && (n == 0 || (x && y && hx && hy)));
    /* the finite points sorted by x, then y (insertion sort: an evaluation has a few hundred) */
    int *ix = malloc((size_t)(n > 0 ? n : 1) * sizeof *ix);
    HS_ASSERT(ix);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]))
            continue;
        int k = m++;
        while (k > 0 && (x[ix[k - 1]] > x[i] || (x[ix[k - 1]] == x[i] && y[ix[k - 1]] > y[i]))) {
            ix[k] = ix[k - 1];
            k--;
        }
        ix[k] = i;
    }
    /* Andrew's monotone chain, lower hull, kept while y falls */
    int h = 0;
    for (int a = 0; a < m; a++) {
        double px = x[ix[a]], py = y[ix[a]];
        if (h > 0 && py >= hy[h - 1]) /* no lower than the hull so far: dominated or flat */
            continue;
        while (h >= 2 && (hx[h - 1] - hx[h - 2]) * (py - hy[h - 2]) - (hy[h - 1] - hy[h - 2]) * (px - hx[h - 2]) <= 0)
            h--;
        hx[h] = px;
        hy[h] = py;
        h++;
    }
    free(ix);
    return h;
}

double hs_pareto_hull_at(const double *hx, const double *hy, int nh, double at)
{
    if (nh <= 0 || !(at >= hx[0]))
        return NAN;
    for (int k = 1; k < nh; k++)
        if (at <= hx[k])
            return hy[k - 1] + (hy[k] - hy[k - 1]) * (at - hx[k - 1]) / (hx[k] - hx[k - 1]);
    return hy[nh - 1];
}
