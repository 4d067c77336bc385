/* series_csv.c: series.csv (`minute,timestamp,invocations,clipped,log1p`), written and read
 * back strictly (series.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/csvread.h"
#include "hyscale/series.h"

hs_status hs_series_write_csv(const hs_series *s, FILE *f, const char *path)
{
    if (fputs("minute,timestamp,invocations,clipped,log1p\n", f) == EOF)
        return hs_error_set(HS_ERR_IO, "%s: write failed", path);
    char ts[24];
    for (int64_t i = 0; i < s->n; i++) {
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
    char field[64];
} hs_sread;

static int hs_sread_field(void *ctx, int col, const char *s, size_t len, int64_t line)
{
    static const char *const names[5] = {"minute", "timestamp", "invocations", "clipped", "log1p"};
    hs_sread *r = ctx;
    if (col >= 5)
        return 0;
    size_t n = len < sizeof r->field - 1 ? len : sizeof r->field - 1;
    memcpy(r->field, s, n);
    r->field[n] = '\0';
    if (line == 1) {
        if (strcmp(r->field, names[col]) != 0) {
            r->h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:1: column %d: expected header '%s', found '%s'",
                                             r->path, col + 1, names[col], r->field);
            return 1;
        }
        return 0;
    }
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
    char *end;
    if (col == 1) {
        if (r->n == 0 && hs_parse_time(r->field, &r->first_t) != 0) {
            r->h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:%lld: column 2 (timestamp): bad time '%s'", r->path,
                                             (long long)line, r->field);
            return 1;
        }
        return 0;
    }
    double v = strtod(r->field, &end);
    if (n == 0 || *end != '\0' || !isfinite(v)) {
        r->h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:%lld: column %d (%s): non-numeric value '%s'", r->path,
                                         (long long)line, col + 1, names[col], r->field);
        return 1;
    }
    if (col == 0)
        r->minute[r->n] = (int64_t)v;
    else
        r->v[col - 2][r->n] = (float)v;
    return 0;
}

static int hs_sread_row(void *ctx, int ncols, int64_t line, int terminated)
{
    hs_sread *r = ctx;
    (void)terminated;
    if (ncols != 5) {
        r->h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:%lld: wrong column count: expected 5, found %d", r->path,
                                         (long long)line, ncols);
        return 1;
    }
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
    hs_csv_handlers h = {.ctx = &r, .field = hs_sread_field, .row = hs_sread_row, .stop_status = HS_OK};
    r.h = &h;
    hs_status st = hs_csv_stream(path, &h, NULL);
    if (st == HS_OK && r.n == 0)
        st = hs_error_set(HS_ERR_INPUT, "%s: no data rows", path);
    int64_t step = r.n > 1 ? (r.minute[1] - r.minute[0]) * 60 : 60;
    for (int64_t i = 1; st == HS_OK && i < r.n; i++)
        if ((r.minute[i] - r.minute[0]) * 60 != i * step || step <= 0)
            st = hs_error_set(HS_ERR_INPUT, "%s:%lld: minute %lld breaks the regular spacing", path,
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
