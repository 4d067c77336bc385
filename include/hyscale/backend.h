/* backend.h: the device choice behind every heavy module (--device auto|cpu|cuda).
 *
 *     hs_device dev;
 *     if (hs_device_resolve("auto", &dev)) ...;   // HS_DEVICE_CUDA when a GPU answers, else CPU
 *     printf("%s\n", hs_device_describe(dev));      // "cpu (2 threads)" or "cuda: NVIDIA H100 ..."
 *
 * The CUDA entry points exist in every build; without the CUDA backend (or without a GPU) they
 * return HS_ERR_DEVICE with a message (src/backend/nocuda.c, the one file of no-CUDA stubs), so
 * callers and tests need no #ifdef.
 */
#ifndef HYSCALE_BACKEND_H
#define HYSCALE_BACKEND_H

#include <stdint.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hs_device { HS_DEVICE_CPU = 0, HS_DEVICE_CUDA = 1 } hs_device;

/* 1 when this build has the CUDA backend compiled in. */
int hs_cuda_built(void);

/* Number of CUDA devices that answer (0 without the backend, a driver or a GPU). */
int hs_cuda_device_count(void);

/* "auto" -> CUDA when a device answers, else CPU; "cpu"; "cuda" (HS_ERR_DEVICE when none
 * answers, HS_ERR_USAGE for any other word). */
hs_status hs_device_resolve(const char *want, hs_device *out);

/* "cpu" or "cuda". */
const char *hs_device_name(hs_device dev);

/* The CUDA device's description ("cuda: NVIDIA H100 ... (sm_90, 79.1 GiB)"). Static buffer. */
const char *hs_cuda_device_describe(void);

/* A human description of the device: its model name and threads or memory. Static buffer,
 * valid until the next call. */
const char *hs_device_describe(hs_device dev);

#ifdef __cplusplus
}
#endif
#endif
