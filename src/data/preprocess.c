/* preprocess.c: two streaming passes over the trace files into the aggregate per-minute
 * series and the per-function matrix of the top N, then cleaning (preprocess.h). The files
 * written are in preprocess_write.c. */
#include "hyscale/preprocess.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hyscale/fnmap.h"
#include "hyscale/progress.h"
#include "preprocess_internal.h"

/* ---- pass 1: aggregate and per-function totals ------------------------------------------- */

static int hs_agg_reserve(hs_agg *a, int64_t need)
{
    if (need <= a->cap)
        return 0;
    if (need > a->max_span)
        return hs_error_set(HS_ERR_INPUT, "trace spans %lld minutes, more than the %lld hyscale takes (series.h): is a "
                                          "time wrong?",
                            (long long)need, (long long)a->max_span);
    int64_t nc = a->cap ? a->cap : 4096;
    while (nc < need)
        nc *= 2;
    double *v = realloc(a->v, (size_t)nc * sizeof *v);
    if (v)
        a->v = v;
    unsigned char *c = realloc(a->covered, (size_t)nc);
    if (c)
        a->covered = c;
    if (!v || !c)
        return hs_error_set(HS_ERR_NOMEM, "out of memory for %lld minutes", (long long)nc);
    memset(a->v + a->cap, 0, (size_t)(nc - a->cap) * sizeof *a->v);
    memset(a->covered + a->cap, 0, (size_t)(nc - a->cap));
    a->cap = nc;
    return 0;
}

static void hs_agg_cover(void *ctx, int file_index, int64_t minute0, int64_t n)
{
    (void)file_index;
    hs_agg *a = ctx;
    if (hs_agg_reserve(a, minute0 + n)) {
        a->err = HS_ERR_NOMEM;
        return;
    }
    memset(a->covered + minute0, 1, (size_t)n);
    if (a->lo < 0 || minute0 < a->lo)
        a->lo = minute0;
    if (minute0 + n - 1 > a->hi)
        a->hi = minute0 + n - 1;
}

static int hs_agg_counts(void *ctx, const hs_trace_fn *fn, int file_index, int64_t minute0, const uint32_t *c, int n)
{
    hs_agg *a = ctx;
    if (a->err)
        return a->err;
    int64_t i = hs_fnmap_get(a->fns, fn->owner, fn->app, fn->func, fn->trigger);
    if (i < 0)
        return hs_error_set(HS_ERR_NOMEM, "out of memory for the function table");
    hs_fnmap_entry *e = hs_fnmap_at(a->fns, i);
    if (a->wide) {
        if (e->last_file == file_index)
            return HS_SINK_DUPLICATE;
        e->last_file = file_index;
    } else {
        int st = hs_agg_reserve(a, minute0 + n);
        if (st)
            return st;
        a->lo = 0; /* the 2021 log counts from the trace start */
        if (minute0 + n - 1 > a->hi)
            a->hi = minute0 + n - 1;
    }
    double sum = 0;
    double *v = a->v + minute0;
    for (int k = 0; k < n; k++) {
        v[k] += c[k];
        sum += c[k];
    }
    e->total += sum;
    return 0;
}

/* The plain layouts keep their points (small series) and check duplicate times in a set. */
static int hs_agg_point(void *ctx, int64_t t, double y)
{
    hs_agg *a = ctx;
    if (2 * (a->np + 1) > a->tslots) {
        int64_t ns = a->tslots ? 2 * a->tslots : 4096;
        int64_t *set = malloc((size_t)ns * sizeof *set);
        int64_t *pt = realloc(a->pt, (size_t)ns / 2 * sizeof *pt);
        if (pt)
            a->pt = pt;
        double *py = realloc(a->py, (size_t)ns / 2 * sizeof *py);
        if (py)
            a->py = py;
        if (!set || !pt || !py) {
            free(set);
            return hs_error_set(HS_ERR_NOMEM, "out of memory for the series points");
        }
        for (int64_t s = 0; s < ns; s++)
            set[s] = INT64_MIN;
        for (int64_t k = 0; k < a->np; k++) {
            uint64_t h = (uint64_t)a->pt[k] * 0x9E3779B97F4A7C15ull;
            int64_t s = (int64_t)(h >> 20) & (ns - 1);
            while (set[s] != INT64_MIN)
                s = (s + 1) & (ns - 1);
            set[s] = a->pt[k];
        }
        free(a->tset);
        a->tset = set;
        a->tslots = ns;
    }
    uint64_t h = (uint64_t)t * 0x9E3779B97F4A7C15ull;
    int64_t s = (int64_t)(h >> 20) & (a->tslots - 1);
    for (; a->tset[s] != INT64_MIN; s = (s + 1) & (a->tslots - 1))
        if (a->tset[s] == t)
            return HS_SINK_DUPLICATE;
    a->tset[s] = t;
    a->pt[a->np] = t;
    a->py[a->np] = y;
    a->np++;
    return 0;
}

