/* download.c: `hyscale download azure2019`, the library part (download.h).
 *
 * The Azure Functions 2019 trace is one ~500 MB .tar.xz; our preprocessing needs only the
 * per-day invocation counts inside it. So this file fetches the archive with libcurl into
 * `<out_dir>/<name>.part` (resuming an interrupted transfer with a range request, and checking
 * the final size against what the server announced), renames it when complete, and streams it
 * through libarchive, writing only `invocations_per_function_md.anon.dNN.csv` for the chosen days.
 * The extracted files go through an hs_outset, so they appear together or not at all.
 */
#include "hyscale/download.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hyscale/outfiles.h"
#include "hyscale/progress.h"

#define HS_DOWNLOAD_MAX_DAY 14
static const char hs_download_day_fmt[] = "invocations_per_function_md.anon.d%02d.csv";
static const size_t hs_download_copy_bytes = (size_t)1 << 20;

/* One GET of the archive into the .part file. */
typedef struct hs_download_xfer {
    CURL *curl;
    FILE *f;
    int64_t offset;   /* bytes of the .part this transfer continues (0 after a restart) */
    int64_t written;  /* bytes written by this transfer */
    int64_t cr_start; /* Content-Range of the last response: first byte, -1 when absent */
    int64_t cr_total; /* Content-Range of the last response: total size, -1 when absent */
    long code;        /* HTTP status seen by the first body write, 0 before */
    int restarted;    /* the server ignored the range: the .part was emptied and refilled */
    int bad_offset;   /* the server resumed at another byte than asked */
    int write_errno;  /* errno of a failed write to the .part, 0 when none */
    hs_progress prog;
} hs_download_xfer;

static int64_t hs_download_file_size(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return -1;
    return (int64_t)sb.st_size;
}

static char *hs_download_join(const char *dir, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s%s", dir, name, suffix);
    return s;
}

/* The archive's file name: the URL path's last segment (query and fragment dropped). Returns a
 * malloc'd string, or NULL when out of memory. */
static char *hs_download_archive_name(const char *url)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    const char *slash = strchr(host, '/');
    size_t end = strcspn(url, "?#");
    size_t start = end;
    while (slash && start > (size_t)(slash - url) + 1 && url[start - 1] != '/')
        start--;
    const char *name = url + start;
    size_t n = end - start;
    if (!slash || n == 0 || (n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.')) {
        name = "azurefunctions-dataset2019.tar.xz";
        n = strlen(name);
    }
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, name, n);
        s[n] = '\0';
    }
    return s;
}

/* Options shared by the HEAD and the GET requests. */
static void hs_download_common_opts(CURL *c, const char *url, char *errbuf)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hyscale/" HS_VERSION);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    /* No overall timeout (the archive is large); give up when a transfer stalls for a minute. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
}

/* Asks the server for the archive's size. Returns the curl code; *len is -1 when the server
 * announced none, *code the HTTP status (0 when none came). */
static CURLcode hs_download_head(const char *url, int64_t *len, long *code, char *errbuf)
{
    *len = -1;
    *code = 0;
    errbuf[0] = '\0';
    CURL *c = curl_easy_init();
    if (!c)
        return CURLE_FAILED_INIT;
    hs_download_common_opts(c, url, errbuf);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    curl_off_t cl = -1;
    if (rc == CURLE_OK && curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl >= 0)
        *len = (int64_t)cl;
    curl_easy_cleanup(c);
    return rc;
}

/* Reads `Content-Range: bytes A-B/T` (or `bytes * /T`) of the final response; a status line
 * (a new response, e.g. after a redirect) forgets the previous one. */
