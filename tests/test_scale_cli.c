/* test_scale_cli.c: `hyscale train-ppo` and `hyscale evaluate` as a user runs them: the files
 * and columns they promise, every classic policy and the agent in the evaluation, the
 * per-function view with the hybrid-histogram policy, and clear errors with nothing half-written
 * for bad input; the stages' checks and fits rules, which `run` uses too. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hs_test.h"
#include "hyscale/manifest.h"
#include "hyscale/ppo.h"
#include "hyscale/scale_stage.h"

/* A 3-day synthetic preprocess folder; returns its path (malloc'd). */
static char *make_pre(const char *tag)
{
    char *dir = hs_test_tmpdir(tag);
    char *series = hs_test_make_series(dir, 3, 40, 6);
    cr_assert(series, "could not make the series");
    char *slash = strrchr(series, '/');
    *slash = 0;
    free(dir);
    return series;
}

/* A forecast8 file with rows copies of the next minutes' demand (a perfect forecaster). */
static void write_f8(const char *pre, const char *name, int rows)
{
    char p[600];
    snprintf(p, sizeof p, "%s/series.csv", pre);
    FILE *in = fopen(p, "r");
    cr_assert(in);
    static double d[10000];
    char line[512];
    int n = 0;
    fgets(line, sizeof line, in);
    while (fgets(line, sizeof line, in) && n < 10000) {
        double a, b, c;
        char ts[64];
        cr_assert(sscanf(line, "%lf,%63[^,],%lf,%lf,%*f", &a, ts, &b, &c) == 4);
        d[n++] = c;
    }
    fclose(in);
    snprintf(p, sizeof p, "%s/%s", pre, name);
    FILE *f = fopen(p, "w");
    fputs("minute,f1,f2,f3,f4,f5,f6,f7,f8\n", f);
    for (int t = 0; t < rows; t++) {
        fprintf(f, "%d", t);
        for (int k = 1; k <= 8; k++)
            fprintf(f, ",%g", t + k < n ? d[t + k] : d[n - 1]);
        fputc('\n', f);
    }
    fclose(f);
}

Test(scale_cli, train_then_evaluate, .timeout = 300)
{
    char *pre = make_pre("scale_cli"), *err = NULL;
    char out[600];
    snprintf(out, sizeof out, "%s/ppo_lstm", pre);
    write_f8(pre, "lstm_forecast8.csv", 3 * 1440);
    cr_assert_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "lstm", "--out", out, "--envs", "16",
                             "--steps", "32", "--total-steps", "8192", "--holdout", "1440", NULL),
                 0, "%s", err);
    cr_expect(strstr(err, "steps/s") != NULL, "progress shows steps/s: %s", err);
    free(err);
    cr_expect(hs_test_nonempty(out, "ppo_policy.safetensors"));
    cr_expect(hs_test_nonempty(out, "ppo_learning_curve.png"));
    cr_expect(hs_test_nonempty(out, "train_ppo.manifest.json"));
    char p[700];
    snprintf(p, sizeof p, "%s/ppo_learning_curve.csv", out);
    cr_expect_eq(hs_test_count_lines(p), 1 + 16, "16 updates of 16 x 32 steps");
    char *t = hs_test_read_file(p, NULL);
    cr_expect(!strncmp(t, "update,env_steps,seconds,episode_reward,cold_rate,idle_ratio,", 61));
    free(t);
    /* the delta action mode: 5 actions, written into the policy file and replayed as such */
    snprintf(p, sizeof p, "%s/ppo_delta", pre);
    cr_assert_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "none", "--action-mode", "delta", "--out",
                             p, "--envs", "8", "--steps", "32", "--total-steps", "1024", "--quiet", NULL),
                 0, "%s", err);
    free(err);
    cr_assert_eq(hs_test_run(&err, "evaluate", "--series", pre, "--out", pre, "--quiet", NULL), 0, "%s", err);
    free(err);
    snprintf(p, sizeof p, "%s/scaling_eval.csv", pre);
    t = hs_test_read_file(p, NULL);
    cr_assert(t);
    cr_expect(!strncmp(t, "policy,forecaster,cold_starts,cold_rate,idle_minutes,overprov_ratio,scaling_volume,"
                          "mean_reward",
                       94),
              "%s", t);
    const char *rows[] = {"\nreactive,none,", "\nkeepalive-10,none,", "\nstatic-p99,none,", "\nforecast,lstm,",
                          "\nforecast+margin,lstm,", "\nppo,lstm,", "\nppo,none,"};
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        cr_expect(strstr(t, rows[i]) != NULL, "no row %s in\n%s", rows[i] + 1, t);
    free(t);
    cr_expect(hs_test_nonempty(pre, "scaling_report.md"));
    cr_expect(hs_test_nonempty(pre, "pareto.png"));
    cr_expect(hs_test_nonempty(pre, "evaluate.manifest.json"));
    /* the Python safetensors package reads the policy file unchanged, when the tests have it */
    const char *py = getenv("HS_TEST_PYTHON");
    if (py && *py) {
        char expect[700], cmd[2400];
        snprintf(expect, sizeof expect, "%s/expect.json", pre);
        hs_test_write_file(expect, "{\"tensors\": {\"actor.0.weight\": {\"shape\": [64, 23]}, \"actor.4.weight\": "
                                   "{\"shape\": [9, 64]}, \"critic.4.weight\": {\"shape\": [1, 64]}, "
                                   "\"critic.4.bias\": {\"shape\": [1]}}, \"metadata_keys\": [\"format\", "
                                   "\"env_version\", \"obs\", \"forecaster\", \"config\"]}");
        snprintf(cmd, sizeof cmd, "%s %s/tests/check_safetensors.py %s/ppo_policy.safetensors %s", py, HS_SOURCE_DIR,
                 out, expect);
        cr_expect_eq(system(cmd), 0, "the Python safetensors package rejected ppo_policy.safetensors");
    } else {
        fprintf(stderr, "SKIP: HS_TEST_PYTHON unset: ppo_policy.safetensors not checked with Python\n");
    }
    free(pre);
}

