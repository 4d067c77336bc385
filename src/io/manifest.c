/* manifest.c: the run manifest and JSON file helpers on cJSON (manifest.h). */
#include "hyscale/manifest.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

cJSON *hs_manifest_new(const char *command, int argc, char **argv)
{
    cJSON *m = cJSON_CreateObject();
    if (!m)
        return NULL;
    cJSON_AddStringToObject(m, "tool", "hyscale");
    cJSON_AddStringToObject(m, "command", command);
    cJSON *av = cJSON_AddArrayToObject(m, "argv");
    for (int i = 0; i < argc; i++)
        cJSON_AddItemToArray(av, cJSON_CreateString(argv[i]));
    cJSON_AddStringToObject(m, "version", HS_VERSION);
    cJSON_AddStringToObject(m, "git_revision", HS_GIT_REV);
    char host[256] = "unknown";
    gethostname(host, sizeof host - 1);
    cJSON_AddStringToObject(m, "host", host);
    char when[64];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    cJSON_AddStringToObject(m, "started_utc", when);
    return m;
}

void hs_manifest_set_device(cJSON *m, hs_device dev)
{
    cJSON_DeleteItemFromObject(m, "device");
    cJSON *d = cJSON_AddObjectToObject(m, "device");
    cJSON_AddStringToObject(d, "name", hs_device_name(dev));
    cJSON_AddStringToObject(d, "description", hs_device_describe(dev));
}

cJSON *hs_manifest_section(cJSON *m, const char *key)
{
    cJSON *s = cJSON_GetObjectItemCaseSensitive(m, key);
    if (!s)
        s = cJSON_AddObjectToObject(m, key);
    return s;
}

/* The first non-finite number under j (cJSON would print it as null), its key path in `at`
 * ("metrics.rmse", "loss[3]"); NULL when every number is finite. */
static const cJSON *hs_json_nonfinite(const cJSON *j, char *at, size_t cap)
{
    if (cJSON_IsNumber(j))
        return isfinite(j->valuedouble) ? NULL : j;
    size_t len = strlen(at);
    int i = 0;
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next, i++) {
        if (cJSON_IsArray(j))
            snprintf(at + len, cap - len, "[%d]", i);
        else
            snprintf(at + len, cap - len, "%s%s", len ? "." : "", c->string ? c->string : "?");
        const cJSON *bad = hs_json_nonfinite(c, at, cap);
        if (bad)
            return bad;
        at[len] = '\0';
    }
    return NULL;
}

hs_status hs_json_write(hs_outset *os, const char *name, const cJSON *j)
{
    char at[256] = "";
    const cJSON *bad = hs_json_nonfinite(j, at, sizeof at);
    if (bad)
        return hs_error_set(HS_ERR_INTERNAL, "%s/%s: key '%s': non-finite value '%g' (not written)", hs_outset_dir(os),
                            name, at, bad->valuedouble);
    char *text = cJSON_Print(j);
    if (!text)
        return hs_error_set(HS_ERR_NOMEM, "%s: out of memory while formatting JSON", name);
    FILE *f;
    const char *tmp;
    hs_status st = hs_outset_file(os, name, &f, &tmp);
    if (st == HS_OK && (fputs(text, f) == EOF || fputc('\n', f) == EOF))
        st = hs_error_set(HS_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    cJSON_free(text);
    return st;
}

hs_status hs_json_write_file(const char *dir, const char *name, const cJSON *j)
{
    hs_outset *os;
    HS_TRY(hs_outset_open(dir, &os));
    hs_status st = hs_json_write(os, name, j);
    if (st == HS_OK)
        st = hs_outset_commit(os);
    hs_outset_free(os);
    return st;
}

hs_status hs_json_read(const char *path, cJSON **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return hs_error_set(HS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            return hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb)
            free(buf);
        buf = nb;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return hs_error_set(HS_ERR_IO, "%s: read failed", path);
    }
    const char *end = NULL;
    /* ParseWithLengthOpts with return_parse_end: thread-safe, unlike cJSON_GetErrorPtr. */
    cJSON *j = cJSON_ParseWithLengthOpts(buf, n, &end, 0);
    if (!j) {
        long line = 1, col = 1;
        for (const char *p = buf; end && p < end && p < buf + n; p++) {
            if (*p == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        free(buf);
        return hs_error_set(HS_ERR_INPUT, "%s:%ld:%ld: invalid JSON", path, line, col);
    }
    free(buf);
    *out = j;
    return HS_OK;
}

hs_status hs_json_read_count(const char *path, const char *key, int64_t *out)
{
    cJSON *j;
    HS_TRY(hs_json_read(path, &j));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
    cJSON_Delete(j);
    if (!(x >= 0 && x <= 1e12 && x == floor(x)))
        return hs_error_set(HS_ERR_INPUT, "%s: no '%s' (a whole number from 0 to 1e12)", path, key);
    *out = (int64_t)x;
    return HS_OK;
}
