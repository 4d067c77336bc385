/* request.c: the service's request parsers (docs/SERVE.md): one strict reading of each body,
 * every field checked for its type and range and named when refused, and the error answers. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hyscale/parse.h"
#include "hyscale/serve.h"
#include "hyscale/series.h"

const char *hs_serve_forecaster_name(hs_serve_forecaster f)
{
    return f == HS_SERVE_LSTM ? "lstm" : f == HS_SERVE_PROPHET ? "prophet" : "hybrid";
}

hs_status hs_serve_fail(hs_serve_error *e, int status, const char *field, const char *fmt, ...)
{
    e->status = status;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return status == 500 ? HS_ERR_NOMEM : HS_ERR_INPUT;
}

cJSON *hs_serve_error_json(const hs_serve_error *e)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "error", e->message);
    if (e->field[0])
        cJSON_AddStringToObject(o, "field", e->field);
    cJSON_AddNumberToObject(o, "status", e->status);
    return o;
}

int hs_serve_parse_minute(const char *s, int64_t *unix_seconds)
{
    /* exactly "YYYY-MM-DD?HH:MM", then ":00" or nothing, then "Z", "+00:00" or nothing: a whole
     * minute in UTC, nothing else (no fraction, no leap second, no other offset) */
    size_t n = strlen(s), k = 16;
    if (n < 16 || n > 25 || (s[10] != 'T' && s[10] != ' '))
        return -1;
    if (n >= k + 3 && s[k] == ':') {
        if (s[k + 1] != '0' || s[k + 2] != '0')
            return -1;
        k += 3;
    }
    if (n == k + 1 && s[k] == 'Z')
        k += 1;
    else if (n == k + 6 && memcmp(s + k, "+00:00", 6) == 0)
        k += 6;
    if (k != n)
        return -1;
    char buf[17];
    memcpy(buf, s, 16);
    buf[16] = '\0';
    int64_t t;
    if (hs_parse_time(buf, &t) != 0 || t % 60 != 0)
        return -1;
    *unix_seconds = t;
    return 0;
}

void hs_serve_format_minute(int64_t unix_seconds, char *buf, size_t size)
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
    else
        snprintf(buf, size, "%lld", (long long)unix_seconds);
}

/* The body as one JSON object, nothing after it but white space. */
static hs_status hs_body_object(const char *body, size_t len, cJSON **out, hs_serve_error *e)
{
    *out = NULL;
    if (len == 0)
        return hs_serve_fail(e, 400, "", "empty body: a JSON object is expected");
    if (len > HS_SERVE_MAX_BODY)
        return hs_serve_fail(e, 413, "", "body of %zu bytes: at most %d", len, HS_SERVE_MAX_BODY);
    if (memchr(body, '\0', len))
        return hs_serve_fail(e, 400, "", "body holds a NUL byte");
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!o) { /* end is the error's position (cJSON_GetErrorPtr is one global for every thread) */
        size_t off = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
        return hs_serve_fail(e, 400, "", "malformed JSON at byte %zu", off);
    }
    for (const char *p = end; p && p < body + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(o);
            return hs_serve_fail(e, 400, "", "malformed JSON: text after the object at byte %zu", (size_t)(p - body));
        }
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return hs_serve_fail(e, 400, "", "the body must be a JSON object");
    }
    *out = o;
    return HS_OK;
}

/* A whole number in [lo, hi]. */
static hs_status hs_get_whole(const cJSON *v, const char *name, double lo, double hi, int64_t *out,
                              hs_serve_error *e)
{
    if (!cJSON_IsNumber(v))
        return hs_serve_fail(e, 400, name, "'%s' must be a number", name);
    double x = v->valuedouble;
    if (!isfinite(x))
        return hs_serve_fail(e, 400, name, "'%s' is not a finite number", name);
    if (x != floor(x))
        return hs_serve_fail(e, 400, name, "'%s' must be a whole number, not %.17g", name, x);
    if (x < lo || x > hi)
        return hs_serve_fail(e, 400, name, "'%s' must be between %.0f and %.0f, not %.17g", name, lo, hi, x);
    *out = (int64_t)x;
    return HS_OK;
}

/* A function name: 1 to HS_SERVE_MAX_FUNCTION bytes, no control byte. */
static hs_status hs_get_function(const cJSON *v, const char *name, char *out, hs_serve_error *e)
{
    if (!cJSON_IsString(v))
        return hs_serve_fail(e, 400, name, "'%s' must be a string", name);
    size_t n = strlen(v->valuestring);
    if (n == 0 || n > HS_SERVE_MAX_FUNCTION)
        return hs_serve_fail(e, 400, name, "'%s' must hold 1 to %d bytes, not %zu", name, HS_SERVE_MAX_FUNCTION, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v->valuestring[i] < 0x20 || v->valuestring[i] == 0x7f)
            return hs_serve_fail(e, 400, name, "'%s' holds a control byte at %zu", name, i);
    memcpy(out, v->valuestring, n + 1);
    return HS_OK;
}

