/* run.c: the pipeline behind `hyscale run` (pipeline.h): plan each stage from the stages' own
 * rules, run it with a manifest of its own, and record it in the run's manifest. The CLI only
 * parses options; everything a run decides is here. */
#include "hyscale/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/env.h"
#include "hyscale/hybrid.h"
#include "hyscale/manifest.h"
#include "hyscale/progress.h"
#include "hyscale/prophet_stage.h"
#include "hyscale/scale_stage.h"

/* One run between its stages. */
typedef struct hs_run {
    const hs_pipeline_config *c;
    cJSON *stages;              /* the manifest's "stages" array */
    hs_preprocess_result pre;
    int64_t holdout;            /* of the forecasters and the environment */
    int lstm_fits, ppo_fits, eval_fits;
    int64_t episode;            /* PPO's episode length on this series */
    char series[600];           /* out/series.csv */
} hs_run;

/* The scaling stages' configurations as the run sets them. */
static hs_train_ppo_config hs_run_ppo_config(const hs_pipeline_config *c, int64_t holdout, const char *forecaster,
                                             const char *dir)
{
    hs_train_ppo_config tc = HS_TRAIN_PPO_DEFAULTS;
    tc.series_dir = c->out;
    tc.forecaster = forecaster;
    tc.out_dir = dir;
    tc.holdout = holdout;
    tc.ppo.total_steps = c->ppo_steps;
    tc.ppo.envs = c->ppo_envs;
    tc.ppo.norm_reward = -1; /* the ENV version's default: reward scaling for version 2 */
    tc.ppo.seed = c->synth.seed;
    tc.ppo.quiet = tc.quiet = c->quiet;
    return tc;
}

static hs_evaluate_config hs_run_evaluate_config(const hs_pipeline_config *c, int64_t holdout)
{
    hs_evaluate_config ec = HS_EVALUATE_DEFAULTS;
    ec.series_dir = c->out;
    ec.out_dir = c->out;
    ec.holdout = holdout;
    ec.quiet = c->quiet;
    return ec;
}

hs_status hs_pipeline_check(const hs_pipeline_config *c)
{
    HS_TRY(hs_lstm_stage_check(&c->lstm));
    hs_prophet_stage_config pc = HS_PROPHET_STAGE_DEFAULTS;
    pc.holdout = c->holdout;
    HS_TRY(hs_prophet_stage_check(&pc));
    if (!c->no_ppo) {
        hs_train_ppo_config tc = hs_run_ppo_config(c, c->holdout, "none", c->out);
        HS_TRY(hs_train_ppo_check(&tc));
    }
    hs_evaluate_config ec = hs_run_evaluate_config(c, c->holdout);
    return hs_evaluate_check(&ec);
}

static cJSON *hs_run_stage(hs_run *run, const char *name)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "stage", name);
    cJSON_AddItemToArray(run->stages, s);
    return s;
}

/* The built-in trace into out/trace (no inputs given). */
static hs_status hs_run_generate(hs_run *run, char *tracedir, size_t cap)
{
    const hs_pipeline_config *c = run->c;
    snprintf(tracedir, cap, "%s/trace", c->out);
    hs_synth_config syn = c->synth;
    syn.quiet = c->quiet;
    hs_synth_summary sum;
    HS_TRY(hs_synth_generate(&syn, tracedir, &sum));
    cJSON *s = hs_run_stage(run, "generate");
    cJSON_AddStringToObject(s, "folder", "trace");
    cJSON_AddNumberToObject(s, "seconds", sum.seconds);
    cJSON_AddNumberToObject(s, "invocations", (double)sum.invocations);
    if (!c->quiet)
        printf("run: generated the SYNTHETIC built-in trace (%d days x %d functions, seed %llu) in %.1f s\n",
               sum.days, sum.functions, (unsigned long long)syn.seed, sum.seconds);
    return HS_OK;
}

