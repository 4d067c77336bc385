/* prophet_model_json.c: prophet_model.json, written and read back (prophet_stage.h); the reader
 * checks every number is finite and within its range, and the arrays' sizes against what the
 * seasonalities imply, before it allocates or converts anything. */
#include <float.h>
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

/* The ranges a model file may hold, each checked before the value is used or converted:
 * times are Unix seconds of the years 1 to 9999 (what hs_format_time writes); a step of at most
 * about 31 years; Fourier orders and sample counts far above what a fit uses, low enough that
 * what they imply stays small. */
#define HS_PM_TIME_MIN -62135596800.0
#define HS_PM_TIME_MAX 253402300799.0
#define HS_PM_MAX_STEP 1e9
#define HS_PM_MAX_ORDER 100000
#define HS_PM_MAX_SAMPLES 1000000
#define HS_PM_MAX_WHOLE 9007199254740992.0 /* 2^53 */

/* o[k] a finite number in [lo, hi] (a whole number when whole), into *v; else an error naming
 * the field. */
static hs_status hs_get_range(const char *path, const char *where, const cJSON *o, const char *k, double lo,
                              double hi, int whole, double *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    double d = cJSON_IsNumber(x) ? x->valuedouble : NAN;
    if (!(d >= lo && d <= hi) || (whole && d != floor(d)))
        return hs_error_set(HS_ERR_INPUT, "%s: field %s%s: %s, expected %s number in [%.17g, %.17g]", path, where, k,
                            cJSON_IsNumber(x) ? "out of range" : "missing or not a number", whole ? "a whole" : "a",
                            lo, hi);
    *v = d;
    return HS_OK;
}

