/* test_trace.c: every trace layout read through `hyscale preprocess`, every bad-input case
 * (message naming file, line, column and value; exit 1; no output left), --skip-bad-rows
 * counts, and the real traces in shared/data. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/manifest.h"
#include "hyscale/math/rng.h"
#include "hyscale/series.h"

/* A day file in the 2019 layout with minutes [m0, m1] and rows "owner,app,func,trigger" each
 * with count = base + minute index (so values are checkable). */
static void write_2019_day(const char *path, int m0, int m1, const char *const *fns, const int *base, int nf)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("HashOwner,HashApp,HashFunction,Trigger", f);
    for (int m = m0; m <= m1; m++)
        fprintf(f, ",%d", m);
    fputc('\n', f);
    for (int i = 0; i < nf; i++) {
        fprintf(f, "o%s,a%s,%s,http", fns[i], fns[i], fns[i]);
        for (int m = m0; m <= m1; m++)
            fprintf(f, ",%d", base[i] + (m - m0));
        fputc('\n', f);
    }
    fclose(f);
}

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return hs_test_keep(p); /* the test's whole life: the helpers free it at exit */
}

static hs_series read_series(const char *outdir)
{
    char *p = path_in(outdir, "series.csv");
    hs_series s;
    hs_status st = hs_series_read_csv(p, &s);
    cr_assert_eq(st, HS_OK, "%s", hs_error_message());
    return s;
}

static cJSON *read_json(const char *outdir, const char *name)
{
    char *p = path_in(outdir, name);
    cJSON *j;
    cr_assert_eq(hs_json_read(p, &j), HS_OK, "%s", hs_error_message());
    return j;
}

static double jnum(const cJSON *j, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    cr_assert(cJSON_IsNumber(x), "missing number %s.%s", a, b ? b : "");
    return x->valuedouble;
}

/* ---- layouts ----------------------------------------------------------------------------- */

