/* csvread.c: streaming CSV on libcsv with record numbers and early stop (csvread.h). */
#include "hyscale/csvread.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HS_CSV_CHUNK (1u << 20)

typedef struct hs_csv_state {
    hs_csv_handlers *h;
    int col;
    int64_t line;
    int stopped;
} hs_csv_state;

static void hs_csv_on_field(void *s, size_t len, void *data)
{
    hs_csv_state *st = data;
    if (st->stopped)
        return;
    if (st->h->field(st->h->ctx, st->col, s ? (const char *)s : "", len, st->line))
        st->stopped = 1;
    st->col++;
}

static void hs_csv_on_row(int c, void *data)
{
    hs_csv_state *st = data;
    if (!st->stopped && st->h->row(st->h->ctx, st->col, st->line, c != -1))
        st->stopped = 1;
    st->col = 0;
    st->line++;
}

/* 1-based line of byte offset `upto` of the file (read again: only an error needs it). */
static int64_t hs_csv_line_at(const char *path, int64_t upto)
{
    FILE *f = fopen(path, "rb");
    int64_t line = 1;
    if (!f)
        return 0;
    for (int64_t i = 0; i < upto; i++) {
        int c = getc(f);
        if (c == EOF)
            break;
        line += c == '\n';
    }
    fclose(f);
    return line;
}

hs_status hs_csv_stream(const char *path, hs_csv_handlers *h, hs_csv_info *info)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hs_error_set(HS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    int64_t size = fstat(fileno(f), &sb) == 0 ? (int64_t)sb.st_size : -1;
    if (info) {
        info->bytes = size;
        info->records = 0;
    }
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fclose(f);
        return hs_error_set(HS_ERR_NOMEM, "%s: cannot start the CSV parser", path);
    }
    char *buf = malloc(HS_CSV_CHUNK);
    if (!buf) {
        csv_free(&p);
        fclose(f);
        return hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    }
    hs_csv_state st = {h, 0, 1, 0};
    hs_status ret = HS_OK;
    int64_t done = 0;
    int any = 0;
    size_t n;
    while (!st.stopped && (n = fread(buf, 1, HS_CSV_CHUNK, f)) > 0) {
        any = 1;
        size_t used = csv_parse(&p, buf, n, hs_csv_on_field, hs_csv_on_row, &st);
        if (st.stopped)
            break;
        if (used != n) {
            ret = hs_error_set(HS_ERR_INPUT, "%s:%lld: malformed CSV (%s)", path,
                               (long long)hs_csv_line_at(path, done + (int64_t)used), csv_strerror(csv_error(&p)));
            break;
        }
        done += (int64_t)n;
        if (h->progress)
            hs_progress_update(h->progress, (double)(h->progress_base + done), "%s", h->progress_what ? h->progress_what : path);
    }
    if (ret == HS_OK && !st.stopped && ferror(f))
        ret = hs_error_set(HS_ERR_IO, "%s: read failed: %s", path, strerror(errno));
    if (ret == HS_OK && !st.stopped && !any)
        ret = hs_error_set(HS_ERR_INPUT, "%s: empty file", path);
    if (ret == HS_OK && !st.stopped && csv_fini(&p, hs_csv_on_field, hs_csv_on_row, &st) != 0)
        ret = hs_error_set(HS_ERR_INPUT, "%s:%lld: truncated last line (unterminated quoted field)", path,
                           (long long)st.line);
    if (ret == HS_OK && st.stopped)
        ret = h->stop_status; /* HS_OK: the handler stopped early on purpose */
    if (info)
        info->records = st.line - 1;
    free(buf);
    csv_free(&p);
    fclose(f);
    return ret;
}
