/* test_safetensors.c: the strict safetensors reader and the model loaders built on it (issue 15):
 * every damaged or hostile file is refused with a message naming the file and the tensor or the
 * header, before anything it implies is allocated; NaN or inf in the weights or in the
 * normalisation is refused; what hyscale writes still loads. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hs_test.h"
#include "hyscale/lstm.h"
#include "hyscale/ppo.h"
#include "hyscale/prophet_stage.h"
#include "hyscale/safetensors.h"

#if defined(__SANITIZE_ADDRESS__)
#define HS_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HS_TEST_ASAN 1
#endif
#endif

static char g_path[512];

/* A file of 8-byte length hl, the header text padded with spaces to pad_to bytes, then dlen data
 * bytes (a ramp of floats). */
static const char *raw_file(const char *tag, uint64_t hl, const char *hdr, size_t pad_to, size_t dlen)
{
    char *dir = hs_test_tmpdir(tag);
    snprintf(g_path, sizeof g_path, "%s/f.safetensors", dir);
    free(dir);
    FILE *f = fopen(g_path, "wb");
    cr_assert(f);
    for (int i = 0; i < 8; i++)
        fputc((int)(hl >> (8 * i)) & 0xff, f);
    size_t n = strlen(hdr);
    fwrite(hdr, 1, n, f);
    for (size_t i = n; i < pad_to; i++)
        fputc(' ', f);
    for (size_t i = 0; i < dlen / 4; i++) {
        float v = (float)i;
        fwrite(&v, 4, 1, f);
    }
    for (size_t i = dlen / 4 * 4; i < dlen; i++)
        fputc(0, f);
    fclose(f);
    return g_path;
}

/* As raw_file with the header padded to a multiple of 8 and the length saying so. */
static const char *st_file(const char *tag, const char *hdr, size_t dlen)
{
    size_t pad = (strlen(hdr) + 7) / 8 * 8;
    return raw_file(tag, pad, hdr, pad, dlen);
}

static void expect_refused(const char *path, const char *what)
{
    hs_st_file sf;
    hs_status st = hs_safetensors_read(path, &sf);
    cr_expect_eq(st, HS_ERR_INPUT, "accepted (want an error with '%s')", what);
    if (st == HS_OK)
        hs_st_file_free(&sf);
    else {
        cr_expect(strstr(hs_error_message(), what) != NULL, "message lacks '%s': %s", what, hs_error_message());
        cr_expect(strncmp(hs_error_message(), path, strlen(path)) == 0, "message does not name the file: %s",
                  hs_error_message());
    }
}

Test(safetensors, what_the_writer_writes_reads_back)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, b[1] = {7};
    hs_st_tensor t[3] = {{"a", a, 2, {2, 3, 0, 0}}, {"empty", a, 2, {0, 5, 0, 0}}, {"b", b, 1, {1, 0, 0, 0}}};
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "format", "test");
    char *dir = hs_test_tmpdir("st_ok");
    char path[512];
    snprintf(path, sizeof path, "%s/ok.safetensors", dir);
    FILE *f = fopen(path, "wb");
    cr_assert_eq(hs_safetensors_write(f, path, t, 3, m), HS_OK);
    fclose(f);
    cJSON_Delete(m);
    hs_st_file sf;
    cr_assert_eq(hs_safetensors_read(path, &sf), HS_OK, "%s", hs_error_message());
    cr_expect_eq(sf.n, 3);
    int ia = hs_st_find(&sf, "a"), ib = hs_st_find(&sf, "b"), ie = hs_st_find(&sf, "empty");
    cr_assert(ia >= 0 && ib >= 0 && ie >= 0);
    cr_expect_eq(memcmp(sf.data[ia], a, sizeof a), 0);
    cr_expect_eq(sf.data[ib][0], 7.0f);
    cr_expect_eq(sf.shape[ie][0], 0);
    cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(sf.metadata, "format")->valuestring, "test");
    hs_st_file_free(&sf);
    free(dir);
}

Test(safetensors, shape_product_that_overflows_is_refused)
{
    /* 2^53 * 2^53 * 4 bytes: the old int64 product wrapped to 0 and matched empty offsets */
    expect_refused(st_file("st_ovf", "{\"w\":{\"dtype\":\"F32\",\"shape\":[9007199254740992,9007199254740992],"
                                     "\"data_offsets\":[0,0]}}",
                           0),
                   "tensor 'w': the shape's size overflows");
}

