/* http_server.c: `hyscale serve` over libmicrohttpd (docs/SERVE.md). The daemon runs a pool of
 * worker threads (epoll where there is one); each request's body is gathered into its own
 * buffer (64 KiB at most: a larger Content-Length is refused at once with 413, a chunked body
 * when it grows past it), then answered by http_routes.c with a reference to the model taken
 * for that request. The calling thread waits for signals (blocked in every thread): SIGHUP
 * loads the folder again and swaps the model under a mutex, SIGTERM and SIGINT drain (stop
 * accepting, wait for the requests in flight up to the timeout) and stop. */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_internal.h"

/* libmicrohttpd's per-connection memory (headers and its read buffer); bodies are copied out */
#define HS_HTTP_CONN_MEMORY (64 * 1024)
/* bytes of an oversized chunked body read and dropped before the connection is cut instead */
#define HS_HTTP_MAX_DISCARD (1024 * 1024)

/* One request, from its headers to its answer (libmicrohttpd's con_cls). */
typedef struct hs_http_req {
    hs_http_route route;
    double t0;
    char method[16];
    char path[256];   /* for the log; cut */
    char *body;       /* (len) bytes received, NUL-terminated; NULL when none */
    size_t len, cap;
    int too_large;    /* the body passed HS_SERVE_MAX_BODY: answered 413 */
    size_t discarded; /* bytes dropped after that */
    int status;       /* the status queued; 0 before */
    char error[512];
} hs_http_req;

static double hs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

hs_serve_model *hs_http_model_ref(hs_http *h)
{
    pthread_mutex_lock(&h->model_lock);
    hs_serve_model *m = hs_serve_model_ref(h->model);
    pthread_mutex_unlock(&h->model_lock);
    return m;
}

static enum MHD_Result hs_http_queue(hs_http *h, struct MHD_Connection *conn, hs_http_req *rq, hs_http_reply *r)
{
    static const char oom[] = "{\"error\":\"out of memory\",\"status\":500}";
    struct MHD_Response *resp;
    if (r->body)
        resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    else {
        r->status = 500;
        r->content_type = "application/json";
        resp = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    int ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type) == MHD_YES &&
             MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES;
    if (ok && r->allow)
        ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow) == MHD_YES;
    /* a refused body is not read further; a draining server lets the connection go */
    if (ok && (rq->too_large || atomic_load(&h->draining)))
        ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
    rq->status = r->status;
    snprintf(rq->error, sizeof rq->error, "%s", r->error);
    enum MHD_Result q = ok ? MHD_queue_response(conn, (unsigned int)r->status, resp) : MHD_NO;
    MHD_destroy_response(resp);
    return q;
}

/* Content-Length as a number; a value past any limit (or not a number) counts as huge. */
static int hs_http_too_long(const char *cl)
{
    size_t v = 0;
    if (!cl[0])
        return 0;
    for (const char *p = cl; *p; p++) {
        if (*p < '0' || *p > '9' || v > HS_SERVE_MAX_BODY)
            return 1;
        v = v * 10 + (size_t)(*p - '0');
    }
    return v > HS_SERVE_MAX_BODY;
}

static enum MHD_Result hs_http_413(hs_http *h, struct MHD_Connection *conn, hs_http_req *rq)
{
    hs_http_reply r;
    memset(&r, 0, sizeof r);
    hs_http_reply_error(&r, 413, "", "the body is larger than %d bytes", HS_SERVE_MAX_BODY);
    return hs_http_queue(h, conn, rq, &r);
}

