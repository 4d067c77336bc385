/* download.h: fetch the Azure Functions 2019 archive and extract chosen days.
 *
 *     hs_download_config cfg = {.url = HS_AZURE2019_URL, .day_first = 1, .day_last = 14,
 *                               .out_dir = "data/azure2019"};
 *     hs_download_summary sum;
 *     HS_TRY(hs_download_azure2019(&cfg, &sum));
 *
 * The archive is downloaded with libcurl into `<out_dir>/<archive name>.part` (progress on
 * stderr; an existing .part is resumed with an HTTP range request; the final size is checked
 * against the server's Content-Length) and renamed when complete; then libarchive extracts
 * `invocations_per_function_md.anon.dNN.csv` for the chosen days into out_dir (each through a
 * temporary name). A complete archive already in out_dir is not fetched again.
 */
#ifndef HYSCALE_DOWNLOAD_H
#define HYSCALE_DOWNLOAD_H

#include <stdint.h>

#include "hyscale/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_AZURE2019_URL                                                                           \
    "https://azurepublicdatasettraces.blob.core.windows.net/azurepublicdatasetv2/"                \
    "azurefunctions_dataset2019/azurefunctions-dataset2019.tar.xz"

typedef struct hs_download_config {
    const char *url;
    int day_first, day_last; /* 1..14 */
    const char *out_dir;
    int quiet;
    int keep_archive; /* 1: keep the .tar.xz after extraction, so reruns skip fetching (the CLI's
                       * default); 0 (a designated initialiser's default): remove it once extracted */
} hs_download_config;

typedef struct hs_download_summary {
    int64_t archive_bytes;    /* size of the archive */
    int64_t fetched_bytes;    /* bytes transferred by this call (0 when cached) */
    int resumed;              /* 1 when a partial download was continued */
    int files_extracted;
    int64_t extracted_bytes;
    double seconds;
} hs_download_summary;

hs_status hs_download_azure2019(const hs_download_config *cfg, hs_download_summary *sum);

#ifdef __cplusplus
}
#endif
#endif
