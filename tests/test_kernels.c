/* test_kernels.c: the forecast-metrics reduction (CPU, against a long-double reference, and the
 * six metrics of hs_metrics_report) and the device choice, which answers differently where a GPU
 * does (bench/gpu_check.sh runs this file on GPU machines). The LSTM kernels' parity tests are
 * test_lstm_cuda.c and test_lstm_recursive_cuda.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "hs_test.h"
#include "hyscale/backend.h"
#include "hyscale/math/rng.h"
#include "hyscale/metrics.h"

static void fill(float *y, float *yh, int64_t n, uint64_t seed)
{
    hs_rng r = hs_rng_make(seed, 0);
    for (int64_t i = 0; i < n; i++) {
        y[i] = (float)(1000 * hs_rng_next_double(&r));
        yh[i] = y[i] + (float)(50 * (hs_rng_next_double(&r) - 0.5));
    }
}

/* Reference in long double, one pair at a time. */
static void reference(const float *y, const float *yh, int64_t n, long double *a, long double *s)
{
    *a = 0;
    *s = 0;
    for (int64_t i = 0; i < n; i++) {
        long double e = (long double)y[i] - (long double)yh[i];
        *a += fabsl(e);
        *s += e * e;
    }
}

Test(errsum, cpu_matches_long_double_reference)
{
    int64_t sizes[] = {1, 7, 4096, 4097, 100003};
    for (int k = 0; k < 5; k++) {
        int64_t n = sizes[k];
        float *y = malloc((size_t)n * sizeof *y), *yh = malloc((size_t)n * sizeof *yh);
        fill(y, yh, n, 11 + (uint64_t)k);
        hs_errsum s;
        hs_metrics_errsum(y, yh, n, &s);
        long double a, q;
        reference(y, yh, n, &a, &q);
        /* double accumulation over <= 1e5 terms: relative error ~ n * 2^-53 ~ 1e-11 */
        cr_assert(fabsl(s.abs_sum - a) <= 1e-10L * a, "n %lld: %.17g vs %.17Lg", (long long)n, s.abs_sum, a);
        cr_assert(fabsl(s.sq_sum - q) <= 1e-10L * q, "n %lld: %.17g vs %.17Lg", (long long)n, s.sq_sum, q);
        free(y);
        free(yh);
    }
}

Test(errsum, metrics_report_values)
{
    float c[4] = {1, 2, 3, 4}, raw[4] = {1, 2, 3, 10}, yh[4] = {2, 2, 2, 2};
    hs_metrics m;
    cr_assert_eq(hs_metrics_report(c, raw, yh, 4, &m), HS_OK);
    cr_assert_float_eq(m.mae, 1.0, 1e-12);             /* (1+0+1+2)/4 */
    cr_assert_float_eq(m.rmse, sqrt(6.0 / 4), 1e-12);  /* (1+0+1+4)/4 */
    cr_assert_float_eq(m.mae_raw, 2.5, 1e-12);         /* (1+0+1+8)/4 */
    cr_assert_float_eq(m.rmse_raw, sqrt(66.0 / 4), 1e-12);
    double l = (fabs(log1p(1.0) - log1p(2.0)) + fabs(log1p(3.0) - log1p(2.0)) + fabs(log1p(4.0) - log1p(2.0))) / 4;
    cr_assert_float_eq(m.mae_log, l, 1e-6);
}

Test(device, resolve)
{
    hs_device d;
    cr_assert_eq(hs_device_resolve("cpu", &d), HS_OK);
    cr_assert_eq(d, HS_DEVICE_CPU);
    cr_assert_eq(hs_device_resolve("auto", &d), HS_OK);
    cr_assert_eq(d, hs_cuda_device_count() > 0 ? HS_DEVICE_CUDA : HS_DEVICE_CPU);
    cr_assert_eq(hs_device_resolve("tpu", &d), HS_ERR_USAGE);
    if (hs_cuda_device_count() == 0)
        cr_assert_eq(hs_device_resolve("cuda", &d), HS_ERR_DEVICE);
}
