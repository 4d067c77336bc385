/* test_plot.c: the PNG plot helpers (plot.h) write readable PNGs, several per process, and
 * report an unwritable path as HS_ERR_IO instead of letting PLplot exit the process.
 *
 * The series is built here with calloc (not hs_series_init) so this test depends on plot.c and
 * the profiles it draws (profile.c) only.
 * Set HS_TEST_KEEP=1 to keep the PNGs (the folders are printed) and look at them.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hs_test.h"
#include "hyscale/math/rng.h"
#include "hyscale/plot.h"
#include "hyscale/profile.h"
#include "hyscale/progress.h"

/* Under HS_SANITIZE, LeakSanitizer reports the caches that fontconfig and pango keep for the
 * life of the process (allocated on the first text PLplot draws, not per plot); this hook, read
 * by LSan when it is linked in and ignored otherwise, keeps those out of the report. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\nleak:libpango-1.0.so\nleak:libpangoft2-1.0.so\nleak:libpangocairo-1.0.so\n";
}

const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}

/* A PNG of 1400x900 with text and lines compresses to well over this; an empty or broken
 * render (background only) is a few kB. */
#define HS_PLOT_MIN_BYTES 10000

/* days of per-minute data (step 60 s) from Monday 2019-07-15 00:00 UTC: a daily cycle, a weaker
 * weekend, noise and a spike every 1000 minutes that the "clipping" brings back to the base. */
static void make_series(hs_series *s, int64_t days, int64_t step)
{
    s->n = days * 86400 / step;
    s->step_seconds = step;
    s->start_unix = 1563148800;
    s->invocations = calloc((size_t)s->n, sizeof(float));
    s->clipped = calloc((size_t)s->n, sizeof(float));
    s->log1p = calloc((size_t)s->n, sizeof(float));
    cr_assert(s->invocations && s->clipped && s->log1p);
    for (int64_t i = 0; i < s->n; i++) {
        double t = (double)(i * step);
        double day = fmod(t / 86400.0, 7.0);
        double base = 200 + 120 * sin(2 * M_PI * t / 86400.0) - (day >= 5 ? 80 : 0);
        base += 20 * (hs_rng_uniform(7, 0, (uint32_t)i, 0) - 0.5);
        s->clipped[i] = (float)base;
        s->invocations[i] = (float)(i % 1000 == 500 ? base + 900 : base);
        s->log1p[i] = log1pf(s->clipped[i]);
    }
}

/* hs_plot_series_png with the profiles computed as the preprocessing stage does. */
static hs_status plot_series(const char *path, const hs_series *s, const char *title)
{
    hs_series_profiles prof;
    hs_status st = hs_series_profiles_init(&prof, s);
    cr_assert_eq(st, HS_OK, "%s", hs_error_message());
    st = hs_plot_series_png(path, s, &prof, title);
    hs_series_profiles_free(&prof);
    return st;
}

static void free_series(hs_series *s)
{
    free(s->invocations);
    free(s->clipped);
    free(s->log1p);
}

static void check_png(const char *path)
{
    size_t len = 0;
    char *b = hs_test_read_file(path, &len);
    cr_assert_not_null(b, "%s was not written", path);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    cr_expect(len >= 8 && memcmp(b, sig, 8) == 0, "%s does not start with the PNG signature", path);
    cr_expect(len > HS_PLOT_MIN_BYTES, "%s is only %zu bytes", path, len);
    free(b);
}

/* Removes the test's folder and its files, unless HS_TEST_KEEP is set; frees dir. */
static void done_dir(char *dir)
{
    const char *keep = getenv("HS_TEST_KEEP");
    if (keep && *keep && strcmp(keep, "0") != 0) {
        fprintf(stderr, "kept %s\n", dir);
        free(dir);
        return;
    }
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                unlink(path);
            }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

Test(plot, series_png)
{
    char *dir = hs_test_tmpdir("plot");
    hs_series s;
    make_series(&s, 8, 60);
    char *path = join(dir, "series.png");
    hs_status st = plot_series(path, &s, "synthetic 8 days");
    cr_assert_eq(st, HS_OK, "%s", hs_error_message());
    check_png(path);
    free(path);
    free_series(&s);
    done_dir(dir);
}

Test(plot, series_png_sparse_and_short)
{
    /* 5-minute steps over 3 days: profiles bucket by time, the weekly panel is partial. */
    char *dir = hs_test_tmpdir("plot");
    hs_series s;
    make_series(&s, 3, 300);
    char *path = join(dir, "short.png");
    hs_status st = plot_series(path, &s, "3 days at 5 min");
    cr_assert_eq(st, HS_OK, "%s", hs_error_message());
    check_png(path);
    free(path);
    free_series(&s);
    done_dir(dir);
}

Test(plot, series_png_odd_inputs)
{
    /* hourly points over 10 days with a gap of NaNs and a flat zero stretch: one bucket per
     * hour in both profiles, lines break at the gap, nothing fails. */
    char *dir = hs_test_tmpdir("plot");
    hs_series s;
    make_series(&s, 10, 3600);
    for (int64_t i = 30; i < 40; i++)
        s.invocations[i] = s.clipped[i] = NAN;
    for (int64_t i = 100; i < 150; i++)
        s.invocations[i] = s.clipped[i] = 0;
    char *path = join(dir, "hourly.png");
    hs_status st = plot_series(path, &s, "hourly with gaps");
    cr_assert_eq(st, HS_OK, "%s", hs_error_message());
    check_png(path);
    free(path);
    free_series(&s);
    done_dir(dir);
}