/* ---- pass 2: the matrix of the kept functions --------------------------------------------- */

static int hs_mat_counts(void *ctx, const hs_trace_fn *fn, int file_index, int64_t minute0, const uint32_t *c, int n)
{
    hs_agg *a = ctx;
    int64_t i = hs_fnmap_find(a->fns, fn->owner, fn->app, fn->func);
    if (i < 0)
        return hs_error_set(HS_ERR_INPUT, "a function appeared in the second pass only: did the files change?");
    hs_fnmap_entry *e = hs_fnmap_at(a->fns, i);
    if (a->wide) {
        if (e->last_file == file_index)
            return HS_SINK_DUPLICATE; /* skipped in pass 1 too */
        e->last_file = file_index;
    }
    if (e->row < 0)
        return 0;
    float *row = a->mat + (int64_t)e->row * a->m - a->lo;
    for (int k = 0; k < n; k++)
        row[minute0 + k] += (float)c[k];
    return 0;
}

/* Pass 2 parses only the rows of kept functions. */
static int hs_mat_skip(void *ctx, const hs_trace_fn *fn)
{
    hs_agg *a = ctx;
    int64_t i = hs_fnmap_find(a->fns, fn->owner, fn->app, fn->func);
    return i >= 0 && hs_fnmap_at(a->fns, i)->row < 0;
}

/* ---- building the series -------------------------------------------------------------------- */

static int hs_cmp_pt(const void *x, const void *y)
{
    const int64_t *a = x, *b = y;
    return (*a > *b) - (*a < *b);
}

static hs_status hs_series_from_points(hs_agg *a, const hs_trace_files *files, hs_preprocess_result *res)
{
    if (a->np == 0)
        return hs_error_set(HS_ERR_INPUT, "%s%s: a header but no data rows", files->f[0].path,
                            files->count > 1 ? " (and the other inputs)" : "");
    int64_t *idx = malloc((size_t)a->np * 2 * sizeof *idx); /* (t, original index) pairs */
    if (!idx)
        return hs_error_set(HS_ERR_NOMEM, "out of memory");
    for (int64_t k = 0; k < a->np; k++) {
        idx[2 * k] = a->pt[k];
        idx[2 * k + 1] = k;
    }
    qsort(idx, (size_t)a->np, 2 * sizeof *idx, hs_cmp_pt);
    int64_t step = 0;
    for (int64_t k = 1; k < a->np; k++) {
        int64_t d = idx[2 * k] - idx[2 * (k - 1)];
        if (step == 0 || d < step)
            step = d;
    }
    if (step == 0)
        step = 60;
    hs_status st = HS_OK;
    for (int64_t k = 1; k < a->np && st == HS_OK; k++)
        if ((idx[2 * k] - idx[2 * (k - 1)]) % step != 0) {
            char t1[24], t2[24];
            hs_format_time(idx[2 * (k - 1)], t1);
            hs_format_time(idx[2 * k], t2);
            st = hs_error_set(HS_ERR_INPUT, "irregular spacing: %s to %s is not a multiple of the %lld-second step",
                              t1, t2, (long long)step);
        }
    int64_t t0 = idx[0], n = (idx[2 * (a->np - 1)] - t0) / step + 1;
    if (st == HS_OK && n > a->max_span) {
        char t1[24], t2[24];
        hs_format_time(t0, t1);
        hs_format_time(idx[2 * (a->np - 1)], t2);
        st = hs_error_set(HS_ERR_INPUT, "%s: the series would span %lld points (%s to %s every %lld s), more than the "
                                        "%lld hyscale takes: is a date or the spacing wrong?",
                          files->f[0].path, (long long)n, t1, t2, (long long)step, (long long)a->max_span);
    }
    if (st == HS_OK)
        st = hs_series_init(&res->series, n, step, t0);
    if (st == HS_OK) {
        for (int64_t k = 0; k < a->np; k++)
            res->series.invocations[(idx[2 * k] - t0) / step] = (float)a->py[idx[2 * k + 1]];
        res->gap_minutes = n - a->np;
    }
    free(idx);
    return st;
}

