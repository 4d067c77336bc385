/* errsum.cu: the forecast-metrics reduction (sum |e|, sum e^2) on the GPU. Stage 1: one block
 * per HS_ERRSUM_BLOCK pairs, each thread strides through its block accumulating with the
 * shared hs_errsum_add, then a shared-memory tree; stage 2: one block sums the partials in
 * order. Fixed order everywhere, so the result is deterministic; it differs from the CPU twin
 * (src/core/metrics.c, same blocks) only by the order inside a block. */
#include <cuda_runtime.h>

#include "backend/cuda/kernels.h"
#include "hyscale/math/errsum.h"

#define HS_ERRSUM_THREADS 256

static __device__ void hs_block_reduce(hs_errsum *sh, hs_errsum s)
{
    sh[threadIdx.x] = s;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if ((int)threadIdx.x < k)
            hs_errsum_merge(&sh[threadIdx.x], sh[threadIdx.x + k]);
        __syncthreads();
    }
}

static __global__ void hs_errsum_blocks(const float *y, const float *yhat, int64_t n, hs_errsum *partial)
{
    __shared__ hs_errsum sh[HS_ERRSUM_THREADS];
    int64_t b0 = (int64_t)blockIdx.x * HS_ERRSUM_BLOCK;
    int64_t b1 = b0 + HS_ERRSUM_BLOCK < n ? b0 + HS_ERRSUM_BLOCK : n;
    hs_errsum s = {0, 0};
    for (int64_t i = b0 + threadIdx.x; i < b1; i += blockDim.x)
        hs_errsum_add(&s, y[i], yhat[i]);
    hs_block_reduce(sh, s);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = sh[0];
}

static __global__ void hs_errsum_final(const hs_errsum *partial, int64_t nb, hs_errsum *out)
{
    __shared__ hs_errsum sh[HS_ERRSUM_THREADS];
    hs_errsum s = {0, 0};
    for (int64_t i = threadIdx.x; i < nb; i += blockDim.x)
        hs_errsum_merge(&s, partial[i]);
    hs_block_reduce(sh, s);
    if (threadIdx.x == 0)
        *out = sh[0];
}

static cudaError_t hs_errsum_launch(const float *y, const float *yhat, int64_t n, hs_errsum *partial, hs_errsum *out,
                                    cudaStream_t stream)
{
    int64_t nb = (n + HS_ERRSUM_BLOCK - 1) / HS_ERRSUM_BLOCK;
    if (nb > 0)
        hs_errsum_blocks<<<(unsigned)nb, HS_ERRSUM_THREADS, 0, stream>>>(y, yhat, n, partial);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return e;
    hs_errsum_final<<<1, HS_ERRSUM_THREADS, 0, stream>>>(partial, nb, out);
    e = cudaGetLastError();
#ifdef HS_CUDA_SYNC_DEBUG
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(stream);
#endif
    return e;
}

extern "C" int hs_kernel_errsum(const float *y, const float *yhat, int64_t n, hs_errsum *partial, hs_errsum *out,
                                void *stream)
{
    return (int)hs_errsum_launch(y, yhat, n, partial, out, (cudaStream_t)stream);
}
