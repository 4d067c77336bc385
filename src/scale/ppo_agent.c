/* ppo_agent.c: the PPO agent above the backend seam (src/backend/ppo_seam.h): the parameter
 * layout and its orthogonal initialisation on the host, the choice of backend, and the public
 * operations (act, update, parameters) passed through to it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ppo_seam.h"
#include "hyscale/math/rng.h"

struct hs_ppo {
    hs_ppo_config cfg;
    hs_mlp_layout l;
    hs_device dev;
    const hs_ppo_ops *ops; /* the backend's operations and its context (parameters, Adam, rollout) */
    void *ctx;
};

hs_mlp_layout hs_mlp_layout_make(int64_t obs, int64_t hidden, int64_t actions)
{
    hs_mlp_layout l;
    l.obs = obs;
    l.hidden = hidden;
    l.actions = actions;
    int64_t o = 0;
    l.a_w1 = o, o += hidden * obs;
    l.a_b1 = o, o += hidden;
    l.a_w2 = o, o += hidden * hidden;
    l.a_b2 = o, o += hidden;
    l.a_w3 = o, o += actions * hidden;
    l.a_b3 = o, o += actions;
    l.c_w1 = o, o += hidden * obs;
    l.c_b1 = o, o += hidden;
    l.c_w2 = o, o += hidden * hidden;
    l.c_b2 = o, o += hidden;
    l.c_w3 = o, o += hidden;
    l.c_b3 = o, o += 1;
    l.total = o;
    return l;
}