static hs_status hs_get_minute(const cJSON *v, const char *name, int64_t *out, hs_serve_error *e)
{
    if (!cJSON_IsString(v))
        return hs_serve_fail(e, 400, name, "'%s' must be a string (an ISO minute)", name);
    if (hs_serve_parse_minute(v->valuestring, out) != 0)
        return hs_serve_fail(e, 400, name, "'%s' must be an ISO minute like 2019-07-02T00:00:00Z, not '%.64s'", name,
                             v->valuestring);
    return HS_OK;
}

static hs_status hs_get_recent(const cJSON *v, hs_serve_request *rq, hs_serve_error *e)
{
    if (!cJSON_IsArray(v))
        return hs_serve_fail(e, 400, "recent", "'recent' must be an array of per-minute counts");
    int n = cJSON_GetArraySize(v);
    if (n < 1 || n > HS_SERVE_MAX_RECENT)
        return hs_serve_fail(e, 400, "recent", "'recent' must hold 1 to %d counts, not %d", HS_SERVE_MAX_RECENT, n);
    rq->recent = malloc((size_t)n * sizeof *rq->recent);
    if (!rq->recent)
        return hs_serve_fail(e, 500, "", "out of memory");
    int i = 0;
    for (const cJSON *x = v->child; x; x = x->next, i++) {
        double d = cJSON_IsNumber(x) ? x->valuedouble : NAN;
        if (!cJSON_IsNumber(x) || !isfinite(d) || d < 0 || d > HS_PARSE_Y_MAX)
            return hs_serve_fail(e, 400, "recent", "'recent[%d]' must be a number from 0 to 1e15", i);
        rq->recent[i] = d;
    }
    rq->n_recent = n;
    return HS_OK;
}

static hs_status hs_get_forecaster(const cJSON *v, hs_serve_forecaster *out, hs_serve_error *e)
{
    static const char *const names[3] = {"hybrid", "lstm", "prophet"};
    if (cJSON_IsString(v))
        for (int i = 0; i < 3; i++)
            if (strcmp(v->valuestring, names[i]) == 0) {
                *out = (hs_serve_forecaster)i;
                return HS_OK;
            }
    return hs_serve_fail(e, 400, "forecaster", "'forecaster' must be \"hybrid\", \"lstm\" or \"prophet\"");
}

/* The index of key k in keys (n), marked seen: -1 for an unknown key, 400 for a key given twice
 * (known keys only are marked, so the check stays linear in the body). */
static int hs_field(const char *k, const char *const *keys, int n, unsigned *seen, const char *name,
                    hs_serve_error *e, hs_status *st)
{
    for (int i = 0; i < n; i++)
        if (strcmp(k, keys[i]) == 0) {
            if (*seen & (1u << i)) {
                *st = hs_serve_fail(e, 400, name, "field '%s' given twice", name);
                return -1;
            }
            *seen |= 1u << i;
            return i;
        }
    *st = HS_OK;
    return -1;
}

static hs_status hs_request_fields(const cJSON *o, hs_serve_request *rq, hs_serve_error *e)
{
    enum { CURRENT, PERIODS, FUNCTION, FORECASTER, RECENT, NOW, NKEYS };
    static const char *const keys[NKEYS] = {"current_instances", "forecast_periods", "function",
                                            "forecaster",        "recent",           "now"};
    unsigned seen = 0;
    for (const cJSON *f = o->child; f; f = f->next) {
        const char *k = f->string;
        hs_status st;
        int64_t x;
        switch (hs_field(k, keys, NKEYS, &seen, k, e, &st)) {
        case CURRENT:
            HS_TRY(hs_get_whole(f, k, 0, HS_SERVE_MAX_INSTANCES, &rq->current_instances, e));
            break;
        case PERIODS:
            HS_TRY(hs_get_whole(f, k, 1, HS_SERVE_MAX_PERIODS, &x, e));
            rq->periods = (int)x;
            break;
        case FUNCTION:
            HS_TRY(hs_get_function(f, k, rq->function, e));
            break;
        case FORECASTER:
            HS_TRY(hs_get_forecaster(f, &rq->forecaster, e));
            break;
        case RECENT:
            HS_TRY(hs_get_recent(f, rq, e));
            break;
        case NOW:
            HS_TRY(hs_get_minute(f, k, &rq->now, e));
            rq->has_now = 1;
            break;
        default:
            HS_TRY(st);
            return hs_serve_fail(e, 400, k, "unknown field '%.64s' (known: current_instances, forecast_periods, "
                                            "function, forecaster, recent, now)",
                                 k);
        }
    }
    if (!(seen & (1u << CURRENT)))
        return hs_serve_fail(e, 400, "current_instances", "'current_instances' is required");
    return HS_OK;
}

