/* test_core.c: the shared foundations: Philox known answers, percentiles, time stamps,
 * spike clipping, splits, series.csv round trip, the safetensors layout and output sets. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/csvread.h"
#include "hyscale/forecast_csv.h"
#include "hyscale/forecast_input.h"
#include "hyscale/forecast_rows.h"
#include "hyscale/math/rng.h"
#include "hyscale/outfiles.h"
#include "hyscale/safetensors.h"
#include "hyscale/series.h"

/* Random123 tests/kat_vectors, the three "philox4x32 10" lines: ctr[4] key[2] -> result[4]. */
Test(rng, philox4x32_10_known_answers)
{
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
         0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
         0x24126ea1},
    };
    for (int k = 0; k < 3; k++) {
        hs_u32x4 c = {{kat[k][0], kat[k][1], kat[k][2], kat[k][3]}};
        hs_u32x4 r = hs_philox4x32_10(c, kat[k][4], kat[k][5]);
        for (int w = 0; w < 4; w++)
            cr_assert_eq(r.v[w], kat[k][6 + w], "vector %d word %d: %08x != %08x", k, w, r.v[w], kat[k][6 + w]);
    }
}

Test(rng, streams_are_independent_and_uniform)
{
    double sum = 0;
    int n = 200000;
    hs_rng r = hs_rng_make(7, 0);
    for (int i = 0; i < n; i++) {
        double u = hs_rng_next_double(&r);
        cr_assert(u >= 0 && u < 1);
        sum += u;
    }
    /* mean of n uniforms: sd = sqrt(1/12/n) ~ 6.5e-4; 5 sd */
    cr_assert(fabs(sum / n - 0.5) < 5 * sqrt(1.0 / 12 / n), "mean %g", sum / n);
    cr_assert_neq(hs_rng_uniform(7, 0, 0, 0), hs_rng_uniform(7, 1, 0, 0));
    cr_assert_eq(hs_rng_uniform(7, 3, 9, 2), hs_rng_uniform(7, 3, 9, 2));
}

Test(series, percentile_matches_numpy_linear)
{
    float x[5] = {5, 1, 4, 2, 3};
    /* numpy.percentile([5,1,4,2,3], [0, 50, 90, 99, 100]) = 1, 3, 4.6, 4.96, 5 */
    cr_assert_float_eq(hs_percentile(x, 5, 0), 1.0, 1e-9);
    cr_assert_float_eq(hs_percentile(x, 5, 50), 3.0, 1e-9);
    cr_assert_float_eq(hs_percentile(x, 5, 90), 4.6, 1e-6);
    cr_assert_float_eq(hs_percentile(x, 5, 99), 4.96, 1e-6);
    cr_assert_float_eq(hs_percentile(x, 5, 100), 5.0, 1e-9);
}

Test(series, time_round_trip)
{
    int64_t t;
    char buf[24];
    cr_assert_eq(hs_parse_time("2019-07-01 00:00:00", &t), 0);
    cr_assert_eq(t, 1561939200);
    cr_assert_eq(hs_parse_time("2024-02-29T23:59:59Z", &t), 0);
    hs_format_time(t, buf);
    cr_assert_str_eq(buf, "2024-02-29 23:59:59");
    cr_assert_eq(hs_parse_time("2007-12-10", &t), 0);
    hs_format_time(t, buf);
    cr_assert_str_eq(buf, "2007-12-10 00:00:00");
    cr_assert_eq(hs_parse_time("1969-12-31 23:00:00", &t), 0);
    cr_assert_eq(t, -3600);
    hs_format_time(t, buf);
    cr_assert_str_eq(buf, "1969-12-31 23:00:00");
    cr_assert_eq(hs_parse_time("2023-02-29", &t), -1);
    cr_assert_eq(hs_parse_time("2023-1-01", &t), -1);
    cr_assert_eq(hs_parse_time("2023-01-01 12", &t), -1);
    cr_assert_eq(hs_parse_time("2023-01-01x", &t), -1);
}

