/* forecast_rows.h: a forecast CSV (forecast_csv.h) read back (ds, y, yhat), for the Hybrid, the
 * report and the autoscaling environment's forecast tables (src/io/forecast_rows.c). */
#ifndef HYSCALE_FORECAST_ROWS_H
#define HYSCALE_FORECAST_ROWS_H

#include <stdint.h>

#include "hyscale/status.h"

typedef struct hs_fc_table {
    int64_t n;
    int64_t *ds;
    double *y;    /* NAN where empty */
    double *yhat; /* NAN where empty */
} hs_fc_table;

hs_status hs_fc_table_read(const char *path, hs_fc_table *t);
void hs_fc_table_free(hs_fc_table *t);

#endif
