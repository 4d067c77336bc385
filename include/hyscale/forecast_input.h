/* forecast_input.h: the input of every forecaster: a preprocessed series.csv (its log1p column
 * is modelled, forecasts go back to invocations with expm1) or a `ds,y` file (modelled as
 * given; rows with an empty y are left out and counted, as Prophet drops NaN rows).
 *
 *     hs_forecast_input in;
 *     HS_TRY(hs_forecast_input_read("outputs/run1/series.csv", &in));
 *     ... in.ds[i], in.y[i] (what is modelled), in.log_scale ...
 *     hs_forecast_input_free(&in);
 */
#ifndef HYSCALE_FORECAST_INPUT_H
#define HYSCALE_FORECAST_INPUT_H

#include <stdint.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_forecast_input {
    int64_t n;
    int64_t *ds;        /* (n) seconds since the epoch, strictly increasing */
    double *y;          /* (n) the modelled values: log1p for a series file, y for ds,y */
    float *clipped;     /* (n) series file: the cleaned invocations; NULL for ds,y */
    float *raw;         /* (n) series file: the raw invocations; NULL for ds,y */
    int log_scale;      /* 1 for a series file: forecasts are expm1 of the model's */
    int64_t step_seconds; /* the most common spacing */
    int64_t dropped_empty; /* ds,y rows with an empty y */
} hs_forecast_input;

hs_status hs_forecast_input_read(const char *path, hs_forecast_input *out);
void hs_forecast_input_free(hs_forecast_input *in);

/* The time `steps` steps after t in the input's rhythm (calendar months when the data is
 * monthly, else step_seconds). */
int64_t hs_forecast_next_time(const hs_forecast_input *in, int64_t t, int64_t steps);

#ifdef __cplusplus
}
#endif
#endif
