/* test_lstm.c: the LSTM's CPU backend against a plain double-precision forward written here
 * from the equations, its gradients against central finite differences of that forward (in
 * double), batched models against separate runs, Adam against hand arithmetic, and the
 * PyTorch fixture (tests/gen/lstm_fixtures.py): outputs, loss, every gradient, 10 Adam steps. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "backend/lstm_seam.h"
#include "hyscale/lstm.h"
#include "hyscale/manifest.h"

/* ---- a plain double forward, from the equations ------------------------------------------- */

static double sig(double x) { return 1.0 / (1.0 + exp(-x)); }

/* y (B, K) of one model with parameters p (P, PyTorch order) on x (W, B, F). */
static void ref_forward(const hs_lstm_config *c, const double *p, const float *x, int B, double *y)
{
    hs_lstm_layout lay;
    hs_lstm_get_layout(c, &lay);
    int H = c->hidden, W = c->window, F = c->features, K = c->horizon;
    double *in = malloc((size_t)W * B * (F > H ? F : H) * sizeof *in);
    double *out = malloc((size_t)W * B * H * sizeof *out);
    for (int i = 0; i < W * B * F; i++)
        in[i] = x[i];
    int Fl = F;
    for (int l = 0; l < c->layers; l++) {
        for (int b = 0; b < B; b++) {
            double h[64] = {0}, cc[64] = {0};
            for (int t = 0; t < W; t++) {
                double a[256];
                for (int j = 0; j < 4 * H; j++) {
                    double s = p[lay.b_ih[l] + j] + p[lay.b_hh[l] + j];
                    for (int f = 0; f < Fl; f++)
                        s += p[lay.w_ih[l] + (int64_t)j * Fl + f] * in[((int64_t)t * B + b) * Fl + f];
                    for (int k = 0; k < H; k++)
                        s += p[lay.w_hh[l] + (int64_t)j * H + k] * h[k];
                    a[j] = s;
                }
                for (int j = 0; j < H; j++) {
                    double i = sig(a[j]), f = sig(a[H + j]), g = tanh(a[2 * H + j]), o = sig(a[3 * H + j]);
                    cc[j] = f * cc[j] + i * g;
                    h[j] = o * tanh(cc[j]);
                }
                for (int j = 0; j < H; j++)
                    out[((int64_t)t * B + b) * H + j] = h[j];
            }
        }
        memcpy(in, out, (size_t)W * B * H * sizeof *in);
        Fl = H;
    }
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++) {
            double s = p[lay.b_out + k];
            for (int j = 0; j < H; j++)
                s += p[lay.w_out + (int64_t)k * H + j] * in[((int64_t)(W - 1) * B + b) * H + j];
            y[b * K + k] = s;
        }
    free(in);
    free(out);
}

static double ref_loss(const hs_lstm_config *c, const double *p, const float *x, const float *target, int B)
{
    double y[64];
    ref_forward(c, p, x, B, y);
    double s = 0;
    for (int i = 0; i < B * c->horizon; i++)
        s += (y[i] - target[i]) * (y[i] - target[i]);
    return s / (B * c->horizon);
}

static void fill(float *v, int64_t n, unsigned seed, float scale)
{
    srand(seed);
    for (int64_t i = 0; i < n; i++)
        v[i] = scale * (2.0f * (float)rand() / (float)RAND_MAX - 1.0f);
}

/* H hidden units and a batch of B: H = 4, B = 3 run the BLAS fallback; H = 32 and 64 with B = 13
 * run the small SGEMM's kernels (N = 4H a multiple of 32), partial row tiles included. Every
 * stride-th parameter is checked by finite differences. */
