/* trace_read.c: streams trace files of every layout into a sink, validating each field
 * (trace.h). Counts are parsed while libcsv hands over each field; a row reaches the sink only
 * once it is complete and valid, so a skipped row leaves no trace in the totals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/csvread.h"
#include "hyscale/parse.h"
#include "hyscale/series.h"
#include "hyscale/trace.h"

#define HS_ID_MAX 256 /* longest id kept; the traces' hashes are 64 characters */

const char *hs_bad_cause_name(hs_bad_cause c)
{
    static const char *const names[HS_BAD_NCAUSES] = {
        "wrong_column_count", "non_numeric", "negative", "fractional", "duplicate_function", "truncated_last_line",
        "bad_timestamp", "duplicate_timestamp", "bad_id"};
    return c >= 0 && c < HS_BAD_NCAUSES ? names[c] : "unknown";
}

typedef struct hs_rd {
    hs_trace_file *file;
    int file_index;
    hs_trace_reader_config *rc;
    const hs_trace_sink *sink;
    hs_csv_handlers *h;
    hs_layout layout;
    int idcols;       /* leading id columns of a wide layout (4 or 3) */
    int ncols;        /* expected columns */
    int first_minute; /* minute number of the first count column (wide) */
    int nmin;         /* count columns (wide) */
    int64_t minute0;  /* global minute of the first count column */
    int wide_body;    /* a wide layout past its header: the fast path applies */
    int hdr_bad;      /* header minute columns broken */
    int64_t hdr_next; /* expected next minute number while reading the header */
    char hdr_badname[HS_PARSE_QUOTE_CAP];
    /* the current row */
    char id[4][HS_ID_MAX]; /* owner, app, func, trigger (wide); app, func (log); raw text (plain) */
    double num[2];
    uint32_t *cnt; /* (nmin) */
    int bad;
    hs_bad_cause cause;
    int bad_col;
    char name_buf[32];                 /* hs_rd_name's answer */
    char bad_what[96];                 /* what is wrong ("" : the cause's words) */
    char bad_val[HS_PARSE_QUOTE_CAP]; /* the value, quoted for a message */
} hs_rd;

/* The skip cause of a parse failure. */
static hs_bad_cause hs_rd_cause(hs_parse_err e)
{
    return e == HS_PARSE_NEGATIVE ? HS_BAD_NEGATIVE : e == HS_PARSE_FRACTIONAL ? HS_BAD_FRACTIONAL : HS_BAD_NON_NUMERIC;
}

/* Marks the row bad (the first fault wins): cause for the skip totals, what for the message
 * (NULL: the cause's words), the value as a message shows it. */
static void hs_rd_mark(hs_rd *r, int cause, int col, const char *what, const char *s, size_t len)
{
    if (r->bad)
        return;
    r->bad = 1;
    r->cause = (hs_bad_cause)cause;
    r->bad_col = col;
    snprintf(r->bad_what, sizeof r->bad_what, "%s", what ? what : "");
    hs_parse_quote(s, len, r->bad_val, sizeof r->bad_val);
}

/* A count of column col into *out, or the row marked bad. */
static void hs_rd_count(hs_rd *r, int col, const char *s, size_t len, uint32_t *out)
{
    hs_parse_err e = hs_parse_count(s, len, out);
    if (e) {
        char what[96];
        hs_parse_explain(e, 0, UINT32_MAX, what, sizeof what);
        hs_rd_mark(r, hs_rd_cause(e), col, what, s, len);
    }
}

/* A non-negative real of column col (seconds, or a y value) into *out, or the row marked bad. */
static void hs_rd_real(hs_rd *r, int col, const char *s, size_t len, double *out)
{
    hs_parse_err e = hs_parse_real(s, len, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, out);
    if (e) {
        char what[96];
        hs_parse_explain(e, -HS_PARSE_Y_MAX, HS_PARSE_Y_MAX, what, sizeof what);
        hs_rd_mark(r, HS_BAD_NON_NUMERIC, col, what, s, len);
    } else if (*out < 0) {
        hs_rd_mark(r, HS_BAD_NEGATIVE, col, NULL, s, len);
    }
}

