/* test_lstm_stage.c: `hyscale forecast lstm` end to end on a small series: the files, the
 * metrics' two scoring modes, the 8-step matrix, the weights read back by the Python
 * safetensors package, predictions that never look past their window, and bad input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/backend.h"
#include "hyscale/lstm.h"
#include "hyscale/lstm_stage.h"
#include "hyscale/manifest.h"

/* A minute series with a daily-ish rhythm: ds,y. Returns its path (the test helpers free it). */
static char *write_series(const char *dir, int n)
{
    char *p = malloc(strlen(dir) + 16);
    sprintf(p, "%s/s.csv", dir);
    FILE *f = fopen(p, "w");
    fputs("ds,y\n", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "2020-01-01 %02d:%02d:00,%.3f\n", i / 60, i % 60, 100 + 40 * sin(2 * M_PI * i / 120.0) + (i % 7));
    fclose(f);
    return hs_test_keep(p);
}

Test(lstm_stage, files_metrics_and_weights, .timeout = 120)
{
    char *dir = hs_test_scratch("lstage");
    char *in = write_series(dir, 600), out[512];
    snprintf(out, sizeof out, "%s/out", dir);
    char *err;
    int rc = hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", out, "--holdout", "60", "--horizon", "30",
                         "--hidden", "8", "--window", "20", "--epochs", "3", "--batch", "32", "--quiet", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    free(err);
    const char *files[] = {"lstm_full.csv", "lstm_recursive.csv", "lstm_next.csv", "lstm_forecast8.csv",
                           "lstm_metrics.json", "lstm.safetensors", "lstm.png", "lstm_loss.png", "manifest.json"};
    for (int i = 0; i < 9; i++)
        cr_assert(hs_test_nonempty(out, files[i]), "missing %s", files[i]);
    char p[700];
    snprintf(p, sizeof p, "%s/lstm_metrics.json", out);
    cJSON *j;
    cr_assert_eq(hs_json_read(p, &j), HS_OK);
    const char *modes[2] = {"one_step", "recursive"};
    for (int k = 0; k < 2; k++) {
        cJSON *o = cJSON_GetObjectItem(j, modes[k]);
        cr_assert(cJSON_IsObject(o), "metrics lack %s", modes[k]);
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "mae")) && cJSON_IsNumber(cJSON_GetObjectItem(o, "rmse")));
    }
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "train_seconds")));
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "loss_curve"), "train")),
                 cJSON_GetObjectItem(j, "epochs")->valueint);
    cJSON_Delete(j);
    /* lstm_forecast8.csv: a row per minute, 8 forecasts each */
    snprintf(p, sizeof p, "%s/lstm_forecast8.csv", out);
    cr_assert_eq(hs_test_count_lines(p), 601);
    char *t = hs_test_read_file(p, NULL);
    cr_assert(!strncmp(t, "minute,f1,f2,f3,f4,f5,f6,f7,f8\n", 31));
    free(t);
    /* the weights, read by the Python safetensors package when the test environment has it */
    const char *py = getenv("HS_TEST_PYTHON");
    if (!py || !*py) {
        fprintf(stderr, "SKIP: HS_TEST_PYTHON unset (scripts/test.sh sets it): safetensors not checked with Python\n");
        return;
    }
    char expect[700], cmd[2400];
    snprintf(expect, sizeof expect, "%s/expect.json", dir);
    hs_test_write_file(expect, "{\"tensors\": {\"lstm.weight_ih_l0\": {\"shape\": [32, 1]}, "
                               "\"lstm.weight_hh_l0\": {\"shape\": [32, 8]}, \"lstm.bias_ih_l0\": {\"shape\": [32]}, "
                               "\"lstm.bias_hh_l0\": {\"shape\": [32]}, \"head.weight\": {\"shape\": [1, 8]}, "
                               "\"head.bias\": {\"shape\": [1]}}, \"metadata_keys\": [\"format\", \"config\", "
                               "\"norm_mean\", \"norm_std\", \"scale\"]}");
    snprintf(cmd, sizeof cmd, "%s %s/tests/check_safetensors.py %s/lstm.safetensors %s", py, HS_SOURCE_DIR, out,
             expect);
    cr_assert_eq(system(cmd), 0, "the Python safetensors package rejected lstm.safetensors");
}

