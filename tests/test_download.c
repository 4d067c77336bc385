/* test_download.c: hs_download_azure2019 against a local HTTP server.
 *
 * The real archive's host cannot be reached from our machines, so each test builds a small
 * .tar.xz with libarchive in the 2019 layout (a folder holding invocations_per_function_md.anon.
 * d01..d03.csv and an unrelated file) and serves it with tests/support/range_http_server.py on
 * 127.0.0.1 (python3 from PATH). Covered: a full fetch that extracts only the chosen days, the
 * cached archive (server up and server gone), a cut transfer resumed with a range request, a
 * server that ignores ranges, HTTP 404, a day missing from the archive, and damaged archives.
 *
 * No assertion runs while a server is up: each test collects its results, stops the server,
 * then asserts, so a failure never leaves a server behind (it also dies with the test process
 * and exits by itself after --lifetime seconds).
 */
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "hs_test.h"
#include "hyscale/download.h"

#define HS_DL_ARCHIVE "azurefunctions-dataset2019.tar.xz"
#define HS_DL_FOLDER "azurefunctions-dataset2019"
#define HS_DL_DAYS_IN_ARCHIVE 3

typedef struct hs_dl_server {
    pid_t pid;
    int port; /* 0 when the server did not start */
} hs_dl_server;

typedef struct hs_dl_result {
    hs_status st;
    hs_download_summary sum;
    char msg[1024];
} hs_dl_result;

/* One day's CSV in the 2019 layout: owner, app, function hashes, trigger, then 1440 per-minute
 * counts. Deterministic in the day; malloc'd, *len gets its length. */
static char *hs_dl_day_csv(int day, size_t *len)
{
    size_t cap = 200000, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s + n, cap - n, "HashOwner,HashApp,HashFunction,Trigger");
    for (int m = 1; m <= 1440; m++)
        n += (size_t)snprintf(s + n, cap - n, ",%d", m);
    n += (size_t)snprintf(s + n, cap - n, "\n");
    static const char *const triggers[] = {"http", "timer", "queue", "event"};
    unsigned long long x = 0x9E3779B97F4A7C15ull * (unsigned long long)day;
    for (int row = 0; row < 6; row++) {
        for (int h = 0; h < 3; h++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            n += (size_t)snprintf(s + n, cap - n, "%s%016llx%016llx", h ? "," : "", x, x ^ 0xABCDEFull);
        }
        n += (size_t)snprintf(s + n, cap - n, ",%s", triggers[row % 4]);
        for (int m = 0; m < 1440; m++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            n += (size_t)snprintf(s + n, cap - n, ",%llu", (x >> 33) % 60);
        }
        n += (size_t)snprintf(s + n, cap - n, "\n");
    }
    *len = n;
    return s;
}

static void hs_dl_add_entry(struct archive *a, const char *path, const char *data, size_t len, int dir)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, dir ? 0755 : 0644);
    archive_entry_set_size(e, dir ? 0 : (la_int64_t)len);
    archive_entry_set_mtime(e, 1546300800, 0);
    cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s", archive_error_string(a));
    if (!dir)
        cr_assert_eq(archive_write_data(a, data, len), (la_ssize_t)len, "%s", archive_error_string(a));
    archive_entry_free(e);
}

/* Writes the test archive: the folder, d01..d03 with an unrelated file among them. */
static void hs_dl_make_archive(const char *path)
{
    struct archive *a = archive_write_new();
    cr_assert_eq(archive_write_add_filter_xz(a), ARCHIVE_OK, "%s", archive_error_string(a));
    cr_assert_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK, "%s", archive_error_string(a));
    hs_dl_add_entry(a, HS_DL_FOLDER "/", NULL, 0, 1);
    for (int d = 1; d <= HS_DL_DAYS_IN_ARCHIVE; d++) {
        size_t len;
        char *csv = hs_dl_day_csv(d, &len);
        char name[256];
        snprintf(name, sizeof name, HS_DL_FOLDER "/invocations_per_function_md.anon.d%02d.csv", d);
        hs_dl_add_entry(a, name, csv, len, 0);
        if (d == 1) {
            snprintf(name, sizeof name, HS_DL_FOLDER "/function_durations_percentiles.anon.d%02d.csv", d);
            hs_dl_add_entry(a, name, csv, len / 2, 0);
        }
        free(csv);
    }
    cr_assert_eq(archive_write_close(a), ARCHIVE_OK, "%s", archive_error_string(a));
    archive_write_free(a);
}

