/* safetensors.c: the safetensors writer (safetensors.h). */
#include "hyscale/safetensors.h"

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
