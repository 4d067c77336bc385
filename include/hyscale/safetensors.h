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
 * to f. path names the file in messages. */
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

/* Reads and checks path: the header length and JSON, F32 dtypes, shapes that match the data
 * offsets, offsets inside the file. Errors name the file and what is wrong. */
hs_status hs_safetensors_read(const char *path, hs_st_file *out);
void hs_st_file_free(hs_st_file *f);
/* The tensor of that name, or -1. */
int hs_st_find(const hs_st_file *f, const char *name);

#ifdef __cplusplus
}
#endif
#endif
