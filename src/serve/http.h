/* http.h: the HTTP service `hyscale serve` (docs/SERVE.md) over libmicrohttpd. One call loads the
 * run folder, opens the observation store, listens, and serves until SIGTERM or SIGINT (then it
 * drains: stops accepting, lets the requests in flight finish within timeout_s, returns HS_OK);
 * SIGHUP reloads the model folder (kept when the new one does not load). The calling thread
 * waits for those signals (they are blocked in every thread of the process while it runs).
 *
 *     hs_serve_http_config c = HS_SERVE_HTTP_DEFAULTS;
 *     c.model_dir = "outputs/run-1";
 *     hs_status st = hs_serve_http_run(&c);    // returns after SIGTERM; errors before listening
 */
#ifndef HYSCALE_SERVE_HTTP_H
#define HYSCALE_SERVE_HTTP_H

#include "hyscale/status.h"

typedef struct hs_serve_http_config {
    const char *model_dir; /* a run folder (required) */
    const char *host;      /* address to bind: numeric IPv4/IPv6 or a name ("127.0.0.1") */
    int port;              /* 0..65535; 0: any free port (the log line `listening on` names it) */
    int threads;           /* worker threads, >= 1 */
    const char *state_dir; /* observation store folder; NULL: none (POST /api/observe is 503) */
    int durable;           /* the store's synchronous=FULL */
    int timeout_s;         /* idle or stalled connection limit, and the drain's bound (>= 1) */
    int max_connections;   /* connections held at once (>= 1) */
    int quiet;             /* no per-request log lines */
} hs_serve_http_config;

#define HS_SERVE_HTTP_DEFAULTS \
    ((hs_serve_http_config){NULL, "127.0.0.1", 8080, 1, NULL, 0, 10, 1000, 0})

/* Serves until SIGTERM or SIGINT. A model folder that does not load, a store that does not open
 * or an address that cannot be bound return their error (message set) before anything is
 * served. */
hs_status hs_serve_http_run(const hs_serve_http_config *c);

#endif
