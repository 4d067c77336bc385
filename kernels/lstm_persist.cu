/* lstm_persist.cu: the persistent LSTM layer: one launch runs all W steps of a layer, forward or
 * backward, for N models at once (grid: tiles of batch rows x models), so the recurrence costs
 * no launch per step. This is where hyscale beats cuDNN at small hidden sizes: cuDNN's persistent
 * RNN kernels need a half-precision or a very large batch, its standard algorithm launches
 * GEMMs per step.
 *
 * A block holds its model's W_hh in shared memory for the whole sequence, float32:
 *   forward  as Wf[k][u] = (W_i[u][k], W_f[u][k], W_g[u][k], W_o[u][k]) (float4 per (k, u)),
 *   backward as Wb[j][u] = W_hh[j][u] (the rows, as they are),
 * plus the tile's h_{t-1} (forward) or dG_{t+1} (backward). Thread (u, group) owns hidden unit u
 * for RB rows of the tile (BT = G * RB rows, G = blockDim / H groups), keeps c (forward) or dL/dc
 * (backward) in registers, and computes all four gates of u, so the cell math (math/lstm_cell.h)
 * needs no exchange; two barriers a step publish h_t (or dG_t) to the other threads.
 *
 * What limits it: W_hh in shared memory, 16 H^2 bytes (64 KiB at H = 64, 144 KiB at H = 96), must
 * fit the opt-in maximum per block (227 KiB on sm_90) beside the tile's state, so H <= 112;
 * beyond that the cuBLAS path runs. blockDim = H * G <= HS_PERSIST_THREADS (G = 256 / H). Each step's inner product reads
 * W_hh from shared memory once per RB rows, so small RB (small batches, more blocks) is
 * shared-memory bound and large RB is FMA bound; RB is picked from the work per SM.
 *
 * Layout as the cuBLAS path (src/backend/cpu/lstm_cpu.h): model n's gates at gates + n*gstride, (W, B, 4H)
 * rows t*B + b; c and h at + n*sstride, (W, B, H). Forward: the gates hold the input projection
 * without biases on entry and the activated gates on exit. Backward: activated gates in, the
 * pre-activation gradients out (over them), from dh_seq (W, B, H: the layer above's gradient,
 * or NULL) plus dh_last (B, H: the head's, at the last step, or NULL). */
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdlib.h>

#include "backend/cuda/kernels.h"
#include "launch.cuh"
#include "hyscale/math/lstm_cell.h"

#define HS_PERSIST_THREADS 256

static __host__ __device__ int hs_groups(int H)
{
    int g = HS_PERSIST_THREADS / H;
    return g < 1 ? 1 : g;
}