static hs_status hs_run_preprocess(hs_run *run)
{
    const hs_pipeline_config *c = run->c;
    char tracedir[512];
    char *gen_inputs[1] = {tracedir};
    hs_preprocess_config pre = c->pre;
    pre.quiet = c->quiet;
    if (c->ninputs == 0) {
        HS_TRY(hs_run_generate(run, tracedir, sizeof tracedir));
        pre.inputs = gen_inputs;
        pre.ninputs = 1;
    } else {
        pre.inputs = c->inputs;
        pre.ninputs = c->ninputs;
    }
    pre.out_dir = c->out;
    pre.manifest_name = "preprocess.manifest.json";
    cJSON *pm = hs_manifest_new("preprocess", c->argc, c->argv);
    hs_manifest_set_device(pm, HS_DEVICE_CPU);
    hs_status st = hs_preprocess_run(&pre, pm, &run->pre);
    cJSON_Delete(pm);
    HS_TRY(st);
    cJSON *s = hs_run_stage(run, "preprocess");
    cJSON_AddStringToObject(s, "manifest", "preprocess.manifest.json");
    cJSON_AddNumberToObject(s, "seconds", run->pre.seconds);
    cJSON_AddNumberToObject(s, "invocations", run->pre.stats.total);
    cJSON_AddNumberToObject(s, "minutes", (double)run->pre.series.n);
    if (!c->quiet)
        hs_preprocess_print_summary(&run->pre, stdout);
    return HS_OK;
}

/* The plan once the series is known: the holdout (n / 5 when the series is not longer than the
 * requested one plus 2) and which stages fit, by each stage's own rule. */
static void hs_run_plan(hs_run *run)
{
    const hs_pipeline_config *c = run->c;
    int64_t n = run->pre.series.n;
    run->holdout = c->holdout < n - 2 ? c->holdout : n / 5;
    run->lstm_fits = hs_lstm_stage_fits(n, run->holdout, c->lstm.train.window);
    hs_train_ppo_config tc = hs_run_ppo_config(c, run->holdout, "none", c->out);
    run->ppo_fits = hs_train_ppo_fits(&tc.env, n, run->holdout, &run->episode);
    run->eval_fits = hs_evaluate_fits(n, run->holdout);
    snprintf(run->series, sizeof run->series, "%s/series.csv", c->out);
}

/* Prophet on the series, the holdout scored. */
static hs_status hs_run_prophet(hs_run *run)
{
    const hs_pipeline_config *c = run->c;
    hs_prophet_stage_config pc = HS_PROPHET_STAGE_DEFAULTS;
    pc.input = run->series;
    pc.out_dir = c->out;
    pc.holdout = run->holdout;
    pc.quiet = c->quiet;
    pc.model.seed = c->synth.seed;
    pc.manifest_name = "prophet.manifest.json";
    /* Prophet's own auto rule decides the weekly seasonality (two weeks of training span): the
     * built-in trace trains on 13 days, and forcing a weekly term fitted on one week and six days
     * took its holdout MAE from 40 to 71 */
    cJSON *fm = hs_manifest_new("forecast prophet", c->argc, c->argv);
    hs_manifest_set_device(fm, HS_DEVICE_CPU);
    hs_prophet_stage_result pr;
    hs_status st = hs_prophet_stage_run(&pc, fm, &pr);
    cJSON_Delete(fm);
    HS_TRY(st);
    cJSON *s = hs_run_stage(run, "forecast prophet");
    cJSON_AddStringToObject(s, "manifest", "prophet.manifest.json");
    cJSON_AddNumberToObject(s, "seconds", pr.fit_seconds + pr.predict_seconds);
    cJSON_AddNumberToObject(s, "holdout", (double)pr.holdout);
    cJSON_AddNumberToObject(s, "mae", pr.mae);
    cJSON_AddNumberToObject(s, "rmse", pr.rmse);
    if (!c->quiet)
        printf("forecast prophet: holdout %lld minutes: MAE %.1f, RMSE %.1f invocations/minute "
               "(fit %.0f ms)\n",
               (long long)pr.holdout, pr.mae, pr.rmse, 1e3 * pr.fit_seconds);
    return HS_OK;
}

/* The LSTM on the same series and holdout, then the Hybrid; skipped (the run goes on) when the
 * training span is too short for the window. */