static enum MHD_Result hs_http_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                          const char *version, const char *upload, size_t *upload_size,
                                          void **con_cls)
{
    (void)version;
    hs_http *h = cls;
    hs_http_req *rq = *con_cls;
    if (!rq) { /* the headers are in: set the request up, refuse a body announced too large */
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->t0 = hs_now();
        rq->route = hs_http_route_of(url);
        snprintf(rq->method, sizeof rq->method, "%s", method);
        snprintf(rq->path, sizeof rq->path, "%s", url);
        *con_cls = rq;
        atomic_fetch_add(&h->in_flight, 1);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && hs_http_too_long(cl)) {
            rq->too_large = 1;
            return hs_http_413(h, conn, rq);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) { /* a piece of the body */
        size_t n = *upload_size;
        *upload_size = 0;
        if (rq->status)
            return MHD_YES;
        if (rq->too_large || n > HS_SERVE_MAX_BODY - rq->len) {
            rq->too_large = 1;
            free(rq->body);
            rq->body = NULL;
            rq->len = rq->cap = 0;
            rq->discarded += n;
            return rq->discarded > HS_HTTP_MAX_DISCARD ? MHD_NO : MHD_YES;
        }
        if (rq->len + n + 1 > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 1024;
            while (cap < rq->len + n + 1)
                cap *= 2;
            char *b = realloc(rq->body, cap);
            if (!b)
                return MHD_NO;
            rq->body = b;
            rq->cap = cap;
        }
        memcpy(rq->body + rq->len, upload, n);
        rq->len += n;
        rq->body[rq->len] = '\0';
        return MHD_YES;
    }
    if (rq->status) /* answered already (413 at the headers) */
        return MHD_YES;
    if (rq->too_large)
        return hs_http_413(h, conn, rq);
    hs_http_reply r;
    const char *function = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "function");
    hs_http_dispatch(h, rq->route, method, rq->body ? rq->body : "", rq->len, function, &r);
    return hs_http_queue(h, conn, rq, &r);
}

static const char *hs_http_end_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "ok";
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read_error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client_abort";
    default:
        return "other";
    }
}

static void hs_http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                                 enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    hs_http *h = cls;
    hs_http_req *rq = *con_cls;
    if (!rq)
        return;
    double s = hs_now() - rq->t0;
    if (rq->status)
        hs_http_metrics_record(&h->metrics, rq->route, rq->status, s);
    if (!h->cfg.quiet) {
        char path[300], err[700], method[40];
        hs_http_log_value(rq->path, path, sizeof path);
        hs_http_log_value(rq->method, method, sizeof method);
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK || !rq->status)
            hs_http_log("warn", "request", "method=%s path=%s status=%d ms=%.3f end=%s", method, path,
                        rq->status, 1e3 * s, hs_http_end_name(toe));
        else if (rq->status >= 400)
            hs_http_log("info", "request", "method=%s path=%s status=%d ms=%.3f error=%s", method, path,
                        rq->status, 1e3 * s, hs_http_log_value(rq->error, err, sizeof err));
        else
            hs_http_log("info", "request", "method=%s path=%s status=%d ms=%.3f", method, path, rq->status,
                        1e3 * s);
    }
    free(rq->body);
    free(rq);
    *con_cls = NULL;
    atomic_fetch_sub(&h->in_flight, 1);
}

static void hs_http_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                  enum MHD_ConnectionNotificationCode toe)
{
    (void)conn;
    (void)socket_context;
    hs_http *h = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&h->metrics.connections, 1);
    else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
        atomic_fetch_sub(&h->metrics.connections, 1);
}

static void hs_http_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512], val[600];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    hs_http_log("warn", "http", "msg=%s", hs_http_log_value(msg, val, sizeof val));
}

/* Loads the folder again; on success new requests get the new model, the old one is freed when
 * the last request holding it finishes. */
static void hs_http_reload(hs_http *h)
{
    hs_serve_model *m = NULL;
    hs_status st = hs_serve_model_load(h->cfg.model_dir, &m);
    if (st != HS_OK) {
        char why[600];
        atomic_fetch_add(&h->metrics.reloads_failed, 1);
        hs_serve_model *old = hs_http_model_ref(h);
        hs_http_log("error", "reload", "result=error revision=%s msg=%s", hs_serve_model_revision(old),
                    hs_http_log_value(hs_error_message(), why, sizeof why));
        hs_serve_model_unref(old);
        return;
    }
    pthread_mutex_lock(&h->model_lock);
    hs_serve_model *old = h->model;
    h->model = m;
    pthread_mutex_unlock(&h->model_lock);
    char was[32];
    snprintf(was, sizeof was, "%s", hs_serve_model_revision(old));
    hs_serve_model_unref(old);
    atomic_fetch_add(&h->metrics.reloads_ok, 1);
    hs_http_log("info", "reload", "result=ok revision=%s previous=%s", hs_serve_model_revision(m), was);
}

