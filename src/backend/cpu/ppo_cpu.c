/* ppo_cpu.c: the CPU backend of PPO: parameters, gradient and Adam moments in one allocation,
 * the loss and gradient of mlp_cpu.c, global gradient-norm clipping and Adam (math/adam.h) over
 * the flat buffer. Nothing is allocated inside a step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../scale/ppo_internal.h"
#include "hyscale/math/adam.h"

typedef struct hs_ppo_cpu {
    hs_mlp_layout l;
    hs_ppo_config cfg;
    float *params, *grad, *m, *v; /* (total) each, one buffer */
    int64_t t;                    /* Adam steps taken */
    hs_mlp_work *work;
} hs_ppo_cpu;

static hs_status hs_ppo_cpu_forward(void *ctx, const float *obs, int64_t B, float *logits, float *values)
{
    hs_ppo_cpu *c = ctx;
    hs_mlp_forward_cpu(&c->l, c->params, obs, B, logits, values, c->work);
    return HS_OK;
}

static hs_status hs_ppo_cpu_step(void *ctx, const hs_ppo_minibatch *mb, float lr, hs_ppo_stats *st)
{
    hs_ppo_cpu *c = ctx;
    int64_t P = c->l.total;
    hs_ppo_loss_grad_cpu(&c->l, c->params, mb, c->cfg.coefs, c->grad, st, c->work);
    double ss = 0.0;
    for (int64_t i = 0; i < P; i++)
        ss += (double)c->grad[i] * c->grad[i];
    double norm = sqrt(ss);
    st->grad_norm = norm;
    /* torch.nn.utils.clip_grad_norm_: scale by max / (norm + 1e-6) when that is below 1 */
    double coef = c->cfg.max_grad_norm / (norm + 1e-6);
    float scale = coef < 1.0 ? (float)coef : 1.0f;
    c->t++;
    hs_adam_hparams h = {lr, 0.9f, 0.999f, c->cfg.adam_eps};
    float bc1 = 1.0f - powf(0.9f, (float)c->t), sbc2 = sqrtf(1.0f - powf(0.999f, (float)c->t));
    for (int64_t i = 0; i < P; i++)
        hs_adam_update(&c->params[i], &c->m[i], &c->v[i], c->grad[i] * scale, h, bc1, sbc2);
    return HS_OK;
}

static hs_status hs_ppo_cpu_get(void *ctx, float *out)
{
    hs_ppo_cpu *c = ctx;
    memcpy(out, c->params, (size_t)c->l.total * sizeof *out);
    return HS_OK;
}

static hs_status hs_ppo_cpu_set(void *ctx, const float *in)
{
    hs_ppo_cpu *c = ctx;
    memcpy(c->params, in, (size_t)c->l.total * sizeof *in);
    return HS_OK;
}

static void hs_ppo_cpu_destroy(void *ctx)
{
    hs_ppo_cpu *c = ctx;
    if (!c)
        return;
    hs_mlp_work_free(c->work);
    free(c->params);
    free(c);
}

static const hs_ppo_ops hs_ppo_cpu_ops = {hs_ppo_cpu_forward, hs_ppo_cpu_step, hs_ppo_cpu_get, hs_ppo_cpu_set,
                                          hs_ppo_cpu_destroy};

hs_status hs_ppo_cpu_create(const hs_mlp_layout *l, const hs_ppo_config *cfg, const float *params, int64_t max_b,
                            const hs_ppo_ops **ops, void **ctx)
{
    hs_ppo_cpu *c = calloc(1, sizeof *c);
    float *buf = calloc((size_t)(4 * l->total), sizeof *buf);
    if (!c || !buf) {
        free(c);
        free(buf);
        return hs_error_set(HS_ERR_NOMEM, "ppo: out of memory for %lld parameters", (long long)l->total);
    }
    c->l = *l;
    c->cfg = *cfg;
    c->params = buf;
    c->grad = buf + l->total;
    c->m = buf + 2 * l->total;
    c->v = buf + 3 * l->total;
    memcpy(c->params, params, (size_t)l->total * sizeof *params);
    hs_status st = hs_mlp_work_create(&c->work, l, max_b);
    if (st) {
        hs_ppo_cpu_destroy(c);
        return st;
    }
    *ops = &hs_ppo_cpu_ops;
    *ctx = c;
    return HS_OK;
}
