/* lstm_weights.c: lstm.safetensors read back. The file decides nothing before it is checked:
 * the configuration in the metadata within ranges, every tensor's name and shape against it,
 * the weights and the normalisation finite; only then is the model allocated (lstm.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/lstm.h"
#include "hyscale/safetensors.h"

/* What a weights file may ask for. hyscale trains hidden <= 1024 (hs_lstm_stage_check); the
 * window and the horizon are bounded by the series the forecast reads, these caps keep what
 * the file alone implies (4H x (F + H) weights, K x H head) to tens of MB. */
#define HS_LSTM_LOAD_MAX_HIDDEN 4096
#define HS_LSTM_LOAD_MAX_WINDOW 100000
#define HS_LSTM_LOAD_MAX_HORIZON 100000
/* The normalisation: hs_lstm_scale_fit writes std > 1e-12 (1 for a constant span); beyond 1e100
 * the forecast's v * std + mean is meaningless for any series hyscale reads. */
#define HS_LSTM_LOAD_MAX_NORM 1e100

static const char *hs_meta(const hs_st_file *f, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f->metadata, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* s parsed whole as a finite double. */
static int hs_parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *s && *end == '\0' && errno == 0 && isfinite(*v) && !strchr(s, 'x') && !strchr(s, 'X');
}

/* The metadata's config: each key a whole number within its range. */
static hs_status hs_lstm_load_config(const char *path, const char *conf, hs_lstm_config *c)
{
    cJSON *cj = cJSON_Parse(conf);
    hs_status st = HS_OK;
    if (!cJSON_IsObject(cj))
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata config: not a JSON object", path);
    const char *keys[5] = {"hidden", "layers", "features", "window", "horizon"};
    const int hi[5] = {HS_LSTM_LOAD_MAX_HIDDEN, 2, 5, HS_LSTM_LOAD_MAX_WINDOW, HS_LSTM_LOAD_MAX_HORIZON};
    int *dst[5] = {&c->hidden, &c->layers, &c->features, &c->window, &c->horizon};
    for (int k = 0; k < 5 && st == HS_OK; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cj, keys[k]);
        double d = cJSON_IsNumber(v) ? v->valuedouble : 0;
        if (!(d >= 1 && d <= hi[k]) || d != (double)(int)d)
            st = hs_error_set(HS_ERR_INPUT, "%s: metadata config: '%s' is not a whole number in [1, %d]", path,
                              keys[k], hi[k]);
        else
            *dst[k] = (int)d;
    }
    if (st == HS_OK && c->features != 1 && c->features != 5)
        st = hs_error_set(HS_ERR_INPUT, "%s: metadata config: %d features is not one hyscale writes (1 or 5)", path,
                          c->features);
    cJSON_Delete(cj);
    return st;
}

