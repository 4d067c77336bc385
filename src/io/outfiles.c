/* outfiles.c: output files written under temporary names and renamed together (outfiles.h). */
#include "hyscale/outfiles.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct hs_outentry {
    char *name;  /* final file name inside the folder */
    char *tmp;   /* temporary path */
    char *final; /* final path */
    FILE *f;     /* open stream, or NULL for path-only entries */
} hs_outentry;

struct hs_outset {
    char *dir;
    int created_dir, committed;
    hs_outentry *e;
    int n, cap;
};

static char *hs_strdup_join(const char *a, const char *sep, const char *b)
{
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *s = malloc(la + ls + lb + 1);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    memcpy(s + la, sep, ls);
    memcpy(s + la + ls, b, lb + 1);
    return s;
}

hs_status hs_mkdir_p(const char *dir)
{
    size_t n = strlen(dir);
    char *p = malloc(n + 1);
    if (!p)
        return hs_error_set(HS_ERR_NOMEM, "out of memory");
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            hs_status st = hs_error_set(HS_ERR_IO, "%s: cannot create folder: %s", p, strerror(errno));
            free(p);
            return st;
        }
        p[i] = c;
    }
    free(p);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return hs_error_set(HS_ERR_IO, "%s: not a folder", dir);
    return HS_OK;
}

/* The pid of a temporary name of ours, `.<name>.tmp.<pid>`, or 0 when name is not one. */
static long hs_outset_tmp_pid(const char *name)
{
    if (name[0] != '.')
        return 0;
    const char *t = strstr(name + 1, ".tmp.");
    if (!t || t == name + 1)
        return 0;
    const char *d;
    while ((d = strstr(t + 1, ".tmp.")) != NULL) /* the last one: a name may hold ".tmp." itself */
        t = d;
    const char *p = t + 5;
    long pid = 0;
    if (*p == '\0' || *p == '0')
        return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || pid > 1000000000L)
            return 0;
        pid = pid * 10 + (*p - '0');
    }
    return pid;
}

int hs_outset_clean_stale(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    long self = (long)getpid();
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long pid = hs_outset_tmp_pid(de->d_name);
        if (pid <= 0 || pid == self)
            continue;
        /* Only a pid that is gone (ESRCH); EPERM means alive under another user. */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char *path = hs_strdup_join(dir, "/", de->d_name);
        struct stat sb;
        if (path && lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && unlink(path) == 0)
            removed++;
        free(path);
    }
    closedir(d);
    return removed;
}

hs_status hs_outset_open(const char *dir, hs_outset **out)
{
    *out = NULL;
    hs_outset *os = calloc(1, sizeof *os);
    if (!os || !(os->dir = strdup(dir))) {
        free(os);
        return hs_error_set(HS_ERR_NOMEM, "out of memory");
    }
    struct stat sb;
    os->created_dir = stat(dir, &sb) != 0;
    hs_status st = hs_mkdir_p(dir);
    if (st) {
        free(os->dir);
        free(os);
        return st;
    }
    if (!os->created_dir)
        hs_outset_clean_stale(dir);
    *out = os;
    return HS_OK;
}

static hs_status hs_outset_add(hs_outset *os, const char *name, hs_outentry **ent)
{
    HS_ASSERT(!os->committed);
    for (int i = 0; i < os->n; i++)
        HS_ASSERT(strcmp(os->e[i].name, name) != 0);
    if (os->n == os->cap) {
        int cap = os->cap ? 2 * os->cap : 8;
        hs_outentry *e = realloc(os->e, (size_t)cap * sizeof *e);
        if (!e)
            return hs_error_set(HS_ERR_NOMEM, "out of memory");
        os->e = e;
        os->cap = cap;
    }
    hs_outentry *e = &os->e[os->n];
    memset(e, 0, sizeof *e);
    char tmpname[512];
    snprintf(tmpname, sizeof tmpname, ".%s.tmp.%ld", name, (long)getpid());
    e->name = strdup(name);
    e->tmp = hs_strdup_join(os->dir, "/", tmpname);
    e->final = hs_strdup_join(os->dir, "/", name);
    if (!e->name || !e->tmp || !e->final) {
        free(e->name);
        free(e->tmp);
        free(e->final);
        return hs_error_set(HS_ERR_NOMEM, "out of memory");
    }
    os->n++;
    *ent = e;
    return HS_OK;
}