Test(series, clipping_caps_spikes_only)
{
    enum { N = 600 };
    float x[N], out[N];
    hs_rng r = hs_rng_make(3, 0);
    for (int i = 0; i < N; i++)
        x[i] = 100 + (float)(20 * hs_rng_next_double(&r)); /* uniform noise, MAD ~ 5 */
    x[100] = 5000;
    x[400] = 2000;
    hs_clip_config cfg = HS_CLIP_DEFAULTS;
    int64_t c = hs_clip_spikes(x, N, &cfg, out);
    cr_assert_eq(c, 2, "clipped %lld points", (long long)c);
    cr_assert(out[100] < 200 && out[100] > 110, "spike clipped to %g", out[100]);
    cr_assert(out[400] < 200);
    for (int i = 0; i < N; i++)
        if (i != 100 && i != 400)
            cr_assert_eq(out[i], x[i], "point %d changed", i);
    /* a flat zero stretch with a single 1: the scale floor keeps it */
    float z[61] = {0}, zo[61];
    z[30] = 1;
    cr_assert_eq(hs_clip_spikes(z, 61, &cfg, zo), 0);
}

Test(series, split_by_minutes)
{
    hs_split s;
    cr_assert_eq(hs_split_make(1000, 100, 0.1, &s), HS_OK);
    cr_assert_eq(s.val_end, 900);
    cr_assert_eq(s.train_end, 810);
    cr_assert_neq(hs_split_make(100, 100, 0.1, &s), HS_OK);
    cr_assert_neq(hs_split_make(100, 10, 1.0, &s), HS_OK);
}

Test(series, csv_round_trip)
{
    hs_series s, t;
    cr_assert_eq(hs_series_init(&s, 50, 300, 1561939200), HS_OK);
    for (int i = 0; i < 50; i++)
        s.invocations[i] = (float)(i * i % 17) + 0.25f;
    hs_clip_config cfg = HS_CLIP_DEFAULTS;
    hs_series_clean(&s, &cfg);
    char *dir = hs_test_scratch("csvrt");
    hs_outset *os;
    cr_assert_eq(hs_outset_open(dir, &os), HS_OK);
    FILE *f;
    const char *tmp;
    cr_assert_eq(hs_outset_file(os, "series.csv", &f, &tmp), HS_OK);
    cr_assert_eq(hs_series_write_csv(&s, f, tmp), HS_OK);
    cr_assert_eq(hs_outset_commit(os), HS_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/series.csv", hs_outset_dir(os));
    cr_assert_eq(hs_series_read_csv(path, &t), HS_OK, "%s", hs_error_message());
    hs_outset_free(os);
    cr_assert_eq(t.n, 50);
    cr_assert_eq(t.step_seconds, 300);
    cr_assert_eq(t.start_unix, 1561939200);
    char msg[256];
    /* %.9g keeps a float exactly */
    cr_assert(hs_test_close(t.invocations, s.invocations, 50, 0, 0, msg, sizeof msg), "%s", msg);
    cr_assert(hs_test_close(t.log1p, s.log1p, 50, 0, 0, msg, sizeof msg), "%s", msg);
    hs_series_free(&s);
    hs_series_free(&t);
}

Test(outfiles, abort_leaves_nothing_and_commit_renames)
{
    char *dir = hs_test_scratch("outset");
    char sub[512];
    snprintf(sub, sizeof sub, "%s/new/run", dir);
    hs_outset *os;
    cr_assert_eq(hs_outset_open(sub, &os), HS_OK);
    FILE *f;
    cr_assert_eq(hs_outset_file(os, "a.txt", &f, NULL), HS_OK);
    fputs("hello", f);
    cr_assert_eq(hs_test_count_entries(sub), 1); /* only the temporary file */
    hs_outset_free(os);                          /* not committed: aborts */
    cr_assert_eq(hs_test_count_entries(sub), -1);
    cr_assert_eq(hs_outset_open(sub, &os), HS_OK);
    cr_assert_eq(hs_outset_file(os, "a.txt", &f, NULL), HS_OK);
    fputs("hello", f);
    cr_assert_eq(hs_outset_commit(os), HS_OK);
    hs_outset_free(os);
    char p[600];
    snprintf(p, sizeof p, "%s/a.txt", sub);
    char *text = hs_test_read_file(p, NULL);
    cr_assert_str_eq(text, "hello");
    free(text);
    cr_assert_eq(hs_test_count_entries(sub), 1);
}

Test(safetensors, layout)
{
    float data[6] = {1, 2, 3, 4, 5, 6};
    hs_st_tensor t = {"invocations", data, 2, {2, 3, 0, 0}};
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "test");
    char *dir = hs_test_scratch("st");
    char p[512];
    snprintf(p, sizeof p, "%s/t.safetensors", dir);
    FILE *f = fopen(p, "wb");
    cr_assert_eq(hs_safetensors_write(f, p, &t, 1, meta), HS_OK);
    fclose(f);
    cJSON_Delete(meta);
    size_t len;
    unsigned char *b = (unsigned char *)hs_test_read_file(p, &len);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)b[i] << (8 * i);
    cr_assert_eq(hl % 8, 0);
    cr_assert_eq(len, 8 + hl + 24);
    cJSON *h = cJSON_ParseWithLength((const char *)b + 8, hl);
    cr_assert(h);
    cJSON *e = cJSON_GetObjectItem(h, "invocations");
    cr_assert_str_eq(cJSON_GetObjectItem(e, "dtype")->valuestring, "F32");
    cr_assert_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "shape"), 1)->valueint, 3);
    cr_assert_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "data_offsets"), 1)->valueint, 24);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "__metadata__"), "format")->valuestring, "test");
    float back[6];
    memcpy(back, b + 8 + hl, 24);
    cr_assert_eq(memcmp(back, data, 24), 0);
    cJSON_Delete(h);
    free(b);
}

