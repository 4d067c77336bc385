/* pareto.c: the Pareto front (pareto.h), one definition for the scaling evaluation's CSV, report
 * and plot, so the three cannot disagree on which policies it holds. */
#include "hyscale/pareto.h"

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