hs_status hs_outset_file(hs_outset *os, const char *name, FILE **f, const char **tmp_path)
{
    hs_outentry *e;
    HS_TRY(hs_outset_add(os, name, &e));
    e->f = fopen(e->tmp, "wb");
    if (!e->f)
        return hs_error_set(HS_ERR_IO, "%s: cannot write: %s", e->tmp, strerror(errno));
    *f = e->f;
    if (tmp_path)
        *tmp_path = e->tmp;
    return HS_OK;
}

hs_status hs_outset_path(hs_outset *os, const char *name, const char **tmp_path)
{
    hs_outentry *e;
    HS_TRY(hs_outset_add(os, name, &e));
    *tmp_path = e->tmp;
    return HS_OK;
}

const char *hs_outset_final_path(hs_outset *os, const char *name)
{
    for (int i = 0; i < os->n; i++)
        if (strcmp(os->e[i].name, name) == 0)
            return os->e[i].final;
    return NULL;
}

const char *hs_outset_dir(const hs_outset *os) { return os->dir; }

hs_status hs_outset_commit(hs_outset *os)
{
    for (int i = 0; i < os->n; i++) {
        hs_outentry *e = &os->e[i];
        if (!e->f)
            continue;
        /* A write that failed earlier left ferror set and errno maybe overwritten since; the
         * flush retries what is buffered, which usually reports the cause again. */
        errno = 0;
        int bad = fflush(e->f) != 0;
        int err = errno;
        bad |= ferror(e->f) != 0;
        if (fclose(e->f) != 0) {
            bad = 1;
            if (!err)
                err = errno;
        }
        e->f = NULL;
        if (bad) {
            hs_status st = hs_error_set(HS_ERR_IO, "%s: write failed: %s", e->final,
                                        err ? strerror(err) : "an earlier write to it failed");
            hs_outset_abort(os);
            return st;
        }
    }
    for (int i = 0; i < os->n; i++) {
        struct stat sb;
        if (stat(os->e[i].tmp, &sb) != 0) {
            hs_status st = hs_error_set(HS_ERR_IO, "%s: was never written", os->e[i].final);
            hs_outset_abort(os);
            return st;
        }
    }
    for (int i = 0; i < os->n; i++) {
        if (rename(os->e[i].tmp, os->e[i].final) != 0) {
            hs_status st = hs_error_set(HS_ERR_IO, "%s: cannot rename into place: %s", os->e[i].final,
                                        strerror(errno));
            hs_outset_abort(os);
            return st;
        }
    }
    os->committed = 1;
    return HS_OK;
}

void hs_outset_abort(hs_outset *os)
{
    if (!os || os->committed)
        return;
    for (int i = 0; i < os->n; i++) {
        if (os->e[i].f)
            fclose(os->e[i].f);
        os->e[i].f = NULL;
        unlink(os->e[i].tmp);
    }
    if (os->created_dir)
        rmdir(os->dir); /* fails harmlessly when something else is in it */
    os->committed = 1;  /* nothing left to undo */
}

void hs_outset_free(hs_outset *os)
{
    if (!os)
        return;
    hs_outset_abort(os);
    for (int i = 0; i < os->n; i++) {
        free(os->e[i].name);
        free(os->e[i].tmp);
        free(os->e[i].final);
    }
    free(os->e);
    free(os->dir);
    free(os);
}

hs_status hs_out_check_finite(const char *path, int64_t line, int first_col, const char *const *names, const double *v,
                              int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return hs_error_set(HS_ERR_INTERNAL, "%s:%lld: column %d (%s): non-finite value '%g' (not written)", path,
                                (long long)line, first_col + i, names[i], v[i]);
    return HS_OK;
}
