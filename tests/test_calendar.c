/* test_calendar.c: the calendar features, pinned. The LSTM's inputs (math/lstm_calendar.h) are
 * fixed by trained weights and the environment's observation entries 17..20 (math/env_step.h)
 * by ENV.md v1; both now go through math/calendar.h. The expected values below were printed by
 * the definitions before that change (bit patterns as hex floats), so any drift in either caller
 * fails here. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "hyscale/math/calendar.h"
#include "hyscale/math/env_step.h"
#include "hyscale/math/lstm_calendar.h"

/* Bit-exact: the pins are the old definitions' own outputs on this libm. */
static void hs_expect_bits(const float *got, const float *want, int n, const char *what, long long at)
{
    for (int k = 0; k < n; k++)
        cr_expect(memcmp(&got[k], &want[k], sizeof(float)) == 0, "%s at %lld, value %d: %a != %a", what, at, k,
                  (double)got[k], (double)want[k]);
}

Test(calendar, split_and_weekday)
{
    hs_cal_day d = hs_cal_split(-1, HS_CAL_SECONDS_PER_DAY);
    cr_expect_eq(d.day, -1);
    cr_expect_eq(d.within, 86399);
    d = hs_cal_split(1440 * 9 + 5, HS_CAL_MINUTES_PER_DAY);
    cr_expect_eq(d.day, 9);
    cr_expect_eq(d.within, 5);
    cr_expect_eq(hs_cal_weekday(0, HS_CAL_UNIX_WEEKDAY0), 3, "1970-01-01 was a Thursday");
    cr_expect_eq(hs_cal_weekday(18092, HS_CAL_UNIX_WEEKDAY0), 0, "2019-07-15 was a Monday");
    cr_expect_eq(hs_cal_weekday(-4, HS_CAL_UNIX_WEEKDAY0), 6, "1969-12-28 was a Sunday");
    cr_expect_eq(hs_cal_weekday(9, HS_CAL_SERIES_WEEKDAY0), 2);
}

Test(calendar, lstm_inputs_pinned)
{
    static const struct {
        int64_t start, step, t;
        float f[4];
    } pin[] = {
        {1563148800, 60, 0, {0x0p+0f, 0x1p+0f, 0x0p+0f, 0x1p+0f}},
        {1563148800, 60, 1439, {-0x1.1df42ep-8f, 0x1.fffecp-1f, 0x0p+0f, 0x1p+0f}},
        {1563148800, 60, 10203, {0x1.05c836p-1f, 0x1.b8041ep-1f, 0x0p+0f, 0x1p+0f}},
        {0, 60, 0, {0x0p+0f, 0x1p+0f, 0x1.bc4c04p-2f, -0x1.cd4bcap-1f}},
        {-259201, 1, 0, {-0x1.3104b6p-14f, 0x1p+0f, -0x1.904c38p-1f, 0x1.3f3a0ep-1f}},
        {-1, 60, -5, {-0x1.669b34p-6f, 0x1.ffe09ap-1f, 0x1.f329cp-1f, -0x1.c7b90ep-3f}},
        {1546300800, 3600, 170, {0x1p-1f, 0x1.bb67aep-1f, 0x1.904c38p-1f, 0x1.3f3a0ep-1f}},
        {1700000000, 300, 12345, {-0x1.ef812ep-1f, 0x1.01d4acp-2f, 0x1.f329cp-1f, -0x1.c7b90ep-3f}},
    };
    for (size_t i = 0; i < sizeof pin / sizeof pin[0]; i++) {
        float f[5] = {0};
        hs_lstm_calendar_at(pin[i].start, pin[i].step, pin[i].t, f);
        hs_expect_bits(f + 1, pin[i].f, 4, "lstm calendar", (long long)i);
    }
}

Test(calendar, env_time_features_pinned)
{
    static const struct {
        int64_t t;
        float f[4];
    } pin[] = {
        {0, {0x0p+0f, 0x1p+0f, 0x0p+0f, 0x1p+0f}},
        {1, {0x1.1df42ep-8f, 0x1.fffecp-1f, 0x0p+0f, 0x1p+0f}},
        {359, {0x1.fffecp-1f, 0x1.1df308p-8f, 0x0p+0f, 0x1p+0f}},
        {720, {-0x1.777a5cp-24f, -0x1p+0f, 0x0p+0f, 0x1p+0f}},
        {1439, {-0x1.1df4d6p-8f, 0x1.fffecp-1f, 0x0p+0f, 0x1p+0f}},
        {1440, {0x0p+0f, 0x1p+0f, 0x1.904c38p-1f, 0x1.3f3a0ep-1f}},
        {2000, {0x1.491b7p-1f, -0x1.8837p-1f, 0x1.904c38p-1f, 0x1.3f3a0ep-1f}},
        {9640, {-0x1.e11f66p-1f, -0x1.5e3a82p-2f, -0x1.904c3cp-1f, 0x1.3f3a0ap-1f}},
        {10080, {0x0p+0f, 0x1p+0f, 0x0p+0f, 0x1p+0f}},
        {20937, {-0x1.f81f46p-3f, -0x1.f03f08p-1f, 0x0p+0f, 0x1p+0f}},
        {123456789, {-0x1.5b8bc8p-1f, 0x1.77f91cp-1f, -0x1.bc4c06p-2f, -0x1.cd4bcap-1f}},
    };
    for (size_t i = 0; i < sizeof pin / sizeof pin[0]; i++) {
        float f[4];
        hs_env_time_features(pin[i].t, f);
        hs_expect_bits(f, pin[i].f, 4, "env time features", (long long)pin[i].t);
    }
}

/* FNV-1a over the bit patterns of many values, against the same digest of the old definitions:
 * four weeks of env minutes, and 40000 LSTM steps of 481 s (every time of day and weekday) from
 * 2013; the pins above cover times before 1970 (floor days). */
Test(calendar, digests_pinned)
{
    uint64_t h = 1469598103934665603ULL;
    for (int64_t t = 0; t < 4 * 10080; t++) {
        float f[4];
        hs_env_time_features(t, f);
        for (int k = 0; k < 4; k++) {
            uint32_t u;
            memcpy(&u, &f[k], 4);
            h = (h ^ u) * 1099511628211ULL;
        }
    }
    cr_expect_eq(h, 0x4a7b8e111ff2b2f3ULL, "env digest %llx", (unsigned long long)h);
    h = 1469598103934665603ULL;
    for (int64_t t = -20000; t < 20000; t++) {
        float f[5];
        hs_lstm_calendar_at(1563148800 - 7 * 86400 * 300, 37, t * 13, f);
        for (int k = 1; k < 5; k++) {
            uint32_t u;
            memcpy(&u, &f[k], 4);
            h = (h ^ u) * 1099511628211ULL;
        }
    }
    cr_expect_eq(h, 0x911b4135e15e0b10ULL, "lstm digest %llx", (unsigned long long)h);
}