static hs_status hs_run_lstm(hs_run *run)
{
    const hs_pipeline_config *c = run->c;
    int window = c->lstm.train.window;
    if (!run->lstm_fits) {
        cJSON *s = hs_run_stage(run, "forecast lstm");
        cJSON_AddStringToObject(s, "skipped", "the training span is shorter than two windows");
        fprintf(stderr, "run: LSTM and Hybrid skipped: %lld points leave %lld to train on, fewer than the %lld the "
                        "%d-point window needs\n",
                (long long)run->pre.series.n, (long long)(run->pre.series.n - run->holdout),
                (long long)hs_lstm_min_train(window), window);
        return HS_OK;
    }
    hs_lstm_stage_config lc = c->lstm;
    lc.input = run->series;
    lc.out_dir = c->out;
    lc.holdout = run->holdout;
    lc.quiet = c->quiet;
    lc.train.quiet = c->quiet;
    lc.train.seed = c->synth.seed;
    lc.manifest_name = "lstm.manifest.json";
    cJSON *lm = hs_manifest_new("forecast lstm", c->argc, c->argv);
    hs_manifest_set_device(lm, c->device);
    hs_lstm_stage_result lr;
    hs_status st = hs_lstm_stage_run(&lc, lm, &lr);
    cJSON_Delete(lm);
    HS_TRY(st);
    cJSON *s = hs_run_stage(run, "forecast lstm");
    cJSON_AddStringToObject(s, "manifest", "lstm.manifest.json");
    cJSON_AddNumberToObject(s, "seconds", lr.train_seconds);
    cJSON_AddNumberToObject(s, "one_step_mae", lr.one_step_mae);
    cJSON_AddNumberToObject(s, "recursive_mae", lr.recursive_mae);
    if (!c->quiet)
        printf("forecast lstm: holdout MAE one step %.1f, recursive %.1f (%d epochs, %.1f s)\n", lr.one_step_mae,
               lr.recursive_mae, lr.epochs, lr.train_seconds);
    cJSON *hm = hs_manifest_new("forecast hybrid", c->argc, c->argv);
    hs_hybrid_result hr;
    st = hs_hybrid_run(c->out, c->quiet, hm, &hr);
    cJSON_Delete(hm);
    HS_TRY(st);
    s = hs_run_stage(run, "forecast hybrid");
    cJSON_AddNumberToObject(s, "prophet_weight", hr.weight);
    return HS_OK;
}

/* Agents with the best forecast there is (the Hybrid's, Prophet's without the LSTM) and with
 * none, each into out/ppo_<forecast>/ (ENV version 1), and one of ENV version 2 with the best
 * forecast into out/ppo_v2_<forecast>/ (docs/ENV-v2.md: it observes the forecaster's recent errors
 * and takes the idle weight as an input); skipped when the span is too short for episodes. */
static hs_status hs_run_ppo(hs_run *run)
{
    const hs_pipeline_config *c = run->c;
    if (c->no_ppo)
        return HS_OK;
    if (!run->ppo_fits) {
        cJSON *s = hs_run_stage(run, "train-ppo");
        cJSON_AddStringToObject(s, "skipped", "the training span is too short for episodes");
        fprintf(stderr, "run: PPO skipped: a training span of %lld minutes is too short for episodes of %lld\n",
                (long long)(run->pre.series.n - run->holdout), (long long)run->episode);
        return HS_OK;
    }
    const char *agents[3] = {run->lstm_fits ? "hybrid" : "prophet", "none", run->lstm_fits ? "hybrid" : "prophet"};
    for (int a = 0; a < (c->no_ppo_v2 ? 2 : 3); a++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/ppo_%s%s", c->out, a == 2 ? "v2_" : "", agents[a]);
        hs_train_ppo_config tc = hs_run_ppo_config(c, run->holdout, agents[a], dir);
        if (a == 2)
            tc.env.version = HS_ENV_V2;
        cJSON *tm = hs_manifest_new("train-ppo", c->argc, c->argv);
        hs_manifest_set_device(tm, HS_DEVICE_CPU);
        hs_train_ppo_result tr;
        hs_status st = hs_train_ppo_run(&tc, tm, &tr);
        cJSON_Delete(tm);
        HS_TRY(st);
        cJSON *s = hs_run_stage(run, "train-ppo");
        cJSON_AddStringToObject(s, "forecaster", agents[a]);
        cJSON_AddNumberToObject(s, "env_version", tc.env.version);
        cJSON_AddStringToObject(s, "folder", dir + strlen(c->out) + 1);
        cJSON_AddNumberToObject(s, "seconds", tr.seconds);
        cJSON_AddNumberToObject(s, "steps_per_second", tr.steps_per_second);
        if (!c->quiet)
            printf("train-ppo (%s forecast%s): %lld steps in %.1f s (%.0f steps/s), final mean episode reward "
                   "%.3f\n",
                   agents[a], a == 2 ? ", ENV v2" : "", (long long)tr.env_steps, tr.seconds, tr.steps_per_second, tr.final_episode_reward);
    }
    return HS_OK;
}

