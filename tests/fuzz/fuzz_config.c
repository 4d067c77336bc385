/* fuzz_config.c: the JSON file of `--config FILE.json`, through the CLI's own parser
 * (src/cli/options.c, hs_cli_parse) with `preprocess`'s option table plus an I64 option, so
 * every option type is reached: lists, strings, ints, unsigned and signed 64-bit, doubles, flags.
 * The resolved options then go through hs_cli_config_json, as the manifest records them.
 * The parser keeps what it allocates until exit (its documented lifetime), so a long campaign
 * grows slowly; libFuzzer's -rss_limit_mb stays far away at the rates seen here. */
#include "fuzz_common.h"

#include "cli.h"
#include "hyscale/series.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = hs_fuzz_write("config.json", data, size);
    if (!path)
        return 0;
    hs_strlist inputs = {0};
    const char *out = NULL, *start = NULL, *device = "auto";
    int functions = 100, skip = 0, window = 61, no_plot = 0, quiet = 0;
    double k = 10;
    uint64_t seed = 0;
    int64_t holdout = 0;
    hs_opt opts[] = {
        {"input", HS_OPT_LIST, &inputs, "PATH", "trace files"},
        {"out", HS_OPT_STR, &out, "DIR", "output folder"},
        {"functions", HS_OPT_INT, &functions, "N", "top functions"},
        {"skip-bad-rows", HS_OPT_FLAG, &skip, NULL, "skip bad rows"},
        {"clip-window", HS_OPT_INT, &window, "W", "rolling window"},
        {"clip-k", HS_OPT_DOUBLE, &k, "K", "median + K * MAD"},
        {"start", HS_OPT_STR, &start, "TIME", "time of minute 0"},
        {"no-plot", HS_OPT_FLAG, &no_plot, NULL, "no series.png"},
        {"device", HS_OPT_STR, &device, "auto|cpu|cuda", "device"},
        {"seed", HS_OPT_U64, &seed, "S", "random seed"},
        {"holdout", HS_OPT_I64, &holdout, "N", "held-out points"},
        {"quiet", HS_OPT_FLAG, &quiet, NULL, "no progress"},
    };
    hs_cli cli = {"preprocess", "--input PATH... --out DIR [options]", "fuzzed", opts,
                  (int)(sizeof opts / sizeof *opts), {0}, 0};
    char a0[] = "preprocess", a1[] = "--config", a2[1024];
    snprintf(a2, sizeof a2, "%s", path);
    char *argv[] = {a0, a1, a2, NULL};
    if (hs_cli_parse(&cli, 3, argv) < 0)
        cJSON_Delete(hs_cli_config_json(&cli));
    return 0;
}
