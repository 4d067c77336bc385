/* cmd_scale.c: `hyscale train-ppo` and `hyscale evaluate`, the scaling half of the pipeline. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hyscale/backend.h"
#include "hyscale/manifest.h"
#include "hyscale/scale_stage.h"

/* "aggregate" or "functions" into *out; 0 on success. */
static int hs_parse_source(const char *cmd, const char *word, hs_env_source *out)
{
    if (!strcmp(word, "aggregate"))
        *out = HS_ENV_AGGREGATE;
    else if (!strcmp(word, "functions"))
        *out = HS_ENV_FUNCTIONS;
    else {
        fprintf(stderr, "hyscale %s: --env-series '%s': expected aggregate or functions\n", cmd, word);
        return -1;
    }
    return 0;
}

static int hs_parse_device(const char *cmd, const char *word)
{
    if (strcmp(word, "cpu") != 0 && strcmp(word, "auto") != 0) {
        fprintf(stderr, "hyscale %s: --device '%s': this build runs PPO on the CPU (cpu or auto)\n", cmd, word);
        return -1;
    }
    return 0;
}

/* The resolved options under "config", the manifest's one name for them (the stage adds its own
 * keys there), and the same object again under "options", the name these two commands used
 * before, so that older readers of train_ppo.manifest.json and evaluate.manifest.json work. */
static void hs_scale_manifest_options(cJSON *m, const hs_cli *cli)
{
    cJSON *opts = hs_cli_config_json(cli);
    cJSON_AddItemToObject(m, "config", cJSON_Duplicate(opts, 1));
    cJSON_AddItemToObject(m, "options", opts);
}