Test(layouts, azure2019_days_ordered_by_number_with_missing_functions_as_zero)
{
    char *dir = hs_test_scratch("l2019");
    char *d1 = path_in(dir, "invocations_per_function_md.anon.d01.csv");
    char *d2 = path_in(dir, "invocations_per_function_md.anon.d02.csv");
    const char *f1[] = {"A", "B"}, *f2[] = {"B"};
    int b1[] = {1, 10}, b2[] = {100};
    write_2019_day(d1, 1, 1440, f1, b1, 2);
    write_2019_day(d2, 1, 1440, f2, b2, 1);
    char *out = path_in(dir, "out");
    /* day 2 named first: the dNN number orders them */
    char *err;
    int rc = hs_test_run(&err, "preprocess", "--input", d2, d1, "--out", out, "--functions", "5", "--no-plot", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    hs_series s = read_series(out);
    cr_assert_eq(s.n, 2880);
    cr_assert_eq(s.step_seconds, 60);
    /* day 1 minute m (0-based): A = 1 + m, B = 10 + m; day 2: only B = 100 + m */
    cr_assert_float_eq(s.invocations[0], 11.0f, 0);
    cr_assert_float_eq(s.invocations[1439], 11.0f + 2 * 1439, 0);
    cr_assert_float_eq(s.invocations[1440], 100.0f, 0);
    cr_assert_float_eq(s.invocations[2879], 100.0f + 1439, 0);
    cJSON *j = read_json(out, "series.json");
    cr_assert_eq(jnum(j, "functions", "seen"), 2);
    cr_assert_eq(jnum(j, "functions", "kept"), 2);
    cr_assert_eq(jnum(j, "days", NULL), 2);
    cr_assert_eq(jnum(j, "gap_points", NULL), 0);
    cJSON_Delete(j);
    char *fcsv = path_in(out, "functions.csv");
    char *text = hs_test_read_file(fcsv, NULL);
    /* B: 2 days; total = sum(10+m) + sum(100+m) over m = 0..1439 */
    double tb = 1440.0 * 110 + 2 * (1439.0 * 1440 / 2);
    char want[128];
    snprintf(want, sizeof want, "0,B,aB,oB,http,%.0f,2880", tb);
    cr_assert(strstr(text, want), "functions.csv lacks '%s':\n%s", want, text);
    free(text);
    hs_series_free(&s);
    free(err);
}

Test(layouts, azure2019_partial_minute_columns_and_gap_days)
{
    char *dir = hs_test_scratch("lpart");
    char *d1 = path_in(dir, "x.d01.csv"), *d3 = path_in(dir, "x.d03.csv");
    const char *f[] = {"A"};
    int b[] = {5};
    write_2019_day(d1, 480, 482, f, b, 1);
    write_2019_day(d3, 480, 482, f, b, 1);
    char *out = path_in(dir, "out");
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", dir, "--out", out, "--no-plot", NULL), 0, "%s", err);
    hs_series s = read_series(out);
    /* from day 1 minute 480 to day 3 minute 482 */
    cr_assert_eq(s.n, 2 * 1440 + 3);
    cr_assert_float_eq(s.invocations[0], 5.0f, 0);
    cr_assert_float_eq(s.invocations[2], 7.0f, 0);
    cr_assert_float_eq(s.invocations[3], 0.0f, 0);
    cr_assert_float_eq(s.invocations[2 * 1440 + 2], 7.0f, 0);
    cJSON *j = read_json(out, "series.json");
    cr_assert_eq(jnum(j, "gap_points", NULL), s.n - 6);
    /* nominal start 2019-07-01 00:00 + 479 minutes */
    cr_assert_str_eq(cJSON_GetObjectItem(j, "start")->valuestring, "2019-07-01 07:59:00");
    cJSON_Delete(j);
    hs_series_free(&s);
    free(err);
}

Test(layouts, invitro_layout)
{
    char *dir = hs_test_scratch("lvitro");
    char *p = path_in(dir, "sample.csv");
    hs_test_write_file(p, "HashFunction,HashOwner,HashApp,minute_1,minute_2,minute_3\n"
                          "f1,f1,f1,1,0,2\n"
                          "f2,f2,f2,0,0,5\n");
    char *out = path_in(dir, "out");
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", p, "--out", out, "--no-plot", NULL), 0, "%s", err);
    hs_series s = read_series(out);
    cr_assert_eq(s.n, 3);
    float want[3] = {1, 0, 7};
    char msg[256];
    cr_assert(hs_test_close(s.invocations, want, 3, 0, 0, msg, sizeof msg), "%s", msg);
    hs_series_free(&s);
    free(err);
}

Test(layouts, azure2021_log_binned_by_start_minute)
{
    char *dir = hs_test_scratch("l2021");
    char *p = path_in(dir, "log.csv");
    /* starts: 0.5 s, 59.0 s (minute 0); 61 s (minute 1); 200 s (minute 3); last line unterminated */
    hs_test_write_file(p, "app,func,end_timestamp,duration\n"
                          "a,f,1.0,0.5\n"
                          "a,g,60.0,1.0\n"
                          "b,h,70.0,9.0\n"
                          "a,f,230.5,30.5");
    char *out = path_in(dir, "out");
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", p, "--out", out, "--no-plot", NULL), 0, "%s", err);
    hs_series s = read_series(out);
    cr_assert_eq(s.n, 4);
    float want[4] = {2, 1, 0, 1};
    char msg[256];
    cr_assert(hs_test_close(s.invocations, want, 4, 0, 0, msg, sizeof msg), "%s", msg);
    cJSON *j = read_json(out, "series.json");
    cr_assert_eq(jnum(j, "functions", "seen"), 3);
    cJSON_Delete(j);
    hs_series_free(&s);
    free(err);
}

Test(layouts, ds_y_with_gaps_and_quotes)
{
    char *dir = hs_test_scratch("ldsy");
    char *p = path_in(dir, "s.csv");
    hs_test_write_file(p, "\"ds\",\"y\"\n"
                          "\"2020-01-01 00:10:00\",3.5\n"
                          "\"2020-01-01 00:00:00\",1\n"
                          "2020-01-01 00:05:00,2\n"
                          "2020-01-01T00:20:00Z,4\n");
    char *out = path_in(dir, "out");
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", p, "--out", out, "--no-plot", NULL), 0, "%s", err);
    hs_series s = read_series(out);
    cr_assert_eq(s.n, 5);
    cr_assert_eq(s.step_seconds, 300);
    float want[5] = {1, 2, 3.5f, 0, 4};
    char msg[256];
    cr_assert(hs_test_close(s.invocations, want, 5, 0, 0, msg, sizeof msg), "%s", msg);
    cJSON *j = read_json(out, "series.json");
    cr_assert_eq(jnum(j, "gap_points", NULL), 1);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "start")->valuestring, "2020-01-01 00:00:00");
    cJSON_Delete(j);
    hs_series_free(&s);
    free(err);
}