/* What is wrong with an id (NULL: nothing): at most HS_ID_MAX - 1 bytes, no NUL or control byte,
 * so an id is kept whole or not at all and two long ids can never merge into one function. */
static const char *hs_id_problem(const char *s, size_t len)
{
    if (len > HS_ID_MAX - 1)
        return "id longer than 255 bytes";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "control byte in an id";
    return NULL;
}

/* s (len <= HS_ID_MAX - 1 bytes) into dst as a string. */
static void hs_copy_id(char *dst, const char *s, size_t len)
{
    HS_ASSERT(len < HS_ID_MAX);
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* An id of column col into dst (HS_ID_MAX bytes), or the row marked bad. */
static void hs_rd_id(hs_rd *r, int col, char *dst, const char *s, size_t len)
{
    const char *why = hs_id_problem(s, len);
    dst[0] = '\0';
    if (why)
        hs_rd_mark(r, HS_BAD_ID, col, why, s, len);
    else
        hs_copy_id(dst, s, len);
}

/* ---- header (line 1) ---------------------------------------------------------------------- */

static void hs_rd_header_field(hs_rd *r, int col, const char *s, size_t len)
{
    if (r->layout != HS_LAYOUT_AZURE2019 && r->layout != HS_LAYOUT_INVITRO)
        return;
    if (col < r->idcols || r->hdr_bad)
        return;
    const char *p = s;
    size_t n = len;
    if (r->layout == HS_LAYOUT_INVITRO) {
        if (n < 8 || memcmp(p, "minute_", 7) != 0)
            goto bad;
        p += 7;
        n -= 7;
    }
    int64_t m = 0;
    if (n == 0 || n > 5)
        goto bad;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            goto bad;
        m = m * 10 + (p[i] - '0');
    }
    if (col == r->idcols) {
        if (m < 1 || m > 1440)
            goto bad;
        r->first_minute = (int)m;
    } else if (m != r->hdr_next) {
        goto bad;
    }
    r->hdr_next = m + 1;
    if (m > 1440)
        goto bad;
    return;
bad:
    r->hdr_bad = col + 1;
    hs_parse_quote(s, len, r->hdr_badname, sizeof r->hdr_badname);
}

static int hs_rd_header_row(hs_rd *r, int ncols)
{
    const char *path = r->file->path;
    switch (r->layout) {
    case HS_LAYOUT_AZURE2019:
    case HS_LAYOUT_INVITRO:
        if (r->hdr_bad) {
            r->h->stop_status = hs_error_set(HS_ERR_INPUT,
                                             "%s:1: column %d: header '%s' breaks the run of minute columns "
                                             "(expected contiguous minute numbers within 1..1440)",
                                             path, r->hdr_bad, r->hdr_badname);
            return 1;
        }
        r->ncols = ncols;
        r->nmin = ncols - r->idcols;
        r->minute0 = (int64_t)r->file->day * 1440 + r->first_minute - 1;
        r->cnt = malloc((size_t)r->nmin * sizeof *r->cnt);
        if (!r->cnt) {
            r->h->stop_status = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
            return 1;
        }
        if (r->sink->cover)
            r->sink->cover(r->sink->ctx, r->file_index, r->minute0, r->nmin);
        r->wide_body = 1;
        break;
    case HS_LAYOUT_AZURE2021:
        r->ncols = 4;
        break;
    default:
        r->ncols = 2;
        break;
    }
    return 0;
}

/* ---- data rows ------------------------------------------------------------------------------ */

