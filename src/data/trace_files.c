/* trace_files.c: the list of trace files to read: folders expanded, day files ordered by their
 * dNN number, each file's layout detected from its header (trace.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hyscale/csvread.h"
#include "hyscale/parse.h"
#include "hyscale/trace.h"

const char *hs_layout_name(hs_layout l)
{
    switch (l) {
    case HS_LAYOUT_AZURE2019: return "azure2019";
    case HS_LAYOUT_INVITRO: return "invitro";
    case HS_LAYOUT_AZURE2021: return "azure2021";
    case HS_LAYOUT_DS_Y: return "ds_y";
    case HS_LAYOUT_MINUTE: return "minute_invocations";
    case HS_LAYOUT_UNKNOWN: break;
    }
    return "unknown";
}

int64_t hs_layout_nominal_start(hs_layout l)
{
    return l == HS_LAYOUT_AZURE2021 ? 1612051200 /* 2021-01-31 00:00:00 UTC */
                                    : 1561939200; /* 2019-07-01 00:00:00 UTC */
}

/* ---- header detection ------------------------------------------------------------------ */

typedef struct hs_hdr {
    char first[4][32];   /* first four column names (at most 31 bytes kept: longer never match) */
    size_t len[4];       /* their whole lengths */
    char shown[2][HS_PARSE_QUOTE_CAP]; /* the first two as a message shows them */
    int ncols;
} hs_hdr;

static int hs_hdr_field(void *ctx, int col, const char *s, size_t len, int64_t line)
{
    (void)line;
    hs_hdr *h = ctx;
    if (col < 4) {
        size_t n = len < sizeof h->first[0] - 1 ? len : sizeof h->first[0] - 1;
        memcpy(h->first[col], s, n);
        h->first[col][n] = '\0';
        h->len[col] = len;
        if (col < 2)
            hs_parse_quote(s, len, h->shown[col], sizeof h->shown[col]);
    }
    return 0;
}

static int hs_hdr_row(void *ctx, int ncols, int64_t line, int terminated)
{
    (void)line;
    (void)terminated;
    ((hs_hdr *)ctx)->ncols = ncols;
    return 1; /* one record is all we need */
}

/* Column k of the header is exactly name (whole length, so a longer field or one with a NUL
 * inside never matches). */
static int hs_hdr_is(const hs_hdr *h, int k, const char *name)
{
    return hs_parse_field_is(h->first[k], h->len[k], name);
}

static hs_layout hs_layout_from_header(const hs_hdr *h)
{
    if (h->ncols >= 5 && hs_hdr_is(h, 0, "HashOwner") && hs_hdr_is(h, 1, "HashApp") &&
        hs_hdr_is(h, 2, "HashFunction") && hs_hdr_is(h, 3, "Trigger"))
        return HS_LAYOUT_AZURE2019;
    if (h->ncols >= 4 && hs_hdr_is(h, 0, "HashFunction") && hs_hdr_is(h, 1, "HashOwner") &&
        hs_hdr_is(h, 2, "HashApp"))
        return HS_LAYOUT_INVITRO;
    if (h->ncols == 4 && hs_hdr_is(h, 0, "app") && hs_hdr_is(h, 1, "func") && hs_hdr_is(h, 2, "end_timestamp") &&
        hs_hdr_is(h, 3, "duration"))
        return HS_LAYOUT_AZURE2021;
    if (h->ncols == 2 && hs_hdr_is(h, 0, "ds") && hs_hdr_is(h, 1, "y"))
        return HS_LAYOUT_DS_Y;
    if (h->ncols == 2 && hs_hdr_is(h, 0, "minute") && hs_hdr_is(h, 1, "invocations"))
        return HS_LAYOUT_MINUTE;
    return HS_LAYOUT_UNKNOWN;
}

static const char *hs_hdr_name(void *ctx, int col)
{
    (void)ctx;
    (void)col;
    return "header";
}

hs_status hs_trace_detect(const char *path, hs_layout *out)
{
    hs_hdr h;
    memset(&h, 0, sizeof h);
    hs_csv_handlers hd = {.ctx = &h, .field = hs_hdr_field, .row = hs_hdr_row, .name = hs_hdr_name,
                          .stop_status = HS_OK};
    HS_TRY(hs_csv_stream(path, &hd, NULL));
    *out = hs_layout_from_header(&h);
    if (h.ncols == 0)
        return hs_error_set(HS_ERR_INPUT, "%s: empty file (no header)", path);
    if (*out == HS_LAYOUT_UNKNOWN)
        return hs_error_set(HS_ERR_INPUT,
                            "%s:1: column 1 (header): missing or unknown header '%s,%s...' (expected one of "
                            "HashOwner,HashApp,HashFunction,Trigger,1..1440 | HashFunction,HashOwner,HashApp,"
                            "minute_1..minute_1440 | app,func,end_timestamp,duration | ds,y | minute,invocations)",
                            path, h.shown[0], h.shown[1]);
    return HS_OK;
}