/* Row fields of scaling_eval.csv: up to 16 columns of one line (a copy in buf). */
static int csv_fields(const char *line, char *buf, size_t cap, char **f)
{
    size_t n = strcspn(line, "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    int k = 0;
    for (char *q = buf; k < 16; k++) {
        f[k] = q;
        q = strchr(q, ',');
        if (!q)
            return k + 1;
        *q++ = '\0';
    }
    return k;
}

/* The swept classic front: every setting a row; the default rows equal their settings in the
 * sweep; no classic row lies below the hull; --no-sweep leaves the sweep out. */
Test(scale_cli, the_classic_front_swept, .timeout = 300)
{
    char *pre = make_pre("scale_sweep"), *err = NULL;
    write_f8(pre, "lstm_forecast8.csv", 3 * 1440);
    cr_assert_eq(hs_test_run(&err, "evaluate", "--series", pre, "--out", pre, "--quiet", NULL), 0, "%s", err);
    free(err);
    char p[700];
    snprintf(p, sizeof p, "%s/scaling_eval.csv", pre);
    char *t = hs_test_read_file(p, NULL);
    cr_assert(t);
    cr_assert(strstr(t, ",parameter,sweep,hull_cold_rate,vs_hull\n") != NULL, "%.300s", t);
    int swept = 0, margin = 0, keep = 0, stat = 0, below = 0;
    char ka_default[200] = "", ka_swept[200] = "", st_default[200] = "", st_swept[200] = "";
    for (const char *line = strchr(t, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        char buf[1024], *f[16];
        cr_assert_eq(csv_fields(line, buf, sizeof buf, f), 16, "%.200s", line);
        int sweep = atoi(f[13]);
        swept += sweep;
        margin += sweep && !strcmp(f[0], "forecast+margin");
        keep += sweep && !strncmp(f[0], "keepalive-", 10);
        stat += sweep && !strncmp(f[0], "static-p", 8);
        /* cold starts to scaling volume: the metrics */
        char metrics[200];
        snprintf(metrics, sizeof metrics, "%s,%s,%s,%s,%s,%s", f[2], f[3], f[4], f[5], f[6], f[7]);
        if (!strcmp(f[0], "keepalive-10"))
            snprintf(sweep ? ka_swept : ka_default, 200, "%s", metrics);
        if (!strcmp(f[0], "static-p99"))
            snprintf(sweep ? st_swept : st_default, 200, "%s", metrics);
        if (strcmp(f[0], "ppo") != 0 && *f[14] && atof(f[3]) < atof(f[14]) - 1e-6)
            below++;
        if (!strcmp(f[12], "headroom=+5%"))
            cr_expect(sweep && !strcmp(f[0], "forecast+margin"));
    }
    cr_expect_eq(margin, 21, "headroom 0-100%% in 5%% steps for the one forecaster");
    cr_expect_eq(keep, 60);
    cr_expect_eq(stat, 12);
    cr_expect_eq(swept, margin + keep + stat);
    cr_expect(ka_default[0] && !strcmp(ka_default, ka_swept), "keepalive-10: %s vs %s", ka_default, ka_swept);
    cr_expect(st_default[0] && !strcmp(st_default, st_swept), "static-p99: %s vs %s", st_default, st_swept);
    cr_expect_eq(below, 0, "a classic row below the classic hull");
    free(t);
    snprintf(p, sizeof p, "%s/scaling_report.md", pre);
    t = hs_test_read_file(p, NULL);
    cr_expect(strstr(t, "## The classic front, swept") != NULL);
    free(t);
    cr_assert_eq(hs_test_run(&err, "evaluate", "--series", pre, "--out", pre, "--quiet", "--no-sweep", NULL), 0, "%s",
                 err);
    free(err);
    snprintf(p, sizeof p, "%s/scaling_eval.csv", pre);
    t = hs_test_read_file(p, NULL);
    cr_expect(strstr(t, ",sweep,") != NULL && strstr(t, "headroom=+5%") == NULL, "no sweep rows with --no-sweep");
    free(t);
    free(pre);
}

/* An ENV v2 agent (docs/ENV-v2.md): trained with --env-version 2, written as version 2, replayed
 * once per idle weight, each row of version 2 compared with the classic hull. */
Test(scale_cli, env_version_2_agent_traces_a_front, .timeout = 300)
{
    char *pre = make_pre("scale_v2"), *err = NULL;
    char out[600];
    snprintf(out, sizeof out, "%s/ppo_v2", pre);
    cr_assert_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "none", "--env-version", "2", "--out",
                             out, "--envs", "8", "--steps", "32", "--total-steps", "2048", "--quiet", NULL),
                 0, "%s", err);
    free(err);
    cr_expect_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--out", out, "--env-version", "3", NULL), 2);
    cr_expect(strstr(err, "--env-version") != NULL, "%s", err);
    free(err);
    cr_expect_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--out", out, "--env-version", "2", "--w-idle-lo",
                             "0.5", "--w-idle-hi", "0.1", NULL),
                 2);
    free(err);
    char p[700];
    snprintf(p, sizeof p, "%s/ppo_policy.safetensors", out);
    hs_ppo_policy_file pf;
    cr_assert_eq(hs_ppo_policy_read(p, &pf), HS_OK, "%s", hs_error_message());
    cr_expect_eq(pf.env_version, 2);
    cr_expect_eq(pf.l.obs, HS_ENV_OBS_V2);
    hs_ppo_policy_file_free(&pf);
    cr_assert_eq(hs_test_run(&err, "evaluate", "--series", pre, "--out", pre, "--quiet", "--no-sweep", NULL), 0, "%s",
                 err);
    free(err);
    snprintf(p, sizeof p, "%s/scaling_eval.csv", pre);
    char *t = hs_test_read_file(p, NULL);
    cr_assert(t);
    int v2 = 0;
    for (const char *line = strchr(t, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        char buf[1024], *f[16];
        cr_assert_eq(csv_fields(line, buf, sizeof buf, f), 16);
        if (!strcmp(f[0], "ppo") && !strcmp(f[8], "2")) {
            cr_expect(!strncmp(f[12], "w_idle=", 7), "%s", f[12]);
            v2++;
        } else {
            cr_expect_str_eq(f[8], "1");
        }
    }
    cr_expect_eq(v2, 9, "one row per idle weight");
    free(t);
    free(pre);
}

