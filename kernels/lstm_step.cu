/* lstm_step.cu: the LSTM training step's element-wise and reduction kernels on the GPU, around
 * the cuBLAS GEMMs of src/backend/cuda/lstm_cuda.c: the window gather, the gate math of one step
 * (forward and backward, math/lstm_cell.h), the head, the MSE, the per-model gradient norm,
 * clipping (math/clip.h) and Adam (math/adam.h). Buffers follow the CPU layout (src/backend/cpu/lstm_cpu.h): per model n, x at
 * n*W*B*F as (W, B, F); a layer's gates at a per-model stride as (W, B, 4H) rows t*B + b; y, dy,
 * target at n*B*K. Reductions run in a fixed order (deterministic). */
#include <cuda_runtime.h>
#include <stdint.h>

#include "backend/cuda/kernels.h"
#include "launch.cuh"
#include "hyscale/math/adam.h"
#include "hyscale/math/clip.h"
#include "hyscale/math/lstm_calendar.h"
#include "hyscale/math/lstm_cell.h"

#define HS_T 256

static unsigned hs_blocks(int64_t n) { return (unsigned)((n + HS_T - 1) / HS_T); }

/* ---- gather ---------------------------------------------------------------------------------- */

/* x (N, W, nb, F) and target (N, nb, K) from the series v (N, M): window b ends at
 * ends[first + b] (or at e0 + b when ends is NULL). */
static __global__ void hs_gather(const float *v, int64_t M, int N, int W, int nb, int F, int K, const int64_t *ends,
                                 int64_t first, int64_t e0, int calendar, int64_t start_unix, int64_t step_s, float *x,
                                 float *target)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, nx = (int64_t)N * W * nb;
    if (i < nx) {
        int b = (int)(i % nb), tau = (int)((i / nb) % W), n = (int)(i / ((int64_t)nb * W));
        int64_t e = ends ? ends[first + b] : e0 + b, ti = e - W + tau;
        float f[5];
        f[0] = ti >= 0 ? v[(int64_t)n * M + ti] : 0.0f;
        if (calendar)
            hs_lstm_calendar_at(start_unix, step_s, ti, f);
        float *o = x + i * F;
        for (int q = 0; q < F; q++)
            o[q] = f[q];
    } else if (i < nx + (int64_t)N * nb * K) {
        int64_t j = i - nx;
        int k = (int)(j % K), b = (int)((j / K) % nb), n = (int)(j / ((int64_t)K * nb));
        int64_t e = ends ? ends[first + b] : e0 + b;
        target[j] = v[(int64_t)n * M + e + k];
    }
}

extern "C" int hs_kernel_lstm_gather(const float *v, int64_t M, int N, int W, int nb, int F, int K,
                                     const int64_t *ends, int64_t first, int64_t e0, int calendar, int64_t start_unix,
                                     int64_t step_seconds, float *x, float *target, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    int64_t n = (int64_t)N * W * nb + (int64_t)N * nb * K;
    hs_gather<<<hs_blocks(n), HS_T, 0, s>>>(v, M, N, W, nb, F, K, ends, first, e0, calendar, start_unix,
                                            step_seconds, x, target);
    return (int)hs_launched(s);
}

/* ---- one step of the gate math (the cuBLAS path) ------------------------------------------- */

/* gates_t (nb, 4H) of model n at gates + n*gstride holds the pre-activations without biases;
 * adds b_ih + b_hh, activates in place, writes c_t, h_t; cprev NULL at t = 0. */
static __global__ void hs_cell_fwd(int N, int H, int nb, const float *params, int64_t P, int64_t b_ih, int64_t b_hh,
                                   float *gates, int64_t gstride, const float *cprev, float *c, float *h,
                                   int64_t sstride)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)N * nb * H)
        return;
    int u = (int)(i % H), b = (int)((i / H) % nb), n = (int)(i / ((int64_t)H * nb));
    const float *p = params + (int64_t)n * P;
    float *g = gates + (int64_t)n * gstride + (int64_t)b * 4 * H;
    float ai = g[u] + (p[b_ih + u] + p[b_hh + u]);
    float af = g[H + u] + (p[b_ih + H + u] + p[b_hh + H + u]);
    float ag = g[2 * H + u] + (p[b_ih + 2 * H + u] + p[b_hh + 2 * H + u]);
    float ao = g[3 * H + u] + (p[b_ih + 3 * H + u] + p[b_hh + 3 * H + u]);
    int64_t e = (int64_t)n * sstride + (int64_t)b * H + u;
    float cc, hh;
    hs_lstm_cell_fwd(&ai, &af, &ag, &ao, cprev ? cprev[e] : 0.0f, &cc, &hh);
    g[u] = ai;
    g[H + u] = af;
    g[2 * H + u] = ag;
    g[3 * H + u] = ao;
    c[e] = cc;
    h[e] = hh;
}

