/* http_routes.c: the routes of docs/SERVE.md. Each takes the method, the body and the query's
 * `function`, and fills an hs_http_reply; none knows libmicrohttpd. Every error answer is the
 * JSON of hs_serve_error_json; answers are printed unformatted. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

static const char hs_json[] = "application/json";
static const char hs_oom_body[] = "{\"error\":\"out of memory\",\"status\":500}";

static const struct {
    const char *path;
    const char *method; /* the one method served; GET routes also answer HEAD */
} hs_routes[HS_ROUTE_COUNT] = {
    [HS_ROUTE_AUTOSCALE] = {"/api/autoscale", "POST"},
    [HS_ROUTE_OBSERVE] = {"/api/observe", "POST"},
    [HS_ROUTE_KEDA] = {"/api/keda", "GET"},
    [HS_ROUTE_HEALTHZ] = {"/healthz", "GET"},
    [HS_ROUTE_READYZ] = {"/readyz", "GET"},
    [HS_ROUTE_METRICS] = {"/metrics", "GET"},
    [HS_ROUTE_OTHER] = {"other", NULL},
};

hs_http_route hs_http_route_of(const char *path)
{
    for (int r = 0; r < HS_ROUTE_OTHER; r++)
        if (!strcmp(path, hs_routes[r].path))
            return (hs_http_route)r;
    return HS_ROUTE_OTHER;
}

const char *hs_http_route_name(hs_http_route r) { return hs_routes[r].path; }

/* The reply for when memory ran out: a static body (copied, so that the server frees as always). */
static void hs_reply_oom(hs_http_reply *out)
{
    out->status = 500;
    out->content_type = hs_json;
    out->len = sizeof hs_oom_body - 1;
    out->body = malloc(out->len + 1);
    if (out->body)
        memcpy(out->body, hs_oom_body, out->len + 1);
    else
        out->len = 0; /* the server answers its own static copy */
    snprintf(out->error, sizeof out->error, "out of memory");
}

/* j printed into out (j deleted); NULL j is memory run out. */
static void hs_reply_json(hs_http_reply *out, int status, cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!s) {
        hs_reply_oom(out);
        return;
    }
    out->status = status;
    out->body = s;
    out->len = strlen(s);
    out->content_type = hs_json;
}

static void hs_reply_serve_error(hs_http_reply *out, const hs_serve_error *e)
{
    hs_serve_error x = *e;
    if (x.status < 400 || x.status > 599) { /* a failure without a status: ours, not the client's */
        char why[sizeof x.message];
        snprintf(why, sizeof why, "%s", e->message[0] ? e->message : hs_error_message());
        hs_serve_fail(&x, 500, "", "%s", why[0] ? why : "internal error");
    }
    snprintf(out->error, sizeof out->error, "%s", x.message);
    hs_reply_json(out, x.status, hs_serve_error_json(&x));
}

void hs_http_reply_error(hs_http_reply *out, int status, const char *field, const char *fmt, ...)
{
    hs_serve_error e;
    memset(&e, 0, sizeof e);
    char msg[sizeof e.message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hs_serve_fail(&e, status, field, "%s", msg);
    hs_reply_serve_error(out, &e);
}

/* The observed history of a function from the store, into *buf (malloc'd, caller frees); *hp
 * stays NULL without a store or observations. */
static hs_status hs_observed(hs_http *h, const char *function, double **buf, hs_serve_history *hist,
                             const hs_serve_history **hp, hs_serve_error *e)
{
    *hp = NULL;
    *buf = NULL;
    if (!h->store)
        return HS_OK;
    *buf = malloc(HS_STORE_KEEP * sizeof **buf);
    if (!*buf)
        return hs_serve_fail(e, 500, "", "out of memory");
    int64_t n = 0, last = 0;
    uint64_t version = 0;
    if (hs_store_recent(h->store, function, HS_STORE_KEEP, *buf, &n, &last, &version) != HS_OK)
        return hs_serve_fail(e, 500, "", "observation store: %s", hs_error_message());
    if (n > 0) {
        *hist = (hs_serve_history){*buf, n, last, "observed", version};
        *hp = hist;
    }
    return HS_OK;
}

static void hs_autoscale(hs_http *h, const char *body, size_t len, hs_http_reply *out)
{
    hs_serve_request rq;
    hs_serve_error e;
    memset(&e, 0, sizeof e);
    if (hs_serve_request_parse(body, len, &rq, &e) != HS_OK) {
        hs_reply_serve_error(out, &e);
        return;
    }
    double *buf = NULL;
    hs_serve_history hist;
    const hs_serve_history *hp = NULL;
    cJSON *answer = NULL;
    hs_status st = HS_OK;
    if (!rq.recent) /* `recent` wins over what was observed (hs_serve_answer uses it) */
        st = hs_observed(h, rq.function, &buf, &hist, &hp, &e);
    if (st == HS_OK) {
        hs_serve_model *m = hs_http_model_ref(h);
        st = hs_serve_answer(m, &rq, hp, &answer, &e);
        hs_serve_model_unref(m);
    }
    free(buf);
    hs_serve_request_free(&rq);
    if (st != HS_OK) {
        cJSON_Delete(answer);
        hs_reply_serve_error(out, &e);
        return;
    }
    hs_reply_json(out, 200, answer);
}

/* A function name from the query: 1..HS_SERVE_MAX_FUNCTION bytes, no control bytes. */
static int hs_function_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HS_SERVE_MAX_FUNCTION)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < ' ' || *p == 0x7f)
            return 0;
    return 1;
}

