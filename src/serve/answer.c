/* answer.c: the service's answer: the forecast by the forecasters' own prediction code
 * (hs_lstm_predict, hs_prophet_predict; the Hybrid their per-lead blend as hybrid_lead_next.csv,
 * or their plain average as hybrid_next.csv for a folder made before it), the
 * observation by the environment's (hs_env_observe), the action by the agent's forward
 * (hs_ppo_act, greedy as evaluate takes it), the target by the action's own map. Forecasts of an
 * unchanged history are kept (a small cache keyed by the history's identity). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hyscale/math/env_step.h"
#include "serve/serve_internal.h"

#define HS_SERVE_FALLBACK_ACTION 4 /* forecast+margin at 10% headroom */

static double hs_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

hs_status hs_serve_forecast(hs_serve_model *m, const double *v, int64_t n, int64_t last, int steps, double *lstm,
                            double *prophet, double *prophet_now)
{
    int W = m->lcfg.window;
    int64_t k = n < W ? n : W; /* the window is all the LSTM reads; before it, the pad (zero invocations) */
    double *y = malloc((size_t)(k > 0 ? k : 1) * sizeof *y + (size_t)(steps + 1) * sizeof(int64_t));
    float *x = malloc(((size_t)(k > 0 ? k : 1) + (size_t)steps) * sizeof *x);
    if (!y || !x) {
        free(y);
        free(x);
        return hs_error_set(HS_ERR_NOMEM, "serve: out of memory for a forecast");
    }
    for (int64_t i = 0; i < k; i++)
        y[i] = log1p(v[n - k + i]);
    hs_lstm_scale_apply(&m->sc, y, k, x);
    hs_lstm_data d = {1, k, last - (k - 1) * 60, 60, x, m->norm.calendar};
    float *out = x + k;
    hs_lstm *l = NULL;
    hs_status st = hs_serve_lstm_take(m, &l);
    int64_t end = k;
    if (st == HS_OK) {
        st = hs_lstm_predict(l, &d, &end, 1, steps, m->pad, out);
        hs_serve_lstm_give(m, l);
    }
    for (int i = 0; st == HS_OK && i < steps; i++)
        lstm[i] = hs_lstm_scale_back(&m->sc, out[i]);
    int64_t *ds = (int64_t *)(y + (k > 0 ? k : 1));
    for (int i = 0; i < steps; i++)
        ds[i] = last + 60 * (int64_t)(i + 1);
    ds[steps] = last; /* and the last minute itself, after the forecast ones */
    hs_prophet_forecast fc;
    memset(&fc, 0, sizeof fc);
    if (st == HS_OK)
        st = hs_prophet_predict(&m->pm, &m->pcfg, ds, steps + 1, &fc);
    for (int i = 0; st == HS_OK && i < steps; i++)
        prophet[i] = m->p_log ? expm1(fc.yhat[i]) : fc.yhat[i];
    if (st == HS_OK && prophet_now)
        *prophet_now = m->p_log ? expm1(fc.yhat[steps]) : fc.yhat[steps];
    hs_prophet_forecast_free(&fc);
    free(y);
    free(x);
    return st;
}

void hs_serve_observation(const hs_serve_model *m, const double *v, int64_t n, int64_t last, int32_t p,
                          const int32_t *fneed, float *obs)
{
    int32_t need[HS_ENV_HIST];
    int32_t fn[HS_ENV_HIST * HS_ENV_FC];
    memset(fn, 0, sizeof fn);
    for (int i = 0; i < HS_ENV_HIST; i++) {
        int64_t j = n - HS_ENV_HIST + i;
        need[i] = j >= 0 ? hs_env_need((float)v[j], m->c) : 0;
    }
    if (fneed)
        memcpy(fn + (HS_ENV_HIST - 1) * HS_ENV_FC, fneed, HS_ENV_FC * sizeof *fn);
    /* the features depend on t mod 1440 and (t div 1440) mod 7 only: a week of minutes keeps them */
    const int64_t week = (int64_t)HS_CAL_MINUTES_PER_DAY * HS_CAL_DAYS_PER_WEEK;
    int64_t t = ((last - m->start) / 60 % week + week) % week;
    float tf[4];
    hs_env_time_features(t, tf);
    hs_env_observe(obs, need, fneed ? fn : NULL, HS_ENV_HIST - 1, p, m->S, 0, 0, tf);
}

/* ---- the history and its forecast ---------------------------------------------------------- */

/* The history an answer uses, as the last K minutes ending at `last` (values known before the
 * window do not change the answer: the LSTM reads W values, the observation 8). */