Test(layouts, minute_invocations)
{
    char *dir = hs_test_scratch("lmin");
    char *p = path_in(dir, "s.csv");
    hs_test_write_file(p, "minute,invocations\n0,4\n1,5\n3,7\n");
    char *out = path_in(dir, "out");
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", p, "--out", out, "--no-plot", NULL), 0, "%s", err);
    hs_series s = read_series(out);
    float want[4] = {4, 5, 0, 7};
    char msg[256];
    cr_assert_eq(s.n, 4);
    cr_assert(hs_test_close(s.invocations, want, 4, 0, 0, msg, sizeof msg), "%s", msg);
    hs_series_free(&s);
    free(err);
}

Test(layouts, config_file_and_flag_override)
{
    char *dir = hs_test_scratch("lcfg");
    char *p = path_in(dir, "s.csv"), *cfg = path_in(dir, "c.json"), *out = path_in(dir, "out");
    hs_test_write_file(p, "minute,invocations\n0,4\n1,5\n");
    char text[1024];
    snprintf(text, sizeof text, "{\"input\": [\"%s\"], \"out\": \"%s/wrong\", \"no_plot\": true, \"quiet\": true}", p,
             dir);
    hs_test_write_file(cfg, text);
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--config", cfg, "--out", out, NULL), 0, "%s", err);
    free(err);
    cr_assert_eq(hs_test_count_entries(out), 3); /* series.csv, series.json, manifest.json */
    hs_test_write_file(cfg, "{\"bogus\": 1}");
    cr_assert_eq(hs_test_run(&err, "preprocess", "--config", cfg, NULL), 2);
    cr_assert(strstr(err, "unknown key 'bogus'"), "%s", err);
    free(err);
}

/* ---- bad input: one case per cause ------------------------------------------------------ */

typedef struct bad_case {
    const char *name;
    const char *text; /* file content */
    const char *want; /* substrings of the message, '|' separated */
} bad_case;

static const char hdr2019[] = "HashOwner,HashApp,HashFunction,Trigger,1,2,3\n";

static void check_bad(const char *content, const char *want_list, int skip_ok)
{
    char *dir = hs_test_scratch("bad");
    char *p = path_in(dir, "trace.d01.csv"), *out = path_in(dir, "out");
    hs_test_write_file(p, content);
    char *err;
    int rc = hs_test_run(&err, "preprocess", "--input", p, "--out", out, "--no-plot", NULL);
    cr_assert_eq(rc, 1, "exit %d for %s\nstderr: %s", rc, want_list, err);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", want_list);
    for (char *w = strtok(buf, "|"); w; w = strtok(NULL, "|"))
        cr_assert(strstr(err, w), "message lacks '%s': %s", w, err);
    cr_assert(strstr(err, "trace.d01.csv"), "message lacks the file: %s", err);
    cr_assert_eq(hs_test_count_entries(out), -1, "output folder was left behind");
    free(err);
    if (skip_ok) {
        rc = hs_test_run(&err, "preprocess", "--input", p, "--out", out, "--no-plot", "--skip-bad-rows", NULL);
        cr_assert_eq(rc, 0, "--skip-bad-rows still failed: %s", err);
        free(err);
    }
}

