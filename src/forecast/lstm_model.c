/* lstm_model.c: what is the model's (lstm.h, struct hs_lstm in backend/lstm_seam.h): the
 * parameter layout, PyTorch's initialisation, the parameter, gradient and Adam buffers and the
 * host output. Workspaces (activations, device copies) belong to the backends, which make them
 * on first use; the loss, clipping and Adam on the host buffers are the CPU backend's
 * (src/backend/cpu/lstm_cpu_steps.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/lstm_seam.h"
#include "hyscale/lstm.h"
#include "hyscale/math/rng.h"

int64_t hs_lstm_param_count(const hs_lstm_config *c)
{
    int64_t H = c->hidden, P = 0;
    for (int l = 0; l < c->layers; l++) {
        int64_t Fl = l == 0 ? c->features : H;
        P += 4 * H * Fl + 4 * H * H + 8 * H;
    }
    return P + (int64_t)c->horizon * H + c->horizon;
}

void hs_lstm_get_layout(const hs_lstm_config *c, hs_lstm_layout *lay)
{
    int64_t H = c->hidden, off = 0;
    memset(lay, 0, sizeof *lay);
    for (int l = 0; l < c->layers; l++) {
        int64_t Fl = l == 0 ? c->features : H;
        lay->w_ih[l] = off;
        off += 4 * H * Fl;
        lay->w_hh[l] = off;
        off += 4 * H * H;
        lay->b_ih[l] = off;
        off += 4 * H;
        lay->b_hh[l] = off;
        off += 4 * H;
    }
    lay->w_out = off;
    off += (int64_t)c->horizon * H;
    lay->b_out = off;
}

hs_status hs_lstm_init(const hs_lstm_config *c, uint64_t seed, hs_lstm **out)
{
    return hs_lstm_init_streams(c, seed, 0, out);
}

hs_status hs_lstm_init_streams(const hs_lstm_config *c, uint64_t seed, uint64_t first_stream, hs_lstm **out)
{
    *out = NULL;
    if (c->models < 1 || c->layers < 1 || c->layers > 2 || c->hidden < 1 || c->features < 1 || c->window < 1 ||
        c->horizon < 1 || c->batch < 1)
        return hs_error_set(HS_ERR_USAGE, "lstm: models, hidden, features, window, horizon and batch must be >= 1 "
                                          "and layers 1 or 2");
    hs_lstm *m = calloc(1, sizeof *m);
    if (!m)
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory");
    m->cfg = *c;
    m->impl = "cpu";
    m->P = hs_lstm_param_count(c);
    hs_lstm_get_layout(c, &m->lay);
    m->device = HS_DEVICE_CPU;
    int64_t N = c->models, H = c->hidden, B = c->batch, K = c->horizon;
    size_t np = (size_t)(N * m->P);
    m->params = calloc(np, sizeof(float));
    m->grads = calloc(np, sizeof(float));
    m->adam_m = calloc(np, sizeof(float));
    m->adam_v = calloc(np, sizeof(float));
    m->y = calloc((size_t)(N * B * K), sizeof(float));
    if (!m->params || !m->grads || !m->adam_m || !m->adam_v || !m->y) {
        int64_t P = m->P;
        hs_lstm_free(m);
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for %lld models of %lld parameters at batch %lld",
                            (long long)N, (long long)P, (long long)B);
    }
    /* PyTorch's default init for nn.LSTM and nn.Linear(H, K): every tensor U(-1/sqrt(H), 1/sqrt(H)) */
    float bound = 1.0f / sqrtf((float)H);
    for (int64_t n = 0; n < N; n++) {
        hs_rng r = hs_rng_make(seed, first_stream + (uint64_t)n);
        for (int64_t p = 0; p < m->P; p++)
            m->params[n * m->P + p] = (float)((2.0 * hs_rng_next_double(&r) - 1.0) * bound);
    }
    *out = m;
    return HS_OK;
}

void hs_lstm_free(hs_lstm *m)
{
    if (!m)
        return;
    hs_lstm_ws_release(m);
    free(m->params);
    free(m->grads);
    free(m->adam_m);
    free(m->adam_v);
    free(m->y);
    free(m);
}

const hs_lstm_config *hs_lstm_get_config(const hs_lstm *m) { return &m->cfg; }
float *hs_lstm_params(hs_lstm *m) { return m->params; }
float *hs_lstm_grads(hs_lstm *m) { return m->grads; }
const float *hs_lstm_output(const hs_lstm *m) { return m->y; }
const char *hs_lstm_impl_name(const hs_lstm *m) { return m->impl; }
hs_device hs_lstm_device(const hs_lstm *m) { return m->device; }
