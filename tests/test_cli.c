/* test_cli.c: the program's surface: help, exit codes, and `hyscale run` end to end on a
 * small built-in trace (generate, then preprocess, into one run folder with its manifest). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/manifest.h"

Test(cli, help_and_exit_codes)
{
    char *err;
    cr_assert_eq(hs_test_run(&err, "help", NULL), 0);
    free(err);
    const char *cmds[] = {"preprocess", "generate", "download", "run"};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(hs_test_run(&err, cmds[i], "--help", NULL), 0, "%s --help", cmds[i]);
        free(err);
    }
    cr_assert_eq(hs_test_run(&err, NULL), 2);
    free(err);
    cr_assert_eq(hs_test_run(&err, "generate", "--days", "0", "--out", "/tmp/hs_never", NULL), 2);
    free(err);
    cr_assert_eq(hs_test_run(&err, "download", "azure2019", "--days", "3-15", "--out", "/tmp/hs_never", NULL), 2);
    free(err);
    cr_assert_eq(hs_test_run(&err, "download", "azure2020", "--out", "/tmp/hs_never", NULL), 2);
    free(err);
    cr_assert_eq(hs_test_run(&err, "preprocess", "--input", "x", "--out", "y", "--device", "tpu", NULL), 2);
    cr_assert(strstr(err, "tpu"), "%s", err);
    free(err);
}

Test(cli, run_on_the_built_in_trace, .timeout = 300)
{
    char *dir = hs_test_scratch("run");
    char out[512];
    snprintf(out, sizeof out, "%s/run1", dir);
    char *err;
    int rc = hs_test_run(&err, "run", "--days", "2", "--functions", "60", "--top-functions", "10", "--seed", "9",
                         "--lstm-epochs", "2", "--lstm-hidden", "16", "--ppo-steps", "16384", "--out", out, NULL);
    cr_assert_eq(rc, 0, "%s", err);
    free(err);
    const char *want[] = {"series.csv", "series.json", "series.png", "functions.safetensors", "functions.csv",
                          "manifest.json", "preprocess.manifest.json", "trace/generate.json", "trace/SYNTHETIC.md",
                          "trace/invocations_per_function_md.anon.d02.csv", "prophet_full.csv", "prophet_next.csv",
                          "prophet_metrics.json", "prophet_model.json", "prophet.png", "lstm_full.csv",
                          "lstm.safetensors", "hybrid_full.csv", "hybrid.png", "forecast_report.md",
                          "ppo_hybrid/ppo_policy.safetensors", "ppo_none/ppo_policy.safetensors", "scaling_eval.csv",
                          "scaling_report.md", "pareto.png", "evaluate.manifest.json",
                          "ppo_v2_hybrid/ppo_policy.safetensors"};
    for (int i = 0; i < 27; i++)
        cr_assert(hs_test_nonempty(out, want[i]), "missing %s", want[i]);
    char p[700];
    snprintf(p, sizeof p, "%s/manifest.json", out);
    cJSON *m;
    cr_assert_eq(hs_json_read(p, &m), HS_OK);
    cJSON *stages = cJSON_GetObjectItem(m, "stages");
    cr_assert_eq(cJSON_GetArraySize(stages), 9);
    const char *names[9] = {"generate",        "preprocess", "forecast prophet", "forecast lstm", "forecast hybrid",
                            "train-ppo",       "train-ppo",  "train-ppo",        "evaluate"};
    for (int i = 0; i < 9; i++)
        cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(stages, i), "stage")->valuestring, names[i]);
    /* the third agent is of ENV version 2 */
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(stages, 7), "env_version")->valuedouble, 2);
    cr_assert(cJSON_IsObject(cJSON_GetObjectItem(m, "device")));
    cr_assert_eq(cJSON_GetObjectItem(m, "seed")->valuedouble, 9);
    cJSON_Delete(m);
    snprintf(p, sizeof p, "%s/series.json", out);
    cr_assert_eq(hs_json_read(p, &m), HS_OK);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(m, "synthetic")), "series.json must say the trace is synthetic");
    cJSON_Delete(m);
}

/* A series too short for the LSTM's window: the run skips the LSTM and the Hybrid, says so
 * in its manifest, and still forecasts with Prophet and writes the report. */
Test(cli, run_on_a_short_series_skips_the_lstm)
{
    char *dir = hs_test_scratch("runshort");
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/s.csv", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    FILE *f = fopen(in, "w");
    fputs("minute,invocations\n", f);
    for (int i = 0; i < 25; i++) /* a training span of 20: too short for episodes (env_rules.h) */
        fprintf(f, "%d,%d\n", i, 10 + i % 7);
    fclose(f);
    char *err;
    cr_assert_eq(hs_test_run(&err, "run", "--input", in, "--out", out, "--quiet", "--ppo-steps", "4096", NULL), 0, "%s",
                 err);
    cr_assert(strstr(err, "LSTM and Hybrid skipped"), "%s", err);
    cr_assert(strstr(err, "PPO skipped"), "%s", err);
    free(err);
    cr_assert(hs_test_nonempty(out, "prophet_full.csv"));
    cr_assert(hs_test_nonempty(out, "forecast_report.md"));
    cr_assert(!hs_test_nonempty(out, "lstm_full.csv"));
    char p[700];
    snprintf(p, sizeof p, "%s/manifest.json", out);
    cJSON *m;
    cr_assert_eq(hs_json_read(p, &m), HS_OK);
    cJSON *st = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "stages"), 2);
    cr_assert_str_eq(cJSON_GetObjectItem(st, "stage")->valuestring, "forecast lstm");
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(st, "skipped")));
    cJSON_Delete(m);
}

/* Numeric options read like every reader's numbers (parse.h): strtod took nan, inf and hex
 * floats, which then passed range checks written as 'x < lo'. From the command line and from a
 * --config file alike: exit 2, the option and the value named. */
Test(cli, numeric_options_are_strict)
{
    static const char *const bad[] = {"nan", "inf", "0x1p3", "1e400", " 5", "5 "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *err;
        int rc = hs_test_run(&err, "preprocess", "--input", "/nonexistent", "--out", "/tmp/hs_never", "--clip-k",
                             bad[i], NULL);
        cr_expect_eq(rc, 2, "--clip-k '%s' gave exit %d: %s", bad[i], rc, err);
        cr_expect(strstr(err, "--clip-k") && strstr(err, "expected a number"), "%s", err);
        free(err);
    }
    char *dir = hs_test_tmpdir("cli_num");
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s/c.json", dir);
    cr_assert_eq(hs_test_write_file(cfg, "{\"clip-k\": \"nan\"}"), 0);
    char *err;
    cr_expect_eq(hs_test_run(&err, "preprocess", "--input", "/nonexistent", "--out", "/tmp/hs_never", "--config", cfg,
                             NULL),
                 2, "%s", err);
    cr_expect(strstr(err, "clip-k"), "%s", err);
    free(err);
    free(dir);
}
