/* csvread.c: streaming CSV on libcsv with record numbers and early stop (csvread.h). */
#include "hyscale/csvread.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hyscale/parse.h"

#define HS_CSV_CHUNK (1u << 20)
#define HS_CSV_BLK 128 /* libcsv's own field buffer step */

/* libcsv grows its field buffer by a fixed step (blk_size): a field of n bytes cost n/128
 * reallocations, each a copy where realloc cannot grow in place (always, under ASan): quadratic.
 * hs_csv_feed sets the step before each call to at least the current buffer size and the bytes
 * fed, so the buffer at most doubles per growth and covers a whole line in one. Counted here
 * (per thread, read by hs_csv_stream) so a test can see it stay logarithmic. */
static _Thread_local int64_t hs_csv_grows;

static void *hs_csv_realloc(void *ptr, size_t n)
{
    hs_csv_grows++;
    return realloc(ptr, n);
}

typedef struct hs_csv_state {
    hs_csv_handlers *h;
    int col;
    int64_t line;
    int stopped;
} hs_csv_state;

/* The column's name for a message: the handler's, or "?" without one. */
static const char *hs_csv_col_name(const hs_csv_handlers *h, int col)
{
    const char *n = h->name ? h->name(h->ctx, col) : NULL;
    return n ? n : "?";
}

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

/* Feeds bytes to libcsv; on a parse error records the message: the line of the failing byte,
 * the column being read and its bytes so far. */
static int hs_csv_feed(struct csv_parser *p, const char *path, const char *b, size_t n, int64_t off,
                       hs_csv_state *st, hs_status *ret)
{
    size_t blk = p->entry_size > n ? p->entry_size : n;
    csv_set_blk_size(p, blk > HS_CSV_BLK ? blk : HS_CSV_BLK);
    size_t used = csv_parse(p, b, n, hs_csv_on_field, hs_csv_on_row, st);
    if (used != n && !st->stopped) {
        char what[128];
        snprintf(what, sizeof what, "malformed CSV (%s)", csv_strerror(csv_error(p)));
        *ret = hs_parse_field_error(HS_ERR_INPUT, path, hs_csv_line_at(path, off + (int64_t)used), st->col,
                                    hs_csv_col_name(st->h, st->col), what, (const char *)p->entry_buf,
                                    p->entry_buf ? p->entry_pos : 0);
        return -1;
    }
    return 0;
}

hs_status hs_csv_stream(const char *path, hs_csv_handlers *h, hs_csv_info *info)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hs_error_set(HS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    int64_t size = fstat(fileno(f), &sb) == 0 ? (int64_t)sb.st_size : -1;
    if (size >= 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        return hs_error_set(HS_ERR_INPUT, "%s: is a folder, not a CSV file", path);
    }
    if (info) {
        info->bytes = size;
        info->records = 0;
        info->field_grows = 0;
    }
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fclose(f);
        return hs_error_set(HS_ERR_NOMEM, "%s: cannot start the CSV parser", path);
    }
    csv_set_realloc_func(&p, hs_csv_realloc);
    int64_t grows0 = hs_csv_grows;
    size_t cap = HS_CSV_CHUNK, have = 0;
    char *buf = malloc(cap);
    if (!buf) {
        csv_free(&p);
        fclose(f);
        return hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    }
    hs_csv_state st = {h, 0, 1, 0};
    hs_status ret = HS_OK;
    int64_t off = 0; /* file offset of buf[0] */
    int any = 0;
    for (;;) {
        size_t n = fread(buf + have, 1, cap - have, f);
        any |= n > 0;
        have += n;
        size_t pos = 0;
        /* Whole lines: a quote-free line at a record boundary goes to the fast line handler
         * when there is one; everything else (and whatever it declines) goes to libcsv. */
        while (!st.stopped && ret == HS_OK) {
            char *nl = memchr(buf + pos, '\n', have - pos);
            if (!nl)
                break;
            size_t len = (size_t)(nl - (buf + pos));
            const char *ln = buf + pos;
            int handled = -1;
            if (h->line && p.pstate == 0 && len > 0 && !memchr(ln, '"', len))
                handled = h->line(h->ctx, ln, len, st.line);
            if (handled == 0)
                st.line++;
            else if (handled > 0)
                st.stopped = 1;
            else
                hs_csv_feed(&p, path, ln, len + 1, off + (int64_t)pos, &st, &ret);
            pos += len + 1;
        }
        if (st.stopped || ret != HS_OK)
            break;
        memmove(buf, buf + pos, have - pos);
        have -= pos;
        off += (int64_t)pos;
        if (h->progress)
            hs_progress_update(h->progress, (double)(h->progress_base + off), "%s",
                               h->progress_what ? h->progress_what : path);
        if (n == 0)
            break; /* end of file: `have` bytes of an unterminated last line remain */
        if (have == cap) {
            if (cap >= ((size_t)1 << 28)) {
                ret = hs_error_set(HS_ERR_INPUT, "%s:%lld: a line longer than 256 MiB", path, (long long)st.line);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                ret = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (ret == HS_OK && !st.stopped && ferror(f))
        ret = hs_error_set(HS_ERR_IO, "%s: read failed: %s", path, strerror(errno));
    if (ret == HS_OK && !st.stopped && !any)
        ret = hs_error_set(HS_ERR_INPUT, "%s: empty file", path);
    if (ret == HS_OK && !st.stopped && have > 0)
        hs_csv_feed(&p, path, buf, have, off, &st, &ret);
    if (ret == HS_OK && !st.stopped && csv_fini(&p, hs_csv_on_field, hs_csv_on_row, &st) != 0)
        ret = hs_parse_field_error(HS_ERR_INPUT, path, st.line, st.col, hs_csv_col_name(h, st.col),
                                   "truncated last line (unterminated quoted field)", (const char *)p.entry_buf,
                                   p.entry_buf ? p.entry_pos : 0);
    if (ret == HS_OK && st.stopped)
        ret = h->stop_status; /* HS_OK: the handler stopped early on purpose */
    if (info) {
        info->records = st.line - 1;
        info->field_grows = hs_csv_grows - grows0;
    }
    free(buf);
    csv_free(&p);
    fclose(f);
    return ret;
}

int hs_csv_check_header(hs_csv_handlers *h, const char *path, int col, const char *s, size_t len, const char *name)
{
    if (hs_parse_field_is(s, len, name))
        return 0;
    h->stop_status = hs_parse_field_error(HS_ERR_INPUT, path, 1, col, name, "unexpected header", s, len);
    return 1;
}

int hs_csv_check_columns(hs_csv_handlers *h, const char *path, int64_t line, int ncols, int want)
{
    if (ncols == want)
        return 0;
    int c = ncols < want ? ncols : want; /* the first missing or extra column */
    const char *name = c < want && h->name ? h->name(h->ctx, c) : NULL;
    h->stop_status = hs_error_set(HS_ERR_INPUT, "%s:%lld: column %d (%s): wrong column count: expected %d columns, "
                                                "found %d",
                                  path, (long long)line, c + 1, name ? name : "extra", want, ncols);
    return 1;
}
