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

/* ---- floats, for simulations (Prophet's interval: 1,000 draws at every point) ---------------- */

/* The k-th smallest (0-based) of w (n), reordering w as hs_select_inplace does. A partition
 * without branches on the data (Lomuto's, every element swapped, the boundary moved by the
 * comparison), about twice as fast as Hoare's on random values; many ties end it early. */
float hs_select_inplace_f(float *w, int64_t n, int64_t k);

/* numpy.percentile(w, plo) and numpy.percentile(w, phi), plo <= phi, of n floats (no NaN, n <
 * 2^31) into *lo and *hi: the two order statistics of each taken from the floats, numpy's linear
 * step between them in double, as hs_quantile_inplace gives it on the same values. guess =
 * {a_lo, b_lo, a_hi, b_hi} (NULL: none) brackets [a, b) where each percentile is expected (a
 * neighbouring point's, for a simulation): each is then found by counting passes (the values
 * below four pivots at a time: a loop the compiler vectorises) that narrow its bracket to a few
 * values, which one more pass gathers for a select; a bracket that misses is searched outwards
 * from (one or two passes more). Without a guess, by quickselect over a copy. w is read only;
 * scratch (2n). Returns how many of the two brackets missed (0 without a guess). */
int hs_quantile_pair_f(const float *w, int64_t n, double plo, double phi, const float *guess, float *scratch,
                       double *lo, double *hi);

#ifdef __cplusplus
}
#endif
#endif
