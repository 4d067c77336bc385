/* forecast8_csv.c: the 8-step forecast tables read back through the streaming CSV layer and the
 * strict number parser (forecast8_csv.h), for the environment and the Hybrid: one reader, where
 * each used to read lines into a fixed buffer with strtod or sscanf. */
#include "hyscale/forecast8_csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/csvread.h"
#include "hyscale/parse.h"

static const char *const hs_f8_names[9] = {"minute", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"};

typedef struct hs_f8r {
    const char *path;
    hs_csv_handlers *h;
    hs_f8_table *t;
    int64_t cap, max_rows;
    int minute_is_row;
} hs_f8r;

static const char *hs_f8_name(void *ctx, int col)
{
    (void)ctx;
    return col < 9 ? hs_f8_names[col] : "extra";
}

static int hs_f8_grow(hs_f8r *r)
{
    hs_f8_table *t = r->t;
    int64_t nc = r->cap ? 2 * r->cap : 4096;
    int64_t *mn = realloc(t->minute, (size_t)nc * sizeof *mn);
    if (mn)
        t->minute = mn;
    double *v = realloc(t->v, (size_t)nc * 8 * sizeof *v);
    if (v)
        t->v = v;
    if (!mn || !v) {
        r->h->stop_status = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", r->path);
        return 1;
    }
    r->cap = nc;
    return 0;
}

static int hs_f8_field(void *ctx, int col, const char *s, size_t len, int64_t line)
{
    hs_f8r *r = ctx;
    hs_f8_table *t = r->t;
    if (col >= 9)
        return 0; /* the row handler names the extra column */
    if (line == 1)
        return hs_csv_check_header(r->h, r->path, col, s, len, hs_f8_names[col]);
    if (col == 0) {
        if (r->max_rows >= 0 && t->n >= r->max_rows) {
            r->h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:%lld: more rows than the series' %lld minutes",
                                             r->path, (long long)line, (long long)r->max_rows);
            return 1;
        }
        if (t->n == r->cap && hs_f8_grow(r))
            return 1;
        int64_t m;
        hs_parse_err e = hs_parse_int(s, len, 0, (int64_t)1 << 40, &m);
        if (e || (r->minute_is_row && m != t->n)) {
            char what[96];
            if (e)
                hs_parse_explain(e, 0, (double)((int64_t)1 << 40), what, sizeof what);
            else
                snprintf(what, sizeof what, "expected minute %lld", (long long)t->n);
            r->h->stop_status = hs_parse_field_error(HS_ERR_INPUT, r->path, line, col, "minute", what, s, len);
            return 1;
        }
        t->minute[t->n] = m;
        return 0;
    }
    double v;
    hs_parse_err e = hs_parse_real(s, len, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, &v);
    if (e) {
        char what[96];
        hs_parse_explain(e, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, what, sizeof what);
        r->h->stop_status = hs_parse_field_error(HS_ERR_INPUT, r->path, line, col, hs_f8_names[col], what, s, len);
        return 1;
    }
    t->v[t->n * 8 + col - 1] = v;
    return 0;
}

static int hs_f8_row(void *ctx, int ncols, int64_t line, int terminated)
{
    (void)terminated;
    hs_f8r *r = ctx;
    if (hs_csv_check_columns(r->h, r->path, line, ncols, 9))
        return 1;
    if (line > 1)
        r->t->n++;
    return 0;
}

hs_status hs_f8_table_read(const char *path, int64_t max_rows, int minute_is_row, hs_f8_table *t)
{
    memset(t, 0, sizeof *t);
    hs_f8r r = {path, NULL, t, 0, max_rows, minute_is_row};
    hs_csv_handlers h = {.ctx = &r, .field = hs_f8_field, .row = hs_f8_row, .name = hs_f8_name, .stop_status = HS_OK};
    r.h = &h;
    hs_status st = hs_csv_stream(path, &h, NULL);
    if (st != HS_OK)
        hs_f8_table_free(t);
    return st;
}

void hs_f8_table_free(hs_f8_table *t)
{
    free(t->minute);
    free(t->v);
    memset(t, 0, sizeof *t);
}
