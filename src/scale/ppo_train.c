/* ppo_train.c: PPO's training loop, written once above the backend seam: rollouts of T steps over
 * E environments, GAE, then the update's epochs and minibatches. One allocation for the rollout
 * buffers; nothing is allocated inside the loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/ppo.h"
#include "hyscale/progress.h"

void hs_ppo_history_free(hs_ppo_history *h)
{
    if (!h)
        return;
    free(h->env_steps);
    free(h->seconds);
    free(h->episode_reward);
    free(h->cold_rate);
    free(h->idle_ratio);
    free(h->loss);
    free(h->entropy);
    free(h->approx_kl);
    memset(h, 0, sizeof *h);
}

static hs_status hs_history_alloc(hs_ppo_history *h, int64_t n)
{
    memset(h, 0, sizeof *h);
    size_t k = (size_t)n;
    h->env_steps = calloc(k, sizeof *h->env_steps);
    h->seconds = calloc(k, sizeof *h->seconds);
    h->episode_reward = calloc(k, sizeof *h->episode_reward);
    h->cold_rate = calloc(k, sizeof *h->cold_rate);
    h->idle_ratio = calloc(k, sizeof *h->idle_ratio);
    h->loss = calloc(k, sizeof *h->loss);
    h->entropy = calloc(k, sizeof *h->entropy);
    h->approx_kl = calloc(k, sizeof *h->approx_kl);
    if (!h->env_steps || !h->seconds || !h->episode_reward || !h->cold_rate || !h->idle_ratio || !h->loss ||
        !h->entropy || !h->approx_kl) {
        hs_ppo_history_free(h);
        return hs_error_set(HS_ERR_NOMEM, "ppo: out of memory for the learning curve");
    }
    return HS_OK;
}

hs_status hs_ppo_train(hs_ppo *p, hs_envs *v, hs_ppo_history *hist)
{
    const hs_ppo_config *cfg = hs_ppo_get_config(p);
    int64_t E = v->E, T = cfg->steps, n = E * T;
    if (E != cfg->envs)
        return hs_error_set(HS_ERR_USAGE, "ppo: %lld environments given, the agent was made for %lld", (long long)E,
                            (long long)cfg->envs);
    int64_t updates = cfg->total_steps / n;
    if (updates < 1)
        updates = 1;
    HS_TRY(hs_history_alloc(hist, updates));
    size_t N = (size_t)n;
    float *obs = malloc(N * HS_ENV_OBS * sizeof *obs);
    int32_t *act = malloc(N * sizeof *act);
    float *logp = malloc(N * sizeof *logp), *val = malloc(N * sizeof *val), *rew = malloc(N * sizeof *rew);
    float *adv = malloc(N * sizeof *adv), *ret = malloc(N * sizeof *ret);
    uint8_t *done = malloc(N * sizeof *done);
    float *last = malloc((size_t)E * sizeof *last);
    int32_t *last_act = malloc((size_t)E * sizeof *last_act);
    hs_status st = HS_OK;
    if (!obs || !act || !logp || !val || !rew || !adv || !ret || !done || !last || !last_act)
        st = hs_error_set(HS_ERR_NOMEM, "ppo: out of memory for a rollout of %lld samples", (long long)n);
    hs_progress pr;
    hs_progress_start(&pr, "train-ppo", (double)(updates * n), cfg->quiet);
    double t0 = hs_time_now();
    uint64_t counter = 0;
    for (int64_t u = 0; st == HS_OK && u < updates; u++) {
        float lr = cfg->anneal ? cfg->lr * (1.0f - (float)u / (float)updates) : cfg->lr;
        memset(&v->finished, 0, sizeof v->finished);
        v->finished_count = 0;
        for (int64_t t = 0; st == HS_OK && t < T; t++) {
            memcpy(obs + t * E * HS_ENV_OBS, v->obs, (size_t)E * HS_ENV_OBS * sizeof *obs);
            st = hs_ppo_act(p, v->obs, E, 0, counter++, act + t * E, logp + t * E, val + t * E);
            if (st)
                break;
            hs_envs_targets_from_actions(v, act + t * E, v->target);
            hs_envs_step(v, v->target);
            memcpy(rew + t * E, v->reward, (size_t)E * sizeof *rew);
            memcpy(done + t * E, v->done, (size_t)E);
        }
        if (st == HS_OK)
            st = hs_ppo_act(p, v->obs, E, 1, 0, last_act, NULL, last);
        if (st)
            break;
        hs_ppo_gae(rew, val, done, last, T, E, cfg->gamma, cfg->lambda, adv, ret);
        hs_ppo_stats ps;
        st = hs_ppo_update(p, obs, act, logp, adv, ret, n, lr, &ps);
        if (st)
            break;
        double secs = hs_time_now() - t0;
        hist->n = u + 1;
        hist->env_steps[u] = (u + 1) * n;
        hist->seconds[u] = secs;
        hs_env_metrics *m = &v->finished;
        int64_t ne = v->finished_count;
        hist->episode_reward[u] = ne ? m->reward / (double)ne : NAN;
        hist->cold_rate[u] = ne ? hs_env_metrics_cold_rate(m) : NAN;
        hist->idle_ratio[u] = ne ? hs_env_metrics_overprov(m) : NAN;
        hist->loss[u] = ps.loss;
        hist->entropy[u] = ps.entropy;
        hist->approx_kl[u] = ps.approx_kl;
        hist->steps_per_second = (double)((u + 1) * n) / secs;
        if (ne)
            hs_progress_update(&pr, (double)((u + 1) * n),
                               "update %lld/%lld  %.0f steps/s  episode reward %.2f  cold %.3f  idle %.3f  "
                               "entropy %.2f",
                               (long long)(u + 1), (long long)updates, hist->steps_per_second,
                               hist->episode_reward[u], hist->cold_rate[u], hist->idle_ratio[u], ps.entropy);
        else
            hs_progress_update(&pr, (double)((u + 1) * n), "update %lld/%lld  %.0f steps/s  entropy %.2f",
                               (long long)(u + 1), (long long)updates, hist->steps_per_second, ps.entropy);
    }
    if (st == HS_OK)
        hs_progress_finish(&pr, "%lld steps in %.1f s (%.0f steps/s)", (long long)(hist->n * n),
                           hs_time_now() - t0, hist->steps_per_second);
    free(obs);
    free(act);
    free(logp);
    free(val);
    free(rew);
    free(adv);
    free(ret);
    free(done);
    free(last);
    free(last_act);
    if (st)
        hs_ppo_history_free(hist);
    return st;
}
