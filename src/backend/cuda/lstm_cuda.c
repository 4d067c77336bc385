/* lstm_cuda.c: the CUDA backends of the LSTM (lstm.h: hs_lstm_backend_cuda), host glue only.
 * Everything a training step touches lives on the device: the series, the window ends, the
 * parameters, gradients, Adam moments and best weights; windows are gathered there, and the host
 * reads back only the per-model loss sums, once an epoch (hs_lstm_resident).
 *
 * Per layer, forward: the input projection of all W steps as one GEMM (strided over the models),
 * then the recurrence either as one GEMM and one fused gate kernel per step ("cublas"), or in one
 * launch of the persistent kernel ("persistent", kernels/lstm_persist.cu), or the whole LSTM
 * through cuDNN ("cudnn", lstm_cudnn.c). Backward mirrors it, then the weight gradients of all
 * steps and rows as GEMMs (dW_ih = dG^T x, dW_hh = dG[1:]^T h[:-1], the biases as dG^T 1).
 * The gate math is math/lstm_cell.h, Adam math/adam.h, as on the CPU. cuBLAS runs in its
 * default float32 math (no TF32). Every CUDA and cuBLAS call is checked. */
#include <cublas_v2.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/lstm_seam.h"
#include "hyscale/backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"
#include "lstm_cuda.h"
#include "lstm_cudnn.h"

/* the implementations of the seam's one table (lstm_seam.h) */
#define HS_IMPL_AUTO HS_LSTM_IMPL_AUTO
#define HS_IMPL_CUBLAS HS_LSTM_IMPL_CUBLAS
#define HS_IMPL_PERSIST HS_LSTM_IMPL_PERSISTENT
#define HS_IMPL_CUDNN HS_LSTM_IMPL_CUDNN