Test(scale_cli, functions_view_has_the_histogram_policy, .timeout = 300)
{
    char *pre = make_pre("scale_fn"), *err = NULL;
    cr_assert_eq(hs_test_run(&err, "evaluate", "--series", pre, "--out", pre, "--env-series", "functions", "--quiet",
                             "--policies", "reactive,hybrid-histogram", NULL),
                 0, "%s", err);
    free(err);
    char p[700];
    snprintf(p, sizeof p, "%s/scaling_eval.csv", pre);
    char *t = hs_test_read_file(p, NULL);
    cr_assert(t);
    cr_expect(strstr(t, "\nhybrid-histogram,none,") != NULL, "%s", t);
    cr_expect(strstr(t, "\nkeepalive-10,") == NULL, "only the policies asked for: %s", t);
    free(t);
    snprintf(p, sizeof p, "%s/scaling_report.md", pre);
    t = hs_test_read_file(p, NULL);
    cr_expect(strstr(t, "per-function") != NULL && strstr(t, "idle times seen") != NULL, "%s", t);
    free(t);
    free(pre);
}

/* Per function with the LSTM's per-function forecasts: the agent and the forecast policies see
 * the N functions that have forecasts, and so does every other policy. */
Test(scale_cli, functions_with_per_function_forecasts, .timeout = 300)
{
    char *pre = make_pre("scale_fnl"), *err = NULL;
    char series[600], out[600];
    snprintf(series, sizeof series, "%s/series.csv", pre);
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", series, "--out", pre, "--per-function", "4",
                             "--holdout", "1440", "--hidden", "4", "--window", "10", "--epochs", "1", "--batch", "64",
                             "--quiet", NULL),
                 0, "%s", err);
    free(err);
    cr_assert(hs_test_nonempty(pre, "lstm_functions_forecast8.safetensors"));
    snprintf(out, sizeof out, "%s/ppo_fn", pre);
    cr_assert_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "lstm", "--env-series", "functions",
                             "--out", out, "--envs", "8", "--steps", "32", "--total-steps", "2048", "--quiet", NULL),
                 0, "%s", err);
    free(err);
    cr_assert_eq(hs_test_run(&err, "evaluate", "--series", pre, "--out", pre, "--env-series", "functions", "--quiet",
                             NULL),
                 0, "%s", err);
    free(err);
    char p[700];
    snprintf(p, sizeof p, "%s/scaling_eval.csv", pre);
    char *t = hs_test_read_file(p, NULL);
    cr_assert(t);
    const char *rows[] = {"\nreactive,none,", "\nhybrid-histogram,none,", "\nforecast,lstm,", "\nforecast+margin,lstm,",
                          "\nppo,lstm,"};
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        cr_expect(strstr(t, rows[i]) != NULL, "no row %s in\n%s", rows[i] + 1, t);
    free(t);
    snprintf(p, sizeof p, "%s/scaling_report.md", pre);
    t = hs_test_read_file(p, NULL);
    cr_expect(strstr(t, "(4 series of 4320 minutes)") != NULL, "%s", t);
    free(t);
    /* a forecaster with no per-function forecasts: a usage error */
    cr_expect_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "hybrid", "--env-series", "functions",
                             "--out", out, NULL),
                 2);
    free(err);
    free(pre);
}

