/* model.c: a run folder loaded once for the service and checked to belong together: the
 * series' tail, the LSTM (its normalisation refitted on the series must match the file's),
 * Prophet, the Hybrid's per-lead weights (hybrid_metrics.json), and every agent (ENV version and
 * observation size by the policy reader; c and S recomputed from the series must match what the
 * agents were trained with). Immutable after load except for the pool of LSTM copies and the
 * forecast cache, each under its mutex. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hyscale/forecast_input.h"
#include "hyscale/hybrid.h"
#include "hyscale/lead.h"
#include "hyscale/manifest.h"
#include "hyscale/parse.h"
#include "hyscale/prophet_stage.h"
#include "serve/serve_internal.h"

/* FNV-1a over a file's bytes into h; HS_ERR_IO naming the file when it cannot be read. */
static hs_status hs_hash_file(const char *path, uint64_t *h)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hs_error_set(HS_ERR_IO, "%s: cannot read", path);
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < got; i++)
            *h = (*h ^ buf[i]) * 1099511628211ull;
    int bad = ferror(f);
    fclose(f);
    return bad ? hs_error_set(HS_ERR_IO, "%s: read error", path) : HS_OK;
}

static void hs_path(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

/* The series: the tail is the clipped invocations of series.csv, every minute. */
static hs_status hs_load_series(hs_serve_model *m, uint64_t *h)
{
    char p[4200];
    hs_path(p, sizeof p, m->dir, "series.csv");
    HS_TRY(hs_hash_file(p, h));
    hs_forecast_input in;
    HS_TRY(hs_forecast_input_read(p, &in));
    hs_status st = HS_OK;
    if (!in.log_scale || !in.clipped)
        st = hs_error_set(HS_ERR_INPUT, "%s: not a preprocessed series (minute,timestamp,invocations,clipped,log1p)",
                          p);
    for (int64_t i = 1; st == HS_OK && i < in.n; i++)
        if (in.ds[i] - in.ds[i - 1] != 60)
            st = hs_error_set(HS_ERR_INPUT, "%s: the service needs one point a minute; row %lld is %lld s after the "
                                            "one before",
                              p, (long long)i + 2, (long long)(in.ds[i] - in.ds[i - 1]));
    if (st == HS_OK && in.n < 16)
        st = hs_error_set(HS_ERR_INPUT, "%s: %lld points; the service needs at least 16", p, (long long)in.n);
    if (st == HS_OK && !(m->tail = malloc((size_t)in.n * sizeof *m->tail)))
        st = hs_error_set(HS_ERR_NOMEM, "serve: out of memory for the series");
    if (st == HS_OK) {
        for (int64_t i = 0; i < in.n; i++)
            m->tail[i] = in.clipped[i];
        m->n = in.n;
        m->start = in.ds[0];
        m->last = in.ds[in.n - 1];
    }
    hs_forecast_input_free(&in);
    return st;
}

/* The LSTM: weights, and its normalisation checked against the series it claims. */
static hs_status hs_load_lstm(hs_serve_model *m, uint64_t *h)
{
    char p[4200], q[4200];
    hs_path(p, sizeof p, m->dir, "lstm.safetensors");
    HS_TRY(hs_hash_file(p, h));
    hs_lstm *l;
    HS_TRY(hs_lstm_load(p, 1, &l, &m->norm));
    m->lcfg = *hs_lstm_get_config(l);
    size_t np = (size_t)hs_lstm_param_count(&m->lcfg);
    m->lparams = malloc(np * sizeof *m->lparams);
    if (!m->lparams) {
        hs_lstm_free(l);
        return hs_error_set(HS_ERR_NOMEM, "serve: out of memory for the LSTM");
    }
    memcpy(m->lparams, hs_lstm_params(l), np * sizeof *m->lparams);
    m->pool[m->npool++] = l;
    if (!m->norm.log_scale || m->norm.step_seconds != 60 || m->lcfg.horizon < 1)
        return hs_error_set(HS_ERR_INPUT, "%s: the service needs an LSTM of log1p invocations a minute (this one: %s, "
                                          "%lld s)",
                            p, m->norm.log_scale ? "log1p" : "identity", (long long)m->norm.step_seconds);
    hs_path(q, sizeof q, m->dir, "lstm_metrics.json");
    int64_t holdout;
    HS_TRY(hs_json_read_count(q, "holdout", &holdout));
    if (holdout >= m->n)
        return hs_error_set(HS_ERR_INPUT, "%s: holdout %lld leaves nothing of the %lld points of series.csv", q,
                            (long long)holdout, (long long)m->n);
    double *y = malloc((size_t)m->n * sizeof *y);
    if (!y)
        return hs_error_set(HS_ERR_NOMEM, "serve: out of memory");
    for (int64_t i = 0; i < m->n; i++)
        y[i] = log1p(m->tail[i]);
    hs_lstm_scale_fit(y, m->n - holdout, 1, &m->sc);
    free(y);
    double dm = fabs(m->sc.mean - m->norm.mean), ds = fabs(m->sc.std - m->norm.std);
    if (dm > 1e-5 * fabs(m->norm.mean) + 1e-6 || ds > 1e-5 * m->norm.std + 1e-9)
        return hs_error_set(HS_ERR_INPUT, "%s: normalised with mean %.9g, std %.9g; series.csv's training span gives "
                                          "%.9g, %.9g: the weights belong to another series",
                            p, m->norm.mean, m->norm.std, m->sc.mean, m->sc.std);
    m->sc.mean = m->norm.mean; /* the file's, exactly, as forecast lstm --weights uses them */
    m->sc.std = m->norm.std;
    m->pad = hs_lstm_scale_pad(&m->sc, HS_LSTM_PAD_ZERO);
    return HS_OK;
}

static hs_status hs_load_prophet(hs_serve_model *m, uint64_t *h)
{
    char p[4200];
    hs_path(p, sizeof p, m->dir, "prophet_model.json");
    HS_TRY(hs_hash_file(p, h));
    int64_t step;
    HS_TRY(hs_prophet_model_load(p, &m->pm, &m->pcfg, &m->p_log, &step));
    if (!m->p_log || step != 60)
        return hs_error_set(HS_ERR_INPUT, "%s: the service needs Prophet on log1p invocations a minute", p);
    m->pcfg.uncertainty_samples = 0; /* the service forecasts yhat */
    return HS_OK;
}

/* The Hybrid the hybrid stage made the default: with "per_lead" in hybrid_metrics.json (read by
 * the stage's own reader, strict), Prophet's weight w(L) (hybrid.h) at each lead the service
 * forecasts, L = 1 .. HS_SERVE_MAX_PERIODS minutes (the series' step, checked above), and the
 * correction's share a(L) of Prophet's error at the last minute (0 in a folder from before it); without it (a
 * folder made before the per-lead Hybrid, or without the hybrid stage's metrics) or with no lead
 * scored, the plain average: w = 0.5 everywhere. */
static hs_status hs_load_hybrid(hs_serve_model *m, uint64_t *h)
{
    char p[4200];
    hs_path(p, sizeof p, m->dir, "hybrid_metrics.json");
    double w[HS_LEADS], a[HS_LEADS];
    int found = 0;
    for (int i = 0; i < HS_LEADS; i++)
        w[i] = a[i] = NAN;
    if (access(p, F_OK) == 0 || errno != ENOENT) {
        HS_TRY(hs_hash_file(p, h));
        HS_TRY(hs_hybrid_lead_read(p, w, a, &found));
    }
    m->hybrid_per_lead = 0;
    for (int i = 0; found && i < HS_LEADS; i++)
        m->hybrid_per_lead |= !isnan(w[i]);
    const double step_minutes = 1.0; /* the series' step, 60 s (hs_load_series) */
    for (int i = 0; i < HS_SERVE_MAX_PERIODS; i++) {
        m->hybrid_w[i] = hs_hybrid_lead_weight(w, (double)(i + 1) * step_minutes);
        m->hybrid_a[i] = found ? hs_hybrid_lead_correction(a, (double)(i + 1) * step_minutes) : 0.0;
    }
    return HS_OK;
}

/* c and S of ENV.md from the series' training span of `holdout` minutes held out. */
static hs_status hs_scale_of(const hs_serve_model *m, int64_t holdout, double *c, float *S)
{
    float *d = malloc((size_t)m->n * sizeof *d);
    if (!d)
        return hs_error_set(HS_ERR_NOMEM, "serve: out of memory");
    for (int64_t i = 0; i < m->n; i++)
        d[i] = (float)m->tail[i];
    hs_env_series s;
    hs_status st = hs_env_series_init(&s, d, NULL, 1, m->n, holdout, "none");
    free(d);
    if (st == HS_OK) {
        *c = s.c[0];
        *S = s.S[0];
    }
    hs_env_series_free(&s);
    return st;
}

/* A metadata number of a policy file (positive, read whole by parse.h), NaN when it is not one. */
static double hs_meta_num(const cJSON *meta, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);
    double x;
    if (!cJSON_IsString(v) || hs_parse_real(v->valuestring, strlen(v->valuestring), 0, HS_PARSE_Y_MAX, &x))
        return NAN;
    return x;
}

