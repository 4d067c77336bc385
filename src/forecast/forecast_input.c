/* forecast_input.c: reads a forecaster's input, series.csv or ds,y (forecast_input.h). */
#include "hyscale/forecast_input.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/csvread.h"
#include "hyscale/parse.h"
#include "hyscale/series.h"

typedef struct hs_fin {
    const char *path;
    hs_csv_handlers *h;
    int series; /* 1: series.csv, 0: ds,y */
    int64_t n, cap;
    int64_t *ds;
    int64_t *line; /* (n) the record each point came from, for messages */
    double *y;
    float *clipped, *raw;
    int64_t dropped;
    int row_empty_y;
} hs_fin;

static const char *const hs_fin_sn[5] = {"minute", "timestamp", "invocations", "clipped", "log1p"};

static const char *hs_fin_name(const hs_fin *r, int col)
{
    if (r->series)
        return col < 5 ? hs_fin_sn[col] : "extra";
    return col == 0 ? "ds" : col == 1 ? "y" : "extra";
}

static const char *hs_fin_col_name(void *ctx, int col) { return hs_fin_name(ctx, col); }

static int hs_fin_fail(hs_fin *r, int64_t line, int col, const char *what, const char *s, size_t len)
{
    r->h->stop_status = hs_parse_field_error(HS_ERR_INPUT, r->path, line, col, hs_fin_name(r, col), what, s, len);
    return 1;
}

/* A number of column col within [lo, hi], or a message naming it. */
static int hs_fin_real(hs_fin *r, int64_t line, int col, const char *s, size_t len, double lo, double hi, double *v)
{
    hs_parse_err e = hs_parse_real(s, len, lo, hi, v);
    if (!e)
        return 0;
    char what[96];
    hs_parse_explain(e, lo, hi, what, sizeof what);
    return hs_fin_fail(r, line, col, what, s, len);
}

static int hs_fin_grow(hs_fin *r)
{
    if (r->n < r->cap)
        return 0;
    int64_t nc = r->cap ? 2 * r->cap : 4096;
    int64_t *ds = realloc(r->ds, (size_t)nc * sizeof *ds);
    if (ds)
        r->ds = ds;
    int64_t *ln = realloc(r->line, (size_t)nc * sizeof *ln);
    if (ln)
        r->line = ln;
    double *y = realloc(r->y, (size_t)nc * sizeof *y);
    if (y)
        r->y = y;
    float *c = realloc(r->clipped, (size_t)nc * sizeof *c);
    if (c)
        r->clipped = c;
    float *w = realloc(r->raw, (size_t)nc * sizeof *w);
    if (w)
        r->raw = w;
    if (!ds || !ln || !y || !c || !w) {
        r->h->stop_status = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", r->path);
        return 1;
    }
    r->cap = nc;
    return 0;
}

static int hs_fin_field(void *ctx, int col, const char *s, size_t len, int64_t line)
{
    hs_fin *r = ctx;
    if (line == 1) {
        if (col == 0)
            r->series = hs_parse_field_is(s, len, "minute");
        const char *want = r->series ? (col < 5 ? hs_fin_sn[col] : "") : (col == 0 ? "ds" : col == 1 ? "y" : "");
        if (!hs_parse_field_is(s, len, want)) {
            char q[HS_PARSE_QUOTE_CAP];
            hs_parse_quote(s, len, q, sizeof q);
            r->h->stop_status = hs_error_set(HS_ERR_INPUT,
                                             "%s:1: column %d (%s): unexpected header '%s' (a forecaster reads a "
                                             "preprocessed series.csv or a ds,y file)",
                                             r->path, col + 1, *want ? want : "extra", q);
            return 1;
        }
        return 0;
    }
    if (col == 0 && hs_fin_grow(r))
        return 1;
    int64_t i = r->n;
    if (col == 0)
        r->line[i] = line;
    if (r->series) {
        double v;
        int64_t m;
        if (col == 0) {
            hs_parse_err e = hs_parse_int(s, len, 0, HS_PARSE_MINUTE_MAX, &m);
            if (e) {
                char what[96];
                hs_parse_explain(e, 0, (double)HS_PARSE_MINUTE_MAX, what, sizeof what);
                return hs_fin_fail(r, line, col, what, s, len);
            }
        } else if (col == 1) {
            hs_parse_err e = hs_parse_time_n(s, len, &r->ds[i]);
            if (e)
                return hs_fin_fail(r, line, col, e == HS_PARSE_TOO_LONG ? "time too long" : "unparseable date", s, len);
        } else if (col == 2 || col == 3) {
            if (hs_fin_real(r, line, col, s, len, 0, HS_PARSE_Y_MAX, &v))
                return 1;
            (col == 2 ? r->raw : r->clipped)[i] = (float)v;
        } else if (col == 4) {
            if (hs_fin_real(r, line, col, s, len, 0, HS_PARSE_LOG1P_MAX, &v))
                return 1;
            r->y[i] = v;
        }
        return 0;
    }
    if (col == 0) {
        hs_parse_err e = hs_parse_time_n(s, len, &r->ds[i]);
        if (e)
            return hs_fin_fail(r, line, col, e == HS_PARSE_TOO_LONG ? "time too long" : "unparseable date", s, len);
    } else if (col == 1) {
        r->row_empty_y = len == 0 || hs_parse_field_is(s, len, "NA") || hs_parse_field_is(s, len, "nan") ||
                         hs_parse_field_is(s, len, "NaN");
        if (!r->row_empty_y && hs_fin_real(r, line, col, s, len, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, &r->y[i]))
            return 1;
    }
    return 0;
}

