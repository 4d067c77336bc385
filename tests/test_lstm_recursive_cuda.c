/* test_lstm_recursive_cuda.c: the one-launch recursive forecast on the GPU
 * (hs_lstm_predict_cuda, kernels/lstm_recursive.cu) against the CPU's hs_lstm_predict, from the
 * same seeded models (hs_lstm_init) and random normalised series. The GPU cases skip with a
 * message where no device answers; the refusals run everywhere.
 *
 * Tolerance, per element |gpu - cpu| <= tol * (1 + |cpu|):
 *   - the first 60 forecasts, tol = 2e-4. One window is W cell steps whose float32 dot products
 *     (length H, plus F or H inputs) the GPU sums in another order (8 slices, then a butterfly)
 *     with CUDA's expf/tanhf against glibc's vector ones (-ffast-math on the CPU): a forecast
 *     from the same inputs differs by ~1e-6, and the first W forecasts feed at most W of those
 *     differences back into the window.
 *   - the whole horizon, tol = 5e-3. After W steps every input of a window is an earlier
 *     forecast that already differs, and the differences compound through the recursion (1440
 *     steps in the longest case); the random-init models are contractive, so they stay well
 *     below this, while a wrong index (an input one step off, the pad or a calendar input
 *     missed, a wrong window's head) moves forecasts by much more from the first steps on.
 *   Measured on an H100: at most 3e-8 in every case below, over the whole horizon.
 * Determinism: two launches give the same bits (fixed summation order). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/backend.h"
#include "hyscale/lstm.h"
#include "hyscale/math/rng.h"

#define EARLY 60
#define TOL_EARLY 2e-4
#define TOL_ALL 5e-3

static int gpu_or_skip(void)
{
    if (hs_cuda_device_count() > 0)
        return 1;
    cr_skip_test("no CUDA device answers here (%s): the GPU-vs-CPU recursive forecast runs on a GPU machine",
                 hs_cuda_built() ? "CUDA build" : "build without CUDA");
    return 0;
}

/* N series of M points: two seasonal terms and noise, normalised per series (mean 0, std 1). */
static float *make_series(int N, int64_t M, uint64_t seed)
{
    float *v = malloc((size_t)N * (size_t)M * sizeof *v);
    cr_assert_not_null(v);
    hs_rng r = hs_rng_make(seed, 3);
    for (int n = 0; n < N; n++) {
        float *s = v + (int64_t)n * M;
        double mean = 0, sq = 0;
        for (int64_t t = 0; t < M; t++) {
            s[t] = (float)(sin(6.283185307179586 * (double)t / (50.0 + 7 * n)) +
                           0.5 * cos(6.283185307179586 * (double)t / 13.0) + 0.3 * (2 * hs_rng_next_double(&r) - 1));
            mean += s[t];
        }
        mean /= (double)M;
        for (int64_t t = 0; t < M; t++)
            sq += (s[t] - mean) * (s[t] - mean);
        double sd = sqrt(sq / (double)M);
        for (int64_t t = 0; t < M; t++)
            s[t] = (float)((s[t] - mean) / sd);
    }
    return v;
}

/* Largest |a - b| / (1 + |b|) over the first n forecasts of each of N models of `steps`. */
static double worst(const float *a, const float *b, int N, int steps, int n)
{
    double w = 0;
    for (int m = 0; m < N; m++)
        for (int i = 0; i < n && i < steps; i++) {
            int64_t k = (int64_t)m * steps + i;
            double e = fabs((double)a[k] - (double)b[k]) / (1.0 + fabs((double)b[k]));
            if (!(e <= w)) /* NaN wins */
                w = e;
        }
    return w;
}

typedef struct rec_case {
    const char *name;
    int N, L, H, W, K, calendar, steps;
    int64_t M;
    uint64_t seed;
} rec_case;