/* A standard normal draw (Box-Muller) from the stream (seed, stream) at index i. */
static double hs_gauss(uint64_t seed, uint64_t stream, uint64_t i)
{
    hs_u32x4 r = hs_rng_u32x4(seed, stream, i);
    double u1 = 1.0 - hs_u64_to_unit(r.v[0], r.v[1]); /* (0, 1] */
    double u2 = hs_u64_to_unit(r.v[2], r.v[3]);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* W (rows, cols) = gain * an orthogonal matrix: the Q of a Gaussian matrix's QR (Gram-Schmidt,
 * so R's diagonal is positive, as torch.nn.init.orthogonal_ makes it), transposed when wide. */
static void hs_orthogonal(float *W, int64_t rows, int64_t cols, double gain, uint64_t seed, uint64_t stream)
{
    int64_t n = rows > cols ? rows : cols, m = rows > cols ? cols : rows;
    double *q = malloc((size_t)(n * m) * sizeof *q); /* m columns of length n, column-major */
    HS_ASSERT(q);
    for (int64_t i = 0; i < n * m; i++)
        q[i] = hs_gauss(seed, stream, (uint64_t)i);
    for (int64_t j = 0; j < m; j++) {
        double *cj = q + j * n;
        for (int pass = 0; pass < 2; pass++) /* twice: re-orthogonalisation for accuracy */
            for (int64_t k = 0; k < j; k++) {
                const double *ck = q + k * n;
                double dot = 0.0;
                for (int64_t i = 0; i < n; i++)
                    dot += cj[i] * ck[i];
                for (int64_t i = 0; i < n; i++)
                    cj[i] -= dot * ck[i];
            }
        double nr = 0.0;
        for (int64_t i = 0; i < n; i++)
            nr += cj[i] * cj[i];
        nr = sqrt(nr);
        for (int64_t i = 0; i < n; i++)
            cj[i] /= nr;
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            W[r * cols + c] = (float)(gain * (rows >= cols ? q[c * n + r] : q[r * n + c]));
    free(q);
}

void hs_mlp_init_orthogonal(const hs_mlp_layout *l, float *params, uint64_t seed)
{
    memset(params, 0, (size_t)l->total * sizeof *params);
    int64_t O = l->obs, H = l->hidden, A = l->actions;
    double g = sqrt(2.0);
    hs_orthogonal(params + l->a_w1, H, O, g, seed, 101);
    hs_orthogonal(params + l->a_w2, H, H, g, seed, 102);
    hs_orthogonal(params + l->a_w3, A, H, 0.01, seed, 103);
    hs_orthogonal(params + l->c_w1, H, O, g, seed, 104);
    hs_orthogonal(params + l->c_w2, H, H, g, seed, 105);
    hs_orthogonal(params + l->c_w3, 1, H, 1.0, seed, 106);
}

void hs_ppo_free(hs_ppo *p)
{
    if (!p)
        return;
    if (p->ops)
        p->ops->destroy(p->ctx);
    free(p);
}

hs_status hs_ppo_create(hs_ppo **out, const hs_ppo_config *cfg, hs_device dev)
{
    *out = NULL;
    if (cfg->envs < 1 || cfg->steps < 1 || cfg->minibatches < 1 || cfg->epochs < 1 || cfg->hidden < 1)
        return hs_error_set(HS_ERR_USAGE, "ppo: envs, steps, epochs, minibatches and hidden must be positive");
    int64_t batch = cfg->envs * cfg->steps, B = batch / cfg->minibatches;
    if (B < 2)
        return hs_error_set(HS_ERR_USAGE, "ppo: %lld envs x %lld steps make minibatches of %lld samples (2 needed)",
                            (long long)cfg->envs, (long long)cfg->steps, (long long)B);
    if (cfg->obs != HS_ENV_OBS && cfg->obs != HS_ENV_OBS_V2)
        return hs_error_set(HS_ERR_USAGE, "ppo: %d observations (an ENV version has %d or %d)", cfg->obs, HS_ENV_OBS,
                            HS_ENV_OBS_V2);
    if (cfg->actions < 2 || cfg->actions > HS_ENV_ACTIONS)
        return hs_error_set(HS_ERR_USAGE, "ppo: %d actions (2 to %d)", cfg->actions, HS_ENV_ACTIONS);
    if (cfg->norm_reward != 0 && cfg->norm_reward != 1)
        return hs_error_set(HS_ERR_USAGE, "ppo: norm_reward %d (0 or 1)", cfg->norm_reward);
    if (dev != HS_DEVICE_CPU)
        return hs_error_set(HS_ERR_DEVICE, "ppo: the CUDA backend of PPO is not built yet; use --device cpu");
    hs_ppo *p = calloc(1, sizeof *p);
    float *init = NULL;
    if (p) {
        p->l = hs_mlp_layout_make(cfg->obs, cfg->hidden, cfg->actions);
        init = malloc((size_t)p->l.total * sizeof *init);
    }
    if (!p || !init) {
        free(p);
        return hs_error_set(HS_ERR_NOMEM, "ppo: out of memory");
    }
    p->cfg = *cfg;
    p->dev = dev;
    hs_mlp_init_orthogonal(&p->l, init, cfg->seed);
    const hs_ppo_ops *ops = hs_ppo_cpu_ops();
    hs_status st = ops->create(&p->ctx, &p->l, cfg, init, cfg->envs > B ? cfg->envs : B);
    free(init);
    if (st) {
        free(p);
        return st;
    }
    p->ops = ops;
    *out = p;
    return HS_OK;
}

const hs_mlp_layout *hs_ppo_layout(const hs_ppo *p) { return &p->l; }
const hs_ppo_config *hs_ppo_get_config(const hs_ppo *p) { return &p->cfg; }
hs_status hs_ppo_get_params(hs_ppo *p, float *out) { return p->ops->get_params(p->ctx, out); }
hs_status hs_ppo_set_params(hs_ppo *p, const float *in) { return p->ops->set_params(p->ctx, in); }

hs_status hs_ppo_act(hs_ppo *p, const float *obs, int64_t E, int greedy, uint64_t counter, int32_t *actions,
                     float *logp, float *values)
{
    return p->ops->act(p->ctx, obs, E, greedy, counter, actions, logp, values);
}

hs_status hs_ppo_update(hs_ppo *p, const float *obs, const int32_t *action, const float *logp, const float *adv,
                        const float *ret, int64_t n, float lr, hs_ppo_stats *st)
{
    return p->ops->update_host(p->ctx, obs, action, logp, adv, ret, n, lr, st);
}

const hs_ppo_ops *hs_ppo_backend(hs_ppo *p, void **ctx)
{
    *ctx = p->ctx;
    return p->ops;
}