Test(plot, series_png_14_days_is_fast)
{
    char *dir = hs_test_tmpdir("plot");
    hs_series s;
    make_series(&s, 14, 60);
    char *path = join(dir, "long.png");
    double t0 = hs_time_now();
    hs_status st = plot_series(path, &s, "14 days");
    double el = hs_time_now() - t0;
    cr_assert_eq(st, HS_OK, "%s", hs_error_message());
    check_png(path);
    /* The budget is ~1 s on a developer machine; 5 s leaves room for a loaded CI runner. */
    cr_expect(el < 5.0, "a 14-day series plot took %.2f s", el);
    free(path);
    free_series(&s);
    done_dir(dir);
}

Test(plot, lines_png)
{
    enum { N = 500 };
    char *dir = hs_test_tmpdir("plot");
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *z = malloc(N * sizeof *z);
    for (int i = 0; i < N; i++) {
        x[i] = i;
        y[i] = 100 + 50 * sin(i / 40.0);
        z[i] = 100 + 45 * sin(i / 40.0 + 0.1);
    }
    z[250] = NAN; /* a gap: the line breaks, nothing fails */
    hs_plot_line ln[2] = {{x, y, N, "actual", HS_COLOR_BLACK}, {x, z, N, "fit", HS_COLOR_BLUE}};
    char *path = join(dir, "lines.png");
    hs_status st = hs_plot_lines_png(path, "two lines", "minute", "invocations", ln, 2);
    cr_assert_eq(st, HS_OK, "%s", hs_error_message());
    check_png(path);
    free(path);
    free(x);
    free(y);
    free(z);
    done_dir(dir);
}

Test(plot, forecast_png)
{
    enum { NA = 2000, NF = 240 };
    char *dir = hs_test_tmpdir("plot");
    double *x = malloc(NA * sizeof *x), *y = malloc(NA * sizeof *y);
    double *xf = malloc(NF * sizeof *xf), *yf = malloc(NF * sizeof *yf);
    double *lo = malloc(NF * sizeof *lo), *hi = malloc(NF * sizeof *hi);
    for (int i = 0; i < NA; i++) {
        x[i] = i;
        y[i] = 100 + 50 * sin(i / 60.0) + 10 * (hs_rng_uniform(3, 0, (uint32_t)i, 0) - 0.5);
    }
    for (int k = 0; k < NF; k++) {
        int i = NA - NF + k;
        xf[k] = i;
        yf[k] = 100 + 48 * sin(i / 60.0 + 0.05);
        lo[k] = yf[k] - 8 - 0.05 * k;
        hi[k] = yf[k] + 8 + 0.05 * k;
    }
    char *path = join(dir, "forecast.png");
    hs_status st = hs_plot_forecast_png(path, "synthetic model", x, y, NA, xf, yf, lo, hi, NF);
    cr_assert_eq(st, HS_OK, "%s", hs_error_message());
    check_png(path);
    char *path2 = join(dir, "forecast_noband.png");
    st = hs_plot_forecast_png(path2, "no band", x, y, NA, xf, yf, NULL, NULL, NF);
    cr_assert_eq(st, HS_OK, "%s", hs_error_message());
    check_png(path2);
    free(path);
    free(path2);
    free(x);
    free(y);
    free(xf);
    free(yf);
    free(lo);
    free(hi);
    done_dir(dir);
}

Test(plot, many_plots_in_one_process)
{
    char *dir = hs_test_tmpdir("plot");
    hs_series s;
    make_series(&s, 2, 60);
    for (int k = 0; k < 6; k++) {
        char name[32];
        snprintf(name, sizeof name, "p%d.png", k);
        char *path = join(dir, name);
        hs_status st = plot_series(path, &s, name);
        cr_assert_eq(st, HS_OK, "plot %d: %s", k, hs_error_message());
        check_png(path);
        free(path);
    }
    free_series(&s);
    done_dir(dir);
}

Test(plot, unwritable_path_is_io_error)
{
    hs_series s;
    make_series(&s, 1, 60);
    const char *bad = "/nonexistent-hyscale-dir/sub/plot.png";
    hs_status st = plot_series(bad, &s, "x");
    cr_expect_eq(st, HS_ERR_IO);
    cr_expect(strstr(hs_error_message(), bad) != NULL, "message does not name the path: %s", hs_error_message());

    double x[2] = {0, 1}, y[2] = {1, 2};
    hs_plot_line ln = {x, y, 2, "a", HS_COLOR_RED};
    cr_expect_eq(hs_plot_lines_png(bad, "t", "x", "y", &ln, 1), HS_ERR_IO);
    cr_expect_eq(hs_plot_forecast_png(bad, "t", x, y, 2, x, y, y, y, 2), HS_ERR_IO);

    /* and plotting still works afterwards in the same process */
    char *dir = hs_test_tmpdir("plot");
    char *path = join(dir, "after.png");
    cr_expect_eq(plot_series(path, &s, "after an error"), HS_OK, "%s", hs_error_message());
    free(path);
    done_dir(dir);
    free_series(&s);
}

Test(plot, empty_series_is_input_error)
{
    hs_series s = {0};
    s.step_seconds = 60;
    cr_expect_eq(plot_series("/tmp/hs_plot_never.png", &s, "empty"), HS_ERR_INPUT);
}
