/* http_metrics.c: the service's counters and their Prometheus text (GET /metrics, docs/SERVE.md):
 * requests by route and status, the latency histogram by route (buckets 0.1 ms to 250 ms),
 * the model's revision, reloads, observations and the connections open. Worker threads update
 * relaxed atomics; a scrape reads them without a lock (each number is exact, the set is not a
 * snapshot, as with any Prometheus client). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

/* upper bounds of the finite buckets, seconds; the last bucket is +Inf */
static const double hs_http_le[HS_HTTP_NBUCKETS - 1] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                        0.01,   0.025,   0.05,   0.1,   0.25};
static const char *const hs_http_le_text[HS_HTTP_NBUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "+Inf"};

void hs_http_metrics_record(hs_http_metrics *m, hs_http_route r, int status, double seconds)
{
    if (status < 0 || status >= HS_HTTP_MAX_STATUS)
        status = 0;
    atomic_fetch_add_explicit(&m->requests[r][status], 1, memory_order_relaxed);
    int b = 0;
    while (b < HS_HTTP_NBUCKETS - 1 && seconds > hs_http_le[b])
        b++;
    atomic_fetch_add_explicit(&m->bucket[r][b], 1, memory_order_relaxed);
    double ns = seconds > 0 ? seconds * 1e9 : 0;
    atomic_fetch_add_explicit(&m->sum_ns[r], ns < 1.8e19 ? (uint64_t)ns : UINT64_MAX / 2, memory_order_relaxed);
}

/* A growing text buffer; ok turns 0 once memory runs out (the render then returns NULL). */
typedef struct hs_text {
    char *s;
    size_t len, cap;
    int ok;
} hs_text;

static void hs_text_add(hs_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hs_text_add(hs_text *t, const char *fmt, ...)
{
    if (!t->ok)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            t->ok = 0;
            return;
        }
        if (t->s && t->len + (size_t)k < t->cap) {
            t->len += (size_t)k;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap <= t->len + (size_t)k)
            cap *= 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->ok = 0;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}

/* A label value: \ " and newline escaped (the text format's rule). */
static void hs_label(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    for (; *s && o + 3 < size; s++) {
        if (*s == '\\' || *s == '"') {
            buf[o++] = '\\';
            buf[o++] = *s;
        } else if (*s == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else
            buf[o++] = *s;
    }
    buf[o] = '\0';
}

static uint64_t hs_get(atomic_uint_least64_t *a) { return atomic_load_explicit(a, memory_order_relaxed); }

char *hs_http_metrics_render(hs_http *h, size_t *len)
{
    hs_http_metrics *m = &h->metrics;
    hs_text t = {NULL, 0, 0, 1};
    hs_text_add(&t, "# HELP hyscale_requests_total Requests answered, by route and HTTP status.\n"
                    "# TYPE hyscale_requests_total counter\n");
    for (int r = 0; r < HS_ROUTE_COUNT; r++)
        for (int s = 0; s < HS_HTTP_MAX_STATUS; s++) {
            uint64_t n = hs_get(&m->requests[r][s]);
            if (n)
                hs_text_add(&t, "hyscale_requests_total{route=\"%s\",status=\"%d\"} %" PRIu64 "\n",
                            hs_http_route_name((hs_http_route)r), s, n);
        }
    hs_text_add(&t, "# HELP hyscale_request_seconds Time from a request's headers to its answer.\n"
                    "# TYPE hyscale_request_seconds histogram\n");
    for (int r = 0; r < HS_ROUTE_COUNT; r++) {
        const char *name = hs_http_route_name((hs_http_route)r);
        uint64_t cum = 0;
        for (int b = 0; b < HS_HTTP_NBUCKETS; b++) {
            cum += hs_get(&m->bucket[r][b]);
            hs_text_add(&t, "hyscale_request_seconds_bucket{route=\"%s\",le=\"%s\"} %" PRIu64 "\n", name,
                        hs_http_le_text[b], cum);
        }
        hs_text_add(&t, "hyscale_request_seconds_sum{route=\"%s\"} %.9g\n", name, 1e-9 * (double)hs_get(&m->sum_ns[r]));
        hs_text_add(&t, "hyscale_request_seconds_count{route=\"%s\"} %" PRIu64 "\n", name, cum);
    }
    hs_serve_model *model = hs_http_model_ref(h);
    char rev[64], run[1024];
    hs_label(hs_serve_model_revision(model), rev, sizeof rev);
    hs_label(hs_serve_model_dir(model), run, sizeof run);
    hs_serve_model_unref(model);
    hs_text_add(&t,
                "# HELP hyscale_model_info The model being served.\n"
                "# TYPE hyscale_model_info gauge\n"
                "hyscale_model_info{revision=\"%s\",run=\"%s\"} 1\n"
                "# HELP hyscale_model_reloads_total Model reloads (SIGHUP), by result.\n"
                "# TYPE hyscale_model_reloads_total counter\n"
                "hyscale_model_reloads_total{result=\"ok\"} %" PRIu64 "\n"
                "hyscale_model_reloads_total{result=\"error\"} %" PRIu64 "\n"
                "# HELP hyscale_observations_total Observations accepted by POST /api/observe since start.\n"
                "# TYPE hyscale_observations_total counter\n"
                "hyscale_observations_total %" PRIu64 "\n",
                rev, run, hs_get(&m->reloads_ok), hs_get(&m->reloads_failed), hs_get(&m->observations));
    if (h->store) {
        int64_t held = 0, functions = 0;
        hs_store_counts(h->store, &held, &functions);
        hs_text_add(&t,
                    "# HELP hyscale_observations_held Per-minute counts in the observation store.\n"
                    "# TYPE hyscale_observations_held gauge\n"
                    "hyscale_observations_held %" PRId64 "\n"
                    "# HELP hyscale_observed_functions Functions with observations in the store.\n"
                    "# TYPE hyscale_observed_functions gauge\n"
                    "hyscale_observed_functions %" PRId64 "\n",
                    held, functions);
    }
    hs_text_add(&t,
                "# HELP hyscale_connections_active Connections open now.\n"
                "# TYPE hyscale_connections_active gauge\n"
                "hyscale_connections_active %" PRId64 "\n"
                "# HELP hyscale_requests_in_flight Requests begun and not yet answered.\n"
                "# TYPE hyscale_requests_in_flight gauge\n"
                "hyscale_requests_in_flight %" PRId64 "\n",
                (int64_t)atomic_load(&m->connections), (int64_t)atomic_load(&h->in_flight));
    if (!t.ok) {
        free(t.s);
        return NULL;
    }
    *len = t.len;
    return t.s;
}