template <int RB>
static __global__ void __launch_bounds__(HS_PERSIST_THREADS) hs_persist_fwd(int H, int W, int B, const float *params, int64_t P,
                                                              int64_t w_hh, int64_t b_ih, int64_t b_hh, float *gates,
                                                              int64_t gstride, float *cell, float *hid,
                                                              int64_t sstride)
{
    extern __shared__ float4 sm4[];
    const int G = blockDim.x / H, BT = G * RB, n = blockIdx.y;
    float4 *Wf = sm4;                         /* (H, H) float4 */
    float *hs = (float *)(sm4 + (int64_t)H * H); /* (BT, H) */
    const float *p = params + (int64_t)n * P, *w = p + w_hh;
    for (int i = threadIdx.x; i < H * H; i += blockDim.x) {
        int k = i / H, u = i % H;
        Wf[i] = make_float4(w[(int64_t)u * H + k], w[(int64_t)(H + u) * H + k], w[(int64_t)(2 * H + u) * H + k],
                            w[(int64_t)(3 * H + u) * H + k]);
    }
    const int u = threadIdx.x % H, grp = threadIdx.x / H;
    const bool live = grp < G;
    float bi = 0, bf = 0, bg = 0, bo = 0;
    if (live) {
        bi = p[b_ih + u] + p[b_hh + u];
        bf = p[b_ih + H + u] + p[b_hh + H + u];
        bg = p[b_ih + 2 * H + u] + p[b_hh + 2 * H + u];
        bo = p[b_ih + 3 * H + u] + p[b_hh + 3 * H + u];
    }
    const int row0 = blockIdx.x * BT + grp * RB; /* this thread's first row */
    float c[RB];
#pragma unroll
    for (int r = 0; r < RB; r++)
        c[r] = 0.0f;
    float *gn = gates + (int64_t)n * gstride;
    float *cn = cell + (int64_t)n * sstride, *hn = hid + (int64_t)n * sstride;
    __syncthreads();
    for (int t = 0; t < W; t++) {
        float ai[RB], af[RB], ag[RB], ao[RB];
#pragma unroll
        for (int r = 0; r < RB; r++) {
            int b = row0 + r;
            ai[r] = af[r] = ag[r] = ao[r] = 0.0f;
            if (live && b < B) {
                const float *g = gn + ((int64_t)t * B + b) * 4 * H;
                ai[r] = g[u] + bi;
                af[r] = g[H + u] + bf;
                ag[r] = g[2 * H + u] + bg;
                ao[r] = g[3 * H + u] + bo;
            }
        }
        if (t > 0 && live) {
            const float *hrow = hs + grp * RB * H;
            for (int k = 0; k < H; k++) {
                float4 wk = Wf[k * H + u];
#pragma unroll
                for (int r = 0; r < RB; r++) {
                    float hv = hrow[r * H + k];
                    ai[r] = fmaf(hv, wk.x, ai[r]);
                    af[r] = fmaf(hv, wk.y, af[r]);
                    ag[r] = fmaf(hv, wk.z, ag[r]);
                    ao[r] = fmaf(hv, wk.w, ao[r]);
                }
            }
        }
        __syncthreads(); /* every thread has read h_{t-1} */
        if (live) {
#pragma unroll
            for (int r = 0; r < RB; r++) {
                int b = row0 + r;
                float cc, hh;
                hs_lstm_cell_fwd(&ai[r], &af[r], &ag[r], &ao[r], c[r], &cc, &hh);
                c[r] = cc;
                hs[(grp * RB + r) * H + u] = hh;
                if (b < B) {
                    int64_t row = (int64_t)t * B + b;
                    float *g = gn + row * 4 * H;
                    g[u] = ai[r];
                    g[H + u] = af[r];
                    g[2 * H + u] = ag[r];
                    g[3 * H + u] = ao[r];
                    cn[row * H + u] = cc;
                    hn[row * H + u] = hh;
                }
            }
        }
        __syncthreads(); /* h_t is published */
    }
}

