/* ppo_policy_file.c: ppo_policy.safetensors, the trained agent's weights with the configuration
 * and the ENV version in the metadata, so that evaluation and the service can check what they
 * load. The reader checks the metadata, every tensor's shape and that every weight is finite
 * before it allocates the parameters. */
#include <stdlib.h>
#include <string.h>

#include "hyscale/ppo.h"
#include "hyscale/safetensors.h"

#define HS_PPO_FORMAT "hyscale-ppo-v1"

/* The six tensors of each MLP: name, offset, shape. */
typedef struct hs_ppo_tensor {
    char name[32];
    int64_t off, rows, cols; /* cols 0: a vector */
} hs_ppo_tensor;

static int hs_ppo_tensors(const hs_mlp_layout *l, hs_ppo_tensor *t)
{
    int64_t O = l->obs, H = l->hidden, A = l->actions;
    const hs_ppo_tensor list[12] = {
        {"actor.0.weight", l->a_w1, H, O}, {"actor.0.bias", l->a_b1, H, 0},  {"actor.2.weight", l->a_w2, H, H},
        {"actor.2.bias", l->a_b2, H, 0},   {"actor.4.weight", l->a_w3, A, H}, {"actor.4.bias", l->a_b3, A, 0},
        {"critic.0.weight", l->c_w1, H, O}, {"critic.0.bias", l->c_b1, H, 0}, {"critic.2.weight", l->c_w2, H, H},
        {"critic.2.bias", l->c_b2, H, 0},  {"critic.4.weight", l->c_w3, 1, H}, {"critic.4.bias", l->c_b3, 1, 0}};
    memcpy(t, list, sizeof list);
    return 12;
}

hs_status hs_ppo_policy_write(FILE *f, const char *path, const hs_mlp_layout *l, const float *params,
                              const char *forecaster, hs_env_action_mode mode, const char *env_series,
                              const cJSON *meta)
{
    hs_ppo_tensor pt[12];
    int n = hs_ppo_tensors(l, pt);
    hs_st_tensor t[12];
    for (int i = 0; i < n; i++) {
        t[i].name = pt[i].name;
        t[i].data = params + pt[i].off;
        t[i].ndim = pt[i].cols ? 2 : 1;
        t[i].shape[0] = pt[i].rows;
        t[i].shape[1] = pt[i].cols;
    }
    cJSON *m = meta ? cJSON_Duplicate(meta, 1) : cJSON_CreateObject();
    char buf[32];
    cJSON_AddStringToObject(m, "format", HS_PPO_FORMAT);
    snprintf(buf, sizeof buf, "%d", l->obs == HS_ENV_OBS_V2 ? HS_ENV_V2 : HS_ENV_VERSION);
    cJSON_AddStringToObject(m, "env_version", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)l->obs);
    cJSON_AddStringToObject(m, "obs", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)l->actions);
    cJSON_AddStringToObject(m, "actions", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)l->hidden);
    cJSON_AddStringToObject(m, "hidden", buf);
    cJSON_AddStringToObject(m, "forecaster", forecaster);
    cJSON_AddStringToObject(m, "action_mode", mode == HS_ENV_DELTA ? "delta" : "margin");
    cJSON_AddStringToObject(m, "env_series", env_series);
    hs_status st = hs_safetensors_write(f, path, t, n, m);
    cJSON_Delete(m);
    return st;
}

void hs_ppo_policy_file_free(hs_ppo_policy_file *f)
{
    if (!f)
        return;
    free(f->params);
    cJSON_Delete(f->metadata);
    memset(f, 0, sizeof *f);
}

static const char *hs_meta(const cJSON *m, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* s, when given, a whole decimal number in [1, 4096] (the largest layer a policy may have);
 * 0 when not. */
static int hs_meta_size(const char *s)
{
    if (!s || !*s || strlen(s) > 4)
        return 0;
    int v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9')
            return 0;
        v = 10 * v + (*c - '0');
    }
    return v <= 4096 ? v : 0;
}