/* ---- listing ----------------------------------------------------------------------------- */

/* The NN of a name ending in "dNN.csv" (e.g. invocations_per_function_md.anon.d07.csv), or -1. */
static int hs_day_number(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n < 6 || strcmp(base + n - 4, ".csv") != 0)
        return -1;
    size_t e = n - 4, b = e;
    while (b > 0 && isdigit((unsigned char)base[b - 1]))
        b--;
    if (b == e || b == 0 || base[b - 1] != 'd' || e - b > 4)
        return -1;
    if (b >= 2 && isalnum((unsigned char)base[b - 2]))
        return -1; /* "...d07.csv" must stand as its own token, like ".d07.csv" */
    return atoi(base + b);
}

static int hs_cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static hs_status hs_files_push(hs_trace_files *fs, int *cap, const char *path, int64_t bytes)
{
    if (fs->count == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        hs_trace_file *f = realloc(fs->f, (size_t)nc * sizeof *f);
        if (!f)
            return hs_error_set(HS_ERR_NOMEM, "out of memory");
        fs->f = f;
        *cap = nc;
    }
    hs_trace_file *f = &fs->f[fs->count];
    memset(f, 0, sizeof *f);
    if (!(f->path = strdup(path)))
        return hs_error_set(HS_ERR_NOMEM, "out of memory");
    f->bytes = bytes;
    fs->count++;
    fs->bytes += bytes;
    return HS_OK;
}

static hs_status hs_files_add_dir(hs_trace_files *fs, int *cap, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return hs_error_set(HS_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0, ncap = 0;
    struct dirent *e;
    hs_status st = HS_OK;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".csv") != 0)
            continue;
        if (n == ncap) {
            ncap = ncap ? 2 * ncap : 16;
            char **nn = realloc(names, (size_t)ncap * sizeof *nn);
            if (!nn) {
                st = hs_error_set(HS_ERR_NOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        names[n] = malloc(strlen(dir) + len + 2);
        if (!names[n]) {
            st = hs_error_set(HS_ERR_NOMEM, "out of memory");
            break;
        }
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (st == HS_OK && n == 0)
        st = hs_error_set(HS_ERR_INPUT, "%s: folder holds no .csv files", dir);
    if (names)
        qsort(names, (size_t)n, sizeof *names, hs_cmp_str);
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (st == HS_OK && stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode))
            st = hs_files_push(fs, cap, names[i], (int64_t)sb.st_size);
        free(names[i]);
    }
    free(names);
    return st;
}

static int hs_cmp_day(const void *a, const void *b)
{
    const hs_trace_file *x = a, *y = b;
    return (x->day > y->day) - (x->day < y->day);
}

hs_status hs_trace_files_list(char *const *paths, int npaths, hs_trace_files *out)
{
    memset(out, 0, sizeof *out);
    if (npaths <= 0)
        return hs_error_set(HS_ERR_USAGE, "no input given (--input PATH...)");
    int cap = 0;
    hs_status st = HS_OK;
    for (int i = 0; i < npaths && st == HS_OK; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0)
            st = hs_error_set(HS_ERR_IO, "%s: cannot open: %s", paths[i], strerror(errno));
        else if (S_ISDIR(sb.st_mode))
            st = hs_files_add_dir(out, &cap, paths[i]);
        else
            st = hs_files_push(out, &cap, paths[i], (int64_t)sb.st_size);
    }
    int all_numbered = 1;
    for (int i = 0; i < out->count && st == HS_OK; i++) {
        hs_trace_file *f = &out->f[i];
        st = hs_trace_detect(f->path, &f->layout);
        if (st == HS_OK && i > 0 && f->layout != out->f[0].layout)
            st = hs_error_set(HS_ERR_INPUT, "%s: layout %s differs from %s's layout %s; give files of one layout",
                              f->path, hs_layout_name(f->layout), out->f[0].path, hs_layout_name(out->f[0].layout));
        int nn = hs_day_number(f->path);
        all_numbered &= nn >= 1;
        f->day = nn >= 1 ? nn - 1 : i;
    }
    if (st == HS_OK && all_numbered) {
        qsort(out->f, (size_t)out->count, sizeof *out->f, hs_cmp_day);
        for (int i = 1; i < out->count && st == HS_OK; i++)
            if (out->f[i].day == out->f[i - 1].day)
                st = hs_error_set(HS_ERR_INPUT, "%s and %s are both day %d", out->f[i - 1].path, out->f[i].path,
                                  out->f[i].day + 1);
    } else if (st == HS_OK) {
        for (int i = 0; i < out->count; i++)
            out->f[i].day = i;
    }
    if (st != HS_OK) {
        hs_trace_files_free(out);
        return st;
    }
    out->layout = out->f[0].layout;
    return HS_OK;
}

void hs_trace_files_free(hs_trace_files *fs)
{
    if (!fs)
        return;
    for (int i = 0; i < fs->count; i++)
        free(fs->f[i].path);
    free(fs->f);
    memset(fs, 0, sizeof *fs);
}