static size_t hs_download_header_cb(char *buf, size_t size, size_t n, void *ud)
{
    hs_download_xfer *x = ud;
    size_t len = size * n;
    char line[256];
    size_t m = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, buf, m);
    line[m] = '\0';
    if (strncmp(line, "HTTP/", 5) == 0) {
        x->cr_start = -1;
        x->cr_total = -1;
    } else if (strncasecmp(line, "Content-Range:", 14) == 0) {
        const char *p = line + 14;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "bytes", 5) == 0) {
            p += 5;
            long long a = -1, t = -1;
            const char *slash = strchr(p, '/');
            if (sscanf(p, " %lld-", &a) != 1)
                a = -1;
            if (slash && sscanf(slash + 1, "%lld", &t) != 1)
                t = -1;
            x->cr_start = a;
            x->cr_total = t;
        }
    }
    return len;
}

static size_t hs_download_write_cb(char *buf, size_t size, size_t n, void *ud)
{
    hs_download_xfer *x = ud;
    size_t len = size * n;
    if (x->code == 0) {
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->code);
        if (x->offset > 0 && x->code == 200) {
            /* The server ignored the range and sends the whole file: start the .part over.
             * (libcurl usually refuses such an answer itself, with CURLE_RANGE_ERROR.) */
            if (fflush(x->f) != 0 || ftruncate(fileno(x->f), 0) != 0) {
                x->write_errno = errno;
                return 0;
            }
            x->offset = 0;
            x->restarted = 1;
        } else if (x->offset > 0 && x->code == 206 && x->cr_start >= 0 && x->cr_start != x->offset) {
            x->bad_offset = 1;
            return 0;
        }
    }
    if (fwrite(buf, 1, len, x->f) != len) {
        x->write_errno = errno ? errno : EIO;
        return 0;
    }
    x->written += (int64_t)len;
    return len;
}

static int hs_download_xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                                   curl_off_t ulnow)
{
    (void)ultotal;
    (void)ulnow;
    hs_download_xfer *x = ud;
    if (dltotal > 0)
        x->prog.total = (double)(x->offset + (int64_t)dltotal);
    double done = (double)(x->offset + (int64_t)dlnow);
    hs_progress_update(&x->prog, done, "%.1f of %.1f MB", done / 1e6, x->prog.total / 1e6);
    return 0;
}

/* Fetches url into part (resuming what is there) and renames it to archive when its size is
 * the one the server announced. */