Test(forecast_csv, prophet_columns_and_empty_fields)
{
    float y[3] = {1, 2, NAN}, yh[3] = {1.5f, 2.25f, 3}, lo[3] = {1, 2, 2.5f}, up[3] = {2, 3, 3.5f};
    char *dir = hs_test_scratch("fcsv");
    char p[512];
    snprintf(p, sizeof p, "%s/f.csv", dir);
    FILE *f = fopen(p, "w");
    hs_forecast_rows r = {1561939200, 60, 3, y, yh, lo, up};
    cr_assert_eq(hs_forecast_csv_write(f, p, &r), HS_OK);
    hs_forecast_rows r2 = {1561939200, 86400, 1, NULL, yh, NULL, NULL};
    cr_assert_eq(hs_forecast_csv_write(f, p, &r2), HS_OK);
    fclose(f);
    char *t = hs_test_read_file(p, NULL);
    cr_assert_str_eq(t, "ds,y,yhat,yhat_lower,yhat_upper\n"
                        "2019-07-01 00:00:00,1,1.5,1,2\n"
                        "2019-07-01 00:01:00,2,2.25,2,3\n"
                        "2019-07-01 00:02:00,,3,2.5,3.5\n"
                        "ds,y,yhat,yhat_lower,yhat_upper\n"
                        "2019-07-01 00:00:00,,1.5,,\n");
    free(t);
}

/* ---- strict readers (parse.h): every bad field refused whole, one message format ---------- */

/* Writes len bytes (NULs kept) to dir/name; returns the path (malloc'd). */
static char *write_bytes(const char *dir, const char *name, const char *b, size_t len)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert(f && fwrite(b, 1, len, f) == len);
    fclose(f);
    return p;
}

/* The ds,y reader refuses content; its message holds each '|'-separated part and is one line. */
static void fin_bad(const char *content, size_t len, const char *want_list)
{
    char *dir = hs_test_scratch("strict");
    char *p = write_bytes(dir, "in.csv", content, len);
    hs_forecast_input in;
    cr_assert_eq(hs_forecast_input_read(p, &in), HS_ERR_INPUT, "accepted: %s", want_list);
    const char *m = hs_error_message();
    cr_assert(!strchr(m, '\n'), "message spans lines: %s", m);
    cr_assert(strstr(m, "in.csv:"), "message lacks the file: %s", m);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", want_list);
    for (char *w = strtok(buf, "|"); w; w = strtok(NULL, "|"))
        cr_assert(strstr(m, w), "message lacks '%s': %s", w, m);
    free(p);
}
#define FIN_BAD(lit, want) fin_bad(lit, sizeof(lit) - 1, want)

Test(strict_reader, ds_y_long_field_not_cut)
{
    char t[200];
    int n = snprintf(t, sizeof t, "ds,y\n2020-01-01,1\n2020-01-02,1");
    memset(t + n, '0', 70);
    n += 70;
    n += snprintf(t + n, sizeof t - (size_t)n, "x\n");
    fin_bad(t, (size_t)n, "in.csv:3: column 2 (y): non-numeric value '1000000000000000000000000000000000000000...'");
}

