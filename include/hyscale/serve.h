/* serve.h: the autoscaling service's pieces below HTTP (docs/SERVE.md is the contract):
 * the model (a run folder loaded and checked once, immutable, reference-counted so a reload
 * swaps it while requests in flight finish on the old one), the request parsers, and the
 * answer, built with the environment's observation code, the forecasters' prediction code and
 * the agent's forward.
 *
 *     hs_serve_model *m;
 *     HS_TRY(hs_serve_model_load("outputs/run-1", &m));          // refuses a folder that does not fit
 *     hs_serve_request rq;
 *     hs_serve_error e;
 *     if (hs_serve_request_parse(body, len, &rq, &e) != HS_OK) ... e.status, e.field, e.message
 *     cJSON *answer;
 *     HS_TRY(hs_serve_answer(m, &rq, NULL, &answer, &e));         // NULL: the model's own tail
 *     hs_serve_request_free(&rq);
 *     hs_serve_model_unref(m);
 */
#ifndef HYSCALE_SERVE_H
#define HYSCALE_SERVE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_SERVE_MAX_BODY 65536      /* bytes of a request body; more is 413 */
#define HS_SERVE_MAX_PERIODS 1440    /* forecast_periods in [1, 1440] */
#define HS_SERVE_DEFAULT_PERIODS 60
#define HS_SERVE_MAX_INSTANCES 1000000 /* current_instances in [0, 1e6] */
#define HS_SERVE_MAX_RECENT 10080    /* entries of `recent` (a week of minutes) */
#define HS_SERVE_MAX_FUNCTION 255    /* bytes of a function name */
#define HS_SERVE_MAX_OBSERVATIONS 4096 /* observations in one POST /api/observe */
#define HS_SERVE_SERIES "total"      /* the name of the run's own series (the trace's aggregate) */

typedef enum hs_serve_forecaster {
    HS_SERVE_HYBRID = 0,
    HS_SERVE_LSTM = 1,
    HS_SERVE_PROPHET = 2
} hs_serve_forecaster;
const char *hs_serve_forecaster_name(hs_serve_forecaster f);

/* Why a request was refused: the HTTP status (400, 404, 405, 413, 500, 503), the field at fault
 * ("" when none) and a one-line message naming it. */