static int hs_rd_field(void *ctx, int col, const char *s, size_t len, int64_t line)
{
    hs_rd *r = ctx;
    if (r->wide_body && col >= r->idcols && col < r->ncols) {
        /* the hot path: one count of a wide row; plain digits parsed inline */
        uint32_t v = 0;
        size_t i = 0;
        for (; i < len && i < 9 && (unsigned)(s[i] - '0') < 10u; i++)
            v = v * 10 + (uint32_t)(s[i] - '0');
        if (i == len && len > 0) {
            r->cnt[col - r->idcols] = v;
            return 0;
        }
        hs_rd_count(r, col, s, len, &r->cnt[col - r->idcols]);
        return 0;
    }
    if (line == 1) {
        hs_rd_header_field(r, col, s, len);
        return 0;
    }
    if (col >= r->ncols)
        return 0; /* the row is too long: reported at its end */
    switch (r->layout) {
    case HS_LAYOUT_AZURE2019:
    case HS_LAYOUT_INVITRO:
        if (col >= r->idcols) {
            hs_rd_count(r, col, s, len, &r->cnt[col - r->idcols]);
        } else {
            /* map to owner, app, func, trigger */
            static const int map2019[4] = {0, 1, 2, 3}, mapvitro[3] = {2, 0, 1};
            int slot = r->layout == HS_LAYOUT_AZURE2019 ? map2019[col] : mapvitro[col];
            hs_rd_id(r, col, r->id[slot], s, len);
        }
        break;
    case HS_LAYOUT_AZURE2021:
        if (col < 2) {
            hs_rd_id(r, col, r->id[col + 1], s, len); /* app, func */
        } else {
            hs_rd_real(r, col, s, len, &r->num[col - 2]);
        }
        break;
    case HS_LAYOUT_DS_Y:
        if (col == 0) {
            int64_t t = 0;
            hs_parse_err e = hs_parse_time_n(s, len, &t);
            if (e)
                hs_rd_mark(r, HS_BAD_TIMESTAMP, col, e == HS_PARSE_TOO_LONG ? "time too long" : NULL, s, len);
            else
                hs_copy_id(r->id[0], s, len); /* at most HS_PARSE_TIME_MAX bytes: whole */
            r->num[0] = (double)t;
        } else {
            hs_rd_real(r, col, s, len, &r->num[1]);
        }
        break;
    case HS_LAYOUT_MINUTE: {
        uint32_t v = 0;
        hs_rd_count(r, col, s, len, &v);
        r->num[col] = v;
        break;
    }
    default:
        break;
    }
    return 0;
}

static const char *hs_rd_column_name(const hs_rd *r, int col, char *buf, size_t cap)
{
    static const char *const n2019[4] = {"HashOwner", "HashApp", "HashFunction", "Trigger"};
    static const char *const nvitro[3] = {"HashFunction", "HashOwner", "HashApp"};
    static const char *const n2021[4] = {"app", "func", "end_timestamp", "duration"};
    static const char *const nds[2] = {"ds", "y"}, *const nmin[2] = {"minute", "invocations"};
    switch (r->layout) {
    case HS_LAYOUT_AZURE2019:
        if (col < 4)
            return n2019[col];
        snprintf(buf, cap, "%d", r->first_minute + col - 4);
        return buf;
    case HS_LAYOUT_INVITRO:
        if (col < 3)
            return nvitro[col];
        snprintf(buf, cap, "minute_%d", r->first_minute + col - 3);
        return buf;
    case HS_LAYOUT_AZURE2021: return n2021[col & 3];
    case HS_LAYOUT_DS_Y: return nds[col & 1];
    case HS_LAYOUT_MINUTE: return nmin[col & 1];
    default: return "?";
    }
}

static const char *hs_rd_name(void *ctx, int col)
{
    hs_rd *r = ctx;
    if (r->ncols > 0 && col >= r->ncols)
        return "extra";
    return hs_rd_column_name(r, col, r->name_buf, sizeof r->name_buf);
}

