/* prophet_model_json.c: prophet_model.json, written and read back (prophet_stage.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/manifest.h"
#include "hyscale/prophet_stage.h"
#include "hyscale/series.h"

static cJSON *hs_array(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

cJSON *hs_prophet_model_json(const hs_prophet_model *m, const hs_prophet_config *cfg, int log_scale,
                             int64_t step_seconds)
{
    cJSON *j = cJSON_CreateObject();
    char ts[24];
    cJSON_AddStringToObject(j, "format", "hyscale-prophet-v1");
    hs_format_time(m->start, ts);
    cJSON_AddStringToObject(j, "start", ts);
    cJSON_AddNumberToObject(j, "start_unix", (double)m->start);
    hs_format_time(m->last_ds, ts);
    cJSON_AddStringToObject(j, "last", ts);
    cJSON_AddNumberToObject(j, "last_unix", (double)m->last_ds);
    cJSON_AddNumberToObject(j, "t_scale_seconds", m->t_scale);
    cJSON_AddNumberToObject(j, "y_scale", m->y_scale);
    cJSON_AddNumberToObject(j, "n_history", (double)m->n);
    cJSON_AddNumberToObject(j, "step_seconds", (double)step_seconds);
    cJSON_AddBoolToObject(j, "log_scale", log_scale);
    cJSON_AddBoolToObject(j, "constant", m->constant);
    cJSON_AddBoolToObject(j, "placed_changepoints", m->placed_changepoints);
    cJSON_AddItemToObject(j, "changepoints_t", hs_array(m->cp_t, m->S));
    cJSON *ss = cJSON_AddArrayToObject(j, "seasonalities");
    for (int s = 0; s < m->ns; s++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m->seas[s].name);
        cJSON_AddNumberToObject(o, "period", m->seas[s].period);
        cJSON_AddNumberToObject(o, "fourier_order", m->seas[s].order);
        cJSON_AddNumberToObject(o, "prior_scale", m->seas[s].prior_scale);
        cJSON_AddStringToObject(o, "mode", m->seas[s].multiplicative ? "multiplicative" : "additive");
        cJSON_AddItemToArray(ss, o);
    }
    cJSON *p = cJSON_AddObjectToObject(j, "params");
    cJSON_AddNumberToObject(p, "k", m->k);
    cJSON_AddNumberToObject(p, "m", m->m);
    cJSON_AddNumberToObject(p, "sigma_obs", m->sigma);
    cJSON_AddItemToObject(p, "delta", hs_array(m->delta, m->S));
    cJSON_AddItemToObject(p, "beta", hs_array(m->beta, m->K));
    cJSON *u = cJSON_AddObjectToObject(j, "uncertainty");
    cJSON_AddNumberToObject(u, "samples", cfg->uncertainty_samples);
    cJSON_AddNumberToObject(u, "interval_width", cfg->interval_width);
    cJSON_AddNumberToObject(u, "seed", (double)cfg->seed);
    return j;
}

static int hs_get_num(const cJSON *o, const char *k, double *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(x))
        return -1;
    *v = x->valuedouble;
    return 0;
}

static int hs_get_array(const cJSON *o, const char *k, double *v, int n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return -1;
    int i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e))
            return -1;
        v[i] = e->valuedouble;
    }
    return 0;
}

hs_status hs_prophet_model_load(const char *path, hs_prophet_model *m, hs_prophet_config *cfg, int *log_scale,
                                int64_t *step_seconds)
{
    memset(m, 0, sizeof *m);
    cJSON *j;
    HS_TRY(hs_json_read(path, &j));
    hs_status st = HS_OK;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *cp = cJSON_GetObjectItemCaseSensitive(j, "changepoints_t");
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(j, "seasonalities");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "params");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "uncertainty");
    double v[8];
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "hyscale-prophet-v1") != 0 || !cJSON_IsArray(cp) ||
        !cJSON_IsArray(ss) || !cJSON_IsObject(p) || !cJSON_IsObject(u) || hs_get_num(j, "start_unix", &v[0]) ||
        hs_get_num(j, "t_scale_seconds", &v[1]) || hs_get_num(j, "y_scale", &v[2]) ||
        hs_get_num(j, "n_history", &v[3]) || hs_get_num(j, "last_unix", &v[4]) ||
        hs_get_num(j, "step_seconds", &v[5]) || cJSON_GetArraySize(ss) > HS_PROPHET_MAX_SEASONALITIES)
        st = hs_error_set(HS_ERR_INPUT, "%s: not a hyscale-prophet-v1 model (missing or wrong fields)", path);
    if (st == HS_OK) {
        m->start = (int64_t)v[0];
        m->t_scale = v[1];
        m->y_scale = v[2];
        m->n = (int64_t)v[3];
        m->last_ds = (int64_t)v[4];
        *step_seconds = (int64_t)v[5];
        m->hist_dt = m->n > 1 ? 1.0 / (double)(m->n - 1) : 1.0;
        *log_scale = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "log_scale"));
        m->constant = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "constant"));
        m->placed_changepoints = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "placed_changepoints"));
        m->S = cJSON_GetArraySize(cp);
        m->ns = 0;
        for (const cJSON *e = ss->child; e && st == HS_OK; e = e->next) {
            hs_seasonality *s = &m->seas[m->ns++];
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
            const cJSON *mode = cJSON_GetObjectItemCaseSensitive(e, "mode");
            double o;
            if (!cJSON_IsString(name) || !cJSON_IsString(mode) || hs_get_num(e, "period", &s->period) ||
                hs_get_num(e, "fourier_order", &o) || hs_get_num(e, "prior_scale", &s->prior_scale)) {
                st = hs_error_set(HS_ERR_INPUT, "%s: a seasonality lacks name, mode, period or order", path);
                break;
            }
            snprintf(s->name, sizeof s->name, "%s", name->valuestring);
            s->order = (int)o;
            s->multiplicative = strcmp(mode->valuestring, "multiplicative") == 0;
        }
        int K = 0;
        for (int s = 0; s < m->ns; s++)
            K += 2 * m->seas[s].order;
        m->K = K > 0 ? K : 1;
        m->cp_t = calloc((size_t)(m->S > 0 ? m->S : 1), sizeof *m->cp_t);
        m->delta = calloc((size_t)(m->S > 0 ? m->S : 1), sizeof *m->delta);
        m->beta = calloc((size_t)m->K, sizeof *m->beta);
        if (st == HS_OK && (!m->cp_t || !m->delta || !m->beta))
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
        if (st == HS_OK &&
            (hs_get_array(j, "changepoints_t", m->cp_t, m->S) || hs_get_num(p, "k", &m->k) ||
             hs_get_num(p, "m", &m->m) || hs_get_num(p, "sigma_obs", &m->sigma) ||
             hs_get_array(p, "delta", m->delta, m->S) || hs_get_array(p, "beta", m->beta, m->K)))
            st = hs_error_set(HS_ERR_INPUT, "%s: params k, m, sigma_obs, delta or beta missing or of the wrong size",
                              path);
        if (st == HS_OK && (hs_get_num(u, "samples", &v[6]) || hs_get_num(u, "interval_width", &v[7])))
            st = hs_error_set(HS_ERR_INPUT, "%s: uncertainty settings missing", path);
        if (st == HS_OK) {
            cfg->uncertainty_samples = (int)v[6];
            cfg->interval_width = v[7];
            double seed = 0;
            hs_get_num(u, "seed", &seed);
            cfg->seed = (uint64_t)seed;
        }
    }
    cJSON_Delete(j);
    if (st != HS_OK)
        hs_prophet_model_free(m);
    return st;
}