static void check_model_hb(int layers, int K, int H, int B, int stride)
{
    hs_lstm_config c = {1, layers, H, 2, 5, K, B};
    hs_lstm *m;
    cr_assert_eq(hs_lstm_init(&c, 7, &m), HS_OK);
    int64_t P = hs_lstm_param_count(&c);
    float *x = malloc((size_t)5 * B * 2 * sizeof *x), *target = malloc((size_t)B * K * sizeof *target), loss;
    float *dy = malloc((size_t)B * K * sizeof *dy);
    fill(x, 5 * B * 2, 1, 1.0f);
    fill(target, B * K, 2, 0.5f);
    const hs_lstm_backend *be = hs_lstm_backend_cpu();
    cr_assert_eq(be->forward(m, x, B), HS_OK);
    hs_lstm_mse(m, target, B, &loss, dy);
    cr_assert_eq(be->backward(m, dy, B), HS_OK);
    double *p = calloc((size_t)P, sizeof *p);
    for (int64_t i = 0; i < P; i++)
        p[i] = hs_lstm_params(m)[i];
    /* forward: float against double, ~1e-6 relative for these sizes */
    double *y = malloc((size_t)B * K * sizeof *y);
    ref_forward(&c, p, x, B, y);
    for (int i = 0; i < B * K; i++)
        cr_assert(fabs(hs_lstm_output(m)[i] - y[i]) <= 1e-5 * (1 + fabs(y[i])), "y[%d] %g vs %g", i,
                  hs_lstm_output(m)[i], y[i]);
    cr_assert(fabs(loss - ref_loss(&c, p, x, target, B)) <= 1e-5);
    /* every gradient against central differences of the double forward: h = 1e-5 gives
     * truncation ~1e-10 and rounding ~1e-11 in double; the float backward carries ~1e-6
     * relative error, so 2e-5 absolute plus 1e-3 relative */
    const float *g = hs_lstm_grads(m);
    for (int64_t i = 0; i < P; i += stride) {
        double keep = p[i], h = 1e-5;
        p[i] = keep + h;
        double fp = ref_loss(&c, p, x, target, B);
        p[i] = keep - h;
        double fm = ref_loss(&c, p, x, target, B);
        p[i] = keep;
        double fd = (fp - fm) / (2 * h);
        cr_assert(fabs(g[i] - fd) <= 2e-5 + 1e-3 * fabs(fd), "L=%d K=%d parameter %lld: analytic %.8g, numeric %.8g",
                  layers, K, (long long)i, g[i], fd);
    }
    free(p);
    free(y);
    free(x);
    free(target);
    free(dy);
    hs_lstm_free(m);
}

static void check_model(int layers, int K) { check_model_hb(layers, K, 4, 3, 1); }

Test(lstm, one_layer_gradients_by_finite_differences) { check_model(1, 1); }
Test(lstm, two_layers_multi_output_gradients_by_finite_differences) { check_model(2, 4); }
/* Under ASan and UBSan (HS_SANITIZE, scripts/test.sh's build-san/) the double-precision
 * reference forward runs several times slower and this test passed its 120 s limit. The shapes
 * stay (the SGEMM kernels' paths, partial tiles included, are the point); every 8th of the
 * parameters checked in the plain build is checked there. */
#if defined(__SANITIZE_ADDRESS__)
#define HS_FD_STRIDE_SCALE 8
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HS_FD_STRIDE_SCALE 8
#endif
#endif
#ifndef HS_FD_STRIDE_SCALE
#define HS_FD_STRIDE_SCALE 1
#endif

Test(lstm, gemm_kernel_shapes_by_finite_differences, .timeout = 120)
{
    check_model_hb(1, 1, 32, 13, 3 * HS_FD_STRIDE_SCALE);
    check_model_hb(2, 2, 64, 13, 11 * HS_FD_STRIDE_SCALE);
}

