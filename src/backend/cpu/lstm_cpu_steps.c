/* lstm_cpu_steps.c: the rest of the CPU LSTM backend around forward and backward (lstm_cpu.c):
 * its workspace, the loss, gradient clipping and Adam on the host buffers (lstm.h), and the
 * training loop's resident steps (lstm_seam.h) over host memory: windows are gathered here
 * (lstm_window.c) and go through the CPU's forward and backward. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/math/clip.h"
#include "lstm_cpu.h"

#if defined(__linux__)
#include <stdint.h>
#include <sys/mman.h>
#endif

/* Asks for huge pages under a large activation buffer (a hint: nothing fails without them), as
 * forward and backward stream through all of it every step and 4 KiB pages miss the TLB. */
static void hs_advise_huge(void *p, size_t bytes)
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

static void hs_steps_free(hs_lstm_cpu_steps *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->t);
    free(s->dy);
    free(s->loss);
    free(s->best);
    free(s->tr);
    free(s->va);
    free(s->active);
    free(s->ends);
    free(s);
}

void hs_lstm_cpu_ws_free(void *p)
{
    hs_lstm_cpu_ws *w = p;
    if (!w)
        return;
    hs_steps_free(w->steps);
    free(w->gates);
    free(w->cell);
    free(w->hid);
    free(w->dx);
    free(w->dh);
    free(w->dc);
    free(w->zeros);
    free(w);
}

hs_status hs_lstm_cpu_ws_get(hs_lstm *m, hs_lstm_cpu_ws **out)
{
    if (m->ws_free == hs_lstm_cpu_ws_free) {
        if (out)
            *out = m->ws;
        return HS_OK;
    }
    hs_lstm_ws_release(m);
    const hs_lstm_config *c = &m->cfg;
    int64_t N = c->models, L = c->layers, H = c->hidden, W = c->window, B = c->batch;
    hs_lstm_cpu_ws *w = calloc(1, sizeof *w);
    if (!w)
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory");
    m->ws = w;
    m->ws_free = hs_lstm_cpu_ws_free;
    m->impl = "cpu";
    m->device = HS_DEVICE_CPU;
    /* activations, per model and layer: gates (W, B, 4H), cell and hidden (W, B, H) */
    size_t ng = (size_t)(N * L * W * B * 4 * H), nh = (size_t)(N * L * W * B * H);
    w->gates = calloc(ng, sizeof(float));
    w->cell = calloc(nh, sizeof(float));
    w->hid = calloc(nh, sizeof(float));
    hs_advise_huge(w->gates, ng * sizeof(float));
    hs_advise_huge(w->cell, nh * sizeof(float));
    hs_advise_huge(w->hid, nh * sizeof(float));
    /* backward scratch, per model */
    w->dx = calloc((size_t)(N * W * B * H), sizeof(float));
    w->dh = calloc((size_t)(N * B * H), sizeof(float));
    w->dc = calloc((size_t)(N * B * H), sizeof(float));
    w->zeros = calloc((size_t)(B * H), sizeof(float));
    if (!w->gates || !w->cell || !w->hid || !w->dx || !w->dh || !w->dc || !w->zeros) {
        hs_lstm_ws_release(m);
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for the activations of %lld models at batch %lld",
                            (long long)N, (long long)B);
    }
    if (out)
        *out = w;
    return HS_OK;
}

/* ---- the loss, clipping and Adam on the host buffers (lstm.h) ------------------------------ */

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
        float coef = hs_clip_coef(norm, max_norm);
        if (coef < 1.0f)
            for (int64_t p = 0; p < m->P; p++)
                g[p] *= coef;
    }
}

void hs_lstm_adam_step_masked(hs_lstm *m, const hs_adam_hparams *h, const unsigned char *active)
{
    m->adam_t++;
    float bc1, sqrt_bc2;
    hs_adam_bias(*h, m->adam_t, &bc1, &sqrt_bc2);
    for (int64_t n = 0; n < m->cfg.models; n++) {
        if (active && !active[n])
            continue;
        for (int64_t i = n * m->P; i < (n + 1) * m->P; i++)
            hs_adam_update(&m->params[i], &m->adam_m[i], &m->adam_v[i], m->grads[i], *h, bc1, sqrt_bc2);
    }
}

void hs_lstm_adam_step(hs_lstm *m, const hs_adam_hparams *h) { hs_lstm_adam_step_masked(m, h, NULL); }

/* ---- the resident steps over host memory ---------------------------------------------------- */

static hs_lstm_cpu_steps *hs_steps(hs_lstm *m)
{
    HS_ASSERT(m->ws_free == hs_lstm_cpu_ws_free && HS_WS(m)->steps); /* bind came first */
    return HS_WS(m)->steps;
}