Test(scale_cli, bad_input, .timeout = 120)
{
    char *pre = make_pre("scale_bad"), *err = NULL;
    char out[600];
    snprintf(out, sizeof out, "%s/ppo_bad", pre);
    /* an unknown forecaster: usage error */
    cr_expect_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "arima", "--out", out, NULL), 2);
    cr_expect(strstr(err, "arima") != NULL, "%s", err);
    free(err);
    /* a forecast shorter than the series: the file is named */
    write_f8(pre, "lstm_forecast8.csv", 100);
    cr_expect_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "lstm", "--out", out, "--total-steps",
                             "1000", NULL),
                 1);
    cr_expect(strstr(err, "lstm_forecast8.csv") && strstr(err, "shorter than the series"), "%s", err);
    free(err);
    /* Prophet's rows shorter than the series */
    char pp[700];
    snprintf(pp, sizeof pp, "%s/prophet_full.csv", pre);
    cr_assert_eq(hs_test_write_file(pp, "ds,y,yhat,yhat_lower,yhat_upper\n2019-07-15 00:00:00,1,1,0,2\n"), 0);
    snprintf(pp, sizeof pp, "%s/prophet_next.csv", pre);
    cr_assert_eq(hs_test_write_file(pp, "ds,y,yhat,yhat_lower,yhat_upper\n2019-07-15 00:01:00,,1,0,2\n"), 0);
    cr_expect_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "prophet", "--out", out, NULL), 1);
    cr_expect(strstr(err, "prophet_full.csv") && strstr(err, "shorter than the series"), "%s", err);
    free(err);
    unlink(pp);
    snprintf(pp, sizeof pp, "%s/prophet_full.csv", pre);
    unlink(pp);
    /* a missing forecast */
    cr_expect_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "hybrid", "--out", out, NULL), 1);
    cr_expect(strstr(err, "hybrid_forecast8.csv") != NULL, "%s", err);
    free(err);
    /* a series shorter than an episode */
    cr_expect_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "none", "--out", out, "--holdout",
                             "4300", NULL),
                 1);
    cr_expect(strstr(err, "shorter than an episode") != NULL || strstr(err, "to train on") != NULL, "%s", err);
    free(err);
    cr_expect_eq(hs_test_count_entries(out), -1, "nothing written after errors");
    /* a policy file of another ENV version in the folder: evaluate refuses it by name */
    char p[700];
    snprintf(p, sizeof p, "%s/lstm_forecast8.csv", pre);
    unlink(p);
    snprintf(p, sizeof p, "%s/old", pre);
    cr_assert_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "none", "--out", p, "--envs", "8",
                             "--steps", "16", "--total-steps", "256", "--quiet", NULL),
                 0, "%s", err);
    free(err);
    snprintf(p, sizeof p, "%s/old/ppo_policy.safetensors", pre);
    size_t len;
    char *bytes = hs_test_read_file(p, &len);
    char *v = NULL;
    for (size_t i = 0; i + 17 <= len && !v; i++)
        if (!memcmp(bytes + i, "\"env_version\":\"1\"", 17))
            v = bytes + i;
    cr_assert(v, "the metadata holds env_version");
    v[15] = '7';
    FILE *f = fopen(p, "wb");
    fwrite(bytes, 1, len, f);
    fclose(f);
    free(bytes);
    cr_expect_eq(hs_test_run(&err, "evaluate", "--series", pre, "--out", pre, NULL), 1);
    cr_expect(strstr(err, "env_version") && strstr(err, "version 7"), "%s", err);
    free(err);
    cr_expect(!hs_test_nonempty(pre, "scaling_eval.csv"), "no partial evaluation");
    /* an unknown policy: usage error naming it */
    cr_expect_eq(hs_test_run(&err, "evaluate", "--series", pre, "--out", pre, "--policies", "reactive,autopilot", NULL),
                 2);
    cr_expect(strstr(err, "autopilot") != NULL, "%s", err);
    free(err);
    /* more policy files than evaluate takes: an error, not a silent cut */
    for (int i = 0; i < 17; i++) {
        char d[700], fp[760];
        snprintf(d, sizeof d, "%s/many%02d", pre, i);
        mkdir(d, 0755);
        snprintf(fp, sizeof fp, "%s/ppo_policy.safetensors", d);
        hs_test_write_file(fp, "x");
    }
    cr_expect_eq(hs_test_run(&err, "evaluate", "--series", pre, "--out", pre, NULL), 1);
    cr_expect(strstr(err, "more than 16 policy files") != NULL, "%s", err);
    free(err);
    /* an unknown series kind */
    cr_expect_eq(hs_test_run(&err, "evaluate", "--series", pre, "--out", pre, "--env-series", "both", NULL), 2);
    free(err);
    free(pre);
}