static char *hs_dl_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    snprintf(s, n, "%s/%s", dir, name);
    return s;
}

static int64_t hs_dl_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

static int hs_dl_exists(const char *dir, const char *name)
{
    char *p = hs_dl_path(dir, name);
    int ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

/* 1 when dir/name holds exactly day's CSV. */
static int hs_dl_day_ok(const char *dir, int day)
{
    char name[128];
    snprintf(name, sizeof name, "invocations_per_function_md.anon.d%02d.csv", day);
    char *p = hs_dl_path(dir, name);
    size_t got_len = 0, want_len;
    char *got = hs_test_read_file(p, &got_len);
    char *want = hs_dl_day_csv(day, &want_len);
    int ok = got && got_len == want_len && memcmp(got, want, want_len) == 0;
    free(got);
    free(want);
    free(p);
    return ok;
}

/* 1 when the two files hold the same bytes. */
static int hs_dl_same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    char *x = hs_test_read_file(a, &la), *y = hs_test_read_file(b, &lb);
    int ok = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return ok;
}

/* Starts the server on root with extra flags (NULL-terminated list, may be empty). Never asserts:
 * port is 0 when it did not come up within 10 s. */
static hs_dl_server hs_dl_server_start(const char *root, const char *flag1, const char *flag2)
{
    hs_dl_server s = {.pid = -1, .port = 0};
    int fds[2];
    if (pipe(fds) != 0)
        return s;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return s;
    }
    if (pid == 0) {
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        const char *argv[12];
        int n = 0;
        argv[n++] = "python3";
        argv[n++] = HS_SOURCE_DIR "/tests/support/range_http_server.py";
        argv[n++] = "--root";
        argv[n++] = root;
        argv[n++] = "--lifetime";
        argv[n++] = "40";
        if (flag1)
            argv[n++] = flag1;
        if (flag2)
            argv[n++] = flag2;
        argv[n] = NULL;
        execvp("python3", (char *const *)argv);
        fprintf(stderr, "test_download: cannot run python3 from PATH: %s\n", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    s.pid = pid;
    char line[64];
    size_t got = 0;
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    while (got < sizeof line - 1 && !memchr(line, '\n', got) && poll(&pfd, 1, 10000) > 0) {
        ssize_t r = read(fds[0], line + got, sizeof line - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    line[got] = '\0';
    if (memchr(line, '\n', got))
        s.port = atoi(line);
    return s;
}

/* SIGTERM, then SIGKILL when it has not exited within 2 s; always reaps it. */
static void hs_dl_server_stop(hs_dl_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = -1;
            return;
        }
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 10000000}, NULL);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = -1;
}

static hs_dl_result hs_dl_call(const char *url, const char *out, int first, int last, int keep)
{
    hs_download_config cfg = {
        .url = url, .day_first = first, .day_last = last, .out_dir = out, .quiet = 1, .keep_archive = keep};
    hs_dl_result r;
    memset(&r, 0, sizeof r);
    hs_error_clear();
    r.st = hs_download_azure2019(&cfg, &r.sum);
    snprintf(r.msg, sizeof r.msg, "%s", hs_error_message());
    return r;
}

/* A test's folders: tmp/srv (served, holding the archive) and tmp/out. */
typedef struct hs_dl_dirs {
    char *tmp, *srv, *out, *archive, *out_archive, *out_part;
    int64_t archive_bytes;
} hs_dl_dirs;

static hs_dl_dirs hs_dl_dirs_make(const char *tag, int make_out)
{
    hs_dl_dirs d;
    d.tmp = hs_test_tmpdir(tag);
    cr_assert(d.tmp);
    d.srv = hs_dl_path(d.tmp, "srv");
    d.out = hs_dl_path(d.tmp, "out");
    cr_assert_eq(mkdir(d.srv, 0755), 0);
    if (make_out)
        cr_assert_eq(mkdir(d.out, 0755), 0);
    d.archive = hs_dl_path(d.srv, HS_DL_ARCHIVE);
    d.out_archive = hs_dl_path(d.out, HS_DL_ARCHIVE);
    d.out_part = hs_dl_path(d.out, HS_DL_ARCHIVE ".part");
    hs_dl_make_archive(d.archive);
    d.archive_bytes = hs_dl_size(d.archive);
    return d;
}

