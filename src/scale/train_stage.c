/* train_stage.c: `hyscale train-ppo`: the environments over the training span of a series (and
 * a forecaster's F), PPO on them, then the policy file, the learning curve (CSV and plot) and the
 * manifest, written all together or not at all. In three steps, as the other stages: load,
 * train (compute) and write. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/env_rules.h"
#include "hyscale/manifest.h"
#include "hyscale/outfiles.h"
#include "hyscale/plot.h"
#include "hyscale/progress.h"
#include "hyscale/scale_stage.h"

int hs_train_ppo_norm_reward(const hs_train_ppo_config *c)
{
    return c->ppo.norm_reward >= 0 ? c->ppo.norm_reward : c->env.version == HS_ENV_V2;
}

static cJSON *hs_train_config_json(const hs_train_ppo_config *c, int64_t L)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "env_version", c->env.version);
    cJSON_AddStringToObject(j, "forecaster", c->forecaster);
    cJSON_AddStringToObject(j, "env_series", c->source == HS_ENV_FUNCTIONS ? "functions" : "aggregate");
    cJSON_AddStringToObject(j, "action_mode", c->env.mode == HS_ENV_DELTA ? "delta" : "margin");
    cJSON_AddNumberToObject(j, "holdout", (double)c->holdout);
    cJSON_AddNumberToObject(j, "episode_length", (double)L);
    cJSON_AddNumberToObject(j, "w_cold", c->env.w.w_cold);
    cJSON_AddNumberToObject(j, "w_idle", c->env.w.w_idle);
    cJSON_AddNumberToObject(j, "w_change", c->env.w.w_change);
    if (c->env.version == HS_ENV_V2) {
        cJSON_AddNumberToObject(j, "w_idle_lo", c->env.w_idle_lo);
        cJSON_AddNumberToObject(j, "w_idle_hi", c->env.w_idle_hi);
    }
    cJSON_AddNumberToObject(j, "envs", (double)c->ppo.envs);
    cJSON_AddNumberToObject(j, "steps", (double)c->ppo.steps);
    cJSON_AddNumberToObject(j, "total_steps", (double)c->ppo.total_steps);
    cJSON_AddNumberToObject(j, "epochs", c->ppo.epochs);
    cJSON_AddNumberToObject(j, "minibatches", c->ppo.minibatches);
    cJSON_AddNumberToObject(j, "hidden", c->ppo.hidden);
    cJSON_AddNumberToObject(j, "gamma", c->ppo.gamma);
    cJSON_AddNumberToObject(j, "gae_lambda", c->ppo.lambda);
    cJSON_AddNumberToObject(j, "clip", c->ppo.coefs.clip);
    cJSON_AddNumberToObject(j, "value_coef", c->ppo.coefs.c_value);
    cJSON_AddNumberToObject(j, "entropy_coef", c->ppo.coefs.c_entropy);
    cJSON_AddNumberToObject(j, "lr", c->ppo.lr);
    cJSON_AddNumberToObject(j, "adam_eps", c->ppo.adam_eps);
    cJSON_AddNumberToObject(j, "max_grad_norm", c->ppo.max_grad_norm);
    cJSON_AddBoolToObject(j, "anneal_lr", c->ppo.anneal);
    cJSON_AddBoolToObject(j, "norm_reward", hs_train_ppo_norm_reward(c));
    cJSON_AddNumberToObject(j, "seed", (double)c->ppo.seed);
    return j;
}

static hs_status hs_write_curve(hs_outset *os, const hs_ppo_history *h, int env_version)
{
    FILE *f;
    const char *tmp;
    HS_TRY(hs_outset_file(os, "ppo_learning_curve.csv", &f, &tmp));
    fputs("update,env_steps,seconds,episode_reward,cold_rate,idle_ratio,loss,entropy,approx_kl,env_version\n", f);
    static const char *const ep[3] = {"episode_reward", "cold_rate", "idle_ratio"};
    static const char *const up[3] = {"loss", "entropy", "approx_kl"};
    for (int64_t u = 0; u < h->n; u++) {
        /* an update in which no episode ended has empty episode fields (documented); every other
         * number is finite or nothing is written */
        double e[3] = {h->episode_reward[u], h->cold_rate[u], h->idle_ratio[u]};
        double s[3] = {h->loss[u], h->entropy[u], h->approx_kl[u]};
        if (isfinite(e[0]))
            HS_TRY(hs_out_check_finite(tmp, u + 2, 4, ep, e, 3));
        HS_TRY(hs_out_check_finite(tmp, u + 2, 7, up, s, 3));
        fprintf(f, "%lld,%lld,%.3f,", (long long)u + 1, (long long)h->env_steps[u], h->seconds[u]);
        if (isfinite(h->episode_reward[u]))
            fprintf(f, "%.6g,%.6g,%.6g,", h->episode_reward[u], h->cold_rate[u], h->idle_ratio[u]);
        else
            fputs(",,,", f);
        fprintf(f, "%.6g,%.6g,%.6g,%d\n", h->loss[u], h->entropy[u], h->approx_kl[u], env_version);
    }
    return ferror(f) ? hs_error_set(HS_ERR_IO, "%s: write failed", tmp) : HS_OK;
}