template <int RB>
static __global__ void __launch_bounds__(HS_PERSIST_THREADS) hs_persist_bwd(int H, int W, int B, const float *params, int64_t P,
                                                              int64_t w_hh, float *gates, int64_t gstride,
                                                              const float *cell, int64_t sstride, const float *dh_seq,
                                                              int64_t qstride, const float *dh_last, int64_t lstride)
{
    extern __shared__ float sm[];
    const int G = blockDim.x / H, BT = G * RB, n = blockIdx.y, G4 = 4 * H;
    float *Wb = sm;                          /* (4H, H) */
    float *dgs = sm + (int64_t)G4 * H;       /* (BT, 4H): dG_{t+1} of the tile */
    const float *w = params + (int64_t)n * P + w_hh;
    for (int i = threadIdx.x; i < G4 * H; i += blockDim.x)
        Wb[i] = w[i];
    const int u = threadIdx.x % H, grp = threadIdx.x / H;
    const bool live = grp < G;
    const int row0 = blockIdx.x * BT + grp * RB;
    float dc[RB];
#pragma unroll
    for (int r = 0; r < RB; r++)
        dc[r] = 0.0f;
    float *gn = gates + (int64_t)n * gstride;
    const float *cn = cell + (int64_t)n * sstride;
    const float *qn = dh_seq ? dh_seq + (int64_t)n * qstride : NULL;
    const float *ln = dh_last ? dh_last + (int64_t)n * lstride : NULL;
    __syncthreads();
    for (int t = W - 1; t >= 0; t--) {
        float dh[RB];
#pragma unroll
        for (int r = 0; r < RB; r++) {
            int b = row0 + r;
            dh[r] = 0.0f;
            if (live && b < B) {
                if (qn)
                    dh[r] = qn[((int64_t)t * B + b) * H + u];
                if (ln && t == W - 1)
                    dh[r] += ln[(int64_t)b * H + u];
            }
        }
        if (t < W - 1 && live) { /* dL/dh_t through the recurrence: dG_{t+1} W_hh */
            const float *drow = dgs + grp * RB * G4;
            float acc[RB];
#pragma unroll
            for (int r = 0; r < RB; r++)
                acc[r] = 0.0f;
            for (int j = 0; j < G4; j++) {
                float wj = Wb[j * H + u];
#pragma unroll
                for (int r = 0; r < RB; r++)
                    acc[r] = fmaf(drow[r * G4 + j], wj, acc[r]);
            }
#pragma unroll
            for (int r = 0; r < RB; r++)
                dh[r] += acc[r];
        }
        __syncthreads(); /* every thread has read dG_{t+1} */
        if (live) {
#pragma unroll
            for (int r = 0; r < RB; r++) {
                int b = row0 + r;
                float dai = 0, daf = 0, dag = 0, dao = 0;
                if (b < B) {
                    int64_t row = (int64_t)t * B + b;
                    float *g = gn + row * G4;
                    float cp = t ? cn[(row - B) * H + u] : 0.0f;
                    dc[r] = hs_lstm_cell_bwd(g[u], g[H + u], g[2 * H + u], g[3 * H + u], cn[row * H + u], cp, dh[r],
                                             dc[r], &dai, &daf, &dag, &dao);
                    g[u] = dai;
                    g[H + u] = daf;
                    g[2 * H + u] = dag;
                    g[3 * H + u] = dao;
                }
                float *d = dgs + (grp * RB + r) * G4;
                d[u] = dai;
                d[H + u] = daf;
                d[2 * H + u] = dag;
                d[3 * H + u] = dao;
            }
        }
        __syncthreads(); /* dG_t is published */
    }
}

static size_t hs_persist_smem(int H, int RB, int bwd)
{
    int BT = hs_groups(H) * RB;
    return bwd ? ((size_t)4 * H * H + (size_t)BT * 4 * H) * sizeof(float)
               : ((size_t)4 * H * H + (size_t)BT * H) * sizeof(float);
}

/* Rows per thread: the most (fewest shared-memory reads per FMA) that still gives every SM a
 * block. Measured on an H200 (H = 64, training windows/s, bench/results/gpu_20261128T0557Z/NOTES.md):
 * at B = 4096, RB 4 (256 blocks) beat RB 2 (512 blocks, the old two-blocks-per-SM rule) by 13-18%
 * and RB 8 (128 blocks, an idle SM) by 7-9%; at B = 16384 RB 8 was best; at B = 1024 RB 1 and 2
 * were within 4%. HS_LSTM_PERSIST_RB (1, 2, 4, 8) overrides it, for such sweeps. */
static int hs_persist_rb(int N, int H, int B, int sms)
{
    int G = hs_groups(H);
    for (int rb = 8; rb > 1; rb /= 2)
        if ((int64_t)N * ((B + G * rb - 1) / (G * rb)) >= (int64_t)sms)
            return rb;
    return 1;
}

extern "C" int hs_kernel_lstm_persist_max_hidden(void)
{
    int dev = 0, optin = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    int h = 0;
    for (int H = 4; H <= 1024; H += 4) /* backward with RB = 8 is the larger of the two */
        if (hs_persist_smem(H, 8, 1) <= (size_t)optin && H * hs_groups(H) <= HS_PERSIST_THREADS)
            h = H;
    return h;
}

