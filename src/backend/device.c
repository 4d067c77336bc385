/* device.c: --device auto|cpu|cuda and the device's description (backend.h). What the CUDA
 * build answers comes from src/backend/cuda/device_cuda.c, or from src/backend/nocuda.c without
 * it: no #ifdef here. */
#include "hyscale/backend.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>


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
    if (dev == HS_DEVICE_CUDA)
        return hs_cuda_device_describe();
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
    return buf;
}