/* Predictions made at the end of minute t must not change when later values change. */
Test(lstm_stage, forecasts_never_read_the_future)
{
    enum { M = 200, W = 12 };
    static float v[M], v2[M];
    for (int i = 0; i < M; i++)
        v[i] = v2[i] = (float)sin(i * 0.3);
    hs_lstm_config c = {1, 2, 6, 5, W, 1, 64};
    hs_lstm *m;
    cr_assert_eq(hs_lstm_init(&c, 4, &m), HS_OK);
    hs_lstm_data d = {1, M, 1577836800, 60, v, 1}, d2 = {1, M, 1577836800, 60, v2, 1};
    int64_t ends[3] = {5, 100, 150};
    float a[3 * 8], b[3 * 8];
    cr_assert_eq(hs_lstm_predict(m, &d, ends, 3, 8, 0.0f, a), HS_OK);
    for (int i = 150; i < M; i++)
        v2[i] = 1e3f; /* the future of every end */
    cr_assert_eq(hs_lstm_predict(m, &d2, ends, 3, 8, 0.0f, b), HS_OK);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "a forecast changed when values after its end changed");
    hs_lstm_free(m);
}

Test(lstm_stage, bad_input)
{
    char *dir = hs_test_scratch("lbad");
    char *in = write_series(dir, 100), out[512];
    snprintf(out, sizeof out, "%s/out", dir);
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", out, "--holdout", "50", NULL), 1);
    cr_assert(strstr(err, "window"), "%s", err);
    cr_assert_eq(hs_test_count_entries(out), -1);
    free(err);
    char p[512];
    snprintf(p, sizeof p, "%s/nan.csv", dir);
    hs_test_write_file(p, "minute,timestamp,invocations,clipped,log1p\n0,2020-01-01 00:00:00,1,1,nan\n"
                          "1,2020-01-01 00:01:00,1,1,0.69\n");
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", p, "--out", out, NULL), 1);
    free(err);
    cr_assert_eq(hs_test_count_entries(out), -1);
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", out, "--layers", "3", NULL), 2);
    free(err);
    /* the device flags: an unknown implementation, a GPU implementation asked of the CPU */
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", out, "--lstm-impl", "tensorrt", NULL), 2);
    cr_assert(strstr(err, "--lstm-impl") && strstr(err, "cudnn"), "%s", err);
    free(err);
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", out, "--device", "cpu", "--lstm-impl",
                             "cudnn", NULL),
                 2);
    cr_assert(strstr(err, "--device cuda"), "%s", err);
    free(err);
    cr_assert_eq(hs_test_count_entries(out), -1);
}

/* Without a GPU, --device cuda is an error that says so, and --device auto trains on the CPU and
 * says that too; the manifest records where it ran. */
Test(lstm_stage, device_choice_without_a_gpu, .timeout = 120)
{
    if (hs_cuda_device_count() > 0)
        cr_skip_test("a CUDA device answers here: test_lstm_cuda covers the GPU");
    char *dir = hs_test_scratch("ldev");
    char *in = write_series(dir, 300), out[512];
    snprintf(out, sizeof out, "%s/out", dir);
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", out, "--device", "cuda", NULL), 1);
    cr_assert(strstr(err, "CUDA"), "%s", err);
    free(err);
    cr_assert_eq(hs_test_count_entries(out), -1);
    int rc = hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", out, "--holdout", "30", "--hidden", "4",
                         "--window", "10", "--epochs", "1", "--batch", "32", "--no-plot", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(err, "training on the CPU"), "%s", err);
    free(err);
    char p[700];
    snprintf(p, sizeof p, "%s/manifest.json", out);
    cJSON *j;
    cr_assert_eq(hs_json_read(p, &j), HS_OK);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "implementation")->valuestring, "cpu");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "device"), "name")->valuestring, "cpu");
    cJSON_Delete(j);
}

/* The weights file alone predicts: --weights gives the training run's forecasts; corrupt and
 * mismatched files are refused with a message and no output. */
Test(lstm_stage, weights_file_predicts_and_bad_files_are_refused, .timeout = 120)
{
    char *dir = hs_test_scratch("lweights");
    char *in = write_series(dir, 400), a[512], b[512], bad[512], w[600];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(bad, sizeof bad, "%s/bad", dir);
    snprintf(w, sizeof w, "%s/lstm.safetensors", a);
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", a, "--holdout", "40", "--hidden", "6",
                             "--window", "15", "--epochs", "2", "--batch", "16", "--calendar", "--quiet", "--no-plot",
                             NULL),
                 0, "%s", err);
    free(err);
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", b, "--holdout", "40", "--weights", w,
                             "--batch", "16", "--quiet", "--no-plot", NULL),
                 0, "%s", err);
    free(err);
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/lstm_full.csv", a);
    snprintf(pb, sizeof pb, "%s/lstm_full.csv", b);
    char *ta = hs_test_read_file(pa, NULL), *tb = hs_test_read_file(pb, NULL);
    cr_assert_str_eq(ta, tb, "predictions from the weights file differ from the training run's");
    free(ta);
    free(tb);
    /* a truncated file */
    size_t len;
    char *bytes = hs_test_read_file(w, &len);
    char cut[600];
    snprintf(cut, sizeof cut, "%s/cut.safetensors", dir);
    FILE *f = fopen(cut, "wb");
    fwrite(bytes, 1, len / 2, f);
    fclose(f);
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", bad, "--weights", cut, NULL), 1);
    cr_assert(strstr(err, "cut.safetensors"), "%s", err);
    free(err);
    cr_assert_eq(hs_test_count_entries(bad), -1);
    /* a file of the wrong kind for the input: trained on a ds,y file, given a series.csv */
    char series[600];
    snprintf(series, sizeof series, "%s/series.csv", dir);
    hs_test_write_file(series, "minute,timestamp,invocations,clipped,log1p\n");
    f = fopen(series, "a");
    for (int i = 0; i < 400; i++)
        fprintf(f, "%d,2020-01-01 %02d:%02d:00,5,5,1.79\n", i, i / 60, i % 60);
    fclose(f);
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", series, "--out", bad, "--weights", w, NULL), 1);
    cr_assert(strstr(err, "a ds,y series as given"), "%s", err);
    free(err);
    cr_assert_eq(hs_test_count_entries(bad), -1);
    /* not a safetensors file at all */
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", bad, "--weights", in, NULL), 1);
    free(err);
    free(bytes);
}

