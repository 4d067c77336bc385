/* test_store.c: the observation store of `hyscale serve --state DIR` (serve.h, src/serve/store.c):
 * what is put comes back from memory (gaps as zeros, a minute replaced, the window moving), the
 * same after a reopen, from many threads at once; a file of another schema is refused naming it;
 * the WAL stays bounded under a stream of single puts (checkpoints run off the writers' path);
 * and every observation acknowledged before a SIGKILL of the writing process is on disk. */
#include <criterion/criterion.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hs_test.h"
#include "hyscale/serve.h"

#define T0 ((int64_t)1561939200) /* 2019-07-01 00:00 UTC, the trace's nominal minute 0 */
#define MIN(i) (T0 + (int64_t)(i) * 60)

static hs_observation ob(const char *fn, int64_t minute, double v)
{
    hs_observation o;
    memset(&o, 0, sizeof o);
    snprintf(o.function, sizeof o.function, "%s", fn);
    o.minute = minute;
    o.invocations = v;
    return o;
}

static void put1(hs_store *s, const char *fn, int64_t minute, double v)
{
    hs_observation o = ob(fn, minute, v);
    cr_assert_eq(hs_store_put(s, &o, 1), HS_OK, "put %s %lld: %s", fn, (long long)minute, hs_error_message());
}

static hs_store *open_store(const char *dir, int durable)
{
    hs_store *s = NULL;
    cr_assert_eq(hs_store_open(dir, durable, &s), HS_OK, "open %s: %s", dir, hs_error_message());
    cr_assert(s);
    return s;
}

/* recent(fn, want) into a static buffer of HS_STORE_KEEP + 8; returns n */
static double g_buf[HS_STORE_KEEP + 8];
static int64_t g_last;
static uint64_t g_version;
static int64_t recent(hs_store *s, const char *fn, int64_t want)
{
    int64_t n = -1;
    cr_assert(want <= HS_STORE_KEEP + 8);
    cr_assert_eq(hs_store_recent(s, fn, want, g_buf, &n, &g_last, &g_version), HS_OK);
    cr_assert(n >= 0 && n <= want);
    return n;
}

Test(store, put_then_recent_round_trips)
{
    char *dir = hs_test_scratch("store_rt");
    hs_store *s = open_store(dir, 0);
    hs_observation o[10];
    for (int i = 0; i < 10; i++)
        o[i] = ob("total", MIN(i), 10.0 * i + 0.5);
    cr_assert_eq(hs_store_put(s, o, 10), HS_OK, "%s", hs_error_message());
    int64_t n = recent(s, "total", HS_STORE_KEEP);
    cr_assert_eq(n, 10);
    cr_assert_eq(g_last, MIN(9));
    cr_assert_neq(g_version, 0);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(g_buf[i], 10.0 * i + 0.5, "minute %d: %g", i, g_buf[i]);
    /* the last `want` of them */
    cr_assert_eq(recent(s, "total", 3), 3);
    cr_assert_eq(g_buf[0], 70.5);
    cr_assert_eq(g_buf[2], 90.5);
    cr_assert_eq(recent(s, "total", 0), 0);
    /* a function never observed */
    cr_assert_eq(recent(s, "nobody", 5), 0);
    cr_assert_eq(g_last, 0);
    cr_assert_eq(g_version, 0);
    int64_t nobs = -1, nfn = -1;
    hs_store_counts(s, &nobs, &nfn);
    cr_assert_eq(nobs, 10);
    cr_assert_eq(nfn, 1);
    /* an empty put is nothing */
    cr_assert_eq(hs_store_put(s, NULL, 0), HS_OK);
    hs_store_close(s);
    hs_store_close(NULL);
    /* the file is there, in WAL mode once opened */
    char p[1024];
    snprintf(p, sizeof p, "%s/observations.sqlite", dir);
    cr_assert(access(p, F_OK) == 0, "no %s", p);
}