typedef struct hs_hist {
    double *v;
    int64_t n, last;
    const char *source;
    int64_t points;  /* what the source held */
    int64_t tail_points; /* minutes before the observed ones taken from the training tail */
    uint64_t key;    /* cache key; 0: not cached */
} hs_hist;

static uint64_t hs_mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static uint64_t hs_key(const char *function, const char *source, uint64_t version, int64_t last, int64_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = function; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = hs_mix(h, (uint64_t)source[0]);
    h = hs_mix(h, version);
    h = hs_mix(h, (uint64_t)last);
    h = hs_mix(h, (uint64_t)n);
    return h ? h : 1;
}

static hs_status hs_history(hs_serve_model *m, const hs_serve_request *rq, const hs_serve_history *hist, hs_hist *h,
                            hs_serve_error *e)
{
    const double *src;
    int64_t n, last;
    uint64_t version;
    if (rq->recent) {
        src = rq->recent;
        n = rq->n_recent;
        last = rq->has_now ? rq->now : (int64_t)time(NULL) / 60 * 60 - 60;
        version = 0;
        h->source = "recent";
    } else if (hist && hist->n > 0) {
        src = hist->v;
        n = hist->n;
        last = hist->last;
        version = hist->version;
        h->source = hist->source ? hist->source : "observed";
    } else {
        src = m->tail;
        n = m->n;
        last = m->last;
        version = 1;
        h->source = "training_tail";
    }
    h->points = n;
    int64_t at = rq->has_now ? rq->now : last;
    if (at < last)
        return hs_serve_fail(e, 400, "now", "'now' is before the history's last minute");
    int64_t K = m->lcfg.window > HS_ENV_HIST ? m->lcfg.window : HS_ENV_HIST;
    h->v = calloc((size_t)K, sizeof *h->v);
    if (!h->v)
        return hs_serve_fail(e, 500, "", "out of memory");
    int64_t gap = (at - last) / 60; /* minutes after the history, counted 0 */
    /* observations that start after the training tail's first minute continue it: the minutes
     * before the first observed one come from the tail where it has them (the LSTM's window and
     * the observation's 8 minutes are then the series' own, not zeros) */
    int from_tail = src != m->tail && !rq->recent;
    for (int64_t i = 0; i < K; i++) {
        int64_t back = K - 1 - i - gap; /* minutes before the history's last */
        int64_t minute = at - (K - 1 - i) * 60, j = (minute - m->start) / 60;
        if (back >= 0 && back < n) {
            h->v[i] = src[n - 1 - back];
        } else if (from_tail && back >= n && minute >= m->start && j < m->n) {
            h->v[i] = m->tail[j];
            h->tail_points++;
        }
    }
    h->n = K;
    h->last = at;
    h->key = version ? hs_key(rq->function, h->source, version, at, n) : 0;
    return HS_OK;
}

/* The forecasts of steps minutes after the history: from the cache when it holds them. */
static hs_status hs_forecasts(hs_serve_model *m, const hs_hist *h, int steps, double *lstm, double *prophet,
                              double *prophet_now, hs_serve_error *e)
{
    if (h->key) {
        pthread_mutex_lock(&m->cache_mu);
        for (int i = 0; i < HS_SERVE_CACHE; i++) {
            hs_serve_cached *c = &m->cache[i];
            if (c->key == h->key && c->steps >= steps) {
                memcpy(lstm, c->lstm, (size_t)steps * sizeof *lstm);
                memcpy(prophet, c->prophet, (size_t)steps * sizeof *prophet);
                *prophet_now = c->prophet_now;
                c->used = ++m->clock;
                pthread_mutex_unlock(&m->cache_mu);
                return HS_OK;
            }
        }
        pthread_mutex_unlock(&m->cache_mu);
    }
    int want = h->key && steps < HS_SERVE_MIN_STEPS ? HS_SERVE_MIN_STEPS : steps;
    double *l = malloc((size_t)want * 2 * sizeof *l);
    if (!l)
        return hs_serve_fail(e, 500, "", "out of memory");
    double *p = l + want;
    if (hs_serve_forecast(m, h->v, h->n, h->last, want, l, p, prophet_now) != HS_OK) {
        free(l);
        return hs_serve_fail(e, 500, "", "forecast failed: %s", hs_error_message());
    }
    memcpy(lstm, l, (size_t)steps * sizeof *lstm);
    memcpy(prophet, p, (size_t)steps * sizeof *prophet);
    if (!h->key) {
        free(l);
        return HS_OK;
    }
    pthread_mutex_lock(&m->cache_mu);
    hs_serve_cached *slot = &m->cache[0];
    for (int i = 0; i < HS_SERVE_CACHE; i++) {
        hs_serve_cached *c = &m->cache[i];
        if (c->key == h->key) {
            slot = c;
            break;
        }
        if (c->used < slot->used)
            slot = c;
    }
    if (slot->key != h->key || slot->steps < want) {
        free(slot->lstm); /* one buffer holds both */
        slot->lstm = l;
        slot->prophet = p;
        slot->prophet_now = *prophet_now;
        slot->steps = want;
        slot->key = h->key;
        l = NULL;
    }
    slot->used = ++m->clock;
    pthread_mutex_unlock(&m->cache_mu);
    free(l);
    return HS_OK;
}

