/* report_lead.h: the forecast report's scores by lead time (report_lead.c), called by
 * hs_forecast_report_write (hybrid.h). */
#ifndef HYSCALE_REPORT_LEAD_H
#define HYSCALE_REPORT_LEAD_H

#include <stdint.h>
#include <stdio.h>

#include "hyscale/forecast_rows.h"
#include "hyscale/outfiles.h"
#include "hyscale/status.h"

/* MAE and RMSE by lead (lead.h) from the rolling cutoffs over the holdout (the last H rows of
 * pf, prophet_full.csv, stepping step seconds) of Prophet, the LSTM's recursive forecasts
 * (dir/lstm_by_lead.csv, when present), their average and the persistence and seasonal-naive
 * baselines: the markdown section into md, forecast_by_lead.csv and forecast_by_lead.png into os. */
hs_status hs_report_by_lead(const char *dir, const hs_fc_table *pf, int64_t H, int64_t step, hs_outset *os, FILE *md);

#endif
