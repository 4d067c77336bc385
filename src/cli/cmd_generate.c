/* cmd_generate.c: `hyscale generate --days D --functions N --seed S --out DIR`: the built-in
 * synthetic trace. */
#include <stdio.h>

#include "cli.h"
#include "hyscale/synth.h"

int hs_cmd_generate(int argc, char **argv)
{
    hs_synth_config cfg = HS_SYNTH_DEFAULTS;
    const char *out = NULL;
    hs_opt opts[] = {
        {"days", HS_OPT_INT, &cfg.days, "D", "days to generate (default 14)"},
        {"functions", HS_OPT_INT, &cfg.functions, "N", "functions (default 1000)"},
        {"seed", HS_OPT_U64, &cfg.seed, "S", "random seed (default 1)"},
        {"out", HS_OPT_STR, &out, "DIR", "output folder (required)"},
        {"quiet", HS_OPT_FLAG, &cfg.quiet, NULL, "no progress or summary"},
    };
    hs_cli cli = {"generate", "--out DIR [--days D] [--functions N] [--seed S]",
                  "Writes a SYNTHETIC trace in the Azure Functions 2019 layout (one file a day,\n"
                  "invocations_per_function_md.anon.dNN.csv), calibrated on a real day of the 2019 trace:\n"
                  "heavy-tailed volumes, timers, diurnal and weekly rhythm, bursts, idle functions.",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 0};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (!out) {
        fprintf(stderr, "hyscale generate: --out is required (see hyscale generate --help)\n");
        return 2;
    }
    if (cfg.days < 1 || cfg.functions < 1) {
        fprintf(stderr, "hyscale generate: --days and --functions must be at least 1\n");
        return 2;
    }
    hs_synth_summary sum;
    hs_status st = hs_synth_generate(&cfg, out, &sum);
    if (st)
        return hs_cli_fail(st);
    if (!cfg.quiet)
        printf("generate: SYNTHETIC trace, %d days x %d functions (seed %llu): %lld rows, %lld invocations, "
               "%.1f MB in %.2f s\n  outputs      %s/\n",
               sum.days, sum.functions, (unsigned long long)cfg.seed, (long long)sum.rows, (long long)sum.invocations,
               (double)sum.bytes / 1e6, sum.seconds, out);
    return 0;
}