#define HS_CUBLAS_CHECK(expr)                                                                             \
    do {                                                                                                  \
        cublasStatus_t hs_bs_ = (expr);                                                                   \
        if (hs_bs_ != CUBLAS_STATUS_SUCCESS)                                                              \
            return hs_error_set(HS_ERR_DEVICE, "cuBLAS error %s (%d) in %s at %s:%d: %s",               \
                                cublasGetStatusName(hs_bs_), (int)hs_bs_, #expr, __FILE__, __LINE__, __func__); \
    } while (0)

#define HS_KERNEL_CHECK(expr) HS_CUDA_CHECK((cudaError_t)(expr))

typedef struct hs_lstm_cuda {
    int impl;
    cudaStream_t stream;
    cublasHandle_t blas;
    hs_lstm_cudnn *cudnn;
    int64_t N, L, H, F, W, K, Bmax, P;
    hs_lstm_layout lay;
    float *params, *grads, *am, *av, *best, *norms;
    float *x, *target, *y, *dy;
    float *gates, *cell, *hid; /* (N, L, W, Bmax, 4H or H) */
    float *dx, *dhl, *dh, *dc; /* (N, W, Bmax, H), then (N, Bmax, H) each */
    float *ones;               /* (W * Bmax) */
    double *acc;               /* (2N): training, then validation loss sums */
    unsigned char *active;
    float *series;             /* (N, M) */
    int64_t M, *ends, max_ends;
    int calendar;
    int64_t start_unix, step_seconds;
    int B;                     /* the batch of the last host forward (0: none) */
} hs_lstm_cuda;

static void hs_lstm_cuda_free(void *p)
{
    hs_lstm_cuda *g = p;
    if (!g)
        return;
    if (g->cudnn)
        hs_lstm_cudnn_free(g->cudnn);
    float *bufs[] = {g->params, g->grads, g->am, g->av, g->best, g->norms, g->x, g->target, g->y, g->dy, g->gates,
                     g->cell, g->hid, g->dx, g->dhl, g->dh, g->dc, g->ones, g->series};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        cudaFree(bufs[i]);
    cudaFree(g->acc);
    cudaFree(g->active);
    cudaFree(g->ends);
    if (g->blas)
        cublasDestroy(g->blas);
    if (g->stream)
        cudaStreamDestroy(g->stream);
    free(g);
}

static hs_status hs_dalloc(void **p, int64_t bytes, const char *what)
{
    cudaError_t e = cudaMalloc(p, (size_t)(bytes > 0 ? bytes : 1));
    if (e != cudaSuccess) {
        cudaGetLastError();
        *p = NULL;
        return hs_error_set(HS_ERR_DEVICE, "lstm (cuda): cudaMalloc of %.1f MiB for %s failed: %s",
                            (double)bytes / (1024.0 * 1024.0), what, cudaGetErrorString(e));
    }
    return HS_OK;
}

int hs_lstm_cuda_persist_max_hidden(void)
{
    return hs_cuda_device_count() > 0 ? hs_kernel_lstm_persist_max_hidden() : 0;
}

/* auto: the persistent kernel wherever W_hh fits in shared memory, else cuBLAS (bench/gpu_check.sh
 * measures both against cuDNN). */
static int hs_impl_resolve(int want, int H)
{
    if (want != HS_IMPL_AUTO)
        return want;
    return H <= hs_lstm_cuda_persist_max_hidden() ? HS_IMPL_PERSIST : HS_IMPL_CUBLAS;
}

static hs_status hs_lstm_cuda_alloc(hs_lstm_cuda *g, const hs_lstm_config *c)
{
    int64_t N = g->N, L = g->L, H = g->H, W = g->W, B = g->Bmax, K = g->K, F = g->F, f = sizeof(float);
    HS_TRY(hs_dalloc((void **)&g->params, N * g->P * f, "parameters"));
    HS_TRY(hs_dalloc((void **)&g->grads, N * g->P * f, "gradients"));
    HS_TRY(hs_dalloc((void **)&g->am, N * g->P * f, "Adam moments"));
    HS_TRY(hs_dalloc((void **)&g->av, N * g->P * f, "Adam moments"));
    HS_TRY(hs_dalloc((void **)&g->best, N * g->P * f, "best parameters"));
    HS_TRY(hs_dalloc((void **)&g->norms, N * f, "gradient norms"));
    HS_TRY(hs_dalloc((void **)&g->x, N * W * B * F * f, "windows"));
    HS_TRY(hs_dalloc((void **)&g->target, N * B * K * f, "targets"));
    HS_TRY(hs_dalloc((void **)&g->y, N * B * K * f, "outputs"));
    HS_TRY(hs_dalloc((void **)&g->dy, N * B * K * f, "output gradients"));
    HS_TRY(hs_dalloc((void **)&g->gates, N * L * W * B * 4 * H * f, "gate activations"));
    HS_TRY(hs_dalloc((void **)&g->cell, N * L * W * B * H * f, "cell states"));
    HS_TRY(hs_dalloc((void **)&g->hid, N * L * W * B * H * f, "hidden states"));
    HS_TRY(hs_dalloc((void **)&g->dx, N * W * B * H * f, "gradients between layers"));
    HS_TRY(hs_dalloc((void **)&g->dhl, N * B * H * f, "head gradients"));
    HS_TRY(hs_dalloc((void **)&g->dh, N * B * H * f, "recurrent gradients"));
    HS_TRY(hs_dalloc((void **)&g->dc, N * B * H * f, "cell gradients"));
    HS_TRY(hs_dalloc((void **)&g->ones, W * B * f, "ones"));
    HS_TRY(hs_dalloc((void **)&g->acc, 2 * N * (int64_t)sizeof(double), "loss sums"));
    HS_TRY(hs_dalloc((void **)&g->active, N, "active flags"));
    float *ones = malloc((size_t)(W * B) * sizeof *ones);
    if (!ones)
        return hs_error_set(HS_ERR_NOMEM, "lstm (cuda): out of host memory");
    for (int64_t i = 0; i < W * B; i++)
        ones[i] = 1.0f;
    cudaError_t e = cudaMemcpy(g->ones, ones, (size_t)(W * B) * sizeof *ones, cudaMemcpyHostToDevice);
    free(ones);
    HS_CUDA_CHECK(e);
    HS_CUDA_CHECK(cudaMemset(g->acc, 0, (size_t)(2 * N) * sizeof(double)));
    HS_CUDA_CHECK(cudaMemset(g->active, 1, (size_t)N));
    HS_CUDA_CHECK(cudaMemset(g->am, 0, (size_t)(N * g->P) * sizeof(float)));
    HS_CUDA_CHECK(cudaMemset(g->av, 0, (size_t)(N * g->P) * sizeof(float)));
    if (g->impl == HS_IMPL_CUDNN)
        HS_TRY(hs_lstm_cudnn_create(c, g->stream, &g->cudnn));
    return HS_OK;
}

/* The device state of m for implementation `want`, made on first use. */
static hs_status hs_lstm_cuda_state(hs_lstm *m, int want, hs_lstm_cuda **out)
{
    const hs_lstm_config *c = &m->cfg;
    int impl = hs_impl_resolve(want, c->hidden);
    hs_lstm_cuda *g = m->ws_free == hs_lstm_cuda_free ? m->ws : NULL;
    if (g && g->impl == impl) {
        *out = g;
        return HS_OK;
    }
    hs_lstm_ws_release(m); /* another backend's workspace, or another implementation's */
    if (hs_cuda_device_count() <= 0)
        return hs_error_set(HS_ERR_DEVICE, "lstm (cuda): no CUDA device answers on this machine");
    if (impl == HS_IMPL_PERSIST && c->hidden > hs_lstm_cuda_persist_max_hidden())
        return hs_error_set(HS_ERR_USAGE,
                            "lstm (cuda): --lstm-impl persistent holds W_hh in shared memory, up to H = %d on this "
                            "device; H = %d needs cublas or cudnn",
                            hs_lstm_cuda_persist_max_hidden(), c->hidden);
    g = calloc(1, sizeof *g);
    if (!g)
        return hs_error_set(HS_ERR_NOMEM, "lstm (cuda): out of memory");
    m->ws = g;
    m->ws_free = hs_lstm_cuda_free;
    g->impl = impl;
    g->N = c->models;
    g->L = c->layers;
    g->H = c->hidden;
    g->F = c->features;
    g->W = c->window;
    g->K = c->horizon;
    g->Bmax = c->batch;
    g->P = m->P;
    g->lay = m->lay;
    HS_CUDA_CHECK(cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking));
    HS_CUBLAS_CHECK(cublasCreate(&g->blas));
    HS_CUBLAS_CHECK(cublasSetStream(g->blas, g->stream));
    HS_CUBLAS_CHECK(cublasSetMathMode(g->blas, CUBLAS_DEFAULT_MATH));
    HS_TRY(hs_lstm_cuda_alloc(g, c));
    m->impl = hs_lstm_impl_str((hs_lstm_impl)impl);
    m->device = HS_DEVICE_CUDA;
    *out = g;
    return HS_OK;
}