/* A bad row: count it, or stop with a message naming the file, line, column and value. */
static int hs_rd_reject(hs_rd *r, int64_t line, int ncols)
{
    hs_trace_reader_config *rc = r->rc;
    rc->skips[r->cause]++;
    if (rc->skip_bad_rows)
        return 0;
    const char *path = r->file->path;
    char nb[32];
    switch (r->cause) {
    case HS_BAD_COLUMN_COUNT:
    case HS_BAD_TRUNCATED_LINE: {
        int c = ncols < r->ncols ? ncols : r->ncols; /* the first missing or extra column */
        r->h->stop_status = hs_error_set(
            HS_ERR_INPUT, "%s:%lld: column %d (%s): %s: expected %d columns, found %d%s", path, (long long)line, c + 1,
            c < r->ncols ? hs_rd_column_name(r, c, nb, sizeof nb) : "extra",
            r->cause == HS_BAD_COLUMN_COUNT ? "wrong column count" : "truncated last line", r->ncols, ncols,
            r->cause == HS_BAD_COLUMN_COUNT ? "" : " and no line end");
        break;
    }
    case HS_BAD_DUPLICATE_FUNCTION: {
        char q[HS_PARSE_QUOTE_CAP];
        hs_parse_quote(r->id[2], strlen(r->id[2]), q, sizeof q);
        r->h->stop_status = hs_error_set(HS_ERR_INPUT,
                                         "%s:%lld: column %d (HashFunction): duplicate function id '%s' within "
                                         "one day",
                                         path, (long long)line, r->bad_col + 1, q);
        break;
    }
    case HS_BAD_DUPLICATE_TIME:
        r->h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:%lld: column 1 (%s): duplicate time '%s'", path,
                                         (long long)line, hs_rd_column_name(r, 0, nb, sizeof nb), r->bad_val);
        break;
    default: {
        static const char *const what[HS_BAD_NCAUSES] = {
            "", "non-numeric value", "negative value", "fractional count", "", "", "unparsable timestamp", "",
            "bad id"};
        r->h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:%lld: column %d (%s): %s '%s'", path, (long long)line,
                                         r->bad_col + 1, hs_rd_column_name(r, r->bad_col, nb, sizeof nb),
                                         r->bad_what[0] ? r->bad_what : what[r->cause], r->bad_val);
        break;
    }
    }
    return 1;
}

static int hs_rd_emit(hs_rd *r, int64_t line)
{
    const hs_trace_sink *k = r->sink;
    int ret = 0;
    switch (r->layout) {
    case HS_LAYOUT_AZURE2019:
    case HS_LAYOUT_INVITRO: {
        hs_trace_fn fn = {r->id[0], r->id[1], r->id[2], r->layout == HS_LAYOUT_AZURE2019 ? r->id[3] : "unknown"};
        ret = k->counts(k->ctx, &fn, r->file_index, r->minute0, r->cnt, r->nmin);
        if (ret == HS_SINK_DUPLICATE) {
            r->bad_col = r->layout == HS_LAYOUT_AZURE2019 ? 2 : 0;
            r->cause = HS_BAD_DUPLICATE_FUNCTION;
        }
        break;
    }
    case HS_LAYOUT_AZURE2021: {
        hs_trace_fn fn = {"", r->id[1], r->id[2], "unknown"};
        double start = r->num[0] - r->num[1];
        int64_t minute = (int64_t)floor(start / 60.0);
        if (minute < 0) {
            minute = 0;
            r->rc->starts_before_trace++;
        }
        static const uint32_t one = 1;
        ret = k->counts(k->ctx, &fn, r->file_index, minute, &one, 1);
        break;
    }
    case HS_LAYOUT_DS_Y:
    case HS_LAYOUT_MINUTE: {
        int64_t t = r->layout == HS_LAYOUT_DS_Y ? (int64_t)r->num[0]
                                                 : hs_layout_nominal_start(r->layout) + (int64_t)r->num[0] * 60;
        ret = k->point(k->ctx, t, r->num[1]);
        if (ret == HS_SINK_DUPLICATE) {
            r->cause = HS_BAD_DUPLICATE_TIME;
            if (r->layout == HS_LAYOUT_MINUTE)
                snprintf(r->bad_val, sizeof r->bad_val, "%.0f", r->num[0]);
            else
                hs_parse_quote(r->id[0], strlen(r->id[0]), r->bad_val, sizeof r->bad_val);
        }
        break;
    }
    default:
        break;
    }
    if (ret == HS_SINK_DUPLICATE) {
        r->bad = 1;
        return hs_rd_reject(r, line, r->ncols);
    }
    if (ret != 0) {
        r->h->stop_status = (hs_status)ret;
        return 1;
    }
    return 0;
}