static void hs_keda(hs_http *h, const char *function, hs_http_reply *out)
{
    if (!function)
        function = HS_SERVE_SERIES;
    if (!hs_function_ok(function)) {
        hs_http_reply_error(out, 400, "function", "function: 1 to %d bytes without control bytes",
                            HS_SERVE_MAX_FUNCTION);
        return;
    }
    hs_serve_error e;
    memset(&e, 0, sizeof e);
    double *buf = NULL;
    hs_serve_history hist;
    const hs_serve_history *hp = NULL;
    int64_t desired = 0;
    hs_status st = hs_observed(h, function, &buf, &hist, &hp, &e);
    if (st == HS_OK) {
        hs_serve_model *m = hs_http_model_ref(h);
        st = hs_serve_desired(m, function, hp, &desired, &e);
        hs_serve_model_unref(m);
    }
    free(buf);
    if (st != HS_OK) {
        hs_reply_serve_error(out, &e);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    if (j && !cJSON_AddNumberToObject(j, "desired_instances", (double)desired)) {
        cJSON_Delete(j);
        j = NULL;
    }
    hs_reply_json(out, 200, j);
}

static void hs_observe(hs_http *h, const char *body, size_t len, hs_http_reply *out)
{
    if (!h->store) {
        hs_http_reply_error(out, 503, "", "observations are not kept: the service runs without --state DIR");
        return;
    }
    hs_observation *obs = NULL;
    int64_t n = 0;
    hs_serve_error e;
    memset(&e, 0, sizeof e);
    if (hs_serve_observe_parse(body, len, &obs, &n, &e) != HS_OK) {
        free(obs);
        hs_reply_serve_error(out, &e);
        return;
    }
    if (hs_store_put(h->store, obs, n) != HS_OK) {
        hs_serve_fail(&e, 500, "", "observation store: %s", hs_error_message());
        free(obs);
        hs_reply_serve_error(out, &e);
        return;
    }
    atomic_fetch_add_explicit(&h->metrics.observations, (uint64_t)n, memory_order_relaxed);
    /* the distinct functions of this request (n <= HS_SERVE_MAX_OBSERVATIONS: a linear scan) */
    const char **seen = malloc((size_t)n * sizeof *seen);
    cJSON *j = cJSON_CreateObject();
    cJSON *unknown = cJSON_CreateArray();
    int ok = seen && j && unknown;
    int64_t k = 0;
    hs_serve_model *m = hs_http_model_ref(h);
    for (int64_t i = 0; ok && i < n; i++) {
        int64_t s = 0;
        while (s < k && strcmp(seen[s], obs[i].function) != 0)
            s++;
        if (s < k)
            continue;
        seen[k++] = obs[i].function;
        if (!hs_serve_model_knows(m, obs[i].function)) {
            cJSON *name = cJSON_CreateString(obs[i].function);
            ok = name && cJSON_AddItemToArray(unknown, name);
        }
    }
    hs_serve_model_unref(m);
    ok = ok && cJSON_AddNumberToObject(j, "accepted", (double)n) && cJSON_AddNumberToObject(j, "functions", (double)k);
    if (ok && cJSON_AddItemToObject(j, "unknown_functions", unknown))
        unknown = NULL;
    else
        ok = 0;
    cJSON_Delete(unknown);
    free(seen);
    free(obs);
    if (!ok) {
        cJSON_Delete(j);
        j = NULL;
    }
    hs_reply_json(out, 200, j);
}

static void hs_status_json(hs_http *h, hs_http_route r, hs_http_reply *out)
{
    if (r == HS_ROUTE_READYZ && atomic_load(&h->draining)) {
        hs_http_reply_error(out, 503, "", "draining: the service is stopping");
        return;
    }
    cJSON *j = cJSON_CreateObject();
    int ok = j != NULL;
    if (r == HS_ROUTE_HEALTHZ)
        ok = ok && cJSON_AddStringToObject(j, "status", "ok");
    else {
        hs_serve_model *m = hs_http_model_ref(h);
        ok = ok && cJSON_AddStringToObject(j, "status", "ready") &&
             cJSON_AddStringToObject(j, "revision", hs_serve_model_revision(m));
        hs_serve_model_unref(m);
    }
    if (!ok) {
        cJSON_Delete(j);
        j = NULL;
    }
    hs_reply_json(out, 200, j);
}

static void hs_metrics(hs_http *h, hs_http_reply *out)
{
    size_t len = 0;
    char *text = hs_http_metrics_render(h, &len);
    if (!text) {
        hs_reply_oom(out);
        return;
    }
    out->status = 200;
    out->body = text;
    out->len = len;
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void hs_http_dispatch(hs_http *h, hs_http_route r, const char *method, const char *body, size_t len,
                      const char *function, hs_http_reply *out)
{
    memset(out, 0, sizeof *out);
    if (r == HS_ROUTE_OTHER) {
        hs_http_reply_error(out, 404, "", "no such route (see docs/SERVE.md)");
        return;
    }
    const char *want = hs_routes[r].method;
    int get = !strcmp(want, "GET");
    if (strcmp(method, want) != 0 && !(get && !strcmp(method, "HEAD"))) {
        hs_http_reply_error(out, 405, "", "%s takes %s, not %s", hs_routes[r].path, want, method);
        out->allow = get ? "GET, HEAD" : "POST";
        return;
    }
    switch (r) {
    case HS_ROUTE_AUTOSCALE:
        hs_autoscale(h, body, len, out);
        break;
    case HS_ROUTE_OBSERVE:
        hs_observe(h, body, len, out);
        break;
    case HS_ROUTE_KEDA:
        hs_keda(h, function, out);
        break;
    case HS_ROUTE_HEALTHZ:
    case HS_ROUTE_READYZ:
        hs_status_json(h, r, out);
        break;
    case HS_ROUTE_METRICS:
        hs_metrics(h, out);
        break;
    default:
        HS_ASSERT(0);
    }
}