Test(safetensors, negative_dimension_is_refused)
{
    /* (-1) * (-4) = 4 floats = 16 bytes: the old reader accepted it */
    expect_refused(st_file("st_neg", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1,-4],\"data_offsets\":[0,16]}}", 16),
                   "tensor 'w': shape[0] is not a non-negative integer");
    expect_refused(st_file("st_frac", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8),
                   "shape[0]");
}

/* Found by fuzz_ppo_policy (tests/fuzz/crashes/README.md): a length near 2^63 made the data
 * length's subtraction overflow (undefined behaviour, reported by the sanitizer pass of CI) before
 * the failed length check returned. */
Test(safetensors, header_length_near_2_to_63_is_refused_without_overflow)
{
    const char *hdr = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    size_t pad = (strlen(hdr) + 7) / 8 * 8;
    expect_refused(raw_file("st_huge", 0x8000000000000648ull, hdr, pad, 4), "header: length");
}

Test(safetensors, header_length_one_byte_short_is_refused)
{
    const char *hdr = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
    size_t pad = (strlen(hdr) + 7) / 8 * 8 + 8; /* room for the trailing space the short length leaves */
    /* the JSON still parses, the data then starts one byte early: every float read a byte off */
    expect_refused(raw_file("st_short", pad - 1, hdr, pad, 16), "header: length");
}

Test(safetensors, offsets_with_a_gap_an_overlap_or_spare_bytes_are_refused)
{
    expect_refused(st_file("st_gap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                                     "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[20,36]}}",
                           36),
                   "tensor 'b': data_offsets [20, 36) leave a gap");
    expect_refused(st_file("st_ovl", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                                     "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
                           24),
                   "tensor 'b': data_offsets [8, 24) overlap");
    expect_refused(st_file("st_spare", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 20),
                   "header: the tensors cover 16 of the 20 data bytes");
    expect_refused(st_file("st_late", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[4,20]}}", 20),
                   "tensor 'a': data_offsets [4, 20) leave a gap after byte 0");
    expect_refused(st_file("st_past", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8),
                   "tensor 'a': data_offsets [0, 16) end past the 8 data bytes");
}

Test(safetensors, other_dtypes_and_malformed_headers_are_refused)
{
    expect_refused(st_file("st_f16", "{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", 8),
                   "tensor 'a': dtype 'F16': hyscale reads F32 only");
    expect_refused(st_file("st_meta", "{\"__metadata__\":{\"hidden\":64},"
                                      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                           4),
                   "header: __metadata__ 'hidden' is not a string");
    expect_refused(st_file("st_dup", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                     "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                           8),
                   "tensor 'a': named twice");
    expect_refused(st_file("st_tail", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}xx", 4),
                   "header: bytes other than spaces");
    expect_refused(st_file("st_utf8", "{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                   "header: not UTF-8");
    expect_refused(st_file("st_arr", "[1,2,3]", 0), "header: not a JSON object");
    expect_refused(raw_file("st_big", (uint64_t)1 << 40, "{}", 8, 0), "header: length");
}

/* The writer refuses non-finite values, so a file holding one (a damaged or foreign file) is
 * made by writing SENTINEL where it goes and replacing that float's bytes in the data section. */
#define SENTINEL 1234.5f
static void poke_sentinel(const char *path, float v)
{
    size_t len;
    char *text = hs_test_read_file(path, &len);
    cr_assert(text && len > 8);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)(unsigned char)text[i] << (8 * i);
    const float want = SENTINEL;
    size_t at = 0;
    for (size_t o = 8 + (size_t)hl; o + 4 <= len; o += 4)
        if (!memcmp(text + o, &want, 4)) {
            at = o;
            break;
        }
    cr_assert(at, "no sentinel in %s", path);
    memcpy(text + at, &v, 4);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    fclose(f);
    free(text);
}

/* ---- lstm.safetensors ------------------------------------------------------------------------ */

/* A 1-layer LSTM file (H 4, F 1, K 2) with the given config and normalisation; nan_at >= 0 puts
 * a NaN in lstm.weight_hh_l0. */
static const char *lstm_file(const char *tag, const char *config, const char *mean, const char *sd, int nan_at)
{
    static float w[4][64];
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 64; k++)
            w[i][k] = 0.01f * (float)(k - 32 + i);
    if (nan_at >= 0)
        w[1][nan_at] = SENTINEL;
    hs_st_tensor t[6] = {{"lstm.weight_ih_l0", w[0], 2, {16, 1, 0, 0}}, {"lstm.weight_hh_l0", w[1], 2, {16, 4, 0, 0}},
                         {"lstm.bias_ih_l0", w[2], 1, {16, 0, 0, 0}},   {"lstm.bias_hh_l0", w[3], 1, {16, 0, 0, 0}},
                         {"head.weight", w[0], 2, {2, 4, 0, 0}},        {"head.bias", w[2], 1, {2, 0, 0, 0}}};
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "format", "hyscale-lstm-v1");
    cJSON_AddStringToObject(m, "config", config);
    cJSON_AddStringToObject(m, "norm_mean", mean);
    cJSON_AddStringToObject(m, "norm_std", sd);
    cJSON_AddStringToObject(m, "scale", "log1p");
    cJSON_AddStringToObject(m, "calendar_features", "false");
    cJSON_AddStringToObject(m, "step_seconds", "60");
    char *dir = hs_test_tmpdir(tag);
    snprintf(g_path, sizeof g_path, "%s/lstm.safetensors", dir);
    free(dir);
    FILE *f = fopen(g_path, "wb");
    cr_assert_eq(hs_safetensors_write(f, g_path, t, 6, m), HS_OK);
    fclose(f);
    cJSON_Delete(m);
    if (nan_at >= 0) {
        poke_sentinel(g_path, NAN);
        w[1][nan_at] = 0.0f;
    }
    return g_path;
}