static hs_status hs_download_fetch(const hs_download_config *cfg, const char *url, const char *part,
                                   const char *archive, hs_download_summary *sum)
{
    char errbuf[CURL_ERROR_SIZE];
    for (int attempt = 0; attempt < 2; attempt++) {
        int64_t have = hs_download_file_size(part);
        if (have < 0)
            have = 0;
        hs_download_xfer x;
        memset(&x, 0, sizeof x);
        x.offset = have;
        x.cr_start = x.cr_total = -1;
        x.f = fopen(part, have > 0 ? "ab" : "wb");
        if (!x.f)
            return hs_error_set(HS_ERR_IO, "%s: cannot write: %s", part, strerror(errno));
        x.curl = curl_easy_init();
        if (!x.curl) {
            fclose(x.f);
            return hs_error_set(HS_ERR_INTERNAL, "%s: curl_easy_init failed", url);
        }
        errbuf[0] = '\0';
        hs_download_common_opts(x.curl, url, errbuf);
        curl_easy_setopt(x.curl, CURLOPT_WRITEFUNCTION, hs_download_write_cb);
        curl_easy_setopt(x.curl, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(x.curl, CURLOPT_HEADERFUNCTION, hs_download_header_cb);
        curl_easy_setopt(x.curl, CURLOPT_HEADERDATA, &x);
        if (have > 0)
            curl_easy_setopt(x.curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)have);
        hs_progress_start(&x.prog, "download", 0, cfg->quiet);
        if (!cfg->quiet) {
            curl_easy_setopt(x.curl, CURLOPT_NOPROGRESS, 0L);
            curl_easy_setopt(x.curl, CURLOPT_XFERINFOFUNCTION, hs_download_xferinfo_cb);
            curl_easy_setopt(x.curl, CURLOPT_XFERINFODATA, &x);
            if (have > 0)
                fprintf(stderr, "download: resuming %s at %.1f MB\n", part, (double)have / 1e6);
        }
        CURLcode rc = curl_easy_perform(x.curl);
        long code = 0;
        curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &code);
        curl_off_t cl = -1;
        if (curl_easy_getinfo(x.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK)
            cl = -1;
        curl_easy_cleanup(x.curl);
        int close_errno = fclose(x.f) != 0 ? (errno ? errno : EIO) : 0;
        sum->fetched_bytes += x.written;
        if (x.written > 0 && !x.restarted && x.offset > 0)
            sum->resumed = 1;
        if (x.restarted)
            sum->resumed = 0;
        int64_t got = hs_download_file_size(part);

        if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && have > 0) {
            /* Nothing left past the .part's end: either it is complete or it is not ours. */
            int64_t total = x.cr_total;
            if (total < 0) {
                long hcode;
                hs_download_head(url, &total, &hcode, errbuf);
            }
            if (total >= 0 && got == total)
                break;
            if (!cfg->quiet)
                fprintf(stderr, "download: %s does not match %s (HTTP 416); starting over\n", part, url);
            unlink(part);
            continue;
        }
        if (rc == CURLE_RANGE_ERROR && have > 0 && !close_errno) {
            /* libcurl refuses a 200 to a range request; the server cannot resume: start over. */
            if (!cfg->quiet)
                fprintf(stderr, "download: %s does not support resuming; starting over\n", url);
            unlink(part);
            continue;
        }
        if (rc != CURLE_OK || close_errno) {
            if (got == 0)
                unlink(part);
            char kept[4200] = "";
            if (got > 0)
                snprintf(kept, sizeof kept, "; %" PRId64 " bytes kept in %.4000s, rerun to resume", got, part);
            if (x.write_errno || close_errno)
                return hs_error_set(HS_ERR_IO, "%s: cannot write: %s", part,
                                    strerror(x.write_errno ? x.write_errno : close_errno));
            if (x.bad_offset)
                return hs_error_set(HS_ERR_IO, "%s: the server resumed at byte %" PRId64 " instead of %" PRId64 "%s",
                                    url, x.cr_start, x.offset, kept);
            if (rc == CURLE_HTTP_RETURNED_ERROR)
                return hs_error_set(HS_ERR_IO, "%s: HTTP %ld%s", url, code, kept);
            return hs_error_set(HS_ERR_IO, "%s: download failed: %s (curl error %d)%s", url,
                                errbuf[0] ? errbuf : curl_easy_strerror(rc), (int)rc, kept);
        }

        /* The size the server announced: Content-Range's total, else the body's length (plus
         * what was already there unless the answer was the whole file), else a HEAD's length. */
        int64_t total = x.cr_total;
        if (total < 0 && cl >= 0)
            total = (code == 200 ? 0 : x.offset) + (int64_t)cl;
        if (total < 0) {
            long hcode;
            if (hs_download_head(url, &total, &hcode, errbuf) != CURLE_OK)
                total = -1;
        }
        if (total >= 0 && got != total)
            return hs_error_set(HS_ERR_IO, "%s: got %" PRId64 " of the %" PRId64 " bytes announced; %s is kept, %s",
                                url, got, total, part, "rerun to resume");
        if (total < 0 && !cfg->quiet)
            fprintf(stderr, "download: %s announced no size; %s was not size-checked\n", url, archive);
        hs_progress_finish(&x.prog, "%.1f MB fetched", (double)x.written / 1e6);
        break;
    }
    if (hs_download_file_size(part) < 0)
        return hs_error_set(HS_ERR_IO, "%s: download failed twice (the server rejects the resume)", url);
    if (rename(part, archive) != 0)
        return hs_error_set(HS_ERR_IO, "%s: cannot rename to %s: %s", part, archive, strerror(errno));
    return HS_OK;
}

/* Uses a complete archive already in out_dir when the server's size agrees (or no server
 * answers). Sets *use to 1 when it does; removes a stale one (other size) and sets *use to 0. */