hs_status hs_ppo_policy_read(const char *path, hs_ppo_policy_file *out)
{
    memset(out, 0, sizeof *out);
    hs_st_file sf;
    HS_TRY(hs_safetensors_read(path, &sf));
    const cJSON *m = sf.metadata;
    const char *fmt = hs_meta(m, "format"), *ver = hs_meta(m, "env_version"), *obs = hs_meta(m, "obs");
    const char *act = hs_meta(m, "actions"), *hid = hs_meta(m, "hidden"), *fc = hs_meta(m, "forecaster");
    const char *mode = hs_meta(m, "action_mode"), *es = hs_meta(m, "env_series");
    hs_status st = HS_OK;
    int version = ver && !strcmp(ver, "1") ? HS_ENV_VERSION : ver && !strcmp(ver, "2") ? HS_ENV_V2 : 0;
    int O = hs_env_obs_size(version);
    if (!fmt || strcmp(fmt, HS_PPO_FORMAT) != 0)
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata field format: '%s', expected '%s'", path, fmt ? fmt : "",
                          HS_PPO_FORMAT);
    else if (!version)
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata field env_version: the policy was trained for ENV version %s; "
                                        "this build implements versions 1 and 2",
                          path, ver ? ver : "(none)");
    else if (!mode || (strcmp(mode, "margin") && strcmp(mode, "delta")))
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata field action_mode: '%s', expected margin or delta", path,
                          mode ? mode : "");
    else if (hs_meta_size(obs) != O ||
             hs_meta_size(act) != hs_env_action_count(strcmp(mode, "delta") ? HS_ENV_MARGIN : HS_ENV_DELTA))
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata fields obs/actions: %s observations and %s actions; this "
                                        "environment has %d and %d (%s mode)",
                          path, obs ? obs : "?", act ? act : "?", O,
                          hs_env_action_count(strcmp(mode, "delta") ? HS_ENV_MARGIN : HS_ENV_DELTA), mode);
    else if (!hs_meta_size(hid))
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata field hidden: '%s' is not a layer size (a whole number in "
                                        "[1, 4096])",
                          path, hid ? hid : "");
    else if (!fc || !es)
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata: forecaster, action_mode and env_series are required", path);
    /* Every tensor against the metadata's sizes, and finite, before the parameters are allocated. */
    hs_ppo_tensor pt[12];
    int n = 0, k[12];
    if (st == HS_OK) {
        out->l = hs_mlp_layout_make(O, hs_meta_size(hid), hs_meta_size(act));
        out->env_version = version;
        n = hs_ppo_tensors(&out->l, pt);
        if (sf.n != n)
            st = hs_error_set(HS_ERR_INPUT, "%s: %d tensors where a policy has %d", path, sf.n, n);
    }
    for (int i = 0; i < n && st == HS_OK; i++) {
        k[i] = hs_st_find(&sf, pt[i].name);
        int nd = pt[i].cols ? 2 : 1;
        if (k[i] < 0 || sf.ndim[k[i]] != nd || sf.shape[k[i]][0] != pt[i].rows ||
            (nd == 2 && sf.shape[k[i]][1] != pt[i].cols))
            st = hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': missing or not of shape (%lld%s%lld)", path, pt[i].name,
                              (long long)pt[i].rows, nd == 2 ? ", " : "", nd == 2 ? (long long)pt[i].cols : 0LL);
        else
            st = hs_st_check_finite(&sf, k[i], path);
    }
    if (st == HS_OK && !(out->params = malloc((size_t)out->l.total * sizeof *out->params)))
        st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < n && st == HS_OK; i++)
        memcpy(out->params + pt[i].off, sf.data[k[i]],
               (size_t)(pt[i].rows * (pt[i].cols ? pt[i].cols : 1)) * sizeof(float));
    if (st == HS_OK) {
        snprintf(out->forecaster, sizeof out->forecaster, "%s", fc);
        snprintf(out->env_series, sizeof out->env_series, "%s", es);
        out->mode = strcmp(mode, "delta") == 0 ? HS_ENV_DELTA : HS_ENV_MARGIN;
        if (!(out->metadata = cJSON_Duplicate(m, 1)))
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    }
    hs_st_file_free(&sf);
    if (st)
        hs_ppo_policy_file_free(out);
    return st;
}
