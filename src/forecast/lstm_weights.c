/* lstm_weights.c: lstm.safetensors read back, checked tensor by tensor (lstm.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyscale/lstm.h"
#include "hyscale/safetensors.h"

static const char *hs_meta(const hs_st_file *f, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f->metadata, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

hs_status hs_lstm_load(const char *path, int batch, hs_lstm **out, hs_lstm_norm *norm)
{
    *out = NULL;
    hs_st_file f;
    HS_TRY(hs_safetensors_read(path, &f));
    hs_status st = HS_OK;
    const char *fmt = hs_meta(&f, "format"), *conf = hs_meta(&f, "config");
    const char *mean = hs_meta(&f, "norm_mean"), *sd = hs_meta(&f, "norm_std"), *scale = hs_meta(&f, "scale");
    hs_lstm_config c = {1, 0, 0, 0, 0, 0, batch};
    if (!fmt || strcmp(fmt, "hyscale-lstm-v1") || !conf || !mean || !sd || !scale)
        st = hs_error_set(HS_ERR_INPUT, "%s: not a hyscale LSTM (metadata format, config, norm_mean, norm_std and "
                                        "scale are required)",
                          path);
    cJSON *cj = st == HS_OK ? cJSON_Parse(conf) : NULL;
    if (st == HS_OK) {
        const char *keys[5] = {"hidden", "layers", "features", "window", "horizon"};
        int *dst[5] = {&c.hidden, &c.layers, &c.features, &c.window, &c.horizon};
        for (int k = 0; k < 5 && st == HS_OK; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(cj, keys[k]);
            if (!cJSON_IsNumber(v) || v->valueint < 1)
                st = hs_error_set(HS_ERR_INPUT, "%s: metadata config lacks a positive '%s'", path, keys[k]);
            else
                *dst[k] = v->valueint;
        }
        if (st == HS_OK && (c.layers > 2 || (c.features != 1 && c.features != 5)))
            st = hs_error_set(HS_ERR_INPUT, "%s: config with %d layers and %d features is not one hyscale writes", path,
                              c.layers, c.features);
    }
    cJSON_Delete(cj);
    hs_lstm *m = NULL;
    if (st == HS_OK)
        st = hs_lstm_init(&c, 0, &m);
    if (st == HS_OK) {
        hs_lstm_layout lay;
        hs_lstm_get_layout(&c, &lay);
        int64_t H = c.hidden, G4 = 4 * H, K = c.horizon;
        struct {
            char name[32];
            int64_t off, d0, d1;
        } want[10];
        int nw = 0;
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
            st = hs_error_set(HS_ERR_INPUT, "%s: %d tensors where the config needs %d", path, f.n, nw);
        for (int i = 0; st == HS_OK && i < nw; i++) {
            int k = hs_st_find(&f, want[i].name);
            int nd = want[i].d1 ? 2 : 1;
            if (k < 0)
                st = hs_error_set(HS_ERR_INPUT, "%s: tensor '%s' is missing", path, want[i].name);
            else if (f.ndim[k] != nd || f.shape[k][0] != want[i].d0 || (nd == 2 && f.shape[k][1] != want[i].d1))
                st = hs_error_set(HS_ERR_INPUT, "%s: tensor '%s' has the wrong shape for the config (want %lld x %lld)",
                                  path, want[i].name, (long long)want[i].d0, (long long)(nd == 2 ? want[i].d1 : 1));
            else
                memcpy(hs_lstm_params(m) + want[i].off, f.data[k],
                       (size_t)(want[i].d0 * (nd == 2 ? want[i].d1 : 1)) * sizeof(float));
        }
    }
    if (st == HS_OK) {
        const char *step = hs_meta(&f, "step_seconds"), *cal = hs_meta(&f, "calendar_features");
        norm->mean = strtod(mean, NULL);
        norm->std = strtod(sd, NULL);
        norm->log_scale = !strcmp(scale, "log1p");
        norm->calendar = cal && !strcmp(cal, "true");
        norm->step_seconds = step ? strtoll(step, NULL, 10) : 60;
        if (!(norm->std > 0) || norm->calendar != (c.features == 5))
            st = hs_error_set(HS_ERR_INPUT, "%s: the normalisation or the calendar flag contradicts the config", path);
    }
    hs_st_file_free(&f);
    if (st != HS_OK) {
        hs_lstm_free(m);
        return st;
    }
    *out = m;
    return HS_OK;
}
