/* forecast_rows.c: reads a forecast CSV (`ds,y,yhat,yhat_lower,yhat_upper`) back, for the
 * Hybrid and the report (forecast_rows.h). */
#include "hyscale/forecast_rows.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/csvread.h"
#include "hyscale/series.h"

typedef struct hs_frr {
    const char *path;
    hs_csv_handlers *h;
    hs_fc_table *t;
    int64_t cap;
    char f[64];
} hs_frr;

static int hs_frr_field(void *ctx, int col, const char *s, size_t len, int64_t line)
{
    static const char *const names[5] = {"ds", "y", "yhat", "yhat_lower", "yhat_upper"};
    hs_frr *r = ctx;
    size_t k = len < sizeof r->f - 1 ? len : sizeof r->f - 1;
    memcpy(r->f, s, k);
    r->f[k] = '\0';
    if (col >= 5)
        return 0;
    if (line == 1) {
        if (strcmp(r->f, names[col])) {
            r->h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:1: column %d: '%s' where '%s' was expected", r->path,
                                             col + 1, r->f, names[col]);
            return 1;
        }
        return 0;
    }
    hs_fc_table *t = r->t;
    if (col == 0) {
        if (t->n == r->cap) {
            int64_t nc = r->cap ? 2 * r->cap : 4096;
            int64_t *ds = realloc(t->ds, (size_t)nc * sizeof *ds);
            if (ds)
                t->ds = ds;
            double *y = realloc(t->y, (size_t)nc * sizeof *y);
            if (y)
                t->y = y;
            double *yh = realloc(t->yhat, (size_t)nc * sizeof *yh);
            if (yh)
                t->yhat = yh;
            if (!ds || !y || !yh) {
                r->h->stop_status = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", r->path);
                return 1;
            }
            r->cap = nc;
        }
        if (hs_parse_time(r->f, &t->ds[t->n])) {
            r->h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:%lld: column 1 (ds): bad time '%s'", r->path,
                                             (long long)line, r->f);
            return 1;
        }
    } else if (col == 1 || col == 2) {
        char *end;
        double v = k ? strtod(r->f, &end) : NAN;
        if (k && *end) {
            r->h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:%lld: column %d (%s): non-numeric '%s'", r->path,
                                             (long long)line, col + 1, names[col], r->f);
            return 1;
        }
        (col == 1 ? t->y : t->yhat)[t->n] = v;
    }
    return 0;
}

static int hs_frr_row(void *ctx, int ncols, int64_t line, int terminated)
{
    (void)terminated;
    hs_frr *r = ctx;
    if (ncols != 5) {
        r->h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:%lld: expected 5 columns, found %d", r->path,
                                         (long long)line, ncols);
        return 1;
    }
    if (line > 1)
        r->t->n++;
    return 0;
}

hs_status hs_fc_table_read(const char *path, hs_fc_table *t)
{
    memset(t, 0, sizeof *t);
    hs_frr r = {path, NULL, t, 0, {0}};
    hs_csv_handlers h = {.ctx = &r, .field = hs_frr_field, .row = hs_frr_row, .stop_status = HS_OK};
    r.h = &h;
    hs_status st = hs_csv_stream(path, &h, NULL);
    if (st != HS_OK)
        hs_fc_table_free(t);
    return st;
}

void hs_fc_table_free(hs_fc_table *t)
{
    free(t->ds);
    free(t->y);
    free(t->yhat);
    memset(t, 0, sizeof *t);
}