Test(lstm, batched_models_equal_separate_runs)
{
    enum { N = 3, W = 6, B = 4, F = 3, H = 5, K = 2 };
    hs_lstm_config cn = {N, 2, H, F, W, K, B}, c1 = {1, 2, H, F, W, K, B};
    hs_lstm *mn;
    cr_assert_eq(hs_lstm_init(&cn, 3, &mn), HS_OK);
    int64_t P = hs_lstm_param_count(&cn);
    float x[N * W * B * F], t[N * B * K], loss[N], dy[N * B * K];
    fill(x, N * W * B * F, 4, 1.0f);
    fill(t, N * B * K, 5, 1.0f);
    const hs_lstm_backend *be = hs_lstm_backend_cpu();
    hs_adam_hparams ah = {1e-2f, 0.9f, 0.999f, 1e-8f};
    for (int step = 0; step < 3; step++) {
        cr_assert_eq(be->forward(mn, x, B), HS_OK);
        hs_lstm_mse(mn, t, B, loss, dy);
        cr_assert_eq(be->backward(mn, dy, B), HS_OK);
        hs_lstm_clip_grad_norm(mn, 0.5f, NULL);
        hs_lstm_adam_step(mn, &ah);
    }
    for (int n = 0; n < N; n++) {
        hs_lstm *m1;
        cr_assert_eq(hs_lstm_init(&c1, 3, &m1), HS_OK);
        /* model n of the batch started from stream n of the seed: give the single model the same */
        hs_lstm *tmp;
        cr_assert_eq(hs_lstm_init(&cn, 3, &tmp), HS_OK);
        memcpy(hs_lstm_params(m1), hs_lstm_params(tmp) + n * P, (size_t)P * sizeof(float));
        hs_lstm_free(tmp);
        float l1, d1[B * K];
        for (int step = 0; step < 3; step++) {
            cr_assert_eq(be->forward(m1, x + n * W * B * F, B), HS_OK);
            hs_lstm_mse(m1, t + n * B * K, B, &l1, d1);
            cr_assert_eq(be->backward(m1, d1, B), HS_OK);
            hs_lstm_clip_grad_norm(m1, 0.5f, NULL);
            hs_lstm_adam_step(m1, &ah);
        }
        /* the same operations in the same order: bit for bit */
        cr_assert_eq(memcmp(hs_lstm_params(m1), hs_lstm_params(mn) + n * P, (size_t)P * sizeof(float)), 0,
                     "model %d differs from its separate run", n);
        hs_lstm_free(m1);
    }
    hs_lstm_free(mn);
}

/* A batch smaller than the buffers were sized for (the last batch of an epoch, validation and
 * prediction chunks) gives what a model sized for exactly that batch gives, after a full batch has
 * filled the buffers: outputs and gradients, bit for bit, for one layer and two. */
Test(lstm, partial_batch_equals_an_exact_batch)
{
    enum { W = 7, BMAX = 64, B = 20, F = 2, H = 8, K = 2 };
    for (int L = 1; L <= 2; L++) {
        hs_lstm_config cbig = {2, L, H, F, W, K, BMAX}, csmall = {2, L, H, F, W, K, B};
        hs_lstm *big, *small;
        cr_assert_eq(hs_lstm_init(&cbig, 8, &big), HS_OK);
        cr_assert_eq(hs_lstm_init(&csmall, 8, &small), HS_OK);
        static float xb[2 * W * BMAX * F], x[2 * W * B * F], dyb[2 * BMAX * K], dy[2 * B * K];
        fill(xb, 2 * W * BMAX * F, 6, 3.0f);
        fill(x, 2 * W * B * F, 7, 1.0f);
        fill(dyb, 2 * BMAX * K, 9, 1.0f);
        fill(dy, 2 * B * K, 10, 1.0f);
        const hs_lstm_backend *be = hs_lstm_backend_cpu();
        cr_assert_eq(be->forward(big, xb, BMAX), HS_OK); /* fills every row of the buffers */
        cr_assert_eq(be->backward(big, dyb, BMAX), HS_OK);
        cr_assert_eq(be->forward(big, x, B), HS_OK);
        cr_assert_eq(be->forward(small, x, B), HS_OK);
        cr_assert_eq(memcmp(hs_lstm_output(big), hs_lstm_output(small), sizeof(float) * 2 * B * K), 0,
                     "L=%d: outputs of a partial batch differ", L);
        cr_assert_eq(be->backward(big, dy, B), HS_OK);
        cr_assert_eq(be->backward(small, dy, B), HS_OK);
        int64_t P = hs_lstm_param_count(&cbig);
        cr_assert_eq(memcmp(hs_lstm_grads(big), hs_lstm_grads(small), sizeof(float) * 2 * (size_t)P), 0,
                     "L=%d: gradients of a partial batch differ", L);
        hs_lstm_free(big);
        hs_lstm_free(small);
    }
}

