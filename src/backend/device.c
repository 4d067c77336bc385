/* device.c: --device auto|cpu|cuda, and the CUDA entry points' fallbacks when the backend is
 * not built (backend.h). */
#include "hyscale/backend.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef HS_HAVE_CUDA
/* Defined in src/backend/cuda/device_cuda.c. */
int hs_cuda_device_count_impl(void);
const char *hs_cuda_device_describe_impl(void);
#endif

int hs_cuda_built(void)
{
#ifdef HS_HAVE_CUDA
    return 1;
#else
    return 0;
#endif
}

int hs_cuda_device_count(void)
{
#ifdef HS_HAVE_CUDA
    return hs_cuda_device_count_impl();
#else
    return 0;
#endif
}

hs_status hs_device_resolve(const char *want, hs_device *out)
{
    if (!want || strcmp(want, "auto") == 0) {
        *out = hs_cuda_device_count() > 0 ? HS_DEVICE_CUDA : HS_DEVICE_CPU;
        return HS_OK;
    }
    if (strcmp(want, "cpu") == 0) {
        *out = HS_DEVICE_CPU;
        return HS_OK;
    }
    if (strcmp(want, "cuda") == 0) {
        if (!hs_cuda_built())
            return hs_error_set(HS_ERR_DEVICE, "--device cuda: this build has no CUDA backend "
                                               "(configure with -DHS_CUDA=ON where nvcc is installed)");
        if (hs_cuda_device_count() <= 0)
            return hs_error_set(HS_ERR_DEVICE, "--device cuda: no CUDA device answers on this machine");
        *out = HS_DEVICE_CUDA;
        return HS_OK;
    }
    return hs_error_set(HS_ERR_USAGE, "--device: expected auto, cpu or cuda, got '%s'", want);
}

const char *hs_device_name(hs_device dev) { return dev == HS_DEVICE_CUDA ? "cuda" : "cpu"; }

const char *hs_device_describe(hs_device dev)
{
    static char buf[256];
#ifdef HS_HAVE_CUDA
    if (dev == HS_DEVICE_CUDA)
        return hs_cuda_device_describe_impl();
#endif
    char model[128] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                if (c) {
                    c++;
                    while (*c == ' ')
                        c++;
                    c[strcspn(c, "\n")] = '\0';
                    snprintf(model, sizeof model, "%s", c);
                }
                break;
            }
        }
        fclose(f);
    }
    snprintf(buf, sizeof buf, "cpu: %s (%ld cores online)", model, sysconf(_SC_NPROCESSORS_ONLN));
    (void)dev;
    return buf;
}

#ifndef HS_HAVE_CUDA
#include "../forecast/lstm_internal.h"

hs_status hs_lstm_backend_cuda(const char *impl, const hs_lstm_backend **out)
{
    *out = NULL;
    if (impl && hs_lstm_impl_index(impl) < 0)
        return hs_lstm_impl_unknown(impl);
    return hs_error_set(HS_ERR_DEVICE, "the CUDA LSTM: this build has no CUDA backend "
                                       "(configure with -DHS_CUDA=ON where nvcc is installed)");
}

int hs_lstm_cuda_persist_max_hidden(void) { return 0; }

hs_status hs_cuda_errsum(const float *y, const float *yhat, int64_t n, hs_errsum *out)
{
    (void)y;
    (void)yhat;
    (void)n;
    (void)out;
    return hs_error_set(HS_ERR_DEVICE, "this build has no CUDA backend");
}
#endif
