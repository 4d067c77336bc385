/* test_serve_http.c: `hyscale serve` as a client sees it (docs/SERVE.md): the real binary started
 * on a port of its choosing (--port 0; the `listening on` log line names it) over a small run
 * folder (tests/support/make_run.sh, made once under the build folder), spoken to with libcurl
 * and, for slow and half-sent requests, with plain sockets. Covers the answers and every kind of
 * refusal, the 64 KiB body limit (announced and chunked), stalled clients cut at --timeout, 200
 * connections at once, /metrics, SIGHUP reloads (a broken folder keeps the old model), the drain
 * at SIGTERM, FUNCTIONS_CUSTOMHANDLER_PORT and observations feeding the history. Each server
 * dies with its test process (PR_SET_PDEATHSIG) if an assertion stops the test midway. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hs_test.h"

static const char seed_body[] = "{\"current_instances\": 5, \"forecast_periods\": 60}";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The run folder the servers load: <build>/serve_http_run, made once by make_run.sh (which
 * reuses it while the binary is unchanged). Path owned by the helpers. */
static const char *run_dir(void)
{
    static char *dir;
    if (dir)
        return dir;
    char bin[1024], cmd[4096];
    snprintf(bin, sizeof bin, "%s", HS_BINARY);
    dir = hs_test_keep(malloc(1100));
    snprintf(dir, 1100, "%s/serve_http_run", dirname(bin));
    snprintf(cmd, sizeof cmd, "%s/tests/support/make_run.sh '%s' '%s'", HS_SOURCE_DIR, HS_BINARY, dir);
    cr_assert(system(cmd) == 0, "make_run.sh failed: %s", cmd);
    return dir;
}

/* ---- the server process --------------------------------------------------------------------- */

typedef struct server {
    pid_t pid;
    int port;
    char log[600];
} server;

/* The port of the `listening on HOST:PORT` line in the log, 0 while there is none. */
static int logged_port(const char *log)
{
    char *text = hs_test_read_file(log, NULL);
    int port = 0;
    const char *p = text ? strstr(text, "listening on ") : NULL;
    if (p) {
        const char *end = strchr(p, '"');
        const char *colon = NULL;
        for (const char *q = p; *q && q != end; q++)
            if (*q == ':')
                colon = q;
        if (colon)
            port = atoi(colon + 1);
    }
    free(text);
    return port;
}

/* Starts `hyscale serve --model RUN args...` (NULL-terminated; add --port yourself or get
 * --port 0) with env_port as FUNCTIONS_CUSTOMHANDLER_PORT (NULL: unset). Waits up to 15 s for
 * the listening line. Returns 0 when it listens, else the exit code (the server is reaped). */
static int server_start_env(server *s, const char *tag, const char *model, const char *env_port,
                            const char *const *args)
{
    char *dir = hs_test_scratch(tag);
    snprintf(s->log, sizeof s->log, "%s/serve.log", dir);
    const char *argv[40];
    int argc = 0, has_port = 0;
    argv[argc++] = HS_BINARY;
    argv[argc++] = "serve";
    argv[argc++] = "--model";
    argv[argc++] = model ? model : run_dir();
    argv[argc++] = "--threads";
    argv[argc++] = "2";
    for (int i = 0; args && args[i] && argc < 36; i++) {
        has_port |= !strcmp(args[i], "--port");
        argv[argc++] = args[i];
    }
    if (!has_port && !env_port) {
        argv[argc++] = "--port";
        argv[argc++] = "0";
    }
    argv[argc] = NULL;
    fflush(NULL);
    pid_t parent = getpid();
    s->pid = fork();
    cr_assert(s->pid >= 0);
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        int nul = open("/dev/null", O_WRONLY);
        int efd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(nul, 1);
        dup2(efd, 2);
        if (env_port)
            setenv("FUNCTIONS_CUSTOMHANDLER_PORT", env_port, 1);
        else
            unsetenv("FUNCTIONS_CUSTOMHANDLER_PORT");
        execv(HS_BINARY, (char *const *)argv);
        _exit(127);
    }
    double t0 = now_s();
    while (now_s() - t0 < 15) {
        s->port = logged_port(s->log);
        if (s->port > 0)
            return 0;
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        sleep_ms(20);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    return -1;
}

