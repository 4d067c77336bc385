/* errsum_cuda.c: host glue of the metrics reduction (kernels/errsum.cu): copies the pairs in,
 * launches, copies the two sums out (backend.h). */
#include <stdlib.h>

#include "hyscale/backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"

static hs_status hs_cuda_errsum_run(const float *y, const float *yhat, int64_t n, hs_errsum *out, float *d_y,
                                    float *d_h, hs_errsum *d_part, hs_errsum *d_out)
{
    HS_CUDA_CHECK(cudaMemcpy(d_y, y, (size_t)n * sizeof *y, cudaMemcpyHostToDevice));
    HS_CUDA_CHECK(cudaMemcpy(d_h, yhat, (size_t)n * sizeof *yhat, cudaMemcpyHostToDevice));
    HS_CUDA_CHECK((cudaError_t)hs_kernel_errsum(d_y, d_h, n, d_part, d_out, NULL));
    HS_CUDA_CHECK(cudaMemcpy(out, d_out, sizeof *out, cudaMemcpyDeviceToHost));
    return HS_OK;
}

hs_status hs_cuda_errsum(const float *y, const float *yhat, int64_t n, hs_errsum *out)
{
    if (hs_cuda_device_count() <= 0)
        return hs_error_set(HS_ERR_DEVICE, "no CUDA device answers on this machine");
    int64_t nb = (n + HS_ERRSUM_BLOCK - 1) / HS_ERRSUM_BLOCK;
    float *d_y = NULL, *d_h = NULL;
    hs_errsum *d_part = NULL, *d_out = NULL;
    hs_status st = HS_OK;
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
    if (cudaMalloc((void **)&d_y, bytes) != cudaSuccess || cudaMalloc((void **)&d_h, bytes) != cudaSuccess ||
        cudaMalloc((void **)&d_part, (size_t)(nb > 0 ? nb : 1) * sizeof(hs_errsum)) != cudaSuccess ||
        cudaMalloc((void **)&d_out, sizeof(hs_errsum)) != cudaSuccess)
        st = hs_error_set(HS_ERR_DEVICE, "cudaMalloc failed for %lld pairs", (long long)n);
    if (st == HS_OK)
        st = hs_cuda_errsum_run(y, yhat, n, out, d_y, d_h, d_part, d_out);
    cudaFree(d_y);
    cudaFree(d_h);
    cudaFree(d_part);
    cudaFree(d_out);
    return st;
}