Test(strict_reader, ds_y_huge_hex_and_nul)
{
    FIN_BAD("ds,y\n2020-01-01,1\n2020-01-02,1e200\n", ":3: column 2 (y): value outside|'1e200'");
    FIN_BAD("ds,y\n2020-01-01,1\n2020-01-02,0x10\n", ":3: column 2 (y): non-numeric value '0x10'");
    FIN_BAD("ds,y\n2020-01-01,8.04\0garbage\n2020-01-02,1\n", ":2: column 2 (y): NUL byte|'8.04\\x00garbage'");
    FIN_BAD("ds,y\n2020-01-01\0x,1\n2020-01-02,1\n", ":2: column 1 (ds)");
    FIN_BAD("ds\0,y\n2020-01-01,1\n2020-01-02,1\n", ":1: column 1 (ds): unexpected header 'ds\\x00'");
}

Test(strict_reader, duplicate_time_names_its_line)
{
    FIN_BAD("ds,y\n2020-01-01,1\n2020-01-02,2\n2020-01-01,3\n",
            "in.csv:4: column 1 (ds): time appears twice (also on line 2) '2020-01-01 00:00:00'");
}

Test(strict_reader, csv_errors_name_the_column_in_one_line)
{
    FIN_BAD("ds,y\n2020-01-01,1\n2020-01-02,\"1\"x\n", "in.csv:3: column 2 (y): malformed CSV");
    FIN_BAD("ds,y\n2020-01-01,1\n2020-01-02,\"1\nx\"\n", "in.csv:3: column 2 (y): non-numeric value '1\\nx'");
    FIN_BAD("ds,y\n2020-01-01,1\n2020-01-02,\"1\nx", ": column 2 (y): truncated last line|'1\\nx'");
    FIN_BAD("ds,y\n2020-01-01,1\n2020-01-02\n", "in.csv:3: column 2 (y): wrong column count");
}

Test(strict_reader, folder_given_as_a_file)
{
    char *dir = hs_test_scratch("strictdir");
    hs_forecast_input in;
    cr_assert_eq(hs_forecast_input_read(dir, &in), HS_ERR_INPUT);
    cr_assert(strstr(hs_error_message(), "is a folder"), "%s", hs_error_message());
    hs_series s;
    cr_assert_eq(hs_series_read_csv(dir, &s), HS_ERR_INPUT);
    cr_assert(strstr(hs_error_message(), "is a folder"), "%s", hs_error_message());
}

Test(strict_reader, series_csv_ranges)
{
    static const struct {
        const char *row, *want;
    } bad[] = {{"1,2019-07-01 00:01:00,1e200,1,0.69\n", ":3: column 3 (invocations): value outside"},
               {"1,2019-07-01 00:01:00,1,-1,0.69\n", ":3: column 4 (clipped): value outside"},
               {"1,2019-07-01 00:01:00,1,1,700\n", ":3: column 5 (log1p): value outside"},
               {"1.5,2019-07-01 00:01:00,1,1,0.69\n", ":3: column 1 (minute): non-numeric value '1.5'"},
               {"1,2019-07-01 00:01:00,0x1,1,0.69\n", ":3: column 3 (invocations): non-numeric value '0x1'"}};
    char *dir = hs_test_scratch("strictseries");
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char t[256];
        int n = snprintf(t, sizeof t, "minute,timestamp,invocations,clipped,log1p\n0,2019-07-01 00:00:00,1,1,0.69\n%s",
                         bad[k].row);
        char *p = write_bytes(dir, "series.csv", t, (size_t)n);
        hs_series s;
        cr_assert_eq(hs_series_read_csv(p, &s), HS_ERR_INPUT, "accepted %s", bad[k].row);
        cr_assert(strstr(hs_error_message(), bad[k].want), "%s", hs_error_message());
        hs_forecast_input in;
        cr_assert_eq(hs_forecast_input_read(p, &in), HS_ERR_INPUT, "forecast input accepted %s", bad[k].row);
        cr_assert(strstr(hs_error_message(), bad[k].want), "%s", hs_error_message());
        free(p);
    }
}

