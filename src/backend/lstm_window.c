/* lstm_window.c: the windows every LSTM backend reads, in one place: the feature count, the
 * calendar inputs (math/lstm_calendar.h, which the CUDA gather and forecast kernels use too),
 * the training windows the CPU steps gather, and the padded first window of a recursive
 * forecast (the CPU's batched prediction and the GPU's persistent launch start from it). */
#include "hyscale/lstm.h"
#include "hyscale/math/lstm_calendar.h"

int hs_lstm_features(const hs_lstm_data *d) { return d->calendar ? 5 : 1; }

void hs_lstm_data_calendar(const hs_lstm_data *d, int64_t t, float *f)
{
    if (d->calendar)
        hs_lstm_calendar_at(d->start_unix, d->step_seconds, t, f);
}

void hs_lstm_gather_window(const hs_lstm_data *d, int W, int B, int K, int b, int64_t e, float *x, float *target)
{
    int F = hs_lstm_features(d);
    for (int n = 0; n < d->N; n++) {
        const float *vals = d->v + (int64_t)n * d->M;
        for (int tau = 0; tau < W; tau++) {
            float *f = x + (((int64_t)n * W + tau) * B + b) * F;
            int64_t ti = e - W + tau;
            f[0] = ti >= 0 ? vals[ti] : 0.0f;
            hs_lstm_data_calendar(d, ti, f);
        }
        if (target)
            for (int k = 0; k < K; k++)
                target[((int64_t)n * B + b) * K + k] = vals[e + k];
    }
}

void hs_lstm_window_values(const hs_lstm_data *d, int n, int64_t e, int W, float pad, float *out)
{
    const float *vals = d->v + (int64_t)n * d->M;
    for (int tau = 0; tau < W; tau++) {
        int64_t ti = e - W + tau;
        out[tau] = ti < 0 ? pad : vals[ti]; /* e <= M: never a value at or after e */
    }
}