Test(bad_input, missing_header) { check_bad("a,b,c,1,2,3\nx,y,z,1,2,3\n", ":1:|unknown header", 0); }
Test(bad_input, unknown_header) { check_bad("foo,bar\n1,2\n", ":1:|unknown header|'foo", 0); }
Test(bad_input, empty_file) { check_bad("", "empty file", 0); }
Test(bad_input, header_only_series) { check_bad("minute,invocations\n", "no data rows", 0); }
Test(bad_input, broken_minute_run) { check_bad("HashOwner,HashApp,HashFunction,Trigger,1,2,4\n", ":1:|column 7|'4'", 0); }
Test(bad_input, wrong_column_count)
{
    char t[256];
    snprintf(t, sizeof t, "%so,a,f,http,1,2,3\no,a,g,http,1,2\n", hdr2019);
    check_bad(t, ":3:|wrong column count|expected 7|found 6", 1);
}
Test(bad_input, non_numeric)
{
    char t[256];
    snprintf(t, sizeof t, "%so,a,f,http,1,x2,3\n", hdr2019);
    check_bad(t, ":2:|column 6 (2)|non-numeric|'x2'", 1);
}
Test(bad_input, negative)
{
    char t[256];
    snprintf(t, sizeof t, "%so,a,f,http,1,2,-3\n", hdr2019);
    check_bad(t, ":2:|column 7 (3)|negative|'-3'", 1);
}
/* Found by fuzz_trace (a time-out): one row dated 1020 among 2020 rows asked for a series of
 * 105 million 5-minute points, minutes of work from a 104-byte file. Past HS_SERIES_MAX_SPAN the
 * input is refused at once, naming the span. */
Test(bad_input, a_wrong_year_does_not_make_a_century_of_zeros)
{
    check_bad("ds,y\n2020-01-01 00:10:00,3.5\n2020-01-01 00:05:00,2\n1020-01-01T02:20:00Z,4\n",
              "would span 105189959 points|1020-01-01 02:20:00 to 2020-01-01 00:10:00|is a date or the spacing wrong",
              0);
}

/* An id is kept whole or the row is bad: a 256-byte copy used to cut a long function id, so two
 * ids sharing their first 255 bytes merged into one function; a control byte is refused too. */
Test(bad_input, long_or_control_ids)
{
    char longid[301], t[1024];
    memset(longid, 'f', 300);
    longid[300] = '\0';
    snprintf(t, sizeof t, "%so,a,g,http,1,2,3\no,a,%s,http,1,2,3\n", hdr2019, longid);
    check_bad(t, ":3:|column 3 (HashFunction)|id longer than 255 bytes", 1);
    snprintf(t, sizeof t, "%so,a,g,http,1,2,3\no,a\tb,f,http,1,2,3\n", hdr2019);
    check_bad(t, ":3:|column 2 (HashApp)|control byte in an id", 1);
    snprintf(t, sizeof t, "app,func,end_timestamp,duration\na,f,10.0,1.0\n%s,f,10.0,1.0\n", longid);
    check_bad(t, ":3:|column 1|id longer than 255 bytes", 1);
}
/* Numbers are judged whole and in range (parse.h): a 64-byte copy used to cut the first,
 * 1e200 was accepted and gave inf, hex read as 16, a count past 2^32 had no range named. */
