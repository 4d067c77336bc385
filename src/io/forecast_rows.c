/* forecast_rows.c: reads a forecast CSV (`ds,y,yhat,yhat_lower,yhat_upper`) back, for the
 * Hybrid and the report (forecast_rows.h). */
#include "hyscale/forecast_rows.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/csvread.h"
#include "hyscale/parse.h"
#include "hyscale/series.h"

typedef struct hs_frr {
    const char *path;
    hs_csv_handlers *h;
    hs_fc_table *t;
    int64_t cap;
} hs_frr;

static const char *const hs_frr_names[5] = {"ds", "y", "yhat", "yhat_lower", "yhat_upper"};

static const char *hs_frr_name(void *ctx, int col)
{
    (void)ctx;
    return col < 5 ? hs_frr_names[col] : "extra";
}

static int hs_frr_field(void *ctx, int col, const char *s, size_t len, int64_t line)
{
    const char *const *names = hs_frr_names;
    hs_frr *r = ctx;
    if (col >= 5)
        return 0;
    if (line == 1)
        return hs_csv_check_header(r->h, r->path, col, s, len, names[col]);
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
        hs_parse_err e = hs_parse_time_n(s, len, &t->ds[t->n]);
        if (e) {
            r->h->stop_status = hs_parse_field_error(HS_ERR_INPUT, r->path, line, col, names[col],
                                                     e == HS_PARSE_TOO_LONG ? "time too long" : "bad time", s, len);
            return 1;
        }
    } else {
        /* every number column is checked; an empty one (y past the data) reads as NaN */
        double v = NAN;
        hs_parse_err e = len ? hs_parse_real(s, len, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, &v) : HS_PARSE_OK;
        if (e) {
            char what[96];
            hs_parse_explain(e, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, what, sizeof what);
            r->h->stop_status = hs_parse_field_error(HS_ERR_INPUT, r->path, line, col, names[col], what, s, len);
            return 1;
        }
        if (col == 1 || col == 2)
            (col == 1 ? t->y : t->yhat)[t->n] = v;
    }
    return 0;
}

static int hs_frr_row(void *ctx, int ncols, int64_t line, int terminated)
{
    (void)terminated;
    hs_frr *r = ctx;
    if (hs_csv_check_columns(r->h, r->path, line, ncols, 5))
        return 1;
    if (line > 1)
        r->t->n++;
    return 0;
}

hs_status hs_fc_table_read(const char *path, hs_fc_table *t)
{
    memset(t, 0, sizeof *t);
    hs_frr r = {path, NULL, t, 0};
    hs_csv_handlers h = {.ctx = &r, .field = hs_frr_field, .row = hs_frr_row, .name = hs_frr_name, .stop_status = HS_OK};
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
