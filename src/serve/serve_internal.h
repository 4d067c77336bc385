/* serve_internal.h: the loaded model as model.c builds it and answer.c reads it, and the pieces
 * the tests reach below hs_serve_answer. Not part of the public API. */
#ifndef HYSCALE_SERVE_INTERNAL_H
#define HYSCALE_SERVE_INTERNAL_H

#include <pthread.h>

#include "hyscale/env.h"
#include "hyscale/lstm.h"
#include "hyscale/lstm_stage.h"
#include "hyscale/ppo.h"
#include "hyscale/prophet.h"
#include "hyscale/serve.h"

#define HS_SERVE_MAX_AGENTS 4  /* ppo_hybrid, ppo_lstm, ppo_prophet, ppo_none */
#define HS_SERVE_POOL 16       /* LSTM copies kept for concurrent forecasts */
#define HS_SERVE_CACHE 64      /* forecasts of unchanged histories kept */
#define HS_SERVE_MIN_STEPS 60  /* a cached forecast holds at least this many minutes */

typedef struct hs_serve_agent {
    char name[32];        /* "ppo_hybrid" */
    char forecaster[16];  /* what it was trained with: hybrid, lstm, prophet or none */
    hs_env_action_mode mode;
    hs_ppo *agent;
    pthread_mutex_t mu;   /* hs_ppo_act uses the agent's buffers */
} hs_serve_agent;

/* One forecast of an unchanged history: both forecasters' minutes after `last`. */
typedef struct hs_serve_cached {
    uint64_t key;     /* hash of function, source, version, last, n; 0: empty */
    int steps;
    double *lstm;     /* (steps) invocations */
    double *prophet;  /* (steps) invocations */
    double prophet_now; /* Prophet's yhat at `last` itself (the per-lead Hybrid's correction) */
    uint64_t used;    /* for replacement */
} hs_serve_cached;

struct hs_serve_model {
    int refs; /* atomic */
    char dir[4096];
    char revision[17];
    char describe[4800];
    /* the series: its first minute and its tail (clipped invocations) */
    int64_t start, last, n;
    double *tail;
    /* the agents' scale (ENV.md c and S, P_max, the delta step) */
    double c;
    float S;
    int32_t pmax, step;
    /* LSTM */
    hs_lstm_config lcfg;
    hs_lstm_norm norm;
    hs_lstm_scale sc;
    float pad;
    float *lparams;
    pthread_mutex_t pool_mu;
    hs_lstm *pool[HS_SERVE_POOL];
    int npool;
    /* Prophet */
    hs_prophet_model pm;
    hs_prophet_config pcfg;
    int p_log;
    /* the Hybrid: Prophet's weight in the forecast of the minute i + 1 after the last known one,
     * w(i + 1) of hybrid.h's per-lead Hybrid, or 0.5 everywhere (the plain average) */
    int hybrid_per_lead;
    double hybrid_w[HS_SERVE_MAX_PERIODS]; /* (HS_SERVE_MAX_PERIODS) */
    double hybrid_a[HS_SERVE_MAX_PERIODS]; /* the correction's share of Prophet's error; 0: none */
    /* agents */
    hs_serve_agent agents[HS_SERVE_MAX_AGENTS];
    int nagents;
    /* forecasts of unchanged histories */
    pthread_mutex_t cache_mu;
    hs_serve_cached cache[HS_SERVE_CACHE];
    uint64_t clock;
};

/* An LSTM copy for one forecast (made when none is free), and back. */
hs_status hs_serve_lstm_take(hs_serve_model *m, hs_lstm **out);
void hs_serve_lstm_give(hs_serve_model *m, hs_lstm *l);

/* The forecasts of the minutes after a history (values v (n), the last one minute `last`):
 * the LSTM's recursive forecast (lstm, steps) and Prophet's yhat (prophet, steps), invocations;
 * Prophet's yhat at `last` itself into *prophet_now when not NULL (the per-lead Hybrid's
 * correction reads Prophet's error there). */
hs_status hs_serve_forecast(hs_serve_model *m, const double *v, int64_t n, int64_t last, int steps, double *lstm,
                            double *prophet, double *prophet_now);

/* ENV.md's observation (23 floats) for p instances at the end of the history's last minute,
 * with fneed the forecaster's first 8 minutes (NULL for none). */
void hs_serve_observation(const hs_serve_model *m, const double *v, int64_t n, int64_t last, int32_t p,
                          const int32_t *fneed, float *obs);

/* v with 9 significant digits into p (at least 32 bytes), the answer's number format; returns the
 * end (no NUL). */
char *hs_serve_put_g9(char *p, double v);

/* The Hybrid the model forecasts with: "per_lead" or "average". */
const char *hs_serve_hybrid_name(const hs_serve_model *m);

/* The agent used for a forecaster (its own, else ppo_none), NULL for the classic fallback. */
hs_serve_agent *hs_serve_agent_for(hs_serve_model *m, hs_serve_forecaster f);

#endif
