/* test_faults.c: what a run leaves behind when the world fails under it. A `hyscale run` killed
 * with SIGKILL at pseudo-random moments leaves every file under its final name complete (CSV,
 * JSON, safetensors, PNG checked by their structure), and the next run into the same folder
 * succeeds and leaves no temporaries; stale temporaries of a dead process are removed, a live
 * process's are kept; a full disk (RLIMIT_FSIZE, SIGXFSZ ignored, so write() fails with EFBIG)
 * gives a message naming the file and the error and no partial file; and the shared writers
 * refuse non-finite numbers, naming the file, line and column (or key). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hs_test.h"
#include "hyscale/forecast_csv.h"
#include "hyscale/manifest.h"
#include "hyscale/outfiles.h"
#include "hyscale/series.h"

/* ---- running the binary with a file size limit, or to kill it ------------------------------ */

/* Starts `hyscale argv...` (NULL-terminated) with stdout to /dev/null and stderr to errpath;
 * fsize > 0: RLIMIT_FSIZE of that many bytes and SIGXFSZ ignored (a write past it fails with
 * EFBIG, as on a full disk). Returns the pid. */
static pid_t spawn(const char *const *args, long fsize, const char *errpath)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = HS_BINARY;
    for (int i = 0; args[i] && argc < 63; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(nul, 1);
        dup2(efd, 2);
        if (fsize > 0) {
            struct rlimit rl = {(rlim_t)fsize, (rlim_t)fsize};
            signal(SIGXFSZ, SIG_IGN);
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execv(HS_BINARY, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int wait_code(pid_t pid)
{
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- checking what is under a final name --------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* 1 when name is one of ours: `.<name>.tmp.<pid>`. */
static int is_temp(const char *name) { return name[0] == '.' && strstr(name, ".tmp.") != NULL; }

/* Every line ends with a newline and has the header's field count (commas outside quotes). */
static int csv_complete(const char *text, size_t len, char *why, size_t cap)
{
    if (len == 0 || text[len - 1] != '\n') {
        snprintf(why, cap, "empty or no final newline (%zu bytes)", len);
        return 0;
    }
    int fields = -1, cur = 1, quoted = 0;
    long line = 1;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '"')
            quoted = !quoted;
        else if (c == ',' && !quoted)
            cur++;
        else if (c == '\n' && !quoted) {
            if (fields < 0)
                fields = cur;
            else if (cur != fields) {
                snprintf(why, cap, "line %ld: %d fields, the header has %d", line, cur, fields);
                return 0;
            }
            cur = 1;
            line++;
        } else if (c == '\0') {
            snprintf(why, cap, "line %ld: a NUL byte", line);
            return 0;
        }
    }
    return 1;
}

static int json_complete(const char *text, size_t len, char *why, size_t cap)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        snprintf(why, cap, "does not parse (offset %ld of %zu)", end ? (long)(end - text) : -1L, len);
        return 0;
    }
    cJSON_Delete(j);
    return 1;
}

/* Header length, header JSON, and the tensors' offsets ending exactly at the end of the file. */
static int safetensors_complete(const char *b, size_t len, char *why, size_t cap)
{
    if (len < 8) {
        snprintf(why, cap, "%zu bytes: no header length", len);
        return 0;
    }
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (unsigned char)b[i];
    if (hl > len - 8) {
        snprintf(why, cap, "header length %llu past the end (%zu bytes)", (unsigned long long)hl, len);
        return 0;
    }
    cJSON *h = cJSON_ParseWithLength(b + 8, (size_t)hl);
    if (!h) {
        snprintf(why, cap, "header JSON does not parse");
        return 0;
    }
    double end = 0;
    for (cJSON *t = h->child; t; t = t->next) {
        cJSON *o = cJSON_GetObjectItem(t, "data_offsets");
        if (cJSON_GetArraySize(o) == 2 && cJSON_GetArrayItem(o, 1)->valuedouble > end)
            end = cJSON_GetArrayItem(o, 1)->valuedouble;
    }
    cJSON_Delete(h);
    if ((size_t)end != len - 8 - hl) {
        snprintf(why, cap, "data section %zu bytes, the tensors cover %.0f", len - 8 - (size_t)hl, end);
        return 0;
    }
    return 1;
}

static int png_complete(const char *b, size_t len, char *why, size_t cap)
{
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    if (len < 20 || memcmp(b, "\x89PNG", 4) != 0 || memcmp(b + len - 12, iend, 12) != 0) {
        snprintf(why, cap, "not a whole PNG (%zu bytes, no IEND at the end)", len);
        return 0;
    }
    return 1;
}