/* Row-major C (M, Nc) = op(A) op(B) + beta C for `count` models with strides sA, sB, sC (floats):
 * column-major C^T = op(B)^T op(A)^T. */
static hs_status hs_gemm_rm(hs_lstm_cuda *g, int ta, int tb, int M, int Nc, int K, const float *A, int lda,
                            int64_t sA, const float *B, int ldb, int64_t sB, float beta, float *C, int ldc,
                            int64_t sC)
{
    const float one = 1.0f;
    HS_CUBLAS_CHECK(cublasSgemmStridedBatched(g->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                              Nc, M, K, &one, B, ldb, sB, A, lda, sA, &beta, C, ldc, sC, (int)g->N));
    return HS_OK;
}

/* Per-model strides and layer bases. */
#define HS_GSTRIDE(g) ((g)->L * (g)->W * (g)->Bmax * 4 * (g)->H)
#define HS_SSTRIDE(g) ((g)->L * (g)->W * (g)->Bmax * (g)->H)
#define HS_GATES(g, l) ((g)->gates + (int64_t)(l) * (g)->W * (g)->Bmax * 4 * (g)->H)
#define HS_CELL(g, l) ((g)->cell + (int64_t)(l) * (g)->W * (g)->Bmax * (g)->H)
#define HS_HID(g, l) ((g)->hid + (int64_t)(l) * (g)->W * (g)->Bmax * (g)->H)

/* The top layer's h at the last step: (nb, H) per model at stride HS_SSTRIDE. */
static float *hs_hlast(hs_lstm_cuda *g, int nb) { return HS_HID(g, g->L - 1) + (g->W - 1) * nb * g->H; }