/* o[k] an array of exactly n finite numbers, into v. */
static hs_status hs_get_array(const char *path, const char *where, const cJSON *o, const char *k, double *v, int n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return hs_error_set(HS_ERR_INPUT, "%s: field %s%s: not an array of %d numbers", path, where, k, n);
    int i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
            return hs_error_set(HS_ERR_INPUT, "%s: field %s%s[%d]: not a finite number", path, where, k, i);
        v[i] = e->valuedouble;
    }
    return HS_OK;
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
    const cJSON *beta = cJSON_GetObjectItemCaseSensitive(p, "beta");
    double v[10];
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "hyscale-prophet-v1") != 0 || !cJSON_IsArray(cp) ||
        !cJSON_IsArray(ss) || !cJSON_IsObject(p) || !cJSON_IsObject(u) || !cJSON_IsArray(beta))
        st = hs_error_set(HS_ERR_INPUT, "%s: not a hyscale-prophet-v1 model (format, changepoints_t, seasonalities, "
                                        "params with beta, or uncertainty missing)",
                          path);
    else if (cJSON_GetArraySize(ss) > HS_PROPHET_MAX_SEASONALITIES)
        st = hs_error_set(HS_ERR_INPUT, "%s: field seasonalities: %d, at most %d", path, cJSON_GetArraySize(ss),
                          HS_PROPHET_MAX_SEASONALITIES);
    if (st == HS_OK)
        st = hs_get_range(path, "", j, "start_unix", HS_PM_TIME_MIN, HS_PM_TIME_MAX, 1, &v[0]);
    if (st == HS_OK)
        st = hs_get_range(path, "", j, "t_scale_seconds", DBL_MIN, DBL_MAX, 0, &v[1]);
    if (st == HS_OK)
        st = hs_get_range(path, "", j, "y_scale", DBL_MIN, DBL_MAX, 0, &v[2]);
    if (st == HS_OK)
        st = hs_get_range(path, "", j, "n_history", 1, HS_PM_MAX_WHOLE, 1, &v[3]);
    if (st == HS_OK)
        st = hs_get_range(path, "", j, "last_unix", v[0], HS_PM_TIME_MAX, 1, &v[4]);
    if (st == HS_OK)
        st = hs_get_range(path, "", j, "step_seconds", 1, HS_PM_MAX_STEP, 1, &v[5]);
    if (st == HS_OK)
        st = hs_get_range(path, "uncertainty.", u, "samples", 0, HS_PM_MAX_SAMPLES, 1, &v[6]);
    if (st == HS_OK && (hs_get_range(path, "uncertainty.", u, "interval_width", 0, 1, 0, &v[7]) ||
                        !(v[7] > 0 && v[7] < 1)))
        st = hs_error_set(HS_ERR_INPUT, "%s: field uncertainty.interval_width: missing or not in (0, 1)", path);
    v[8] = 0;
    if (st == HS_OK && cJSON_GetObjectItemCaseSensitive(u, "seed"))
        st = hs_get_range(path, "uncertainty.", u, "seed", 0, 18446744073709549568.0, 1, &v[8]);
    int K = 0;
    for (const cJSON *e = st == HS_OK ? ss->child : NULL; e && st == HS_OK; e = e->next) {
        hs_seasonality *s = &m->seas[m->ns++];
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *mode = cJSON_GetObjectItemCaseSensitive(e, "mode");
        if (!cJSON_IsString(name) || strlen(name->valuestring) >= sizeof s->name || !cJSON_IsString(mode) ||
            (strcmp(mode->valuestring, "multiplicative") && strcmp(mode->valuestring, "additive"))) {
            st = hs_error_set(HS_ERR_INPUT, "%s: field seasonalities[%d]: needs a name (at most %d characters) and a "
                                            "mode (additive or multiplicative)",
                              path, m->ns - 1, (int)sizeof s->name - 1);
            break;
        }
        double o = 0;
        st = hs_get_range(path, "seasonalities[].", e, "period", DBL_MIN, DBL_MAX, 0, &s->period);
        if (st == HS_OK)
            st = hs_get_range(path, "seasonalities[].", e, "fourier_order", 1, HS_PM_MAX_ORDER, 1, &o);
        if (st == HS_OK)
            st = hs_get_range(path, "seasonalities[].", e, "prior_scale", DBL_MIN, DBL_MAX, 0, &s->prior_scale);
        snprintf(s->name, sizeof s->name, "%s", name->valuestring);
        s->order = (int)o;
        s->multiplicative = strcmp(mode->valuestring, "multiplicative") == 0;
        K += 2 * s->order;
    }
    /* The sizes the file implies agree with its arrays before they are allocated. */
    if (st == HS_OK && cJSON_GetArraySize(beta) != (K > 0 ? K : 1))
        st = hs_error_set(HS_ERR_INPUT, "%s: field params.beta: %d values, the seasonalities need %d", path,
                          cJSON_GetArraySize(beta), K > 0 ? K : 1);
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
        m->K = K > 0 ? K : 1;
        m->cp_t = calloc((size_t)(m->S > 0 ? m->S : 1), sizeof *m->cp_t);
        m->delta = calloc((size_t)(m->S > 0 ? m->S : 1), sizeof *m->delta);
        m->beta = calloc((size_t)m->K, sizeof *m->beta);
        if (!m->cp_t || !m->delta || !m->beta)
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == HS_OK)
        st = hs_get_array(path, "", j, "changepoints_t", m->cp_t, m->S);
    if (st == HS_OK)
        st = hs_get_range(path, "params.", p, "k", -DBL_MAX, DBL_MAX, 0, &m->k);
    if (st == HS_OK)
        st = hs_get_range(path, "params.", p, "m", -DBL_MAX, DBL_MAX, 0, &m->m);
    if (st == HS_OK)
        st = hs_get_range(path, "params.", p, "sigma_obs", 0, DBL_MAX, 0, &m->sigma);
    if (st == HS_OK)
        st = hs_get_array(path, "params.", p, "delta", m->delta, m->S);
    if (st == HS_OK)
        st = hs_get_array(path, "params.", p, "beta", m->beta, m->K);
    if (st == HS_OK) {
        cfg->uncertainty_samples = (int)v[6];
        cfg->interval_width = v[7];
        cfg->seed = (uint64_t)v[8];
    }
    cJSON_Delete(j);
    if (st != HS_OK)
        hs_prophet_model_free(m);
    return st;
}