Test(lstm, adam_by_hand_and_bad_config)
{
    hs_lstm_config c = {1, 1, 1, 1, 1, 1, 1};
    hs_lstm *m;
    cr_assert_eq(hs_lstm_init(&c, 1, &m), HS_OK);
    float *p = hs_lstm_params(m), *g = hs_lstm_grads(m);
    p[0] = 1.0f;
    g[0] = 0.5f;
    hs_adam_hparams h = {0.1f, 0.9f, 0.999f, 1e-8f};
    hs_lstm_adam_step(m, &h);
    /* step 1: m = 0.05, v = 0.00025, m_hat = 0.5, v_hat = 0.25: p = 1 - 0.1 * 0.5 / 0.5 = 0.9 */
    cr_assert_float_eq(p[0], 0.9f, 1e-6);
    g[0] = -0.5f;
    hs_lstm_adam_step(m, &h);
    /* step 2: m = 0.045 - 0.05 = -0.005, v = 0.00024975 + 0.00025 = 0.00049975;
     * m_hat = -0.005 / 0.19 = -0.0263158, v_hat = 0.00049975 / 0.001999 = 0.2500; p += 0.1 * 0.0526316 */
    cr_assert_float_eq(p[0], 0.9f + 0.1f * (0.005f / 0.19f) / sqrtf(0.00049975f / 0.001999f), 1e-6);
    hs_lstm_free(m);
    hs_lstm_config bad = {1, 3, 4, 1, 5, 1, 8};
    cr_assert_eq(hs_lstm_init(&bad, 1, &m), HS_ERR_USAGE);
    cr_assert_null(m);
}

/* ---- PyTorch ------------------------------------------------------------------------------ */

static void json_floats(const cJSON *a, float *out, int64_t n)
{
    cr_assert(cJSON_IsArray(a) && cJSON_GetArraySize(a) == n, "fixture array of %lld expected", (long long)n);
    int64_t i = 0;
    for (const cJSON *e = a->child; e; e = e->next)
        out[i++] = (float)e->valuedouble;
}

