/* test_lstm_seam.c: the LSTM seam's contract (src/backend/lstm_seam.h), on the CPU: the one
 * table of implementation names, a model that holds no workspace until a backend runs and then
 * reports that backend's device, and hs_lstm_predict's use of a backend's optional one-end
 * forecast: a declined shape falls back to batched windows (the same numbers as the CPU), any
 * other failure reaches the caller. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/lstm_seam.h"
#include "hs_test.h"
#include "hyscale/lstm.h"

Test(lstm_seam, impl_names_round_trip_and_unknown_is_usage)
{
    for (int i = 0; i < HS_LSTM_IMPL_COUNT; i++) {
        hs_lstm_impl k = HS_LSTM_IMPL_COUNT;
        cr_assert_eq(hs_lstm_impl_parse(hs_lstm_impl_str((hs_lstm_impl)i), &k), HS_OK);
        cr_assert_eq((int)k, i);
    }
    hs_lstm_impl k;
    cr_assert_eq(hs_lstm_impl_parse("cpu", &k), HS_ERR_USAGE);
    cr_assert(strstr(hs_error_message(), "'cpu'"), "%s", hs_error_message());
    const hs_lstm_backend *be;
    cr_assert_eq(hs_lstm_backend_cuda("fastest", &be), HS_ERR_USAGE, "an unknown name is a usage error in any build");
    hs_device dev;
    cr_assert_eq(hs_lstm_pick_backend("cpu", "auto", 1, &be, &dev), HS_OK);
    cr_assert_eq(be, hs_lstm_backend_cpu());
    cr_assert_eq(be->device, HS_DEVICE_CPU);
    cr_assert_not_null(be->resident, "every backend fills the resident steps");
    cr_assert_eq(hs_lstm_pick_backend("cpu", "persistent", 1, &be, &dev), HS_ERR_USAGE);
}

static hs_lstm *small_model(void)
{
    hs_lstm_config c = {.models = 2, .layers = 1, .hidden = 8, .features = 1, .window = 6, .horizon = 2,
                        .batch = 4};
    hs_lstm *m;
    cr_assert_eq(hs_lstm_init(&c, 3, &m), HS_OK);
    return m;
}

Test(lstm_seam, the_model_holds_no_workspace_until_a_backend_runs)
{
    hs_lstm *m = small_model();
    cr_assert_null(m->ws, "no activation arena before a backend runs");
    cr_assert_eq(hs_lstm_device(m), HS_DEVICE_CPU);
    float x[2 * 6 * 4] = {0};
    cr_assert_eq(hs_lstm_backend_cpu()->forward(m, x, 4), HS_OK);
    cr_assert_not_null(m->ws);
    cr_assert_str_eq(hs_lstm_impl_name(m), "cpu");
    cr_assert_eq(hs_lstm_device(m), HS_DEVICE_CPU);
    hs_lstm_free(m);
}

/* A backend that is the CPU's but for an optional one-end forecast that declines or fails. */
static hs_status g_answer;
static int g_calls;
static hs_status fake_predict_one(hs_lstm *m, const hs_lstm_data *d, int64_t end, int steps, float pad, float *out,
                                  int *declined)
{
    (void)m, (void)d, (void)end, (void)steps, (void)pad, (void)out;
    g_calls++;
    *declined = g_answer == HS_OK;
    return g_answer == HS_OK ? HS_OK : hs_error_set(g_answer, "fake: the device failed");
}

Test(lstm_seam, only_a_declined_shape_falls_back)
{
    float v[2 * 40];
    for (int i = 0; i < 80; i++)
        v[i] = sinf(0.3f * (float)i);
    hs_lstm_data d = {.N = 2, .M = 40, .start_unix = 0, .step_seconds = 60, .v = v, .calendar = 0};
    int64_t end = 30;
    float ref[2 * 9], got[2 * 9];
    hs_lstm *m = small_model();
    cr_assert_eq(hs_lstm_predict(m, &d, &end, 1, 9, -0.5f, ref), HS_OK);

    hs_lstm_backend fake = *hs_lstm_backend_cpu();
    fake.name = "fake";
    fake.predict_one = fake_predict_one;
    m->backend = &fake;
    g_answer = HS_OK; /* declines */
    g_calls = 0;
    cr_assert_eq(hs_lstm_predict(m, &d, &end, 1, 9, -0.5f, got), HS_OK);
    cr_assert_eq(g_calls, 1);
    cr_assert_eq(memcmp(got, ref, sizeof ref), 0, "a declined shape runs the batched windows");

    g_answer = HS_ERR_DEVICE; /* fails */
    cr_assert_eq(hs_lstm_predict(m, &d, &end, 1, 9, -0.5f, got), HS_ERR_DEVICE, "a device error reaches the caller");
    cr_assert(strstr(hs_error_message(), "fake"), "%s", hs_error_message());

    int64_t ends[2] = {20, 30};
    g_calls = 0;
    float two[2 * 2 * 9];
    cr_assert_eq(hs_lstm_predict(m, &d, ends, 2, 9, -0.5f, two), HS_OK, "several ends never ask for one-end forecasts");
    cr_assert_eq(g_calls, 0);
    for (int n = 0; n < 2; n++)
        cr_assert_eq(memcmp(two + (n * 2 + 1) * 9, ref + n * 9, 9 * sizeof(float)), 0);
    m->backend = NULL;
    hs_lstm_free(m);
}
