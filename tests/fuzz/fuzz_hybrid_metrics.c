/* fuzz_hybrid_metrics.c: hybrid_metrics.json, through hs_hybrid_lead_read (what the service and
 * the forecast report read of it: per_lead.prophet_weight and per_lead.residual_weight). An
 * accepted file's weights reach the interpolation at every lead the service answers for. */
#include "fuzz_common.h"

#include <math.h>

#include "hyscale/hybrid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = hs_fuzz_write("hybrid_metrics.json", data, size);
    if (!path)
        return 0;
    double w[6], a[6];
    int found = 0;
    if (hs_hybrid_lead_read(path, w, a, &found) != HS_OK || !found)
        return 0;
    for (int L = 1; L <= 1440; L += 7) {
        double f = hs_hybrid_lead_forecast(w, a, L, 100.0, 50.0, 3.0);
        if (!isfinite(f)) /* weights in [0, 1], shares in [-1, 1]: always finite */
            abort();
    }
    return 0;
}