/* Checks every file under dir (recursively); counts the temporaries in *temps. Returns the
 * number of damaged final files, each reported in msg (the first). */
static int check_folder(const char *dir, int *temps, int *finals, char *msg, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int bad = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (lstat(p, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            bad += check_folder(p, temps, finals, bad ? NULL : msg, cap);
            continue;
        }
        if (is_temp(de->d_name)) {
            (*temps)++;
            continue;
        }
        (*finals)++;
        size_t len = 0;
        char *t = hs_test_read_file(p, &len);
        char why[256] = "";
        int ok = t != NULL;
        if (!ok)
            snprintf(why, sizeof why, "cannot be read");
        else if (ends_with(p, ".csv"))
            ok = csv_complete(t, len, why, sizeof why);
        else if (ends_with(p, ".json"))
            ok = json_complete(t, len, why, sizeof why);
        else if (ends_with(p, ".safetensors"))
            ok = safetensors_complete(t, len, why, sizeof why);
        else if (ends_with(p, ".png"))
            ok = png_complete(t, len, why, sizeof why);
        else if (ends_with(p, ".md"))
            ok = len > 0 && t[len - 1] == '\n', snprintf(why, sizeof why, "empty or no final newline");
        else
            ok = len > 0, snprintf(why, sizeof why, "empty");
        free(t);
        if (!ok) {
            if (!bad && msg)
                snprintf(msg, cap, "%s: %s", p, why);
            bad++;
        }
    }
    closedir(d);
    return bad;
}

/* ---- SIGKILL at random moments ------------------------------------------------------------- */

/* A small run: about 2-3 s in a release build (built-in trace of 2 days x 40 functions, one
 * LSTM epoch of H = 8, 4096 PPO steps per agent). */
static const char *const small_run[] = {"run",           "--days",        "2",     "--functions", "40", "--top-functions",
                                        "5",             "--seed",        "3",     "--lstm-epochs", "1", "--lstm-hidden",
                                        "8",             "--ppo-steps",   "4096",  "--quiet",       NULL};

static void run_args(const char *out, const char **argv)
{
    int n = 0;
    for (; small_run[n]; n++)
        argv[n] = small_run[n];
    argv[n++] = "--out";
    argv[n++] = out;
    argv[n] = NULL;
}