Test(lstm_stage, per_function_models, .timeout = 120)
{
    char *dir = hs_test_scratch("lfun"), out[512];
    snprintf(out, sizeof out, "%s/out", dir);
    char *series = hs_test_keep(hs_test_make_series(dir, 1, 30, 5)), *err;
    cr_assert(series, "could not make the series");
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", series, "--out", out, "--per-function", "5",
                             "--holdout", "120", "--hidden", "4", "--window", "10", "--epochs", "1", "--batch", "64",
                             "--quiet", NULL),
                 0, "%s", err);
    free(err);
    char p[700];
    snprintf(p, sizeof p, "%s/lstm_functions.csv", out);
    cr_assert_eq(hs_test_count_lines(p), 6, "lstm_functions.csv: a header and a row per function");
    snprintf(p, sizeof p, "%s/lstm_functions_metrics.json", out);
    cJSON *j;
    cr_assert_eq(hs_json_read(p, &j), HS_OK);
    cr_assert_eq(cJSON_GetObjectItem(j, "functions")->valueint, 5);
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "one_step"), "mean_mae")));
    cJSON_Delete(j);
}

/* The partition of the work depends on the batch, never on the cores: one thread and two give
 * the same bits. */
Test(lstm_stage, same_result_on_one_thread_and_two, .timeout = 120)
{
    char *dir = hs_test_scratch("lthreads");
    char *in = write_series(dir, 500), a[512], b[512];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    char *err;
    setenv("OMP_NUM_THREADS", "1", 1);
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", a, "--holdout", "50", "--hidden", "8",
                             "--window", "12", "--epochs", "2", "--batch", "200", "--quiet", "--no-plot", NULL),
                 0, "%s", err);
    free(err);
    setenv("OMP_NUM_THREADS", "2", 1);
    cr_assert_eq(hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", b, "--holdout", "50", "--hidden", "8",
                             "--window", "12", "--epochs", "2", "--batch", "200", "--quiet", "--no-plot", NULL),
                 0, "%s", err);
    free(err);
    unsetenv("OMP_NUM_THREADS");
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/lstm_full.csv", a);
    snprintf(pb, sizeof pb, "%s/lstm_full.csv", b);
    char *ta = hs_test_read_file(pa, NULL), *tb = hs_test_read_file(pb, NULL);
    cr_assert(ta && tb);
    cr_assert_str_eq(ta, tb, "the thread count changed the result");
    free(ta);
    free(tb);
}

static double metric(const char *dir, const char *mode)
{
    char p[700];
    snprintf(p, sizeof p, "%s/lstm_metrics.json", dir);
    cJSON *j;
    cr_assert_eq(hs_json_read(p, &j), HS_OK);
    double v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, mode), "mae")->valuedouble;
    cJSON_Delete(j);
    return v;
}

/* With a GPU: --device cuda trains there (each --lstm-impl), the manifest says which path ran,
 * and the holdout scores match the CPU run's within 2% (float32 in another order, 3 epochs). */
