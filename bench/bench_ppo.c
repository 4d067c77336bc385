/* bench_ppo.c: hyscale's side of bench/ppo_bench.sh: environment steps per second of the
 * autoscaling environment alone (uniformly random actions), of rollouts with the policy (actor and
 * critic forward, sampling, environment step), and of PPO training (rollout, GAE, update), on the
 * CPU. The same command line and JSON line as bench/ppo_peer.py, its PyTorch peer.
 *
 * usage: bench_ppo --series series.csv [--forecast8 F.csv] [--holdout N] [--envs E] [--steps T]
 *                  [--total-steps N] [--mode env|rollout|train] [--seed S]
 * Validates before it times: finite observations and rewards, and (train) a finite loss. */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/env_input.h"
#include "hyscale/math/rng.h"
#include "hyscale/ppo.h"
#include "hyscale/progress.h"

static void usage(void)
{
    fprintf(stderr, "usage: bench_ppo --series series.csv [--forecast8 F.csv] [--holdout N] [--envs E] [--steps T] "
                    "[--total-steps N] [--mode env|rollout|train] [--seed S]\n");
    exit(2);
}

static int finite_all(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    const char *series = NULL, *f8 = NULL, *mode = "train";
    int64_t holdout = 1440, E = 64, T = 128, total = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--series"))
            series = v;
        else if (!strcmp(a, "--forecast8"))
            f8 = v;
        else if (!strcmp(a, "--mode"))
            mode = v;
        else if (!strcmp(a, "--holdout"))
            holdout = atoll(v);
        else if (!strcmp(a, "--envs"))
            E = atoll(v);
        else if (!strcmp(a, "--steps"))
            T = atoll(v);
        else if (!strcmp(a, "--total-steps"))
            total = atoll(v);
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--threads"))
            ; /* the threads come from OMP_NUM_THREADS / OPENBLAS_NUM_THREADS */
        else
            usage();
        i++;
    }
    if (!series || E < 1 || T < 1)
        usage();
    if (total <= 0)
        total = E * T * 10;
    /* the series folder, and the forecast copied beside it under the LSTM's name */
    char sbuf[4096], fbuf[4096], sdir[4096], fdir[4096];
    snprintf(sbuf, sizeof sbuf, "%s", series);
    snprintf(sdir, sizeof sdir, "%s", dirname(sbuf));
    const char *fc = "none";
    if (f8) {
        snprintf(fbuf, sizeof fbuf, "%s", f8);
        snprintf(fdir, sizeof fdir, "%s", dirname(fbuf));
        const char *base = strrchr(f8, '/') ? strrchr(f8, '/') + 1 : f8;
        if (strcmp(base, "lstm_forecast8.csv") && strcmp(base, "hybrid_forecast8.csv")) {
            fprintf(stderr, "bench_ppo: --forecast8 must be an lstm_forecast8.csv or hybrid_forecast8.csv\n");
            return 2;
        }
        fc = strcmp(base, "lstm_forecast8.csv") ? "hybrid" : "lstm";
    }
    hs_env_series s;
    int64_t start;
    if (hs_env_input_load(sdir, f8 ? fdir : sdir, fc, HS_ENV_AGGREGATE, holdout, &s, &start)) {
        fprintf(stderr, "bench_ppo: %s\n", hs_error_message());
        return 1;
    }
    hs_env_config ec = HS_ENV_CONFIG_DEFAULTS;
    ec.seed = seed;
    hs_ppo_config pc = HS_PPO_CONFIG_DEFAULTS;
    pc.envs = E;
    pc.steps = T;
    pc.seed = seed;
    pc.quiet = 1;
    hs_envs v;
    hs_ppo *agent = NULL;
    if (hs_envs_init(&v, &s, E, &ec) || hs_ppo_create(&agent, &pc, HS_DEVICE_CPU)) {
        fprintf(stderr, "bench_ppo: %s\n", hs_error_message());
        return 1;
    }
    int32_t *act = malloc((size_t)E * sizeof *act);
    float *logp = malloc((size_t)E * sizeof *logp), *val = malloc((size_t)E * sizeof *val);
    hs_rng g = hs_rng_make(seed, 99);
    double secs = 0, reward = NAN;
    int64_t steps = 0;
    int ok = 1;
    if (!strcmp(mode, "env") || !strcmp(mode, "rollout")) {
        int pol = !strcmp(mode, "rollout");
        int64_t n = total / E, warm = n / 10 + 1;
        double t0 = 0;
        for (int64_t k = 0; k < warm + n; k++) {
            if (k == warm)
                t0 = hs_time_now();
            if (pol) {
                /* the rollout's work per step: observations kept, forward, sample, step */
                hs_ppo_act(agent, v.obs, E, 0, (uint64_t)k, act, logp, val);
            } else {
                for (int64_t e = 0; e < E; e++)
                    act[e] = (int32_t)(hs_rng_next_u32(&g) % HS_ENV_ACTIONS);
            }
            hs_envs_targets_from_actions(&v, act, v.target);
            hs_envs_step(&v, v.target);
            if (k == 0)
                ok = finite_all(v.obs, E * HS_ENV_OBS) && finite_all(v.reward, E);
        }
        secs = hs_time_now() - t0;
        steps = n * E;
    } else if (!strcmp(mode, "train")) {
        /* warm-up: one update, then the timed run of total steps */
        hs_ppo_config wc = pc;
        hs_ppo_history h;
        wc.total_steps = E * T;
        hs_ppo *w = NULL;
        ok = hs_ppo_create(&w, &wc, HS_DEVICE_CPU) == HS_OK && hs_ppo_train(w, &v, &h) == HS_OK &&
             isfinite(h.loss[0]);
        hs_ppo_history_free(&h);
        hs_ppo_free(w);
        hs_ppo_free(agent);
        pc.total_steps = total;
        ok = ok && hs_ppo_create(&agent, &pc, HS_DEVICE_CPU) == HS_OK;
        double t0 = hs_time_now();
        ok = ok && hs_ppo_train(agent, &v, &h) == HS_OK;
        secs = hs_time_now() - t0;
        if (ok) {
            steps = h.env_steps[h.n - 1];
            for (int64_t u = h.n - 1; u >= 0; u--)
                if (isfinite(h.episode_reward[u])) {
                    reward = h.episode_reward[u];
                    break;
                }
            hs_ppo_history_free(&h);
        }
    } else {
        usage();
    }
    if (!ok) {
        fprintf(stderr, "bench_ppo: validation failed (non-finite values or a failed update): %s\n",
                hs_error_message());
        return 1;
    }
    printf("{\"impl\":\"hyscale\",\"mode\":\"%s\",\"envs\":%lld,\"steps\":%lld,\"env_steps\":%lld,\"seconds\":%.6f,"
           "\"steps_per_second\":%.1f,\"mean_episode_reward\":",
           mode, (long long)E, (long long)T, (long long)steps, secs, (double)steps / secs);
    if (isfinite(reward))
        printf("%.6f}\n", reward);
    else
        printf("null}\n");
    free(act);
    free(logp);
    free(val);
    hs_ppo_free(agent);
    hs_envs_free(&v);
    hs_env_series_free(&s);
    return 0;
}
