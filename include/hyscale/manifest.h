/* manifest.h: the JSON manifest every run writes, and JSON file helpers (cJSON).
 *
 *     cJSON *m = hs_manifest_new("preprocess", argc, argv);  // version, git rev, host, time
 *     cJSON_AddItemToObject(m, "config", cfg_json);          // the resolved options
 *     hs_manifest_set_device(m, dev);
 *     cJSON_AddNumberToObject(hs_manifest_section(m, "timings"), "total_seconds", t);
 *     HS_TRY(hs_json_write(os, "manifest.json", m));
 *     cJSON_Delete(m);
 */
#ifndef HYSCALE_MANIFEST_H
#define HYSCALE_MANIFEST_H

#include <cjson/cJSON.h>

#include "hyscale/backend.h"
#include "hyscale/outfiles.h"
#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new manifest object: command, argv, hyscale version, git revision, host, start time.
 * Caller owns it (cJSON_Delete). */
cJSON *hs_manifest_new(const char *command, int argc, char **argv);

/* Adds "device": {"name": "cpu"|"cuda", "description": ...}. */
void hs_manifest_set_device(cJSON *m, hs_device dev);

/* The object under key (created when missing): "timings", "metrics", ... Owned by m. */
cJSON *hs_manifest_section(cJSON *m, const char *key);

/* Writes j, pretty-printed, as `name` in the output set. */
hs_status hs_json_write(hs_outset *os, const char *name, const cJSON *j);

/* Writes j as dir/name on its own (temporary name, then rename). */
hs_status hs_json_write_file(const char *dir, const char *name, const cJSON *j);

/* Reads and parses a JSON file; errors name the file and the line of the parse failure.
 * Caller owns *out. */
hs_status hs_json_read(const char *path, cJSON **out);

/* The whole number in [0, 1e12] under key of the JSON object in path (a stage's metrics, e.g.
 * "holdout"); HS_ERR_INPUT naming the file and key when it is missing or not such a number. */
hs_status hs_json_read_count(const char *path, const char *key, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