#define LSTM_OK_CONFIG "{\"hidden\":4,\"layers\":1,\"features\":1,\"window\":8,\"horizon\":2}"

/* hs_lstm_load in a child under a 1 GiB address-space limit (not under ASan, which reserves
 * far more): exit 0 when it failed with HS_ERR_INPUT and the message holds what. */
static void expect_lstm_refused_small(const char *path, const char *what)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
#ifndef HS_TEST_ASAN
        struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
        setrlimit(RLIMIT_AS, &rl);
#endif
        hs_lstm *m = NULL;
        hs_lstm_norm nm;
        hs_status st = hs_lstm_load(path, 16, &m, &nm);
        if (st != HS_ERR_INPUT || !strstr(hs_error_message(), what)) {
            fprintf(stderr, "status %d: %s\n", (int)st, st ? hs_error_message() : "loaded");
            _exit(1);
        }
        _exit(0);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    cr_expect(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "hs_lstm_load did not refuse %s with '%s' in 1 GiB", path,
              what);
}

static void expect_lstm_refused(const char *path, const char *what)
{
    hs_lstm *m = NULL;
    hs_lstm_norm nm;
    hs_status st = hs_lstm_load(path, 16, &m, &nm);
    cr_expect_eq(st, HS_ERR_INPUT, "loaded (want '%s')", what);
    if (st == HS_OK)
        hs_lstm_free(m);
    else
        cr_expect(strstr(hs_error_message(), what) != NULL, "message lacks '%s': %s", what, hs_error_message());
}

Test(lstm_file, a_valid_file_loads)
{
    hs_lstm *m = NULL;
    hs_lstm_norm nm;
    cr_assert_eq(hs_lstm_load(lstm_file("lf_ok", LSTM_OK_CONFIG, "1.5", "0.25", -1), 16, &m, &nm), HS_OK, "%s",
                 hs_error_message());
    cr_expect_eq(hs_lstm_get_config(m)->hidden, 4);
    cr_expect_eq(nm.mean, 1.5);
    cr_expect_eq(nm.std, 0.25);
    cr_expect_eq(nm.step_seconds, 60);
    cr_expect_eq(hs_lstm_params(m)[16 + 5], 0.01f * (float)(5 - 32 + 1)); /* weight_hh_l0[5] */
    hs_lstm_free(m);
}