/* The GPU forecast from each end against the CPU's; returns the device seconds of the last. */
static double compare(const rec_case *rc, const int64_t *ends, int nends, float pad)
{
    hs_lstm_config cfg = {.models = rc->N, .layers = rc->L, .hidden = rc->H, .features = rc->calendar ? 5 : 1,
                          .window = rc->W, .horizon = rc->K, .batch = 1};
    hs_lstm *m;
    cr_assert_eq(hs_lstm_init(&cfg, rc->seed, &m), HS_OK, "%s", hs_error_message());
    float *v = make_series(rc->N, rc->M, rc->seed + 1);
    hs_lstm_data d = {.N = rc->N, .M = rc->M, .start_unix = 1700000000 + 37 * 60, .step_seconds = 60, .v = v,
                      .calendar = rc->calendar};
    size_t n = (size_t)rc->N * (size_t)rc->steps;
    float *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got), *again = malloc(n * sizeof *again);
    cr_assert(ref && got && again);
    double sec = 0;
    for (int e = 0; e < nends; e++) {
        int64_t end = ends[e];
        cr_assert_eq(hs_lstm_predict(m, &d, &end, 1, rc->steps, pad, ref), HS_OK, "%s", hs_error_message());
        memset(got, 0xff, n * sizeof *got); /* NaN: an element the kernel never writes fails */
        cr_assert_eq(hs_lstm_predict_cuda(m, &d, end, rc->steps, pad, got, &sec), HS_OK, "%s: %s", rc->name,
                     hs_error_message());
        double w_early = worst(got, ref, rc->N, rc->steps, EARLY), w_all = worst(got, ref, rc->N, rc->steps, rc->steps);
        fprintf(stderr, "%s, end %lld: worst |gpu - cpu| / (1 + |cpu|) %.3g (first %d), %.3g (all %d); %.3f ms\n",
                rc->name, (long long)end, w_early, EARLY, w_all, rc->steps, sec * 1e3);
        char msg[512];
        for (int k = 0; k < rc->N; k++) {
            const float *g = got + (int64_t)k * rc->steps, *r = ref + (int64_t)k * rc->steps;
            int early = rc->steps < EARLY ? rc->steps : EARLY;
            cr_assert(hs_test_close(g, r, early, TOL_EARLY, TOL_EARLY, msg, sizeof msg), "%s, end %lld, model %d: %s",
                      rc->name, (long long)end, k, msg);
            cr_assert(hs_test_close(g, r, rc->steps, TOL_ALL, TOL_ALL, msg, sizeof msg), "%s, end %lld, model %d: %s",
                      rc->name, (long long)end, k, msg);
        }
        cr_assert_eq(hs_lstm_predict_cuda(m, &d, end, rc->steps, pad, again, NULL), HS_OK, "%s", hs_error_message());
        cr_assert(!memcmp(got, again, n * sizeof *got), "%s: two launches differ", rc->name);
    }
    free(ref);
    free(got);
    free(again);
    free(v);
    hs_lstm_free(m);
    return sec;
}

/* The production shape: H = 64, one layer, one step at a time over a day of minutes from the
 * end of the series. Also the timing for the report (device time of the launch, warm). */
Test(lstm_recursive_cuda, h64_day_of_minutes)
{
    if (!gpu_or_skip())
        return;
    rec_case rc = {"H64 L1 K1 W60 1440 steps", 1, 1, 64, 60, 1, 0, 1440, 2000, 11};
    int64_t end = rc.M;
    compare(&rc, &end, 1, 0.0f);
    /* warm launches: the median of 5 */
    hs_lstm_config cfg = {.models = 1, .layers = 1, .hidden = 64, .features = 1, .window = 60, .horizon = 1,
                          .batch = 1};
    hs_lstm *m;
    cr_assert_eq(hs_lstm_init(&cfg, 11, &m), HS_OK);
    float *v = make_series(1, rc.M, 12), *out = malloc(1440 * sizeof *out);
    hs_lstm_data d = {.N = 1, .M = rc.M, .start_unix = 0, .step_seconds = 60, .v = v, .calendar = 0};
    double t[5];
    for (int i = 0; i < 5; i++)
        cr_assert_eq(hs_lstm_predict_cuda(m, &d, rc.M, 1440, 0.0f, out, &t[i]), HS_OK, "%s", hs_error_message());
    for (int i = 1; i < 5; i++)
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    fprintf(stderr, "H64 L1 K1 W60 1440 steps: %.3f ms median of 5 launches (min %.3f, max %.3f); goal < 5 ms\n",
            t[2] * 1e3, t[0] * 1e3, t[4] * 1e3);
    free(v);
    free(out);
    hs_lstm_free(m);
}

/* Two layers with the calendar inputs, three models in one launch. */
Test(lstm_recursive_cuda, h32_two_layers_calendar_three_models)
{
    if (!gpu_or_skip())
        return;
    rec_case rc = {"H32 L2 K1 W48 calendar N3", 3, 2, 32, 48, 1, 1, 200, 700, 21};
    int64_t end = 650;
    compare(&rc, &end, 1, 0.0f);
}

/* K = 8 values a step (100 forecasts: 12 full steps and a partial one), from inside the series:
 * end 40 < W reads 20 pads, end 300 only real values. */