static void server_start(server *s, const char *tag, const char *const *args)
{
    int rc = server_start_env(s, tag, NULL, NULL, args);
    char *log = rc ? hs_test_read_file(s->log, NULL) : NULL;
    cr_assert(rc == 0, "the server did not listen (%d): %s", rc, log ? log : "");
}

/* Waits up to seconds for the process to end; its exit code, or -1 when it did not end. */
static int server_wait(server *s, double seconds)
{
    double t0 = now_s();
    int status;
    while (now_s() - t0 < seconds) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        sleep_ms(10);
    }
    return -1;
}

/* SIGTERM, then its exit code (SIGKILL and a failure after 15 s). */
static int server_stop(server *s)
{
    kill(s->pid, SIGTERM);
    int rc = server_wait(s, 15);
    if (rc < 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    return rc;
}

static void server_stop_ok(server *s)
{
    int rc = server_stop(s);
    char *log = rc ? hs_test_read_file(s->log, NULL) : NULL;
    cr_assert(rc == 0, "the server exited %d after SIGTERM: %s", rc, log ? log : "");
}

/* ---- an HTTP client (libcurl) ------------------------------------------------------------- */

typedef struct reply {
    long status; /* 0: no answer */
    char *body;
    size_t len;
    char *headers;
    size_t hlen;
} reply;

static void grow(char **buf, size_t *len, const char *p, size_t n)
{
    char *b = realloc(*buf, *len + n + 1);
    cr_assert(b);
    memcpy(b + *len, p, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
}

static size_t on_body(char *p, size_t sz, size_t n, void *u)
{
    reply *r = u;
    grow(&r->body, &r->len, p, sz * n);
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *u)
{
    reply *r = u;
    grow(&r->headers, &r->hlen, p, sz * n);
    return sz * n;
}

static void reply_free(reply *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

static CURL *easy_new(int port, const char *method, const char *path, const char *body, long len, reply *r,
                      struct curl_slist **hdrs)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    cr_assert(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, len);
    }
    *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    return c;
}

/* One request; the status (0 when none came back). r gets the body and headers (reply_free). */
static long http(int port, const char *method, const char *path, const char *body, reply *r)
{
    struct curl_slist *hdrs;
    CURL *c = easy_new(port, method, path, body, body ? (long)strlen(body) : 0, r, &hdrs);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    return r->status;
}

static long http_status(int port, const char *method, const char *path, const char *body)
{
    reply r;
    long st = http(port, method, path, body, &r);
    reply_free(&r);
    return st;
}

/* A header's value (case-insensitive name) copied into out; 0 when present. */
static int header(const reply *r, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if (!strncasecmp(p, name, n) && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", (int)(eol - v), v);
            return 0;
        }
        p = eol + 2;
    }
    return -1;
}

/* The body as JSON (caller deletes); fails the test when it is not. */
static cJSON *json_of(const reply *r)
{
    cJSON *j = r->body ? cJSON_Parse(r->body) : NULL;
    cr_assert(j, "not JSON: %s", r->body ? r->body : "(none)");
    return j;
}

/* An error answer: status, JSON {"error", "field"?, "status"} with Content-Type application/json,
 * field as expected (a prefix; NULL: not checked). */
static void expect_error(int port, const char *method, const char *path, const char *body, long status,
                         const char *field)
{
    reply r;
    http(port, method, path, body, &r);
    cr_assert(r.status == status, "%s %s %s: status %ld, want %ld (%s)", method, path, body ? body : "", r.status,
              status, r.body ? r.body : "");
    char ct[128];
    cr_assert(header(&r, "Content-Type", ct, sizeof ct) == 0 && !strcmp(ct, "application/json"), "Content-Type");
    cJSON *j = json_of(&r);
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(j, "error")), "no error message: %s", r.body);
    cr_assert(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "status")) == (double)status, "%s", r.body);
    if (field) {
        const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(j, "field"));
        cr_assert(f && !strncmp(f, field, strlen(field)), "%s: field '%s', want '%s'", body, f ? f : "(none)",
                  field);
    }
    cJSON_Delete(j);
    reply_free(&r);
}

/* /readyz's revision into out. */
static void revision(int port, char *out, size_t size)
{
    reply r;
    cr_assert(http(port, "GET", "/readyz", NULL, &r) == 200);
    cJSON *j = json_of(&r);
    const char *rev = cJSON_GetStringValue(cJSON_GetObjectItem(j, "revision"));
    cr_assert(rev && strlen(rev) == 16, "revision: %s", r.body);
    snprintf(out, size, "%s", rev);
    cJSON_Delete(j);
    reply_free(&r);
}