template <int RB>
static cudaError_t hs_persist_launch(int bwd, int N, int H, int W, int B, const float *params, int64_t P,
                                     int64_t w_hh, int64_t b_ih, int64_t b_hh, float *gates, int64_t gstride,
                                     float *cell, float *hid, int64_t sstride, const float *dh_seq, int64_t qstride,
                                     const float *dh_last, int64_t lstride, cudaStream_t s)
{
    int G = hs_groups(H), BT = G * RB;
    size_t smem = hs_persist_smem(H, RB, bwd);
    dim3 grid((unsigned)((B + BT - 1) / BT), (unsigned)N);
    cudaError_t e;
    if (bwd) {
        e = cudaFuncSetAttribute(hs_persist_bwd<RB>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess)
            return e;
        hs_persist_bwd<RB><<<grid, H * G, smem, s>>>(H, W, B, params, P, w_hh, gates, gstride, cell, sstride, dh_seq,
                                                     qstride, dh_last, lstride);
    } else {
        e = cudaFuncSetAttribute(hs_persist_fwd<RB>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess)
            return e;
        hs_persist_fwd<RB><<<grid, H * G, smem, s>>>(H, W, B, params, P, w_hh, b_ih, b_hh, gates, gstride, cell, hid,
                                                     sstride);
    }
    return hs_launched(s);
}

static cudaError_t hs_persist(int bwd, int N, int H, int W, int B, const float *params, int64_t P, int64_t w_hh,
                              int64_t b_ih, int64_t b_hh, float *gates, int64_t gstride, float *cell, float *hid,
                              int64_t sstride, const float *dh_seq, int64_t qstride, const float *dh_last,
                              int64_t lstride, cudaStream_t s)
{
    /* per launch: two attribute reads (cheap), not hs_kernel_lstm_persist_max_hidden's search */
    int dev = 0, sms = 0, optin = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
    if (e != cudaSuccess)
        return e;
    int rb = hs_persist_rb(N, H, B, sms);
    const char *force = getenv("HS_LSTM_PERSIST_RB"); /* a tuning knob for bench/: 1, 2, 4 or 8 */
    if (force && (atoi(force) == 1 || atoi(force) == 2 || atoi(force) == 4 || atoi(force) == 8))
        rb = atoi(force);
    /* W_hh and the tile's state must fit; hs_kernel_lstm_persist_max_hidden() bounds H for every rb */
    if (H * hs_groups(H) > HS_PERSIST_THREADS || hs_persist_smem(H, rb, bwd) > (size_t)optin)
        return cudaErrorInvalidValue;
    switch (rb) {
    case 8:
        return hs_persist_launch<8>(bwd, N, H, W, B, params, P, w_hh, b_ih, b_hh, gates, gstride, cell, hid, sstride,
                                    dh_seq, qstride, dh_last, lstride, s);
    case 4:
        return hs_persist_launch<4>(bwd, N, H, W, B, params, P, w_hh, b_ih, b_hh, gates, gstride, cell, hid, sstride,
                                    dh_seq, qstride, dh_last, lstride, s);
    case 2:
        return hs_persist_launch<2>(bwd, N, H, W, B, params, P, w_hh, b_ih, b_hh, gates, gstride, cell, hid, sstride,
                                    dh_seq, qstride, dh_last, lstride, s);
    default:
        return hs_persist_launch<1>(bwd, N, H, W, B, params, P, w_hh, b_ih, b_hh, gates, gstride, cell, hid, sstride,
                                    dh_seq, qstride, dh_last, lstride, s);
    }
}

extern "C" int hs_kernel_lstm_persist_fwd(int N, int H, int W, int B, const float *params, int64_t P, int64_t w_hh,
                                          int64_t b_ih, int64_t b_hh, float *gates, int64_t gstride, float *cell,
                                          float *hid, int64_t sstride, void *stream)
{
    return (int)hs_persist(0, N, H, W, B, params, P, w_hh, b_ih, b_hh, gates, gstride, cell, hid, sstride, NULL, 0,
                           NULL, 0, (cudaStream_t)stream);
}

extern "C" int hs_kernel_lstm_persist_bwd(int N, int H, int W, int B, const float *params, int64_t P, int64_t w_hh,
                                          float *gates, int64_t gstride, const float *cell, int64_t sstride,
                                          const float *dh_seq, int64_t qstride, const float *dh_last, int64_t lstride,
                                          void *stream)
{
    return (int)hs_persist(1, N, H, W, B, params, P, w_hh, 0, 0, gates, gstride, (float *)cell, NULL, sstride, dh_seq,
                           qstride, dh_last, lstride, (cudaStream_t)stream);
}