static hs_status hs_series_from_agg(hs_agg *a, const hs_trace_files *files, const hs_preprocess_config *cfg,
                                    hs_preprocess_result *res)
{
    if (a->hi < a->lo || a->lo < 0)
        return hs_error_set(HS_ERR_INPUT, "%s%s: a header but no data rows", files->f[0].path,
                            files->count > 1 ? " (and the other inputs)" : "");
    int64_t start = hs_layout_nominal_start(res->layout);
    if (cfg->start && hs_parse_time(cfg->start, &start) != 0)
        return hs_error_set(HS_ERR_USAGE, "--start '%s': expected YYYY-MM-DD[ HH:MM:SS]", cfg->start);
    int64_t m = a->hi - a->lo + 1;
    HS_TRY(hs_series_init(&res->series, m, 60, start + a->lo * 60));
    int64_t gaps = 0;
    for (int64_t k = 0; k < m; k++) {
        res->series.invocations[k] = (float)a->v[a->lo + k];
        gaps += a->wide && !a->covered[a->lo + k];
    }
    res->gap_minutes = gaps;
    return HS_OK;
}

/* Marks the top N functions by total (ties: first seen first) with their matrix rows. */
static hs_status hs_pick_top(hs_agg *a, int want, hs_preprocess_result *res)
{
    int64_t nf = hs_fnmap_count(a->fns);
    int keep = want < nf ? want : (int)nf;
    res->functions_kept = keep;
    if (keep <= 0)
        return HS_OK;
    int64_t *order = malloc((size_t)nf * sizeof *order);
    if (!order)
        return hs_error_set(HS_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < nf; i++)
        order[i] = i;
    /* partial selection sort would be O(N·nf); a full sort by (total desc, index) is simpler */
    hs_fnmap *fns = a->fns;
    for (int64_t gap = nf / 2; gap > 0; gap /= 2) /* shell sort: no qsort context pointer in C11 */
        for (int64_t i = gap; i < nf; i++) {
            int64_t x = order[i], j = i;
            for (; j >= gap; j -= gap) {
                int64_t y = order[j - gap];
                double tx = hs_fnmap_at(fns, x)->total, ty = hs_fnmap_at(fns, y)->total;
                if (ty > tx || (ty == tx && y < x))
                    break;
                order[j] = y;
            }
            order[j] = x;
        }
    a->kept = malloc((size_t)keep * sizeof *a->kept);
    if (!a->kept) {
        free(order);
        return hs_error_set(HS_ERR_NOMEM, "out of memory");
    }
    for (int r = 0; r < keep; r++) {
        hs_fnmap_at(fns, order[r])->row = r;
        a->kept[r] = order[r];
    }
    free(order);
    a->mat = calloc((size_t)keep * (size_t)a->m, sizeof *a->mat);
    if (!a->mat)
        return hs_error_set(HS_ERR_NOMEM, "out of memory for the (%d, %lld) function matrix", keep, (long long)a->m);
    return HS_OK;
}

/* 1 when an input sits next to a generate.json from `hyscale generate`. */
static int hs_inputs_synthetic(const hs_preprocess_config *cfg)
{
    for (int i = 0; i < cfg->ninputs; i++) {
        char buf[4096], probe[4200];
        snprintf(buf, sizeof buf, "%s", cfg->inputs[i]);
        snprintf(probe, sizeof probe, "%s/generate.json", buf);
        if (access(probe, R_OK) == 0)
            return 1;
        snprintf(probe, sizeof probe, "%s/generate.json", dirname(buf));
        if (access(probe, R_OK) == 0)
            return 1;
    }
    return 0;
}

static void hs_agg_free(hs_agg *a)
{
    hs_fnmap_free(a->fns);
    free(a->v);
    free(a->covered);
    free(a->pt);
    free(a->py);
    free(a->tset);
    free(a->mat);
    free(a->kept);
}

