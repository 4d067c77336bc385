/* test_profile_pareto.c: the numbers the plots draw, computed outside them: the mean daily and
 * weekly profiles of a series (profile.h, weekday origin Monday 00:00 UTC) and the Pareto front
 * with its NaN rule (pareto.h), and the Pareto plot drawing from given front flags. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hs_test.h"
#include "hyscale/pareto.h"
#include "hyscale/plot.h"
#include "hyscale/profile.h"

/* Two days of per-minute points whose clipped value is the minute of the day. */
static void make_days(hs_series *s, int64_t start_unix, int64_t days)
{
    s->n = days * 1440;
    s->step_seconds = 60;
    s->start_unix = start_unix;
    s->invocations = calloc((size_t)s->n, sizeof(float));
    s->clipped = calloc((size_t)s->n, sizeof(float));
    s->log1p = NULL;
    cr_assert(s->invocations && s->clipped);
    for (int64_t i = 0; i < s->n; i++)
        s->invocations[i] = s->clipped[i] = (float)(i % 1440);
}

Test(profile, daily_and_weekly_from_monday)
{
    hs_series s;
    make_days(&s, 1563148800, 2); /* Monday 2019-07-15 00:00 UTC */
    s.clipped[1] = NAN;           /* skipped: minute 1's mean comes from the second day alone */
    hs_series_profiles p;
    cr_assert_eq(hs_series_profiles_init(&p, &s), HS_OK);
    cr_expect_eq(p.daily.nb, 1440);
    cr_expect_eq(p.daily.filled, 1440);
    for (int64_t b = 0; b < 1440; b++)
        cr_expect_eq(p.daily.mean[b], (double)b, "daily bucket %lld: %g", (long long)b, p.daily.mean[b]);
    cr_expect_eq(p.weekly.nb, 168);
    cr_expect_eq(p.weekly.filled, 48, "Monday and Tuesday only");
    /* hour 0 of Monday lacks minute 1: (0 + 2 + ... + 59) / 59 */
    cr_expect_eq(p.weekly.mean[0], (1770.0 - 1.0) / 59.0);
    cr_expect_eq(p.weekly.mean[24], 29.5, "Tuesday 00:00-01:00");
    cr_expect_eq(p.weekly.mean[47], 1409.5, "Tuesday 23:00-24:00");
    cr_expect(isnan(p.weekly.mean[48]), "Wednesday is empty");
    hs_series_profiles_free(&p);
    hs_series_profiles_free(&p); /* freed twice is fine */
    free(s.invocations);
    free(s.clipped);
}

Test(profile, weekly_origin_is_monday)
{
    hs_series s;
    make_days(&s, 0, 1); /* 1970-01-01, a Thursday */
    hs_series_profiles p;
    cr_assert_eq(hs_series_profiles_init(&p, &s), HS_OK);
    cr_expect_eq(p.weekly.filled, 24);
    cr_expect(isnan(p.weekly.mean[71]));
    cr_expect_eq(p.weekly.mean[72], 29.5, "Thursday 00:00 is hour 72 of the week");
    hs_series_profiles_free(&p);
    free(s.invocations);
    free(s.clipped);
}

Test(profile, sparse_steps_and_empty_series)
{
    hs_series s = {.n = 0, .step_seconds = 7200, .start_unix = 0};
    hs_series_profiles p;
    cr_assert_eq(hs_series_profiles_init(&p, &s), HS_OK);
    cr_expect_eq(p.daily.nb, 12, "one bucket per 2-hour step");
    cr_expect_eq(p.weekly.nb, 84);
    cr_expect_eq(p.daily.filled, 0);
    cr_expect(isnan(p.daily.mean[0]));
    hs_series_profiles_free(&p);
}

Test(pareto, front_and_nan_rule)
{
    /* 0 and 1 trade off; 2 is dominated by 0; 3 ties 0 exactly (neither dominates); 4 has a NaN
     * and so is neither dominated nor dominating; 5 is infinite and dominated by 1. */
    const double x[6] = {1, 2, 3, 1, NAN, 3};
    const double y[6] = {2, 1, 3, 2, 0, INFINITY};
    unsigned char f[6];
    cr_expect_eq(hs_pareto_front(x, y, 6, f), 4);
    const unsigned char want[6] = {1, 1, 0, 1, 1, 0};
    for (int i = 0; i < 6; i++)
        cr_expect_eq(f[i], want[i], "point %d: %d", i, f[i]);
    cr_expect(hs_pareto_dominates(1, 1, 1, 2));
    cr_expect(!hs_pareto_dominates(1, 2, 1, 2));
    cr_expect(!hs_pareto_dominates(NAN, 0, 1, 1));
    cr_expect_eq(hs_pareto_front(x, y, 0, f), 0);
}

Test(pareto, lower_convex_hull)
{
    /* (0, 10) (1, 4) (2, 3.5) (3, 1) (4, 0.5) (6, 0.5) (5, 5) and a NaN: (2, 3.5) lies above the
     * segment from (1, 4) to (3, 1) (2.5 there), so a mix of those two beats it and it is not a
     * vertex; (6, 0.5) ties the least y further right; (5, 5) is dominated. */
    const double x[8] = {3, 0, 2, 1, 4, 6, 5, NAN}, y[8] = {1, 10, 3.5, 4, 0.5, 0.5, 5, 0};
    double hx[8], hy[8];
    int nh = hs_pareto_hull(x, y, 8, hx, hy);
    const double wx[4] = {0, 1, 3, 4}, wy[4] = {10, 4, 1, 0.5};
    cr_assert_eq(nh, 4);
    for (int k = 0; k < nh; k++)
        cr_expect(hx[k] == wx[k] && hy[k] == wy[k], "vertex %d: (%g, %g)", k, hx[k], hy[k]);
    cr_expect_float_eq(hs_pareto_hull_at(hx, hy, nh, 2), 2.5, 1e-12);
    cr_expect_float_eq(hs_pareto_hull_at(hx, hy, nh, 0.5), 7, 1e-12);
    cr_expect_float_eq(hs_pareto_hull_at(hx, hy, nh, 9), 0.5, 0);
    cr_expect(isnan(hs_pareto_hull_at(hx, hy, nh, -0.1)));
    cr_expect_eq(hs_pareto_hull(x, y, 0, hx, hy), 0);
    cr_expect(isnan(hs_pareto_hull_at(hx, hy, 0, 1)));
}

Test(pareto, plot_draws_given_front)
{
    const double x[4] = {0.1, 0.3, 0.2, NAN}, y[4] = {0.3, 0.1, 0.4, 0.2};
    const char *const labels[4] = {"a", "b", "c (dominated)", "d (NaN)"};
    const int hl[4] = {0, 1, 0, 0};
    unsigned char f[4];
    hs_pareto_front(x, y, 4, f);
    char *dir = hs_test_tmpdir("pareto");
    char path[4096];
    snprintf(path, sizeof path, "%s/pareto.png", dir);
    cr_expect_eq(hs_plot_pareto_png(path, "t", "x", "y", x, y, labels, hl, f, 4), HS_OK, "%s", hs_error_message());
    cr_expect(access(path, R_OK) == 0);
    unlink(path);
    rmdir(dir);
    free(dir);
}
