/* preprocess_write.c: the files of the preprocessing stage, all through one hs_outset so they
 * appear together or not at all (preprocess.h). */
#include <stdlib.h>
#include <string.h>

#include "hyscale/manifest.h"
#include "hyscale/outfiles.h"
#include "hyscale/plot.h"
#include "hyscale/profile.h"
#include "hyscale/progress.h"
#include "hyscale/safetensors.h"
#include "preprocess_internal.h"

static cJSON *hs_stats_json(const hs_preprocess_result *res)
{
    const hs_series_stats *s = &res->stats;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "invocations_total", s->total);
    cJSON_AddNumberToObject(j, "clipped_total", s->clipped_total);
    cJSON_AddNumberToObject(j, "mean", s->mean);
    cJSON_AddNumberToObject(j, "min", s->min);
    cJSON_AddNumberToObject(j, "median", s->median);
    cJSON_AddNumberToObject(j, "q99", s->q99);
    cJSON_AddNumberToObject(j, "max", s->max);
    cJSON_AddNumberToObject(j, "zero_points", (double)s->zero_points);
    cJSON_AddNumberToObject(j, "log1p_mean", s->log1p_mean);
    cJSON_AddNumberToObject(j, "log1p_std", s->log1p_std);
    cJSON_AddNumberToObject(j, "log1p_min", s->log1p_min);
    cJSON_AddNumberToObject(j, "log1p_max", s->log1p_max);
    return j;
}

static cJSON *hs_skips_json(const hs_preprocess_result *res)
{
    cJSON *j = cJSON_CreateObject();
    for (int c = 0; c < HS_BAD_NCAUSES; c++)
        cJSON_AddNumberToObject(j, hs_bad_cause_name((hs_bad_cause)c), (double)res->skips[c]);
    cJSON_AddNumberToObject(j, "total", (double)res->skipped_total);
    return j;
}

static cJSON *hs_series_json(const hs_preprocess_config *cfg, const hs_trace_files *files,
                             const hs_preprocess_result *res)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "hyscale-series-v1");
    cJSON_AddBoolToObject(j, "synthetic", res->synthetic);
    cJSON_AddStringToObject(j, "layout", hs_layout_name(res->layout));
    cJSON *in = cJSON_AddArrayToObject(j, "inputs");
    for (int i = 0; i < files->count; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "path", files->f[i].path);
        cJSON_AddNumberToObject(f, "bytes", (double)files->f[i].bytes);
        cJSON_AddNumberToObject(f, "day", files->f[i].day + 1);
        cJSON_AddNumberToObject(f, "rows", (double)files->f[i].rows);
        cJSON_AddItemToArray(in, f);
    }
    cJSON_AddNumberToObject(j, "days", res->days);
    char ts[24];
    hs_format_time(res->series.start_unix, ts);
    cJSON_AddStringToObject(j, "start", ts);
    int dated = res->layout == HS_LAYOUT_DS_Y || cfg->start;
    cJSON_AddBoolToObject(j, "start_is_nominal", !dated);
    cJSON_AddNumberToObject(j, "step_seconds", (double)res->series.step_seconds);
    cJSON_AddNumberToObject(j, "points", (double)res->series.n);
    cJSON_AddNumberToObject(j, "minutes", (double)(res->series.n * res->series.step_seconds / 60));
    cJSON_AddNumberToObject(j, "gap_points", (double)res->gap_minutes);
    cJSON_AddNumberToObject(j, "rows_read", (double)res->rows);
    cJSON *fn = cJSON_AddObjectToObject(j, "functions");
    cJSON_AddNumberToObject(fn, "seen", (double)res->functions_seen);
    cJSON_AddNumberToObject(fn, "kept", res->functions_kept);
    if (res->functions_kept > 0) {
        cJSON_AddStringToObject(fn, "matrix", "functions.safetensors");
        cJSON_AddStringToObject(fn, "ids", "functions.csv");
    }
    cJSON *cl = cJSON_AddObjectToObject(j, "clipping");
    cJSON_AddStringToObject(cl, "method", "centered rolling median + k * max(1.4826 * rolling MAD, min_scale)");
    cJSON_AddNumberToObject(cl, "window", cfg->clip.window);
    cJSON_AddNumberToObject(cl, "k", cfg->clip.k);
    cJSON_AddNumberToObject(cl, "min_scale", cfg->clip.min_scale);
    cJSON_AddNumberToObject(cl, "clipped_points", (double)res->clipped);
    cJSON_AddItemToObject(j, "skipped_rows", hs_skips_json(res));
    if (res->layout == HS_LAYOUT_AZURE2021)
        cJSON_AddNumberToObject(j, "starts_before_trace", (double)res->starts_before_trace);
    cJSON_AddItemToObject(j, "statistics", hs_stats_json(res));
    return j;
}

static hs_status hs_write_functions(hs_outset *os, hs_agg *a, const hs_preprocess_result *res)
{
    int nk = res->functions_kept;
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, "functions.csv", &f, &tmp));
    fputs("index,function,app,owner,trigger,total,active_minutes\n", f);
    for (int r = 0; r < nk; r++) {
        const char *owner, *app, *func, *trig;
        hs_fnmap_ids(a->fns, a->kept[r], &owner, &app, &func, &trig);
        int64_t active = 0;
        const float *row = a->mat + (int64_t)r * a->m;
        for (int64_t k = 0; k < a->m; k++)
            active += row[k] > 0;
        fprintf(f, "%d,%s,%s,%s,%s,%.0f,%lld\n", r, func, app, owner, trig, hs_fnmap_at(a->fns, a->kept[r])->total,
                (long long)active);
    }
    HS_TRY(hs_outset_file(os, "functions.safetensors", &f, &tmp));
    cJSON *meta = cJSON_CreateObject();
    char buf[64];
    cJSON_AddStringToObject(meta, "format", "hyscale-functions-v1");
    cJSON_AddStringToObject(meta, "rows", "functions, in functions.csv order (top by total invocations)");
    hs_format_time(res->series.start_unix, buf);
    cJSON_AddStringToObject(meta, "start", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)res->series.step_seconds);
    cJSON_AddStringToObject(meta, "step_seconds", buf);
    cJSON_AddStringToObject(meta, "synthetic", res->synthetic ? "true" : "false");
    hs_st_tensor t = {"invocations", a->mat, 2, {nk, a->m, 0, 0}};
    hs_status st = hs_safetensors_write(f, tmp, &t, 1, meta);
    cJSON_Delete(meta);
    return st;
}