typedef struct hs_serve_error {
    int status;
    char field[64];
    char message[512];
} hs_serve_error;
/* Fills e and returns HS_ERR_INPUT (HS_ERR_NOMEM for status 500 out of memory). */
hs_status hs_serve_fail(hs_serve_error *e, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* {"error": message, "field": field, "status": status} (field left out when empty). */
cJSON *hs_serve_error_json(const hs_serve_error *e);

/* ---- requests ------------------------------------------------------------------------------ */

/* POST /api/autoscale, parsed and range-checked (docs/SERVE.md). */
typedef struct hs_serve_request {
    int64_t current_instances;
    int periods;                     /* forecast_periods, HS_SERVE_DEFAULT_PERIODS when absent */
    char function[HS_SERVE_MAX_FUNCTION + 1]; /* HS_SERVE_SERIES when absent */
    hs_serve_forecaster forecaster;  /* hybrid when absent */
    double *recent;                  /* (n_recent) per-minute invocations, oldest first; NULL if absent */
    int64_t n_recent;
    int has_now;
    int64_t now;                     /* unix seconds of the minute of the last known count (minute-aligned) */
} hs_serve_request;
/* Strict: a JSON object, only the known keys, each of its type and range; whole numbers for
 * counts; every number finite. Errors are 400 naming the field. */
hs_status hs_serve_request_parse(const char *body, size_t len, hs_serve_request *rq, hs_serve_error *e);
void hs_serve_request_free(hs_serve_request *rq);

/* One per-minute count of POST /api/observe. */
typedef struct hs_observation {
    char function[HS_SERVE_MAX_FUNCTION + 1];
    int64_t minute;      /* unix seconds, a multiple of 60 */
    double invocations;  /* finite, in [0, HS_PARSE_Y_MAX] */
} hs_observation;
/* {"function"?, "ds", "invocations"} or {"observations": [ ... ]} (1..HS_SERVE_MAX_OBSERVATIONS
 * of them); *obs malloc'd (caller frees), *n its length. Errors are 400 naming the field (with the
 * index: "observations[3].ds"). */
hs_status hs_serve_observe_parse(const char *body, size_t len, hs_observation **obs, int64_t *n, hs_serve_error *e);

/* ISO 8601 minute: "YYYY-MM-DDTHH:MM[:SS][Z|+00:00]" or "YYYY-MM-DD HH:MM[:SS]" (UTC; seconds
 * must be 0). 0 and *unix_seconds on success, -1 otherwise. Formats the other way into buf
 * ("YYYY-MM-DDTHH:MM:SSZ", at least 21 bytes). */
int hs_serve_parse_minute(const char *s, int64_t *unix_seconds);
void hs_serve_format_minute(int64_t unix_seconds, char *buf, size_t size);

/* ---- the model ----------------------------------------------------------------------------- */

typedef struct hs_serve_model hs_serve_model;
/* Loads a run folder (lstm.safetensors, prophet_model.json, series.json and series.csv for the
 * training tail, hybrid_metrics.json for the per-lead Hybrid's weights when present,
 * ppo_<forecaster>/ppo_policy.safetensors for each agent present) and checks that the pieces
 * belong together (the ENV version and observation size of every agent, the LSTM's normalisation
 * against series.json, the series' step of 60 s, the Hybrid's weights in [0, 1]). A folder that
 * does not fit is HS_ERR_INPUT naming the file and what is wrong. The model starts with one
 * reference. */
hs_status hs_serve_model_load(const char *run_dir, hs_serve_model **out);
hs_serve_model *hs_serve_model_ref(hs_serve_model *m);
void hs_serve_model_unref(hs_serve_model *m); /* frees at the last reference */
/* A stable id of what was loaded (16 hex digits hashing every file read) and the folder. */
const char *hs_serve_model_revision(const hs_serve_model *m);
const char *hs_serve_model_dir(const hs_serve_model *m);
/* The functions the model forecasts (today HS_SERVE_SERIES only): 1 when it knows name. */
int hs_serve_model_knows(const hs_serve_model *m, const char *function);
/* A one-line description for the startup log ("run R: lstm H=64 W=60, prophet, agents ppo_hybrid
 * ppo_none, tail of N minutes to T"). */
void hs_serve_model_describe(const hs_serve_model *m, char *buf, size_t size);

/* The history an answer starts from: per-minute counts, oldest first, the last one the count of
 * minute `last` (unix seconds). source is "recent", "observed" or "training_tail". */
typedef struct hs_serve_history {
    const double *v;
    int64_t n;
    int64_t last;
    const char *source;
    uint64_t version; /* changes whenever the history does (forecast cache key); 0: do not cache */
} hs_serve_history;

/* The answer to rq: forecast, decision, model, history and elapsed_ms (docs/SERVE.md; the
 * Hybrid is the folder's per-lead one, or the plain average for a folder without it). The
 * history is rq->recent when given, else hist when not NULL (the store's), else the model's
 * training tail. Errors: 404 for a function the model does not know, 400 for a `now` before the
 * history's last minute. Thread-safe; forecasts of an unchanged history are computed once. */
hs_status hs_serve_answer(hs_serve_model *m, const hs_serve_request *rq, const hs_serve_history *hist,
                          cJSON **out, hs_serve_error *e);

/* The scaling decision alone for GET /api/keda: the target instances for the function from its
 * history (hist, or the training tail), the default forecaster, and current_instances = the need
 * of the history's last minute (ENV.md: reactive instances stay warm). */
hs_status hs_serve_desired(hs_serve_model *m, const char *function, const hs_serve_history *hist, int64_t *desired,
                           hs_serve_error *e);

/* ---- the observation store (src/serve/store.c) --------------------------------------------- */

typedef struct hs_store hs_store;
/* Opens or creates DIR/observations.sqlite (WAL mode, synchronous=NORMAL: an acknowledged
 * observation survives a crash of the process; FULL with durable = 1 survives power loss too)
 * and loads the last HS_STORE_KEEP minutes of every function into memory. */
#define HS_STORE_KEEP 1440
hs_status hs_store_open(const char *dir, int durable, hs_store **out);
void hs_store_close(hs_store *s);
/* Adds (or replaces) n counts in one transaction; on HS_OK they are on disk. Thread-safe. */
hs_status hs_store_put(hs_store *s, const hs_observation *obs, int64_t n);
/* The last min(want, span) minutes of a function up to its latest observed minute (unobserved
 * minutes in between count 0) into out (want); *n gets how many, *last the latest minute,
 * *version a counter that changes with every put touching the function. *n = 0 for a function
 * never observed. Thread-safe. */
hs_status hs_store_recent(hs_store *s, const char *function, int64_t want, double *out, int64_t *n, int64_t *last,
                          uint64_t *version);
/* Observations held (all functions) and functions seen, for /metrics. */
void hs_store_counts(hs_store *s, int64_t *observations, int64_t *functions);

/* ---- the HTTP server (src/serve/http_server.c) ----------------------------------------------
 * `hyscale serve` (docs/SERVE.md) over libmicrohttpd. One call loads the run folder, opens the observation store, listens, and serves until SIGTERM or SIGINT (then it
 * drains: stops accepting, lets the requests in flight finish within timeout_s, returns HS_OK);
 * SIGHUP reloads the model folder (kept when the new one does not load). The calling thread
 * waits for those signals (they are blocked in every thread of the process while it runs).
 *
 *     hs_serve_http_config c = HS_SERVE_HTTP_DEFAULTS;
 *     c.model_dir = "outputs/run-1";
 *     hs_status st = hs_serve_http_run(&c);    // returns after SIGTERM; errors before listening
 */
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

#ifdef __cplusplus
}
#endif
#endif