int hs_cmd_train_ppo(int argc, char **argv)
{
    hs_train_ppo_config c = HS_TRAIN_PPO_DEFAULTS;
    const char *source = "aggregate", *device = "auto", *mode = "margin";
    int64_t envs = c.ppo.envs, steps = c.ppo.steps, total = c.ppo.total_steps, episode = 0;
    double lr = c.ppo.lr, wc = c.env.w.w_cold, wi = c.env.w.w_idle, wch = c.env.w.w_change;
    double wlo = c.env.w_idle_lo, whi = c.env.w_idle_hi;
    c.ppo.norm_reward = -1; /* the ENV version's default (hs_train_ppo_norm_reward) */
    int no_plot = 0;
    hs_opt opts[] = {
        {"series", HS_OPT_STR, &c.series_dir, "DIR", "a preprocess output folder (series.csv) (required)"},
        {"forecast", HS_OPT_STR, &c.forecaster, "none|prophet|lstm|hybrid", "the forecast the agent observes (none)"},
        {"forecast-dir", HS_OPT_STR, &c.forecast_dir, "DIR", "where the forecast files are (default: --series)"},
        {"out", HS_OPT_STR, &c.out_dir, "DIR", "output folder (required)"},
        {"envs", HS_OPT_I64, &envs, "E", "environments stepped at once (64)"},
        {"steps", HS_OPT_I64, &steps, "T", "rollout steps per update (128)"},
        {"total-steps", HS_OPT_I64, &total, "N", "environment steps in all (5,000,000)"},
        {"holdout", HS_OPT_I64, &c.holdout, "N", "minutes at the end kept out of training (1440)"},
        {"env-series", HS_OPT_STR, &source, "aggregate|functions", "replay the aggregate or each function (aggregate)"},
        {"action-mode", HS_OPT_STR, &mode, "margin|delta", "headroom over the forecast, or up/hold/down (margin)"},
        {"episode", HS_OPT_I64, &episode, "L", "episode length (1440, or a quarter of a span under 4 days)"},
        {"lr", HS_OPT_DOUBLE, &lr, "LR", "Adam learning rate (3e-4)"},
        {"anneal", HS_OPT_FLAG, &c.ppo.anneal, NULL, "anneal the learning rate linearly to 0"},
        {"norm-reward", HS_OPT_INT, &c.ppo.norm_reward, "0|1",
         "divide rewards by the running std of the discounted return (1 with --env-version 2, else 0)"},
        {"w-cold", HS_OPT_DOUBLE, &wc, "W", "reward weight of a cold start (1.0)"},
        {"w-idle", HS_OPT_DOUBLE, &wi, "W", "reward weight of an idle instance-minute (0.1)"},
        {"w-change", HS_OPT_DOUBLE, &wch, "W", "reward weight of a scaling change (0.01)"},
        {"env-version", HS_OPT_INT, &c.env.version, "1|2",
         "1: ENV.md; 2: docs/ENV-v2.md (the forecaster's recent errors observed, the idle weight an input)"},
        {"w-idle-lo", HS_OPT_DOUBLE, &wlo, "W", "ENV v2: the least idle weight an episode draws (0.02)"},
        {"w-idle-hi", HS_OPT_DOUBLE, &whi, "W", "ENV v2: the largest idle weight an episode draws (0.5)"},
        {"device", HS_OPT_STR, &device, "cpu|auto", "device (PPO runs on the CPU: it has no CUDA backend yet)"},
        {"seed", HS_OPT_U64, &c.ppo.seed, "S", "seed of the initialisation, episodes and sampling (1)"},
        {"no-plot", HS_OPT_FLAG, &no_plot, NULL, "do not write the learning-curve plot"},
        {"quiet", HS_OPT_FLAG, &c.quiet, NULL, "no progress or summary"},
    };
    hs_cli cli = {"train-ppo", "--series DIR --forecast none|prophet|lstm|hybrid --out DIR [options]",
                  "Trains a PPO agent (actor and critic MLPs 64x64, tanh) over E autoscaling environments at once\n"
                  "(ENV.md version 1) on the training span of the series. Writes ppo_policy.safetensors,\n"
                  "ppo_learning_curve.csv, ppo_learning_curve.png and train_ppo.manifest.json into DIR.",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 0};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (!c.series_dir || !c.out_dir) {
        fprintf(stderr, "hyscale train-ppo: --series and --out are required (see --help)\n");
        return 2;
    }
    if (hs_parse_source("train-ppo", source, &c.source) || hs_parse_device("train-ppo", device))
        return 2;
    if (strcmp(mode, "margin") && strcmp(mode, "delta")) {
        fprintf(stderr, "hyscale train-ppo: --action-mode '%s': expected margin or delta\n", mode);
        return 2;
    }
    c.env.mode = strcmp(mode, "delta") ? HS_ENV_MARGIN : HS_ENV_DELTA;
    c.env.episode = episode;
    c.env.w.w_cold = (float)wc;
    c.env.w.w_idle = (float)wi;
    c.env.w.w_change = (float)wch;
    c.env.w_idle_lo = (float)wlo;
    c.env.w_idle_hi = (float)whi;
    c.ppo.envs = envs;
    c.ppo.steps = steps;
    c.ppo.total_steps = total;
    c.ppo.lr = (float)lr;
    c.ppo.quiet = c.quiet;
    c.plot = !no_plot;
    if (hs_train_ppo_check(&c))
        return hs_cli_usage_fail(&cli);
    cJSON *m = hs_manifest_new("train-ppo", argc, argv);
    hs_scale_manifest_options(m, &cli);
    hs_manifest_set_device(m, HS_DEVICE_CPU);
    hs_train_ppo_result r;
    hs_status st = hs_train_ppo_run(&c, m, &r);
    cJSON_Delete(m);
    if (st)
        return hs_cli_fail(st);
    if (!c.quiet)
        printf("train-ppo: %lld steps in %.1f s (%.0f steps/s), episodes of %lld minutes; final mean episode reward "
               "%.3f\n  outputs      %s/ (ppo_policy.safetensors, ppo_learning_curve.csv, ppo_learning_curve.png)\n",
               (long long)r.env_steps, r.seconds, r.steps_per_second, (long long)r.episode_length,
               r.final_episode_reward, c.out_dir);
    return 0;
}

