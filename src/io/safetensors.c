/* safetensors.c: the safetensors writer and the strict reader (safetensors.h). */
#include "hyscale/safetensors.h"

#include <errno.h>
#include <math.h>
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
    /* every number hyscale writes is finite: a diverged model fails here, naming what, rather
     * than landing as a file that loads and forecasts NaN */
    for (int i = 0; i < n; i++)
        for (int64_t k = 0, c = hs_st_count(&t[i]); k < c; k++)
            if (!isfinite(t[i].data[k]))
                return hs_error_set(HS_ERR_INTERNAL, "%s: tensor '%s': element %lld is %g, not finite (not written)",
                                    path, t[i].name, (long long)k, (double)t[i].data[k]);
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

/* The reader: everything the file says is checked before anything it implies is allocated or
 * read. What it accepts is what the Python `safetensors` package writes (and reads), restricted to
 * what hyscale uses:
 *  - 8 bytes N (little endian), N a multiple of 8 and at most HS_ST_MAX_HEADER, N + 8 <= size;
 *    the reference writer pads the header with spaces to a multiple of 8, so a header length that
 *    is not one is a damaged file (one byte short moves every tensor by a byte);
 *  - N bytes of UTF-8 JSON: an object opening at the first byte, whitespace after it;
 *  - per tensor: dtype F32 (the only one hyscale writes or reads), a shape of 0..4 non-negative
 *    integers whose product (overflow-checked) times 4 is end - begin, data_offsets [begin, end);
 *  - sorted by begin, the offsets tile the data section exactly: the first begins at 0, each
 *    begins where the previous ends, the last ends at the end of the file;
 *  - `__metadata__`, when present, an object of strings; no name twice. */
#define HS_ST_MAX_HEADER 100000000u /* the reference implementation's limit */
#define HS_ST_MAX_INT 9007199254740992.0 /* 2^53: integers a JSON number holds exactly */

/* 1 when s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
static int hs_st_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || i + len > n)
            return 0;
        uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* A JSON number that is a whole number in [0, 2^53]: its value in *v. */
static int hs_st_uint(const cJSON *x, int64_t *v)
{
    if (!cJSON_IsNumber(x))
        return 0;
    double d = x->valuedouble;
    if (!(d >= 0 && d <= HS_ST_MAX_INT) || (double)(int64_t)d != d)
        return 0;
    *v = (int64_t)d;
    return 1;
}

typedef struct hs_st_entry {
    const cJSON *e;
    int64_t begin, end;
} hs_st_entry;

static int hs_st_by_name(const void *a, const void *b)
{
    return strcmp(((const hs_st_entry *)a)->e->string, ((const hs_st_entry *)b)->e->string);
}

static int hs_st_by_offset(const void *a, const void *b)
{
    const hs_st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

/* One tensor's entry checked: dtype, shape and offsets; its shape into out. */
static hs_status hs_st_entry_check(const char *path, const cJSON *e, int64_t dlen, int *ndim, int64_t shape[4],
                                   hs_st_entry *ent)
{
    const char *name = e->string;
    if (!cJSON_IsObject(e))
        return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': not an object of dtype, shape and data_offsets", path,
                            name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt))
        return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': no dtype", path, name);
    if (strcmp(dt->valuestring, "F32") != 0)
        return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': dtype '%s': hyscale reads F32 only", path, name,
                            dt->valuestring);
    if (!cJSON_IsArray(sh))
        return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': no shape array", path, name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > 4)
        return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': %d dimensions, hyscale reads at most 4", path, name, nd);
    int64_t count = 1;
    int overflow = 0;
    int d = 0;
    for (const cJSON *x = sh->child; x; x = x->next, d++) {
        if (!hs_st_uint(x, &shape[d]))
            return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': shape[%d] is not a non-negative integer", path, name,
                                d);
        if (shape[d] && count > INT64_MAX / 4 / shape[d])
            overflow = 1; /* count * 4 bytes would not fit; a later zero dimension still makes it 0 */
        else
            count *= shape[d];
    }
    for (int k = 0; k < nd; k++)
        if (shape[k] == 0)
            overflow = 0, count = 0;
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || !hs_st_uint(of->child, &ent->begin) ||
        !hs_st_uint(of->child->next, &ent->end) || ent->end < ent->begin)
        return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': data_offsets is not [begin, end] with 0 <= begin <= end",
                            path, name);
    if (overflow)
        return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': the shape's size overflows", path, name);
    if (ent->end - ent->begin != count * 4)
        return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': data_offsets [%lld, %lld) hold %lld bytes, the shape "
                                          "needs %lld",
                            path, name, (long long)ent->begin, (long long)ent->end,
                            (long long)(ent->end - ent->begin), (long long)count * 4);
    if (ent->end > dlen)
        return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': data_offsets [%lld, %lld) end past the %lld data bytes",
                            path, name, (long long)ent->begin, (long long)ent->end, (long long)dlen);
    *ndim = nd;
    ent->e = e;
    return HS_OK;
}

