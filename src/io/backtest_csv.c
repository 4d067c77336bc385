/* backtest_csv.c: the `cutoff,ds,y,yhat,yhat_lower,yhat_upper` table written and read back
 * (backtest_csv.h), with the strict readers' rules (csvread.h, parse.h). */
#include "hyscale/backtest_csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/csvread.h"
#include "hyscale/parse.h"
#include "hyscale/series.h"

static const char *const hs_bt_names[6] = {"cutoff", "ds", "y", "yhat", "yhat_lower", "yhat_upper"};

static hs_status hs_bt_write_failed(const char *path)
{
    return hs_error_set(HS_ERR_IO, "%s: write failed: %s", path, errno ? strerror(errno) : "stream error");
}

/* ",value", or "," for a missing one (v NULL, or NaN where empty_ok). */
static hs_status hs_bt_put(FILE *f, const char *path, int64_t line, int col, const double *v, int64_t i, int empty_ok)
{
    if (fputc(',', f) == EOF)
        return hs_bt_write_failed(path);
    if (!v || (empty_ok && isnan(v[i])))
        return HS_OK;
    if (!isfinite(v[i]))
        return hs_error_set(HS_ERR_INTERNAL, "%s:%lld: column %d (%s): non-finite value '%g' (not written)", path,
                            (long long)line, col + 1, hs_bt_names[col], v[i]);
    if (fprintf(f, "%.10g", v[i]) < 0)
        return hs_bt_write_failed(path);
    return HS_OK;
}

hs_status hs_bt_csv_write(FILE *f, const char *path, const hs_bt_rows *r)
{
    HS_ASSERT(r->cutoff && r->ds && r->yhat && r->n >= 0);
    if (fputs("cutoff,ds,y,yhat,yhat_lower,yhat_upper\n", f) == EOF)
        return hs_bt_write_failed(path);
    char tc[24], td[24];
    for (int64_t i = 0; i < r->n; i++) {
        int64_t line = i + 2;
        hs_format_time(r->cutoff[i], tc);
        hs_format_time(r->ds[i], td);
        if (fprintf(f, "%s,%s", tc, td) < 0)
            return hs_bt_write_failed(path);
        HS_TRY(hs_bt_put(f, path, line, 2, r->y, i, 1));
        HS_TRY(hs_bt_put(f, path, line, 3, r->yhat, i, 0));
        HS_TRY(hs_bt_put(f, path, line, 4, r->lower, i, 0));
        HS_TRY(hs_bt_put(f, path, line, 5, r->upper, i, 0));
        if (fputc('\n', f) == EOF)
            return hs_bt_write_failed(path);
    }
    return ferror(f) ? hs_bt_write_failed(path) : HS_OK;
}

typedef struct hs_btr {
    const char *path;
    hs_csv_handlers *h;
    hs_bt_table *t;
    int64_t cap;
} hs_btr;

static const char *hs_btr_name(void *ctx, int col)
{
    (void)ctx;
    return col < 6 ? hs_bt_names[col] : "extra";
}

/* Room for one more row in every column. */
static int hs_btr_grow(hs_btr *r)
{
    hs_bt_table *t = r->t;
    if (t->n < r->cap)
        return 0;
    int64_t nc = r->cap ? 2 * r->cap : 1024;
    int64_t **iv[2] = {&t->cutoff, &t->ds};
    double **dv[4] = {&t->y, &t->yhat, &t->lower, &t->upper};
    for (int k = 0; k < 2; k++) {
        int64_t *p = realloc(*iv[k], (size_t)nc * sizeof *p);
        if (!p)
            return 1;
        *iv[k] = p;
    }
    for (int k = 0; k < 4; k++) {
        double *p = realloc(*dv[k], (size_t)nc * sizeof *p);
        if (!p)
            return 1;
        *dv[k] = p;
    }
    r->cap = nc;
    return 0;
}

static int hs_btr_field(void *ctx, int col, const char *s, size_t len, int64_t line)
{
    hs_btr *r = ctx;
    if (col >= 6)
        return 0;
    if (line == 1)
        return hs_csv_check_header(r->h, r->path, col, s, len, hs_bt_names[col]);
    hs_bt_table *t = r->t;
    if (col == 0 && hs_btr_grow(r)) {
        r->h->stop_status = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", r->path);
        return 1;
    }
    if (col < 2) {
        hs_parse_err e = hs_parse_time_n(s, len, col == 0 ? &t->cutoff[t->n] : &t->ds[t->n]);
        if (e) {
            r->h->stop_status = hs_parse_field_error(HS_ERR_INPUT, r->path, line, col, hs_bt_names[col],
                                                     e == HS_PARSE_TOO_LONG ? "time too long" : "bad time", s, len);
            return 1;
        }
        return 0;
    }
    double v = NAN;
    hs_parse_err e = len ? hs_parse_real(s, len, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, &v) : HS_PARSE_OK;
    if (!e && col == 3 && !len)
        e = HS_PARSE_EMPTY;
    if (e) {
        char what[96];
        hs_parse_explain(e, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, what, sizeof what);
        r->h->stop_status = hs_parse_field_error(HS_ERR_INPUT, r->path, line, col, hs_bt_names[col], what, s, len);
        return 1;
    }
    double *dst[4] = {t->y, t->yhat, t->lower, t->upper};
    dst[col - 2][t->n] = v;
    return 0;
}

static int hs_btr_row(void *ctx, int ncols, int64_t line, int terminated)
{
    (void)terminated;
    hs_btr *r = ctx;
    if (hs_csv_check_columns(r->h, r->path, line, ncols, 6))
        return 1;
    if (line > 1)
        r->t->n++;
    return 0;
}

hs_status hs_bt_table_read(const char *path, hs_bt_table *t)
{
    memset(t, 0, sizeof *t);
    hs_btr r = {path, NULL, t, 0};
    hs_csv_handlers h = {
        .ctx = &r, .field = hs_btr_field, .row = hs_btr_row, .name = hs_btr_name, .stop_status = HS_OK};
    r.h = &h;
    hs_status st = hs_csv_stream(path, &h, NULL);
    if (st != HS_OK)
        hs_bt_table_free(t);
    return st;
}

void hs_bt_table_free(hs_bt_table *t)
{
    free(t->cutoff);
    free(t->ds);
    free(t->y);
    free(t->yhat);
    free(t->lower);
    free(t->upper);
    memset(t, 0, sizeof *t);
}
