/* ppo_cpu.c: the CPU backend of PPO (src/backend/ppo_seam.h): parameters, gradient and Adam
 * moments in one allocation; acting (sampled or greedy) through the MLPs of mlp_cpu.c; the
 * resident rollout over the CPU environments (hs_envs, env_cpu.c) into host buffers; GAE; and the
 * update's epochs and minibatches: shuffle, gather, loss and gradient, global gradient-norm
 * clipping (math/clip.h) and Adam (math/adam.h) over the flat buffer. Nothing is allocated
 * inside a rollout or an update. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ppo_seam.h"
#include "hyscale/math/adam.h"
#include "hyscale/math/clip.h"
#include "hyscale/math/mlp_row.h"
#include "hyscale/math/moments.h"
#include "hyscale/math/rng.h"

typedef struct hs_ppo_cpu {
    hs_mlp_layout l;
    hs_ppo_config cfg;
    float *params, *grad, *m, *v; /* (total) each, one buffer */
    int64_t t;                    /* Adam steps taken */
    hs_mlp_work *work;
    int64_t max_b;                /* the larger of E and the minibatch */
    float *logits;                /* (max_b, A) */
    float *values;                /* (max_b) */
    int64_t *perm;                /* (E T) */
    float *mb_obs;                /* (B, O) gathered minibatch */
    int32_t *mb_act;              /* (B) */
    float *mb_logp, *mb_adv, *mb_ret; /* (B) */
    uint64_t perm_epochs;         /* permutations drawn so far: the stream of the next */
    /* the bound rollout: environments borrowed, buffers owned (one allocation, sized at bind) */
    hs_envs *envs;
    int64_t T, cap;               /* steps bound; samples the buffers hold */
    void *roll;
    float *r_obs;                 /* (T, E, O) */
    int32_t *r_act;               /* (T, E) */
    float *r_logp, *r_val, *r_rew, *r_adv, *r_ret; /* (T, E) */
    uint8_t *r_done;              /* (T, E) */
    float *r_last;                /* (E) */
    int32_t *r_last_act;          /* (E) */
    double *r_G;                  /* (E) each environment's discounted return (norm_reward) */
    hs_moments ret_moments;       /* of those returns, over every step so far (norm_reward) */
} hs_ppo_cpu;

static void hs_ppo_cpu_destroy(void *ctx)
{
    hs_ppo_cpu *c = ctx;
    if (!c)
        return;
    hs_mlp_work_free(c->work);
    free(c->params);
    free(c->logits);
    free(c->values);
    free(c->perm);
    free(c->mb_obs);
    free(c->mb_act);
    free(c->mb_logp);
    free(c->mb_adv);
    free(c->mb_ret);
    free(c->roll);
    free(c);
}

