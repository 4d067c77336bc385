/* ppo_agent.c: the PPO agent above the backend seam: the parameter layout and its orthogonal
 * initialisation, acting (sampled or greedy), GAE and the update's epochs and minibatches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/math/rng.h"
#include "ppo_internal.h"

struct hs_ppo {
    hs_ppo_config cfg;
    hs_mlp_layout l;
    hs_device dev;
    const hs_ppo_ops *ops;
    void *ctx;
    int64_t max_b;     /* the larger of E and the minibatch */
    float *logits;     /* (max_b, A) */
    float *values;     /* (max_b) */
    int64_t *perm;     /* (E T) */
    float *mb_obs;     /* (B, O) gathered minibatch */
    int32_t *mb_act;   /* (B) */
    float *mb_logp, *mb_adv, *mb_ret; /* (B) */
    uint64_t perm_epochs; /* permutations drawn so far: the stream of the next */
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
    free(p->logits);
    free(p->values);
    free(p->perm);
    free(p->mb_obs);
    free(p->mb_act);
    free(p->mb_logp);
    free(p->mb_adv);
    free(p->mb_ret);
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
    if (cfg->actions < 2 || cfg->actions > HS_ENV_ACTIONS)
        return hs_error_set(HS_ERR_USAGE, "ppo: %d actions (2 to %d)", cfg->actions, HS_ENV_ACTIONS);
    if (dev != HS_DEVICE_CPU)
        return hs_error_set(HS_ERR_DEVICE, "ppo: the CUDA backend of PPO is not built yet; use --device cpu");
    hs_ppo *p = calloc(1, sizeof *p);
    if (!p)
        return hs_error_set(HS_ERR_NOMEM, "ppo: out of memory");
    p->cfg = *cfg;
    p->dev = dev;
    p->l = hs_mlp_layout_make(HS_ENV_OBS, cfg->hidden, cfg->actions);
    p->max_b = cfg->envs > B ? cfg->envs : B;
    float *init = malloc((size_t)p->l.total * sizeof *init);
    p->logits = malloc((size_t)(p->max_b * HS_ENV_ACTIONS) * sizeof *p->logits);
    p->values = malloc((size_t)p->max_b * sizeof *p->values);
    p->perm = malloc((size_t)batch * sizeof *p->perm);
    p->mb_obs = malloc((size_t)(B * HS_ENV_OBS) * sizeof *p->mb_obs);
    p->mb_act = malloc((size_t)B * sizeof *p->mb_act);
    p->mb_logp = malloc((size_t)B * sizeof *p->mb_logp);
    p->mb_adv = malloc((size_t)B * sizeof *p->mb_adv);
    p->mb_ret = malloc((size_t)B * sizeof *p->mb_ret);
    if (!init || !p->logits || !p->values || !p->perm || !p->mb_obs || !p->mb_act || !p->mb_logp || !p->mb_adv ||
        !p->mb_ret) {
        free(init);
        hs_ppo_free(p);
        return hs_error_set(HS_ERR_NOMEM, "ppo: out of memory for a batch of %lld samples", (long long)batch);
    }
    hs_mlp_init_orthogonal(&p->l, init, cfg->seed);
    hs_status st = hs_ppo_cpu_create(&p->l, cfg, init, p->max_b, &p->ops, &p->ctx);
    free(init);
    if (st) {
        hs_ppo_free(p);
        return st;
    }
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
    const int A = (int)p->l.actions;
    float lp[HS_ENV_ACTIONS];
    for (int64_t e0 = 0; e0 < E; e0 += p->max_b) {
        int64_t n = E - e0 < p->max_b ? E - e0 : p->max_b;
        HS_TRY(p->ops->forward(p->ctx, obs + e0 * HS_ENV_OBS, n, p->logits, values ? p->values : NULL));
        for (int64_t i = 0; i < n; i++) {
            int64_t e = e0 + i;
            hs_log_softmax(p->logits + i * A, A, lp);
            int a = 0;
            if (greedy) {
                for (int j = 1; j < A; j++)
                    if (lp[j] > lp[a])
                        a = j;
            } else {
                double u = hs_rng_uniform(p->cfg.seed, (1ull << 32) | (uint64_t)e, counter, 0), cum = 0.0;
                a = A - 1;
                for (int j = 0; j < A; j++) {
                    cum += exp(lp[j]);
                    if (u < cum) {
                        a = j;
                        break;
                    }
                }
            }
            actions[e] = a;
            if (logp)
                logp[e] = lp[a];
            if (values)
                values[e] = p->values[i];
        }
    }
    return HS_OK;
}