static hs_status hs_fwd_layer(hs_lstm_cuda *g, int l, int nb)
{
    int64_t H = g->H, W = g->W, G4 = 4 * H, gs = HS_GSTRIDE(g), ss = HS_SSTRIDE(g), Fl = l ? H : g->F;
    const float *in = l ? HS_HID(g, l - 1) : g->x;
    int64_t sin = l ? ss : W * nb * g->F;
    float *gates = HS_GATES(g, l), *cell = HS_CELL(g, l), *hid = HS_HID(g, l);
    /* the input projection of every step at once: (W nb, 4H) = in (W nb, F_l) W_ih^T */
    HS_TRY(hs_gemm_rm(g, 0, 1, (int)(W * nb), (int)G4, (int)Fl, in, (int)Fl, sin, g->params + g->lay.w_ih[l],
                      (int)Fl, g->P, 0.0f, gates, (int)G4, gs));
    if (g->impl == HS_IMPL_PERSIST) {
        HS_KERNEL_CHECK(hs_kernel_lstm_persist_fwd((int)g->N, (int)H, (int)W, nb, g->params, g->P, g->lay.w_hh[l],
                                                   g->lay.b_ih[l], g->lay.b_hh[l], gates, gs, cell, hid, ss,
                                                   g->stream));
        return HS_OK;
    }
    for (int64_t t = 0; t < W; t++) {
        float *gt = gates + t * nb * G4;
        if (t) /* the recurrence: (nb, 4H) += h_{t-1} (nb, H) W_hh^T */
            HS_TRY(hs_gemm_rm(g, 0, 1, nb, (int)G4, (int)H, hid + (t - 1) * nb * H, (int)H, ss,
                              g->params + g->lay.w_hh[l], (int)H, g->P, 1.0f, gt, (int)G4, gs));
        HS_KERNEL_CHECK(hs_kernel_lstm_cell_fwd((int)g->N, (int)H, nb, g->params, g->P, g->lay.b_ih[l],
                                                g->lay.b_hh[l], gt, gs, t ? cell + (t - 1) * nb * H : NULL,
                                                cell + t * nb * H, hid + t * nb * H, ss, g->stream));
    }
    return HS_OK;
}

/* Forward of the windows in g->x: y (N, nb, K). */
static hs_status hs_cuda_fwd(hs_lstm_cuda *g, int nb)
{
    if (g->impl == HS_IMPL_CUDNN)
        HS_TRY(hs_lstm_cudnn_forward(g->cudnn, g->params, g->x, nb, hs_hlast(g, nb), HS_SSTRIDE(g)));
    else
        for (int l = 0; l < g->L; l++)
            HS_TRY(hs_fwd_layer(g, l, nb));
    HS_KERNEL_CHECK(hs_kernel_lstm_head_fwd((int)g->N, (int)g->H, (int)g->K, nb, g->params, g->P, g->lay.w_out,
                                            g->lay.b_out, hs_hlast(g, nb), HS_SSTRIDE(g), g->y, g->stream));
    return HS_OK;
}