static hs_status hs_ppo_cpu_create(void **ctx, const hs_mlp_layout *l, const hs_ppo_config *cfg,
                                   const float *params, int64_t max_b)
{
    *ctx = NULL;
    int64_t batch = cfg->envs * cfg->steps, B = batch / cfg->minibatches;
    HS_ASSERT(B >= 2 && max_b >= B && max_b >= cfg->envs);
    hs_ppo_cpu *c = calloc(1, sizeof *c);
    float *buf = calloc((size_t)(4 * l->total), sizeof *buf);
    if (!c || !buf) {
        free(c);
        free(buf);
        return hs_error_set(HS_ERR_NOMEM, "ppo: out of memory for %lld parameters", (long long)l->total);
    }
    c->l = *l;
    c->cfg = *cfg;
    c->max_b = max_b;
    c->ret_moments = (hs_moments)HS_MOMENTS_INIT;
    c->params = buf;
    c->grad = buf + l->total;
    c->m = buf + 2 * l->total;
    c->v = buf + 3 * l->total;
    memcpy(c->params, params, (size_t)l->total * sizeof *params);
    c->logits = malloc((size_t)(max_b * HS_ENV_ACTIONS) * sizeof *c->logits);
    c->values = malloc((size_t)max_b * sizeof *c->values);
    c->perm = malloc((size_t)batch * sizeof *c->perm);
    c->mb_obs = malloc((size_t)(B * c->l.obs) * sizeof *c->mb_obs);
    c->mb_act = malloc((size_t)B * sizeof *c->mb_act);
    c->mb_logp = malloc((size_t)B * sizeof *c->mb_logp);
    c->mb_adv = malloc((size_t)B * sizeof *c->mb_adv);
    c->mb_ret = malloc((size_t)B * sizeof *c->mb_ret);
    if (!c->logits || !c->values || !c->perm || !c->mb_obs || !c->mb_act || !c->mb_logp || !c->mb_adv ||
        !c->mb_ret) {
        hs_ppo_cpu_destroy(c);
        return hs_error_set(HS_ERR_NOMEM, "ppo: out of memory for a batch of %lld samples", (long long)batch);
    }
    hs_status st = hs_mlp_work_create(&c->work, l, max_b);
    if (st) {
        hs_ppo_cpu_destroy(c);
        return st;
    }
    *ctx = c;
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

static hs_status hs_ppo_cpu_act(void *ctx, const float *obs, int64_t E, int greedy, uint64_t counter,
                                int32_t *actions, float *logp, float *values)
{
    hs_ppo_cpu *c = ctx;
    const int A = (int)c->l.actions;
    float lp[HS_ENV_ACTIONS];
    for (int64_t e0 = 0; e0 < E; e0 += c->max_b) {
        int64_t n = E - e0 < c->max_b ? E - e0 : c->max_b;
        hs_mlp_forward_cpu(&c->l, c->params, obs + e0 * c->l.obs, n, c->logits, values ? c->values : NULL,
                           c->work);
        for (int64_t i = 0; i < n; i++) {
            int64_t e = e0 + i;
            hs_log_softmax(c->logits + i * A, A, lp);
            double u = greedy ? 0.0 : (double)hs_rng_uniform(c->cfg.seed, (1ull << 32) | (uint64_t)e, counter, 0);
            int a = hs_ppo_choose(lp, A, greedy, u); /* math/mlp_row.h: the device's rule too */
            actions[e] = a;
            if (logp)
                logp[e] = lp[a];
            if (values)
                values[e] = c->values[i];
        }
    }
    return HS_OK;
}

/* One minibatch: loss, gradient, clipping at max_grad_norm, one Adam step at lr. */
static void hs_ppo_cpu_step(hs_ppo_cpu *c, const hs_ppo_minibatch *mb, float lr, hs_ppo_stats *st)
{
    int64_t P = c->l.total;
    hs_ppo_loss_grad_cpu(&c->l, c->params, mb, c->cfg.coefs, c->grad, st, c->work);
    double ss = 0.0;
    for (int64_t i = 0; i < P; i++)
        ss += (double)c->grad[i] * c->grad[i];
    double norm = sqrt(ss);
    st->grad_norm = norm;
    float scale = hs_clip_coef_d(norm, c->cfg.max_grad_norm);
    c->t++;
    hs_adam_hparams h = {lr, c->cfg.beta1, c->cfg.beta2, c->cfg.adam_eps};
    float bc1, sbc2;
    hs_adam_bias(h, c->t, &bc1, &sbc2);
    for (int64_t i = 0; i < P; i++)
        hs_adam_update(&c->params[i], &c->m[i], &c->v[i], c->grad[i] * scale, h, bc1, sbc2);
}

/* The update over n samples in host memory: epochs x minibatches of n / minibatches. */
static hs_status hs_ppo_cpu_update_host(void *ctx, const float *obs, const int32_t *action, const float *logp,
                                        const float *adv, const float *ret, int64_t n, float lr, hs_ppo_stats *st)
{
    hs_ppo_cpu *c = ctx;
    int64_t B = n / c->cfg.minibatches;
    HS_ASSERT(n <= c->cfg.envs * c->cfg.steps && B >= 2);
    memset(st, 0, sizeof *st);
    int64_t count = 0;
    for (int ep = 0; ep < c->cfg.epochs; ep++) {
        /* a fresh permutation each epoch (Fisher-Yates from the stream (seed, 2 << 32)) */
        for (int64_t i = 0; i < n; i++)
            c->perm[i] = i;
        hs_rng r = hs_rng_make(c->cfg.seed, (2ull << 32) + (uint64_t)c->perm_epochs);
        c->perm_epochs++;
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)(hs_rng_next_double(&r) * (double)(i + 1));
            int64_t tmp = c->perm[i];
            c->perm[i] = c->perm[j];
            c->perm[j] = tmp;
        }
        for (int mb = 0; mb < c->cfg.minibatches; mb++) {
            const int64_t *idx = c->perm + (int64_t)mb * B;
            for (int64_t i = 0; i < B; i++) {
                int64_t k = idx[i];
                memcpy(c->mb_obs + i * c->l.obs, obs + k * c->l.obs, c->l.obs * sizeof *obs);
                c->mb_act[i] = action[k];
                c->mb_logp[i] = logp[k];
                c->mb_adv[i] = adv[k];
                c->mb_ret[i] = ret[k];
            }
            hs_ppo_minibatch m = {B, c->mb_obs, c->mb_act, c->mb_logp, c->mb_adv, c->mb_ret};
            hs_ppo_stats s;
            hs_ppo_cpu_step(c, &m, lr, &s);
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

/* ---- resident training ---------------------------------------------------------------------- */

static hs_status hs_ppo_cpu_bind(void *ctx, void *envs, int64_t T)
{
    hs_ppo_cpu *c = ctx;
    hs_envs *v = envs;
    HS_ASSERT(v && T >= 1);
    int64_t E = v->E;
    if (E != c->cfg.envs)
        return hs_error_set(HS_ERR_USAGE, "ppo: %lld environments given, the agent was made for %lld", (long long)E,
                            (long long)c->cfg.envs);
    if (T * E > c->cfg.envs * c->cfg.steps)
        return hs_error_set(HS_ERR_USAGE, "ppo: a rollout of %lld steps is longer than the configured %lld",
                            (long long)T, (long long)c->cfg.steps);
    int64_t n = T * E;
    if (n > c->cap) {
        /* doubles: returns (E); floats: obs (n O), logp, value, reward, adv, ret (n each), last (E);
         * ints: action (n), last action (E); bytes: done (n) */
        size_t bytes = (size_t)E * sizeof(double) + (size_t)(n * c->l.obs + 5 * n + E) * sizeof(float) +
                       (size_t)(n + E) * sizeof(int32_t) + (size_t)n;
        void *buf = malloc(bytes);
        if (!buf)
            return hs_error_set(HS_ERR_NOMEM, "ppo: out of memory for a rollout of %lld samples", (long long)n);
        free(c->roll);
        c->roll = buf;
        c->cap = n;
    }
    c->r_G = c->roll;
    memset(c->r_G, 0, (size_t)E * sizeof *c->r_G); /* a bind starts every return afresh */
    float *f = (float *)(c->r_G + E);
    c->r_obs = f, f += n * c->l.obs;
    c->r_logp = f, f += n;
    c->r_val = f, f += n;
    c->r_rew = f, f += n;
    c->r_adv = f, f += n;
    c->r_ret = f, f += n;
    c->r_last = f, f += E;
    int32_t *i32 = (int32_t *)f;
    c->r_act = i32, i32 += n;
    c->r_last_act = i32, i32 += E;
    c->r_done = (uint8_t *)i32;
    c->envs = v;
    c->T = T;
    return HS_OK;
}

/* Reward scaling (math/moments.h): each environment's return moves on by its reward, the moments
 * take the E returns, and the step's rewards (E) are divided by the returns' standard deviation;
 * a return restarts after the step that ended its episode. */
static void hs_ppo_cpu_scale_rewards(hs_ppo_cpu *c, float *rew, const uint8_t *done, int64_t E)
{
    for (int64_t e = 0; e < E; e++)
        c->r_G[e] = hs_return_step(c->r_G[e], rew[e], c->cfg.gamma);
    hs_moments_merge(&c->ret_moments, hs_moments_of(c->r_G, E));
    for (int64_t e = 0; e < E; e++) {
        rew[e] = hs_reward_scale(rew[e], c->ret_moments.var, HS_REWARD_SCALE_EPS);
        if (done[e])
            c->r_G[e] = 0.0;
    }
}

static hs_status hs_ppo_cpu_rollout(void *ctx, uint64_t counter)
{
    hs_ppo_cpu *c = ctx;
    hs_envs *v = c->envs;
    HS_ASSERT(v);
    int64_t E = v->E;
    for (int64_t t = 0; t < c->T; t++) {
        memcpy(c->r_obs + t * E * c->l.obs, v->obs, (size_t)E * c->l.obs * sizeof *c->r_obs);
        HS_TRY(hs_ppo_cpu_act(c, v->obs, E, 0, counter + (uint64_t)t, c->r_act + t * E, c->r_logp + t * E,
                              c->r_val + t * E));
        hs_envs_targets_from_actions(v, c->r_act + t * E, v->target);
        hs_envs_step(v, v->target);
        memcpy(c->r_rew + t * E, v->reward, (size_t)E * sizeof *c->r_rew);
        memcpy(c->r_done + t * E, v->done, (size_t)E);
        if (c->cfg.norm_reward)
            hs_ppo_cpu_scale_rewards(c, c->r_rew + t * E, v->done, E);
    }
    return hs_ppo_cpu_act(c, v->obs, E, 1, 0, c->r_last_act, NULL, c->r_last);
}

static hs_status hs_ppo_cpu_gae(void *ctx, float gamma, float lambda)
{
    hs_ppo_cpu *c = ctx;
    HS_ASSERT(c->envs);
    hs_ppo_gae(c->r_rew, c->r_val, c->r_done, c->r_last, c->T, c->envs->E, gamma, lambda, c->r_adv, c->r_ret);
    return HS_OK;
}

static hs_status hs_ppo_cpu_update(void *ctx, float lr, hs_ppo_stats *st)
{
    hs_ppo_cpu *c = ctx;
    HS_ASSERT(c->envs);
    return hs_ppo_cpu_update_host(c, c->r_obs, c->r_act, c->r_logp, c->r_adv, c->r_ret, c->T * c->envs->E, lr, st);
}

static void hs_copy_out(void *dst, const void *src, int64_t n, size_t size)
{
    if (dst)
        memcpy(dst, src, (size_t)n * size);
}

static hs_status hs_ppo_cpu_read_rollout(void *ctx, const hs_ppo_rollout *out)
{
    hs_ppo_cpu *c = ctx;
    HS_ASSERT(c->envs);
    int64_t E = c->envs->E, n = c->T * E;
    hs_copy_out(out->obs, c->r_obs, n * c->l.obs, sizeof(float));
    hs_copy_out(out->action, c->r_act, n, sizeof(int32_t));
    hs_copy_out(out->logp, c->r_logp, n, sizeof(float));
    hs_copy_out(out->value, c->r_val, n, sizeof(float));
    hs_copy_out(out->reward, c->r_rew, n, sizeof(float));
    hs_copy_out(out->done, c->r_done, n, sizeof(uint8_t));
    hs_copy_out(out->last_value, c->r_last, E, sizeof(float));
    hs_copy_out(out->adv, c->r_adv, n, sizeof(float));
    hs_copy_out(out->ret, c->r_ret, n, sizeof(float));
    return HS_OK;
}

static hs_status hs_ppo_cpu_unbind(void *ctx)
{
    hs_ppo_cpu *c = ctx;
    c->envs = NULL;
    return HS_OK;
}

static const hs_ppo_ops hs_ppo_cpu_table = {
    .name = "cpu",
    .env = hs_env_cpu_ops,
    .create = hs_ppo_cpu_create,
    .destroy = hs_ppo_cpu_destroy,
    .get_params = hs_ppo_cpu_get,
    .set_params = hs_ppo_cpu_set,
    .act = hs_ppo_cpu_act,
    .update_host = hs_ppo_cpu_update_host,
    .bind = hs_ppo_cpu_bind,
    .rollout = hs_ppo_cpu_rollout,
    .gae = hs_ppo_cpu_gae,
    .update = hs_ppo_cpu_update,
    .read_rollout = hs_ppo_cpu_read_rollout,
    .unbind = hs_ppo_cpu_unbind,
};

const hs_ppo_ops *hs_ppo_cpu_ops(void) { return &hs_ppo_cpu_table; }