/* Removes path and everything under it (no symlinks are followed). */
static void hs_dl_remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p = hs_dl_path(path, e->d_name);
            hs_dl_remove_tree(p);
            free(p);
        }
        if (dir)
            closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Removes the test's folders (only reached when every assertion passed: a failure keeps them
 * for a look) and frees the paths. */
static void hs_dl_dirs_free(hs_dl_dirs *d)
{
    hs_dl_remove_tree(d->tmp);
    free(d->tmp);
    free(d->srv);
    free(d->out);
    free(d->archive);
    free(d->out_archive);
    free(d->out_part);
}

static void hs_dl_url(char *buf, size_t cap, int port, const char *name)
{
    snprintf(buf, cap, "http://127.0.0.1:%d/%s", port, name);
}

Test(download, fetches_and_extracts_only_the_chosen_days, .timeout = 30)
{
    hs_dl_dirs d = hs_dl_dirs_make("dl_full", 0);
    hs_dl_server srv = hs_dl_server_start(d.srv, NULL, NULL);
    int port = srv.port;
    char url[256];
    hs_dl_url(url, sizeof url, port, HS_DL_ARCHIVE);
    hs_dl_result first = {0}, cached = {0}, offline = {0};
    int part_left = 0, same = 0;
    if (port) {
        first = hs_dl_call(url, d.out, 1, 2, 1);
        part_left = access(d.out_part, F_OK) == 0;
        same = hs_dl_same_file(d.archive, d.out_archive);
        cached = hs_dl_call(url, d.out, 2, 2, 1);
    }
    hs_dl_server_stop(&srv);
    if (port)
        offline = hs_dl_call(url, d.out, 1, 2, 0); /* nothing listens there now */
    cr_assert(port, "the test server did not start (python3 on PATH?)");

    cr_assert_eq(first.st, HS_OK, "%s", first.msg);
    cr_assert_eq(first.sum.files_extracted, 2);
    cr_assert_eq(first.sum.archive_bytes, d.archive_bytes);
    cr_assert_eq(first.sum.fetched_bytes, d.archive_bytes);
    cr_assert_eq(first.sum.resumed, 0);
    cr_assert_gt(first.sum.extracted_bytes, 0);
    cr_assert(!part_left, "the .part is left after a complete download");
    cr_assert(same, "the fetched archive differs from the served one");

    cr_assert_eq(cached.st, HS_OK, "%s", cached.msg);
    cr_assert_eq(cached.sum.fetched_bytes, 0, "a complete archive was fetched again");
    cr_assert_eq(cached.sum.files_extracted, 1);

    cr_assert_eq(offline.st, HS_OK, "an existing archive must be used when no server answers: %s", offline.msg);
    cr_assert_eq(offline.sum.fetched_bytes, 0);
    cr_assert_eq(offline.sum.files_extracted, 2);
    cr_assert(!hs_dl_exists(d.out, HS_DL_ARCHIVE), "keep_archive = 0 must remove the archive");

    cr_assert(hs_dl_day_ok(d.out, 1), "d01 differs from the archive's");
    cr_assert(hs_dl_day_ok(d.out, 2), "d02 differs from the archive's");
    cr_assert(!hs_dl_exists(d.out, "invocations_per_function_md.anon.d03.csv"), "d03 was not asked for");
    cr_assert(!hs_dl_exists(d.out, "function_durations_percentiles.anon.d01.csv"));
    cr_assert_eq(hs_test_count_entries(d.out), 2, "only the two day files may remain");
    hs_dl_dirs_free(&d);
}

