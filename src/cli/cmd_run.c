/* cmd_run.c: `hyscale run [--input PATH...] [--out DIR]`: the options of the pipeline
 * (pipeline.h), then one call to it; every rule of the run (which stages fit, their settings)
 * lives in the library. The run's manifest.json records the options, each stage and timings. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hyscale/backend.h"
#include "hyscale/manifest.h"
#include "hyscale/pipeline.h"

int hs_cmd_run(int argc, char **argv)
{
    hs_strlist inputs = {0};
    const char *out = NULL, *device = "auto", *lstm_impl = "auto";
    hs_pipeline_config pc = HS_PIPELINE_DEFAULTS;
    pc.lstm.train.epochs = 10;
    hs_opt opts[] = {
        {"input", HS_OPT_LIST, &inputs, "PATH", "trace files or folders (default: generate the built-in trace)"},
        {"out", HS_OPT_STR, &out, "DIR", "run folder (default outputs/run-<UTC time>)"},
        {"days", HS_OPT_INT, &pc.synth.days, "D", "built-in trace: days (default 14)"},
        {"functions", HS_OPT_INT, &pc.synth.functions, "N", "built-in trace: functions (default 1000)"},
        {"top-functions", HS_OPT_INT, &pc.pre.functions, "N", "per-function series kept (default 100)"},
        {"skip-bad-rows", HS_OPT_FLAG, &pc.pre.skip_bad_rows, NULL, "skip bad rows, counting them by cause"},
        {"holdout", HS_OPT_I64, &pc.holdout, "N", "forecasters: minutes held out and scored (default 1440)"},
        {"lstm-epochs", HS_OPT_INT, &pc.lstm.train.epochs, "E", "LSTM: most epochs (10 in a run; early stopping)"},
        {"lstm-hidden", HS_OPT_INT, &pc.lstm.train.hidden, "H", "LSTM: hidden size (64)"},
        {"lstm-impl", HS_OPT_STR, &lstm_impl, "auto|cublas|persistent|cudnn", "LSTM: the GPU implementation"},
        {"ppo-steps", HS_OPT_I64, &pc.ppo_steps, "N", "PPO: environment steps per agent (5,000,000)"},
        {"ppo-envs", HS_OPT_I64, &pc.ppo_envs, "E", "PPO: environments at once (64)"},
        {"no-ppo", HS_OPT_FLAG, &pc.no_ppo, NULL, "skip PPO training (the evaluation still runs)"},
        {"no-ppo-v2", HS_OPT_FLAG, &pc.no_ppo_v2, NULL, "skip the ENV v2 agent (ppo_v2_<forecast>/, docs/ENV-v2.md)"},
        {"seed", HS_OPT_U64, &pc.synth.seed, "S", "random seed (default 1)"},
        {"device", HS_OPT_STR, &device, "auto|cpu|cuda", "device for the heavy stages"},
        {"quiet", HS_OPT_FLAG, &pc.quiet, NULL, "no progress or summaries"},
    };
    hs_cli cli = {"run", "[--input PATH...] [--out DIR] [options]",
                  "Runs every stage that exists, in order, into one run folder: with no --input, first\n"
                  "generates the built-in synthetic trace (14 days x 1000 functions) into DIR/trace/;\n"
                  "then preprocess into DIR/, then the forecasters (Prophet, LSTM, Hybrid; the holdout\n"
                  "scored, the next day forecast) and forecast_report.md; then PPO agents trained with the\n"
                  "Hybrid forecast (Prophet's when the LSTM is skipped) and with none (DIR/ppo_<forecast>/),\n"
                  "one of ENV version 2 with the Hybrid's (DIR/ppo_v2_<forecast>/, docs/ENV-v2.md), and the\n"
                  "evaluation of every scaling policy on the holdout, the classic ones swept\n"
                  "(scaling_eval.csv, scaling_report.md, pareto.png).",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 0};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (hs_pipeline_check(&pc))
        return hs_cli_usage_fail(&cli);
    char outbuf[256];
    if (!out) {
        time_t now = time(NULL);
        struct tm tmv;
        gmtime_r(&now, &tmv);
        strftime(outbuf, sizeof outbuf, "outputs/run-%Y%m%d-%H%M%S", &tmv);
        out = outbuf;
    }
    hs_status st = hs_device_resolve(device, &pc.device);
    if (st == HS_OK)
        st = hs_lstm_pick_backend(device, lstm_impl, pc.quiet, &pc.lstm.train.backend, &pc.device);
    if (st)
        return hs_cli_fail(st);
    pc.inputs = inputs.v;
    pc.ninputs = inputs.n;
    pc.out = out;
    pc.argc = argc;
    pc.argv = argv;
    cJSON *m = hs_manifest_new("run", argc, argv);
    cJSON_AddItemToObject(m, "config", hs_cli_config_json(&cli));
    cJSON_AddNumberToObject(m, "seed", (double)pc.synth.seed);
    hs_manifest_set_device(m, pc.device);
    hs_pipeline_result r;
    st = hs_pipeline_run(&pc, m, &r);
    cJSON_Delete(m);
    if (st)
        return hs_cli_fail(st);
    if (!pc.quiet)
        printf("run: done in %.1f s. Outputs in %s/:\n"
               "  series.csv series.json series.png functions.safetensors functions.csv manifest.json\n"
               "  prophet_full.csv prophet_next.csv prophet_metrics.json prophet_model.json prophet.png\n"
               "  lstm_full.csv lstm_next.csv lstm_metrics.json lstm.safetensors lstm.png\n"
               "  hybrid_full.csv hybrid_next.csv hybrid_metrics.json hybrid.png forecast_report.md\n"
               "  ppo_*/ppo_policy.safetensors scaling_eval.csv scaling_report.md pareto.png%s\n",
               r.seconds, out, inputs.n == 0 ? " trace/" : "");
    return 0;
}
