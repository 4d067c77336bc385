/* lstm_predict_cuda.c: host glue of the recursive forecast on the GPU (hs_lstm_predict_cuda in
 * lstm.h, kernels/lstm_recursive.cu): checks the request, gathers each model's first window on
 * the host with hs_lstm_predict's pad rule, copies the parameters and the windows in, times the one
 * launch with CUDA events, copies the forecasts out. Built only with the CUDA backend; src/backend/nocuda.c
 * answers otherwise. The CUDA backends' predict_one (lstm_seam.h) is hs_lstm_cuda_predict_one. */
#include <stdlib.h>

#include "hyscale/backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"
#include "hyscale/lstm.h"
#include "lstm_cuda.h"

/* The device side of one call: allocated together, freed together. */
typedef struct hs_rec_dev {
    float *params;  /* (N, P) */
    float *win;     /* (N, W) */
    float *out;     /* (N, steps) */
    float *scratch; /* (plan.scratch_floats) or NULL */
    cudaEvent_t t0, t1;
    int events; /* how many of t0, t1 exist */
} hs_rec_dev;

static hs_status hs_rec_alloc(hs_rec_dev *dv, const hs_lstm_rec_shape *sh, const hs_lstm_rec_plan *pl)
{
    HS_CUDA_CHECK(cudaMalloc((void **)&dv->params, (size_t)sh->N * (size_t)sh->P * sizeof(float)));
    HS_CUDA_CHECK(cudaMalloc((void **)&dv->win, (size_t)sh->N * (size_t)sh->W * sizeof(float)));
    HS_CUDA_CHECK(cudaMalloc((void **)&dv->out, (size_t)sh->N * (size_t)sh->steps * sizeof(float)));
    if (pl->scratch_floats > 0)
        HS_CUDA_CHECK(cudaMalloc((void **)&dv->scratch, (size_t)pl->scratch_floats * sizeof(float)));
    HS_CUDA_CHECK(cudaEventCreate(&dv->t0));
    dv->events = 1;
    HS_CUDA_CHECK(cudaEventCreate(&dv->t1));
    dv->events = 2;
    return HS_OK;
}

static void hs_rec_free(hs_rec_dev *dv)
{
    cudaFree(dv->params);
    cudaFree(dv->win);
    cudaFree(dv->out);
    cudaFree(dv->scratch);
    if (dv->events > 0)
        cudaEventDestroy(dv->t0);
    if (dv->events > 1)
        cudaEventDestroy(dv->t1);
}

static hs_status hs_rec_run(const float *params, const float *win, float *out, double *seconds,
                            const hs_lstm_rec_shape *sh, const hs_lstm_rec_plan *pl, hs_rec_dev *dv)
{
    HS_CUDA_CHECK(cudaMemcpy(dv->params, params, (size_t)sh->N * (size_t)sh->P * sizeof(float),
                             cudaMemcpyHostToDevice));
    HS_CUDA_CHECK(cudaMemcpy(dv->win, win, (size_t)sh->N * (size_t)sh->W * sizeof(float), cudaMemcpyHostToDevice));
    HS_CUDA_CHECK(cudaEventRecord(dv->t0, NULL));
    HS_CUDA_CHECK((cudaError_t)hs_kernel_lstm_recursive(dv->params, dv->win, dv->out, dv->scratch, sh, pl, NULL));
    HS_CUDA_CHECK(cudaEventRecord(dv->t1, NULL));
    HS_CUDA_CHECK(cudaEventSynchronize(dv->t1)); /* a fault in the kernel surfaces here */
    float ms = 0;
    HS_CUDA_CHECK(cudaEventElapsedTime(&ms, dv->t0, dv->t1));
    HS_CUDA_CHECK(cudaMemcpy(out, dv->out, (size_t)sh->N * (size_t)sh->steps * sizeof(float),
                             cudaMemcpyDeviceToHost));
    if (seconds)
        *seconds = ms / 1000.0;
    return HS_OK;
}

/* The recursive forecast of every model from one end; *declined = 1 (HS_OK, nothing written)
 * when the kernel's per-block state does not fit this GPU's shared memory. */
hs_status hs_lstm_cuda_predict_one(hs_lstm *m, const hs_lstm_data *d, int64_t end, int steps, float pad, float *out,
                                   double *seconds, int *declined)
{
    const hs_lstm_config *c = hs_lstm_get_config(m);
    int N = c->models, W = c->window;
    *declined = 0;
    if (c->features != hs_lstm_features(d) || N != d->N)
        return hs_error_set(HS_ERR_USAGE,
                            "lstm predict (cuda): the model has %d models of %d features, the data %d series of %d", N,
                            c->features, d->N, hs_lstm_features(d));
    if (end < 1 || end > d->M)
        return hs_error_set(HS_ERR_USAGE, "lstm predict (cuda): end %lld is outside the series [1, %lld]",
                            (long long)end, (long long)d->M);
    if (steps < 1 || (int64_t)steps > (1 << 28))
        return hs_error_set(HS_ERR_USAGE, "lstm predict (cuda): steps %d is outside [1, %d]", steps, 1 << 28);
    if (hs_cuda_device_count() <= 0)
        return hs_error_set(HS_ERR_DEVICE, "lstm predict (cuda): no CUDA device answers on this machine");

    hs_lstm_rec_shape sh = {.N = N, .L = c->layers, .H = c->hidden, .F = c->features, .W = W, .K = c->horizon,
                            .steps = steps, .P = hs_lstm_param_count(c), .start_unix = d->start_unix,
                            .step_seconds = d->step_seconds, .t0 = end - W};
    hs_lstm_get_layout(c, &sh.lay);
    hs_lstm_rec_plan pl;
    cudaError_t ce = (cudaError_t)hs_kernel_lstm_recursive_plan(&sh, &pl);
    if (ce == cudaErrorInvalidConfiguration) {
        cudaGetLastError();
        *declined = 1;
        return HS_OK;
    }
    HS_CUDA_CHECK(ce);

    /* the first window of each model: values before the series start read as pad */
    float *win = malloc((size_t)N * (size_t)W * sizeof *win);
    if (!win)
        return hs_error_set(HS_ERR_NOMEM, "lstm predict (cuda): out of memory for %d windows of %d", N, W);
    for (int n = 0; n < N; n++)
        hs_lstm_window_values(d, n, end, W, pad, win + (int64_t)n * W);
    hs_rec_dev dv = {0};
    hs_status st = hs_rec_alloc(&dv, &sh, &pl);
    if (st == HS_OK)
        st = hs_rec_run(hs_lstm_params(m), win, out, seconds, &sh, &pl, &dv);
    hs_rec_free(&dv);
    free(win);
    return st;
}

hs_status hs_lstm_predict_cuda(hs_lstm *m, const hs_lstm_data *d, int64_t end, int steps, float pad, float *out,
                               double *seconds)
{
    int declined = 0;
    HS_TRY(hs_lstm_cuda_predict_one(m, d, end, steps, pad, out, seconds, &declined));
    if (declined) {
        const hs_lstm_config *c = hs_lstm_get_config(m);
        return hs_error_set(HS_ERR_DEVICE,
                            "lstm predict (cuda): H %d, %d layers, window %d, horizon %d: the kernel's per-block "
                            "state does not fit this GPU's shared memory (hs_lstm_predict runs it on the CPU)",
                            c->hidden, c->layers, c->window, c->horizon);
    }
    return HS_OK;
}