Test(faults, sigkill_never_leaves_a_damaged_final_file, .timeout = 240)
{
    char *dir = hs_test_scratch("kill");
    char out[512], errp[600], msg[1200] = "";
    snprintf(out, sizeof out, "%s/run", dir);
    snprintf(errp, sizeof errp, "%s/stderr.txt", dir);
    const char *argv[40];
    run_args(out, argv);

    /* one whole run to learn how long a run takes here (a sanitizer build is slower) */
    double t0 = now_s();
    int rc = wait_code(spawn(argv, 0, errp));
    double whole = now_s() - t0;
    cr_assert_eq(rc, 0, "the uninterrupted run failed: %s", hs_test_read_file(errp, NULL));

    /* kills at pseudo-random moments over the run (fixed LCG: the same moments every time,
     * relative to the run's length), into the same folder, each over the last one's leftovers */
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int kills = 0, finished = 0;
    for (int k = 0; k < 8 && (k < 4 || now_s() - t0 < 15 + 2 * whole); k++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double frac = (double)(s >> 11) / 9007199254740992.0; /* [0, 1) */
        double delay = 0.02 + frac * whole;
        pid_t pid = spawn(argv, 0, errp);
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        rc = wait_code(pid);
        if (rc == 128 + SIGKILL)
            kills++;
        else
            finished++;
        int temps = 0, finals = 0;
        int bad = check_folder(out, &temps, &finals, msg, sizeof msg);
        cr_assert_eq(bad, 0, "after a SIGKILL at %.2f s of a %.2f s run: %d damaged file(s), first %s", delay, whole,
                     bad, msg);
    }
    cr_assert_geq(kills, 3, "only %d of the runs were killed before they ended", kills);

    /* the next run into the same folder succeeds and removes every stale temporary */
    rc = wait_code(spawn(argv, 0, errp));
    cr_assert_eq(rc, 0, "the run after the kills failed: %s", hs_test_read_file(errp, NULL));
    int temps = 0, finals = 0;
    cr_assert_eq(check_folder(out, &temps, &finals, msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(temps, 0, "%d temporaries left after a whole run", temps);
    cr_assert_geq(finals, 26);
    cr_log_info("%d runs killed, %d finished first; %.2f s a run", kills, finished, whole);
}

/* ---- stale temporaries ------------------------------------------------------------------- */

static pid_t dead_pid(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return pid;
}

static int exists(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat sb;
    return lstat(p, &sb) == 0;
}

Test(faults, stale_temporaries_of_dead_processes_are_removed)
{
    char *dir = hs_test_scratch("stale");
    char *series = hs_test_keep(hs_test_make_series(dir, 2, 20, 0));
    cr_assert(series, "could not make the series");
    char out[512], name[800], dead[128], live[128], other[128], notours[128];
    snprintf(out, sizeof out, "%s/out", dir);
    cr_assert_eq(hs_mkdir_p(out), HS_OK);
    long gone = (long)dead_pid();
    cr_assert_eq(kill((pid_t)gone, 0), -1, "pid %ld still alive", gone);
    snprintf(dead, sizeof dead, ".prophet_full.csv.tmp.%ld", gone);
    snprintf(other, sizeof other, ".series.csv.tmp.%ld", gone); /* any name of the pattern */
    snprintf(live, sizeof live, ".prophet_next.csv.tmp.%ld", (long)getpid());
    snprintf(notours, sizeof notours, ".notes.tmp.%ldx", gone);
    const char *all[4] = {dead, other, live, notours};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s/%s", out, all[i]);
        cr_assert_eq(hs_test_write_file(name, "ds,y\n2020-01-01 00:00:00,"), 0);
    }
    char *err;
    cr_assert_eq(hs_test_run(&err, "forecast", "prophet", "--input", series, "--out", out, "--quiet", "--horizon",
                             "60", "--uncertainty-samples", "50", NULL),
                 0, "%s", err);
    free(err);
    cr_assert(!exists(out, dead), "%s (dead pid) left behind", dead);
    cr_assert(!exists(out, other), "%s (dead pid) left behind", other);
    cr_assert(exists(out, live), "%s (a live process's) was removed", live);
    cr_assert(exists(out, notours), "%s (not our pattern) was removed", notours);
    cr_assert(hs_test_nonempty(out, "prophet_full.csv"));

    /* the library call alone: counts what it removed, keeps its own process's */
    snprintf(name, sizeof name, "%s/%s", out, dead);
    cr_assert_eq(hs_test_write_file(name, "x"), 0);
    cr_assert_eq(hs_outset_clean_stale(out), 1);
    cr_assert_eq(hs_outset_clean_stale(out), 0);
    cr_assert(exists(out, live));
}

/* ---- a full disk ------------------------------------------------------------------------- */

/* A limit that lets the series exist but not prophet_full.csv (160 KB for 2 days): the stage
 * fails naming the file and EFBIG, and no prophet file is left under any name. */
Test(faults, full_disk_fails_clearly_and_leaves_nothing, .timeout = 120)
{
    char *dir = hs_test_scratch("full");
    char *series = hs_test_keep(hs_test_make_series(dir, 2, 20, 0));
    cr_assert(series, "could not make the series");
    char out[512], errp[600];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(errp, sizeof errp, "%s/stderr.txt", dir);
    const char *args[] = {"forecast", "prophet", "--input", series, "--out", out, "--quiet", NULL};
    int rc = wait_code(spawn(args, 130000, errp));
    char *err = hs_test_read_file(errp, NULL);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
    cr_assert(strstr(err, "prophet_full.csv") && strstr(err, strerror(EFBIG)), "message lacks the file or the error: %s",
              err);
    free(err);
    cr_assert_eq(hs_test_count_entries(out), -1, "output left behind in %s", out);

    /* the whole run under the same limit fails at its first file past the limit (a PNG, whose
     * library ignores write errors): every final file is complete, no temporary is left */
    char run[512];
    snprintf(run, sizeof run, "%s/run", dir);
    const char *argv[40];
    run_args(run, argv);
    rc = wait_code(spawn(argv, 130000, errp));
    err = hs_test_read_file(errp, NULL);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
    cr_assert(strstr(err, "write failed"), "%s", err);
    int temps = 0, finals = 0;
    char msg[1200] = "";
    cr_assert_eq(check_folder(run, &temps, &finals, msg, sizeof msg), 0, "%s (the run said: %s)", msg, err);
    cr_assert_eq(temps, 0);
    free(err);
}

/* ---- non-finite numbers ------------------------------------------------------------------ */

static char *write_forecast(const hs_forecast_rows *r, hs_status *st, const char *dir)
{
    static char p[600];
    snprintf(p, sizeof p, "%s/f.csv", dir);
    FILE *f = fopen(p, "w");
    *st = hs_forecast_csv_write(f, p, r);
    fclose(f);
    return p;
}

Test(faults, forecast_csv_refuses_non_finite_values)
{
    char *dir = hs_test_scratch("nan");
    float y[3] = {1, NAN, NAN}, yh[3] = {1, NAN, 3}, lo[3] = {0, 1, 2}, up[3] = {2, 3, INFINITY};
    hs_status st;
    /* a NaN yhat in row 2 (line 3) */
    hs_forecast_rows r = {1561939200, 60, 3, y, yh, NULL, NULL};
    const char *p = write_forecast(&r, &st, dir);
    cr_assert_neq(st, HS_OK);
    char want[700];
    snprintf(want, sizeof want, "%s:3: column 3 (yhat): non-finite value 'nan'", p);
    cr_assert(strstr(hs_error_message(), want), "'%s' lacks '%s'", hs_error_message(), want);
    /* an infinite upper bound in row 3 */
    yh[1] = 2;
    hs_forecast_rows r2 = {1561939200, 60, 3, y, yh, lo, up};
    write_forecast(&r2, &st, dir);
    cr_assert_neq(st, HS_OK);
    cr_assert(strstr(hs_error_message(), ":4: column 5 (yhat_upper): non-finite value 'inf'"), "%s",
              hs_error_message());
    /* an infinite y is refused; a NaN y is the documented empty field */
    up[2] = 4;
    y[0] = -INFINITY;
    write_forecast(&r2, &st, dir);
    cr_assert(strstr(hs_error_message(), ":2: column 2 (y): non-finite value '-inf'"), "%s", hs_error_message());
    y[0] = 1;
    p = write_forecast(&r2, &st, dir);
    cr_assert_eq(st, HS_OK, "%s", hs_error_message());
    char *t = hs_test_read_file(p, NULL);
    cr_assert_str_eq(t, "ds,y,yhat,yhat_lower,yhat_upper\n"
                        "2019-07-01 00:00:00,1,1,0,2\n"
                        "2019-07-01 00:01:00,,2,1,3\n"
                        "2019-07-01 00:02:00,,3,2,4\n");
    free(t);
    /* appended rows (line unknown) are named by their time */
    FILE *f = fopen(p, "w");
    float bad = NAN;
    hs_forecast_rows one = {1561939200, 60, 1, NULL, &bad, NULL, NULL};
    cr_assert_neq(hs_forecast_csv_write_rows(f, p, &one), HS_OK);
    fclose(f);
    cr_assert(strstr(hs_error_message(), "row at 2019-07-01 00:00:00: column 3 (yhat)"), "%s", hs_error_message());
}

Test(faults, series_csv_refuses_non_finite_values)
{
    char *dir = hs_test_scratch("nans");
    char p[600];
    snprintf(p, sizeof p, "%s/series.csv", dir);
    hs_series s;
    cr_assert_eq(hs_series_init(&s, 3, 60, 1561939200), HS_OK);
    for (int i = 0; i < 3; i++)
        s.invocations[i] = s.clipped[i] = (float)i, s.log1p[i] = log1pf((float)i);
    s.clipped[1] = INFINITY;
    FILE *f = fopen(p, "w");
    cr_assert_neq(hs_series_write_csv(&s, f, p), HS_OK);
    fclose(f);
    char want[700];
    snprintf(want, sizeof want, "%s:3: column 4 (clipped): non-finite value 'inf'", p);
    cr_assert(strstr(hs_error_message(), want), "'%s' lacks '%s'", hs_error_message(), want);
    hs_series_free(&s);
}

Test(faults, json_writer_refuses_non_finite_numbers)
{
    char *dir = hs_test_scratch("nanj");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "ok", 1.5);
    cJSON *m = cJSON_AddObjectToObject(j, "metrics");
    cJSON *a = cJSON_AddArrayToObject(m, "loss");
    cJSON_AddItemToArray(a, cJSON_CreateNumber(0.5));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(NAN));
    hs_outset *os;
    cr_assert_eq(hs_outset_open(dir, &os), HS_OK);
    cr_assert_neq(hs_json_write(os, "m.json", j), HS_OK);
    cr_assert(strstr(hs_error_message(), "m.json: key 'metrics.loss[1]': non-finite value"), "%s",
              hs_error_message());
    hs_outset_free(os);
    cr_assert(!exists(dir, "m.json"));
    cJSON_ReplaceItemInArray(a, 1, cJSON_CreateNumber(0.25));
    cr_assert_eq(hs_json_write_file(dir, "m.json", j), HS_OK, "%s", hs_error_message());
    cJSON_Delete(j);
}
