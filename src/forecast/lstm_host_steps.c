/* lstm_host_steps.c: the training loop's steps (hs_lstm_resident, lstm.h) for a backend whose
 * data stays in host memory (the CPU): windows are gathered here into host buffers and go
 * through the backend's forward and backward; the loss, clipping and Adam run in lstm_model.c.
 * A device backend brings its own resident steps, and the loop (lstm_train.c) is the same. */
#include <stdlib.h>
#include <string.h>

#include "hyscale/math/lstm_calendar.h"
#include "lstm_internal.h"

typedef struct hs_host_steps {
    const hs_lstm_backend *be;
    const hs_lstm_data *d;
    float *x, *t, *dy, *loss, *best;
    double *tr, *va;
    unsigned char *active;
    int64_t *ends, max_ends;
} hs_host_steps;

static void hs_host_steps_free(void *p)
{
    hs_host_steps *s = p;
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

void hs_lstm_gather_window(const hs_lstm_data *d, int W, int B, int K, int b, int64_t e, float *x, float *target)
{
    int F = hs_lstm_features(d);
    for (int n = 0; n < d->N; n++) {
        const float *vals = d->v + (int64_t)n * d->M;
        for (int tau = 0; tau < W; tau++) {
            float *f = x + (((int64_t)n * W + tau) * B + b) * F;
            int64_t ti = e - W + tau;
            f[0] = ti >= 0 ? vals[ti] : 0.0f;
            if (d->calendar)
                hs_lstm_calendar_at(d->start_unix, d->step_seconds, ti, f);
        }
        if (target)
            for (int k = 0; k < K; k++)
                target[((int64_t)n * B + b) * K + k] = vals[e + k];
    }
}

static hs_host_steps *hs_hs(hs_lstm *m) { return m->steps; }

static hs_status hs_host_bind(hs_lstm *m, const hs_lstm_data *d, int64_t max_ends)
{
    const hs_lstm_config *c = &m->cfg;
    int64_t N = c->models, W = c->window, B = c->batch, F = c->features, K = c->horizon;
    if (m->steps_free)
        m->steps_free(m->steps);
    hs_host_steps *s = calloc(1, sizeof *s);
    m->steps = s;
    m->steps_free = hs_host_steps_free;
    if (!s)
        return hs_error_set(HS_ERR_NOMEM, "lstm: out of memory for training");
    s->be = hs_lstm_backend_cpu();
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

static hs_status hs_host_set_ends(hs_lstm *m, const int64_t *ends, int64_t n)
{
    hs_host_steps *s = hs_hs(m);
    if (n > s->max_ends)
        return hs_error_set(HS_ERR_USAGE, "lstm: %lld window ends, room for %lld", (long long)n,
                            (long long)s->max_ends);
    memcpy(s->ends, ends, (size_t)n * sizeof *ends);
    return HS_OK;
}

static hs_status hs_host_train(hs_lstm *m, int64_t first, int nb, float clip, const hs_adam_hparams *h)
{
    hs_host_steps *s = hs_hs(m);
    const hs_lstm_config *c = &m->cfg;
    for (int b = 0; b < nb; b++)
        hs_lstm_gather_window(s->d, c->window, nb, c->horizon, b, s->ends[first + b], s->x, s->t);
    HS_TRY(s->be->forward(m, s->x, nb));
    hs_lstm_mse(m, s->t, nb, s->loss, s->dy);
    HS_TRY(s->be->backward(m, s->dy, nb));
    hs_lstm_clip_grad_norm(m, clip, NULL);
    hs_lstm_adam_step_masked(m, h, s->active);
    for (int n = 0; n < c->models; n++)
        s->tr[n] += (double)s->loss[n] * nb;
    return HS_OK;
}

static hs_status hs_host_eval(hs_lstm *m, int64_t e0, int nb)
{
    hs_host_steps *s = hs_hs(m);
    const hs_lstm_config *c = &m->cfg;
    for (int b = 0; b < nb; b++)
        hs_lstm_gather_window(s->d, c->window, nb, c->horizon, b, e0 + b, s->x, s->t);
    HS_TRY(s->be->forward(m, s->x, nb));
    hs_lstm_mse(m, s->t, nb, s->loss, s->dy);
    for (int n = 0; n < c->models; n++)
        s->va[n] += (double)s->loss[n] * nb;
    return HS_OK;
}

static hs_status hs_host_take_losses(hs_lstm *m, double *train, double *val)
{
    hs_host_steps *s = hs_hs(m);
    size_t bytes = (size_t)m->cfg.models * sizeof(double);
    if (train)
        memcpy(train, s->tr, bytes);
    if (val)
        memcpy(val, s->va, bytes);
    memset(s->tr, 0, bytes);
    memset(s->va, 0, bytes);
    return HS_OK;
}

static hs_status hs_host_set_active(hs_lstm *m, const unsigned char *active)
{
    memcpy(hs_hs(m)->active, active, (size_t)m->cfg.models);
    return HS_OK;
}

static hs_status hs_host_keep_best(hs_lstm *m, int n)
{
    memcpy(hs_hs(m)->best + (int64_t)n * m->P, m->params + (int64_t)n * m->P, (size_t)m->P * sizeof(float));
    return HS_OK;
}

static hs_status hs_host_finish(hs_lstm *m, int best)
{
    hs_host_steps *s = hs_hs(m);
    if (best)
        memcpy(m->params, s->best, (size_t)(m->cfg.models * m->P) * sizeof(float));
    hs_host_steps_free(s);
    m->steps = NULL;
    m->steps_free = NULL;
    return HS_OK;
}

static const hs_lstm_resident hs_host_resident = {hs_host_bind,       hs_host_set_ends,  hs_host_train,
                                                  hs_host_eval,       hs_host_take_losses, hs_host_set_active,
                                                  hs_host_keep_best,  hs_host_finish};

const hs_lstm_resident *hs_lstm_host_resident(void) { return &hs_host_resident; }