Test(lstm_recursive_cuda, h64_horizon8_inside_the_series)
{
    if (!gpu_or_skip())
        return;
    rec_case rc = {"H64 L1 K8 W60", 1, 1, 64, 60, 8, 0, 100, 400, 31};
    int64_t ends[] = {40, 300, 1};
    compare(&rc, ends, 3, -0.75f);
}

/* The day-ahead default of the stage (hs_lstm_stage_resolve): calendar inputs (F = 5) and a
 * head of an hour's outputs (K = 60), a day of minutes from the end of the series: 24 steps. */
Test(lstm_recursive_cuda, h64_calendar_horizon60_day)
{
    if (!gpu_or_skip())
        return;
    rec_case rc = {"H64 L1 K60 W60 calendar 1440 steps", 1, 1, 64, 60, 60, 1, 1440, 3000, 41};
    int64_t ends[] = {3000, 1500};
    compare(&rc, ends, 2, -0.5f);
}

/* Shapes off the fast path's defaults: H = 96 (two passes of units, a part-filled warp) with a
 * long window (150 windows in flight over 8 blocks: 3 groups of 8 slots each), and H = 160 with
 * two layers, whose weights do not fit in shared memory (the fallback: packed into global
 * memory by a cluster of 3 blocks), K = 2 with a partial last step. */
Test(lstm_recursive_cuda, other_shapes_and_the_fallback)
{
    if (!gpu_or_skip())
        return;
    rec_case a = {"H96 L1 K1 W200 calendar", 2, 1, 96, 200, 1, 1, 150, 600, 41};
    int64_t end = 500;
    compare(&a, &end, 1, 0.0f);
    rec_case b = {"H160 L2 K2 W40 (weights in global memory)", 1, 2, 160, 40, 2, 0, 47, 300, 51};
    end = 300;
    compare(&b, &end, 1, 0.0f);
}

/* Runs everywhere: without a GPU (or a CUDA build) the call is a device error with a message,
 * never a crash; with one it works. */
Test(lstm_recursive_cuda, without_a_gpu_is_a_device_error)
{
    hs_lstm_config cfg = {.models = 1, .layers = 1, .hidden = 8, .features = 1, .window = 4, .horizon = 1,
                          .batch = 1};
    hs_lstm *m;
    cr_assert_eq(hs_lstm_init(&cfg, 1, &m), HS_OK);
    float v[16] = {0}, out[5];
    hs_lstm_data d = {.N = 1, .M = 16, .start_unix = 0, .step_seconds = 60, .v = v, .calendar = 0};
    hs_status st = hs_lstm_predict_cuda(m, &d, 16, 5, 0.0f, out, NULL);
    if (hs_cuda_device_count() > 0) {
        cr_assert_eq(st, HS_OK, "%s", hs_error_message());
    } else {
        cr_assert_eq(st, HS_ERR_DEVICE, "status %d: %s", (int)st, hs_error_message());
        cr_assert(strlen(hs_error_message()) > 0);
    }
    hs_lstm_free(m);
}

/* Runs in every CUDA build: the arguments are checked before any device is asked. */
Test(lstm_recursive_cuda, rejects_bad_arguments)
{
    if (!hs_cuda_built())
        cr_skip_test("this build has no CUDA backend: the call is a device error whatever its arguments");
    hs_lstm_config cfg = {.models = 2, .layers = 1, .hidden = 8, .features = 1, .window = 4, .horizon = 1,
                          .batch = 1};
    hs_lstm *m;
    cr_assert_eq(hs_lstm_init(&cfg, 1, &m), HS_OK);
    float v[32] = {0}, out[10];
    hs_lstm_data d = {.N = 2, .M = 16, .start_unix = 0, .step_seconds = 60, .v = v, .calendar = 0};
    cr_assert_eq(hs_lstm_predict_cuda(m, &d, 0, 5, 0.0f, out, NULL), HS_ERR_USAGE);
    cr_assert_eq(hs_lstm_predict_cuda(m, &d, 17, 5, 0.0f, out, NULL), HS_ERR_USAGE);
    cr_assert_eq(hs_lstm_predict_cuda(m, &d, 16, 0, 0.0f, out, NULL), HS_ERR_USAGE);
    d.calendar = 1; /* 5 features against the model's 1 */
    cr_assert_eq(hs_lstm_predict_cuda(m, &d, 16, 5, 0.0f, out, NULL), HS_ERR_USAGE);
    d.calendar = 0;
    d.N = 1;
    cr_assert_eq(hs_lstm_predict_cuda(m, &d, 16, 5, 0.0f, out, NULL), HS_ERR_USAGE);
    cr_assert(strstr(hs_error_message(), "lstm predict (cuda)") != NULL, "%s", hs_error_message());
    hs_lstm_free(m);
}
