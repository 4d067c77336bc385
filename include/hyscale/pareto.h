/* pareto.h: the Pareto front of n points (x, y), lower being better on both axes, computed once
 * for the scaling evaluation's table (scaling_eval.csv's `front` column) and its plot.
 *
 *     unsigned char front[n];
 *     int nf = hs_pareto_front(x, y, n, front);   // front[i] = 1 on the front
 *
 * NaN rule: a comparison with NaN is false, so a point with a NaN coordinate neither dominates
 * another nor is dominated, and is therefore on the front. Infinite values compare as numbers.
 * A plot that cannot place a non-finite point skips it (plot.h); the flags stay as computed.
 */
#ifndef HYSCALE_PARETO_H
#define HYSCALE_PARETO_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when point a dominates point b: no worse on both axes and better on one (0 when any
 * coordinate is NaN). */
static inline int hs_pareto_dominates(double xa, double ya, double xb, double yb)
{
    return xa <= xb && ya <= yb && (xa < xb || ya < yb);
}

/* front[i] = 1 when no other point dominates point i, else 0; x, y (n) and front (n) are the
 * caller's. Returns the number of points on the front. O(n^2), for the few dozen rows of an
 * evaluation. */
int hs_pareto_front(const double *x, const double *y, int n, unsigned char *front);

/* The lower-left convex hull of n points: what an operator gets by picking or mixing policies
 * (a mix of two policies over time lands on the segment between them). Its vertices, from the
 * least x (the least y among equals) to the least y (the least x among equals), with x rising and
 * y falling, go to hx, hy (n each, the caller's); returns their count (0 when no point is finite).
 * Non-finite points are left out. */
int hs_pareto_hull(const double *x, const double *y, int n, double *hx, double *hy);

/* The hull's y at x = at: linear between vertices, the last vertex's y beyond it (more idle
 * capacity buys nothing more), NaN left of the first vertex (no mix of the points reaches it). */
double hs_pareto_hull_at(const double *hx, const double *hy, int nh, double at);

#ifdef __cplusplus
}
#endif
#endif