static hs_status hs_plot_curve(hs_outset *os, const hs_ppo_history *h, const char *forecaster)
{
    const char *tmp;
    HS_TRY(hs_outset_path(os, "ppo_learning_curve.png", &tmp));
    double *x = malloc((size_t)h->n * sizeof *x), *y = malloc((size_t)h->n * sizeof *y);
    double *c = malloc((size_t)h->n * sizeof *c), *i = malloc((size_t)h->n * sizeof *i);
    hs_status st = HS_OK;
    if (!x || !y || !c || !i)
        st = hs_error_set(HS_ERR_NOMEM, "ppo: out of memory for the plot");
    int64_t k = 0; /* the updates in which episodes ended, so the lines join */
    for (int64_t u = 0; st == HS_OK && u < h->n; u++) {
        if (!isfinite(h->episode_reward[u]))
            continue;
        x[k] = (double)h->env_steps[u];
        y[k] = h->episode_reward[u];
        c[k] = h->cold_rate[u];
        i[k] = h->idle_ratio[u];
        k++;
    }
    if (st == HS_OK) {
        char title[128];
        snprintf(title, sizeof title, "PPO learning curve (forecaster: %s)", forecaster);
        hs_plot_line r[1] = {{x, y, k, "mean episode reward", HS_COLOR_PURPLE}};
        hs_plot_line m[2] = {{x, c, k, "cold-start rate", HS_COLOR_BLUE},
                             {x, i, k, "over-provisioning ratio", HS_COLOR_ORANGE}};
        hs_plot_panel_spec p[2] = {{"episode reward", "environment steps", "reward", r, 1},
                                   {"cold starts and idle capacity", "environment steps", "ratio", m, 2}};
        st = hs_plot_panels_png(tmp, title, p, 2);
    }
    free(x);
    free(y);
    free(c);
    free(i);
    return st;
}

hs_status hs_train_ppo_check(const hs_train_ppo_config *c)
{
    if (!c->forecaster || !hs_env_forecaster_valid(c->forecaster))
        return hs_error_set(HS_ERR_USAGE, "--forecast '%s': unknown forecaster (none, prophet, lstm or hybrid)",
                            c->forecaster ? c->forecaster : "(null)");
    if (c->ppo.envs < 1 || c->ppo.envs > 1 << 20)
        return hs_error_set(HS_ERR_USAGE, "--envs %lld: out of range [1, %d]", (long long)c->ppo.envs, 1 << 20);
    if (c->ppo.steps < 1 || c->ppo.steps > 1 << 16)
        return hs_error_set(HS_ERR_USAGE, "--steps %lld: out of range [1, %d]", (long long)c->ppo.steps, 1 << 16);
    if (c->ppo.total_steps < 1)
        return hs_error_set(HS_ERR_USAGE, "--total-steps %lld: out of range (at least 1)",
                            (long long)c->ppo.total_steps);
    if (c->holdout < 0)
        return hs_error_set(HS_ERR_USAGE, "--holdout %lld: out of range (at least 0)", (long long)c->holdout);
    if (c->env.episode < 0)
        return hs_error_set(HS_ERR_USAGE, "--episode %lld: out of range (at least 0)", (long long)c->env.episode);
    if (c->ppo.norm_reward < -1 || c->ppo.norm_reward > 1)
        return hs_error_set(HS_ERR_USAGE, "--norm-reward %d: expected 0 or 1", c->ppo.norm_reward);
    if (!(c->ppo.lr > 0))
        return hs_error_set(HS_ERR_USAGE, "--lr %g: out of range (positive)", (double)c->ppo.lr);
    if (!(c->env.w.w_cold >= 0) || !(c->env.w.w_idle >= 0) || !(c->env.w.w_change >= 0))
        return hs_error_set(HS_ERR_USAGE, "--w-cold %g, --w-idle %g, --w-change %g: out of range (each at least 0)",
                            (double)c->env.w.w_cold, (double)c->env.w.w_idle, (double)c->env.w.w_change);
    if (c->env.version != HS_ENV_VERSION && c->env.version != HS_ENV_V2)
        return hs_error_set(HS_ERR_USAGE, "--env-version %d: expected 1 or 2", c->env.version);
    if (c->env.version == HS_ENV_V2 &&
        !(c->env.w_idle_lo > 0 && c->env.w_idle_lo <= c->env.w_idle_hi && c->env.w_idle_hi <= 100))
        return hs_error_set(HS_ERR_USAGE, "--w-idle-range %g,%g: expected 0 < LO <= HI <= 100",
                            (double)c->env.w_idle_lo, (double)c->env.w_idle_hi);
    return HS_OK;
}