Test(strict_reader, forecast_rows_every_number_checked)
{
    char *dir = hs_test_scratch("strictrows");
    static const char *const bad[] = {"2019-07-01 00:00:00,1,0x10,1,2\n", "2019-07-01 00:00:00,1,2,1e300,2\n",
                                      "2019-07-01 00:00:00,1,2,1,inf\n"};
    static const char *const want[] = {"column 3 (yhat): non-numeric value '0x10'", "column 4 (yhat_lower): value outside",
                                       "column 5 (yhat_upper): non-numeric value 'inf'"};
    for (int k = 0; k < 3; k++) {
        char t[256];
        int n = snprintf(t, sizeof t, "ds,y,yhat,yhat_lower,yhat_upper\n%s", bad[k]);
        char *p = write_bytes(dir, "f.csv", t, (size_t)n);
        hs_fc_table ft;
        cr_assert_eq(hs_fc_table_read(p, &ft), HS_ERR_INPUT, "accepted %s", bad[k]);
        cr_assert(strstr(hs_error_message(), want[k]), "%s", hs_error_message());
        free(p);
    }
}

static int count_field(void *ctx, int col, const char *s, size_t len, int64_t line)
{
    (void)col, (void)s, (void)line;
    *(size_t *)ctx += len;
    return 0;
}
static int count_row(void *ctx, int ncols, int64_t line, int terminated)
{
    (void)ctx, (void)ncols, (void)line, (void)terminated;
    return 0;
}

/* A 2 MiB field: libcsv grew its buffer 128 bytes at a time (16384 reallocations, each a copy
 * under ASan: quadratic); now the step doubles. */
Test(strict_reader, long_field_parsed_in_linear_time)
{
    size_t n = (size_t)2 << 20;
    char *b = malloc(n + 16);
    memcpy(b, "a,b\n1,", 6);
    memset(b + 6, '7', n);
    memcpy(b + 6 + n, "\n", 1);
    char *dir = hs_test_scratch("strictlong");
    char *p = write_bytes(dir, "long.csv", b, n + 7);
    size_t total = 0;
    hs_csv_handlers h = {.ctx = &total, .field = count_field, .row = count_row, .stop_status = HS_OK};
    hs_csv_info info;
    cr_assert_eq(hs_csv_stream(p, &h, &info), HS_OK, "%s", hs_error_message());
    cr_assert_eq(total, n + 3);
    cr_assert_leq(info.field_grows, 32, "%lld growths for one 2 MiB field", (long long)info.field_grows);
    /* the same through a quoted field fed line by line (many short lines) */
    for (size_t i = 7; i < 6 + n; i += 64)
        b[i] = '\n';
    b[6] = '"';
    memcpy(b + 6 + n, "\"\n", 2);
    free(p);
    p = write_bytes(dir, "long.csv", b, n + 8);
    cr_assert_eq(hs_csv_stream(p, &h, &info), HS_OK, "%s", hs_error_message());
    cr_assert_leq(info.field_grows, 32, "%lld growths for one quoted 2 MiB field", (long long)info.field_grows);
    free(p);
    free(b);
}

/* The check every numeric writer calls before a row (learning curve, scaling_eval.csv, the
 * forecast8 tables, lstm_functions.csv): a non-finite number fails naming file, line, column. */
Test(outfiles, non_finite_numbers_are_named_not_written)
{
    static const char *const names[3] = {"loss", "entropy", "approx_kl"};
    double ok[3] = {0.5, -1e300, 0.0}, bad[3] = {0.5, NAN, 1.0}, inf[3] = {INFINITY, 0.0, 0.0};
    cr_assert_eq(hs_out_check_finite("c.csv", 4, 7, names, ok, 3), HS_OK);
    cr_assert_eq(hs_out_check_finite("c.csv", 4, 7, names, bad, 3), HS_ERR_INTERNAL);
    cr_expect(strstr(hs_error_message(), "c.csv:4: column 8 (entropy): non-finite value 'nan'"), "%s",
              hs_error_message());
    cr_assert_eq(hs_out_check_finite("c.csv", 9, 7, names, inf, 3), HS_ERR_INTERNAL);
    cr_expect(strstr(hs_error_message(), "c.csv:9: column 7 (loss): non-finite value 'inf'"), "%s",
              hs_error_message());
}
