/* series_csv.c: series.csv (`minute,timestamp,invocations,clipped,log1p`), written and read
 * back strictly (series.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/csvread.h"
#include "hyscale/parse.h"
#include "hyscale/series.h"

hs_status hs_series_write_csv(const hs_series *s, FILE *f, const char *path)
{
    if (fputs("minute,timestamp,invocations,clipped,log1p\n", f) == EOF)
        return hs_error_set(HS_ERR_IO, "%s: write failed", path);
    char ts[24];
    for (int64_t i = 0; i < s->n; i++) {
        const float v[3] = {s->invocations[i], s->clipped[i], s->log1p[i]};
        static const char *const vn[3] = {"invocations", "clipped", "log1p"};
        for (int k = 0; k < 3; k++)
            if (!isfinite(v[k]))
                return hs_error_set(HS_ERR_INTERNAL, "%s:%lld: column %d (%s): non-finite value '%g' (not written)",
                                    path, (long long)(i + 2), k + 3, vn[k], (double)v[k]);
        hs_format_time(s->start_unix + i * s->step_seconds, ts);
        if (fprintf(f, "%lld,%s,%.9g,%.9g,%.9g\n", (long long)(i * s->step_seconds / 60), ts, s->invocations[i],
                    s->clipped[i], s->log1p[i]) < 0)
            return hs_error_set(HS_ERR_IO, "%s: write failed", path);
    }
    return HS_OK;
}

typedef struct hs_sread {
    const char *path;
    hs_csv_handlers *h;
    int64_t n, cap;
    int64_t *minute;
    int64_t first_t;
    float *v[3];
} hs_sread;

static const char *const hs_sread_names[5] = {"minute", "timestamp", "invocations", "clipped", "log1p"};

static const char *hs_sread_name(void *ctx, int col)
{
    (void)ctx;
    return col < 5 ? hs_sread_names[col] : "extra";
}

static int hs_sread_field(void *ctx, int col, const char *s, size_t len, int64_t line)
{
    const char *const *names = hs_sread_names;
    hs_sread *r = ctx;
    if (col >= 5)
        return 0;
    if (line == 1)
        return hs_csv_check_header(r->h, r->path, col, s, len, names[col]);
    if (r->n == r->cap) {
        int64_t nc = r->cap ? 2 * r->cap : 4096;
        int64_t *m = realloc(r->minute, (size_t)nc * sizeof *m);
        if (m)
            r->minute = m;
        for (int k = 0; k < 3; k++) {
            float *v = realloc(r->v[k], (size_t)nc * sizeof *v);
            if (v)
                r->v[k] = v;
            else
                m = NULL;
        }
        if (!m) {
            r->h->stop_status = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", r->path);
            return 1;
        }
        r->cap = nc;
    }
    hs_parse_err e;
    double lo = 0, hi = col == 0 ? (double)HS_PARSE_MINUTE_MAX : col == 4 ? HS_PARSE_LOG1P_MAX : HS_PARSE_Y_MAX;
    if (col == 1) {
        if (r->n == 0 && (e = hs_parse_time_n(s, len, &r->first_t)) != HS_PARSE_OK) {
            r->h->stop_status = hs_parse_field_error(HS_ERR_INPUT, r->path, line, col, names[col],
                                                     e == HS_PARSE_TOO_LONG ? "time too long" : "bad time", s, len);
            return 1;
        }
        return 0;
    }
    double v = 0;
    if (col == 0)
        e = hs_parse_int(s, len, 0, HS_PARSE_MINUTE_MAX, &r->minute[r->n]);
    else
        e = hs_parse_real(s, len, lo, hi, &v);
    if (e) {
        char what[96];
        hs_parse_explain(e, lo, hi, what, sizeof what);
        r->h->stop_status = hs_parse_field_error(HS_ERR_INPUT, r->path, line, col, names[col], what, s, len);
        return 1;
    }
    if (col > 0)
        r->v[col - 2][r->n] = (float)v;
    return 0;
}

static int hs_sread_row(void *ctx, int ncols, int64_t line, int terminated)
{
    hs_sread *r = ctx;
    (void)terminated;
    if (hs_csv_check_columns(r->h, r->path, line, ncols, 5))
        return 1;
    if (line > 1)
        r->n++;
    return 0;
}

hs_status hs_series_read_csv(const char *path, hs_series *out)
{
    memset(out, 0, sizeof *out);
    hs_sread r;
    memset(&r, 0, sizeof r);
    r.path = path;
    hs_csv_handlers h = {.ctx = &r, .field = hs_sread_field, .row = hs_sread_row, .name = hs_sread_name, .stop_status = HS_OK};
    r.h = &h;
    hs_status st = hs_csv_stream(path, &h, NULL);
    if (st == HS_OK && r.n == 0)
        st = hs_error_set(HS_ERR_INPUT, "%s: no data rows", path);
    int64_t step = r.n > 1 ? (r.minute[1] - r.minute[0]) * 60 : 60;
    for (int64_t i = 1; st == HS_OK && i < r.n; i++)
        if ((r.minute[i] - r.minute[0]) * 60 != i * step || step <= 0)
            st = hs_error_set(HS_ERR_INPUT, "%s:%lld: column 1 (minute): breaks the regular spacing '%lld'", path,
                              (long long)(i + 2), (long long)r.minute[i]);
    if (st == HS_OK)
        st = hs_series_init(out, r.n, step, r.first_t);
    if (st == HS_OK) {
        memcpy(out->invocations, r.v[0], (size_t)r.n * sizeof(float));
        memcpy(out->clipped, r.v[1], (size_t)r.n * sizeof(float));
        memcpy(out->log1p, r.v[2], (size_t)r.n * sizeof(float));
    }
    free(r.minute);
    for (int k = 0; k < 3; k++)
        free(r.v[k]);
    return st;
}