static int hs_rd_row(void *ctx, int ncols, int64_t line, int terminated)
{
    hs_rd *r = ctx;
    if (line == 1)
        return hs_rd_header_row(r, ncols);
    int stop = 0;
    if (ncols != r->ncols) {
        r->bad = 1;
        r->cause = terminated ? HS_BAD_COLUMN_COUNT : HS_BAD_TRUNCATED_LINE;
    }
    if (r->bad)
        stop = hs_rd_reject(r, line, ncols);
    else {
        stop = hs_rd_emit(r, line);
        r->file->rows += !r->bad;
    }
    r->bad = 0;
    return stop;
}

/* The fast path for a wide layout's body line (csvread.h): ids, then every count as plain
 * digits. Anything else (spaces, signs, decimals, a wrong column count) is declined, so libcsv
 * and the field handlers above judge the line and report it exactly as they always do. */
static int hs_rd_line(void *ctx, const char *s, size_t len, int64_t line)
{
    hs_rd *r = ctx;
    if (!r->wide_body)
        return -1;
    const char *p = s, *end = s + len;
    if (end > p && end[-1] == '\r')
        end--;
    static const int map2019[4] = {0, 1, 2, 3}, mapvitro[3] = {2, 0, 1};
    for (int c = 0; c < r->idcols; c++) {
        const char *q = memchr(p, ',', (size_t)(end - p));
        if (!q || hs_id_problem(p, (size_t)(q - p)))
            return -1; /* the field handlers report it */
        hs_copy_id(r->id[r->layout == HS_LAYOUT_AZURE2019 ? map2019[c] : mapvitro[c]], p, (size_t)(q - p));
        p = q + 1;
    }
    if (r->sink->skip) {
        hs_trace_fn fn = {r->id[0], r->id[1], r->id[2], r->layout == HS_LAYOUT_AZURE2019 ? r->id[3] : "unknown"};
        if (r->sink->skip(r->sink->ctx, &fn)) {
            r->file->rows++;
            return 0;
        }
    }
    uint32_t *cnt = r->cnt;
    int nmin = r->nmin;
    for (int k = 0; k < nmin; k++) {
        const char *b = p;
        uint32_t v = 0;
        while (p < end && (unsigned)(*p - '0') < 10u && p - b < 9)
            v = v * 10 + (uint32_t)(*p++ - '0');
        if (p == b)
            return -1;
        cnt[k] = v;
        if (k + 1 < nmin) {
            if (p >= end || *p != ',')
                return -1;
            p++;
        }
    }
    if (p != end)
        return -1;
    int stop = hs_rd_emit(r, line);
    r->file->rows += !r->bad;
    r->bad = 0;
    return stop;
}

static const char *hs_base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

hs_status hs_trace_read(hs_trace_files *fs, hs_trace_reader_config *rc, const hs_trace_sink *sink)
{
    for (int c = 0; c < HS_BAD_NCAUSES; c++)
        rc->skips[c] = 0;
    rc->starts_before_trace = 0;
    hs_status st = HS_OK;
    int64_t base = rc->progress_base;
    for (int i = 0; i < fs->count && st == HS_OK; base += fs->f[i].bytes, i++) {
        hs_rd r;
        memset(&r, 0, sizeof r);
        hs_csv_handlers h = {.ctx = &r, .field = hs_rd_field, .row = hs_rd_row, .line = hs_rd_line, .name = hs_rd_name, .stop_status = HS_OK,
                             .progress = rc->progress, .progress_what = hs_base_name(fs->f[i].path),
                             .progress_base = base};
        r.file = &fs->f[i];
        r.file->rows = 0;
        r.file_index = i;
        r.rc = rc;
        r.sink = sink;
        r.h = &h;
        r.layout = fs->f[i].layout;
        r.idcols = r.layout == HS_LAYOUT_AZURE2019 ? 4 : 3;
        st = hs_csv_stream(fs->f[i].path, &h, NULL);
        if (st == HS_OK && r.ncols == 0)
            st = hs_error_set(HS_ERR_INPUT, "%s: empty file (no header)", fs->f[i].path);
        free(r.cnt);
    }
    return st;
}