Test(download, resumes_a_cut_transfer, .timeout = 30)
{
    hs_dl_dirs d = hs_dl_dirs_make("dl_resume", 1);
    const int64_t cut = 4000;
    hs_dl_server srv = hs_dl_server_start(d.srv, "--drop-after", "4000");
    int port = srv.port;
    char url[256];
    hs_dl_url(url, sizeof url, port, HS_DL_ARCHIVE);
    hs_dl_result cutr = {0}, resumed = {0};
    int64_t part_bytes = -1;
    int archive_after_cut = 0, same = 0;
    if (port) {
        cutr = hs_dl_call(url, d.out, 1, 3, 1);
        part_bytes = hs_dl_size(d.out_part);
        archive_after_cut = hs_dl_exists(d.out, HS_DL_ARCHIVE);
        resumed = hs_dl_call(url, d.out, 1, 3, 1);
        same = hs_dl_same_file(d.archive, d.out_archive);
    }
    hs_dl_server_stop(&srv);
    cr_assert(port, "the test server did not start (python3 on PATH?)");
    cr_assert_gt(d.archive_bytes, 2 * cut, "the test archive is too small to cut (%lld bytes)",
                 (long long)d.archive_bytes);

    cr_assert_eq(cutr.st, HS_ERR_IO, "a cut transfer must fail: %s", cutr.msg);
    cr_assert(strstr(cutr.msg, url), "the message must name the URL: %s", cutr.msg);
    cr_assert_gt(part_bytes, 0, "the .part must be kept for a resume");
    cr_assert_leq(part_bytes, cut);
    cr_assert(!archive_after_cut, "an incomplete archive was renamed into place");

    cr_assert_eq(resumed.st, HS_OK, "%s", resumed.msg);
    cr_assert_eq(resumed.sum.resumed, 1);
    cr_assert_eq(resumed.sum.fetched_bytes, d.archive_bytes - part_bytes);
    cr_assert_lt(resumed.sum.fetched_bytes, d.archive_bytes);
    cr_assert_eq(resumed.sum.archive_bytes, d.archive_bytes);
    cr_assert(same, "the resumed archive differs from the served one");
    cr_assert(!hs_dl_exists(d.out, HS_DL_ARCHIVE ".part"));
    for (int day = 1; day <= 3; day++)
        cr_assert(hs_dl_day_ok(d.out, day), "d%02d differs from the archive's", day);
    hs_dl_dirs_free(&d);
}

