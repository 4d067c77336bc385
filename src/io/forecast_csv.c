/* forecast_csv.c: the `ds,y,yhat,yhat_lower,yhat_upper` writer (forecast_csv.h). Every value
 * written is finite: a non-finite one (other than the NaN y that means "no actual") stops the
 * writer with the file, line, column and value named, and every write is checked. */
#include "hyscale/forecast_csv.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "hyscale/series.h"

static const char *const hs_fc_names[5] = {"ds", "y", "yhat", "yhat_lower", "yhat_upper"};

static hs_status hs_fc_write_failed(const char *path)
{
    return hs_error_set(HS_ERR_IO, "%s: write failed: %s", path, errno ? strerror(errno) : "stream error");
}

/* The row's line in the file ("line N") when known (line > 0), else its time. */
static void hs_fc_where(char *buf, size_t cap, int64_t line, const char *ts)
{
    if (line > 0)
        snprintf(buf, cap, "%lld", (long long)line);
    else
        snprintf(buf, cap, " row at %s", ts);
}

/* ",value" or "," for a missing value; col indexes hs_fc_names. empty_ok: NaN means empty. */
static hs_status hs_put_value(FILE *f, const char *path, int64_t line, const char *ts, int col, const float *v,
                              int64_t i, int empty_ok)
{
    if (fputc(',', f) == EOF)
        return hs_fc_write_failed(path);
    if (!v || (empty_ok && isnan(v[i])))
        return HS_OK;
    if (!isfinite(v[i])) {
        char where[48];
        hs_fc_where(where, sizeof where, line, ts);
        return hs_error_set(HS_ERR_INTERNAL, "%s:%s: column %d (%s): non-finite value '%g' (not written)", path,
                            where, col + 1, hs_fc_names[col], (double)v[i]);
    }
    if (fprintf(f, "%.9g", v[i]) < 0)
        return hs_fc_write_failed(path);
    return HS_OK;
}

/* The rows; first_line: the file line of row 0, or 0 when the caller appends and does not know. */
static hs_status hs_fc_put_rows(FILE *f, const char *path, const hs_forecast_rows *r, int64_t first_line)
{
    HS_ASSERT(r->yhat && r->step_seconds > 0 && r->n >= 0);
    char ts[24];
    for (int64_t i = 0; i < r->n; i++) {
        int64_t line = first_line > 0 ? first_line + i : 0;
        hs_format_time(r->start_unix + i * r->step_seconds, ts);
        if (fputs(ts, f) == EOF)
            return hs_fc_write_failed(path);
        HS_TRY(hs_put_value(f, path, line, ts, 1, r->y, i, 1));
        HS_TRY(hs_put_value(f, path, line, ts, 2, r->yhat, i, 0));
        HS_TRY(hs_put_value(f, path, line, ts, 3, r->lower, i, 0));
        HS_TRY(hs_put_value(f, path, line, ts, 4, r->upper, i, 0));
        if (fputc('\n', f) == EOF)
            return hs_fc_write_failed(path);
    }
    if (ferror(f))
        return hs_fc_write_failed(path);
    return HS_OK;
}

static hs_status hs_fc_put_header(FILE *f, const char *path)
{
    if (fputs("ds,y,yhat,yhat_lower,yhat_upper\n", f) == EOF)
        return hs_fc_write_failed(path);
    return HS_OK;
}

hs_status hs_forecast_csv_write(FILE *f, const char *path, const hs_forecast_rows *r)
{
    HS_TRY(hs_fc_put_header(f, path));
    return hs_fc_put_rows(f, path, r, 2);
}

hs_status hs_forecast_csv_write_rows(FILE *f, const char *path, const hs_forecast_rows *r)
{
    return hs_fc_put_rows(f, path, r, 0);
}

hs_status hs_forecast_csv_write_at(FILE *f, const char *path, const int64_t *ds, const float *y, const float *yhat,
                                   const float *lower, const float *upper, int64_t n)
{
    HS_TRY(hs_fc_put_header(f, path));
    for (int64_t i = 0; i < n; i++) {
        hs_forecast_rows one = {ds[i], 1, 1, y ? y + i : NULL, yhat + i, lower ? lower + i : NULL,
                                upper ? upper + i : NULL};
        HS_TRY(hs_fc_put_rows(f, path, &one, 2 + i));
    }
    return HS_OK;
}
