/* kernels.h: the extern "C" entry points of kernels/ (device pointers, sizes, a stream),
 * called by the host glue in src/backend/cuda/. Each returns the cudaError_t of its launch
 * (cudaGetLastError after the launch; synchronised first under HS_CUDA_SYNC_DEBUG). */
#ifndef HYSCALE_KERNELS_H
#define HYSCALE_KERNELS_H

#include <stdint.h>

#include "hyscale/math/errsum.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per-block sums over blocks of HS_ERRSUM_BLOCK pairs, then the block sums in order:
 * y, yhat: (n) device arrays; partial: (ceil(n / HS_ERRSUM_BLOCK)) device scratch; out: one
 * device hs_errsum. Deterministic (fixed reduction order). */
#define HS_ERRSUM_BLOCK 4096
int hs_kernel_errsum(const float *y, const float *yhat, int64_t n, hs_errsum *partial, hs_errsum *out,
                     void *stream);

#ifdef __cplusplus
}
#endif
#endif
