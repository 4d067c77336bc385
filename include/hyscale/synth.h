/* synth.h: the built-in synthetic trace, in the Azure Functions 2019 layout.
 *
 *     hs_synth_config cfg = HS_SYNTH_DEFAULTS;   // 14 days, 1000 functions, seed 1
 *     cfg.days = 2;
 *     hs_synth_summary sum;
 *     HS_TRY(hs_synth_generate(&cfg, "outputs/trace", &sum));
 *
 * Writes `invocations_per_function_md.anon.dNN.csv` (header
 * `HashOwner,HashApp,HashFunction,Trigger,1..1440`, one row per function invoked that day) for
 * days 1..D and `SYNTHETIC.md` plus `generate.json` saying the trace is synthetic, with its
 * configuration. Deterministic for a seed. Calibrated on the real day in shared/data (figures
 * in src/data/synth_calibration.h, derived by scripts/calibrate_synth.py).
 * All files appear together or not at all (hs_outset).
 */
#ifndef HYSCALE_SYNTH_H
#define HYSCALE_SYNTH_H

#include <stdint.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_synth_config {
    int days;        /* D >= 1 */
    int functions;   /* N >= 1 */
    uint64_t seed;
    int quiet;       /* no progress on stderr */
} hs_synth_config;

#define HS_SYNTH_DEFAULTS {14, 1000, 1, 0}

typedef struct hs_synth_summary {
    int days, functions;
    int64_t invocations; /* total over all days and functions */
    int64_t rows;        /* function rows written over all day files */
    int64_t bytes;       /* bytes written */
    double seconds;
} hs_synth_summary;

hs_status hs_synth_generate(const hs_synth_config *cfg, const char *out_dir, hs_synth_summary *sum);

#ifdef __cplusplus
}
#endif
#endif