int hs_cmd_evaluate(int argc, char **argv)
{
    hs_evaluate_config c = HS_EVALUATE_DEFAULTS;
    const char *source = "aggregate";
    int no_plot = 0, no_sweep = 0;
    hs_opt opts[] = {
        {"series", HS_OPT_STR, &c.series_dir, "DIR", "a preprocess output folder (series.csv) (required)"},
        {"out", HS_OPT_STR, &c.out_dir, "DIR", "folder with the forecasts and trained policies; outputs go here"},
        {"holdout", HS_OPT_I64, &c.holdout, "N", "minutes at the end replayed (1440)"},
        {"env-series", HS_OPT_STR, &source, "aggregate|functions", "replay the aggregate or each function (aggregate)"},
        {"policies", HS_OPT_STR, &c.policies, "LIST",
         "comma-separated policies to evaluate (default all: reactive, forecast, forecast+margin, keepalive-10, "
         "static-p99, hybrid-histogram, ppo)"},
        {"no-plot", HS_OPT_FLAG, &no_plot, NULL, "do not write pareto.png"},
        {"no-sweep", HS_OPT_FLAG, &no_sweep, NULL,
         "score one setting of each classic policy only (default: also sweep each one's knob)"},
        {"quiet", HS_OPT_FLAG, &c.quiet, NULL, "no summary"},
    };
    hs_cli cli = {"evaluate", "--series DIR --out DIR [--holdout N]",
                  "Replays the holdout span with every classic policy (reactive, forecast and forecast+margin for\n"
                  "each forecast found, keepalive-10, static-p99; hybrid-histogram per function), every setting\n"
                  "of each one's knob (the swept front: headroom 0-100%, keep-alive 1-60 min, static p50-p100,\n"
                  "the histogram's percentile) and every trained policy found in DIR (ppo_policy.safetensors there and one folder down). Writes\n"
                  "scaling_eval.csv, scaling_report.md, pareto.png and evaluate.manifest.json into DIR.",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 0};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (!c.series_dir || !c.out_dir) {
        fprintf(stderr, "hyscale evaluate: --series and --out are required (see --help)\n");
        return 2;
    }
    if (hs_parse_source("evaluate", source, &c.source))
        return 2;
    if (hs_evaluate_check(&c))
        return hs_cli_usage_fail(&cli);
    c.plot = !no_plot;
    c.sweep = !no_sweep;
    cJSON *m = hs_manifest_new("evaluate", argc, argv);
    hs_scale_manifest_options(m, &cli);
    hs_manifest_set_device(m, HS_DEVICE_CPU);
    hs_evaluate_result r;
    hs_status st = hs_evaluate_run(&c, m, &r);
    cJSON_Delete(m);
    if (st)
        return hs_cli_fail(st);
    if (!c.quiet) {
        printf("evaluate: %d policies on the last %lld minutes\n", r.n, (long long)c.holdout);
        printf("  %-18s %-8s %10s %10s %10s\n", "policy", "forecast", "cold_rate", "overprov", "reward");
        int swept = 0;
        for (int i = 0; i < r.n; i++) {
            const hs_eval_row *w = &r.rows[i];
            swept += w->sweep;
            if (w->sweep)
                continue;
            double vs = hs_eval_vs_hull(w);
            printf("  %-18s %-8s %10.4f %10.4f %10.5f%s", w->policy, w->forecaster, hs_env_metrics_cold_rate(&w->m),
                   hs_env_metrics_overprov(&w->m), w->m.steps ? w->m.reward / (double)w->m.steps : 0.0,
                   w->front ? "  (Pareto front)" : "");
            if (!strcmp(w->policy, "ppo") && isfinite(vs))
                printf("  %+.1f%% cold starts vs the classic hull", -100 * vs);
            putchar('\n');
        }
        if (swept)
            printf("  and %d swept settings of the classic policies (scaling_eval.csv, sweep = 1)\n", swept);
        printf("  outputs      %s/ (scaling_eval.csv, scaling_report.md, pareto.png)\n", c.out_dir);
    }
    return 0;
}
