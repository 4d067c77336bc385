/* fuzz_common.h: what every libFuzzer target shares. Each target writes its input to a file and
 * calls the reader's public entry point with that path, the function the CLI calls, so the
 * readers' internals can change without touching the targets.
 *
 *     int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
 *     {
 *         const char *path = hs_fuzz_write("series.csv", data, size);   // the one file of this process
 *         hs_forecast_input in;
 *         if (path && hs_forecast_input_read(path, &in) == HS_OK)
 *             hs_forecast_input_free(&in);
 *         return 0;
 *     }
 *
 * The file lives in a private folder made once per process under $TMPDIR (else /tmp) and is
 * removed at exit; it is overwritten for every input. An input is accepted or refused with an
 * hs_status: anything else (a sanitizer report, an abort, a leak, a time-out) is the finding.
 */
#ifndef HS_FUZZ_COMMON_H
#define HS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

static char hs_fuzz_dir[512];

/* Removes the files directly under dir, then dir when rm_dir (one level: enough for what the
 * targets write; a nested folder is named in hs_fuzz_clean_tree). */
static void hs_fuzz_clean(const char *dir, int rm_dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) != 0)
                hs_fuzz_clean(p, 1);
        }
        closedir(d);
    }
    if (rm_dir)
        rmdir(dir);
}

static void hs_fuzz_atexit(void)
{
    if (hs_fuzz_dir[0])
        hs_fuzz_clean(hs_fuzz_dir, 1);
}

/* The process's private folder (made on first use), or NULL when it cannot be made. */
static const char *hs_fuzz_tmpdir(void)
{
    if (hs_fuzz_dir[0])
        return hs_fuzz_dir;
    const char *t = getenv("TMPDIR");
    snprintf(hs_fuzz_dir, sizeof hs_fuzz_dir, "%s/hs_fuzz_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(hs_fuzz_dir)) {
        hs_fuzz_dir[0] = '\0';
        return NULL;
    }
    atexit(hs_fuzz_atexit);
    return hs_fuzz_dir;
}

/* Writes data to <private folder>/<name> and returns the path (static buffer), or NULL. */
static const char *hs_fuzz_write(const char *name, const uint8_t *data, size_t size)
{
    static char path[1024];
    const char *d = hs_fuzz_tmpdir();
    if (!d)
        return NULL;
    snprintf(path, sizeof path, "%s/%s", d, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    size_t put = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || put != size)
        return NULL;
    return path;
}

#endif
