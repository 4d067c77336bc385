/* ppo_train.c: PPO's training loop, written once above the resident backend seam
 * (src/backend/ppo_seam.h): per update a rollout of T steps over E environments, GAE and the
 * update's epochs and minibatches, all in the backend's memory; the loop reads back only the
 * update's statistics and the ended episodes' metrics. Nothing is allocated inside the loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ppo_seam.h"
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
    if (v->O != cfg->obs)
        return hs_error_set(HS_ERR_USAGE, "ppo: the environments observe %d values, the agent was made for %d", v->O,
                            cfg->obs);
    int64_t updates = cfg->total_steps / n;
    if (updates < 1)
        updates = 1;
    HS_TRY(hs_history_alloc(hist, updates));
    void *ctx, *envs = NULL;
    const hs_ppo_ops *ops = hs_ppo_backend(p, &ctx);
    const hs_env_ops *eops = ops->env();
    hs_env_metrics m;
    int64_t ne;
    hs_status st = eops->adopt(&envs, v);
    if (st == HS_OK)
        st = ops->bind(ctx, envs, T);
    if (st == HS_OK) /* episodes ended before training are not this run's */
        st = eops->take_finished(envs, &m, &ne);
    hs_progress pr;
    hs_progress_start(&pr, "train-ppo", (double)(updates * n), cfg->quiet);
    double t0 = hs_time_now();
    for (int64_t u = 0; st == HS_OK && u < updates; u++) {
        float lr = cfg->anneal ? cfg->lr * (1.0f - (float)u / (float)updates) : cfg->lr;
        hs_ppo_stats ps;
        st = ops->rollout(ctx, (uint64_t)(u * T));
        if (st == HS_OK)
            st = ops->gae(ctx, cfg->gamma, cfg->lambda);
        if (st == HS_OK)
            st = ops->update(ctx, lr, &ps);
        if (st == HS_OK)
            st = eops->take_finished(envs, &m, &ne);
        if (st)
            break;
        double secs = hs_time_now() - t0;
        hist->n = u + 1;
        hist->env_steps[u] = (u + 1) * n;
        hist->seconds[u] = secs;
        hist->episode_reward[u] = ne ? m.reward / (double)ne : NAN;
        hist->cold_rate[u] = ne ? hs_env_metrics_cold_rate(&m) : NAN;
        hist->idle_ratio[u] = ne ? hs_env_metrics_overprov(&m) : NAN;
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
    if (envs) {
        hs_status su = ops->unbind(ctx), sr = eops->release(envs, v);
        if (st == HS_OK)
            st = su ? su : sr;
    }
    if (st)
        hs_ppo_history_free(hist);
    return st;
}