/* The holdout an agent was trained with (its metadata config). */
static int64_t hs_meta_holdout(const cJSON *meta)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, "config");
    cJSON *cf = cJSON_IsString(v) ? cJSON_Parse(v->valuestring) : NULL;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(cf, "holdout");
    int64_t r = cJSON_IsNumber(h) && h->valuedouble >= 0 ? (int64_t)h->valuedouble : -1;
    cJSON_Delete(cf);
    return r;
}

/* One agent folder: the policy read and checked, its c and S against the series'. */
static hs_status hs_load_agent(hs_serve_model *m, const char *name, uint64_t *h)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s/ppo_policy.safetensors", m->dir, name);
    if (access(p, F_OK) != 0)
        return HS_OK;
    if (m->nagents == HS_SERVE_MAX_AGENTS)
        return hs_error_set(HS_ERR_INPUT, "%s: more than %d agents", m->dir, HS_SERVE_MAX_AGENTS);
    HS_TRY(hs_hash_file(p, h));
    hs_ppo_policy_file pf;
    HS_TRY(hs_ppo_policy_read(p, &pf));
    hs_status st = HS_OK;
    if (pf.env_version != HS_ENV_VERSION)
        st = hs_error_set(HS_ERR_INPUT, "%s: an agent of ENV version %d; the service answers with version 1 agents "
                                        "(version 2 observes the forecaster's past errors, which the service does not "
                                        "keep yet)",
                          p, pf.env_version);
    else if (strcmp(name + 4, pf.forecaster) != 0)
        st = hs_error_set(HS_ERR_INPUT, "%s: trained with the %s forecast, but it sits in %s/", p, pf.forecaster, name);
    double c = hs_meta_num(pf.metadata, "c"), S = hs_meta_num(pf.metadata, "S");
    int64_t holdout = hs_meta_holdout(pf.metadata);
    if (st == HS_OK && (!isfinite(c) || !isfinite(S) || holdout < 0))
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata: c, S or config.holdout missing", p);
    double mc = 0;
    float mS = 0;
    if (st == HS_OK)
        st = hs_scale_of(m, holdout, &mc, &mS);
    if (st == HS_OK && (fabs(mc - c) > 1e-6 * c || fabs((double)mS - S) > 1e-6 * S))
        st = hs_error_set(HS_ERR_INPUT, "%s: trained with c = %.9g, S = %.9g; series.csv gives c = %.9g, S = %.9g: "
                                        "the agent belongs to another series",
                          p, c, S, mc, (double)mS);
    if (st == HS_OK && m->nagents > 0 && (mc != m->c || mS != m->S))
        st = hs_error_set(HS_ERR_INPUT, "%s: held out %lld minutes, unlike the other agents: their scales differ", p,
                          (long long)holdout);
    hs_serve_agent *a = &m->agents[m->nagents];
    if (st == HS_OK) {
        m->c = mc;
        m->S = mS;
        snprintf(a->name, sizeof a->name, "%s", name);
        snprintf(a->forecaster, sizeof a->forecaster, "%s", pf.forecaster);
        a->mode = pf.mode;
        hs_ppo_config pc = HS_PPO_CONFIG_DEFAULTS;
        pc.hidden = (int)pf.l.hidden;
        pc.actions = (int)pf.l.actions;
        pc.envs = 2;
        pc.steps = 8;
        pc.minibatches = 1;
        pc.quiet = 1;
        st = hs_ppo_create(&a->agent, &pc, HS_DEVICE_CPU);
    }
    if (st == HS_OK)
        st = hs_ppo_set_params(a->agent, pf.params);
    if (st == HS_OK) {
        pthread_mutex_init(&a->mu, NULL);
        m->nagents++;
    } else if (a->agent) {
        hs_ppo_free(a->agent);
        a->agent = NULL;
    }
    hs_ppo_policy_file_free(&pf);
    return st;
}