Test(lstm_file, a_huge_config_is_refused_before_it_is_allocated)
{
    /* hidden 100,000 asked for ~160 GB before the tensors were compared with the config */
    expect_lstm_refused_small(
        lstm_file("lf_huge", "{\"hidden\":100000,\"layers\":1,\"features\":1,\"window\":8,\"horizon\":2}", "0", "1",
                  -1),
        "'hidden' is not a whole number in [1, 4096]");
    /* within the cap, ~1 GB of model for tensors of hidden 4: the tensors are compared first */
    expect_lstm_refused_small(
        lstm_file("lf_big", "{\"hidden\":4000,\"layers\":2,\"features\":1,\"window\":8,\"horizon\":2}", "0", "1", -1),
        "the config and the tensors disagree");
    expect_lstm_refused(
        lstm_file("lf_win", "{\"hidden\":4,\"layers\":1,\"features\":1,\"window\":1e9,\"horizon\":2}", "0", "1", -1),
        "'window'");
    expect_lstm_refused(
        lstm_file("lf_frac", "{\"hidden\":4.5,\"layers\":1,\"features\":1,\"window\":8,\"horizon\":2}", "0", "1", -1),
        "'hidden'");
}

Test(lstm_file, nan_weights_and_bad_normalisation_are_refused)
{
    expect_lstm_refused(lstm_file("lf_nan", LSTM_OK_CONFIG, "0", "1", 5),
                        "tensor 'lstm.weight_hh_l0': element 5 is nan, not finite");
    expect_lstm_refused(lstm_file("lf_mnan", LSTM_OK_CONFIG, "nan", "1", -1), "norm_mean: 'nan'");
    expect_lstm_refused(lstm_file("lf_minf", LSTM_OK_CONFIG, "1e999", "1", -1), "norm_mean: '1e999'");
    expect_lstm_refused(lstm_file("lf_snan", LSTM_OK_CONFIG, "0", "nan", -1), "norm_std: 'nan'");
    expect_lstm_refused(lstm_file("lf_sinf", LSTM_OK_CONFIG, "0", "inf", -1), "norm_std: 'inf'");
    expect_lstm_refused(lstm_file("lf_szero", LSTM_OK_CONFIG, "0", "0", -1), "norm_std: '0'");
    expect_lstm_refused(lstm_file("lf_sneg", LSTM_OK_CONFIG, "0", "-2", -1), "norm_std: '-2'");
    expect_lstm_refused(lstm_file("lf_sjunk", LSTM_OK_CONFIG, "0", "1x", -1), "norm_std: '1x'");
}

/* ---- ppo_policy.safetensors ------------------------------------------------------------------ */

Test(ppo_file, nan_parameters_and_loose_sizes_are_refused)
{
    hs_mlp_layout l = hs_mlp_layout_make(HS_ENV_OBS, 8, HS_ENV_ACTIONS);
    float *p = malloc((size_t)l.total * sizeof *p);
    for (int64_t i = 0; i < l.total; i++)
        p[i] = 0.001f * (float)(i % 100);
    char *dir = hs_test_tmpdir("ppo_nan");
    char path[512];
    snprintf(path, sizeof path, "%s/ppo_policy.safetensors", dir);
    hs_ppo_policy_file pf;
    for (int c = 0; c < 3; c++) {
        cJSON *meta = NULL;
        if (c == 1)
            p[l.c_w2 + 3] = SENTINEL; /* becomes inf below */
        if (c == 2) { /* the writer's fields win over meta's: corrupt the file's text instead below */
            p[l.c_w2 + 3] = 0;
        }
        FILE *f = fopen(path, "wb");
        cr_assert_eq(hs_ppo_policy_write(f, path, &l, p, "hybrid", HS_ENV_MARGIN, "aggregate", meta), HS_OK);
        fclose(f);
        if (c == 1)
            poke_sentinel(path, INFINITY);
        if (c == 2) { /* hidden "8" -> "8x" would change the header length; "8" -> "+" is the same size */
            size_t len;
            char *text = hs_test_read_file(path, &len);
            char *h = strstr(text + 8, "\"hidden\":\"8\"");
            cr_assert(h);
            h[10] = '+';
            f = fopen(path, "wb");
            fwrite(text, 1, len, f);
            fclose(f);
            free(text);
        }
        hs_status st = hs_ppo_policy_read(path, &pf);
        if (c == 0) {
            cr_expect_eq(st, HS_OK, "%s", hs_error_message());
            if (st == HS_OK)
                hs_ppo_policy_file_free(&pf);
        } else {
            cr_expect_eq(st, HS_ERR_INPUT);
            cr_expect(strstr(hs_error_message(), c == 1 ? "tensor 'critic.2.weight': element 3 is inf"
                                                        : "metadata field hidden: '+'") != NULL,
                      "%s", hs_error_message());
        }
    }
    free(p);
    free(dir);
}

