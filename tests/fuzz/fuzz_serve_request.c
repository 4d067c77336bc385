/* fuzz_serve_request.c: the service's request bodies (docs/SERVE.md) through both strict parsers
 * on the same bytes, as the HTTP layer hands them over (not NUL-terminated, length given):
 * hs_serve_request_parse (POST /api/autoscale) and hs_serve_observe_parse (POST /api/observe).
 * What a parser accepts must keep the ranges the answer and the store rely on (abort otherwise);
 * what it refuses must carry a status and an error answer that builds. Short inputs also go
 * through hs_serve_parse_minute, whose accepted minutes must format and read back the same.
 * No file is written (fuzz_common.h's helpers are for the file readers): the bytes are the body. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/parse.h"
#include "hyscale/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void hs_fuzz_refused(const hs_serve_error *e)
{
    if (e->status != 400 && e->status != 413 && e->status != 500)
        abort();
    if (!memchr(e->field, '\0', sizeof e->field) || !memchr(e->message, '\0', sizeof e->message) || !e->message[0])
        abort();
    cJSON *j = hs_serve_error_json(e);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    free(text);
    cJSON_Delete(j);
}

static void hs_fuzz_function_ok(const char *f)
{
    size_t n = strnlen(f, HS_SERVE_MAX_FUNCTION + 1);
    if (n == 0 || n > HS_SERVE_MAX_FUNCTION)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    hs_serve_request rq;
    hs_serve_error e;
    if (hs_serve_request_parse(body, size, &rq, &e) == HS_OK) {
        if (rq.current_instances < 0 || rq.current_instances > HS_SERVE_MAX_INSTANCES || rq.periods < 1 ||
            rq.periods > HS_SERVE_MAX_PERIODS || (unsigned)rq.forecaster > (unsigned)HS_SERVE_PROPHET)
            abort();
        hs_fuzz_function_ok(rq.function);
        if ((rq.recent == NULL) != (rq.n_recent == 0) || rq.n_recent < 0 || rq.n_recent > HS_SERVE_MAX_RECENT)
            abort();
        for (int64_t i = 0; i < rq.n_recent; i++)
            if (!isfinite(rq.recent[i]) || rq.recent[i] < 0 || rq.recent[i] > HS_PARSE_Y_MAX)
                abort();
        if (rq.has_now && rq.now % 60 != 0)
            abort();
        hs_serve_request_free(&rq);
    } else {
        hs_fuzz_refused(&e);
    }

    hs_observation *obs = NULL;
    int64_t n = -1;
    if (hs_serve_observe_parse(body, size, &obs, &n, &e) == HS_OK) {
        if (!obs || n < 1 || n > HS_SERVE_MAX_OBSERVATIONS)
            abort();
        for (int64_t i = 0; i < n; i++) {
            hs_fuzz_function_ok(obs[i].function);
            if (obs[i].minute % 60 != 0 || !isfinite(obs[i].invocations) || obs[i].invocations < 0 ||
                obs[i].invocations > HS_PARSE_Y_MAX)
                abort();
        }
        free(obs);
    } else {
        if (obs || n != 0)
            abort();
        hs_fuzz_refused(&e);
    }

    if (size < 64) {
        char s[64], back[64];
        memcpy(s, data, size);
        s[size] = '\0';
        int64_t t, t2;
        /* every minute the parser accepts formats back to text it reads as the same minute */
        if (hs_serve_parse_minute(s, &t) == 0) {
            hs_serve_format_minute(t, back, sizeof back);
            if (t % 60 != 0 || hs_serve_parse_minute(back, &t2) != 0 || t2 != t)
                abort();
        }
    }
    return 0;
}
