/* cmd_download.c: `hyscale download azure2019 [--days 1-14] --out DIR`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hyscale/download.h"
#include "hyscale/manifest.h"

/* "7" or "1-14" into [a, b] within 1..14. */
static int hs_parse_days(const char *s, int *a, int *b)
{
    char *end;
    long x = strtol(s, &end, 10), y = x;
    if (end == s)
        return -1;
    if (*end == '-') {
        const char *p = end + 1;
        y = strtol(p, &end, 10);
        if (end == p)
            return -1;
    }
    if (*end != '\0' || x < 1 || y > 14 || x > y)
        return -1;
    *a = (int)x;
    *b = (int)y;
    return 0;
}

int hs_cmd_download(int argc, char **argv)
{
    const char *days = "1-14", *out = NULL, *url = HS_AZURE2019_URL;
    int quiet = 0, drop_archive = 0;
    hs_opt opts[] = {
        {"days", HS_OPT_STR, &days, "A-B", "days to extract, 1..14 (default 1-14)"},
        {"out", HS_OPT_STR, &out, "DIR", "output folder (required)"},
        {"url", HS_OPT_STR, &url, "URL", "archive address (default: the official one)"},
        {"drop-archive", HS_OPT_FLAG, &drop_archive, NULL, "delete the archive after extracting"},
        {"quiet", HS_OPT_FLAG, &quiet, NULL, "no progress"},
    };
    hs_cli cli = {"download", "azure2019 --out DIR [--days A-B]",
                  "Fetches the Azure Functions 2019 trace archive (resuming a partial download, checking its\n"
                  "size) and extracts invocations_per_function_md.anon.dNN.csv for the chosen days.",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 1};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (cli.positional.n != 1 || strcmp(cli.positional.v[0], "azure2019") != 0) {
        fprintf(stderr, "hyscale download: name the dataset: hyscale download azure2019 --out DIR\n");
        return 2;
    }
    hs_download_config cfg = {.url = url, .out_dir = out, .quiet = quiet, .keep_archive = !drop_archive};
    if (!out || hs_parse_days(days, &cfg.day_first, &cfg.day_last)) {
        fprintf(stderr, "hyscale download: --out DIR is required and --days must be N or A-B within 1..14\n");
        return 2;
    }
    hs_download_summary sum;
    hs_status st = hs_download_azure2019(&cfg, &sum);
    if (st)
        return hs_cli_fail(st);
    /* the run's manifest: configuration, timings and what was fetched */
    cJSON *m = hs_manifest_new("download", argc, argv);
    cJSON_AddItemToObject(m, "config", hs_cli_config_json(&cli));
    cJSON_AddNumberToObject(hs_manifest_section(m, "timings"), "total_seconds", sum.seconds);
    cJSON *me = hs_manifest_section(m, "metrics");
    cJSON_AddNumberToObject(me, "archive_bytes", (double)sum.archive_bytes);
    cJSON_AddNumberToObject(me, "fetched_bytes", (double)sum.fetched_bytes);
    cJSON_AddBoolToObject(me, "resumed", sum.resumed);
    cJSON_AddNumberToObject(me, "files_extracted", sum.files_extracted);
    cJSON_AddNumberToObject(me, "extracted_bytes", (double)sum.extracted_bytes);
    st = hs_json_write_file(out, "download.manifest.json", m);
    cJSON_Delete(m);
    if (st)
        return hs_cli_fail(st);
    if (!quiet)
        printf("download: archive %.1f MB (%.1f MB fetched%s), %d day files extracted (%.1f MB) in %.1f s\n"
               "  outputs      %s/\n",
               (double)sum.archive_bytes / 1e6, (double)sum.fetched_bytes / 1e6, sum.resumed ? ", resumed" : "",
               sum.files_extracted, (double)sum.extracted_bytes / 1e6, sum.seconds, out);
    return 0;
}