static int hs_fin_row(void *ctx, int ncols, int64_t line, int terminated)
{
    hs_fin *r = ctx;
    (void)terminated;
    int want = r->series ? 5 : 2;
    if (hs_csv_check_columns(r->h, r->path, line, ncols, want))
        return 1;
    if (line == 1)
        return 0;
    if (!r->series && r->row_empty_y)
        r->dropped++;
    else
        r->n++;
    r->row_empty_y = 0;
    return 0;
}

static int hs_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

hs_status hs_forecast_input_read(const char *path, hs_forecast_input *out)
{
    memset(out, 0, sizeof *out);
    hs_fin r;
    memset(&r, 0, sizeof r);
    r.path = path;
    hs_csv_handlers h = {.ctx = &r, .field = hs_fin_field, .row = hs_fin_row, .name = hs_fin_col_name, .stop_status = HS_OK};
    r.h = &h;
    hs_status st = hs_csv_stream(path, &h, NULL);
    if (st == HS_OK && r.n < 2)
        st = hs_error_set(HS_ERR_INPUT, "%s: %lld data point%s; a forecast needs at least 2", path, (long long)r.n,
                          r.n == 1 ? "" : "s");
    /* sort by time (Prophet does), rejecting duplicates */
    int64_t *order = NULL;
    if (st == HS_OK) {
        order = malloc((size_t)r.n * 2 * sizeof *order);
        if (!order)
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == HS_OK) {
        for (int64_t i = 0; i < r.n; i++) {
            order[2 * i] = r.ds[i];
            order[2 * i + 1] = i;
        }
        qsort(order, (size_t)r.n, 2 * sizeof *order, hs_cmp_i64);
        for (int64_t i = 1; i < r.n && st == HS_OK; i++)
            if (order[2 * i] == order[2 * i - 2]) {
                /* name the later line of the two, the earlier one in the text */
                int64_t a = r.line[order[2 * i - 1]], b = r.line[order[2 * i + 1]];
                char t[24];
                hs_format_time(order[2 * i], t);
                char msg[64];
                snprintf(msg, sizeof msg, "time appears twice (also on line %lld)", (long long)(a < b ? a : b));
                st = hs_parse_field_error(HS_ERR_INPUT, path, a > b ? a : b, r.series ? 1 : 0,
                                          r.series ? "timestamp" : "ds", msg, t, strlen(t));
            }
    }
    if (st == HS_OK) {
        out->n = r.n;
        out->ds = malloc((size_t)r.n * sizeof *out->ds);
        out->y = malloc((size_t)r.n * sizeof *out->y);
        if (r.series) {
            out->clipped = malloc((size_t)r.n * sizeof *out->clipped);
            out->raw = malloc((size_t)r.n * sizeof *out->raw);
        }
        if (!out->ds || !out->y || (r.series && (!out->clipped || !out->raw)))
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
        for (int64_t i = 0; st == HS_OK && i < r.n; i++) {
            int64_t k = order[2 * i + 1];
            out->ds[i] = r.ds[k];
            out->y[i] = r.y[k];
            if (r.series) {
                out->clipped[i] = r.clipped[k];
                out->raw[i] = r.raw[k];
            }
        }
        out->log_scale = r.series;
        out->dropped_empty = r.dropped;
        /* the most common spacing (the first one seen most often among the sorted diffs) */
        int64_t *d = order; /* reuse: diffs sorted */
        for (int64_t i = 1; st == HS_OK && i < r.n; i++)
            d[i - 1] = out->ds[i] - out->ds[i - 1];
        if (st == HS_OK) {
            qsort(d, (size_t)(r.n - 1), sizeof *d, hs_cmp_i64);
            int64_t best = d[0], bestc = 0;
            for (int64_t i = 0, j; i < r.n - 1; i = j) {
                for (j = i; j < r.n - 1 && d[j] == d[i]; j++)
                    ;
                if (j - i > bestc) {
                    bestc = j - i;
                    best = d[i];
                }
            }
            out->step_seconds = best;
        }
    }
    free(order);
    free(r.ds);
    free(r.line);
    free(r.y);
    free(r.clipped);
    free(r.raw);
    if (st != HS_OK)
        hs_forecast_input_free(out);
    return st;
}

void hs_forecast_input_free(hs_forecast_input *in)
{
    if (!in)
        return;
    free(in->ds);
    free(in->y);
    free(in->clipped);
    free(in->raw);
    memset(in, 0, sizeof *in);
}

int64_t hs_forecast_next_time(const hs_forecast_input *in, int64_t t, int64_t steps)
{
    int64_t day = 86400;
    if (in->step_seconds >= 28 * day && in->step_seconds <= 31 * day) {
        /* monthly data: step calendar months, keeping the day of month */
        char buf[24];
        hs_format_time(t, buf);
        int y = atoi(buf), mo = atoi(buf + 5);
        int64_t tod = t % day;
        if (tod < 0)
            tod += day;
        int dd = atoi(buf + 8);
        int64_t months = (int64_t)y * 12 + (mo - 1) + steps;
        char nb[64];
        snprintf(nb, sizeof nb, "%04lld-%02lld-%02d", (long long)(months / 12), (long long)(months % 12 + 1),
                 dd > 28 ? 28 : dd);
        int64_t out;
        if (hs_parse_time(nb, &out))
            return t + steps * in->step_seconds;
        return out + tod;
    }
    return t + steps * in->step_seconds;
}
