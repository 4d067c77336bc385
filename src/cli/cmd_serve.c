/* cmd_serve.c: `hyscale serve --model RUN_DIR [...]`, the autoscaling HTTP service
 * (docs/SERVE.md): options, the port from FUNCTIONS_CUSTOMHANDLER_PORT (Azure Functions' custom
 * handler) when --port is not given, then src/serve/http_server.c serves until SIGTERM. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hyscale/parse.h"
#include "hyscale/serve.h"

int hs_cmd_serve(int argc, char **argv)
{
    hs_serve_http_config c = {NULL, "127.0.0.1", INT_MIN, 0, NULL, 0, 10, 1000, 0}; /* INT_MIN: no --port */
    hs_opt opts[] = {
        {"model", HS_OPT_STR, &c.model_dir, "RUN_DIR", "the run folder to serve (required)"},
        {"host", HS_OPT_STR, &c.host, "ADDR", "address to listen on (default 127.0.0.1; 0.0.0.0: every interface)"},
        {"port", HS_OPT_INT, &c.port, "PORT",
         "port (default $FUNCTIONS_CUSTOMHANDLER_PORT, else 8080; 0: any free port, logged)"},
        {"threads", HS_OPT_INT, &c.threads, "N", "worker threads (default: the cores)"},
        {"state", HS_OPT_STR, &c.state_dir, "DIR", "keep observations in DIR/observations.sqlite (POST /api/observe)"},
        {"durable", HS_OPT_FLAG, &c.durable, NULL, "SQLite synchronous=FULL: observations survive power loss"},
        {"timeout", HS_OPT_INT, &c.timeout_s, "SECONDS",
         "close a connection idle or stalled this long; the bound of the drain at SIGTERM (10)"},
        {"max-connections", HS_OPT_INT, &c.max_connections, "N", "connections held at once (1000)"},
        {"quiet", HS_OPT_FLAG, &c.quiet, NULL, "no per-request log lines"},
    };
    hs_cli cli = {"serve", "--model RUN_DIR [--host ADDR] [--port PORT] [--threads N] [--state DIR] [options]",
                  "The autoscaling service over HTTP (docs/SERVE.md): POST /api/autoscale, POST /api/observe,\n"
                  "GET /api/keda, /healthz, /readyz, /metrics. Logs go to stderr, one key=value line per event.\n"
                  "SIGHUP reloads the run folder; SIGTERM and SIGINT drain and exit 0.",
                  opts, (int)(sizeof opts / sizeof *opts), {0}, 0};
    int rc = hs_cli_parse(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (!c.model_dir) {
        fprintf(stderr, "hyscale serve: --model RUN_DIR is required (see --help)\n");
        return 2;
    }
    if (c.port == INT_MIN) {
        const char *env = getenv("FUNCTIONS_CUSTOMHANDLER_PORT");
        int64_t p = 8080;
        if (env && env[0] && hs_parse_int(env, strlen(env), 0, 65535, &p) != 0) {
            fprintf(stderr, "hyscale serve: FUNCTIONS_CUSTOMHANDLER_PORT '%s': a port, 0 to 65535\n", env);
            return 2;
        }
        c.port = (int)p;
    }
    if (c.port < 0 || c.port > 65535) {
        fprintf(stderr, "hyscale serve: --port %d: 0 to 65535\n", c.port);
        return 2;
    }
    if (c.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c.threads = n < 1 ? 1 : n > 256 ? 256 : (int)n;
    }
    if (c.threads < 1 || c.threads > 1024) {
        fprintf(stderr, "hyscale serve: --threads %d: 1 to 1024\n", c.threads);
        return 2;
    }
    if (c.timeout_s < 1 || c.timeout_s > 86400) {
        fprintf(stderr, "hyscale serve: --timeout %d: 1 to 86400 seconds\n", c.timeout_s);
        return 2;
    }
    if (c.max_connections < 1 || c.max_connections > 1000000) {
        fprintf(stderr, "hyscale serve: --max-connections %d: 1 to 1000000\n", c.max_connections);
        return 2;
    }
    hs_status st = hs_serve_http_run(&c);
    if (st)
        return hs_cli_fail(st);
    return 0;
}