Test(bad_input, strict_numbers)
{
    char t[256];
    int n = snprintf(t, sizeof t, "ds,y\n2020-01-01,1");
    memset(t + n, '0', 70);
    snprintf(t + n + 70, sizeof t - (size_t)n - 70, "x\n");
    check_bad(t, ":2:|column 2 (y)|non-numeric|0000000000...'", 0);
    check_bad("ds,y\n2020-01-01,1e200\n", ":2:|column 2 (y)|value outside|'1e200'", 0);
    check_bad("ds,y\n2020-01-01,0x10\n", ":2:|column 2 (y)|non-numeric|'0x10'", 0);
    check_bad("app,func,end_timestamp,duration\na,f,1e300,1\n", ":2:|column 3 (end_timestamp)|value outside", 0);
    check_bad("minute,invocations\n0,4294967296\n", ":2:|column 2 (invocations)|value outside|'4294967296'", 0);
}
Test(bad_input, quoted_newline_in_one_line)
{
    check_bad("ds,y\n2020-01-01,\"1\nx\"\n", ":2:|column 2 (y)|non-numeric|'1\\nx'", 0);
    check_bad("ds,y\n2020-01-01,\"1\"x\n", ":2:|column 2 (y)|malformed CSV", 0);
}
Test(bad_input, fractional)
{
    char t[256];
    snprintf(t, sizeof t, "%so,a,f,http,1.5,2,3\n", hdr2019);
    check_bad(t, ":2:|column 5 (1)|fractional|'1.5'", 1);
}
Test(bad_input, duplicate_function_within_a_day)
{
    char t[256];
    snprintf(t, sizeof t, "%so,a,f,http,1,2,3\no,a,f,http,4,5,6\n", hdr2019);
    check_bad(t, ":3:|duplicate function id 'f'", 1);
}
Test(bad_input, truncated_last_line)
{
    char t[256];
    snprintf(t, sizeof t, "%so,a,f,http,1,2,3\no,a,g,http,1", hdr2019);
    check_bad(t, ":3:|truncated last line", 1);
}
Test(bad_input, unterminated_quote_at_end)
{
    char t[256];
    snprintf(t, sizeof t, "%so,a,f,http,1,2,3\n\"o,a", hdr2019);
    check_bad(t, "truncated last line", 0);
}
Test(bad_input, bad_timestamp) { check_bad("ds,y\n2020-01-01,1\n2020-13-01,2\n", ":3:|column 1 (ds)|'2020-13-01'", 1); }
Test(bad_input, duplicate_timestamp)
{
    check_bad("ds,y\n2020-01-01,1\n2020-01-02,2\n2020-01-01,3\n", ":4:|duplicate time '2020-01-01'", 1);
}
Test(bad_input, negative_duration_in_2021_log)
{
    check_bad("app,func,end_timestamp,duration\na,f,1.0,0.5\na,f,2.0,-1\n", ":3:|column 4 (duration)|'-1'", 1);
}
Test(bad_input, mixed_layouts)
{
    char *dir = hs_test_scratch("mixed");
    char *a = path_in(dir, "a.csv"), *b = path_in(dir, "b.csv"), *out = path_in(dir, "out");
    hs_test_write_file(a, "minute,invocations\n0,1\n");
    hs_test_write_file(b, "ds,y\n2020-01-01,1\n");
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", a, b, "--out", out, NULL), 1);
    cr_assert(strstr(err, "differs"), "%s", err);
    cr_assert_eq(hs_test_count_entries(out), -1);
    free(err);
}
Test(bad_input, usage_errors_exit_2)
{
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--out", "/tmp/x", NULL), 2);
    free(err);
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", "a", "--out", "b", "--functions", "many", NULL), 2);
    cr_assert(strstr(err, "'many'"), "%s", err);
    free(err);
    cr_assert_eq(hs_test_run(&err, "frobnicate", NULL), 2);
    free(err);
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", "/nonexistent.csv", "--out", "/tmp/hs_none", NULL), 1);
    cr_assert(strstr(err, "/nonexistent.csv"), "%s", err);
    free(err);
}