/* ---- the decision -------------------------------------------------------------------------- */

typedef struct hs_decision {
    int32_t target;
    int action;
    const hs_serve_agent *agent; /* NULL: the classic fallback */
} hs_decision;

static hs_status hs_decide(hs_serve_model *m, hs_serve_forecaster f, const hs_hist *h, const double *F, int64_t p,
                           hs_decision *out, hs_serve_error *e)
{
    int32_t fneed[HS_ENV_FC];
    for (int k = 0; k < HS_ENV_FC; k++)
        fneed[k] = hs_env_fneed((float)F[k], m->c);
    int32_t need_t = hs_env_need((float)h->v[h->n - 1], m->c);
    hs_serve_agent *a = hs_serve_agent_for(m, f);
    out->agent = a;
    if (!a) {
        out->action = HS_SERVE_FALLBACK_ACTION;
        out->target = hs_env_margin_target(fneed[0], out->action, m->pmax);
        return HS_OK;
    }
    int none = strcmp(a->forecaster, "none") == 0;
    float obs[HS_ENV_OBS];
    hs_serve_observation(m, h->v, h->n, h->last, (int32_t)p, none ? NULL : fneed, obs);
    int32_t act = 0;
    pthread_mutex_lock(&a->mu);
    hs_status st = hs_ppo_act(a->agent, obs, 1, 1, 0, &act, NULL, NULL);
    pthread_mutex_unlock(&a->mu);
    if (st != HS_OK)
        return hs_serve_fail(e, 500, "", "agent failed: %s", hs_error_message());
    out->action = act;
    int32_t f1 = none ? need_t : fneed[0];
    out->target = a->mode == HS_ENV_DELTA ? hs_env_delta_target((int32_t)p, act, m->step, m->pmax)
                                          : hs_env_margin_target(f1, act, m->pmax);
    return HS_OK;
}

/* The forecaster's minutes: the LSTM's, Prophet's, or the Hybrid's w(L) * Prophet +
 * (1 - w(L)) * LSTM + a(L) * e at lead L = i + 1 minutes (w and a precomputed at load; 0.5 and 0:
 * the plain average), e Prophet's error at the history's last minute. */
static void hs_combine(const hs_serve_model *m, hs_serve_forecaster f, const double *l, const double *p, int n,
                       double e, double *F)
{
    HS_ASSERT(n <= HS_SERVE_MAX_PERIODS);
    for (int i = 0; i < n; i++) {
        double w = m->hybrid_w[i];
        F[i] = f == HS_SERVE_LSTM      ? l[i]
               : f == HS_SERVE_PROPHET ? p[i]
                                       : w * p[i] + (1 - w) * l[i] + m->hybrid_a[i] * e;
    }
}

/* ---- the answer ---------------------------------------------------------------------------- */

static cJSON *hs_decision_json(const hs_serve_model *m, const hs_decision *d, int64_t p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "target_instances", d->target);
    cJSON_AddNumberToObject(o, "scale_by", (double)(d->target - p));
    cJSON_AddStringToObject(o, "policy", d->agent ? "ppo" : "forecast+margin");
    if (d->agent)
        cJSON_AddStringToObject(o, "agent", d->agent->name);
    cJSON *a = cJSON_AddObjectToObject(o, "action");
    cJSON_AddNumberToObject(a, "index", d->action);
    if (d->agent && d->agent->mode == HS_ENV_DELTA)
        cJSON_AddNumberToObject(a, "step", (double)(d->action - 2) * m->step);
    else
        cJSON_AddNumberToObject(a, "headroom", hs_env_margin_tenths(d->action) / 10.0);
    cJSON_AddNumberToObject(o, "current_instances", (double)p);
    return o;
}

