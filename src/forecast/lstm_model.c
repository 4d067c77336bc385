/* lstm_model.c: the LSTM's buffers, initialisation, loss, clipping and Adam: everything above
 * the backend seam that is not the training loop (lstm.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/lstm.h"
#include "hyscale/math/rng.h"
#include "lstm_internal.h"

#if defined(__linux__)
#include <stdint.h>
#include <sys/mman.h>
#endif

/* Asks for huge pages under a large activation buffer (a hint: nothing fails without them), as
 * forward and backward stream through all of it every step and 4 KiB pages miss the TLB. */
static void hs_lstm_advise_huge(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, e = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
    if (p && e > a)
        (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

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
    int64_t N = c->models, L = c->layers, H = c->hidden, W = c->window, B = c->batch, K = c->horizon;
    size_t np = (size_t)(N * m->P);
    m->params = calloc(np, sizeof(float));
    m->grads = calloc(np, sizeof(float));
    m->adam_m = calloc(np, sizeof(float));
    m->adam_v = calloc(np, sizeof(float));
    /* activations, per model and layer: gates (W, B, 4H), cell and hidden (W, B, H) */
    m->gates = calloc((size_t)(N * L * W * B * 4 * H), sizeof(float));
    m->cell = calloc((size_t)(N * L * W * B * H), sizeof(float));
    m->hid = calloc((size_t)(N * L * W * B * H), sizeof(float));
    hs_lstm_advise_huge(m->gates, (size_t)(N * L * W * B * 4 * H) * sizeof(float));
    hs_lstm_advise_huge(m->cell, (size_t)(N * L * W * B * H) * sizeof(float));
    hs_lstm_advise_huge(m->hid, (size_t)(N * L * W * B * H) * sizeof(float));
    m->y = calloc((size_t)(N * B * K), sizeof(float));
    /* backward scratch, per model */
    m->dx = calloc((size_t)(N * W * B * H), sizeof(float));
    m->dh = calloc((size_t)(N * B * H), sizeof(float));
    m->dc = calloc((size_t)(N * B * H), sizeof(float));
    m->zeros = calloc((size_t)(B * H), sizeof(float));
    if (!m->params || !m->grads || !m->adam_m || !m->adam_v || !m->gates || !m->cell || !m->hid || !m->y ||
        !m->dx || !m->dh || !m->dc || !m->zeros) {
        hs_lstm_free(m);
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for %lld models of %lld parameters at batch %lld",
                            (long long)N, (long long)m->P, (long long)B);
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
    if (m->steps_free)
        m->steps_free(m->steps);
    if (m->dev_free)
        m->dev_free(m->dev);
    free(m->params);
    free(m->grads);
    free(m->adam_m);
    free(m->adam_v);
    free(m->gates);
    free(m->cell);
    free(m->hid);
    free(m->y);
    free(m->dx);
    free(m->dh);
    free(m->dc);
    free(m->zeros);
    free(m);
}

const hs_lstm_config *hs_lstm_get_config(const hs_lstm *m) { return &m->cfg; }
float *hs_lstm_params(hs_lstm *m) { return m->params; }
float *hs_lstm_grads(hs_lstm *m) { return m->grads; }
const float *hs_lstm_output(const hs_lstm *m) { return m->y; }
const char *hs_lstm_impl_name(const hs_lstm *m) { return m->impl; }
hs_device hs_lstm_device(const hs_lstm *m) { return strcmp(m->impl, "cpu") ? HS_DEVICE_CUDA : HS_DEVICE_CPU; }

void hs_lstm_mse(const hs_lstm *m, const float *target, int B, float *loss, float *dy)
{
    int64_t N = m->cfg.models, K = m->cfg.horizon, cnt = (int64_t)B * K;
    for (int64_t n = 0; n < N; n++) {
        double s = 0;
        const float *y = m->y + n * B * K, *t = target + n * B * K;
        float *d = dy + n * B * K;
        for (int64_t i = 0; i < cnt; i++) {
            float e = y[i] - t[i];
            s += (double)e * e;
            d[i] = 2.0f * e / (float)cnt;
        }
        loss[n] = (float)(s / (double)cnt);
    }
}

void hs_lstm_clip_grad_norm(hs_lstm *m, float max_norm, float *norms)
{
    for (int64_t n = 0; n < m->cfg.models; n++) {
        float *g = m->grads + n * m->P;
        double s = 0;
        for (int64_t p = 0; p < m->P; p++)
            s += (double)g[p] * g[p];
        float norm = (float)sqrt(s);
        if (norms)
            norms[n] = norm;
        float coef = max_norm / (norm + 1e-6f);
        if (coef < 1.0f)
            for (int64_t p = 0; p < m->P; p++)
                g[p] *= coef;
    }
}

void hs_lstm_adam_step_masked(hs_lstm *m, const hs_adam_hparams *h, const unsigned char *active)
{
    m->adam_t++;
    float bc1 = 1.0f - powf(h->beta1, (float)m->adam_t);
    float sqrt_bc2 = sqrtf(1.0f - powf(h->beta2, (float)m->adam_t));
    for (int64_t n = 0; n < m->cfg.models; n++) {
        if (active && !active[n])
            continue;
        for (int64_t i = n * m->P; i < (n + 1) * m->P; i++)
            hs_adam_update(&m->params[i], &m->adam_m[i], &m->adam_v[i], m->grads[i], *h, bc1, sqrt_bc2);
    }
}

void hs_lstm_adam_step(hs_lstm *m, const hs_adam_hparams *h) { hs_lstm_adam_step_masked(m, h, NULL); }