int hs_train_ppo_fits(const hs_env_config *env, int64_t n, int64_t holdout, int64_t *episode)
{
    int64_t L = 0;
    int fits = hs_env_span_fits(n, holdout) && hs_env_episode_starts(env, n - holdout, &L, NULL, NULL);
    if (episode)
        *episode = hs_env_episode_length(env, n - holdout);
    return fits;
}

/* Every item of src into dst, replacing an item of the same name: the stage's configuration
 * joins what the caller put under the manifest's "config" (the CLI's options) without a second
 * key of the same name. */
static void hs_json_merge(cJSON *dst, const cJSON *src)
{
    for (const cJSON *it = src->child; it; it = it->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(dst, it->string);
        cJSON_AddItemToObject(dst, it->string, cJSON_Duplicate(it, 1));
    }
}

/* Everything one run of the stage holds between load, train and write. */
typedef struct hs_train_job {
    hs_env_series s;    /* the series (K, n) with the forecaster's F, its training span */
    int64_t L;          /* episode length */
    cJSON *cfg;         /* the stage's configuration (hs_train_config_json) */
    hs_envs v;          /* E environments over the training span */
    hs_ppo *agent;
    hs_ppo_history hist;
    float *params;      /* (hs_ppo_layout(agent)->total) the trained parameters */
} hs_train_job;

static void hs_train_job_free(hs_train_job *j)
{
    cJSON_Delete(j->cfg);
    free(j->params);
    hs_ppo_history_free(&j->hist);
    hs_ppo_free(j->agent);
    hs_envs_free(&j->v);
    hs_env_series_free(&j->s);
}

/* Load: the series and the forecast, the episode length, the configuration recorded. */
static hs_status hs_train_load(const hs_train_ppo_config *c, hs_train_job *j)
{
    int64_t start;
    HS_TRY(hs_env_input_load(c->series_dir, c->forecast_dir ? c->forecast_dir : c->series_dir, c->forecaster,
                             c->source, c->holdout, &j->s, &start));
    j->L = hs_env_episode_length(&c->env, j->s.n_train);
    if (!c->quiet && c->env.episode == 0 && j->s.n_train < 4 * 1440)
        fprintf(stderr, "train-ppo: the training span has %lld minutes (under 4 days): episodes of %lld minutes "
                        "(a quarter of it)\n",
                (long long)j->s.n_train, (long long)j->L);
    j->cfg = hs_train_config_json(c, j->L);
    return HS_OK;
}

/* The result: steps, time, and the mean episode reward over the last 10% of updates (those in
 * which episodes ended; NAN when none did). */
static void hs_train_summary(const hs_train_job *j, hs_train_ppo_result *r)
{
    const hs_ppo_history *h = &j->hist;
    r->env_steps = h->n ? h->env_steps[h->n - 1] : 0;
    r->episode_length = j->L;
    r->seconds = h->n ? h->seconds[h->n - 1] : 0;
    r->steps_per_second = h->steps_per_second;
    double sum = 0;
    int64_t cnt = 0, from = h->n - (h->n + 9) / 10;
    for (int64_t u = from; u < h->n; u++)
        if (isfinite(h->episode_reward[u]))
            sum += h->episode_reward[u], cnt++;
    r->final_episode_reward = cnt ? sum / (double)cnt : NAN;
}

/* Train: the environments (seeded by the PPO seed), the agent, PPO, the parameters out. */
static hs_status hs_train_compute(const hs_train_ppo_config *c, hs_train_job *j, hs_train_ppo_result *r)
{
    hs_env_config ec = c->env;
    ec.seed = c->ppo.seed;
    HS_TRY(hs_envs_init(&j->v, &j->s, c->ppo.envs, &ec));
    hs_ppo_config pc = c->ppo;
    pc.actions = hs_env_action_count(c->env.mode);
    pc.obs = hs_env_obs_size(c->env.version);
    pc.norm_reward = hs_train_ppo_norm_reward(c);
    HS_TRY(hs_ppo_create(&j->agent, &pc, HS_DEVICE_CPU));
    HS_TRY(hs_ppo_train(j->agent, &j->v, &j->hist));
    j->params = malloc((size_t)hs_ppo_layout(j->agent)->total * sizeof *j->params);
    if (!j->params)
        return hs_error_set(HS_ERR_NOMEM, "ppo: out of memory");
    HS_TRY(hs_ppo_get_params(j->agent, j->params));
    hs_train_summary(j, r);
    return HS_OK;
}