/* The fits rules are the environment's: a span fits exactly when hs_envs_init takes it. */
Test(scale_cli, ppo_fits_is_the_environments_rule)
{
    hs_env_config cfg = HS_ENV_CONFIG_DEFAULTS;
    int64_t L = 0;
    /* default episodes: a quarter of a span under 4 days; starts in [7, span - L - 9] */
    cr_expect(!hs_train_ppo_fits(&cfg, 1440, 1420, &L), "a span of 20 leaves no start");
    cr_expect_eq(L, 5);
    cr_expect(hs_train_ppo_fits(&cfg, 1440, 1419, &L), "a span of 21: L 5, starts in [7, 7]");
    cr_expect(hs_train_ppo_fits(&cfg, 1440, 1410, &L), "a span of 30 fits (the run's old copy wanted 41)");
    cr_expect(!hs_train_ppo_fits(&cfg, 1440, -1, NULL), "a negative holdout");
    cfg.episode = 100;
    cr_expect(!hs_train_ppo_fits(&cfg, 1440, 1440 - 115, NULL));
    cr_expect(hs_train_ppo_fits(&cfg, 1440, 1440 - 116, NULL));
    cr_expect(!hs_evaluate_fits(100, 85) && hs_evaluate_fits(100, 84), "the environment trains on 16 minutes");
}