/* v with 9 significant digits, the shortest way (as %.9g without its exponent for |v| in
 * [1e-5, 1e9)), into p; returns the end. The answer's hot loop: snprintf and cJSON's
 * print-parse-print of each double cost more than the rest of a cached answer. */
char *hs_serve_put_g9(char *p, double v)
{
    if (!isfinite(v) || v == 0 || fabs(v) < 1e-5 || fabs(v) >= 1e9)
        return p + snprintf(p, 32, "%.9g", v == 0 ? 0.0 : v);
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    int e = (int)floor(log10(v));
    long long m = llround(v * pow(10.0, 8 - e));
    if (m >= 1000000000LL) { /* rounding carried into a tenth digit */
        e++;
        m = llround(v * pow(10.0, 8 - e));
    }
    char d[9];
    for (int i = 8; i >= 0; i--, m /= 10)
        d[i] = (char)('0' + m % 10);
    int last = 8; /* the last digit worth writing */
    while (last > 0 && d[last] == '0' && last > e)
        last--;
    if (e < 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = -1; i > e; i--)
            *p++ = '0';
        for (int i = 0; i <= last; i++)
            *p++ = d[i];
        return p;
    }
    for (int i = 0; i <= last; i++) {
        *p++ = d[i];
        if (i == e && i < last)
            *p++ = '.';
    }
    return p;
}