Test(store, the_folder_is_made_when_missing)
{
    char *dir = hs_test_scratch("store_mk");
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/a/b/state", dir);
    hs_store *s = open_store(sub, 1);
    put1(s, "f", MIN(0), 1);
    hs_store_close(s);
    snprintf(sub, sizeof sub, "%s/a/b/state/observations.sqlite", dir);
    cr_assert(access(sub, F_OK) == 0);
}

Test(store, gaps_count_zero_and_fill_later)
{
    char *dir = hs_test_scratch("store_gap");
    hs_store *s = open_store(dir, 0);
    put1(s, "f", MIN(100), 4);
    uint64_t v0;
    cr_assert_eq(recent(s, "f", 10), 1);
    v0 = g_version;
    put1(s, "f", MIN(104), 9);
    cr_assert_eq(recent(s, "f", 10), 5);
    cr_assert_neq(g_version, v0);
    double want[5] = {4, 0, 0, 0, 9};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(g_buf[i], want[i], "slot %d: %g", i, g_buf[i]);
    /* a minute inside the window but before the latest fills its gap; one before the first
     * observed minute widens the span */
    put1(s, "f", MIN(102), 3);
    put1(s, "f", MIN(98), 1);
    cr_assert_eq(recent(s, "f", 100), 7);
    cr_assert_eq(g_last, MIN(104));
    double want2[7] = {1, 0, 4, 0, 3, 0, 9};
    for (int i = 0; i < 7; i++)
        cr_assert_eq(g_buf[i], want2[i], "slot %d: %g", i, g_buf[i]);
    int64_t nobs;
    hs_store_counts(s, &nobs, NULL);
    cr_assert_eq(nobs, 4);
    hs_store_close(s);
}

Test(store, a_minute_put_again_is_replaced)
{
    char *dir = hs_test_scratch("store_rep");
    hs_store *s = open_store(dir, 0);
    put1(s, "f", MIN(5), 1);
    put1(s, "f", MIN(6), 2);
    cr_assert_eq(recent(s, "f", 10), 2);
    uint64_t v0 = g_version;
    put1(s, "f", MIN(5), 7);
    cr_assert_eq(recent(s, "f", 10), 2);
    cr_assert_eq(g_buf[0], 7);
    cr_assert_eq(g_buf[1], 2);
    cr_assert_neq(g_version, v0);
    /* twice in one batch: the later one wins */
    hs_observation o[2] = {ob("f", MIN(6), 11), ob("f", MIN(6), 12)};
    cr_assert_eq(hs_store_put(s, o, 2), HS_OK, "%s", hs_error_message());
    cr_assert_eq(recent(s, "f", 10), 2);
    cr_assert_eq(g_buf[1], 12);
    int64_t nobs, nfn;
    hs_store_counts(s, &nobs, &nfn);
    cr_assert_eq(nobs, 2, "replacements counted as new rows: %lld", (long long)nobs);
    cr_assert_eq(nfn, 1);
    hs_store_close(s);
    /* and on disk */
    s = open_store(dir, 0);
    cr_assert_eq(recent(s, "f", 10), 2);
    cr_assert_eq(g_buf[0], 7);
    cr_assert_eq(g_buf[1], 12);
    hs_store_counts(s, &nobs, &nfn);
    cr_assert_eq(nobs, 2);
    hs_store_close(s);
}