static hs_status hs_bwd_layer(hs_lstm_cuda *g, int l, int nb)
{
    int64_t H = g->H, W = g->W, G4 = 4 * H, gs = HS_GSTRIDE(g), ss = HS_SSTRIDE(g), Fl = l ? H : g->F;
    int64_t bs = g->Bmax * H, xs = W * g->Bmax * H;
    int top = l == g->L - 1;
    float *gates = HS_GATES(g, l), *cell = HS_CELL(g, l), *hid = HS_HID(g, l), *grads = g->grads;
    if (g->impl == HS_IMPL_PERSIST) {
        HS_KERNEL_CHECK(hs_kernel_lstm_persist_bwd((int)g->N, (int)H, (int)W, nb, g->params, g->P, g->lay.w_hh[l],
                                                   gates, gs, cell, ss, top ? NULL : g->dx, xs, top ? g->dhl : NULL,
                                                   bs, g->stream));
    } else {
        for (int64_t t = W - 1; t >= 0; t--) {
            float *gt = gates + t * nb * G4;
            if (t < W - 1) /* dL/dh_t through the recurrence: dG_{t+1} (nb, 4H) W_hh (4H, H) */
                HS_TRY(hs_gemm_rm(g, 0, 0, nb, (int)H, (int)G4, gt + nb * G4, (int)G4, gs,
                                  g->params + g->lay.w_hh[l], (int)H, g->P, 0.0f, g->dh, (int)H, bs));
            const float *ext = top ? (t == W - 1 ? g->dhl : NULL) : g->dx + t * nb * H;
            HS_KERNEL_CHECK(hs_kernel_lstm_cell_bwd((int)g->N, (int)H, nb, gt, gs, cell + t * nb * H,
                                                    t ? cell + (t - 1) * nb * H : NULL, ss,
                                                    t < W - 1 ? g->dh : NULL, ext, top ? bs : xs, g->dc, bs,
                                                    t == W - 1, g->stream));
        }
    }
    /* the weight gradients over all steps and rows */
    const float *in = l ? HS_HID(g, l - 1) : g->x;
    int64_t sin = l ? ss : W * nb * g->F;
    HS_TRY(hs_gemm_rm(g, 1, 0, (int)G4, (int)Fl, (int)(W * nb), gates, (int)G4, gs, in, (int)Fl, sin, 0.0f,
                      grads + g->lay.w_ih[l], (int)Fl, g->P));
    HS_TRY(hs_gemm_rm(g, 1, 0, (int)G4, (int)H, (int)((W - 1) * nb), gates + nb * G4, (int)G4, gs, hid, (int)H, ss,
                      0.0f, grads + g->lay.w_hh[l], (int)H, g->P));
    HS_TRY(hs_gemm_rm(g, 0, 0, 1, (int)G4, (int)(W * nb), g->ones, (int)(W * nb), 0, gates, (int)G4, gs, 0.0f,
                      grads + g->lay.b_ih[l], (int)G4, g->P));
    HS_CUDA_CHECK(cudaMemcpy2DAsync(grads + g->lay.b_hh[l], (size_t)g->P * sizeof(float), grads + g->lay.b_ih[l],
                                    (size_t)g->P * sizeof(float), (size_t)G4 * sizeof(float), (size_t)g->N,
                                    cudaMemcpyDeviceToDevice, g->stream));
    if (l) /* dL/dh of the layer below at every step: dG (W nb, 4H) W_ih (4H, H) */
        HS_TRY(hs_gemm_rm(g, 0, 0, (int)(W * nb), (int)H, (int)G4, gates, (int)G4, gs, g->params + g->lay.w_ih[l],
                          (int)H, g->P, 0.0f, g->dx, (int)H, xs));
    return HS_OK;
}

/* Backward from g->dy: every gradient in g->grads. */
static hs_status hs_cuda_bwd(hs_lstm_cuda *g, int nb)
{
    int64_t H = g->H, K = g->K;
    float *hl = hs_hlast(g, nb);
    /* the head: dW_out (K, H) = dy^T h_last, db_out = 1^T dy, dL/dh_last = dy W_out */
    HS_TRY(hs_gemm_rm(g, 1, 0, (int)K, (int)H, nb, g->dy, (int)K, nb * K, hl, (int)H, HS_SSTRIDE(g), 0.0f,
                      g->grads + g->lay.w_out, (int)H, g->P));
    HS_TRY(hs_gemm_rm(g, 0, 0, 1, (int)K, nb, g->ones, nb, 0, g->dy, (int)K, nb * K, 0.0f, g->grads + g->lay.b_out,
                      (int)K, g->P));
    HS_KERNEL_CHECK(hs_kernel_lstm_head_dh((int)g->N, (int)H, (int)K, nb, g->params, g->P, g->lay.w_out, g->dy,
                                           g->dhl, g->Bmax * H, g->stream));
    if (g->impl == HS_IMPL_CUDNN)
        return hs_lstm_cudnn_backward(g->cudnn, g->params, g->dhl, g->Bmax * H, g->grads);
    for (int l = (int)g->L - 1; l >= 0; l--)
        HS_TRY(hs_bwd_layer(g, l, nb));
    return HS_OK;
}

/* ---- the seam's host-memory entry points (tests, predictions) ---------------------------------- */

static hs_status hs_check_batch(const hs_lstm *m, int B)
{
    if (B < 1 || B > m->cfg.batch)
        return hs_error_set(HS_ERR_USAGE, "lstm (cuda): batch %d outside 1..%d", B, m->cfg.batch);
    return HS_OK;
}

static hs_status hs_host_forward(hs_lstm *m, int impl, const float *x, int B)
{
    hs_lstm_cuda *g;
    HS_TRY(hs_check_batch(m, B));
    HS_TRY(hs_lstm_cuda_state(m, impl, &g));
    size_t nx = (size_t)(g->N * g->W * B * g->F), ny = (size_t)(g->N * B * g->K);
    HS_CUDA_CHECK(cudaMemcpyAsync(g->params, m->params, (size_t)(g->N * g->P) * sizeof(float), cudaMemcpyHostToDevice,
                                  g->stream));
    HS_CUDA_CHECK(cudaMemcpyAsync(g->x, x, nx * sizeof(float), cudaMemcpyHostToDevice, g->stream));
    HS_TRY(hs_cuda_fwd(g, B));
    HS_CUDA_CHECK(cudaMemcpyAsync(m->y, g->y, ny * sizeof(float), cudaMemcpyDeviceToHost, g->stream));
    HS_CUDA_CHECK(cudaStreamSynchronize(g->stream));
    g->B = B;
    return HS_OK;
}

