/* cuda_check.h: one checking macro family for CUDA runtime calls in the host glue
 * (src/backend/cuda/), turning a failure into an hs_status with the expression, function,
 * file and line. C only (cuda_runtime_api.h is a C header). */
#ifndef HYSCALE_CUDA_CHECK_H
#define HYSCALE_CUDA_CHECK_H

#include <cuda_runtime_api.h>

#include "hyscale/status.h"

#define HS_CUDA_CHECK(expr)                                                                          \
    do {                                                                                             \
        cudaError_t hs_ce_ = (expr);                                                                 \
        if (hs_ce_ != cudaSuccess)                                                                   \
            return hs_error_set(HS_ERR_DEVICE, "CUDA error %s (%s) in %s at %s:%d: %s",            \
                                cudaGetErrorName(hs_ce_), cudaGetErrorString(hs_ce_), #expr, __FILE__, \
                                __LINE__, __func__);                                                 \
    } while (0)

#endif