hs_status hs_serve_request_parse(const char *body, size_t len, hs_serve_request *rq, hs_serve_error *e)
{
    memset(rq, 0, sizeof *rq);
    memset(e, 0, sizeof *e);
    rq->periods = HS_SERVE_DEFAULT_PERIODS;
    rq->forecaster = HS_SERVE_HYBRID;
    snprintf(rq->function, sizeof rq->function, "%s", HS_SERVE_SERIES);
    cJSON *o;
    HS_TRY(hs_body_object(body, len, &o, e));
    hs_status st = hs_request_fields(o, rq, e);
    cJSON_Delete(o);
    if (st != HS_OK)
        hs_serve_request_free(rq);
    return st;
}

void hs_serve_request_free(hs_serve_request *rq)
{
    free(rq->recent);
    rq->recent = NULL;
    rq->n_recent = 0;
}

/* One observation object; where names the field prefix ("" or "observations[3]."). */
static hs_status hs_observation_parse(const cJSON *o, const char *where, hs_observation *ob, hs_serve_error *e)
{
    char name[96];
    if (!cJSON_IsObject(o)) {
        snprintf(name, sizeof name, "%.*s", (int)(strlen(where) ? strlen(where) - 1 : 0), where);
        return hs_serve_fail(e, 400, name, "'%s' must be an object", name);
    }
    snprintf(ob->function, sizeof ob->function, "%s", HS_SERVE_SERIES);
    enum { FUNCTION, DS, INVOCATIONS, NKEYS };
    static const char *const keys[NKEYS] = {"function", "ds", "invocations"};
    unsigned seen = 0;
    for (const cJSON *f = o->child; f; f = f->next) {
        snprintf(name, sizeof name, "%s%.64s", where, f->string);
        hs_status st;
        switch (hs_field(f->string, keys, NKEYS, &seen, name, e, &st)) {
        case FUNCTION:
            HS_TRY(hs_get_function(f, name, ob->function, e));
            break;
        case DS:
            HS_TRY(hs_get_minute(f, name, &ob->minute, e));
            break;
        case INVOCATIONS:
            if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble) || f->valuedouble < 0 ||
                f->valuedouble > HS_PARSE_Y_MAX)
                return hs_serve_fail(e, 400, name, "'%s' must be a number from 0 to 1e15", name);
            ob->invocations = f->valuedouble;
            break;
        default:
            HS_TRY(st);
            return hs_serve_fail(e, 400, name, "unknown field '%s' (known: function, ds, invocations)", name);
        }
    }
    if (!(seen & (1u << DS)) || !(seen & (1u << INVOCATIONS))) {
        snprintf(name, sizeof name, "%s%s", where, seen & (1u << DS) ? "invocations" : "ds");
        return hs_serve_fail(e, 400, name, "'%s' is required", name);
    }
    return HS_OK;
}

static hs_status hs_observe_list(const cJSON *root, hs_observation **obs, int64_t *n, hs_serve_error *e)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "observations");
    if (list) {
        if (cJSON_GetArraySize(root) != 1)
            return hs_serve_fail(e, 400, "observations", "'observations' must be the only field");
        if (!cJSON_IsArray(list))
            return hs_serve_fail(e, 400, "observations", "'observations' must be an array");
    }
    int count = list ? cJSON_GetArraySize(list) : 1;
    if (count < 1 || count > HS_SERVE_MAX_OBSERVATIONS)
        return hs_serve_fail(e, 400, "observations", "'observations' must hold 1 to %d entries, not %d",
                             HS_SERVE_MAX_OBSERVATIONS, count);
    *obs = calloc((size_t)count, sizeof **obs);
    if (!*obs)
        return hs_serve_fail(e, 500, "", "out of memory");
    if (!list)
        HS_TRY(hs_observation_parse(root, "", *obs, e));
    int i = 0;
    for (const cJSON *x = list ? list->child : NULL; x; x = x->next, i++) {
        char where[48];
        snprintf(where, sizeof where, "observations[%d].", i);
        HS_TRY(hs_observation_parse(x, where, *obs + i, e));
    }
    *n = count;
    return HS_OK;
}

hs_status hs_serve_observe_parse(const char *body, size_t len, hs_observation **obs, int64_t *n, hs_serve_error *e)
{
    *obs = NULL;
    *n = 0;
    memset(e, 0, sizeof *e);
    cJSON *o;
    HS_TRY(hs_body_object(body, len, &o, e));
    hs_status st = hs_observe_list(o, obs, n, e);
    cJSON_Delete(o);
    if (st != HS_OK) {
        free(*obs);
        *obs = NULL;
        *n = 0;
    }
    return st;
}