void hs_ppo_gae(const float *rewards, const float *values, const uint8_t *dones, const float *last_values, int64_t T,
                int64_t E, float gamma, float lambda, float *adv, float *ret)
{
    for (int64_t e = 0; e < E; e++) {
        float next_adv = 0.0f, next_value = last_values[e];
        for (int64_t t = T - 1; t >= 0; t--) {
            int64_t i = t * E + e;
            float nonterminal = dones[i] ? 0.0f : 1.0f;
            adv[i] = hs_gae_step(rewards[i], values[i], next_value, nonterminal, next_adv, gamma, lambda);
            ret[i] = adv[i] + values[i];
            next_adv = adv[i];
            next_value = values[i];
        }
    }
}

hs_status hs_ppo_update(hs_ppo *p, const float *obs, const int32_t *action, const float *logp, const float *adv,
                        const float *ret, int64_t n, float lr, hs_ppo_stats *st)
{
    int64_t B = n / p->cfg.minibatches;
    HS_ASSERT(n <= p->cfg.envs * p->cfg.steps && B >= 2);
    memset(st, 0, sizeof *st);
    int64_t count = 0;
    for (int ep = 0; ep < p->cfg.epochs; ep++) {
        /* a fresh permutation each epoch (Fisher-Yates from the stream (seed, 2 << 32)) */
        for (int64_t i = 0; i < n; i++)
            p->perm[i] = i;
        hs_rng r = hs_rng_make(p->cfg.seed, (2ull << 32) + (uint64_t)p->perm_epochs);
        p->perm_epochs++;
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)(hs_rng_next_double(&r) * (double)(i + 1));
            int64_t tmp = p->perm[i];
            p->perm[i] = p->perm[j];
            p->perm[j] = tmp;
        }
        for (int mb = 0; mb < p->cfg.minibatches; mb++) {
            const int64_t *idx = p->perm + (int64_t)mb * B;
            for (int64_t i = 0; i < B; i++) {
                int64_t k = idx[i];
                memcpy(p->mb_obs + i * HS_ENV_OBS, obs + k * HS_ENV_OBS, HS_ENV_OBS * sizeof *obs);
                p->mb_act[i] = action[k];
                p->mb_logp[i] = logp[k];
                p->mb_adv[i] = adv[k];
                p->mb_ret[i] = ret[k];
            }
            hs_ppo_minibatch m = {B, p->mb_obs, p->mb_act, p->mb_logp, p->mb_adv, p->mb_ret};
            hs_ppo_stats s;
            HS_TRY(p->ops->step(p->ctx, &m, lr, &s));
            st->loss += s.loss;
            st->pg_loss += s.pg_loss;
            st->value_loss += s.value_loss;
            st->entropy += s.entropy;
            st->approx_kl += s.approx_kl;
            st->clip_frac += s.clip_frac;
            st->grad_norm += s.grad_norm;
            count++;
        }
    }
    double inv = 1.0 / (double)count;
    st->loss *= inv;
    st->pg_loss *= inv;
    st->value_loss *= inv;
    st->entropy *= inv;
    st->approx_kl *= inv;
    st->clip_frac *= inv;
    st->grad_norm *= inv;
    return HS_OK;
}
