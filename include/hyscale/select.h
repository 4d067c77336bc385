/* select.h: order statistics in place: the k-th smallest (Hoare's quickselect) and the P-th
 * percentile with linear interpolation (NumPy's default), shared by spike clipping, series
 * statistics and Prophet's intervals.
 *
 *     double med = hs_quantile_inplace(w, n, 50.0);   // reorders w
 */
#ifndef HYSCALE_SELECT_H
#define HYSCALE_SELECT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The k-th smallest (0-based) of w (n), reordering w so that w[0..k-1] <= w[k] <= w[k+1..]. */
double hs_select_inplace(double *w, int64_t n, int64_t k);

/* numpy.percentile(w, p) (linear interpolation between order statistics); reorders w. */
double hs_quantile_inplace(double *w, int64_t n, double p);

#ifdef __cplusplus
}
#endif
#endif