extern "C" int hs_kernel_lstm_cell_fwd(int N, int H, int nb, const float *params, int64_t P, int64_t b_ih,
                                       int64_t b_hh, float *gates, int64_t gstride, const float *cprev, float *c,
                                       float *h, int64_t sstride, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    hs_cell_fwd<<<hs_blocks((int64_t)N * nb * H), HS_T, 0, s>>>(N, H, nb, params, P, b_ih, b_hh, gates, gstride,
                                                                 cprev, c, h, sstride);
    return (int)hs_launched(s);
}

/* Backward of one step: dL/dh_t = dh_rec (the recurrence's GEMM, NULL at the last step) +
 * dh_ext (from the head or the layer above, NULL for none); dc (nb, H) carries dL/dc from t+1
 * (zero at the last step: first = 1) and leaves with dL/dc_{t-1}; the activated gates_t are
 * overwritten by the pre-activation gradients. dh_rec, dh_ext, dc: model n at n*dstride. */
static __global__ void hs_cell_bwd(int N, int H, int nb, float *gates, int64_t gstride, const float *c,
                                   const float *cprev, int64_t sstride, const float *dh_rec, const float *dh_ext,
                                   int64_t estride, float *dc, int64_t dstride, int first)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)N * nb * H)
        return;
    int u = (int)(i % H), b = (int)((i / H) % nb), n = (int)(i / ((int64_t)H * nb));
    float *g = gates + (int64_t)n * gstride + (int64_t)b * 4 * H;
    int64_t e = (int64_t)n * sstride + (int64_t)b * H + u, d = (int64_t)n * dstride + (int64_t)b * H + u;
    float dh = (dh_rec ? dh_rec[d] : 0.0f) + (dh_ext ? dh_ext[(int64_t)n * estride + (int64_t)b * H + u] : 0.0f);
    float dai, daf, dag, dao;
    float dcp = hs_lstm_cell_bwd(g[u], g[H + u], g[2 * H + u], g[3 * H + u], c[e], cprev ? cprev[e] : 0.0f, dh,
                                 first ? 0.0f : dc[d], &dai, &daf, &dag, &dao);
    g[u] = dai;
    g[H + u] = daf;
    g[2 * H + u] = dag;
    g[3 * H + u] = dao;
    dc[d] = dcp;
}

extern "C" int hs_kernel_lstm_cell_bwd(int N, int H, int nb, float *gates, int64_t gstride, const float *c,
                                       const float *cprev, int64_t sstride, const float *dh_rec, const float *dh_ext,
                                       int64_t estride, float *dc, int64_t dstride, int first, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    hs_cell_bwd<<<hs_blocks((int64_t)N * nb * H), HS_T, 0, s>>>(N, H, nb, gates, gstride, c, cprev, sstride, dh_rec,
                                                                 dh_ext, estride, dc, dstride, first);
    return (int)hs_launched(s);
}

/* ---- head and loss ---------------------------------------------------------------------------- */

/* y (N, nb, K) = h_last W_out^T + b_out; h_last of model n at hlast + n*hstride, (nb, H). */
static __global__ void hs_head_fwd(int N, int H, int K, int nb, const float *params, int64_t P, int64_t w_out,
                                   int64_t b_out, const float *hlast, int64_t hstride, float *y)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)N * nb * K)
        return;
    int k = (int)(i % K), b = (int)((i / K) % nb), n = (int)(i / ((int64_t)K * nb));
    const float *p = params + (int64_t)n * P, *w = p + w_out + (int64_t)k * H;
    const float *h = hlast + (int64_t)n * hstride + (int64_t)b * H;
    float s = 0.0f;
    for (int u = 0; u < H; u++)
        s = fmaf(h[u], w[u], s);
    y[i] = s + p[b_out + k];
}

extern "C" int hs_kernel_lstm_head_fwd(int N, int H, int K, int nb, const float *params, int64_t P, int64_t w_out,
                                       int64_t b_out, const float *hlast, int64_t hstride, float *y, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    hs_head_fwd<<<hs_blocks((int64_t)N * nb * K), HS_T, 0, s>>>(N, H, K, nb, params, P, w_out, b_out, hlast, hstride,
                                                                 y);
    return (int)hs_launched(s);
}