/* The parsed header checked whole, out's tables filled (names, shapes, offsets into the data). */
static hs_status hs_st_header_check(const char *path, const cJSON *j, int64_t dlen, hs_st_file *out, int64_t *begin)
{
    int n = 0, total = 0;
    for (const cJSON *e = j->child; e; e = e->next, total++)
        n += strcmp(e->string, "__metadata__") != 0;
    hs_st_entry *ent = calloc((size_t)(total ? total : 1), sizeof *ent);
    out->names = calloc((size_t)(n ? n : 1), sizeof *out->names);
    out->ndim = calloc((size_t)(n ? n : 1), sizeof *out->ndim);
    out->shape = calloc((size_t)(n ? n : 1), sizeof *out->shape);
    out->data = calloc((size_t)(n ? n : 1), sizeof *out->data);
    hs_status st = HS_OK;
    if (!ent || !out->names || !out->ndim || !out->shape || !out->data)
        st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    int i = 0, k = 0;
    for (const cJSON *e = j->child; st == HS_OK && e; e = e->next) {
        ent[k++].e = e;
        if (strcmp(e->string, "__metadata__") != 0) {
            st = hs_st_entry_check(path, e, dlen, &out->ndim[i], out->shape[i], &ent[k - 1]);
            begin[i++] = ent[k - 1].begin;
            continue;
        }
        if (!cJSON_IsObject(e)) {
            st = hs_error_set(HS_ERR_INPUT, "%s: header: __metadata__ is not an object", path);
            break;
        }
        for (const cJSON *v = e->child; v && st == HS_OK; v = v->next)
            if (!cJSON_IsString(v))
                st = hs_error_set(HS_ERR_INPUT, "%s: header: __metadata__ '%s' is not a string", path, v->string);
        ent[k - 1].begin = ent[k - 1].end = -1; /* not a tensor */
    }
    if (st == HS_OK) {
        qsort(ent, (size_t)total, sizeof *ent, hs_st_by_name);
        for (int a = 1; a < total && st == HS_OK; a++)
            if (strcmp(ent[a - 1].e->string, ent[a].e->string) == 0)
                st = hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': named twice in the header", path, ent[a].e->string);
    }
    if (st == HS_OK) {
        qsort(ent, (size_t)total, sizeof *ent, hs_st_by_offset);
        int64_t at = 0;
        for (int a = 0; a < total && st == HS_OK; a++) {
            if (ent[a].begin < 0)
                continue;
            if (ent[a].begin != at)
                st = hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': data_offsets [%lld, %lld) %s byte %lld",
                                  path, ent[a].e->string, (long long)ent[a].begin, (long long)ent[a].end,
                                  ent[a].begin > at ? "leave a gap after" : "overlap the previous tensor before",
                                  (long long)at);
            at = ent[a].end;
        }
        if (st == HS_OK && at != dlen)
            st = hs_error_set(HS_ERR_INPUT, "%s: header: the tensors cover %lld of the %lld data bytes (a header "
                                            "length that does not match the header, or a damaged file)",
                              path, (long long)at, (long long)dlen);
    }
    i = 0;
    for (const cJSON *e = j->child; st == HS_OK && e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            if (!(out->metadata = cJSON_Duplicate(e, 1)))
                st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
            continue;
        }
        if (!(out->names[i++] = strdup(e->string)))
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
        out->n = i;
    }
    free(ent);
    return st;
}