Test(store, the_window_moves_with_the_latest_minute)
{
    char *dir = hs_test_scratch("store_win");
    hs_store *s = open_store(dir, 0);
    enum { K = HS_STORE_KEEP };
    hs_observation *o = malloc(K * sizeof *o);
    cr_assert(o);
    for (int i = 0; i < K; i++)
        o[i] = ob("f", MIN(i), i + 1);
    cr_assert_eq(hs_store_put(s, o, K), HS_OK, "%s", hs_error_message());
    free(o);
    cr_assert_eq(recent(s, "f", K + 8), K);
    cr_assert_eq(g_buf[0], 1);
    cr_assert_eq(g_buf[K - 1], K);
    /* ten minutes past: the window is [11, 1450]; 1440..1449 were never observed */
    put1(s, "f", MIN(K + 10), 5000);
    cr_assert_eq(recent(s, "f", K + 8), K);
    cr_assert_eq(g_last, MIN(K + 10));
    cr_assert_eq(g_buf[0], 12, "oldest held %g (minute 11)", g_buf[0]);
    cr_assert_eq(g_buf[K - 12], K, "minute 1439: %g", g_buf[K - 12]);
    for (int i = K - 11; i < K - 1; i++)
        cr_assert_eq(g_buf[i], 0, "gap slot %d: %g", i, g_buf[i]);
    cr_assert_eq(g_buf[K - 1], 5000);
    /* older than the window: to disk only, memory unchanged (the version may change) */
    double before[K];
    memcpy(before, g_buf, sizeof before);
    put1(s, "f", MIN(-100), 77);
    cr_assert_eq(recent(s, "f", K + 8), K);
    cr_assert(!memcmp(before, g_buf, sizeof before), "an old minute changed the window");
    int64_t nobs;
    hs_store_counts(s, &nobs, NULL);
    cr_assert_eq(nobs, K + 2);
    hs_store_close(s);

    /* reopen: the same window, loaded from the last KEEP minutes */
    s = open_store(dir, 0);
    cr_assert_eq(recent(s, "f", K + 8), K);
    cr_assert_eq(g_last, MIN(K + 10));
    cr_assert(!memcmp(before, g_buf, sizeof before), "the reopened window differs");
    hs_store_counts(s, &nobs, NULL);
    cr_assert_eq(nobs, K + 2);

    /* far ahead: everything else leaves the window, a span of one minute */
    put1(s, "f", MIN(10 * K), 3);
    cr_assert_eq(recent(s, "f", K + 8), 1);
    cr_assert_eq(g_buf[0], 3);
    /* just under a window ahead: the old latest minute is the first in the window */
    put1(s, "f", MIN(11 * K - 1), 4);
    cr_assert_eq(recent(s, "f", K + 8), K);
    cr_assert_eq(g_buf[0], 3);
    cr_assert_eq(g_buf[K - 1], 4);
    hs_store_close(s);
}

Test(store, reopen_loads_the_same)
{
    char *dir = hs_test_scratch("store_reopen");
    hs_store *s = open_store(dir, 0);
    const char *fns[3] = {"total", "func-a", "a function with spaces and \xc3\xa9"};
    for (int f = 0; f < 3; f++)
        for (int i = 0; i < 200; i += 1 + f) /* gaps of f minutes */
            put1(s, fns[f], MIN(i * (f + 1)), (double)(i * 13 % 97) + 0.125 * f);
    double held[3][HS_STORE_KEEP];
    int64_t n[3], last[3];
    for (int f = 0; f < 3; f++) {
        n[f] = recent(s, fns[f], HS_STORE_KEEP);
        last[f] = g_last;
        memcpy(held[f], g_buf, (size_t)n[f] * sizeof(double));
    }
    int64_t nobs0, nfn0;
    hs_store_counts(s, &nobs0, &nfn0);
    hs_store_close(s);
    for (int durable = 0; durable < 2; durable++) {
        s = open_store(dir, durable);
        for (int f = 0; f < 3; f++) {
            cr_assert_eq(recent(s, fns[f], HS_STORE_KEEP), n[f], "%s", fns[f]);
            cr_assert_eq(g_last, last[f]);
            cr_assert_neq(g_version, 0);
            cr_assert(!memcmp(held[f], g_buf, (size_t)n[f] * sizeof(double)), "%s differs after reopen", fns[f]);
        }
        int64_t nobs, nfn;
        hs_store_counts(s, &nobs, &nfn);
        cr_assert_eq(nobs, nobs0);
        cr_assert_eq(nfn, 3);
        cr_assert_eq(nfn0, 3);
        hs_store_close(s);
    }
}