/* Stop accepting, let the requests in flight finish (up to timeout_s), stop the workers. */
static void hs_http_drain(hs_http *h, int sig)
{
    atomic_store(&h->draining, 1);
    hs_http_log("info", "drain", "signal=%s in_flight=%lld", sig == SIGINT ? "SIGINT" : "SIGTERM",
                (long long)atomic_load(&h->in_flight));
    MHD_socket ls = MHD_quiesce_daemon(h->daemon);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    double deadline = hs_now() + h->cfg.timeout_s;
    while (atomic_load(&h->in_flight) > 0 && hs_now() < deadline) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    long long left = (long long)atomic_load(&h->in_flight);
    MHD_stop_daemon(h->daemon);
    h->daemon = NULL;
    hs_http_log(left ? "warn" : "info", "stop", "unfinished=%lld", left);
}

/* host:port into a socket address (numeric or a name; the first address it resolves to). */
static hs_status hs_http_address(const char *host, int port, struct sockaddr_storage *ss, int *v6)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || !res)
        return hs_error_set(HS_ERR_USAGE, "--host '%s': %s", host, rc ? gai_strerror(rc) : "no address");
    memset(ss, 0, sizeof *ss);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return HS_OK;
}

static void hs_http_free(hs_http *h)
{
    if (!h)
        return;
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    hs_store_close(h->store);
    hs_serve_model_unref(h->model);
    pthread_mutex_destroy(&h->model_lock);
    free(h);
}

static hs_status hs_http_start(hs_http *h)
{
    const hs_serve_http_config *c = &h->cfg;
    struct sockaddr_storage ss;
    int v6 = 0;
    HS_TRY(hs_http_address(c->host, c->port, &ss, &v6));
    unsigned int flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)c->port, NULL, NULL, hs_http_on_request, h, MHD_OPTION_EXTERNAL_LOGGER, hs_http_on_mhd_log, h,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)c->threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)c->timeout_s, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)c->max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HS_HTTP_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
        hs_http_on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, hs_http_on_connection, h, MHD_OPTION_END);
    if (!h->daemon)
        return hs_error_set(HS_ERR_IO, "cannot listen on %s:%d (the address is taken, or not this host's)", c->host,
                            c->port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    int port = info && info->port ? (int)info->port : c->port;
    hs_http_log("info", "listen", "host=%s port=%d threads=%d msg=\"listening on %s%s%s:%d\"", c->host, port,
                c->threads, v6 ? "[" : "", c->host, v6 ? "]" : "", port);
    return HS_OK;
}

hs_status hs_serve_http_run(const hs_serve_http_config *c)
{
    HS_ASSERT(c && c->model_dir && c->host);
    HS_ASSERT(c->port >= 0 && c->port <= 65535 && c->threads >= 1 && c->timeout_s >= 1 && c->max_connections >= 1);
    /* the signals are taken by sigwait below: blocked here, so in every thread started after */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-answer is an error of that write, not of the process */

    hs_http *h = calloc(1, sizeof *h);
    if (!h) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return hs_error_set(HS_ERR_NOMEM, "out of memory");
    }
    h->cfg = *c;
    pthread_mutex_init(&h->model_lock, NULL);
    hs_status st = hs_serve_model_load(c->model_dir, &h->model);
    if (st == HS_OK) {
        char desc[1024], val[1100];
        hs_serve_model_describe(h->model, desc, sizeof desc);
        hs_http_log("info", "model", "revision=%s msg=%s", hs_serve_model_revision(h->model),
                    hs_http_log_value(desc, val, sizeof val));
        if (c->state_dir)
            st = hs_store_open(c->state_dir, c->durable, &h->store);
    }
    if (st == HS_OK && h->store) {
        int64_t held = 0, functions = 0;
        hs_store_counts(h->store, &held, &functions);
        char dir[600];
        hs_http_log("info", "store", "dir=%s durable=%d observations=%lld functions=%lld",
                    hs_http_log_value(c->state_dir, dir, sizeof dir), c->durable, (long long)held,
                    (long long)functions);
    }
    if (st == HS_OK)
        st = hs_http_start(h);
    if (st != HS_OK) {
        hs_http_free(h);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return st;
    }
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            hs_http_reload(h);
            continue;
        }
        hs_http_drain(h, sig);
        break;
    }
    hs_http_free(h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return HS_OK;
}