Test(lstm, matches_pytorch)
{
    cJSON *j;
    cr_assert_eq(hs_json_read(HS_SOURCE_DIR "/tests/fixtures/lstm/tiny.json", &j), HS_OK, "%s", hs_error_message());
    const cJSON *cf = cJSON_GetObjectItem(j, "config");
    hs_lstm_config c = {1,
                        cJSON_GetObjectItem(cf, "layers")->valueint,
                        cJSON_GetObjectItem(cf, "hidden")->valueint,
                        cJSON_GetObjectItem(cf, "features")->valueint,
                        cJSON_GetObjectItem(cf, "window")->valueint,
                        cJSON_GetObjectItem(cf, "horizon")->valueint,
                        cJSON_GetObjectItem(cf, "batch")->valueint};
    int B = c.batch, K = c.horizon;
    hs_lstm *m;
    cr_assert_eq(hs_lstm_init(&c, 0, &m), HS_OK);
    int64_t P = hs_lstm_param_count(&c);
    json_floats(cJSON_GetObjectItem(j, "params"), hs_lstm_params(m), P);
    float *x = malloc((size_t)c.window * B * c.features * sizeof *x), t[16], y[16], g[4096], dy[16], loss;
    json_floats(cJSON_GetObjectItem(j, "x_time_major"), x, (int64_t)c.window * B * c.features);
    json_floats(cJSON_GetObjectItem(j, "target"), t, B * K);
    json_floats(cJSON_GetObjectItem(j, "y"), y, B * K);
    json_floats(cJSON_GetObjectItem(j, "grads"), g, P);
    const hs_lstm_backend *be = hs_lstm_backend_cpu();
    cr_assert_eq(be->forward(m, x, B), HS_OK);
    hs_lstm_mse(m, t, B, &loss, dy);
    cr_assert_eq(be->backward(m, dy, B), HS_OK);
    char msg[256];
    /* float32 on both sides, sums in another order: 1e-6 absolute plus 1e-5 relative */
    cr_assert(hs_test_close(hs_lstm_output(m), y, B * K, 1e-6, 1e-5, msg, sizeof msg), "outputs: %s", msg);
    cr_assert(fabs(loss - cJSON_GetObjectItem(j, "loss")->valuedouble) <= 1e-5, "loss %g", loss);
    cr_assert(hs_test_close(hs_lstm_grads(m), g, P, 1e-6, 1e-4, msg, sizeof msg), "gradients: %s", msg);
    /* ten Adam steps with clipping: the loss before each and the parameters after */
    const cJSON *a = cJSON_GetObjectItem(j, "adam");
    hs_adam_hparams h = {(float)cJSON_GetObjectItem(a, "lr")->valuedouble,
                         (float)cJSON_GetObjectItem(a, "beta1")->valuedouble,
                         (float)cJSON_GetObjectItem(a, "beta2")->valuedouble,
                         (float)cJSON_GetObjectItem(a, "eps")->valuedouble};
    float clip = (float)cJSON_GetObjectItem(a, "clip")->valuedouble, losses[10], after[4096];
    json_floats(cJSON_GetObjectItem(a, "losses"), losses, 10);
    json_floats(cJSON_GetObjectItem(a, "params_after"), after, P);
    for (int s = 0; s < 10; s++) {
        cr_assert_eq(be->forward(m, x, B), HS_OK);
        hs_lstm_mse(m, t, B, &loss, dy);
        /* the trajectory drifts by rounding step after step: 1e-5 relative */
        cr_assert(fabs(loss - losses[s]) <= 1e-5 * losses[s], "step %d: loss %.8g vs PyTorch %.8g", s, loss,
                  losses[s]);
        cr_assert_eq(be->backward(m, dy, B), HS_OK);
        hs_lstm_clip_grad_norm(m, clip, NULL);
        hs_lstm_adam_step(m, &h);
    }
    cr_assert(hs_test_close(hs_lstm_params(m), after, P, 1e-5, 1e-4, msg, sizeof msg), "parameters after 10 steps: %s",
              msg);
    free(x);
    hs_lstm_free(m);
    cJSON_Delete(j);
}

/* --per-function's engine: training N models at once equals N separate trainings (each single
 * run starting from the batch's stream n), early stopping and best-weight restore included. */
Test(lstm, training_n_models_equals_n_single_trainings, .timeout = 120)
{
    enum { N = 3, M = 400 };
    static float v[N * M];
    for (int n = 0; n < N; n++)
        for (int i = 0; i < M; i++)
            v[n * M + i] = (float)(sin(i * (0.05 + 0.03 * n)) + 0.1 * ((i * 7 + n) % 5));
    hs_lstm_train_config tc = HS_LSTM_TRAIN_DEFAULTS;
    tc.hidden = 6;
    tc.window = 12;
    tc.batch = 32;
    tc.epochs = 6;
    tc.patience = 2;
    tc.quiet = 1;
    hs_lstm_data d = {N, M, 1577836800, 60, v, 1};
    hs_lstm *all;
    hs_lstm_history h;
    cr_assert_eq(hs_lstm_train(&tc, &d, 350, &all, &h), HS_OK, "%s", hs_error_message());
    hs_lstm_history_free(&h);
    int64_t P = hs_lstm_param_count(hs_lstm_get_config(all));
    for (int n = 0; n < N; n++) {
        hs_lstm_train_config t1 = tc;
        t1.first_stream = (uint64_t)n;
        hs_lstm_data d1 = {1, M, 1577836800, 60, v + n * M, 1};
        hs_lstm *one;
        cr_assert_eq(hs_lstm_train(&t1, &d1, 350, &one, &h), HS_OK);
        hs_lstm_history_free(&h);
        cr_assert_eq(memcmp(hs_lstm_params(one), hs_lstm_params(all) + n * P, (size_t)P * sizeof(float)), 0,
                     "model %d of the batch differs from its own training", n);
        hs_lstm_free(one);
    }
    hs_lstm_free(all);
}
