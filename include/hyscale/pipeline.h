/* pipeline.h: `hyscale run` as a library function: every stage, in order, into one run folder:
 * the built-in trace (when no input is given), preprocess, Prophet, the LSTM and the Hybrid with
 * forecast_report.md, PPO agents with the best forecast and with none, and the evaluation of
 * every scaling policy on the holdout. A stage the series is too short for is skipped (recorded
 * in the manifest's "stages", said on stderr) by the stages' own rules (hs_lstm_stage_fits,
 * hs_train_ppo_fits, hs_evaluate_fits).
 *
 *     hs_pipeline_config c = HS_PIPELINE_DEFAULTS;
 *     c.out = "outputs/run1"; c.synth.days = 3; c.argc = argc; c.argv = argv;
 *     cJSON *m = hs_manifest_new("run", argc, argv);
 *     hs_pipeline_result r;
 *     HS_TRY(hs_pipeline_run(&c, m, &r));   // writes outputs/run1/manifest.json; caller frees m
 */
#ifndef HYSCALE_PIPELINE_H
#define HYSCALE_PIPELINE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "hyscale/backend.h"
#include "hyscale/lstm_stage.h"
#include "hyscale/preprocess.h"
#include "hyscale/status.h"
#include "hyscale/synth.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_pipeline_config {
    char *const *inputs; /* trace files or folders; none: generate the built-in trace into out/trace */
    int ninputs;
    const char *out;     /* the run folder */
    hs_synth_config synth;      /* the built-in trace; synth.seed seeds every stage */
    hs_preprocess_config pre;   /* functions, skip_bad_rows; inputs, out_dir and quiet set by the run */
    int64_t holdout;            /* minutes held out and scored (n / 5 when the series is not longer) */
    hs_lstm_stage_config lstm;  /* its train options (epochs, hidden, backend); the rest set by the run */
    int64_t ppo_steps, ppo_envs;
    int no_ppo;                 /* skip PPO training (the evaluation still runs) */
    hs_device device;           /* the device the LSTM runs on, for its manifest */
    int quiet;
    int argc;                   /* recorded in every stage's manifest */
    char **argv;
    int no_ppo_v2;              /* skip the ENV v2 agent (ppo_v2_<forecast>/, docs/ENV-v2.md) */
} hs_pipeline_config;

#define HS_PIPELINE_DEFAULTS                                                                                           \
    {NULL, 0, NULL, HS_SYNTH_DEFAULTS, HS_PREPROCESS_DEFAULTS, 1440, HS_LSTM_STAGE_DEFAULTS, 5000000, 64, 0,          \
     HS_DEVICE_CPU, 0, 0, NULL, 0}

typedef struct hs_pipeline_result {
    double seconds; /* the whole run */
} hs_pipeline_result;

/* HS_OK when every stage the run will start accepts its options (hs_lstm_stage_check,
 * hs_train_ppo_check, hs_evaluate_check); else HS_ERR_USAGE naming the option. Pure. */
hs_status hs_pipeline_check(const hs_pipeline_config *c);

/* Runs every stage into c->out and writes the run's manifest.json there: manifest (the caller's,
 * with whatever it holds: its config, seed, device) gets "stages" and "timings". The caller keeps
 * ownership of manifest. Stops at the first stage that fails and returns its status. */
hs_status hs_pipeline_run(const hs_pipeline_config *c, cJSON *manifest, hs_pipeline_result *r);

#ifdef __cplusplus
}
#endif
#endif
