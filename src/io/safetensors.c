/* safetensors.c: the safetensors writer (safetensors.h). */
#include "hyscale/safetensors.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int64_t hs_st_count(const hs_st_tensor *t)
{
    int64_t c = 1;
    for (int d = 0; d < t->ndim; d++)
        c *= t->shape[d];
    return c;
}

hs_status hs_safetensors_write(FILE *f, const char *path, const hs_st_tensor *t, int n, const cJSON *metadata)
{
    const uint32_t probe = 1;
    HS_ASSERT(*(const unsigned char *)&probe == 1); /* the data is written as the host holds it */
    cJSON *hdr = cJSON_CreateObject();
    if (!hdr)
        return hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    if (metadata)
        cJSON_AddItemToObject(hdr, "__metadata__", cJSON_Duplicate(metadata, 1));
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        HS_ASSERT(t[i].ndim >= 0 && t[i].ndim <= 4);
        cJSON *e = cJSON_AddObjectToObject(hdr, t[i].name);
        cJSON_AddStringToObject(e, "dtype", "F32");
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t[i].ndim; d++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t[i].shape[d]));
        int64_t bytes = hs_st_count(&t[i]) * 4;
        cJSON *o = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(off + bytes)));
        off += bytes;
    }
    char *text = cJSON_PrintUnformatted(hdr);
    cJSON_Delete(hdr);
    if (!text)
        return hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    size_t len = strlen(text);
    size_t padded = (len + 7) & ~(size_t)7; /* data starts 8-byte aligned; pad with spaces */
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int bad = fwrite(lenb, 1, 8, f) != 8 || fwrite(text, 1, len, f) != len;
    for (size_t i = len; i < padded && !bad; i++)
        bad = fputc(' ', f) == EOF;
    cJSON_free(text);
    for (int i = 0; i < n && !bad; i++) {
        size_t cnt = (size_t)hs_st_count(&t[i]);
        bad = cnt && fwrite(t[i].data, 4, cnt, f) != cnt;
    }
    if (bad)
        return hs_error_set(HS_ERR_IO, "%s: write failed", path);
    return HS_OK;
}

void hs_st_file_free(hs_st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        free(f->names[i]);
    free(f->names);
    free(f->ndim);
    free(f->shape);
    free(f->data);
    cJSON_Delete(f->metadata);
    free(f->buf);
    memset(f, 0, sizeof *f);
}

int hs_st_find(const hs_st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->names[i], name) == 0)
            return i;
    return -1;
}

hs_status hs_safetensors_read(const char *path, hs_st_file *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return hs_error_set(HS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char lenb[8];
    hs_status st = HS_OK;
    if (size < 8 || fread(lenb, 1, 8, f) != 8)
        st = hs_error_set(HS_ERR_INPUT, "%s: not a safetensors file (shorter than its 8-byte header length)", path);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)lenb[i] << (8 * i);
    if (st == HS_OK && (hl == 0 || hl > (uint64_t)size - 8 || hl > (1u << 26)))
        st = hs_error_set(HS_ERR_INPUT, "%s: header length %llu does not fit the file (%ld bytes)", path,
                          (unsigned long long)hl, size);
    char *hdr = NULL;
    int64_t dlen = size - 8 - (int64_t)hl;
    if (st == HS_OK) {
        hdr = malloc(hl + 1);
        out->buf = malloc((size_t)(dlen > 0 ? dlen : 1));
        if (!hdr || !out->buf)
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
        else if (fread(hdr, 1, hl, f) != hl || (dlen > 0 && fread(out->buf, 1, (size_t)dlen, f) != (size_t)dlen))
            st = hs_error_set(HS_ERR_IO, "%s: read failed", path);
        else
            hdr[hl] = '\0';
    }
    fclose(f);
    cJSON *j = NULL;
    if (st == HS_OK && !(j = cJSON_ParseWithLength(hdr, hl)))
        st = hs_error_set(HS_ERR_INPUT, "%s: the header is not valid JSON", path);
    if (st == HS_OK) {
        int n = 0;
        for (cJSON *e = j->child; e; e = e->next)
            n += strcmp(e->string, "__metadata__") != 0;
        out->names = calloc((size_t)(n ? n : 1), sizeof *out->names);
        out->ndim = calloc((size_t)(n ? n : 1), sizeof *out->ndim);
        out->shape = calloc((size_t)(n ? n : 1), sizeof *out->shape);
        out->data = calloc((size_t)(n ? n : 1), sizeof *out->data);
        if (!out->names || !out->ndim || !out->shape || !out->data)
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
        for (cJSON *e = j->child; st == HS_OK && e; e = e->next) {
            if (!strcmp(e->string, "__metadata__")) {
                out->metadata = cJSON_Duplicate(e, 1);
                continue;
            }
            int i = out->n;
            const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
            const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
            const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
            if (!cJSON_IsString(dt) || strcmp(dt->valuestring, "F32") || !cJSON_IsArray(sh) ||
                cJSON_GetArraySize(sh) > 4 || !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2) {
                st = hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': expected dtype F32, a shape of at most 4 and two "
                                                "data offsets",
                                  path, e->string);
                break;
            }
            int64_t count = 1;
            out->ndim[i] = cJSON_GetArraySize(sh);
            for (int d = 0; d < out->ndim[i]; d++) {
                out->shape[i][d] = (int64_t)cJSON_GetArrayItem(sh, d)->valuedouble;
                count *= out->shape[i][d];
            }
            int64_t o0 = (int64_t)cJSON_GetArrayItem(of, 0)->valuedouble, o1 = (int64_t)cJSON_GetArrayItem(of, 1)->valuedouble;
            if (o0 < 0 || o1 > dlen || o1 - o0 != count * 4 || o0 % 4) {
                st = hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': data offsets [%lld, %lld] do not hold %lld floats "
                                                "within the %lld data bytes",
                                  path, e->string, (long long)o0, (long long)o1, (long long)count, (long long)dlen);
                break;
            }
            out->names[i] = strdup(e->string);
            out->data[i] = (float *)((char *)out->buf + o0);
            out->n++;
        }
    }
    if (st == HS_OK && !out->metadata)
        out->metadata = cJSON_CreateObject();
    cJSON_Delete(j);
    free(hdr);
    if (st != HS_OK)
        hs_st_file_free(out);
    return st;
}