Test(scale_cli, stage_checks_name_the_option)
{
    hs_train_ppo_config c = HS_TRAIN_PPO_DEFAULTS;
    cr_expect_eq(hs_train_ppo_check(&c), HS_OK);
    c.ppo.envs = 0;
    cr_expect_eq(hs_train_ppo_check(&c), HS_ERR_USAGE);
    cr_expect(strstr(hs_error_message(), "--envs") != NULL, "%s", hs_error_message());
    c = (hs_train_ppo_config)HS_TRAIN_PPO_DEFAULTS;
    c.env.w.w_idle = -1;
    cr_expect_eq(hs_train_ppo_check(&c), HS_ERR_USAGE);
    hs_evaluate_config e = HS_EVALUATE_DEFAULTS;
    cr_expect_eq(hs_evaluate_check(&e), HS_OK);
    e.holdout = 0;
    cr_expect_eq(hs_evaluate_check(&e), HS_ERR_USAGE);
    cr_expect(strstr(hs_error_message(), "--holdout") != NULL, "%s", hs_error_message());
}

/* `run` gets the stages' range checks: a usage error (2) before any work, nothing written. */
Test(scale_cli, run_checks_the_stages_options, .timeout = 60)
{
    char *dir = hs_test_tmpdir("run_checks"), *err = NULL;
    char out[600];
    snprintf(out, sizeof out, "%s/run", dir);
    cr_expect_eq(hs_test_run(&err, "run", "--out", out, "--quiet", "--ppo-envs", "0", NULL), 2);
    cr_expect(strstr(err, "--envs 0") != NULL, "%s", err);
    free(err);
    cr_expect_eq(hs_test_run(&err, "run", "--out", out, "--quiet", "--lstm-hidden", "2000", NULL), 2);
    cr_expect(strstr(err, "hidden size 2000") != NULL, "%s", err);
    free(err);
    cr_expect_eq(hs_test_run(&err, "run", "--out", out, "--quiet", "--holdout", "0", NULL), 2);
    cr_expect(strstr(err, "--holdout 0") != NULL, "%s", err);
    free(err);
    cr_expect_eq(hs_test_count_entries(out), -1, "nothing written");
    free(dir);
}

/* train-ppo's manifest: its options under "config" with the stage's keys, and again under
 * "options" for old readers. */
Test(scale_cli, train_ppo_manifest_config_and_options, .timeout = 120)
{
    char *pre = make_pre("scale_manifest"), *err = NULL;
    char out[600], p[700];
    snprintf(out, sizeof out, "%s/ppo", pre);
    cr_assert_eq(hs_test_run(&err, "train-ppo", "--series", pre, "--forecast", "none", "--out", out, "--envs", "4",
                             "--steps", "16", "--total-steps", "128", "--quiet", "--no-plot", NULL),
                 0, "%s", err);
    free(err);
    snprintf(p, sizeof p, "%s/train_ppo.manifest.json", out);
    cJSON *m;
    cr_assert_eq(hs_json_read(p, &m), HS_OK);
    cJSON *cf = cJSON_GetObjectItemCaseSensitive(m, "config"), *op = cJSON_GetObjectItemCaseSensitive(m, "options");
    cr_assert(cJSON_IsObject(cf) && cJSON_IsObject(op));
    cr_expect(cJSON_GetObjectItemCaseSensitive(cf, "episode_length") != NULL, "the stage's keys");
    cr_expect(cJSON_GetObjectItemCaseSensitive(cf, "total-steps") != NULL, "the CLI's keys");
    cr_expect(cJSON_GetObjectItemCaseSensitive(op, "total-steps") != NULL);
    int holdouts = 0;
    for (cJSON *it = cf->child; it; it = it->next)
        holdouts += !strcmp(it->string, "holdout");
    cr_expect_eq(holdouts, 1, "one key of a name");
    cJSON_Delete(m);
    free(pre);
}