Test(download, restarts_when_the_server_ignores_the_range, .timeout = 30)
{
    hs_dl_dirs d = hs_dl_dirs_make("dl_norange", 1);
    /* A .part of garbage: a correct result proves the restart emptied it first. */
    char junk[3000];
    memset(junk, 0xAB, sizeof junk);
    FILE *f = fopen(d.out_part, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    cr_assert_eq(fclose(f), 0);

    hs_dl_server srv = hs_dl_server_start(d.srv, "--ignore-range", NULL);
    int port = srv.port;
    char url[256];
    hs_dl_url(url, sizeof url, port, HS_DL_ARCHIVE);
    hs_dl_result r = {0};
    int same = 0;
    if (port) {
        r = hs_dl_call(url, d.out, 1, 1, 1);
        same = hs_dl_same_file(d.archive, d.out_archive);
    }
    hs_dl_server_stop(&srv);
    cr_assert(port, "the test server did not start (python3 on PATH?)");

    cr_assert_eq(r.st, HS_OK, "%s", r.msg);
    cr_assert_eq(r.sum.resumed, 0);
    cr_assert_eq(r.sum.fetched_bytes, d.archive_bytes);
    cr_assert(same, "the archive differs from the served one");
    cr_assert(hs_dl_day_ok(d.out, 1));
    cr_assert_eq(hs_test_count_entries(d.out), 2, "the archive and d01 only");
    hs_dl_dirs_free(&d);
}

Test(download, http_404_fails_and_leaves_nothing, .timeout = 30)
{
    hs_dl_dirs d = hs_dl_dirs_make("dl_404", 1);
    hs_dl_server srv = hs_dl_server_start(d.srv, NULL, NULL);
    int port = srv.port;
    char url[256];
    hs_dl_url(url, sizeof url, port, "missing.tar.xz");
    char *fresh = hs_dl_path(d.tmp, "fresh/out");
    hs_dl_result r = {0}, r2 = {0};
    if (port) {
        r = hs_dl_call(url, d.out, 1, 2, 1);
        r2 = hs_dl_call(url, fresh, 1, 2, 1);
    }
    hs_dl_server_stop(&srv);
    cr_assert(port, "the test server did not start (python3 on PATH?)");

    cr_assert_eq(r.st, HS_ERR_IO, "%s", r.msg);
    cr_assert(strstr(r.msg, "404"), "the message must carry the HTTP status: %s", r.msg);
    cr_assert(strstr(r.msg, url), "the message must name the URL: %s", r.msg);
    cr_assert_eq(hs_test_count_entries(d.out), 0, "a failed download left files behind");
    cr_assert_eq(r2.st, HS_ERR_IO, "%s", r2.msg);
    cr_assert_eq(hs_test_count_entries(fresh), -1, "a folder the call created must go when it fails");
    free(fresh);
    hs_dl_dirs_free(&d);
}

Test(download, a_missing_day_fails_and_extracts_nothing, .timeout = 30)
{
    hs_dl_dirs d = hs_dl_dirs_make("dl_missing", 1);
    hs_dl_server srv = hs_dl_server_start(d.srv, NULL, NULL);
    int port = srv.port;
    char url[256];
    hs_dl_url(url, sizeof url, port, HS_DL_ARCHIVE);
    hs_dl_result r = {0};
    if (port)
        r = hs_dl_call(url, d.out, 2, 5, 1);
    hs_dl_server_stop(&srv);
    cr_assert(port, "the test server did not start (python3 on PATH?)");

    cr_assert_eq(r.st, HS_ERR_INPUT, "%s", r.msg);
    cr_assert(strstr(r.msg, "d04") && strstr(r.msg, "d05"), "the message must name the missing days: %s", r.msg);
    cr_assert(!strstr(r.msg, "d02") && !strstr(r.msg, "d03,"), "only missing days are named: %s", r.msg);
    cr_assert(strstr(r.msg, HS_DL_ARCHIVE), "the message must name the archive: %s", r.msg);
    cr_assert_eq(hs_test_count_entries(d.out), 1, "only the (valid, kept) archive may remain");
    cr_assert(hs_dl_exists(d.out, HS_DL_ARCHIVE));
    hs_dl_dirs_free(&d);
}

Test(download, a_damaged_archive_fails_clearly, .timeout = 30)
{
    hs_dl_dirs d = hs_dl_dirs_make("dl_damaged", 1);
    /* Served beside the good one: the first half of it, and bytes that are no archive at all. */
    size_t len = 0;
    char *bytes = hs_test_read_file(d.archive, &len);
    cr_assert(bytes && len > 100);
    char *trunc = hs_dl_path(d.srv, "truncated.tar.xz");
    FILE *f = fopen(trunc, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(bytes, 1, len / 2, f), len / 2);
    cr_assert_eq(fclose(f), 0);
    char *garbage = hs_dl_path(d.srv, "garbage.tar.xz");
    cr_assert_eq(hs_test_write_file(garbage, "this is not an archive\n"), 0);
    char *out2 = hs_dl_path(d.tmp, "out2");
    cr_assert_eq(mkdir(out2, 0755), 0);

    hs_dl_server srv = hs_dl_server_start(d.srv, NULL, NULL);
    int port = srv.port;
    char url1[256], url2[256];
    hs_dl_url(url1, sizeof url1, port, "truncated.tar.xz");
    hs_dl_url(url2, sizeof url2, port, "garbage.tar.xz");
    hs_dl_result r1 = {0}, r2 = {0};
    if (port) {
        r1 = hs_dl_call(url1, d.out, 1, 3, 1);
        r2 = hs_dl_call(url2, out2, 1, 3, 1);
    }
    hs_dl_server_stop(&srv);
    cr_assert(port, "the test server did not start (python3 on PATH?)");

    cr_assert_eq(r1.st, HS_ERR_INPUT, "%s", r1.msg);
    cr_assert(strstr(r1.msg, "truncated.tar.xz") && strstr(r1.msg, "damaged"), "unclear message: %s", r1.msg);
    cr_assert_eq(hs_test_count_entries(d.out), 0, "no day file (nor the damaged archive) may remain");
    cr_assert_eq(r2.st, HS_ERR_INPUT, "%s", r2.msg);
    cr_assert(strstr(r2.msg, "garbage.tar.xz"), "unclear message: %s", r2.msg);
    cr_assert_eq(hs_test_count_entries(out2), 0, "no day file (nor the damaged archive) may remain");
    free(bytes);
    free(trunc);
    free(garbage);
    free(out2);
    hs_dl_dirs_free(&d);
}

Test(download, a_complete_part_is_not_fetched_again, .timeout = 30)
{
    /* A .part that already holds the whole archive: the range server answers 416, the other one
     * the whole file (which libcurl stops reading); both must end with the archive, unfetched. */
    hs_dl_dirs d = hs_dl_dirs_make("dl_fullpart", 1);
    char *out2 = hs_dl_path(d.tmp, "out2");
    char *part2 = hs_dl_path(out2, HS_DL_ARCHIVE ".part");
    char *archive2 = hs_dl_path(out2, HS_DL_ARCHIVE);
    cr_assert_eq(mkdir(out2, 0755), 0);
    size_t len = 0;
    char *bytes = hs_test_read_file(d.archive, &len);
    const char *parts[2] = {d.out_part, part2};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(parts[i], "wb");
        cr_assert(f);
        cr_assert_eq(fwrite(bytes, 1, len, f), len);
        cr_assert_eq(fclose(f), 0);
    }
    free(bytes);

    char url[256];
    hs_dl_result r1 = {0}, r2 = {0};
    int same1 = 0, same2 = 0;
    hs_dl_server srv = hs_dl_server_start(d.srv, NULL, NULL);
    int port1 = srv.port;
    if (port1) {
        hs_dl_url(url, sizeof url, port1, HS_DL_ARCHIVE);
        r1 = hs_dl_call(url, d.out, 3, 3, 1);
        same1 = hs_dl_same_file(d.archive, d.out_archive);
    }
    hs_dl_server_stop(&srv);
    srv = hs_dl_server_start(d.srv, "--ignore-range", NULL);
    int port2 = srv.port;
    if (port2) {
        hs_dl_url(url, sizeof url, port2, HS_DL_ARCHIVE);
        r2 = hs_dl_call(url, out2, 3, 3, 1);
        same2 = hs_dl_same_file(d.archive, archive2);
    }
    hs_dl_server_stop(&srv);
    cr_assert(port1 && port2, "the test server did not start (python3 on PATH?)");

    cr_assert_eq(r1.st, HS_OK, "%s", r1.msg);
    cr_assert_eq(r1.sum.fetched_bytes, 0);
    cr_assert(same1);
    cr_assert(hs_dl_day_ok(d.out, 3));
    cr_assert_eq(r2.st, HS_OK, "%s", r2.msg);
    cr_assert_eq(r2.sum.fetched_bytes, 0);
    cr_assert(same2);
    cr_assert(hs_dl_day_ok(out2, 3));
    cr_assert_eq(hs_test_count_entries(d.out), 2, "the archive and d03 only");
    cr_assert_eq(hs_test_count_entries(out2), 2, "the archive and d03 only");
    free(out2);
    free(part2);
    free(archive2);
    hs_dl_dirs_free(&d);
}