static hs_status hs_load_all(hs_serve_model *m)
{
    uint64_t h = 14695981039346656037ull;
    HS_TRY(hs_load_series(m, &h));
    HS_TRY(hs_load_lstm(m, &h));
    HS_TRY(hs_load_prophet(m, &h));
    HS_TRY(hs_load_hybrid(m, &h));
    static const char *const agents[4] = {"ppo_hybrid", "ppo_lstm", "ppo_prophet", "ppo_none"};
    for (int i = 0; i < 4; i++)
        HS_TRY(hs_load_agent(m, agents[i], &h));
    if (m->nagents == 0) { /* the classic fallback still needs c and S: the run's holdout */
        int64_t holdout;
        char q[4200];
        hs_path(q, sizeof q, m->dir, "lstm_metrics.json");
        HS_TRY(hs_json_read_count(q, "holdout", &holdout));
        HS_TRY(hs_scale_of(m, holdout, &m->c, &m->S));
    }
    m->pmax = (int32_t)ceil(4.0 * (double)m->S);
    long st = lround((double)m->S / 20.0);
    m->step = st > 1 ? (int32_t)st : 1;
    snprintf(m->revision, sizeof m->revision, "%016llx", (unsigned long long)h);
    char agents_list[160] = "";
    for (int i = 0; i < m->nagents; i++)
        snprintf(agents_list + strlen(agents_list), sizeof agents_list - strlen(agents_list), " %s",
                 m->agents[i].name);
    char last[32];
    hs_serve_format_minute(m->last, last, sizeof last);
    snprintf(m->describe, sizeof m->describe,
             "run %s (revision %s): lstm H=%d L=%d W=%d%s, prophet, hybrid %s, agents%s, c=%.6g S=%.6g, tail of %lld "
             "minutes to %s",
             m->dir, m->revision, m->lcfg.hidden, m->lcfg.layers, m->lcfg.window, m->norm.calendar ? " calendar" : "",
             hs_serve_hybrid_name(m), m->nagents ? agents_list : " none (classic forecast+margin)", m->c,
             (double)m->S, (long long)m->n, last);
    return HS_OK;
}