hs_status hs_preprocess_write(const hs_preprocess_config *cfg, const hs_trace_files *files, hs_agg *a,
                              hs_preprocess_result *res, cJSON *manifest)
{
    hs_outset *os;
    HS_TRY(hs_outset_open(cfg->out_dir, &os));
    FILE *f;
    const char *tmp;
    hs_status st = hs_outset_file(os, "series.csv", &f, &tmp);
    if (st == HS_OK)
        st = hs_series_write_csv(&res->series, f, tmp);
    cJSON *sj = st == HS_OK ? hs_series_json(cfg, files, res) : NULL;
    if (st == HS_OK)
        st = hs_json_write(os, "series.json", sj);
    if (st == HS_OK && res->functions_kept > 0)
        st = hs_write_functions(os, a, res);
    if (st == HS_OK && cfg->plot) {
        char title[160];
        snprintf(title, sizeof title, "%s%s: invocations per %s", hs_layout_name(res->layout),
                 res->synthetic ? " (synthetic)" : "", res->series.step_seconds == 60 ? "minute" : "step");
        st = hs_outset_path(os, "series.png", &tmp);
        hs_series_profiles prof = {0};
        if (st == HS_OK)
            st = hs_series_profiles_init(&prof, &res->series);
        if (st == HS_OK)
            st = hs_plot_series_png(tmp, &res->series, &prof, title);
        hs_series_profiles_free(&prof);
    }
    if (st == HS_OK && manifest) {
        cJSON *tm = hs_manifest_section(manifest, "timings");
        cJSON_AddNumberToObject(tm, "read_seconds", res->read_seconds);
        cJSON_AddNumberToObject(tm, "total_seconds", res->seconds);
        cJSON_AddNumberToObject(tm, "peak_rss_kib", (double)res->peak_rss_kib);
        cJSON *me = hs_manifest_section(manifest, "metrics");
        cJSON_AddNumberToObject(me, "files", res->files);
        cJSON_AddNumberToObject(me, "bytes", (double)res->bytes);
        cJSON_AddNumberToObject(me, "days", res->days);
        cJSON_AddNumberToObject(me, "rows", (double)res->rows);
        cJSON_AddNumberToObject(me, "functions_seen", (double)res->functions_seen);
        cJSON_AddNumberToObject(me, "functions_kept", res->functions_kept);
        cJSON_AddNumberToObject(me, "invocations", res->stats.total);
        cJSON_AddNumberToObject(me, "minutes", (double)res->series.n);
        cJSON_AddNumberToObject(me, "clipped_points", (double)res->clipped);
        cJSON_AddNumberToObject(me, "gap_points", (double)res->gap_minutes);
        cJSON_AddItemToObject(me, "skipped_rows", hs_skips_json(res));
        cJSON_AddBoolToObject(manifest, "synthetic", res->synthetic);
        st = hs_json_write(os, cfg->manifest_name ? cfg->manifest_name : "manifest.json", manifest);
    }
    if (st == HS_OK)
        st = hs_outset_commit(os);
    cJSON_Delete(sj);
    hs_outset_free(os);
    return st;
}

void hs_preprocess_print_summary(const hs_preprocess_result *r, FILE *f)
{
    fprintf(f, "preprocess: %s%s\n", hs_layout_name(r->layout), r->synthetic ? " (synthetic trace)" : "");
    fprintf(f, "  files        %d (%.1f MB)\n", r->files, (double)r->bytes / 1e6);
    if (r->days)
        fprintf(f, "  days         %d\n", r->days);
    fprintf(f, "  rows         %lld\n", (long long)r->rows);
    if (r->functions_seen)
        fprintf(f, "  functions    %lld seen, top %d kept\n", (long long)r->functions_seen, r->functions_kept);
    fprintf(f, "  invocations  %.0f\n", r->stats.total);
    fprintf(f, "  points       %lld (every %llds; %lld gap points filled with 0)\n", (long long)r->series.n,
            (long long)r->series.step_seconds, (long long)r->gap_minutes);
    fprintf(f, "  clipped      %lld points\n", (long long)r->clipped);
    if (r->skipped_total) {
        fprintf(f, "  skipped rows %lld:", (long long)r->skipped_total);
        for (int c = 0; c < HS_BAD_NCAUSES; c++)
            if (r->skips[c])
                fprintf(f, " %s %lld", hs_bad_cause_name((hs_bad_cause)c), (long long)r->skips[c]);
        fputc('\n', f);
    }
    if (r->starts_before_trace)
        fprintf(f, "  %lld invocations started before the trace start (counted in minute 0)\n",
                (long long)r->starts_before_trace);
    fprintf(f, "  time         %.2f s (%.1f MB/s), peak memory %.1f MB\n", r->seconds,
            r->seconds > 0 ? (double)r->bytes / 1e6 / r->read_seconds : 0.0, (double)r->peak_rss_kib / 1024.0);
}