/* The command: `hyscale download azure2019 --days 2-3 --url ... --out DIR`, then preprocess of
 * what it extracted (the day files carry the 2019 layout). */
Test(download, the_command_end_to_end, .timeout = 30)
{
    hs_dl_dirs d = hs_dl_dirs_make("dl_cli", 0);
    hs_dl_server srv = hs_dl_server_start(d.srv, NULL, NULL);
    int port = srv.port;
    char url[256];
    hs_dl_url(url, sizeof url, port, HS_DL_ARCHIVE);
    int rc = -1, rc_pre = -1;
    char *err = NULL, *err_pre = NULL;
    char pre_out[600];
    snprintf(pre_out, sizeof pre_out, "%s.pre", d.out);
    if (port)
        rc = hs_test_run(&err, "download", "azure2019", "--days", "2-3", "--url", url, "--out", d.out, "--quiet", NULL);
    hs_dl_server_stop(&srv);
    cr_assert(port, "the test server did not start (python3 on PATH?)");
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(hs_dl_day_ok(d.out, 2) && hs_dl_day_ok(d.out, 3));
    cr_assert(!hs_dl_exists(d.out, "invocations_per_function_md.anon.d01.csv"));
    cr_assert(hs_dl_exists(d.out, "download.manifest.json"));
    cr_assert(hs_dl_exists(d.out, HS_DL_ARCHIVE), "the command keeps the archive by default");
    rc_pre = hs_test_run(&err_pre, "preprocess", "--input", d.out, "--out", pre_out, "--no-plot", NULL);
    cr_assert_eq(rc_pre, 0, "%s", err_pre);
    free(err);
    free(err_pre);
    hs_dl_remove_tree(pre_out);
    hs_dl_dirs_free(&d);
}