Test(store, many_functions_are_kept_apart)
{
    char *dir = hs_test_scratch("store_many");
    hs_store *s = open_store(dir, 0);
    enum { F = 300 };
    hs_observation *o = malloc(2 * F * sizeof *o);
    cr_assert(o);
    for (int f = 0; f < F; f++) {
        char name[32];
        snprintf(name, sizeof name, "fn%03d", f);
        o[2 * f] = ob(name, MIN(f), f);
        o[2 * f + 1] = ob(name, MIN(f + 1), 1000 + f);
    }
    cr_assert_eq(hs_store_put(s, o, 2 * F), HS_OK, "%s", hs_error_message());
    free(o);
    for (int pass = 0; pass < 2; pass++) {
        for (int f = 0; f < F; f++) {
            char name[32];
            snprintf(name, sizeof name, "fn%03d", f);
            cr_assert_eq(recent(s, name, 10), 2, "%s", name);
            cr_assert_eq(g_last, MIN(f + 1));
            cr_assert_eq(g_buf[0], f);
            cr_assert_eq(g_buf[1], 1000 + f);
        }
        int64_t nobs, nfn;
        hs_store_counts(s, &nobs, &nfn);
        cr_assert_eq(nobs, 2 * F);
        cr_assert_eq(nfn, F);
        hs_store_close(s);
        s = open_store(dir, 0);
    }
    hs_store_close(s);
}

Test(store, bad_observations_are_refused_whole)
{
    char *dir = hs_test_scratch("store_bad");
    hs_store *s = open_store(dir, 0);
    hs_observation bad[5] = {ob("f", MIN(0) + 30, 1), ob("f", MIN(0), NAN), ob("f", MIN(0), -1), ob("", MIN(0), 1),
                             ob("f", MIN(0), 2e15)};
    for (int k = 0; k < 5; k++) {
        hs_observation two[2] = {ob("f", MIN(1), 1), bad[k]};
        cr_assert_eq(hs_store_put(s, two, 2), HS_ERR_INPUT, "bad observation %d accepted", k);
        cr_assert(strstr(hs_error_message(), "observations.sqlite"), "%s", hs_error_message());
    }
    hs_observation unterminated = ob("f", MIN(0), 1);
    memset(unterminated.function, 'x', sizeof unterminated.function);
    cr_assert_eq(hs_store_put(s, &unterminated, 1), HS_ERR_INPUT);
    cr_assert_eq(recent(s, "f", 10), 0, "a refused batch left something");
    int64_t nobs;
    hs_store_counts(s, &nobs, NULL);
    cr_assert_eq(nobs, 0);
    hs_store_close(s);
}

/* ---- threads ------------------------------------------------------------------------------ */

enum { W = 4, PER = 150 };
typedef struct {
    hs_store *s;
    int id;
    atomic_int failed;
    atomic_int *stop;
} worker;

static double tval(int id, int i) { return id * 1000 + i; }

static void *writer(void *arg)
{
    worker *w = arg;
    char own[32];
    snprintf(own, sizeof own, "w%d", w->id);
    for (int i = 0; i < PER && !w->failed; i++) {
        /* its own function, and its own minutes of a shared one */
        hs_observation o[2] = {ob(own, MIN(i), tval(w->id, i)), ob("shared", MIN(i * W + w->id), tval(w->id, i))};
        if (hs_store_put(w->s, o, 2) != HS_OK)
            w->failed = 1;
    }
    return NULL;
}

