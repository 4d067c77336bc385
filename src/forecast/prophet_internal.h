/* prophet_internal.h: pieces shared by the Prophet design, fit and prediction files. */
#ifndef HYSCALE_PROPHET_INTERNAL_H
#define HYSCALE_PROPHET_INTERNAL_H

#include "hyscale/prophet.h"

/* Seasonal columns K of a model (>= 1). */
int hs_prophet_columns(const hs_prophet_model *m);
/* The K seasonal features of one time. */
void hs_prophet_features(const hs_prophet_model *m, int64_t ds, double *x);
/* t of a time. */
double hs_prophet_t(const hs_prophet_model *m, int64_t ds);
/* The (n, 2 + S + K) design: t, 1, max(0, t - cp_j), features. Caller frees *out. */
hs_status hs_prophet_design(const hs_prophet_model *m, const int64_t *ds, int64_t n, double **out);
/* The fitted trend at t (scaled units). */
double hs_prophet_trend(const hs_prophet_model *m, double t);

#endif