static hs_status hs_download_check_cached(const hs_download_config *cfg, const char *url, const char *archive,
                                          int *use)
{
    *use = 0;
    int64_t have = hs_download_file_size(archive);
    if (have < 0)
        return HS_OK;
    char errbuf[CURL_ERROR_SIZE];
    int64_t len;
    long code;
    CURLcode rc = hs_download_head(url, &len, &code, errbuf);
    if (rc != CURLE_OK || len < 0) {
        if (!cfg->quiet)
            fprintf(stderr, "download: cannot check %s against %s (%s); using it unchecked\n", archive, url,
                    rc == CURLE_OK ? "no size announced" : errbuf[0] ? errbuf : curl_easy_strerror(rc));
        *use = 1;
        return HS_OK;
    }
    if (len == have) {
        if (!cfg->quiet)
            fprintf(stderr, "download: %s is complete (%" PRId64 " bytes); not fetching again\n", archive, have);
        *use = 1;
        return HS_OK;
    }
    if (!cfg->quiet)
        fprintf(stderr, "download: %s has %" PRId64 " bytes but %s has %" PRId64 "; fetching again\n", archive,
                have, url, len);
    if (unlink(archive) != 0)
        return hs_error_set(HS_ERR_IO, "%s: cannot remove the stale archive: %s", archive, strerror(errno));
    return HS_OK;
}

/* The day of an invocation-count file name (1..14), or 0 when the name is something else. */
static int hs_download_day_of(const char *base)
{
    char want[64];
    for (int d = 1; d <= HS_DOWNLOAD_MAX_DAY; d++) {
        snprintf(want, sizeof want, hs_download_day_fmt, d);
        if (strcmp(base, want) == 0)
            return d;
    }
    return 0;
}

/* Streams the archive, writing the chosen days into out_dir through an hs_outset. A damaged
 * archive is removed, so that the next run fetches it again. */
static hs_status hs_download_extract(const hs_download_config *cfg, const char *archive, int64_t archive_bytes,
                                     hs_download_summary *sum)
{
    hs_outset *os = NULL;
    HS_TRY(hs_outset_open(cfg->out_dir, &os));
    struct archive *a = archive_read_new();
    char *buf = malloc(hs_download_copy_bytes);
    hs_status st = HS_OK;
    int damaged = 0;
    int found[HS_DOWNLOAD_MAX_DAY + 1] = {0};
    int nwant = cfg->day_last - cfg->day_first + 1, nfound = 0;
    int64_t bytes = 0;
    hs_progress prog;
    hs_progress_start(&prog, "extract", (double)archive_bytes, cfg->quiet);
    if (!a || !buf) {
        st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory", archive);
        goto done;
    }
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    if (archive_read_open_filename(a, archive, 1 << 16) != ARCHIVE_OK) {
        damaged = archive_errno(a) != ENOENT && archive_errno(a) != EACCES;
        st = hs_error_set(damaged ? HS_ERR_INPUT : HS_ERR_IO, "%s: cannot open the archive: %s", archive,
                          archive_error_string(a));
        goto done;
    }
    while (nfound < nwant) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            damaged = 1;
            st = hs_error_set(HS_ERR_INPUT, "%s: damaged archive: %s", archive, archive_error_string(a));
            goto done;
        }
        const char *path = archive_entry_pathname(e);
        if (!path || archive_entry_filetype(e) != AE_IFREG)
            continue;
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        int day = hs_download_day_of(base);
        if (day < cfg->day_first || day > cfg->day_last || found[day])
            continue;
        FILE *f;
        const char *tmp;
        if ((st = hs_outset_file(os, base, &f, &tmp)))
            goto done;
        for (;;) {
            la_ssize_t n = archive_read_data(a, buf, hs_download_copy_bytes);
            if (n == 0)
                break;
            if (n < 0) {
                damaged = 1;
                st = hs_error_set(HS_ERR_INPUT, "%s: damaged archive while reading %s: %s", archive, path,
                                  archive_error_string(a));
                goto done;
            }
            if (fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
                st = hs_error_set(HS_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
                goto done;
            }
            bytes += n;
            hs_progress_update(&prog, (double)archive_filter_bytes(a, -1), "%d of %d files", nfound, nwant);
        }
        found[day] = 1;
        nfound++;
    }
    if (nfound < nwant) {
        char missing[256] = "";
        size_t len = 0;
        for (int d = cfg->day_first; d <= cfg->day_last && len < sizeof missing; d++)
            if (!found[d])
                len += (size_t)snprintf(missing + len, sizeof missing - len, len ? ", d%02d" : "d%02d", d);
        st = hs_error_set(HS_ERR_INPUT, "%s: the archive has no %s for %s (days %d-%d asked)", archive,
                          "invocations_per_function_md.anon.dNN.csv", missing, cfg->day_first, cfg->day_last);
        goto done;
    }
    if ((st = hs_outset_commit(os)))
        goto done;
    sum->files_extracted = nfound;
    sum->extracted_bytes = bytes;
    hs_progress_finish(&prog, "%d files, %.1f MB", nfound, (double)bytes / 1e6);