static void *reader(void *arg)
{
    worker *w = arg;
    double buf[HS_STORE_KEEP];
    while (!*w->stop && !w->failed) {
        for (int id = 0; id < W; id++) {
            char own[32];
            snprintf(own, sizeof own, "w%d", id);
            int64_t n, last;
            uint64_t ver;
            if (hs_store_recent(w->s, own, HS_STORE_KEEP, buf, &n, &last, &ver) != HS_OK || n < 0 || n > PER) {
                w->failed = 1;
                break;
            }
            /* a writer's own minutes arrive in order: what is held is a prefix, exactly */
            if (n > 0 && last != MIN(n - 1))
                w->failed = 1;
            for (int64_t i = 0; i < n; i++)
                if (buf[i] != tval(id, (int)i))
                    w->failed = 1;
        }
        int64_t nobs, nfn;
        hs_store_counts(w->s, &nobs, &nfn);
        if (nobs < 0 || nobs > 2 * W * PER || nfn > W + 1)
            w->failed = 1;
    }
    return NULL;
}

Test(store, concurrent_puts_and_reads, .timeout = 120)
{
    char *dir = hs_test_scratch("store_thr");
    hs_store *s = open_store(dir, 0);
    atomic_int stop = 0;
    worker ws[W + 2];
    pthread_t th[W + 2];
    for (int i = 0; i < W + 2; i++) {
        ws[i].s = s;
        ws[i].id = i;
        atomic_init(&ws[i].failed, 0);
        ws[i].stop = &stop;
        cr_assert_eq(pthread_create(&th[i], NULL, i < W ? writer : reader, &ws[i]), 0);
    }
    for (int i = 0; i < W; i++)
        pthread_join(th[i], NULL);
    stop = 1;
    for (int i = W; i < W + 2; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < W + 2; i++)
        cr_assert_eq(ws[i].failed, 0, "thread %d (%s) failed", i, i < W ? "writer" : "reader");
    int64_t nobs, nfn;
    hs_store_counts(s, &nobs, &nfn);
    cr_assert_eq(nobs, 2 * W * PER);
    cr_assert_eq(nfn, W + 1);
    for (int pass = 0; pass < 2; pass++) {
        cr_assert_eq(recent(s, "shared", HS_STORE_KEEP), W * PER);
        for (int i = 0; i < W * PER; i++)
            cr_assert_eq(g_buf[i], tval(i % W, i / W), "shared minute %d: %g", i, g_buf[i]);
        for (int id = 0; id < W; id++) {
            char own[32];
            snprintf(own, sizeof own, "w%d", id);
            cr_assert_eq(recent(s, own, HS_STORE_KEEP), PER);
            for (int i = 0; i < PER; i++)
                cr_assert_eq(g_buf[i], tval(id, i));
        }
        hs_store_close(s);
        s = open_store(dir, 0);
    }
    hs_store_close(s);
}

/* ---- the WAL under a stream of puts ------------------------------------------------------ */

static double wval(int64_t i) { return (double)(i % 997) + 0.5; }

/* 20,000 single puts, each its own transaction, as POST /api/observe makes them: the checkpointer
 * keeps the WAL file near HS_STORE_WAL_MAX frames (about 4 MiB; 16 MB allows for the frames
 * committed while it catches up: on two cores busy with other builds a put's own checkpoint
 * (HS_STORE_WAL_HARD, 2,500 frames) was seen to let the file reach 12.3 MB), and all of them are
 * on disk after a reopen. Unbounded, 20,000 puts make a WAL of about 80 MB. The slowest put is
 * printed, not asserted: it depends on the disk. */