static hs_status hs_host_backward(hs_lstm *m, int impl, const float *dy, int B)
{
    hs_lstm_cuda *g = m->ws_free == hs_lstm_cuda_free ? m->ws : NULL;
    if (!g || g->impl != hs_impl_resolve(impl, m->cfg.hidden) || B != g->B)
        return hs_error_set(HS_ERR_USAGE, "lstm (cuda): backward without the forward of this batch");
    HS_CUDA_CHECK(cudaMemcpyAsync(g->dy, dy, (size_t)(g->N * B * g->K) * sizeof(float), cudaMemcpyHostToDevice,
                                  g->stream));
    HS_TRY(hs_cuda_bwd(g, B));
    HS_CUDA_CHECK(cudaMemcpyAsync(m->grads, g->grads, (size_t)(g->N * g->P) * sizeof(float), cudaMemcpyDeviceToHost,
                                  g->stream));
    HS_CUDA_CHECK(cudaStreamSynchronize(g->stream));
    return HS_OK;
}

/* ---- the resident training steps ----------------------------------------------------------- */

static hs_status hs_res_bind(hs_lstm *m, int impl, const hs_lstm_data *d, int64_t max_ends)
{
    hs_lstm_cuda *g;
    HS_TRY(hs_lstm_cuda_state(m, impl, &g));
    if (d->N != g->N || hs_lstm_features(d) != g->F)
        return hs_error_set(HS_ERR_USAGE, "lstm (cuda): %d series of %d features for %lld models of %lld", d->N,
                            hs_lstm_features(d), (long long)g->N, (long long)g->F);
    cudaFree(g->series);
    cudaFree(g->ends);
    g->series = NULL;
    g->ends = NULL;
    HS_TRY(hs_dalloc((void **)&g->series, g->N * d->M * (int64_t)sizeof(float), "the series"));
    HS_TRY(hs_dalloc((void **)&g->ends, (max_ends > 0 ? max_ends : 1) * (int64_t)sizeof(int64_t), "window ends"));
    g->M = d->M;
    g->max_ends = max_ends;
    g->calendar = d->calendar;
    g->start_unix = d->start_unix;
    g->step_seconds = d->step_seconds;
    size_t np = (size_t)(g->N * g->P) * sizeof(float);
    HS_CUDA_CHECK(cudaMemcpyAsync(g->series, d->v, (size_t)(g->N * d->M) * sizeof(float), cudaMemcpyHostToDevice,
                                  g->stream));
    HS_CUDA_CHECK(cudaMemcpyAsync(g->params, m->params, np, cudaMemcpyHostToDevice, g->stream));
    HS_CUDA_CHECK(cudaMemcpyAsync(g->best, m->params, np, cudaMemcpyHostToDevice, g->stream));
    HS_CUDA_CHECK(cudaMemcpyAsync(g->am, m->adam_m, np, cudaMemcpyHostToDevice, g->stream));
    HS_CUDA_CHECK(cudaMemcpyAsync(g->av, m->adam_v, np, cudaMemcpyHostToDevice, g->stream));
    HS_CUDA_CHECK(cudaMemsetAsync(g->acc, 0, (size_t)(2 * g->N) * sizeof(double), g->stream));
    HS_CUDA_CHECK(cudaMemsetAsync(g->active, 1, (size_t)g->N, g->stream));
    HS_CUDA_CHECK(cudaStreamSynchronize(g->stream));
    return HS_OK;
}

static hs_status hs_res_state(hs_lstm *m, hs_lstm_cuda **out)
{
    *out = m->ws_free == hs_lstm_cuda_free ? m->ws : NULL;
    if (!*out || !(*out)->series)
        return hs_error_set(HS_ERR_USAGE, "lstm (cuda): a training step before bind");
    return HS_OK;
}

