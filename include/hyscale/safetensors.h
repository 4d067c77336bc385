/* safetensors.h: write F32 tensors in the safetensors layout (8-byte little-endian header
 * length, a JSON header with dtype/shape/data_offsets per tensor and `__metadata__` of strings,
 * then the raw little-endian data), readable unchanged by the Python `safetensors` package.
 *
 *     hs_st_tensor t = {"invocations", data, 2, {n_functions, n_minutes}};
 *     cJSON *meta = cJSON_CreateObject();             // string values only
 *     cJSON_AddStringToObject(meta, "format", "hyscale-functions-v1");
 *     HS_TRY(hs_safetensors_write(f, path, &t, 1, meta));
 */
#ifndef HYSCALE_SAFETENSORS_H
#define HYSCALE_SAFETENSORS_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_st_tensor {
    const char *name;
    const float *data; /* row-major, prod(shape) floats */
    int ndim;          /* 0..4 */
    int64_t shape[4];
} hs_st_tensor;

/* Writes n tensors (in the order given) and the metadata (an object of strings, may be NULL)
 * to f. path names the file in messages. A tensor holding a non-finite value is refused
 * (HS_ERR_INTERNAL naming the tensor and element) before anything is written. */
hs_status hs_safetensors_write(FILE *f, const char *path, const hs_st_tensor *t, int n, const cJSON *metadata);

/* A safetensors file read whole: its tensors (F32 only) and metadata. */
typedef struct hs_st_file {
    int n;
    char **names;     /* (n) */
    int *ndim;        /* (n) */
    int64_t (*shape)[4]; /* (n) */
    float **data;     /* (n) pointers into one buffer */
    cJSON *metadata;  /* object of strings (may be empty) */
    void *buf;
} hs_st_file;

/* Reads and checks path whole before it allocates anything the file implies: the header length
 * (a multiple of 8, within the file, at most 100 MB), UTF-8 JSON of one object, every tensor's
 * dtype (F32, the only one hyscale writes), shape (at most 4 non-negative dimensions, the product
 * overflow-checked) and data offsets (end - begin = 4 * product), offsets that tile the data
 * section exactly (no gap, no overlap, nothing after), no name twice, metadata values strings.
 * Errors say `path: tensor 'name': what` or `path: header: what`. On success the caller frees
 * out with hs_st_file_free; on failure out holds nothing. Values are not checked: see
 * hs_st_check_finite. */
hs_status hs_safetensors_read(const char *path, hs_st_file *out);
/* HS_OK when every element of tensor i is finite, else an error naming the tensor and element. */
hs_status hs_st_check_finite(const hs_st_file *f, int i, const char *path);
/* As hs_st_check_finite, and every element within [lo, hi]. */
hs_status hs_st_check_range(const hs_st_file *f, int i, const char *path, double lo, double hi);
void hs_st_file_free(hs_st_file *f);
/* The tensor of that name, or -1. */
int hs_st_find(const hs_st_file *f, const char *name);

#ifdef __cplusplus
}
#endif
#endif
