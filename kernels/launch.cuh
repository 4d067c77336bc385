/* launch.cuh: the one check after a kernel launch in kernels/: the launch's error, and under
 * HS_CUDA_SYNC_DEBUG the stream synchronised so a fault is reported at the kernel that made it. */
#ifndef HYSCALE_KERNELS_LAUNCH_CUH
#define HYSCALE_KERNELS_LAUNCH_CUH

#include <cuda_runtime.h>

static inline cudaError_t hs_launched(cudaStream_t s)
{
    cudaError_t e = cudaGetLastError();
#ifdef HS_CUDA_SYNC_DEBUG
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(s);
#else
    (void)s;
#endif
    return e;
}

#endif
