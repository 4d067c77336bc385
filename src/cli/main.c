/* main.c: the hyscale program: one binary, one subcommand per stage. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct hs_subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} hs_subcommand;

static const hs_subcommand hs_subcommands[] = {
    {"preprocess", hs_cmd_preprocess, "trace CSVs -> per-minute series (total and per function), cleaned"},
    {"generate", hs_cmd_generate, "write the built-in synthetic trace (Azure 2019 layout)"},
    {"download", hs_cmd_download, "fetch the Azure Functions 2019 trace and extract chosen days"},
    {"forecast", hs_cmd_forecast, "forecasters: prophet (Prophet's model in C), lstm, hybrid"},
    {"train-ppo", hs_cmd_train_ppo, "train a PPO autoscaling agent on a series (and a forecast)"},
    {"evaluate", hs_cmd_evaluate, "replay the holdout with every classic and trained scaling policy"},
    {"backtest", hs_cmd_backtest, "Prophet's cross_validation and performance_metrics for any forecaster"},
    {"run", hs_cmd_run, "every stage that exists, in order, into one run folder"},
    {"serve", hs_cmd_serve, "the autoscaling service over HTTP on a run folder (docs/SERVE.md)"},
};

static void hs_usage(FILE *f)
{
    fprintf(f, "usage: hyscale <command> [options]   (hyscale <command> --help for its options)\n\n"
               "hyscale turns serverless invocation traces into forecasts and autoscaling decisions.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof hs_subcommands / sizeof *hs_subcommands; i++)
        fprintf(f, "  %-12s %s\n", hs_subcommands[i].name, hs_subcommands[i].summary);
    fprintf(f, "  %-12s %s\n", "help", "this text");
    fprintf(f, "\nexit codes: 0 success, 1 bad input or failure, 2 bad usage\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        hs_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        if (argc > 2) {
            for (size_t i = 0; i < sizeof hs_subcommands / sizeof *hs_subcommands; i++)
                if (!strcmp(argv[2], hs_subcommands[i].name)) {
                    char *hargv[] = {argv[2], "--help", NULL};
                    return hs_subcommands[i].run(2, hargv);
                }
        }
        hs_usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("hyscale %s (%s)\n", HS_VERSION, HS_GIT_REV);
        return 0;
    }
    for (size_t i = 0; i < sizeof hs_subcommands / sizeof *hs_subcommands; i++)
        if (!strcmp(cmd, hs_subcommands[i].name))
            return hs_subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hyscale: unknown command '%s'\n\n", cmd);
    hs_usage(stderr);
    return 2;
}