/* dL/dh_last (N, nb, H) at dh + n*dstride = dy W_out. */
static __global__ void hs_head_dh(int N, int H, int K, int nb, const float *params, int64_t P, int64_t w_out,
                                  const float *dy, float *dh, int64_t dstride)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)N * nb * H)
        return;
    int u = (int)(i % H), b = (int)((i / H) % nb), n = (int)(i / ((int64_t)H * nb));
    const float *w = params + (int64_t)n * P + w_out, *d = dy + ((int64_t)n * nb + b) * K;
    float s = 0.0f;
    for (int k = 0; k < K; k++)
        s = fmaf(d[k], w[(int64_t)k * H + u], s);
    dh[(int64_t)n * dstride + (int64_t)b * H + u] = s;
}

extern "C" int hs_kernel_lstm_head_dh(int N, int H, int K, int nb, const float *params, int64_t P, int64_t w_out,
                                      const float *dy, float *dh, int64_t dstride, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    hs_head_dh<<<hs_blocks((int64_t)N * nb * H), HS_T, 0, s>>>(N, H, K, nb, params, P, w_out, dy, dh, dstride);
    return (int)hs_launched(s);
}

/* Fixed-order block sum of a double per thread (blockDim.x == HS_T); thread 0 gets the total. */
static __device__ double hs_block_sum(double v)
{
    __shared__ double sh[HS_T];
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int k = HS_T / 2; k > 0; k >>= 1) {
        if ((int)threadIdx.x < k)
            sh[threadIdx.x] += sh[threadIdx.x + k];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

/* One block per model: loss = mean (y - t)^2 over nb*K (in double, as the CPU), dy = 2e/cnt,
 * acc[n] += (double)(float)loss * nb; dy may be NULL (validation). */
static __global__ void hs_mse(int K, int nb, const float *y, const float *t, float *dy, double *acc)
{
    int n = blockIdx.x;
    int64_t cnt = (int64_t)nb * K, o = (int64_t)n * cnt;
    double s = 0;
    for (int64_t i = threadIdx.x; i < cnt; i += HS_T) {
        float e = y[o + i] - t[o + i];
        s += (double)e * e;
        if (dy)
            dy[o + i] = 2.0f * e / (float)cnt;
    }
    s = hs_block_sum(s);
    if (threadIdx.x == 0)
        acc[n] += (double)(float)(s / (double)cnt) * nb;
}

extern "C" int hs_kernel_lstm_mse(int N, int K, int nb, const float *y, const float *target, float *dy, double *acc,
                                  void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    hs_mse<<<N, HS_T, 0, s>>>(K, nb, y, target, dy, acc);
    return (int)hs_launched(s);
}

/* ---- clipping and Adam ------------------------------------------------------------------------ */

/* One block per model: norms[n] = || g_n ||_2 (sum of squares in double). */
static __global__ void hs_grad_norm(const float *g, int64_t P, float *norms)
{
    int n = blockIdx.x;
    const float *gn = g + (int64_t)n * P;
    double s = 0;
    for (int64_t i = threadIdx.x; i < P; i += HS_T)
        s += (double)gn[i] * gn[i];
    s = hs_block_sum(s);
    if (threadIdx.x == 0)
        norms[n] = (float)sqrt(s);
}

/* clip_grad_norm_(max_norm) then Adam for the active models (active NULL: all). */
static __global__ void hs_adam(int N, int64_t P, float *params, float *grads, float *m, float *v, const float *norms,
                               float max_norm, const unsigned char *active, hs_adam_hparams h, float bc1,
                               float sqrt_bc2)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (int64_t)N * P)
        return;
    int n = (int)(i / P);
    float g = grads[i], coef = hs_clip_coef(norms[n], max_norm);
    if (coef < 1.0f) {
        g *= coef;
        grads[i] = g;
    }
    if (active && !active[n])
        return;
    hs_adam_update(&params[i], &m[i], &v[i], g, h, bc1, sqrt_bc2);
}

extern "C" int hs_kernel_lstm_clip_adam(int N, int64_t P, float *params, float *grads, float *m, float *v,
                                        float *norms, float max_norm, const unsigned char *active, hs_adam_hparams h,
                                        float bc1, float sqrt_bc2, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    hs_grad_norm<<<N, HS_T, 0, s>>>(grads, P, norms);
    cudaError_t e = hs_launched(s);
    if (e != cudaSuccess)
        return (int)e;
    hs_adam<<<hs_blocks((int64_t)N * P), HS_T, 0, s>>>(N, P, params, grads, m, v, norms, max_norm, active, h, bc1,
                                                       sqrt_bc2);
    return (int)hs_launched(s);
}