/* ppo_policy.safetensors, its metadata the configuration and the series' c and S (of row 0). */
static hs_status hs_train_write_policy(hs_outset *os, const hs_train_ppo_config *c, const hs_train_job *j)
{
    const char *src = c->source == HS_ENV_FUNCTIONS ? "functions" : "aggregate";
    FILE *f;
    const char *tmp;
    cJSON *meta = cJSON_CreateObject();
    char *text = cJSON_PrintUnformatted(j->cfg);
    cJSON_AddStringToObject(meta, "config", text);
    free(text);
    char buf[64];
    snprintf(buf, sizeof buf, "%.9g", j->s.c[0]);
    cJSON_AddStringToObject(meta, "c", buf);
    snprintf(buf, sizeof buf, "%.9g", (double)j->s.S[0]);
    cJSON_AddStringToObject(meta, "S", buf);
    hs_status st = hs_outset_file(os, "ppo_policy.safetensors", &f, &tmp);
    if (st == HS_OK)
        st = hs_ppo_policy_write(f, tmp, hs_ppo_layout(j->agent), j->params, j->s.forecaster, c->env.mode, src, meta);
    cJSON_Delete(meta);
    return st;
}

/* The manifest's configuration (the CLI's options merged with the stage's), metrics and timings. */
static void hs_train_manifest(const hs_train_ppo_config *c, const hs_train_job *j, const hs_train_ppo_result *r,
                              cJSON *manifest, double seconds)
{
    hs_json_merge(hs_manifest_section(manifest, "config"), j->cfg);
    cJSON_AddNumberToObject(manifest, "seed", (double)c->ppo.seed);
    cJSON *mt = hs_manifest_section(manifest, "metrics");
    cJSON_AddNumberToObject(mt, "env_steps", (double)r->env_steps);
    cJSON_AddNumberToObject(mt, "steps_per_second", r->steps_per_second);
    if (isfinite(r->final_episode_reward))
        cJSON_AddNumberToObject(mt, "final_episode_reward", r->final_episode_reward);
    cJSON_AddNumberToObject(mt, "c", j->s.c[0]);
    cJSON_AddNumberToObject(mt, "S", j->s.S[0]);
    cJSON *tm = hs_manifest_section(manifest, "timings");
    cJSON_AddNumberToObject(tm, "train_seconds", r->seconds);
    cJSON_AddNumberToObject(tm, "total_seconds", seconds);
}

/* Write: the policy, the learning curve (CSV, and the plot unless c->plot is 0) and the
 * manifest into out_dir, all together or none. */
static hs_status hs_train_write(const hs_train_ppo_config *c, const hs_train_job *j, const hs_train_ppo_result *r,
                                cJSON *manifest, double t0)
{
    hs_outset *os = NULL;
    hs_status st = hs_outset_open(c->out_dir, &os);
    if (st == HS_OK)
        st = hs_train_write_policy(os, c, j);
    if (st == HS_OK)
        st = hs_write_curve(os, &j->hist, c->env.version);
    if (st == HS_OK && c->plot)
        st = hs_plot_curve(os, &j->hist, j->s.forecaster);
    if (st == HS_OK) {
        hs_train_manifest(c, j, r, manifest, hs_time_now() - t0);
        st = hs_json_write(os, c->manifest_name, manifest);
    }
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    return st;
}

hs_status hs_train_ppo_run(const hs_train_ppo_config *c, cJSON *manifest, hs_train_ppo_result *r)
{
    memset(r, 0, sizeof *r);
    HS_ASSERT(c->series_dir && c->out_dir && c->forecaster);
    HS_TRY(hs_train_ppo_check(c));
    double t0 = hs_time_now();
    hs_train_job j;
    memset(&j, 0, sizeof j);
    hs_status st = hs_train_load(c, &j);
    if (st == HS_OK)
        st = hs_train_compute(c, &j, r);
    if (st == HS_OK)
        st = hs_train_write(c, &j, r, manifest, t0);
    hs_train_job_free(&j);
    return st;
}