/* 1 when /metrics holds line (a whole line). */
static int metrics_has(int port, const char *line)
{
    reply r;
    int found = 0;
    if (http(port, "GET", "/metrics", NULL, &r) == 200) {
        size_t n = strlen(line);
        for (const char *p = r.body; p && (p = strstr(p, line)); p += n)
            if ((p == r.body || p[-1] == '\n') && p[n] == '\n')
                found = 1;
    }
    reply_free(&r);
    return found;
}

static int wait_metric(int port, const char *line, double seconds)
{
    double t0 = now_s();
    while (now_s() - t0 < seconds) {
        if (metrics_has(port, line))
            return 1;
        sleep_ms(20);
    }
    return 0;
}

/* The line within 5 s: counters move when libmicrohttpd reports a request complete, which may
 * come just after the client has its answer. */
static int metric_soon(int port, const char *line) { return wait_metric(port, line, 5); }

/* ---- plain sockets, for what a well-behaved client does not do ----------------------------- */

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s", strerror(errno));
    return fd;
}

static void raw_send(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        cr_assert(w > 0, "send: %s", strerror(errno));
        s += w;
        n -= (size_t)w;
    }
}

/* Reads until the peer closes or seconds pass; what came (malloc'd, caller frees); *closed 1 when
 * the peer closed. */
static char *raw_read(int fd, double seconds, int *closed)
{
    char *buf = NULL;
    size_t len = 0;
    grow(&buf, &len, "", 0);
    *closed = 0;
    double t0 = now_s();
    struct timeval tv = {0, 50000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (now_s() - t0 < seconds) {
        char tmp[4096];
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r > 0)
            grow(&buf, &len, tmp, (size_t)r);
        else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            *closed = 1;
            break;
        }
    }
    return buf;
}

TestSuite(serve_http, .init = NULL, .fini = NULL);

static void curl_up(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }
static void curl_down(void) { curl_global_cleanup(); }

/* ---- the answers ------------------------------------------------------------------------------ */

Test(serve_http, seed_request, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    server s;
    server_start(&s, "serve_seed", NULL);
    reply r;
    cr_assert(http(s.port, "POST", "/api/autoscale", seed_body, &r) == 200, "status %ld: %s", r.status, r.body);
    char ct[128];
    cr_assert(header(&r, "Content-Type", ct, sizeof ct) == 0 && !strcmp(ct, "application/json"));
    cJSON *j = json_of(&r);
    cJSON *fc = cJSON_GetObjectItem(j, "forecast");
    cr_assert(cJSON_IsArray(fc) && cJSON_GetArraySize(fc) == 60, "forecast: %s", r.body);
    cJSON *first = cJSON_GetArrayItem(fc, 0);
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(first, "ds")));
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(first, "invocations")));
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(first, "instances_needed")));
    cJSON *d = cJSON_GetObjectItem(j, "decision");
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(d, "target_instances")), "decision: %s", r.body);
    cr_assert(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "current_instances")) == 5);
    cr_assert(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "scale_by")) ==
              cJSON_GetNumberValue(cJSON_GetObjectItem(d, "target_instances")) - 5);
    cJSON *h = cJSON_GetObjectItem(j, "history");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(h, "source")), "training_tail");
    const char *rev = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model"), "revision"));
    char ready[32];
    revision(s.port, ready, sizeof ready);
    cr_assert(rev && !strcmp(rev, ready), "the answer's revision is /readyz's");
    cJSON_Delete(j);
    reply_free(&r);

    /* the other GET routes */
    cr_assert(http(s.port, "GET", "/healthz", NULL, &r) == 200);
    cr_assert(strstr(r.body, "\"status\":\"ok\""), "%s", r.body);
    reply_free(&r);
    cr_assert(http_status(s.port, "HEAD", "/healthz", NULL) == 200);
    cr_assert(http(s.port, "GET", "/api/keda", NULL, &r) == 200, "keda: %ld %s", r.status, r.body);
    j = json_of(&r);
    cJSON *want = cJSON_GetObjectItem(j, "desired_instances");
    cr_assert(cJSON_IsNumber(want) && want->valuedouble >= 0, "%s", r.body);
    cJSON_Delete(j);
    reply_free(&r);
    cr_assert(http_status(s.port, "GET", "/api/keda?function=total", NULL) == 200);
    expect_error(s.port, "GET", "/api/keda?function=no-such-function", NULL, 404, NULL);
    /* without --state, observations are refused */
    expect_error(s.port, "POST", "/api/observe", "{\"ds\": \"2019-07-02T00:00:00Z\", \"invocations\": 1}", 503, NULL);
    server_stop_ok(&s);
    char *log = hs_test_read_file(s.log, NULL);
    cr_assert(strstr(log, "event=request method=POST path=/api/autoscale status=200 ms="), "%s", log);
    cr_assert(strstr(log, "event=model revision="), "%s", log);
    free(log);
}