hs_status hs_preprocess_run(const hs_preprocess_config *cfg, cJSON *manifest, hs_preprocess_result *res)
{
    memset(res, 0, sizeof *res);
    double t0 = hs_time_now();
    if (cfg->functions < 0)
        return hs_error_set(HS_ERR_USAGE, "--functions %d: must be >= 0", cfg->functions);
    if (cfg->clip.window < 3 || !(cfg->clip.k > 0))
        return hs_error_set(HS_ERR_USAGE, "clipping needs --clip-window >= 3 and --clip-k > 0");
    hs_trace_files files;
    HS_TRY(hs_trace_files_list(cfg->inputs, cfg->ninputs, &files));
    res->layout = files.layout;
    res->files = files.count;
    res->bytes = files.bytes;
    res->synthetic = hs_inputs_synthetic(cfg);
    int wide = files.layout == HS_LAYOUT_AZURE2019 || files.layout == HS_LAYOUT_INVITRO;
    int plain = files.layout == HS_LAYOUT_DS_Y || files.layout == HS_LAYOUT_MINUTE;
    res->days = wide ? files.f[files.count - 1].day - files.f[0].day + 1 : 0;

    hs_agg a;
    memset(&a, 0, sizeof a);
    a.max_span = cfg->max_span > 0 && cfg->max_span < HS_SERIES_MAX_SPAN ? cfg->max_span : HS_SERIES_MAX_SPAN;
    a.lo = -1;
    a.hi = -1;
    a.wide = wide;
    a.fns = hs_fnmap_new();
    hs_status st = a.fns ? HS_OK : hs_error_set(HS_ERR_NOMEM, "out of memory");

    hs_progress prog;
    int passes = plain || cfg->functions == 0 ? 1 : 2;
    hs_progress_start(&prog, "preprocess", (double)files.bytes * passes, cfg->quiet);
    hs_trace_reader_config rc;
    memset(&rc, 0, sizeof rc);
    rc.skip_bad_rows = cfg->skip_bad_rows;
    rc.progress = &prog;
    hs_trace_sink sink1 = {&a, hs_agg_counts, hs_agg_point, hs_agg_cover, NULL};
    if (st == HS_OK)
        st = hs_trace_read(&files, &rc, &sink1);
    if (st == HS_OK && a.err)
        st = a.err;
    for (int c = 0; c < HS_BAD_NCAUSES; c++) {
        res->skips[c] = rc.skips[c];
        res->skipped_total += rc.skips[c];
    }
    res->starts_before_trace = rc.starts_before_trace;
    for (int i = 0; i < files.count; i++)
        res->rows += files.f[i].rows;
    res->functions_seen = plain ? 0 : hs_fnmap_count(a.fns);

    if (st == HS_OK)
        st = plain ? hs_series_from_points(&a, &files, res) : hs_series_from_agg(&a, &files, cfg, res);
    if (st == HS_OK && !plain && cfg->functions > 0) {
        a.m = res->series.n;
        st = hs_pick_top(&a, cfg->functions, res);
        if (st == HS_OK && res->functions_kept > 0) {
            for (int64_t i = 0; i < hs_fnmap_count(a.fns); i++)
                hs_fnmap_at(a.fns, i)->last_file = -1;
            hs_trace_reader_config rc2;
            memset(&rc2, 0, sizeof rc2);
            rc2.skip_bad_rows = cfg->skip_bad_rows;
            rc2.progress = &prog;
            rc2.progress_base = files.bytes; /* the second half of the work */
            prog.label = "preprocess (top functions)";
            hs_trace_sink sink2 = {&a, hs_mat_counts, hs_agg_point, NULL, hs_mat_skip};
            st = hs_trace_read(&files, &rc2, &sink2);
        }
    }
    res->read_seconds = hs_time_now() - t0;
    if (st == HS_OK) {
        res->clipped = hs_series_clean(&res->series, &cfg->clip);
        hs_series_stats_compute(&res->series, &res->stats);
        res->seconds = hs_time_now() - t0;
        res->peak_rss_kib = hs_peak_rss_kib();
        st = hs_preprocess_write(cfg, &files, &a, res, manifest);
    }
    if (st == HS_OK)
        hs_progress_finish(&prog, "%lld minutes, %.0f invocations", (long long)res->series.n, res->stats.total);
    hs_agg_free(&a);
    hs_trace_files_free(&files);
    if (st != HS_OK)
        hs_preprocess_result_free(res);
    return st;
}

void hs_preprocess_result_free(hs_preprocess_result *res)
{
    if (res)
        hs_series_free(&res->series);
}