Test(store, the_wal_stays_bounded_under_single_puts, .timeout = 300)
{
    enum { N = 20000 };
    const off_t wal_limit = 16000000;
    char *dir = hs_test_scratch("store_wal");
    char path[1024], wal[1100];
    snprintf(path, sizeof path, "%s/observations.sqlite", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    hs_store *s = open_store(dir, 0);
    off_t wal_max = 0;
    double worst = 0;
    for (int64_t i = 0; i < N; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        put1(s, "stream", MIN(i), wval(i));
        clock_gettime(CLOCK_MONOTONIC, &b);
        double el = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
        if (el > worst)
            worst = el;
        struct stat st;
        if (i % 100 == 99 && stat(wal, &st) == 0 && st.st_size > wal_max)
            wal_max = st.st_size;
        cr_assert(wal_max < wal_limit, "after %lld puts the WAL holds %lld bytes", (long long)i + 1,
                  (long long)wal_max);
    }
    int64_t nobs;
    hs_store_counts(s, &nobs, NULL);
    cr_assert_eq(nobs, N);
    hs_store_close(s);
    fprintf(stderr, "store: %d single puts, the WAL at most %.2f MB, the slowest put %.2f ms\n", N,
            (double)wal_max / 1e6, 1e3 * worst);

    s = open_store(dir, 0);
    hs_store_counts(s, &nobs, NULL);
    cr_assert_eq(nobs, N);
    int64_t n = recent(s, "stream", HS_STORE_KEEP);
    cr_assert_eq(n, HS_STORE_KEEP);
    cr_assert_eq(g_last, MIN(N - 1));
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(g_buf[i], wval(N - n + i), "minute %lld", (long long)(N - n + i));
    hs_store_close(s);
    /* every minute, with its value, in the file */
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT minute, invocations FROM observations WHERE function = 'stream' "
                                        "ORDER BY minute",
                                    -1, &q, NULL),
                 SQLITE_OK);
    int64_t k = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        cr_assert_eq(sqlite3_column_int64(q, 0), MIN(k), "row %lld", (long long)k);
        cr_assert_eq(sqlite3_column_double(q, 1), wval(k), "minute %lld", (long long)k);
        k++;
    }
    cr_assert_eq(k, N);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* ---- files that are not ours ------------------------------------------------------------- */

static void sql_file(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

static void expect_refused(const char *dir, const char *path, const char *what)
{
    hs_store *s = (hs_store *)1;
    hs_status st = hs_store_open(dir, 0, &s);
    cr_assert_eq(st, HS_ERR_INPUT, "%s: opened (status %d)", what, (int)st);
    cr_assert_null(s);
    cr_assert(strstr(hs_error_message(), path), "%s: the message does not name the file: %s", what,
              hs_error_message());
}

Test(store, a_file_of_another_schema_is_refused)
{
    char *dir = hs_test_scratch("store_schema");
    char path[1024];
    snprintf(path, sizeof path, "%s/observations.sqlite", dir);

    /* another program's database */
    sql_file(path, "CREATE TABLE observations (x TEXT); INSERT INTO observations VALUES ('theirs');");
    expect_refused(dir, path, "another program's tables");
    cr_assert(strstr(hs_error_message(), "schema"), "%s", hs_error_message());
    /* untouched: still in its rollback journal mode, its row still there */
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "delete");
    sqlite3_finalize(q);
    sqlite3_close(db);
    unlink(path);

    /* ours, of a later schema */
    hs_store *s = open_store(dir, 0);
    put1(s, "f", MIN(0), 1);
    hs_store_close(s);
    sql_file(path, "PRAGMA user_version = 2;");
    expect_refused(dir, path, "schema 2");
    cr_assert(strstr(hs_error_message(), "user_version 2"), "%s", hs_error_message());
    unlink(path);

    /* not a database at all */
    cr_assert_eq(hs_test_write_file(path, "ds,y\n2019-07-01 00:00:00,1\nthis is a CSV file, not SQLite\n"), 0);
    expect_refused(dir, path, "a text file");
    unlink(path);

    /* DIR is a file */
    char file[1024];
    snprintf(file, sizeof file, "%s/plain", dir);
    cr_assert_eq(hs_test_write_file(file, "x"), 0);
    s = (hs_store *)1;
    cr_assert_neq(hs_store_open(file, 0, &s), HS_OK);
    cr_assert_null(s);
}

/* ---- the crash test ---------------------------------------------------------------------- */

static double cval(int64_t i) { return (double)(i * 7919 % 1000) + 0.25; }

