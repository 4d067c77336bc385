/* cli.h: the option tables of the subcommands, their parser (flags, and the same options from
 * a JSON config: --config FILE.json, flags override), help text, and the subcommands.
 *
 *     const char *out = NULL; int n = 100;
 *     hs_opt opts[] = {
 *         {"out", HS_OPT_STR, &out, "DIR", "output folder (required)"},
 *         {"functions", HS_OPT_INT, &n, "N", "top functions to keep"},
 *     };
 *     hs_cli cli = {"preprocess", "--input PATH... --out DIR [options]", "...", opts, 2};
 *     int rc = hs_cli_parse(&cli, argc, argv);   // <0: go on; >=0: exit with rc (help or error)
 */
#ifndef HYSCALE_CLI_H
#define HYSCALE_CLI_H

#include <cjson/cJSON.h>

#include "hyscale/status.h"

typedef enum hs_opt_type { HS_OPT_STR, HS_OPT_INT, HS_OPT_I64, HS_OPT_U64, HS_OPT_DOUBLE, HS_OPT_FLAG, HS_OPT_LIST } hs_opt_type;

typedef struct hs_strlist {
    char **v;
    int n;
} hs_strlist;

typedef struct hs_opt {
    const char *name; /* the flag without "--"; in a JSON config the same name ('-' or '_') */
    hs_opt_type type;
    void *ptr; /* const char **, int *, int64_t *, uint64_t *, double *, int * (flag), hs_strlist * */
    const char *metavar;
    const char *help;
} hs_opt;

typedef struct hs_cli {
    const char *cmd;     /* "preprocess" */
    const char *usage;   /* "--input PATH... --out DIR [options]" */
    const char *summary; /* a paragraph under the usage line */
    hs_opt *opts;
    int nopts;
    hs_strlist positional; /* out: words that are not options */
    int max_positional;
} hs_cli;

/* Parses argv (after the subcommand word). Returns -1 to go on, or an exit code: 0 after
 * --help, 2 after a usage error (message printed). */
int hs_cli_parse(hs_cli *cli, int argc, char **argv);

/* The resolved options as a JSON object, for the manifest. Caller owns it. */
cJSON *hs_cli_config_json(const hs_cli *cli);

/* Prints "hyscale: <message>" for st and returns its exit code. */
int hs_cli_fail(hs_status st);

/* Prints "hyscale <cmd>: <message>" for the error a stage's config check set and returns 2, the
 * exit code of a usage error. */
int hs_cli_usage_fail(const hs_cli *cli);

/* --calendar (sets *calendar to 1 over its default -1, chosen from the series) against
 * --no-calendar: *calendar 0 for the latter; both given is a usage error (returns 2, printed),
 * else -1 (go on). */
int hs_cli_calendar(const hs_cli *cli, int *calendar, int no_calendar);

/* Subcommands: argc/argv start at the subcommand word. Return the exit code. */
int hs_cmd_preprocess(int argc, char **argv);
int hs_cmd_generate(int argc, char **argv);
int hs_cmd_download(int argc, char **argv);
int hs_cmd_run(int argc, char **argv);
int hs_cmd_forecast(int argc, char **argv);
int hs_cmd_train_ppo(int argc, char **argv);
int hs_cmd_evaluate(int argc, char **argv);
int hs_cmd_backtest(int argc, char **argv);
int hs_cmd_serve(int argc, char **argv);

#endif