done:
    if (a)
        archive_read_free(a);
    free(buf);
    hs_outset_free(os);
    if (damaged && unlink(archive) == 0 && !cfg->quiet)
        fprintf(stderr, "download: removed the damaged %s; the next run fetches it again\n", archive);
    return st;
}

hs_status hs_download_azure2019(const hs_download_config *cfg, hs_download_summary *sum)
{
    hs_download_summary local;
    if (!sum)
        sum = &local;
    memset(sum, 0, sizeof *sum);
    double t0 = hs_time_now();
    if (!cfg || !cfg->out_dir || !cfg->out_dir[0])
        return hs_error_set(HS_ERR_USAGE, "download: no output folder given");
    if (cfg->day_first < 1 || cfg->day_last > HS_DOWNLOAD_MAX_DAY || cfg->day_first > cfg->day_last)
        return hs_error_set(HS_ERR_USAGE, "download: days %d-%d are outside 1-%d", cfg->day_first, cfg->day_last,
                            HS_DOWNLOAD_MAX_DAY);
    const char *url = cfg->url ? cfg->url : HS_AZURE2019_URL;

    struct stat sb;
    int created_dir = stat(cfg->out_dir, &sb) != 0;
    HS_TRY(hs_mkdir_p(cfg->out_dir));
    char *name = hs_download_archive_name(url);
    char *archive = name ? hs_download_join(cfg->out_dir, name, "") : NULL;
    char *part = name ? hs_download_join(cfg->out_dir, name, ".part") : NULL;
    hs_status st = HS_OK;
    int curl_up = 0;
    if (!archive || !part) {
        st = hs_error_set(HS_ERR_NOMEM, "download: out of memory");
        goto done;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        st = hs_error_set(HS_ERR_INTERNAL, "%s: curl_global_init failed", url);
        goto done;
    }
    curl_up = 1;

    int cached = 0;
    if ((st = hs_download_check_cached(cfg, url, archive, &cached)))
        goto done;
    if (!cached && (st = hs_download_fetch(cfg, url, part, archive, sum)))
        goto done;
    sum->archive_bytes = hs_download_file_size(archive);
    if ((st = hs_download_extract(cfg, archive, sum->archive_bytes, sum)))
        goto done;
    if (!cfg->keep_archive && unlink(archive) != 0)
        st = hs_error_set(HS_ERR_IO, "%s: cannot remove the archive: %s", archive, strerror(errno));

done:
    if (curl_up)
        curl_global_cleanup();
    if (st && created_dir)
        rmdir(cfg->out_dir); /* only succeeds when nothing was left in it */
    free(name);
    free(archive);
    free(part);
    sum->seconds = hs_time_now() - t0;
    return st;
}
