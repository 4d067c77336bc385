/* lstm_predict.c: recursive forecasts above the backend seam (lstm.h: hs_lstm_predict): the
 * backend's own one-end recursion where it has one, else windows in batches through its
 * forward, each step's forecasts fed back as the next inputs. */
#include <stdlib.h>

#include "backend/lstm_seam.h"
#include "hyscale/lstm.h"

hs_status hs_lstm_predict(hs_lstm *m, const hs_lstm_data *d, const int64_t *ends, int64_t nends, int steps, float pad,
                          float *out)
{
    const hs_lstm_config *c = hs_lstm_get_config(m);
    const hs_lstm_backend *be = m->backend ? m->backend : hs_lstm_backend_cpu();
    /* one end on a backend with its own recursion (the GPU's persistent launch); a shape it
     * declines goes the batched way below, any other failure is the caller's to see */
    if (nends == 1 && be->predict_one) {
        int declined = 0;
        HS_TRY(be->predict_one(m, d, ends[0], steps, pad, out, &declined));
        if (!declined)
            return HS_OK;
    }
    int N = c->models, W = c->window, K = c->horizon, B = c->batch, F = c->features;
    if (F != hs_lstm_features(d) || N != d->N)
        return hs_error_set(HS_ERR_USAGE, "lstm: the model has %d models of %d features, the data %d series of %d",
                            N, F, d->N, hs_lstm_features(d));
    /* per (model, window): the W inputs then the forecasts, values only */
    int64_t span = (int64_t)W + steps;
    float *buf = malloc((size_t)N * B * span * sizeof *buf), *x = malloc((size_t)N * W * B * F * sizeof *x);
    if (!buf || !x) {
        free(buf);
        free(x);
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for predictions");
    }
    hs_status st = HS_OK;
    for (int64_t w0 = 0; st == HS_OK && w0 < nends; w0 += B) {
        int nb = (int)(nends - w0 < B ? nends - w0 : B);
        for (int n = 0; n < N; n++)
            for (int b = 0; b < nb; b++)
                hs_lstm_window_values(d, n, ends[w0 + b], W, pad, buf + ((int64_t)n * B + b) * span);
        for (int s = 0; st == HS_OK && s < steps; s += K) {
            for (int n = 0; n < N; n++)
                for (int b = 0; b < nb; b++) {
                    int64_t e = ends[w0 + b];
                    const float *bb = buf + ((int64_t)n * B + b) * span + s;
                    for (int tau = 0; tau < W; tau++) {
                        float *f = x + (((int64_t)n * W + tau) * nb + b) * F;
                        f[0] = bb[tau]; /* actual, padding, or an earlier forecast */
                        hs_lstm_data_calendar(d, e - W + s + tau, f);
                    }
                }
            st = be->forward(m, x, nb);
            const float *y = hs_lstm_output(m);
            for (int n = 0; st == HS_OK && n < N; n++)
                for (int b = 0; b < nb; b++)
                    for (int k = 0; k < K && s + k < steps; k++) {
                        float v = y[((int64_t)n * nb + b) * K + k];
                        buf[((int64_t)n * B + b) * span + W + s + k] = v;
                        out[((int64_t)n * nends + w0 + b) * steps + s + k] = v;
                    }
        }
    }
    free(buf);
    free(x);
    return st;
}