Test(serve_http, bad_requests_are_400_naming_the_field, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    server s;
    server_start(&s, "serve_bad", (const char *const[]){"--quiet", NULL});
    static const struct {
        const char *body, *field; /* field NULL: none required */
    } cases[] = {
        {"{", NULL},
        {"", NULL},
        {"[1, 2]", NULL},
        {"{\"current_instances\": 5} x", NULL},
        {"{\"current_instances\": \"5\"}", "current_instances"},
        {"{\"forecast_periods\": 60}", "current_instances"},
        {"{\"current_instances\": 5, \"bogus\": 1}", "bogus"},
        {"{\"current_instances\": -1}", "current_instances"},
        {"{\"current_instances\": 1.5}", "current_instances"},
        {"{\"current_instances\": 1e300}", "current_instances"},
        {"{\"current_instances\": 1000001}", "current_instances"},
        {"{\"current_instances\": 99999999999999999999999}", "current_instances"},
        {"{\"current_instances\": 5, \"forecast_periods\": 0}", "forecast_periods"},
        {"{\"current_instances\": 5, \"forecast_periods\": 1441}", "forecast_periods"},
        {"{\"current_instances\": 5, \"forecast_periods\": 2.5}", "forecast_periods"},
        {"{\"current_instances\": 5, \"forecast_periods\": null}", "forecast_periods"},
        {"{\"current_instances\": 5, \"forecaster\": \"arima\"}", "forecaster"},
        {"{\"current_instances\": 5, \"function\": \"\"}", "function"},
        {"{\"current_instances\": 5, \"recent\": []}", "recent"},
        {"{\"current_instances\": 5, \"recent\": [1, -2]}", "recent"},
        {"{\"current_instances\": 5, \"recent\": [1, \"x\"]}", "recent"},
        {"{\"current_instances\": 5, \"now\": \"yesterday\"}", "now"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_error(s.port, "POST", "/api/autoscale", cases[i].body, 400, cases[i].field);
    /* a function the model does not forecast */
    expect_error(s.port, "POST", "/api/autoscale", "{\"current_instances\": 5, \"function\": \"nope\"}", 404,
                 NULL);
    /* the server is unharmed */
    cr_assert(http_status(s.port, "POST", "/api/autoscale", seed_body) == 200);
    server_stop_ok(&s);
}

Test(serve_http, body_limit_413, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    server s;
    server_start(&s, "serve_413", (const char *const[]){"--quiet", NULL});
    /* exactly 64 KiB of JSON (leading spaces) is served */
    size_t max = 65536;
    char *big = malloc(max + 2);
    cr_assert(big);
    const char *obj = "{\"current_instances\": 5}";
    memset(big, ' ', max);
    memcpy(big + max - strlen(obj), obj, strlen(obj));
    big[max] = '\0';
    reply r;
    cr_assert(http(s.port, "POST", "/api/autoscale", big, &r) == 200, "64 KiB: %ld %s", r.status, r.body);
    reply_free(&r);
    /* one byte more, announced by Content-Length: 413 */
    big[max] = ' ';
    big[max + 1] = '\0';
    expect_error(s.port, "POST", "/api/autoscale", big, 413, NULL);
    free(big);

    /* a chunked body that grows past the limit: 413 when it ends */
    int fd = raw_connect(s.port);
    const char *head = "POST /api/autoscale HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       "Content-Type: application/json\r\n\r\n";
    raw_send(fd, head, strlen(head));
    char chunk[8192 + 16];
    int k = snprintf(chunk, sizeof chunk, "%x\r\n", 8192);
    memset(chunk + k, ' ', 8192);
    memcpy(chunk + k + 8192, "\r\n", 2);
    for (int i = 0; i < 10; i++) /* 80 KiB */
        raw_send(fd, chunk, (size_t)k + 8192 + 2);
    raw_send(fd, "0\r\n\r\n", 5);
    int closed;
    char *got = raw_read(fd, 5, &closed);
    close(fd);
    cr_assert(!strncmp(got, "HTTP/1.1 413", 12), "chunked: %.200s", got);
    cr_assert(strstr(got, "\"status\":413"), "%s", got);
    free(got);
    cr_assert(metric_soon(s.port, "hyscale_requests_total{route=\"/api/autoscale\",status=\"413\"} 2"));
    server_stop_ok(&s);
}

Test(serve_http, routes_404_and_405, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    server s;
    server_start(&s, "serve_route", (const char *const[]){"--quiet", NULL});
    expect_error(s.port, "GET", "/nope", NULL, 404, NULL);
    expect_error(s.port, "POST", "/api/autoscale/extra", seed_body, 404, NULL);
    expect_error(s.port, "GET", "/", NULL, 404, NULL);
    static const struct {
        const char *method, *path, *allow;
    } wrong[] = {
        {"GET", "/api/autoscale", "POST"}, {"PUT", "/api/observe", "POST"}, {"POST", "/healthz", "GET, HEAD"},
        {"DELETE", "/readyz", "GET, HEAD"}, {"POST", "/metrics", "GET, HEAD"}, {"POST", "/api/keda", "GET, HEAD"},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        expect_error(s.port, wrong[i].method, wrong[i].path, NULL, 405, NULL);
        reply r;
        http(s.port, wrong[i].method, wrong[i].path, NULL, &r);
        char allow[64];
        cr_assert(header(&r, "Allow", allow, sizeof allow) == 0, "%s %s: no Allow", wrong[i].method, wrong[i].path);
        cr_assert_str_eq(allow, wrong[i].allow);
        reply_free(&r);
    }
    cr_assert(metric_soon(s.port, "hyscale_requests_total{route=\"other\",status=\"404\"} 3"));
    server_stop_ok(&s);
}

/* ---- connections ----------------------------------------------------------------------------- */

Test(serve_http, stalled_clients_are_dropped, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    server s;
    server_start(&s, "serve_slow", (const char *const[]){"--timeout", "1", NULL});
    /* half a request line and headers, then nothing */
    int a = raw_connect(s.port);
    raw_send(a, "POST /api/autoscale HTTP/1.1\r\nHost: x\r\nConte", 45);
    /* whole headers and half the body, then nothing */
    int b = raw_connect(s.port);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /api/autoscale HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n{\"current_",
                     strlen(seed_body));
    raw_send(b, head, (size_t)n);
    double t0 = now_s();
    /* others are answered meanwhile */
    cr_assert(http_status(s.port, "POST", "/api/autoscale", seed_body) == 200);
    cr_assert(http_status(s.port, "GET", "/healthz", NULL) == 200);
    int closed_a, closed_b;
    char *got_a = raw_read(a, 6, &closed_a);
    char *got_b = raw_read(b, 6, &closed_b);
    double waited = now_s() - t0;
    cr_assert(closed_a && closed_b, "stalled connections still open after %.1f s", waited);
    cr_assert(waited > 0.5, "dropped too early (%.2f s)", waited);
    free(got_a);
    free(got_b);
    close(a);
    close(b);
    cr_assert(http_status(s.port, "GET", "/healthz", NULL) == 200);
    server_stop_ok(&s);
}

Test(serve_http, two_hundred_connections_at_once, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    enum { N = 200 };
    server s;
    server_start(&s, "serve_many", (const char *const[]){"--quiet", NULL});
    CURLM *m = curl_multi_init();
    cr_assert(m);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    static reply r[N];
    static CURL *c[N];
    static struct curl_slist *h[N];
    for (int i = 0; i < N; i++) {
        c[i] = easy_new(s.port, "POST", "/api/autoscale", seed_body, (long)strlen(seed_body), &r[i], &h[i]);
        curl_easy_setopt(c[i], CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(c[i], CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(c[i], CURLOPT_TIMEOUT, 60L);
        curl_multi_add_handle(m, c[i]);
    }
    int running = 1;
    while (running) {
        cr_assert(curl_multi_perform(m, &running) == CURLM_OK);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    int ok = 0;
    for (int i = 0; i < N; i++) {
        long st = 0;
        curl_easy_getinfo(c[i], CURLINFO_RESPONSE_CODE, &st);
        ok += st == 200 && r[i].body && strstr(r[i].body, "\"decision\"");
        curl_multi_remove_handle(m, c[i]);
        curl_easy_cleanup(c[i]);
        curl_slist_free_all(h[i]);
        reply_free(&r[i]);
    }
    curl_multi_cleanup(m);
    cr_assert(ok == N, "%d of %d answered 200", ok, N);
    cr_assert(metric_soon(s.port, "hyscale_requests_total{route=\"/api/autoscale\",status=\"200\"} 200"));
    server_stop_ok(&s);
}

/* ---- metrics --------------------------------------------------------------------------------- */

Test(serve_http, metrics_count_requests, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    server s;
    server_start(&s, "serve_metrics", NULL);
    cr_assert(http_status(s.port, "POST", "/api/autoscale", seed_body) == 200);
    cr_assert(http_status(s.port, "POST", "/api/autoscale", seed_body) == 200);
    cr_assert(http_status(s.port, "POST", "/api/autoscale", "{}") == 400);
    cr_assert(http_status(s.port, "GET", "/elsewhere", NULL) == 404);
    cr_assert(http_status(s.port, "GET", "/healthz", NULL) == 200);
    char rev[32], line[256];
    revision(s.port, rev, sizeof rev);
    reply r;
    cr_assert(http(s.port, "GET", "/metrics", NULL, &r) == 200);
    char ct[128];
    cr_assert(header(&r, "Content-Type", ct, sizeof ct) == 0 && !strncmp(ct, "text/plain", 10), "%s", ct);
    reply_free(&r);
    cr_assert(metric_soon(s.port, "hyscale_requests_total{route=\"/api/autoscale\",status=\"200\"} 2"));
    cr_assert(metric_soon(s.port, "hyscale_requests_total{route=\"/api/autoscale\",status=\"400\"} 1"));
    cr_assert(metric_soon(s.port, "hyscale_requests_total{route=\"other\",status=\"404\"} 1"));
    cr_assert(metric_soon(s.port, "hyscale_requests_total{route=\"/healthz\",status=\"200\"} 1"));
    cr_assert(metric_soon(s.port, "hyscale_request_seconds_bucket{route=\"/api/autoscale\",le=\"+Inf\"} 3"));
    cr_assert(metric_soon(s.port, "hyscale_request_seconds_count{route=\"/api/autoscale\"} 3"));
    cr_assert(metric_soon(s.port, "hyscale_model_reloads_total{result=\"ok\"} 0"));
    cr_assert(metric_soon(s.port, "hyscale_observations_total 0"));
    cr_assert(metric_soon(s.port, "hyscale_connections_active 1"));
    snprintf(line, sizeof line, "hyscale_model_info{revision=\"%s\",run=\"%s\"} 1", rev, run_dir());
    cr_assert(metric_soon(s.port, line), "%s", line);
    /* every bucket of the docs, cumulative */
    cr_assert(http(s.port, "GET", "/metrics", NULL, &r) == 200);
    static const char *const le[] = {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
                                     "0.01",   "0.025",   "0.05",   "0.1",   "0.25",   "+Inf"};
    double prev = 0;
    for (size_t i = 0; i < sizeof le / sizeof *le; i++) {
        snprintf(line, sizeof line, "hyscale_request_seconds_bucket{route=\"/api/autoscale\",le=\"%s\"} ", le[i]);
        const char *p = strstr(r.body, line);
        cr_assert(p, "no %s", line);
        double v = atof(p + strlen(line));
        cr_assert(v >= prev, "buckets not cumulative at %s", le[i]);
        prev = v;
    }
    reply_free(&r);
    server_stop_ok(&s);
}

/* ---- operations -------------------------------------------------------------------------------- */

/* cp -a of the run folder into dir/run; returns the path (owned by the helpers). */
static char *copy_run(const char *dir)
{
    char *to = hs_test_keep(malloc(700));
    snprintf(to, 700, "%s/run", dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", run_dir(), to);
    cr_assert(system(cmd) == 0);
    return to;
}

Test(serve_http, sighup_reloads_and_keeps_a_good_model, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    char *dir = hs_test_scratch("serve_hup_run");
    char *run = copy_run(dir);
    server s;
    cr_assert(server_start_env(&s, "serve_hup", run, NULL, (const char *const[]){"--quiet", NULL}) == 0);
    char rev0[32], rev[32], path[800];
    revision(s.port, rev0, sizeof rev0);
    snprintf(path, sizeof path, "%s/prophet_model.json", run);
    size_t len = 0;
    char *orig = hs_test_read_file(path, &len);
    cr_assert(orig && len > 2);

    /* a broken folder: the old model stays */
    cr_assert(hs_test_write_file(path, "{\"broken\": ") == 0);
    kill(s.pid, SIGHUP);
    cr_assert(wait_metric(s.port, "hyscale_model_reloads_total{result=\"error\"} 1", 15), "no failed reload counted");
    revision(s.port, rev, sizeof rev);
    cr_assert_str_eq(rev, rev0);
    cr_assert(http_status(s.port, "POST", "/api/autoscale", seed_body) == 200);
    char *log = hs_test_read_file(s.log, NULL);
    cr_assert(strstr(log, "level=error event=reload result=error"), "%s", log);
    free(log);

    /* the same content and one more newline: a valid folder with another revision */
    char *changed = malloc(len + 2);
    memcpy(changed, orig, len);
    changed[len] = '\n';
    changed[len + 1] = '\0';
    cr_assert(hs_test_write_file(path, changed) == 0);
    free(changed);
    free(orig);
    kill(s.pid, SIGHUP);
    cr_assert(wait_metric(s.port, "hyscale_model_reloads_total{result=\"ok\"} 1", 15), "no reload counted");
    revision(s.port, rev, sizeof rev);
    cr_assert(strcmp(rev, rev0) != 0, "the revision did not change (%s)", rev);
    reply r;
    cr_assert(http(s.port, "POST", "/api/autoscale", seed_body, &r) == 200);
    cr_assert(strstr(r.body, rev), "the answer is not from the new model: %s", r.body);
    reply_free(&r);
    server_stop_ok(&s);
}

Test(serve_http, sigterm_drains_requests_in_flight, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    server s;
    server_start(&s, "serve_term", NULL);
    /* a request in flight: headers and half its body */
    size_t blen = strlen(seed_body), half = blen / 2;
    int fd = raw_connect(s.port);
    char head[256];
    int n = snprintf(head, sizeof head, "POST /api/autoscale HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", blen);
    raw_send(fd, head, (size_t)n);
    raw_send(fd, seed_body, half);
    cr_assert(wait_metric(s.port, "hyscale_requests_in_flight 2", 5), "the request is not in flight");
    kill(s.pid, SIGTERM);
    /* the service stops accepting and waits for it */
    double t0 = now_s();
    while (http_status(s.port, "GET", "/healthz", NULL) != 0 && now_s() - t0 < 5)
        sleep_ms(20);
    cr_assert(http_status(s.port, "GET", "/healthz", NULL) == 0, "new connections still accepted while draining");
    cr_assert(server_wait(&s, 0.3) == -1, "the server exited with a request in flight");
    raw_send(fd, seed_body + half, blen - half);
    int closed;
    char *got = raw_read(fd, 10, &closed);
    close(fd);
    cr_assert(!strncmp(got, "HTTP/1.1 200", 12), "the request in flight: %.300s", got);
    cr_assert(strstr(got, "\"decision\""), "%s", got);
    free(got);
    int rc = server_wait(&s, 15);
    char *log = hs_test_read_file(s.log, NULL);
    cr_assert(rc == 0, "exit %d: %s", rc, log);
    cr_assert(strstr(log, "event=drain") && strstr(log, "event=stop unfinished=0"), "%s", log);
    free(log);
}

Test(serve_http, functions_customhandler_port, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    server s;
    int rc = -1, port = 0;
    srand((unsigned)getpid());
    for (int attempt = 0; attempt < 8 && rc != 0; attempt++) {
        port = 20000 + rand() % 30000;
        char env[16];
        snprintf(env, sizeof env, "%d", port);
        rc = server_start_env(&s, "serve_port", NULL, env, (const char *const[]){"--quiet", NULL});
    }
    cr_assert(rc == 0, "no free port found");
    cr_assert(s.port == port, "listens on %d, not FUNCTIONS_CUSTOMHANDLER_PORT %d", s.port, port);
    cr_assert(http_status(port, "GET", "/healthz", NULL) == 200);
    server_stop_ok(&s);
    /* --port wins over the variable, which is then not read */
    rc = server_start_env(&s, "serve_port2", NULL, "not-a-port", (const char *const[]){"--port", "0", NULL});
    cr_assert(rc == 0);
    cr_assert(http_status(s.port, "GET", "/healthz", NULL) == 200);
    server_stop_ok(&s);
    /* a variable that is not a port, without --port: a usage error */
    rc = server_start_env(&s, "serve_port3", NULL, "80x", NULL);
    cr_assert(rc == 2, "exit %d", rc);
}

Test(serve_http, bad_model_folder_exits_1, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    char *dir = hs_test_scratch("serve_nomodel");
    char *err = NULL;
    int rc = hs_test_run(&err, "serve", "--model", dir, "--port", "0", NULL);
    cr_assert(rc == 1, "exit %d: %s", rc, err ? err : "");
    cr_assert(err && strstr(err, "hyscale: ") && !strstr(err, "listening on"), "%s", err ? err : "");
    free(err);
    rc = hs_test_run(&err, "serve", "--port", "0", NULL);
    cr_assert(rc == 2, "no --model: exit %d", rc);
    free(err);
}

Test(serve_http, observations_feed_the_history, .init = curl_up, .fini = curl_down, .timeout = 300)
{
    char *state = hs_test_scratch("serve_state");
    server s;
    server_start(&s, "serve_obs", (const char *const[]){"--state", state, NULL});
    /* three hours of minutes of the run's series, and one count for a function it does not know */
    enum { M = 180 };
    cJSON *list = cJSON_CreateArray();
    for (int i = 0; i < M; i++) {
        char ds[32];
        snprintf(ds, sizeof ds, "2019-07-02T%02d:%02d:00Z", i / 60, i % 60);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "ds", ds);
        cJSON_AddNumberToObject(o, "invocations", 100 + i % 7);
        cJSON_AddItemToArray(list, o);
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddItemToObject(req, "observations", list);
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    reply r;
    cr_assert(http(s.port, "POST", "/api/observe", body, &r) == 200, "%ld %s", r.status, r.body);
    cJSON_free(body);
    cr_assert_str_eq(r.body, "{\"accepted\":180,\"functions\":1,\"unknown_functions\":[]}");
    reply_free(&r);
    cr_assert(http(s.port, "POST", "/api/observe",
                   "{\"function\": \"fn-x\", \"ds\": \"2019-07-02 00:00\", \"invocations\": 3}", &r) == 200);
    cr_assert_str_eq(r.body, "{\"accepted\":1,\"functions\":1,\"unknown_functions\":[\"fn-x\"]}");
    reply_free(&r);
    expect_error(s.port, "POST", "/api/observe", "{\"ds\": \"2019-07-02T00:00:30Z\", \"invocations\": 3}", 400, "ds");
    expect_error(s.port, "POST", "/api/observe", "{\"ds\": \"2019-07-02T00:00:00Z\", \"invocations\": -3}", 400,
                 "invocations");

    cr_assert(http(s.port, "POST", "/api/autoscale", "{\"current_instances\": 5}", &r) == 200, "%ld %s", r.status,
              r.body);
    cJSON *j = json_of(&r);
    cJSON *h = cJSON_GetObjectItem(j, "history");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(h, "source")), "observed");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(h, "last")), "2019-07-02T02:59:00Z");
    cr_assert(cJSON_GetArraySize(cJSON_GetObjectItem(j, "forecast")) == 60);
    cJSON_Delete(j);
    reply_free(&r);
    /* `recent` wins over what was observed */
    cr_assert(http(s.port, "POST", "/api/autoscale", "{\"current_instances\": 5, \"recent\": [1, 2, 3]}", &r) == 200,
              "%ld %s", r.status, r.body);
    cr_assert(strstr(r.body, "\"source\":\"recent\""), "%s", r.body);
    reply_free(&r);
    cr_assert(http_status(s.port, "GET", "/api/keda?function=total", NULL) == 200);
    cr_assert(metric_soon(s.port, "hyscale_observations_total 181"));
    server_stop_ok(&s);
}