Test(bad_input, existing_outputs_survive_a_failed_run)
{
    char *dir = hs_test_scratch("keep");
    char *good = path_in(dir, "good.csv"), *bad = path_in(dir, "bad.csv"), *out = path_in(dir, "out");
    hs_test_write_file(good, "minute,invocations\n0,1\n1,2\n");
    hs_test_write_file(bad, "minute,invocations\n0,1\n1,x\n");
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", good, "--out", out, "--no-plot", NULL), 0, "%s", err);
    free(err);
    char *sp = path_in(out, "series.csv");
    char *before = hs_test_read_file(sp, NULL);
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", bad, "--out", out, "--no-plot", NULL), 1);
    free(err);
    char *after = hs_test_read_file(sp, NULL);
    cr_assert_str_eq(before, after, "a failed run changed an earlier output");
    cr_assert_eq(hs_test_count_entries(out), 3, "temporary files were left behind");
    free(before);
    free(after);
}

Test(skip_bad_rows, counts_by_cause_in_summary_and_files)
{
    char *dir = hs_test_scratch("skip");
    char *p = path_in(dir, "t.d01.csv"), *out = path_in(dir, "out");
    char t[512];
    snprintf(t, sizeof t,
             "%so,a,f,http,1,2,3\n"
             "o,a,g,http,1,2\n"   /* wrong column count */
             "o,a,h,http,1,x,3\n" /* non-numeric */
             "o,a,i,http,-1,0,3\n" /* negative */
             "o,a,j,http,1.5,0,3\n" /* fractional */
             "o,a,f,http,9,9,9\n" /* duplicate */
             "o,a,k,http,10,20,30\n"
             "o,a,l,http,1",        /* truncated */
             hdr2019);
    hs_test_write_file(p, t);
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", p, "--out", out, "--no-plot", "--skip-bad-rows", NULL), 0,
                 "%s", err);
    free(err);
    hs_series s = read_series(out);
    float want[3] = {11, 22, 33};
    char msg[256];
    cr_assert(hs_test_close(s.invocations, want, 3, 0, 0, msg, sizeof msg), "%s", msg);
    cJSON *j = read_json(out, "series.json");
    static const char *const causes[] = {"wrong_column_count", "non_numeric", "negative", "fractional",
                                         "duplicate_function", "truncated_last_line"};
    for (int c = 0; c < 6; c++)
        cr_assert_eq(jnum(j, "skipped_rows", causes[c]), 1, "%s", causes[c]);
    cr_assert_eq(jnum(j, "skipped_rows", "total"), 6);
    cJSON_Delete(j);
    j = read_json(out, "manifest.json");
    cJSON *me = cJSON_GetObjectItem(j, "metrics");
    cr_assert_eq(jnum(me, "skipped_rows", "total"), 6);
    cJSON_Delete(j);
    hs_series_free(&s);
}

/* ---- real data -------------------------------------------------------------------------- */

Test(real_data, azure2019_invitro_day_totals)
{
    const char *p = hs_test_shared_file("azure2019/invitro_1350fn_1day.csv");
    if (!p)
        cr_skip_test("shared data absent");
    char *dir = hs_test_scratch("real19"), *out = path_in(dir, "out");
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", p, "--out", out, NULL), 0, "%s", err);
    free(err);
    hs_series s = read_series(out);
    cr_assert_eq(s.n, 1440);
    double tot = 0, mn = 1e30, mx = 0;
    for (int64_t i = 0; i < s.n; i++) {
        tot += s.invocations[i];
        mn = fmin(mn, s.invocations[i]);
        mx = fmax(mx, s.invocations[i]);
    }
    /* shared/data/README.md: 927,272 invocations; per-minute totals 400..4,025, median 570 */
    cr_assert_eq(tot, 927272.0);
    cr_assert_eq(mn, 400.0);
    cr_assert_eq(mx, 4025.0);
    cr_assert_eq(hs_percentile(s.invocations, s.n, 50), 570.0);
    cJSON *j = read_json(out, "series.json");
    cr_assert_eq(jnum(j, "functions", "seen"), 1350);
    cr_assert_eq(jnum(j, "functions", "kept"), 100);
    cJSON_Delete(j);
    cr_assert_eq(hs_test_count_entries(out), 6);
    hs_series_free(&s);
}