/* Every scaling policy replayed on the holdout. */
static hs_status hs_run_evaluate(hs_run *run)
{
    const hs_pipeline_config *c = run->c;
    if (!run->eval_fits)
        return HS_OK;
    hs_evaluate_config ec = hs_run_evaluate_config(c, run->holdout);
    cJSON *em = hs_manifest_new("evaluate", c->argc, c->argv);
    hs_manifest_set_device(em, HS_DEVICE_CPU);
    hs_evaluate_result er;
    hs_status st = hs_evaluate_run(&ec, em, &er);
    cJSON_Delete(em);
    HS_TRY(st);
    cJSON *s = hs_run_stage(run, "evaluate");
    cJSON_AddStringToObject(s, "manifest", "evaluate.manifest.json");
    cJSON_AddNumberToObject(s, "policies", er.n);
    cJSON_AddNumberToObject(s, "agents_dominated", er.ppo_dominated);
    if (!c->quiet) {
        printf("evaluate: %d policies on the holdout; %d of %d trained agents dominated by a classic "
               "policy\n",
               er.n, er.ppo_dominated, er.ppo_rows);
        for (int i = 0; i < er.n; i++) {
            const hs_eval_row *w = &er.rows[i];
            if (w->sweep)
                continue;
            double vs = hs_eval_vs_hull(w);
            printf("  %-16s %-8s cold rate %.4f  over-provisioning %.4f%s", w->policy, w->forecaster,
                   hs_env_metrics_cold_rate(&w->m), hs_env_metrics_overprov(&w->m), w->front ? "  (front)" : "");
            if (!strcmp(w->policy, "ppo") && isfinite(vs))
                printf("  %+.1f%% cold starts vs the classic hull", -100 * vs);
            putchar('\n');
        }
    }
    return HS_OK;
}

hs_status hs_pipeline_run(const hs_pipeline_config *c, cJSON *manifest, hs_pipeline_result *r)
{
    HS_ASSERT(c->out && manifest);
    memset(r, 0, sizeof *r);
    HS_TRY(hs_pipeline_check(c));
    double t0 = hs_time_now();
    hs_run run;
    memset(&run, 0, sizeof run);
    run.c = c;
    run.stages = cJSON_AddArrayToObject(manifest, "stages");
    hs_status st = hs_run_preprocess(&run);
    if (st == HS_OK) {
        hs_run_plan(&run);
        st = hs_run_prophet(&run);
    }
    if (st == HS_OK)
        st = hs_run_lstm(&run);
    if (st == HS_OK)
        st = hs_forecast_report_write(c->out);
    if (st == HS_OK)
        st = hs_run_ppo(&run);
    if (st == HS_OK)
        st = hs_run_evaluate(&run);
    r->seconds = hs_time_now() - t0;
    if (st == HS_OK) {
        cJSON_AddNumberToObject(hs_manifest_section(manifest, "timings"), "total_seconds", r->seconds);
        st = hs_json_write_file(c->out, "manifest.json", manifest);
    }
    hs_preprocess_result_free(&run.pre);
    return st;
}
