/* hs_test.c: helpers shared by the Criterion tests (hs_test.h). */
#include "hs_test.h"
#include "hyscale/series.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef HS_BINARY
#define HS_BINARY "hyscale"
#endif
#ifndef HS_SOURCE_DIR
#define HS_SOURCE_DIR "."
#endif

int hs_test_close_d(const double *got, const double *ref, int64_t n, double atol, double rtol, char *msg,
                    size_t cap)
{
    int64_t worst = -1;
    double worst_excess = 0;
    for (int64_t i = 0; i < n; i++) {
        double tol = atol + rtol * fabs(ref[i]);
        double d = fabs(got[i] - ref[i]);
        if (isnan(got[i]) || isnan(ref[i])) {
            worst = i;
            worst_excess = INFINITY;
            break;
        }
        if (d > tol && d - tol > worst_excess) {
            worst = i;
            worst_excess = d - tol;
        }
    }
    if (worst < 0)
        return 1;
    snprintf(msg, cap, "worst index %lld: got %.9g, ref %.9g (atol %g, rtol %g)", (long long)worst, got[worst],
             ref[worst], atol, rtol);
    return 0;
}

int hs_test_close(const float *got, const float *ref, int64_t n, double atol, double rtol, char *msg, size_t cap)
{
    double *g = malloc((size_t)(n ? n : 1) * sizeof *g), *r = malloc((size_t)(n ? n : 1) * sizeof *r);
    for (int64_t i = 0; i < n; i++) {
        g[i] = got[i];
        r[i] = ref[i];
    }
    int ok = hs_test_close_d(g, r, n, atol, rtol, msg, cap);
    free(g);
    free(r);
    return ok;
}

const char *hs_test_shared_data(void)
{
    static char buf[4096];
    const char *env = getenv("HYSCALE_SHARED_DATA");
    if (env && *env)
        snprintf(buf, sizeof buf, "%s", env);
    else
        snprintf(buf, sizeof buf, "%s/../shared/data", HS_SOURCE_DIR);
    struct stat sb;
    if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "SKIP: shared data folder %s is absent (set HYSCALE_SHARED_DATA)\n", buf);
        return NULL;
    }
    return buf;
}

const char *hs_test_shared_file(const char *rel)
{
    static char buf[4096];
    const char *d = hs_test_shared_data();
    if (!d)
        return NULL;
    snprintf(buf, sizeof buf, "%s/%s", d, rel);
    if (access(buf, R_OK) != 0) {
        fprintf(stderr, "SKIP: shared data file %s is absent\n", buf);
        return NULL;
    }
    return buf;
}

int hs_test_run(char **err, const char *arg0, ...)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = HS_BINARY;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    char errpath[] = "/tmp/hs_test_err_XXXXXX";
    int efd = mkstemp(errpath);
    if (efd < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        dup2(efd, 2);
        execv(HS_BINARY, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    close(efd);
    if (err)
        *err = hs_test_read_file(errpath, NULL);
    unlink(errpath);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* What the tests keep for their whole life (hs_test_keep), freed at exit: a Criterion worker
 * runs one test and exits, and LeakSanitizer checks after the atexit handlers. */
static char **hs_test_owned;
static int hs_test_nowned;

static void hs_test_release(void)
{
    for (int i = 0; i < hs_test_nowned; i++)
        free(hs_test_owned[i]);
    free(hs_test_owned);
    hs_test_owned = NULL;
    hs_test_nowned = 0;
}

char *hs_test_keep(char *p)
{
    if (!p)
        return NULL;
    char **o = realloc(hs_test_owned, (size_t)(hs_test_nowned + 1) * sizeof *o);
    if (!o) {
        fprintf(stderr, "hs_test_keep: out of memory\n");
        abort();
    }
    if (hs_test_nowned == 0 && !hs_test_owned)
        atexit(hs_test_release);
    hs_test_owned = o;
    hs_test_owned[hs_test_nowned++] = p;
    return p;
}

char *hs_test_tmpdir(const char *tag)
{
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "/tmp/hs_%s_XXXXXX", tag);
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

char *hs_test_scratch(const char *tag) { return hs_test_keep(hs_test_tmpdir(tag)); }

int hs_test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

char *hs_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    fclose(f);
    b[got] = '\0';
    if (len)
        *len = got;
    return b;
}

int hs_test_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

int hs_test_nonempty(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat sb;
    return stat(p, &sb) == 0 && sb.st_size > 0;
}

int hs_test_count_lines(const char *path)
{
    char *t = hs_test_read_file(path, NULL);
    if (!t)
        return -1;
    int n = 0;
    for (char *c = t; *c; c++)
        n += *c == '\n';
    free(t);
    return n;
}

char *hs_test_make_series(const char *dir, int days, int functions, int functions_kept)
{
    char trace[4096], pre[4096], d[16], f[16], k[16], *err = NULL;
    snprintf(trace, sizeof trace, "%s/trace", dir);
    snprintf(pre, sizeof pre, "%s/pre", dir);
    snprintf(d, sizeof d, "%d", days);
    snprintf(f, sizeof f, "%d", functions);
    snprintf(k, sizeof k, "%d", functions_kept);
    int rc = hs_test_run(&err, "generate", "--days", d, "--functions", f, "--out", trace, "--quiet", NULL);
    if (rc == 0) {
        free(err);
        rc = hs_test_run(&err, "preprocess", "--input", trace, "--out", pre, "--functions", k, "--no-plot", "--quiet",
                         NULL);
    }
    if (rc != 0) {
        fprintf(stderr, "hs_test_make_series: %s\n", err ? err : "");
        free(err);
        return NULL;
    }
    free(err);
    char *series = malloc(strlen(pre) + 12);
    sprintf(series, "%s/series.csv", pre);
    return series;
}

int hs_test_rows_read(const char *path, hs_test_rows *fr)
{
    memset(fr, 0, sizeof *fr);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static char line[8192];
    int bad = !fgets(line, sizeof line, f), cap = 0;
    line[strcspn(line, "\r\n")] = 0;
    for (char *p = line, *tok; !bad && (tok = strsep(&p, ",")) && fr->ncol < 16;)
        snprintf(fr->names[fr->ncol++], 32, "%s", tok);
    while (!bad && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (fr->n == cap) {
            cap = cap ? 2 * cap : 1024;
            int64_t *ds = realloc(fr->ds, (size_t)cap * sizeof *ds);
            double *v = ds ? realloc(fr->v, (size_t)cap * (size_t)fr->ncol * sizeof *v) : NULL;
            fr->ds = ds ? ds : fr->ds;
            fr->v = v ? v : fr->v;
            if (!ds || !v) {
                bad = 1;
                break;
            }
        }
        int c = 0;
        for (char *p = line, *tok; (tok = strsep(&p, ",")) && c < fr->ncol; c++) {
            if (!strcmp(fr->names[c], "ds") && hs_parse_time(tok, &fr->ds[fr->n]) != 0)
                bad = 1;
            fr->v[(int64_t)fr->n * fr->ncol + c] = *tok ? strtod(tok, NULL) : NAN;
        }
        fr->n++;
    }
    fclose(f);
    if (bad)
        hs_test_rows_free(fr);
    return bad ? -1 : 0;
}

int hs_test_rows_col(const hs_test_rows *fr, const char *name)
{
    for (int c = 0; c < fr->ncol; c++)
        if (!strcmp(fr->names[c], name))
            return c;
    return -1;
}

void hs_test_rows_free(hs_test_rows *fr)
{
    free(fr->ds);
    free(fr->v);
    memset(fr, 0, sizeof *fr);
}