hs_status hs_safetensors_read(const char *path, hs_st_file *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return hs_error_set(HS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    hs_status st = HS_OK;
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        st = hs_error_set(HS_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    unsigned char lenb[8];
    if (st == HS_OK && (size < 8 || fread(lenb, 1, 8, f) != 8))
        st = hs_error_set(HS_ERR_INPUT, "%s: header: not a safetensors file (shorter than its 8-byte header length)",
                          path);
    uint64_t hl = 0;
    for (int i = 0; st == HS_OK && i < 8; i++)
        hl |= (uint64_t)lenb[i] << (8 * i);
    if (st == HS_OK && (hl > (uint64_t)size - 8 || hl > HS_ST_MAX_HEADER))
        st = hs_error_set(HS_ERR_INPUT, "%s: header: length %llu does not fit the file (%ld bytes) or exceeds %u",
                          path, (unsigned long long)hl, size, HS_ST_MAX_HEADER);
    else if (st == HS_OK && (hl < 2 || hl % 8))
        st = hs_error_set(HS_ERR_INPUT, "%s: header: length %llu is not a positive multiple of 8 (the format pads "
                                        "the header with spaces to one)",
                          path, (unsigned long long)hl);
    char *hdr = NULL;
    int64_t dlen = st == HS_OK ? size - 8 - (int64_t)hl : 0; /* hl is checked: no overflow */
    if (st == HS_OK && !(hdr = malloc(hl + 1)))
        st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    if (st == HS_OK && fread(hdr, 1, hl, f) != hl)
        st = hs_error_set(HS_ERR_IO, "%s: read failed", path);
    cJSON *j = NULL;
    const char *end = NULL;
    if (st == HS_OK) {
        hdr[hl] = '\0';
        if (!hs_st_utf8((const unsigned char *)hdr, hl))
            st = hs_error_set(HS_ERR_INPUT, "%s: header: not UTF-8", path);
        else if (hdr[0] != '{' || !(j = cJSON_ParseWithLengthOpts(hdr, hl, &end, 0)) || !cJSON_IsObject(j))
            st = hs_error_set(HS_ERR_INPUT, "%s: header: not a JSON object", path);
        for (; st == HS_OK && end < hdr + hl; end++)
            if (!strchr(" \t\r\n", *end) || !*end)
                st = hs_error_set(HS_ERR_INPUT, "%s: header: bytes other than spaces after the JSON object (at %lld "
                                                "of %llu)",
                                  path, (long long)(end - hdr), (unsigned long long)hl);
    }
    int64_t *begin = NULL;
    if (st == HS_OK) {
        int total = cJSON_GetArraySize(j);
        if (!(begin = calloc((size_t)(total ? total : 1), sizeof *begin)))
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == HS_OK)
        st = hs_st_header_check(path, j, dlen, out, begin);
    /* Only now, the header consistent with the file's size, is the data read. */
    if (st == HS_OK && !(out->buf = malloc((size_t)(dlen > 0 ? dlen : 1))))
        st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory for %lld data bytes", path, (long long)dlen);
    if (st == HS_OK && dlen > 0 && fread(out->buf, 1, (size_t)dlen, f) != (size_t)dlen)
        st = hs_error_set(HS_ERR_IO, "%s: read failed", path);
    for (int i = 0; st == HS_OK && i < out->n; i++)
        out->data[i] = (float *)((char *)out->buf + begin[i]); /* begin % 4 == 0: every size is 4 * count */
    if (st == HS_OK && !out->metadata && !(out->metadata = cJSON_CreateObject()))
        st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", path);
    fclose(f);
    free(begin);
    cJSON_Delete(j);
    free(hdr);
    if (st != HS_OK)
        hs_st_file_free(out);
    return st;
}

hs_status hs_st_check_finite(const hs_st_file *f, int i, const char *path)
{
    return hs_st_check_range(f, i, path, -INFINITY, INFINITY);
}

hs_status hs_st_check_range(const hs_st_file *f, int i, const char *path, double lo, double hi)
{
    int64_t count = 1;
    for (int d = 0; d < f->ndim[i]; d++)
        count *= f->shape[i][d];
    for (int64_t k = 0; k < count; k++) {
        double v = f->data[i][k];
        if (!isfinite(v))
            return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': element %lld is %g, not finite", path, f->names[i],
                                (long long)k, v);
        if (v < lo || v > hi)
            return hs_error_set(HS_ERR_INPUT, "%s: tensor '%s': element %lld is %g, outside [%g, %g]", path,
                                f->names[i], (long long)k, v, lo, hi);
    }
    return HS_OK;
}