static void hs_model_free(hs_serve_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->npool; i++)
        hs_lstm_free(m->pool[i]);
    for (int i = 0; i < m->nagents; i++) {
        hs_ppo_free(m->agents[i].agent);
        pthread_mutex_destroy(&m->agents[i].mu);
    }
    for (int i = 0; i < HS_SERVE_CACHE; i++) {
        free(m->cache[i].lstm); /* one buffer holds lstm and prophet */
    }
    hs_prophet_model_free(&m->pm);
    pthread_mutex_destroy(&m->pool_mu);
    pthread_mutex_destroy(&m->cache_mu);
    free(m->lparams);
    free(m->tail);
    free(m);
}

hs_status hs_serve_model_load(const char *run_dir, hs_serve_model **out)
{
    *out = NULL;
    hs_serve_model *m = calloc(1, sizeof *m);
    if (!m)
        return hs_error_set(HS_ERR_NOMEM, "serve: out of memory");
    pthread_mutex_init(&m->pool_mu, NULL);
    pthread_mutex_init(&m->cache_mu, NULL);
    m->refs = 1;
    size_t n = strlen(run_dir);
    while (n > 1 && run_dir[n - 1] == '/')
        n--;
    if (n >= sizeof m->dir) {
        hs_model_free(m);
        return hs_error_set(HS_ERR_USAGE, "--model: the path is too long");
    }
    memcpy(m->dir, run_dir, n);
    DIR *d = opendir(m->dir);
    if (!d) {
        hs_model_free(m);
        return hs_error_set(HS_ERR_INPUT, "%s: not a readable folder (a run folder of hyscale run is expected)",
                            run_dir);
    }
    closedir(d);
    hs_status st = hs_load_all(m);
    if (st != HS_OK) {
        hs_model_free(m);
        return st;
    }
    *out = m;
    return HS_OK;
}

