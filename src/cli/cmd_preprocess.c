/* cmd_preprocess.c: `hyscale preprocess --input PATH... --out DIR [--functions N]
 * [--skip-bad-rows]`. */
#include <stdio.h>

#include "cli.h"
#include "hyscale/backend.h"
#include "hyscale/manifest.h"
#include "hyscale/preprocess.h"

int hs_cmd_preprocess(int argc, char **argv)
{
    hs_preprocess_config cfg = HS_PREPROCESS_DEFAULTS;
    hs_strlist inputs = {0};
    const char *device = "auto";
    uint64_t seed = 0;
    int no_plot = 0;
    hs_opt opts[] = {
        {"input", HS_OPT_LIST, &inputs, "PATH", "trace files or folders of day files (layout detected from the header)"},
        {"out", HS_OPT_STR, &cfg.out_dir, "DIR", "output folder (required)"},
        {"functions", HS_OPT_INT, &cfg.functions, "N", "keep the top N functions by volume (default 100; 0: none)"},
        {"skip-bad-rows", HS_OPT_FLAG, &cfg.skip_bad_rows, NULL, "skip bad rows, counting them by cause"},
        {"clip-window", HS_OPT_INT, &cfg.clip.window, "W", "spike clipping: rolling window in points (default 61)"},
        {"clip-k", HS_OPT_DOUBLE, &cfg.clip.k, "K", "spike clipping: median + K * MAD (default 10)"},
        {"start", HS_OPT_STR, &cfg.start, "TIME", "time of minute 0 for traces without dates (default nominal)"},
        {"no-plot", HS_OPT_FLAG, &no_plot, NULL, "do not write series.png"},
        {"device", HS_OPT_STR, &device, "auto|cpu|cuda", "device (preprocessing runs on the CPU)"},
        {"seed", HS_OPT_U64, &seed, "S", "random seed (recorded; preprocessing is deterministic)"},
        {"quiet", HS_OPT_FLAG, &cfg.quiet, NULL, "no progress or summary"},
    };
    hs_cli cli = {"preprocess", "--input PATH... --out DIR [options]",
                  "Streams trace CSVs (Azure Functions 2019 day files, the In-Vitro sample, the Azure 2021 log,\n"
                  "ds,y or minute,invocations series) into the per-minute invocation series and the matrix of\n"
                  "the top N functions; clips spikes and takes log1p. Writes series.csv, series.json,\n"
                  "functions.safetensors, functions.csv, series.png and manifest.json into DIR.",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 0};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (inputs.n == 0 || !cfg.out_dir) {
        fprintf(stderr, "hyscale preprocess: --input and --out are required (see hyscale preprocess --help)\n");
        return 2;
    }
    hs_device dev;
    hs_status st = hs_device_resolve(device, &dev);
    if (st)
        return hs_cli_fail(st);
    cfg.inputs = inputs.v;
    cfg.ninputs = inputs.n;
    cfg.plot = !no_plot;
    cJSON *m = hs_manifest_new("preprocess", argc, argv);
    cJSON_AddItemToObject(m, "config", hs_cli_config_json(&cli));
    cJSON_AddNumberToObject(m, "seed", (double)seed);
    hs_manifest_set_device(m, HS_DEVICE_CPU);
    hs_preprocess_result res;
    st = hs_preprocess_run(&cfg, m, &res);
    cJSON_Delete(m);
    if (st)
        return hs_cli_fail(st);
    if (!cfg.quiet) {
        hs_preprocess_print_summary(&res, stdout);
        printf("  outputs      %s/ (series.csv, series.json, %sseries.png, manifest.json)\n", cfg.out_dir,
               res.functions_kept ? "functions.safetensors, functions.csv, " : "");
    }
    hs_preprocess_result_free(&res);
    return 0;
}
