/* test_lstm_cuda.c: every CUDA path of the LSTM (cublas, persistent, cudnn) against the CPU
 * backend from the same seeded inputs: forward outputs, every gradient, the parameters after ten
 * Adam steps through the device-resident training steps, and a short training run's validation
 * loss. The GPU cases skip with a message where no device answers; the refusals run everywhere.
 *
 * Tolerances (float32 on both sides, TF32 off; the sums run in another order: cuBLAS's blocking
 * and the kernels' against the CPU's GEMM kernels, so each element differs by a few ulps of the
 * largest terms it sums):
 *   outputs            |d| <= 1e-5 + 1e-4 |ref|
 *   gradients          |d| <= 1e-5 max|ref| + 1e-4 |ref|: a gradient sums W*B terms with
 *                      cancellation, so small elements are judged against the largest
 *   after 10 Adam steps |d| <= 2e-5 + 1e-4 |ref|: Adam divides by sqrt(v), so a gradient that
 *                      differs in its 5th digit moves a parameter by ~1e-5 lr; a wrong gradient
 *                      moves it by ~lr = 1e-3 a step
 *   validation loss    within 2% after 3 epochs (the two runs drift apart by rounding). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_test.h"
#include "hyscale/backend.h"
#include "backend/lstm_seam.h"
#include "hyscale/lstm.h"
#include "hyscale/math/rng.h"

static const char *const impls[] = {"cublas", "persistent", "cudnn"};

static int gpu_or_skip(void)
{
    if (hs_cuda_device_count() > 0)
        return 1;
    cr_skip_test("no CUDA device answers here (%s): the CPU-vs-GPU parity runs on a GPU machine",
                 hs_cuda_built() ? "CUDA build" : "build without CUDA");
    return 0;
}

static void fill(float *v, int64_t n, uint64_t seed, double scale)
{
    hs_rng r = hs_rng_make(seed, 7);
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)(scale * (2.0 * hs_rng_next_double(&r) - 1.0));
}

static float max_abs(const float *v, int64_t n)
{
    float m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(v[i]));
    return m;
}

/* Forward and backward of one batch on the CPU and on `impl`: outputs and every gradient. */
static void parity(const char *impl, hs_lstm_config c, int B)
{
    const hs_lstm_backend *be;
    cr_assert_eq(hs_lstm_backend_cuda(impl, &be), HS_OK, "%s", hs_error_message());
    if (!strcmp(impl, "persistent") && c.hidden > hs_lstm_cuda_persist_max_hidden())
        return;
    hs_lstm *a, *b;
    cr_assert_eq(hs_lstm_init(&c, 5, &a), HS_OK);
    cr_assert_eq(hs_lstm_init(&c, 5, &b), HS_OK);
    int64_t N = c.models, P = hs_lstm_param_count(&c), nx = N * c.window * B * c.features, ny = N * B * c.horizon;
    float *x = malloc((size_t)nx * sizeof *x), *dy = malloc((size_t)ny * sizeof *dy);
    fill(x, nx, 11, 1.5);
    fill(dy, ny, 12, 0.1);
    cr_assert_eq(hs_lstm_backend_cpu()->forward(a, x, B), HS_OK);
    cr_assert_eq(hs_lstm_backend_cpu()->backward(a, dy, B), HS_OK);
    cr_assert_eq(be->forward(b, x, B), HS_OK, "%s forward: %s", impl, hs_error_message());
    cr_assert_eq(be->backward(b, dy, B), HS_OK, "%s backward: %s", impl, hs_error_message());
    cr_assert_str_eq(hs_lstm_impl_name(b), impl);
    char msg[512];
    cr_assert(hs_test_close(hs_lstm_output(b), hs_lstm_output(a), ny, 1e-5, 1e-4, msg, sizeof msg),
              "%s H=%d L=%d N=%d B=%d outputs: %s", impl, c.hidden, c.layers, c.models, B, msg);
    double gmax = max_abs(hs_lstm_grads(a), N * P);
    cr_assert(gmax > 0);
    cr_assert(hs_test_close(hs_lstm_grads(b), hs_lstm_grads(a), N * P, 1e-5 * gmax, 1e-4, msg, sizeof msg),
              "%s H=%d L=%d N=%d B=%d gradients: %s", impl, c.hidden, c.layers, c.models, B, msg);
    fprintf(stderr, "lstm cuda %-10s H=%-3d L=%d N=%d F=%d K=%d B=%-4d parity ok (largest gradient %.3g)\n", impl,
            c.hidden, c.layers, c.models, c.features, c.horizon, B, gmax);
    free(x);
    free(dy);
    hs_lstm_free(a);
    hs_lstm_free(b);
}