static char *hs_put_int(char *p, int64_t v)
{
    char t[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    do
        t[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *p++ = '-';
    while (n)
        *p++ = t[--n];
    return p;
}

static char *hs_put_text(char *p, const char *t)
{
    size_t n = strlen(t);
    memcpy(p, t, n);
    return p + n;
}

/* v (0 <= v < 10^width) in exactly width digits; a year past 9999 in all of its digits. */
static char *hs_put_digits(char *p, int v, int width)
{
    if (v < 0 || (width == 4 && v > 9999))
        return hs_put_int(p, v);
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

/* The forecast array as JSON text (one entry a minute: ds, invocations, instances_needed), held
 * in the answer as a raw item: built in one buffer, the minutes counted on from one gmtime. */
static cJSON *hs_forecast_json(const hs_serve_model *m, const hs_hist *h, const double *F, int periods)
{
    enum { ENTRY = 128 }; /* {"ds":"YYYY-MM-DDTHH:MM:SSZ","invocations":-1.23456789e+100,"instances_needed":N} */
    char *buf = malloc((size_t)periods * ENTRY + 3), *p = buf;
    if (!buf)
        return NULL;
    time_t t0 = (time_t)(h->last + 60);
    struct tm tm;
    gmtime_r(&t0, &tm);
    *p++ = '[';
    for (int i = 0; i < periods; i++) {
        if (i) {
            if (++tm.tm_min == 60) { /* a new hour: the calendar's own rules from here */
                time_t ti = (time_t)(h->last + 60 * (int64_t)(i + 1));
                gmtime_r(&ti, &tm);
            }
            *p++ = ',';
        }
        p = hs_put_text(p, "{\"ds\":\"");
        p = hs_put_digits(p, tm.tm_year + 1900, 4);
        *p++ = '-';
        p = hs_put_digits(p, tm.tm_mon + 1, 2);
        *p++ = '-';
        p = hs_put_digits(p, tm.tm_mday, 2);
        *p++ = 'T';
        p = hs_put_digits(p, tm.tm_hour, 2);
        *p++ = ':';
        p = hs_put_digits(p, tm.tm_min, 2);
        p = hs_put_text(p, ":00Z\",\"invocations\":");
        p = hs_serve_put_g9(p, F[i]);
        p = hs_put_text(p, ",\"instances_needed\":");
        p = hs_put_int(p, hs_env_fneed((float)F[i], m->c));
        *p++ = '}';
    }
    *p++ = ']';
    *p = '\0';
    cJSON *raw = cJSON_CreateRaw(buf);
    free(buf);
    return raw;
}

static cJSON *hs_answer_json(const hs_serve_model *m, const hs_serve_request *rq, const hs_hist *h, const double *F,
                             const hs_decision *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "function", rq->function);
    cJSON_AddItemToObject(o, "forecast", hs_forecast_json(m, h, F, rq->periods));
    cJSON_AddItemToObject(o, "decision", hs_decision_json(m, d, rq->current_instances));
    cJSON *hj = cJSON_AddObjectToObject(o, "history");
    char last[32];
    hs_serve_format_minute(h->last, last, sizeof last);
    cJSON_AddStringToObject(hj, "source", h->source);
    cJSON_AddNumberToObject(hj, "points", (double)h->points);
    if (h->tail_points)
        cJSON_AddNumberToObject(hj, "training_tail_points", (double)h->tail_points);
    cJSON_AddStringToObject(hj, "last", last);
    cJSON *mj = cJSON_AddObjectToObject(o, "model");
    cJSON_AddStringToObject(mj, "revision", m->revision);
    cJSON_AddStringToObject(mj, "forecaster", hs_serve_forecaster_name(rq->forecaster));
    cJSON_AddStringToObject(mj, "hybrid", hs_serve_hybrid_name(m));
    cJSON_AddNumberToObject(mj, "env_version", HS_ENV_VERSION);
    cJSON_AddStringToObject(mj, "run", m->dir);
    cJSON_AddNumberToObject(mj, "c", m->c);
    cJSON_AddNumberToObject(mj, "S", m->S);
    return o;
}

/* The forecast of rq's forecaster (F, steps >= 8) and the decision for a history. */
static hs_status hs_compute(hs_serve_model *m, const hs_serve_request *rq, const hs_hist *h, double *F, int steps,
                            hs_decision *d, hs_serve_error *e)
{
    double *buf = malloc((size_t)steps * 2 * sizeof *buf);
    if (!buf)
        return hs_serve_fail(e, 500, "", "out of memory");
    double now = NAN; /* Prophet at the history's last minute: its error there is the correction's input */
    hs_status st = hs_forecasts(m, h, steps, buf, buf + steps, &now, e);
    double pe = h->n > 0 && isfinite(now) ? h->v[h->n - 1] - now : 0.0;
    if (st == HS_OK) {
        hs_combine(m, rq->forecaster, buf, buf + steps, steps, pe, F);
        /* an agent sees its own forecaster's minutes: the request's, or none (ppo_none) */
        st = hs_decide(m, rq->forecaster, h, F, rq->current_instances, d, e);
    }
    free(buf);
    return st;
}

hs_status hs_serve_answer(hs_serve_model *m, const hs_serve_request *rq, const hs_serve_history *hist, cJSON **out,
                          hs_serve_error *e)
{
    double t0 = hs_now_seconds();
    *out = NULL;
    memset(e, 0, sizeof *e);
    if (!hs_serve_model_knows(m, rq->function))
        return hs_serve_fail(e, 404, "function", "unknown function '%.64s': this model forecasts '%s'", rq->function,
                             HS_SERVE_SERIES);
    hs_hist h;
    memset(&h, 0, sizeof h);
    hs_status st = hs_history(m, rq, hist, &h, e);
    int steps = rq->periods > HS_ENV_FC ? rq->periods : HS_ENV_FC;
    double *F = st == HS_OK ? malloc((size_t)steps * sizeof *F) : NULL;
    if (st == HS_OK && !F)
        st = hs_serve_fail(e, 500, "", "out of memory");
    hs_decision d;
    if (st == HS_OK)
        st = hs_compute(m, rq, &h, F, steps, &d, e);
    if (st == HS_OK) {
        *out = hs_answer_json(m, rq, &h, F, &d);
        cJSON_AddNumberToObject(*out, "elapsed_ms", 1e3 * (hs_now_seconds() - t0));
    }
    free(F);
    free(h.v);
    return st;
}

hs_status hs_serve_desired(hs_serve_model *m, const char *function, const hs_serve_history *hist, int64_t *desired,
                           hs_serve_error *e)
{
    memset(e, 0, sizeof *e);
    hs_serve_request rq;
    memset(&rq, 0, sizeof rq);
    rq.periods = HS_ENV_FC;
    rq.forecaster = HS_SERVE_HYBRID;
    snprintf(rq.function, sizeof rq.function, "%s", function);
    if (!hs_serve_model_knows(m, function))
        return hs_serve_fail(e, 404, "function", "unknown function '%.64s': this model forecasts '%s'", function,
                             HS_SERVE_SERIES);
    hs_hist h;
    memset(&h, 0, sizeof h);
    HS_TRY(hs_history(m, &rq, hist, &h, e));
    rq.current_instances = hs_env_need((float)h.v[h.n - 1], m->c);
    double F[HS_ENV_FC];
    hs_decision d;
    hs_status st = hs_compute(m, &rq, &h, F, HS_ENV_FC, &d, e);
    free(h.v);
    if (st == HS_OK)
        *desired = d.target;
    return st;
}