Test(store, acknowledged_observations_survive_sigkill, .timeout = 120)
{
    char *dir = hs_test_scratch("store_kill");
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        hs_store *s;
        if (hs_store_open(dir, 0, &s) != HS_OK)
            _exit(2);
        for (int64_t i = 0;; i++) {
            hs_observation o = ob("crash", MIN(i), cval(i));
            if (hs_store_put(s, &o, 1) != HS_OK)
                _exit(3);
            /* acknowledged: hs_store_put has returned */
            if (write(fds[1], &i, sizeof i) != (ssize_t)sizeof i)
                _exit(4);
        }
    }
    close(fds[1]);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t *acked = NULL, nack = 0, cap = 0;
    unsigned char part[sizeof(int64_t)];
    size_t have = 0;
    int killed = 0, started = 0;
    /* the 0.3 s run from the first acknowledgement (a loaded machine may take longer to start
     * the child and open the store), at most 60 s of waiting for it */
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (nack == 1 && !started) {
            t0 = t;
            started = 1;
        }
        double el = (double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec);
        if (!killed && (started ? el >= 0.3 : el >= 60)) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        struct pollfd p = {fds[0], POLLIN, 0};
        if (!killed && poll(&p, 1, 10) == 0)
            continue;
        /* after the kill: whatever the child wrote before it died, up to EOF */
        ssize_t r = read(fds[0], part + have, sizeof part - have);
        if (r < 0)
            continue;
        if (r == 0)
            break;
        have += (size_t)r;
        if (have < sizeof part)
            continue;
        have = 0;
        if (nack == cap) {
            cap = cap ? 2 * cap : 1024;
            acked = realloc(acked, (size_t)cap * sizeof *acked);
            cr_assert(acked);
        }
        memcpy(&acked[nack++], part, sizeof part);
    }
    close(fds[0]);
    int wst = 0;
    cr_assert_eq(waitpid(pid, &wst, 0), pid);
    cr_assert(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL, "the writer ended otherwise (status %d)", wst);
    cr_assert(nack > 0, "nothing was acknowledged in 60 s");

    /* every acknowledged minute, with its value, on disk */
    char path[1024];
    snprintf(path, sizeof path, "%s/observations.sqlite", dir);
    hs_store *s = open_store(dir, 0); /* recovers the WAL of the killed writer */
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT invocations FROM observations WHERE function = 'crash' AND minute = ?",
                                    -1, &q, NULL),
                 SQLITE_OK);
    for (int64_t k = 0; k < nack; k++) {
        cr_assert_eq(acked[k], k, "acknowledgements out of order");
        sqlite3_bind_int64(q, 1, MIN(acked[k]));
        cr_assert_eq(sqlite3_step(q), SQLITE_ROW, "acknowledged minute %lld of %lld lost", (long long)acked[k],
                     (long long)nack);
        cr_assert_eq(sqlite3_column_double(q, 0), cval(acked[k]));
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    /* and in memory after the reopen: the tail, up to the last acknowledged (one more may have
     * been committed but not acknowledged when the kill came) */
    int64_t n = recent(s, "crash", HS_STORE_KEEP);
    cr_assert(g_last >= MIN(nack - 1));
    cr_assert_eq(n, g_last >= MIN(HS_STORE_KEEP - 1) ? HS_STORE_KEEP : (g_last - T0) / 60 + 1);
    for (int64_t i = 0; i < n; i++) {
        int64_t minute = (g_last - T0) / 60 - (n - 1 - i);
        cr_assert_eq(g_buf[i], cval(minute), "minute %lld", (long long)minute);
    }
    int64_t nobs;
    hs_store_counts(s, &nobs, NULL);
    cr_assert(nobs >= nack && nobs <= nack + 1, "%lld rows for %lld acknowledged", (long long)nobs, (long long)nack);
    hs_store_close(s);
    free(acked);
    fprintf(stderr, "store: %lld observations acknowledged before SIGKILL, all on disk\n", (long long)nack);
}