static hs_status hs_cpu_bind(hs_lstm *m, const hs_lstm_data *d, int64_t max_ends)
{
    const hs_lstm_config *c = &m->cfg;
    int64_t N = c->models, W = c->window, B = c->batch, F = c->features, K = c->horizon;
    hs_lstm_cpu_ws *w;
    HS_TRY(hs_lstm_cpu_ws_get(m, &w));
    hs_steps_free(w->steps);
    hs_lstm_cpu_steps *s = w->steps = calloc(1, sizeof *s);
    if (!s)
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for training");
    s->d = d;
    s->max_ends = max_ends;
    s->x = malloc((size_t)(N * W * B * F) * sizeof *s->x);
    s->t = malloc((size_t)(N * B * K) * sizeof *s->t);
    s->dy = malloc((size_t)(N * B * K) * sizeof *s->dy);
    s->loss = malloc((size_t)N * sizeof *s->loss);
    s->best = malloc((size_t)(N * m->P) * sizeof *s->best);
    s->tr = calloc((size_t)N, sizeof *s->tr);
    s->va = calloc((size_t)N, sizeof *s->va);
    s->active = malloc((size_t)N);
    s->ends = malloc((size_t)(max_ends > 0 ? max_ends : 1) * sizeof *s->ends);
    if (!s->x || !s->t || !s->dy || !s->loss || !s->best || !s->tr || !s->va || !s->active || !s->ends)
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for training");
    memset(s->active, 1, (size_t)N);
    memcpy(s->best, m->params, (size_t)(N * m->P) * sizeof *s->best);
    return HS_OK;
}

static hs_status hs_cpu_set_ends(hs_lstm *m, const int64_t *ends, int64_t n)
{
    hs_lstm_cpu_steps *s = hs_steps(m);
    if (n > s->max_ends)
        return hs_error_set(HS_ERR_USAGE, "lstm: %lld window ends, room for %lld", (long long)n,
                            (long long)s->max_ends);
    memcpy(s->ends, ends, (size_t)n * sizeof *ends);
    return HS_OK;
}

static hs_status hs_cpu_train(hs_lstm *m, int64_t first, int nb, float clip, const hs_adam_hparams *h)
{
    hs_lstm_cpu_steps *s = hs_steps(m);
    const hs_lstm_config *c = &m->cfg;
    const hs_lstm_backend *be = hs_lstm_backend_cpu();
    for (int b = 0; b < nb; b++)
        hs_lstm_gather_window(s->d, c->window, nb, c->horizon, b, s->ends[first + b], s->x, s->t);
    HS_TRY(be->forward(m, s->x, nb));
    hs_lstm_mse(m, s->t, nb, s->loss, s->dy);
    HS_TRY(be->backward(m, s->dy, nb));
    hs_lstm_clip_grad_norm(m, clip, NULL);
    hs_lstm_adam_step_masked(m, h, s->active);
    for (int n = 0; n < c->models; n++)
        s->tr[n] += (double)s->loss[n] * nb;
    return HS_OK;
}

static hs_status hs_cpu_eval(hs_lstm *m, int64_t e0, int nb)
{
    hs_lstm_cpu_steps *s = hs_steps(m);
    const hs_lstm_config *c = &m->cfg;
    for (int b = 0; b < nb; b++)
        hs_lstm_gather_window(s->d, c->window, nb, c->horizon, b, e0 + b, s->x, s->t);
    HS_TRY(hs_lstm_backend_cpu()->forward(m, s->x, nb));
    hs_lstm_mse(m, s->t, nb, s->loss, s->dy);
    for (int n = 0; n < c->models; n++)
        s->va[n] += (double)s->loss[n] * nb;
    return HS_OK;
}

static hs_status hs_cpu_take_losses(hs_lstm *m, double *train, double *val)
{
    hs_lstm_cpu_steps *s = hs_steps(m);
    size_t bytes = (size_t)m->cfg.models * sizeof(double);
    if (train)
        memcpy(train, s->tr, bytes);
    if (val)
        memcpy(val, s->va, bytes);
    memset(s->tr, 0, bytes);
    memset(s->va, 0, bytes);
    return HS_OK;
}

static hs_status hs_cpu_set_active(hs_lstm *m, const unsigned char *active)
{
    memcpy(hs_steps(m)->active, active, (size_t)m->cfg.models);
    return HS_OK;
}

static hs_status hs_cpu_keep_best(hs_lstm *m, int n)
{
    memcpy(hs_steps(m)->best + (int64_t)n * m->P, m->params + (int64_t)n * m->P, (size_t)m->P * sizeof(float));
    return HS_OK;
}

static hs_status hs_cpu_finish(hs_lstm *m, int best)
{
    hs_lstm_cpu_steps *s = hs_steps(m);
    if (best)
        memcpy(m->params, s->best, (size_t)(m->cfg.models * m->P) * sizeof(float));
    hs_steps_free(s);
    HS_WS(m)->steps = NULL;
    return HS_OK;
}

const hs_lstm_resident hs_lstm_cpu_resident = {hs_cpu_bind,        hs_cpu_set_ends,    hs_cpu_train,
                                               hs_cpu_eval,        hs_cpu_take_losses, hs_cpu_set_active,
                                               hs_cpu_keep_best,   hs_cpu_finish};
