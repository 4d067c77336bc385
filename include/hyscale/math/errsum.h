/* errsum.h: the per-element part of the forecast error metrics, summed by the CPU loop
 * (src/core/metrics.c); header-only math like the rest of math/, usable from a kernel.
 * For a pair (y, yhat): accumulate |y - yhat| and (y - yhat)^2 in double. */
#ifndef HYSCALE_MATH_ERRSUM_H
#define HYSCALE_MATH_ERRSUM_H

#include "hyscale/math/hd.h"

typedef struct hs_errsum {
    double abs_sum; /* sum |y - yhat| */
    double sq_sum;  /* sum (y - yhat)^2 */
} hs_errsum;

static inline HS_HD void hs_errsum_add(hs_errsum *s, float y, float yhat)
{
    double e = (double)y - (double)yhat;
    s->abs_sum += e < 0 ? -e : e;
    s->sq_sum += e * e;
}

static inline HS_HD void hs_errsum_merge(hs_errsum *s, hs_errsum o)
{
    s->abs_sum += o.abs_sum;
    s->sq_sum += o.sq_sum;
}

#endif