/* ---- prophet_model.json ---------------------------------------------------------------------- */

static const char *prophet_json(const char *tag, const char *from, const char *to)
{
    static const char *base =
        "{\"format\":\"hyscale-prophet-v1\",\"start\":\"x\",\"start_unix\":0,\"last\":\"x\",\"last_unix\":86400,"
        "\"t_scale_seconds\":86400,\"y_scale\":10,\"n_history\":25,\"step_seconds\":3600,\"log_scale\":false,"
        "\"constant\":false,\"placed_changepoints\":true,\"changepoints_t\":[0.5],"
        "\"seasonalities\":[{\"name\":\"daily\",\"period\":1,\"fourier_order\":1,\"prior_scale\":10,"
        "\"mode\":\"additive\"}],"
        "\"params\":{\"k\":0.1,\"m\":0.2,\"sigma_obs\":0.05,\"delta\":[0.01],\"beta\":[0.3,0.4]},"
        "\"uncertainty\":{\"samples\":100,\"interval_width\":0.8,\"seed\":7}}";
    char text[2048];
    const char *at = from ? strstr(base, from) : NULL;
    cr_assert(!from || at, "fixture lacks %s", from);
    if (at)
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
    else
        snprintf(text, sizeof text, "%s", base);
    char *dir = hs_test_tmpdir(tag);
    snprintf(g_path, sizeof g_path, "%s/prophet_model.json", dir);
    free(dir);
    cr_assert_eq(hs_test_write_file(g_path, text), 0);
    return g_path;
}

Test(prophet_file, non_finite_values_and_loose_sizes_are_refused)
{
    hs_prophet_model m;
    hs_prophet_config cfg;
    int logs;
    int64_t step;
    cr_assert_eq(hs_prophet_model_load(prophet_json("pm_ok", NULL, NULL), &m, &cfg, &logs, &step), HS_OK, "%s",
                 hs_error_message());
    cr_expect_eq(m.K, 2);
    cr_expect_eq(m.beta[1], 0.4);
    cr_expect_eq(cfg.seed, 7);
    cr_expect_eq(step, 3600);
    hs_prophet_model_free(&m);
    const char *cases[][3] = {
        {"\"k\":0.1", "\"k\":1e999", "params.k"},
        {"[0.3,0.4]", "[0.3,-1e999]", "params.beta[1]"},
        {"\"fourier_order\":1", "\"fourier_order\":1e12", "fourier_order"},
        {"\"fourier_order\":1", "\"fourier_order\":2", "params.beta: 2 values, the seasonalities need 4"},
        {"\"seed\":7", "\"seed\":-1", "uncertainty.seed"},
        {"\"samples\":100", "\"samples\":1e12", "uncertainty.samples"},
        {"\"step_seconds\":3600", "\"step_seconds\":0", "step_seconds"},
        {"\"start_unix\":0", "\"start_unix\":1e300", "start_unix"},
        {"\"y_scale\":10", "\"y_scale\":0", "y_scale"},
        {"\"period\":1,", "\"period\":-1,", "period"},
        {"\"mode\":\"additive\"", "\"mode\":\"sideways\"", "mode"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        hs_status st = hs_prophet_model_load(prophet_json("pm_bad", cases[c][0], cases[c][1]), &m, &cfg, &logs, &step);
        cr_expect_eq(st, HS_ERR_INPUT, "accepted %s", cases[c][1]);
        if (st == HS_OK)
            hs_prophet_model_free(&m);
        else
            cr_expect(strstr(hs_error_message(), cases[c][2]) != NULL, "%s: message lacks '%s': %s", cases[c][1],
                      cases[c][2], hs_error_message());
    }
}