static hs_status hs_res_set_ends(hs_lstm *m, const int64_t *ends, int64_t n)
{
    hs_lstm_cuda *g;
    HS_TRY(hs_res_state(m, &g));
    if (n > g->max_ends)
        return hs_error_set(HS_ERR_USAGE, "lstm (cuda): %lld window ends, room for %lld", (long long)n,
                            (long long)g->max_ends);
    HS_CUDA_CHECK(cudaMemcpyAsync(g->ends, ends, (size_t)n * sizeof *ends, cudaMemcpyHostToDevice, g->stream));
    /* the host array may change once this returns */
    HS_CUDA_CHECK(cudaStreamSynchronize(g->stream));
    return HS_OK;
}

static hs_status hs_res_gather(hs_lstm_cuda *g, const int64_t *ends, int64_t first, int64_t e0, int nb)
{
    HS_KERNEL_CHECK(hs_kernel_lstm_gather(g->series, g->M, (int)g->N, (int)g->W, nb, (int)g->F, (int)g->K, ends, first,
                                          e0, g->calendar, g->start_unix, g->step_seconds, g->x, g->target,
                                          g->stream));
    return HS_OK;
}

static hs_status hs_res_train(hs_lstm *m, int64_t first, int nb, float clip, const hs_adam_hparams *h)
{
    hs_lstm_cuda *g;
    HS_TRY(hs_res_state(m, &g));
    HS_TRY(hs_check_batch(m, nb));
    if (first < 0 || first + nb > g->max_ends)
        return hs_error_set(HS_ERR_USAGE, "lstm (cuda): windows %lld..%lld outside the %lld ends", (long long)first,
                            (long long)(first + nb), (long long)g->max_ends);
    HS_TRY(hs_res_gather(g, g->ends, first, 0, nb));
    HS_TRY(hs_cuda_fwd(g, nb));
    HS_KERNEL_CHECK(hs_kernel_lstm_mse((int)g->N, (int)g->K, nb, g->y, g->target, g->dy, g->acc, g->stream));
    HS_TRY(hs_cuda_bwd(g, nb));
    m->adam_t++;
    float bc1, sqrt_bc2;
    hs_adam_bias(*h, m->adam_t, &bc1, &sqrt_bc2);
    HS_KERNEL_CHECK(hs_kernel_lstm_clip_adam((int)g->N, g->P, g->params, g->grads, g->am, g->av, g->norms, clip,
                                             g->active, *h, bc1, sqrt_bc2, g->stream));
    return HS_OK;
}

static hs_status hs_res_eval(hs_lstm *m, int64_t e0, int nb)
{
    hs_lstm_cuda *g;
    HS_TRY(hs_res_state(m, &g));
    HS_TRY(hs_check_batch(m, nb));
    if (e0 < 1 || e0 + nb - 1 + g->K > g->M)
        return hs_error_set(HS_ERR_USAGE, "lstm (cuda): validation windows past the series");
    HS_TRY(hs_res_gather(g, NULL, 0, e0, nb));
    HS_TRY(hs_cuda_fwd(g, nb));
    HS_KERNEL_CHECK(hs_kernel_lstm_mse((int)g->N, (int)g->K, nb, g->y, g->target, NULL, g->acc + g->N, g->stream));
    return HS_OK;
}

