/* ppo_policy_file.c: ppo_policy.safetensors, the trained agent's weights with the configuration
 * and the ENV version in the metadata, so that evaluation and the service can check what they
 * load. */
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
    snprintf(buf, sizeof buf, "%d", HS_ENV_VERSION);
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
    char want[16];
    snprintf(want, sizeof want, "%d", HS_ENV_VERSION);
    if (!fmt || strcmp(fmt, HS_PPO_FORMAT) != 0)
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata field format: '%s', expected '%s'", path, fmt ? fmt : "",
                          HS_PPO_FORMAT);
    else if (!ver || strcmp(ver, want) != 0)
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata field env_version: the policy was trained for ENV version %s; "
                                        "this build implements version %s",
                          path, ver ? ver : "(none)", want);
    else if (!mode || (strcmp(mode, "margin") && strcmp(mode, "delta")))
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata field action_mode: '%s', expected margin or delta", path,
                          mode ? mode : "");
    else if (!obs || atoi(obs) != HS_ENV_OBS || !act ||
             atoi(act) != hs_env_action_count(strcmp(mode, "delta") ? HS_ENV_MARGIN : HS_ENV_DELTA))
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata fields obs/actions: %s observations and %s actions; this "
                                        "environment has %d and %d (%s mode)",
                          path, obs ? obs : "?", act ? act : "?", HS_ENV_OBS,
                          hs_env_action_count(strcmp(mode, "delta") ? HS_ENV_MARGIN : HS_ENV_DELTA), mode);
    else if (!hid || atoi(hid) < 1 || atoi(hid) > 4096)
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata field hidden: '%s' is not a layer size", path, hid ? hid : "");
    else if (!fc || !es)
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata: forecaster, action_mode and env_series are required", path);
    if (st == HS_OK) {
        out->l = hs_mlp_layout_make(HS_ENV_OBS, atoi(hid), atoi(act));
        out->params = malloc((size_t)out->l.total * sizeof *out->params);
        if (!out->params)
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    }
    hs_ppo_tensor pt[12];
    int n = st == HS_OK ? hs_ppo_tensors(&out->l, pt) : 0;
    for (int i = 0; i < n && st == HS_OK; i++) {
        int k = hs_st_find(&sf, pt[i].name);
        int nd = pt[i].cols ? 2 : 1;
        if (k < 0 || sf.ndim[k] != nd || sf.shape[k][0] != pt[i].rows || (nd == 2 && sf.shape[k][1] != pt[i].cols)) {
            st = hs_error_set(HS_ERR_INPUT, "%s: tensor %s: missing or not of shape (%lld%s%lld)", path, pt[i].name,
                              (long long)pt[i].rows, nd == 2 ? ", " : "", nd == 2 ? (long long)pt[i].cols : 0LL);
            break;
        }
        memcpy(out->params + pt[i].off, sf.data[k], (size_t)(pt[i].rows * (nd == 2 ? pt[i].cols : 1)) * sizeof(float));
    }
    if (st == HS_OK) {
        snprintf(out->forecaster, sizeof out->forecaster, "%s", fc);
        snprintf(out->env_series, sizeof out->env_series, "%s", es);
        out->mode = strcmp(mode, "delta") == 0 ? HS_ENV_DELTA : HS_ENV_MARGIN;
        out->metadata = cJSON_Duplicate(m, 1);
    }
    hs_st_file_free(&sf);
    if (st)
        hs_ppo_policy_file_free(out);
    return st;
}