Test(real_data, azure2021_first_rows)
{
    const char *p = hs_test_shared_file("azure2021/invitro_azure2021_200rows.csv");
    if (!p)
        cr_skip_test("shared data absent");
    char *dir = hs_test_scratch("real21"), *out = path_in(dir, "out");
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", p, "--out", out, "--no-plot", NULL), 0, "%s", err);
    free(err);
    hs_series s = read_series(out);
    /* binned independently with Python: floor((end - duration) / 60) */
    float want[21] = {42, 8, 6, 6, 7, 13, 6, 4, 6, 6, 34, 4, 7, 4, 6, 15, 3, 7, 6, 5, 4};
    char msg[256];
    cr_assert_eq(s.n, 21);
    cr_assert(hs_test_close(s.invocations, want, 21, 0, 0, msg, sizeof msg), "%s", msg);
    hs_series_free(&s);
}

Test(real_data, nasa_per_minute_ds_y)
{
    const char *p = hs_test_shared_file("web/nasa_http_1995_jul_per_minute.csv");
    if (!p)
        cr_skip_test("shared data absent");
    char *dir = hs_test_scratch("nasa"), *out = path_in(dir, "out");
    char *err;
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", p, "--out", out, "--no-plot", NULL), 0, "%s", err);
    free(err);
    hs_series s = read_series(out);
    cr_assert_eq(s.n, 39693);
    double tot = 0;
    for (int64_t i = 0; i < s.n; i++)
        tot += s.invocations[i];
    cr_assert_eq(tot, 1891713.0); /* summed independently with Python's csv module */
    hs_series_free(&s);
}

/* The fast line path (quote-free wide rows) and libcsv (rows with quotes) must agree. */
Test(layouts, fast_path_matches_libcsv_path)
{
    char *dir = hs_test_scratch("fast");
    const char *variants[3] = {"plain", "quoted", "crlf"};
    char *outs[3];
    for (int v = 0; v < 3; v++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s", dir, variants[v]);
        cr_assert_eq(hs_test_count_entries(sub), -1);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", sub);
        cr_assert_eq(system(cmd), 0);
        char *p = path_in(sub, "t.d01.csv");
        FILE *f = fopen(p, "w");
        const char *eol = v == 2 ? "\r\n" : "\n";
        fprintf(f, "HashOwner,HashApp,HashFunction,Trigger");
        for (int m = 1; m <= 60; m++)
            fprintf(f, ",%d", m);
        fputs(eol, f);
        hs_rng r = hs_rng_make(5, 0);
        for (int i = 0; i < 40; i++) {
            if (v == 1)
                fprintf(f, "\"o%d\",\"a%d\",\"f%d\",\"timer\"", i % 7, i % 11, i);
            else
                fprintf(f, "o%d,a%d,f%d,timer", i % 7, i % 11, i);
            for (int m = 1; m <= 60; m++)
                fprintf(f, ",%u", (unsigned)(hs_rng_next_u32(&r) % 1000) * (i % 3));
            fputs(eol, f);
        }
        fclose(f);
        outs[v] = path_in(sub, "out");
        char *err;
        cr_assert_eq(hs_test_run(&err, "preprocess", "--input", p, "--out", outs[v], "--functions", "10", "--no-plot",
                                 NULL),
                     0, "%s", err);
        free(err);
    }
    const char *files[] = {"series.csv", "functions.csv", "functions.safetensors"};
    for (int v = 1; v < 3; v++)
        for (int k = 0; k < 3; k++) {
            char *a = path_in(outs[0], files[k]), *b = path_in(outs[v], files[k]);
            size_t la, lb;
            char *ta = hs_test_read_file(a, &la), *tb = hs_test_read_file(b, &lb);
            cr_assert(ta && tb);
            cr_assert(la == lb && memcmp(ta, tb, la) == 0, "%s differs between plain and %s", files[k], variants[v]);
            free(ta);
            free(tb);
        }
}