hs_serve_model *hs_serve_model_ref(hs_serve_model *m)
{
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_ACQ_REL);
    return m;
}

void hs_serve_model_unref(hs_serve_model *m)
{
    if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
        hs_model_free(m);
}

const char *hs_serve_model_revision(const hs_serve_model *m)
{
    return m->revision;
}

const char *hs_serve_model_dir(const hs_serve_model *m)
{
    return m->dir;
}

int hs_serve_model_knows(const hs_serve_model *m, const char *function)
{
    (void)m;
    return strcmp(function, HS_SERVE_SERIES) == 0;
}

void hs_serve_model_describe(const hs_serve_model *m, char *buf, size_t size)
{
    snprintf(buf, size, "%s", m->describe);
}

hs_status hs_serve_lstm_take(hs_serve_model *m, hs_lstm **out)
{
    pthread_mutex_lock(&m->pool_mu);
    hs_lstm *l = m->npool ? m->pool[--m->npool] : NULL;
    pthread_mutex_unlock(&m->pool_mu);
    if (!l) { /* a copy of the loaded weights */
        hs_lstm_config c = m->lcfg;
        c.batch = 1;
        HS_TRY(hs_lstm_init(&c, 1, &l));
        memcpy(hs_lstm_params(l), m->lparams, (size_t)hs_lstm_param_count(&c) * sizeof(float));
    }
    *out = l;
    return HS_OK;
}

void hs_serve_lstm_give(hs_serve_model *m, hs_lstm *l)
{
    pthread_mutex_lock(&m->pool_mu);
    if (m->npool < HS_SERVE_POOL) {
        m->pool[m->npool++] = l;
        l = NULL;
    }
    pthread_mutex_unlock(&m->pool_mu);
    hs_lstm_free(l);
}

const char *hs_serve_hybrid_name(const hs_serve_model *m)
{
    return m->hybrid_per_lead ? "per_lead" : "average";
}

hs_serve_agent *hs_serve_agent_for(hs_serve_model *m, hs_serve_forecaster f)
{
    const char *want = hs_serve_forecaster_name(f);
    for (int i = 0; i < m->nagents; i++)
        if (strcmp(m->agents[i].forecaster, want) == 0)
            return &m->agents[i];
    for (int i = 0; i < m->nagents; i++)
        if (strcmp(m->agents[i].forecaster, "none") == 0)
            return &m->agents[i];
    return NULL;
}