Test(lstm_cuda, forward_and_gradients_match_the_cpu)
{
    if (!gpu_or_skip())
        return;
    /* one model as the stage trains it; a stack of two with calendar features and two outputs; many
     * small models; a hidden size past the persistent kernel's shared memory; a ragged last batch;
     * the stage's day-ahead default (calendar, an hour's 60 outputs) */
    hs_lstm_config cs[] = {{1, 1, 64, 1, 60, 1, 256},  {3, 2, 32, 5, 12, 2, 64}, {16, 1, 32, 1, 20, 1, 64},
                           {1, 2, 128, 1, 15, 1, 96},  {2, 1, 48, 5, 9, 3, 100}, {1, 1, 64, 5, 60, 60, 256}};
    int Bs[] = {256, 50, 64, 96, 37, 256};
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 3; k++)
            parity(impls[k], cs[i], Bs[i]);
}

/* A normalised per-minute series with daily and weekly patterns and noise, N of them. */
static float *series(int N, int64_t M, uint64_t seed)
{
    float *v = malloc((size_t)(N * M) * sizeof *v);
    hs_rng r = hs_rng_make(seed, 3);
    for (int n = 0; n < N; n++)
        for (int64_t t = 0; t < M; t++)
            v[n * M + t] = (float)(sin(2 * M_PI * t / 1440.0 + n) + 0.3 * sin(2 * M_PI * t / 10080.0) +
                                   0.2 * (2 * hs_rng_next_double(&r) - 1));
    return v;
}

/* The CPU's ten steps: the training loop's gather, forward, MSE, backward, clip, Adam; loss sums in sums. */
static void cpu_steps(hs_lstm *a, const hs_lstm_data *d, const int64_t *ends, int steps, const hs_adam_hparams *h,
                      double *sums)
{
    const hs_lstm_config *c = hs_lstm_get_config(a);
    const hs_lstm_backend *cpu = hs_lstm_backend_cpu();
    int64_t N = c->models, B = c->batch, F = c->features, W = c->window, K = c->horizon;
    float *x = malloc((size_t)(N * W * B * F) * sizeof *x), *t = malloc((size_t)(N * B * K) * sizeof *t);
    float *dy = malloc((size_t)(N * B * K) * sizeof *dy), *loss = malloc((size_t)N * sizeof *loss);
    for (int n = 0; n < N; n++)
        sums[n] = 0;
    for (int step = 0; step < steps; step++) {
        for (int64_t b = 0; b < B; b++)
            hs_lstm_gather_window(d, (int)W, (int)B, (int)K, (int)b, ends[step * B + b], x, t);
        cr_assert_eq(cpu->forward(a, x, (int)B), HS_OK);
        hs_lstm_mse(a, t, (int)B, loss, dy);
        cr_assert_eq(cpu->backward(a, dy, (int)B), HS_OK);
        hs_lstm_clip_grad_norm(a, 1.0f, NULL);
        hs_lstm_adam_step(a, h);
        for (int n = 0; n < N; n++)
            sums[n] += (double)loss[n] * (double)B;
    }
    free(x);
    free(t);
    free(dy);
    free(loss);
}

/* Ten training steps through the CUDA backend's resident steps (gather, loss, clip and Adam on
 * the device) against the CPU's. */
static void ten_steps(const char *impl, hs_lstm_config c, int calendar)
{
    const hs_lstm_backend *be;
    cr_assert_eq(hs_lstm_backend_cuda(impl, &be), HS_OK);
    if (!strcmp(impl, "persistent") && c.hidden > hs_lstm_cuda_persist_max_hidden())
        return;
    int64_t M = 3000, N = c.models, P;
    float *v = series((int)N, M, 9);
    hs_lstm_data d = {(int)N, M, 1700000000, 60, v, calendar};
    c.features = hs_lstm_features(&d);
    P = hs_lstm_param_count(&c);
    int64_t nends = 10 * (int64_t)c.batch;
    int64_t *ends = malloc((size_t)nends * sizeof *ends);
    hs_rng r = hs_rng_make(4, 4);
    for (int64_t i = 0; i < nends; i++)
        ends[i] = c.window + (int64_t)(hs_rng_next_double(&r) * (double)(M - c.window - c.horizon));
    hs_lstm *a, *b;
    cr_assert_eq(hs_lstm_init(&c, 21, &a), HS_OK);
    cr_assert_eq(hs_lstm_init(&c, 21, &b), HS_OK);
    hs_adam_hparams h = {1e-3f, 0.9f, 0.999f, 1e-8f};
    double la[8], lb[8];
    cpu_steps(a, &d, ends, 10, &h, la);
    const hs_lstm_resident *ops = be->resident;
    cr_assert_eq(ops->bind(b, &d, nends), HS_OK, "%s", hs_error_message());
    cr_assert_eq(ops->set_ends(b, ends, nends), HS_OK);
    for (int step = 0; step < 10; step++)
        cr_assert_eq(ops->train(b, (int64_t)step * c.batch, c.batch, 1.0f, &h), HS_OK, "%s", hs_error_message());
    cr_assert_eq(ops->take_losses(b, lb, NULL), HS_OK);
    cr_assert_eq(ops->finish(b, 0), HS_OK);
    char msg[512];
    for (int n = 0; n < N; n++)
        cr_assert(fabs(lb[n] - la[n]) <= 1e-4 * fabs(la[n]), "%s model %d: loss sums %.8g vs %.8g", impl, n, lb[n],
                  la[n]);
    cr_assert(hs_test_close(hs_lstm_params(b), hs_lstm_params(a), N * P, 2e-5, 1e-4, msg, sizeof msg),
              "%s H=%d L=%d N=%d calendar=%d parameters after 10 Adam steps: %s", impl, c.hidden, c.layers, c.models,
              calendar, msg);
    fprintf(stderr, "lstm cuda %-10s H=%-3d L=%d N=%d calendar=%d ten Adam steps ok\n", impl, c.hidden, c.layers,
            c.models, calendar);
    free(v);
    free(ends);
    hs_lstm_free(a);
    hs_lstm_free(b);
}

