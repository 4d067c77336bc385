/* cmd_run.c: `hyscale run [--input PATH...] [--out DIR]`: every stage that exists, in order,
 * into one run folder: (generate the built-in trace when no input is given), preprocess, the
 * forecasters and their report, PPO agents and the evaluation of every scaling policy. The run's manifest.json records each stage's configuration and timings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hyscale/backend.h"
#include "hyscale/manifest.h"
#include "hyscale/preprocess.h"
#include "hyscale/hybrid.h"
#include "hyscale/lstm_stage.h"
#include "hyscale/progress.h"
#include "hyscale/prophet_stage.h"
#include "hyscale/env.h"
#include "hyscale/scale_stage.h"
#include "hyscale/synth.h"

int hs_cmd_run(int argc, char **argv)
{
    hs_strlist inputs = {0};
    const char *out = NULL, *device = "auto", *lstm_impl = "auto";
    hs_synth_config syn = HS_SYNTH_DEFAULTS;
    hs_preprocess_config pre = HS_PREPROCESS_DEFAULTS;
    int64_t holdout = 1440;
    hs_lstm_stage_config lc = HS_LSTM_STAGE_DEFAULTS;
    lc.train.epochs = 10;
    int64_t ppo_steps = 5000000, ppo_envs = 64;
    int no_ppo = 0;
    hs_opt opts[] = {
        {"input", HS_OPT_LIST, &inputs, "PATH", "trace files or folders (default: generate the built-in trace)"},
        {"out", HS_OPT_STR, &out, "DIR", "run folder (default outputs/run-<UTC time>)"},
        {"days", HS_OPT_INT, &syn.days, "D", "built-in trace: days (default 14)"},
        {"functions", HS_OPT_INT, &syn.functions, "N", "built-in trace: functions (default 1000)"},
        {"top-functions", HS_OPT_INT, &pre.functions, "N", "per-function series kept (default 100)"},
        {"skip-bad-rows", HS_OPT_FLAG, &pre.skip_bad_rows, NULL, "skip bad rows, counting them by cause"},
        {"holdout", HS_OPT_I64, &holdout, "N", "forecasters: minutes held out and scored (default 1440)"},
        {"lstm-epochs", HS_OPT_INT, &lc.train.epochs, "E", "LSTM: most epochs (10 in a run; early stopping)"},
        {"lstm-hidden", HS_OPT_INT, &lc.train.hidden, "H", "LSTM: hidden size (64)"},
        {"lstm-impl", HS_OPT_STR, &lstm_impl, "auto|cublas|persistent|cudnn", "LSTM: the GPU implementation"},
        {"ppo-steps", HS_OPT_I64, &ppo_steps, "N", "PPO: environment steps per agent (5,000,000)"},
        {"ppo-envs", HS_OPT_I64, &ppo_envs, "E", "PPO: environments at once (64)"},
        {"no-ppo", HS_OPT_FLAG, &no_ppo, NULL, "skip PPO training (the evaluation still runs)"},
        {"seed", HS_OPT_U64, &syn.seed, "S", "random seed (default 1)"},
        {"device", HS_OPT_STR, &device, "auto|cpu|cuda", "device for the heavy stages"},
        {"quiet", HS_OPT_FLAG, &pre.quiet, NULL, "no progress or summaries"},
    };
    hs_cli cli = {"run", "[--input PATH...] [--out DIR] [options]",
                  "Runs every stage that exists, in order, into one run folder: with no --input, first\n"
                  "generates the built-in synthetic trace (14 days x 1000 functions) into DIR/trace/;\n"
                  "then preprocess into DIR/, then the forecasters (Prophet, LSTM, Hybrid; the holdout\n"
                  "scored, the next day forecast) and forecast_report.md; then PPO agents trained with the\n"
                  "Hybrid forecast (Prophet's when the LSTM is skipped) and with none (DIR/ppo_<forecast>/),\n"
                  "and the evaluation of every scaling policy on the holdout (scaling_eval.csv,\n"
                  "scaling_report.md, pareto.png).",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 0};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    char outbuf[256];
    if (!out) {
        time_t now = time(NULL);
        struct tm tmv;
        gmtime_r(&now, &tmv);
        strftime(outbuf, sizeof outbuf, "outputs/run-%Y%m%d-%H%M%S", &tmv);
        out = outbuf;
    }
    hs_device dev;
    hs_status st = hs_device_resolve(device, &dev);
    if (st == HS_OK)
        st = hs_lstm_pick_backend(device, lstm_impl, pre.quiet, &lc.train.backend, &dev);
    if (st)
        return hs_cli_fail(st);
    syn.quiet = pre.quiet;
    double t0 = hs_time_now();
    cJSON *m = hs_manifest_new("run", argc, argv);
    cJSON_AddItemToObject(m, "config", hs_cli_config_json(&cli));
    cJSON_AddNumberToObject(m, "seed", (double)syn.seed);
    hs_manifest_set_device(m, dev);
    cJSON *stages = cJSON_AddArrayToObject(m, "stages");
    char tracedir[512];
    char *gen_inputs[1];
    if (inputs.n == 0) {
        snprintf(tracedir, sizeof tracedir, "%s/trace", out);
        hs_synth_summary sum;
        st = hs_synth_generate(&syn, tracedir, &sum);
        if (st == HS_OK) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "stage", "generate");
            cJSON_AddStringToObject(s, "folder", "trace");
            cJSON_AddNumberToObject(s, "seconds", sum.seconds);
            cJSON_AddNumberToObject(s, "invocations", (double)sum.invocations);
            cJSON_AddItemToArray(stages, s);
            if (!pre.quiet)
                printf("run: generated the SYNTHETIC built-in trace (%d days x %d functions, seed %llu) in %.1f s\n",
                       sum.days, sum.functions, (unsigned long long)syn.seed, sum.seconds);
        }
        gen_inputs[0] = tracedir;
        pre.inputs = gen_inputs;
        pre.ninputs = 1;
    } else {
        pre.inputs = inputs.v;
        pre.ninputs = inputs.n;
    }
    hs_preprocess_result res;
    memset(&res, 0, sizeof res);
    if (st == HS_OK) {
        pre.out_dir = out;
        pre.manifest_name = "preprocess.manifest.json";
        cJSON *pm = hs_manifest_new("preprocess", argc, argv);
        hs_manifest_set_device(pm, HS_DEVICE_CPU);
        st = hs_preprocess_run(&pre, pm, &res);
        cJSON_Delete(pm);
    }
    if (st == HS_OK) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "stage", "preprocess");
        cJSON_AddStringToObject(s, "manifest", "preprocess.manifest.json");
        cJSON_AddNumberToObject(s, "seconds", res.seconds);
        cJSON_AddNumberToObject(s, "invocations", res.stats.total);
        cJSON_AddNumberToObject(s, "minutes", (double)res.series.n);
        cJSON_AddItemToArray(stages, s);
        if (!pre.quiet)
            hs_preprocess_print_summary(&res, stdout);
    }
    if (st == HS_OK) {
        /* forecast: Prophet on the series, the last `holdout` minutes scored */
        char series[600];
        snprintf(series, sizeof series, "%s/series.csv", out);
        hs_prophet_stage_config pc = HS_PROPHET_STAGE_DEFAULTS;
        pc.input = series;
        pc.out_dir = out;
        pc.holdout = holdout < res.series.n - 2 ? holdout : res.series.n / 5;
        pc.quiet = pre.quiet;
        pc.model.seed = syn.seed;
        pc.manifest_name = "prophet.manifest.json";
        /* Prophet's auto rule wants more than two weeks for weekly seasonality; a 14-day trace
         * (20,159 minutes from first to last) falls just short, yet holds two full weeks */
        if (res.series.n * res.series.step_seconds >= 13 * 86400)
            pc.model.weekly = 3;
        cJSON *fm = hs_manifest_new("forecast prophet", argc, argv);
        hs_manifest_set_device(fm, HS_DEVICE_CPU);
        hs_prophet_stage_result pr;
        st = hs_prophet_stage_run(&pc, fm, &pr);
        cJSON_Delete(fm);
        if (st == HS_OK) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "stage", "forecast prophet");
            cJSON_AddStringToObject(s, "manifest", "prophet.manifest.json");
            cJSON_AddNumberToObject(s, "seconds", pr.fit_seconds + pr.predict_seconds);
            cJSON_AddNumberToObject(s, "holdout", (double)pr.holdout);
            cJSON_AddNumberToObject(s, "mae", pr.mae);
            cJSON_AddNumberToObject(s, "rmse", pr.rmse);
            cJSON_AddItemToArray(stages, s);
            if (!pre.quiet)
                printf("forecast prophet: holdout %lld minutes: MAE %.1f, RMSE %.1f invocations/minute "
                       "(fit %.0f ms)\n",
                       (long long)pr.holdout, pr.mae, pr.rmse, 1e3 * pr.fit_seconds);
        }
    }
    int64_t lstm_holdout = holdout < res.series.n - 2 ? holdout : res.series.n / 5;
    int lstm_fits = res.series.n - lstm_holdout >= 2 * (int64_t)lc.train.window + 2;
    if (st == HS_OK && !lstm_fits) {
        /* too short for the LSTM's window: the run goes on with what can be done */
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "stage", "forecast lstm");
        cJSON_AddStringToObject(s, "skipped", "the training span is shorter than two windows");
        cJSON_AddItemToArray(stages, s);
        fprintf(stderr, "run: LSTM and Hybrid skipped: %lld points leave %lld to train on, fewer than the %d the "
                        "%d-point window needs\n",
                (long long)res.series.n, (long long)(res.series.n - lstm_holdout), 2 * lc.train.window + 2,
                lc.train.window);
    }
    if (st == HS_OK && lstm_fits) {
        /* forecast: the LSTM on the same series and holdout, then the Hybrid and the report */
        char series[600];
        snprintf(series, sizeof series, "%s/series.csv", out);
        lc.input = series;
        lc.out_dir = out;
        lc.holdout = lstm_holdout;
        lc.quiet = pre.quiet;
        lc.train.quiet = pre.quiet;
        lc.train.seed = syn.seed;
        lc.manifest_name = "lstm.manifest.json";
        cJSON *lm = hs_manifest_new("forecast lstm", argc, argv);
        hs_manifest_set_device(lm, dev);
        hs_lstm_stage_result lr;
        st = hs_lstm_stage_run(&lc, lm, &lr);
        cJSON_Delete(lm);
        if (st == HS_OK) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "stage", "forecast lstm");
            cJSON_AddStringToObject(s, "manifest", "lstm.manifest.json");
            cJSON_AddNumberToObject(s, "seconds", lr.train_seconds);
            cJSON_AddNumberToObject(s, "one_step_mae", lr.one_step_mae);
            cJSON_AddNumberToObject(s, "recursive_mae", lr.recursive_mae);
            cJSON_AddItemToArray(stages, s);
            if (!pre.quiet)
                printf("forecast lstm: holdout MAE one step %.1f, recursive %.1f (%d epochs, %.1f s)\n",
                       lr.one_step_mae, lr.recursive_mae, lr.epochs, lr.train_seconds);
        }
    }
    if (st == HS_OK && lstm_fits) {
        cJSON *hm = hs_manifest_new("forecast hybrid", argc, argv);
        hs_hybrid_result hr;
        st = hs_hybrid_run(out, pre.quiet, hm, &hr);
        cJSON_Delete(hm);
        if (st == HS_OK) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "stage", "forecast hybrid");
            cJSON_AddNumberToObject(s, "prophet_weight", hr.weight);
            cJSON_AddItemToArray(stages, s);
        }
    }
    if (st == HS_OK)
        st = hs_forecast_report_write(out);
    /* learning to scale: agents with the best forecast there is and with none, then every policy
     * replayed on the holdout */
    const char *agents[2] = {lstm_fits ? "hybrid" : "prophet", "none"};
    hs_env_config dflt = HS_ENV_CONFIG_DEFAULTS;
    int64_t span = res.series.n - lstm_holdout, episode = hs_env_episode_length(&dflt, span);
    int ppo_fits = span - episode - 9 >= 7 + 16; /* room for episodes to start in */
    if (st == HS_OK && !no_ppo && !ppo_fits) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "stage", "train-ppo");
        cJSON_AddStringToObject(s, "skipped", "the training span is too short for episodes");
        cJSON_AddItemToArray(stages, s);
        fprintf(stderr, "run: PPO skipped: a training span of %lld minutes is too short for episodes of %lld\n",
                (long long)span, (long long)episode);
    }
    for (int a = 0; st == HS_OK && !no_ppo && ppo_fits && a < 2; a++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/ppo_%s", out, agents[a]);
        hs_train_ppo_config tc = HS_TRAIN_PPO_DEFAULTS;
        tc.series_dir = out;
        tc.forecaster = agents[a];
        tc.out_dir = dir;
        tc.holdout = lstm_holdout;
        tc.ppo.total_steps = ppo_steps;
        tc.ppo.envs = ppo_envs;
        tc.ppo.seed = syn.seed;
        tc.ppo.quiet = tc.quiet = pre.quiet;
        cJSON *tm = hs_manifest_new("train-ppo", argc, argv);
        hs_manifest_set_device(tm, HS_DEVICE_CPU);
        hs_train_ppo_result tr;
        st = hs_train_ppo_run(&tc, tm, &tr);
        cJSON_Delete(tm);
        if (st == HS_OK) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "stage", "train-ppo");
            cJSON_AddStringToObject(s, "forecaster", agents[a]);
            cJSON_AddStringToObject(s, "folder", dir + strlen(out) + 1);
            cJSON_AddNumberToObject(s, "seconds", tr.seconds);
            cJSON_AddNumberToObject(s, "steps_per_second", tr.steps_per_second);
            cJSON_AddItemToArray(stages, s);
            if (!pre.quiet)
                printf("train-ppo (%s forecast): %lld steps in %.1f s (%.0f steps/s), final mean episode reward "
                       "%.3f\n",
                       agents[a], (long long)tr.env_steps, tr.seconds, tr.steps_per_second, tr.final_episode_reward);
        }
    }
    if (st == HS_OK && span >= 16) { /* the environment needs 16 minutes to train on */
        hs_evaluate_config ec = HS_EVALUATE_DEFAULTS;
        ec.series_dir = out;
        ec.out_dir = out;
        ec.holdout = lstm_holdout;
        ec.quiet = pre.quiet;
        cJSON *em = hs_manifest_new("evaluate", argc, argv);
        hs_manifest_set_device(em, HS_DEVICE_CPU);
        hs_evaluate_result er;
        st = hs_evaluate_run(&ec, em, &er);
        cJSON_Delete(em);
        if (st == HS_OK) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "stage", "evaluate");
            cJSON_AddStringToObject(s, "manifest", "evaluate.manifest.json");
            cJSON_AddNumberToObject(s, "policies", er.n);
            cJSON_AddNumberToObject(s, "agents_dominated", er.ppo_dominated);
            cJSON_AddItemToArray(stages, s);
            if (!pre.quiet) {
                printf("evaluate: %d policies on the holdout; %d of %d trained agents dominated by a classic "
                       "policy\n",
                       er.n, er.ppo_dominated, er.ppo_rows);
                for (int i = 0; i < er.n; i++)
                    printf("  %-16s %-8s cold rate %.4f  over-provisioning %.4f%s\n", er.rows[i].policy,
                           er.rows[i].forecaster, hs_env_metrics_cold_rate(&er.rows[i].m),
                           hs_env_metrics_overprov(&er.rows[i].m), er.rows[i].front ? "  (front)" : "");
            }
        }
    }
    if (st == HS_OK) {
        cJSON_AddNumberToObject(hs_manifest_section(m, "timings"), "total_seconds", hs_time_now() - t0);
        st = hs_json_write_file(out, "manifest.json", m);
    }
    cJSON_Delete(m);
    hs_preprocess_result_free(&res);
    if (st)
        return hs_cli_fail(st);
    if (!pre.quiet)
        printf("run: done in %.1f s. Outputs in %s/:\n"
               "  series.csv series.json series.png functions.safetensors functions.csv manifest.json\n"
               "  prophet_full.csv prophet_next.csv prophet_metrics.json prophet_model.json prophet.png\n"
               "  lstm_full.csv lstm_next.csv lstm_metrics.json lstm.safetensors lstm.png\n"
               "  hybrid_full.csv hybrid_next.csv hybrid_metrics.json hybrid.png forecast_report.md\n"
               "  ppo_*/ppo_policy.safetensors scaling_eval.csv scaling_report.md pareto.png%s\n",
               hs_time_now() - t0, out, inputs.n == 0 ? " trace/" : "");
    return 0;
}