hs_status hs_lstm_load(const char *path, int batch, hs_lstm **out, hs_lstm_norm *norm)
{
    *out = NULL;
    hs_st_file f;
    HS_TRY(hs_safetensors_read(path, &f));
    hs_status st = HS_OK;
    const char *fmt = hs_meta(&f, "format"), *conf = hs_meta(&f, "config");
    const char *mean = hs_meta(&f, "norm_mean"), *sd = hs_meta(&f, "norm_std"), *scale = hs_meta(&f, "scale");
    const char *step = hs_meta(&f, "step_seconds"), *cal = hs_meta(&f, "calendar_features");
    hs_lstm_config c = {1, 0, 0, 0, 0, 0, batch};
    hs_lstm_norm nm = {0, 0, 0, 0, 60};
    if (!fmt || strcmp(fmt, "hyscale-lstm-v1") || !conf || !mean || !sd || !scale)
        st = hs_error_set(HS_ERR_INPUT, "%s: not a hyscale LSTM (metadata format, config, norm_mean, norm_std and "
                                        "scale are required)",
                          path);
    if (st == HS_OK)
        st = hs_lstm_load_config(path, conf, &c);
    if (st == HS_OK) {
        char *end = NULL;
        errno = 0;
        long long s = step ? strtoll(step, &end, 10) : 60;
        nm.log_scale = !strcmp(scale, "log1p");
        nm.calendar = cal && !strcmp(cal, "true");
        if (!hs_parse_double(mean, &nm.mean) || !(fabs(nm.mean) <= HS_LSTM_LOAD_MAX_NORM))
            st = hs_error_set(HS_ERR_INPUT, "%s: metadata norm_mean: '%s' is not a number in [-1e100, 1e100]", path,
                              mean);
        else if (!hs_parse_double(sd, &nm.std) || !(nm.std > 1e-12 && nm.std <= HS_LSTM_LOAD_MAX_NORM))
            st = hs_error_set(HS_ERR_INPUT, "%s: metadata norm_std: '%s' is not a number in (1e-12, 1e100]", path,
                              sd);
        else if (strcmp(scale, "log1p") && strcmp(scale, "identity"))
            st = hs_error_set(HS_ERR_INPUT, "%s: metadata scale: '%s', expected log1p or identity", path, scale);
        else if (cal && strcmp(cal, "true") && strcmp(cal, "false"))
            st = hs_error_set(HS_ERR_INPUT, "%s: metadata calendar_features: '%s', expected true or false", path, cal);
        else if (step && (!*step || *end || errno || s < 1))
            st = hs_error_set(HS_ERR_INPUT, "%s: metadata step_seconds: '%s' is not a positive whole number", path,
                              step);
        else if (nm.calendar != (c.features == 5))
            st = hs_error_set(HS_ERR_INPUT, "%s: metadata calendar_features %s contradicts the config's %d features",
                              path, nm.calendar ? "true" : "false", c.features);
        nm.step_seconds = s;
    }
    /* Every tensor against the config, before the model the config implies is allocated. */
    struct {
        char name[32];
        int64_t off, d0, d1;
        int k;
    } want[10];
    int nw = 0;
    if (st == HS_OK) {
        hs_lstm_layout lay;
        hs_lstm_get_layout(&c, &lay);
        int64_t H = c.hidden, G4 = 4 * H, K = c.horizon;
        for (int l = 0; l < c.layers; l++) {
            int64_t Fl = l ? H : c.features;
            snprintf(want[nw].name, 32, "lstm.weight_ih_l%d", l);
            want[nw].off = lay.w_ih[l], want[nw].d0 = G4, want[nw].d1 = Fl, nw++;
            snprintf(want[nw].name, 32, "lstm.weight_hh_l%d", l);
            want[nw].off = lay.w_hh[l], want[nw].d0 = G4, want[nw].d1 = H, nw++;
            snprintf(want[nw].name, 32, "lstm.bias_ih_l%d", l);
            want[nw].off = lay.b_ih[l], want[nw].d0 = G4, want[nw].d1 = 0, nw++;
            snprintf(want[nw].name, 32, "lstm.bias_hh_l%d", l);
            want[nw].off = lay.b_hh[l], want[nw].d0 = G4, want[nw].d1 = 0, nw++;
        }
        snprintf(want[nw].name, 32, "head.weight");
        want[nw].off = lay.w_out, want[nw].d0 = K, want[nw].d1 = H, nw++;
        snprintf(want[nw].name, 32, "head.bias");
        want[nw].off = lay.b_out, want[nw].d0 = K, want[nw].d1 = 0, nw++;
        if (f.n != nw)
            st = hs_error_set(HS_ERR_INPUT, "%s: %d tensors where the metadata config needs %d: the config and the "
                                            "tensors disagree",
                              path, f.n, nw);
        for (int i = 0; st == HS_OK && i < nw; i++) {
            int k = want[i].k = hs_st_find(&f, want[i].name);
            int nd = want[i].d1 ? 2 : 1;
            if (k < 0)
                st = hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': missing", path, want[i].name);
            else if (f.ndim[k] != nd || f.shape[k][0] != want[i].d0 || (nd == 2 && f.shape[k][1] != want[i].d1))
                st = hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': not of the shape the metadata config implies "
                                                "(%lld x %lld): the config and the tensors disagree",
                                  path, want[i].name, (long long)want[i].d0, (long long)(nd == 2 ? want[i].d1 : 1));
            else
                st = hs_st_check_finite(&f, k, path);
        }
    }
    hs_lstm *m = NULL;
    if (st == HS_OK)
        st = hs_lstm_init(&c, 0, &m);
    for (int i = 0; st == HS_OK && i < nw; i++)
        memcpy(hs_lstm_params(m) + want[i].off, f.data[want[i].k],
               (size_t)(want[i].d0 * (want[i].d1 ? want[i].d1 : 1)) * sizeof(float));
    hs_st_file_free(&f);
    if (st != HS_OK) {
        hs_lstm_free(m);
        return st;
    }
    *norm = nm;
    *out = m;
    return HS_OK;
}