Test(lstm_cuda, ten_adam_steps_match_the_cpu)
{
    if (!gpu_or_skip())
        return;
    hs_lstm_config c1 = {1, 1, 64, 1, 60, 1, 128}, c2 = {4, 2, 32, 1, 24, 2, 32};
    for (int k = 0; k < 3; k++) {
        ten_steps(impls[k], c1, 0);
        ten_steps(impls[k], c2, 1);
    }
}

/* A short training run (3 epochs, early stopping machinery and all) reaches the same validation
 * loss on the CPU and on the GPU (auto). */
Test(lstm_cuda, training_run_reaches_the_cpu_validation_loss)
{
    if (!gpu_or_skip())
        return;
    int64_t M = 3 * 1440;
    float *v = series(1, M, 2);
    hs_lstm_data d = {1, M, 1700000000, 60, v, 0};
    hs_lstm_train_config tc = HS_LSTM_TRAIN_DEFAULTS;
    tc.epochs = 3;
    tc.quiet = 1;
    hs_lstm_history ha, hb;
    hs_lstm *a, *b;
    cr_assert_eq(hs_lstm_train(&tc, &d, M, &a, &ha), HS_OK);
    cr_assert_eq(hs_lstm_backend_cuda("auto", &tc.backend), HS_OK);
    cr_assert_eq(hs_lstm_train(&tc, &d, M, &b, &hb), HS_OK, "%s", hs_error_message());
    float va = ha.val_loss[ha.epochs - 1], vb = hb.val_loss[hb.epochs - 1];
    fprintf(stderr, "lstm cuda training run: validation loss cpu %.6f, gpu (%s) %.6f\n", va, hs_lstm_impl_name(b), vb);
    cr_assert(fabsf(va - vb) <= 0.02f * va, "validation loss cpu %g, gpu %g", va, vb);
    cr_assert_eq(ha.epochs, hb.epochs);
    hs_lstm_history_free(&ha);
    hs_lstm_history_free(&hb);
    hs_lstm_free(a);
    hs_lstm_free(b);
    free(v);
}

Test(lstm_cuda, refusals)
{
    const hs_lstm_backend *be;
    cr_assert_eq(hs_lstm_backend_cuda("tensorrt", &be), HS_ERR_USAGE); /* a bad name is usage, GPU or not */
    cr_assert(strstr(hs_error_message(), "tensorrt"), "%s", hs_error_message());
    if (hs_cuda_device_count() <= 0) {
        cr_assert_eq(hs_lstm_backend_cuda("auto", &be), HS_ERR_DEVICE);
        cr_assert_null(be);
        cr_assert(strstr(hs_error_message(), "CUDA") != NULL, "%s", hs_error_message());
        return;
    }
    /* the persistent kernel refuses a hidden size whose W_hh does not fit its shared memory */
    int hmax = hs_lstm_cuda_persist_max_hidden();
    cr_assert(hmax >= 64, "persistent kernel up to H = %d", hmax);
    hs_lstm_config c = {1, 1, hmax + 4, 1, 5, 1, 8};
    hs_lstm *m;
    cr_assert_eq(hs_lstm_init(&c, 1, &m), HS_OK);
    cr_assert_eq(hs_lstm_backend_cuda("persistent", &be), HS_OK);
    float x[5 * 8] = {0};
    cr_assert_eq(be->forward(m, x, 8), HS_ERR_USAGE);
    hs_lstm_free(m);
}
