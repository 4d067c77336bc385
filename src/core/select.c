/* select.c: quickselect and percentiles (select.h). */
#include "hyscale/select.h"

#include <math.h>

double hs_select_inplace(double *w, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = w[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (w[i] < pivot)
                i++;
            while (w[j] > pivot)
                j--;
            if (i <= j) {
                double t = w[i];
                w[i++] = w[j];
                w[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return w[k];
    }
    return w[k];
}

double hs_quantile_inplace(double *w, int64_t n, double p)
{
    double h = p / 100.0 * (double)(n - 1);
    int64_t j = (int64_t)floor(h);
    double a = hs_select_inplace(w, n, j);
    if (j >= n - 1)
        return a;
    double b = w[j + 1];
    for (int64_t i = j + 2; i < n; i++)
        b = w[i] < b ? w[i] : b; /* after the select, w[j+1..] hold the larger values */
    return a + (h - (double)j) * (b - a);
}