static hs_status hs_res_take_losses(hs_lstm *m, double *train, double *val)
{
    hs_lstm_cuda *g;
    HS_TRY(hs_res_state(m, &g));
    double *h = malloc((size_t)(2 * g->N) * sizeof *h);
    if (!h)
        return hs_error_set(HS_ERR_NOMEM, "lstm (cuda): out of host memory");
    cudaError_t e = cudaMemcpyAsync(h, g->acc, (size_t)(2 * g->N) * sizeof *h, cudaMemcpyDeviceToHost, g->stream);
    if (e == cudaSuccess)
        e = cudaMemsetAsync(g->acc, 0, (size_t)(2 * g->N) * sizeof(double), g->stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(g->stream);
    if (e == cudaSuccess) {
        if (train)
            memcpy(train, h, (size_t)g->N * sizeof *h);
        if (val)
            memcpy(val, h + g->N, (size_t)g->N * sizeof *h);
    }
    free(h);
    HS_CUDA_CHECK(e);
    return HS_OK;
}

static hs_status hs_res_set_active(hs_lstm *m, const unsigned char *active)
{
    hs_lstm_cuda *g;
    HS_TRY(hs_res_state(m, &g));
    HS_CUDA_CHECK(cudaMemcpyAsync(g->active, active, (size_t)g->N, cudaMemcpyHostToDevice, g->stream));
    HS_CUDA_CHECK(cudaStreamSynchronize(g->stream));
    return HS_OK;
}

static hs_status hs_res_keep_best(hs_lstm *m, int n)
{
    hs_lstm_cuda *g;
    HS_TRY(hs_res_state(m, &g));
    HS_CUDA_CHECK(cudaMemcpyAsync(g->best + (int64_t)n * g->P, g->params + (int64_t)n * g->P,
                                  (size_t)g->P * sizeof(float), cudaMemcpyDeviceToDevice, g->stream));
    return HS_OK;
}

static hs_status hs_res_finish(hs_lstm *m, int best)
{
    hs_lstm_cuda *g;
    HS_TRY(hs_res_state(m, &g));
    size_t np = (size_t)(g->N * g->P) * sizeof(float);
    HS_CUDA_CHECK(cudaMemcpyAsync(m->params, best ? g->best : g->params, np, cudaMemcpyDeviceToHost, g->stream));
    HS_CUDA_CHECK(cudaMemcpyAsync(m->adam_m, g->am, np, cudaMemcpyDeviceToHost, g->stream));
    HS_CUDA_CHECK(cudaMemcpyAsync(m->adam_v, g->av, np, cudaMemcpyDeviceToHost, g->stream));
    HS_CUDA_CHECK(cudaStreamSynchronize(g->stream));
    cudaFree(g->series);
    cudaFree(g->ends);
    g->series = NULL;
    g->ends = NULL;
    return HS_OK;
}

static hs_status hs_cuda_predict_one(hs_lstm *m, const hs_lstm_data *d, int64_t end, int steps, float pad,
                                     float *out, int *declined)
{
    return hs_lstm_cuda_predict_one(m, d, end, steps, pad, out, NULL, declined);
}

/* One backend and one resident table per implementation: the variant picks the kernels. */
#define HS_LSTM_CUDA_VARIANT(NAME, IMPL)                                                                         \
    static hs_status NAME##_fwd(hs_lstm *m, const float *x, int B) { return hs_host_forward(m, IMPL, x, B); }   \
    static hs_status NAME##_bwd(hs_lstm *m, const float *dy, int B) { return hs_host_backward(m, IMPL, dy, B); } \
    static hs_status NAME##_bind(hs_lstm *m, const hs_lstm_data *d, int64_t n)                                 \
    {                                                                                                          \
        return hs_res_bind(m, IMPL, d, n);                                                                      \
    }                                                                                                          \
    static const hs_lstm_resident NAME##_res = {NAME##_bind,         hs_res_set_ends,  hs_res_train,            \
                                                hs_res_eval,         hs_res_take_losses, hs_res_set_active,     \
                                                hs_res_keep_best,    hs_res_finish};                            \
    static const hs_lstm_backend NAME##_be = {"cuda-" #NAME, HS_DEVICE_CUDA, NAME##_fwd, NAME##_bwd, &NAME##_res, \
                                              hs_cuda_predict_one};

HS_LSTM_CUDA_VARIANT(auto, HS_IMPL_AUTO)
HS_LSTM_CUDA_VARIANT(cublas, HS_IMPL_CUBLAS)
HS_LSTM_CUDA_VARIANT(persistent, HS_IMPL_PERSIST)
HS_LSTM_CUDA_VARIANT(cudnn, HS_IMPL_CUDNN)

hs_status hs_lstm_backend_cuda_impl(hs_lstm_impl impl, const hs_lstm_backend **out)
{
    static const hs_lstm_backend *const all[HS_LSTM_IMPL_COUNT] = {
        [HS_LSTM_IMPL_AUTO] = &auto_be,
        [HS_LSTM_IMPL_CUBLAS] = &cublas_be,
        [HS_LSTM_IMPL_PERSISTENT] = &persistent_be,
        [HS_LSTM_IMPL_CUDNN] = &cudnn_be,
    };
    *out = NULL;
    HS_ASSERT(impl >= 0 && impl < HS_LSTM_IMPL_COUNT);
    if (hs_cuda_device_count() <= 0)
        return hs_error_set(HS_ERR_DEVICE, "the CUDA LSTM: no CUDA device answers on this machine");
    *out = all[impl];
    return HS_OK;
}
