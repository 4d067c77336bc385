/* forecast_csv.c: the `ds,y,yhat,yhat_lower,yhat_upper` writer (forecast_csv.h). */
#include "hyscale/forecast_csv.h"

#include <math.h>

#include "hyscale/series.h"

static void hs_put_value(FILE *f, const float *v, int64_t i)
{
    fputc(',', f);
    if (v && !isnan(v[i]))
        fprintf(f, "%.9g", v[i]);
}

hs_status hs_forecast_csv_write(FILE *f, const char *path, const hs_forecast_rows *r)
{
    fputs("ds,y,yhat,yhat_lower,yhat_upper\n", f);
    return hs_forecast_csv_write_rows(f, path, r);
}

hs_status hs_forecast_csv_write_rows(FILE *f, const char *path, const hs_forecast_rows *r)
{
    HS_ASSERT(r->yhat && r->step_seconds > 0 && r->n >= 0);
    char ts[24];
    for (int64_t i = 0; i < r->n; i++) {
        hs_format_time(r->start_unix + i * r->step_seconds, ts);
        fputs(ts, f);
        hs_put_value(f, r->y, i);
        hs_put_value(f, r->yhat, i);
        hs_put_value(f, r->lower, i);
        hs_put_value(f, r->upper, i);
        fputc('\n', f);
    }
    if (ferror(f))
        return hs_error_set(HS_ERR_IO, "%s: write failed", path);
    return HS_OK;
}

hs_status hs_forecast_csv_write_at(FILE *f, const char *path, const int64_t *ds, const float *y, const float *yhat,
                                   const float *lower, const float *upper, int64_t n)
{
    fputs("ds,y,yhat,yhat_lower,yhat_upper\n", f);
    for (int64_t i = 0; i < n; i++) {
        hs_forecast_rows one = {ds[i], 1, 1, y ? y + i : NULL, yhat + i, lower ? lower + i : NULL,
                                upper ? upper + i : NULL};
        HS_TRY(hs_forecast_csv_write_rows(f, path, &one));
    }
    return HS_OK;
}