Test(lstm_stage, device_cuda_trains_on_the_gpu, .timeout = 120)
{
    if (hs_cuda_device_count() <= 0)
        cr_skip_test("no CUDA device answers here: the CLI's GPU path runs on a GPU machine");
    char *dir = hs_test_scratch("lgpu");
    char *in = write_series(dir, 600), cpu[512];
    snprintf(cpu, sizeof cpu, "%s/cpu", dir);
    char *err;
    int rc = hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", cpu, "--holdout", "60", "--hidden", "16",
                         "--window", "20", "--epochs", "3", "--batch", "32", "--no-plot", "--device", "cpu", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    free(err);
    const char *impls[] = {"cublas", "persistent", "cudnn", "auto"};
    for (int k = 0; k < 4; k++) {
        char out[512], p[700];
        snprintf(out, sizeof out, "%s/%s", dir, impls[k]);
        rc = hs_test_run(&err, "forecast", "lstm", "--input", in, "--out", out, "--holdout", "60", "--hidden", "16",
                         "--window", "20", "--epochs", "3", "--batch", "32", "--no-plot", "--device", "cuda",
                         "--lstm-impl", impls[k], NULL);
        cr_assert_eq(rc, 0, "%s: %s", impls[k], err);
        free(err);
        snprintf(p, sizeof p, "%s/manifest.json", out);
        cJSON *j;
        cr_assert_eq(hs_json_read(p, &j), HS_OK);
        const char *ran = cJSON_GetObjectItem(j, "implementation")->valuestring;
        cr_assert_str_eq(ran, k == 3 ? "persistent" : impls[k]);
        cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "device"), "name")->valuestring, "cuda");
        cJSON_Delete(j);
        double a = metric(cpu, "one_step"), b = metric(out, "one_step");
        cr_assert(fabs(a - b) <= 0.02 * a, "%s: one-step MAE cpu %g, gpu %g", impls[k], a, b);
    }
}

/* The rules both LSTM stages share: the minimum training span, the normalisation and the pads. */
Test(lstm_stage, shared_length_and_normalisation_rules)
{
    cr_expect_eq(hs_lstm_min_train(60), 122);
    cr_expect(hs_lstm_stage_fits(222, 100, 60) && !hs_lstm_stage_fits(221, 100, 60));
    cr_expect(!hs_lstm_stage_fits(300, -1, 60), "a negative holdout");
    double y[4] = {1, 3, 100, 100};
    hs_lstm_scale sc;
    hs_lstm_scale_fit(y, 2, 0, &sc); /* the training span only */
    cr_expect(sc.mean == 2.0 && sc.std == 1.0, "%g %g", sc.mean, sc.std);
    float v[4];
    hs_lstm_scale_apply(&sc, y, 4, v);
    cr_expect(v[0] == -1.0f && v[1] == 1.0f && v[2] == 98.0f);
    cr_expect(hs_lstm_scale_pad(&sc, HS_LSTM_PAD_ZERO) == -2.0f && hs_lstm_scale_pad(&sc, HS_LSTM_PAD_MEAN) == 0.0f);
    cr_expect(hs_lstm_scale_back(&sc, 1.0f) == 3.0);
    double k[3] = {5, 5, 5};
    hs_lstm_scale_fit(k, 3, 1, &sc);
    cr_expect(sc.std == 1.0, "a constant span scales by 1");
    hs_lstm_scale sl = {0, 1, 1};
    cr_expect(hs_lstm_scale_back(&sl, (float)log1p(9.0)) > 8.999 && hs_lstm_scale_back(&sl, (float)log1p(9.0)) < 9.001);
    hs_lstm_stage_config c = HS_LSTM_STAGE_DEFAULTS;
    cr_expect_eq(hs_lstm_stage_check(&c), HS_OK);
    c.train.layers = 3;
    cr_expect_eq(hs_lstm_stage_check(&c), HS_ERR_USAGE);
}

/* The day-ahead defaults: calendar inputs and an hour's outputs from two days of training span,
 * neither below it or for a daily series' hour; values set by the user are kept. */
Test(lstm_stage, day_ahead_defaults_follow_the_span)
{
    hs_lstm_train_config t = HS_LSTM_TRAIN_AUTO;
    hs_lstm_stage_resolve(&t, 2880, 60);
    cr_expect(t.calendar == 1 && t.horizon == 60, "%d %d", t.calendar, t.horizon);
    hs_lstm_train_config s = HS_LSTM_TRAIN_AUTO;
    hs_lstm_stage_resolve(&s, 2879, 60);
    cr_expect(s.calendar == 0 && s.horizon == 1, "%d %d", s.calendar, s.horizon);
    hs_lstm_train_config f = HS_LSTM_TRAIN_AUTO;
    hs_lstm_stage_resolve(&f, 2 * 288, 300);
    cr_expect(f.calendar == 1 && f.horizon == 12, "5-minute steps: an hour is 12 points");
    hs_lstm_train_config d = HS_LSTM_TRAIN_AUTO;
    hs_lstm_stage_resolve(&d, 60, 86400);
    cr_expect(d.calendar == 1 && d.horizon == 1, "a daily series: calendar, one output");
    hs_lstm_train_config u = HS_LSTM_TRAIN_AUTO;
    u.calendar = 0;
    u.horizon = 5;
    hs_lstm_stage_resolve(&u, 20000, 60);
    cr_expect(u.calendar == 0 && u.horizon == 5, "set values are kept");
}
