/* device_cuda.c: CUDA device discovery for --device (backend.h). Built only with the CUDA
 * backend (src/backend/nocuda.c answers without it); a missing driver or GPU reads as zero
 * devices, never as a failure. */
#include <stdio.h>

#include <cuda_runtime_api.h>

#include "hyscale/backend.h"

int hs_cuda_built(void) { return 1; }

int hs_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky "no device" error */
        return 0;
    }
    return n;
}

const char *hs_cuda_device_describe(void)
{
    static char buf[256];
    struct cudaDeviceProp p;
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&p, dev) != cudaSuccess) {
        snprintf(buf, sizeof buf, "cuda: unknown device");
        return buf;
    }
    snprintf(buf, sizeof buf, "cuda: %.200s (sm_%d%d, %.1f GiB)", p.name, p.major, p.minor,
             (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
    return buf;
}
