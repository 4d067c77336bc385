/* http_internal.h: what the files of the HTTP service share (src/serve/http_*.c): the server's
 * state, the route table, one request's reply, the metrics and the log. Not a public header: the
 * entry point is http.h. Only http_server.c talks to libmicrohttpd; the routes see a method, a
 * body and the query's `function`, and fill an hs_http_reply. */
#ifndef HS_SERVE_HTTP_INTERNAL_H
#define HS_SERVE_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hyscale/serve.h"
#include "hyscale/serve.h"

typedef enum hs_http_route {
    HS_ROUTE_AUTOSCALE = 0,
    HS_ROUTE_OBSERVE,
    HS_ROUTE_KEDA,
    HS_ROUTE_HEALTHZ,
    HS_ROUTE_READYZ,
    HS_ROUTE_METRICS,
    HS_ROUTE_OTHER, /* any other path: 404, counted as route="other" */
    HS_ROUTE_COUNT
} hs_http_route;

/* Latency buckets of docs/SERVE.md in seconds (0.1 ms .. 250 ms), then +Inf. */
#define HS_HTTP_NBUCKETS 12
#define HS_HTTP_MAX_STATUS 600 /* statuses counted: 0..599 */

/* Counters updated by the worker threads (relaxed atomics), read by GET /metrics. */
typedef struct hs_http_metrics {
    atomic_uint_least64_t requests[HS_ROUTE_COUNT][HS_HTTP_MAX_STATUS]; /* by route and status */
    atomic_uint_least64_t bucket[HS_ROUTE_COUNT][HS_HTTP_NBUCKETS];     /* not cumulative */
    atomic_uint_least64_t sum_ns[HS_ROUTE_COUNT];
    atomic_uint_least64_t reloads_ok, reloads_failed;
    atomic_uint_least64_t observations; /* accepted by POST /api/observe since start */
    atomic_int_least64_t connections;   /* open now */
} hs_http_metrics;

struct MHD_Daemon;

/* The running service (one per process). */
typedef struct hs_http {
    hs_serve_http_config cfg;
    pthread_mutex_t model_lock; /* guards model (the pointer, not the model: that is immutable) */
    hs_serve_model *model;      /* current model: one reference held here */
    hs_store *store;            /* NULL without --state */
    struct MHD_Daemon *daemon;
    atomic_int draining;           /* 1 after SIGTERM: /readyz is 503 */
    atomic_int_least64_t in_flight; /* requests begun and not completed */
    hs_http_metrics metrics;
} hs_http;

/* The current model with a reference taken (the caller unrefs it). */
hs_serve_model *hs_http_model_ref(hs_http *h);

/* ---- routes (http_routes.c) ---------------------------------------------------------------- */

/* What one request is answered: body malloc'd (the server hands it to libmicrohttpd, which frees
 * it), content_type and allow static strings. error: the reason of an error answer, for the log. */
typedef struct hs_http_reply {
    int status;
    char *body;
    size_t len;
    const char *content_type;
    const char *allow; /* the Allow header of a 405, NULL otherwise */
    char error[512];
} hs_http_reply;

hs_http_route hs_http_route_of(const char *path);
const char *hs_http_route_name(hs_http_route r); /* "/api/autoscale" .. "other" */

/* Answers one request: method and body as received, function the query's `function` (NULL when
 * absent). Always fills out (a 500 when memory runs out). */
void hs_http_dispatch(hs_http *h, hs_http_route r, const char *method, const char *body, size_t len,
                      const char *function, hs_http_reply *out);

/* An error answer: {"error", "field"?, "status"} with Content-Type application/json. */
void hs_http_reply_error(hs_http_reply *out, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- metrics (http_metrics.c) -------------------------------------------------------------- */

void hs_http_metrics_record(hs_http_metrics *m, hs_http_route r, int status, double seconds);
/* The Prometheus text of every counter; malloc'd (caller frees), NULL when memory runs out. */
char *hs_http_metrics_render(hs_http *h, size_t *len);

/* ---- log (http_log.c) ---------------------------------------------------------------------- */

/* Writes one line to stderr in one write: `ts=... level=LEVEL event=EVENT ` then fmt's text
 * (key=value pairs; values from outside go through hs_http_log_value). */
void hs_http_log(const char *level, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* s as a log value: as is when it is plain, else quoted with \" \\ and \xNN escapes; cut at
 * size - 1 bytes. Returns buf. */
const char *hs_http_log_value(const char *s, char *buf, size_t size);

#endif
