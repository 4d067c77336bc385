/* store.c: the observation store of `hyscale serve --state DIR` (serve.h, docs/SERVE.md): the
 * per-minute counts POST /api/observe sends, kept durably in DIR/observations.sqlite and, for the
 * answers, the last HS_STORE_KEEP minutes of every function in memory.
 *
 * Disk: one SQLite file in WAL mode, table observations(function, minute, invocations) keyed
 * (function, minute); a put is one transaction (an insert, or an update of a minute already held)
 * and returns HS_OK only after its COMMIT. synchronous=NORMAL in WAL mode makes a committed
 * transaction survive a crash of the process (the WAL frames are written before COMMIT returns);
 * FULL (durable = 1) also fsyncs the WAL at each commit, so it survives power loss. The file
 * carries application_id 'hysc' and user_version HS_STORE_SCHEMA; any other file is refused.
 *
 * Memory: a hash map from function to a ring of HS_STORE_KEEP counts (slot = minute index mod
 * KEEP) with a flag per slot (observed or a zero-filled gap), the latest minute, the earliest
 * observed minute still in the window and a version. Loaded at open (the last KEEP minutes of
 * each function), updated after each commit; hs_store_recent copies out of it.
 *
 * Checkpoints: SQLite's automatic checkpoint (every 1000 WAL pages) would run inside the committing
 * put, with db_mu held, and fsync the WAL and the database file there: every other writer waited
 * for it (put p99 of seconds on a slow disk). The writer connection has it off; its WAL hook
 * counts the frames each commit adds and wakes a checkpointer thread, which runs PASSIVE
 * checkpoints on a connection of its own (they never block a writer, nor make one return BUSY)
 * every HS_STORE_CKPT_STEP frames. A passive checkpoint cannot rewind the WAL while puts keep
 * coming (SQLite restarts it at the first write after a checkpoint that copied every frame), so
 * once the WAL holds HS_STORE_WAL_MAX frames the checkpointer runs one more passive checkpoint
 * and then a last one with db_mu held: it copies only the frames of the previous one's duration,
 * and the next put starts the WAL over. The WAL file stays near HS_STORE_WAL_MAX frames. Durability
 * is unchanged: a put is acknowledged after its COMMIT wrote the WAL, checkpoints only copy
 * committed frames into the database file (fsyncing both). hs_store_close stops and joins the
 * thread; closing the last connection checkpoints everything and removes the WAL.
 *
 * Locks: db_mu serialises the writers (one SQLite connection; SQLite serialises writes anyway)
 * and is held from BEGIN to the memory update, so memory applies the puts in the order the disk
 * did; mem_mu guards the map and is held only to copy or update it, so readers never wait for a
 * disk write; ck_mu guards the checkpointer's counters and is taken by the WAL hook (db_mu held)
 * and by the checkpointer (never while it waits for db_mu). Order: db_mu before mem_mu, db_mu
 * before ck_mu. */
#include "hyscale/serve.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hyscale/outfiles.h"
#include "hyscale/parse.h"

#define HS_STORE_APP_ID 0x68797363 /* 'hysc' */
#define HS_STORE_SCHEMA 1
#define HS_STORE_FILE "observations.sqlite"
/* minutes further than this from 1970 (about 3 million years) are refused: keeps every window
 * computation (minute +- KEEP * 60) far from int64 overflow */
#define HS_STORE_MAX_ABS_MINUTE ((int64_t)100000000000000LL)
/* the checkpointer runs a passive checkpoint after this many new WAL frames (a frame is a page,
 * 4 KiB, plus 24 bytes; a single put writes about one) */
#define HS_STORE_CKPT_STEP 250
/* a WAL this long (frames, about 4 MiB) is brought back to the start with db_mu held briefly */
#define HS_STORE_WAL_MAX 1000
/* a WAL this long (frames, about 10 MiB) is copied by the put that finds it so (backpressure) */
#define HS_STORE_WAL_HARD 2500
/* before that, up to this many more passive checkpoints while the last one left more than this
 * many frames behind it: what is copied (and fsynced) with db_mu held is that remainder */
#define HS_STORE_CATCHUP_TRIES 4
#define HS_STORE_CATCHUP_LEFT 32

typedef struct hs_store_fn {
    char *name;
    uint64_t hash;
    int64_t latest;   /* unix seconds of the latest observed minute */
    int64_t first;    /* the earliest observed minute within the window */
    uint64_t version; /* the store's clock when a put last touched this function */
    double counts[HS_STORE_KEEP];      /* (KEEP) ring: minute m at slot (m / 60) mod KEEP */
    unsigned char seen[HS_STORE_KEEP]; /* (KEEP) 1: observed, 0: a gap (counts 0) */
} hs_store_fn;

struct hs_store {
    char *path; /* DIR/observations.sqlite, for messages */
    sqlite3 *db;
    sqlite3_stmt *insert, *update, *begin, *commit, *rollback;
    pthread_mutex_t db_mu, mem_mu;
    /* the checkpointer: its connection and thread; under ck_mu the WAL's length in frames at the
     * last commit, the frames committed since the last checkpoint began, and the stop flag */
    sqlite3 *ckdb;
    pthread_t ck;
    int ck_started;
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cv;
    int64_t wal_frames, wal_new;
    int ck_stop;
    hs_store_fn **slots; /* (cap) open addressing, NULL: empty */
    int64_t cap, nfn;
    int64_t rows; /* observations on disk (all minutes, all functions) */
    uint64_t clock;
};

/* ---- the in-memory map ------------------------------------------------------------------- */

static uint64_t hs_store_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int64_t hs_store_slot(int64_t minute)
{
    int64_t k = minute / 60 % HS_STORE_KEEP;
    return k < 0 ? k + HS_STORE_KEEP : k;
}

static hs_store_fn *hs_store_find(const hs_store *s, const char *name, uint64_t h)
{
    if (!s->cap)
        return NULL;
    for (int64_t i = (int64_t)(h & (uint64_t)(s->cap - 1));; i = (i + 1) & (s->cap - 1)) {
        hs_store_fn *f = s->slots[i];
        if (!f)
            return NULL;
        if (f->hash == h && !strcmp(f->name, name))
            return f;
    }
}

/* The function's entry, made (empty, latest = minute) when absent; NULL when out of memory. */
static hs_store_fn *hs_store_get(hs_store *s, const char *name, int64_t minute)
{
    uint64_t h = hs_store_hash(name);
    hs_store_fn *f = hs_store_find(s, name, h);
    if (f)
        return f;
    if (2 * (s->nfn + 1) > s->cap) { /* load factor at most 1/2 */
        int64_t nc = s->cap ? 2 * s->cap : 64;
        hs_store_fn **ns = calloc((size_t)nc, sizeof *ns);
        if (!ns)
            return NULL;
        for (int64_t i = 0; i < s->cap; i++) {
            hs_store_fn *g = s->slots[i];
            if (!g)
                continue;
            int64_t j = (int64_t)(g->hash & (uint64_t)(nc - 1));
            while (ns[j])
                j = (j + 1) & (nc - 1);
            ns[j] = g;
        }
        free(s->slots);
        s->slots = ns;
        s->cap = nc;
    }
    f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(name))) {
        free(f);
        return NULL;
    }
    f->hash = h;
    f->latest = minute;
    f->first = minute;
    int64_t j = (int64_t)(h & (uint64_t)(s->cap - 1));
    while (s->slots[j])
        j = (j + 1) & (s->cap - 1);
    s->slots[j] = f;
    s->nfn++;
    return f;
}

/* Minute `minute` of f now counts v: a minute older than the window changes nothing in memory
 * (it went to disk only), a newer one moves the window there, zero-filling the skipped minutes. */
static void hs_store_apply(hs_store_fn *f, int64_t minute, double v)
{
    const int64_t span = (int64_t)HS_STORE_KEEP * 60;
    if (minute > f->latest) {
        if (minute - f->latest >= span) {
            memset(f->counts, 0, sizeof f->counts);
            memset(f->seen, 0, sizeof f->seen);
        } else {
            for (int64_t m = f->latest + 60; m <= minute; m += 60) {
                int64_t k = hs_store_slot(m);
                f->counts[k] = 0;
                f->seen[k] = 0;
            }
        }
        f->latest = minute;
        int64_t start = minute - span + 60;
        if (f->first < start) { /* the earliest observed minute left the window: find the next */
            f->first = minute;
            for (int64_t m = start; m < minute; m += 60)
                if (f->seen[hs_store_slot(m)]) {
                    f->first = m;
                    break;
                }
        }
    } else if (minute <= f->latest - span) {
        return;
    }
    int64_t k = hs_store_slot(minute);
    f->seen[k] = 1;
    f->counts[k] = v;
    if (minute < f->first)
        f->first = minute;
}

static void hs_store_map_free(hs_store *s)
{
    for (int64_t i = 0; i < s->cap; i++)
        if (s->slots[i]) {
            free(s->slots[i]->name);
            free(s->slots[i]);
        }
    free(s->slots);
    s->slots = NULL;
    s->cap = s->nfn = 0;
}

/* ---- SQLite ------------------------------------------------------------------------------ */

static hs_status hs_store_sqlerr(const hs_store *s, const char *what)
{
    int code = s->db ? sqlite3_extended_errcode(s->db) : SQLITE_CANTOPEN;
    const char *msg = s->db ? sqlite3_errmsg(s->db) : "cannot open";
    int primary = code & 0xff;
    hs_status st = primary == SQLITE_NOMEM ? HS_ERR_NOMEM
                   : (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) ? HS_ERR_INPUT
                                                                             : HS_ERR_IO;
    return hs_error_set(st, "%s: %s: %s (SQLite %d)", s->path, what, msg, code);
}

static hs_status hs_store_exec(hs_store *s, const char *sql, const char *what)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return hs_store_sqlerr(s, what);
    return HS_OK;
}

/* One integer a single-row statement returns (a PRAGMA, a COUNT). */
static hs_status hs_store_int(hs_store *s, const char *sql, int64_t *v)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return hs_store_sqlerr(s, sql);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        hs_status st = hs_store_sqlerr(s, sql);
        sqlite3_finalize(q);
        return st;
    }
    *v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return HS_OK;
}

/* journal_mode=WAL answers the mode it is in: anything else (a read-only folder, a file system
 * without shared memory) is an error rather than a silent rollback journal. */
static hs_status hs_store_wal(hs_store *s)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &q, NULL) != SQLITE_OK)
        return hs_store_sqlerr(s, "PRAGMA journal_mode=WAL");
    hs_status st = HS_OK;
    if (sqlite3_step(q) != SQLITE_ROW)
        st = hs_store_sqlerr(s, "PRAGMA journal_mode=WAL");
    else {
        const char *mode = (const char *)sqlite3_column_text(q, 0);
        if (!mode || strcmp(mode, "wal"))
            st = hs_error_set(HS_ERR_IO, "%s: cannot use WAL mode (journal mode is '%s')", s->path,
                              mode ? mode : "?");
    }
    sqlite3_finalize(q);
    return st;
}

/* A new file gets the schema; an existing one must carry ours. Runs in one IMMEDIATE
 * transaction, so two processes creating the file at once see one schema. */
static hs_status hs_store_schema(hs_store *s)
{
    HS_TRY(hs_store_exec(s, "BEGIN IMMEDIATE", "BEGIN"));
    int64_t app = 0, ver = 0, objects = 0;
    hs_status st = hs_store_int(s, "PRAGMA application_id", &app);
    if (st == HS_OK)
        st = hs_store_int(s, "PRAGMA user_version", &ver);
    if (st == HS_OK)
        st = hs_store_int(s, "SELECT COUNT(*) FROM sqlite_schema", &objects);
    if (st == HS_OK && app == 0 && ver == 0 && objects == 0) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "CREATE TABLE observations (function TEXT NOT NULL, minute INTEGER NOT NULL, "
                 "invocations REAL NOT NULL, PRIMARY KEY (function, minute)) WITHOUT ROWID;"
                 "PRAGMA application_id=%d; PRAGMA user_version=%d;",
                 HS_STORE_APP_ID, HS_STORE_SCHEMA);
        st = hs_store_exec(s, sql, "creating the schema");
    } else if (st == HS_OK && (app != HS_STORE_APP_ID || ver != HS_STORE_SCHEMA)) {
        st = hs_error_set(HS_ERR_INPUT,
                          "%s: not a hyscale observation store of schema %d (application_id %" PRId64
                          ", user_version %" PRId64 ", %" PRId64 " schema objects): move it away or "
                          "choose another --state folder",
                          s->path, HS_STORE_SCHEMA, app, ver, objects);
    }
    if (st != HS_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    return hs_store_exec(s, "COMMIT", "COMMIT");
}

static hs_status hs_store_prepare(hs_store *s, const char *sql, sqlite3_stmt **q)
{
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, q, NULL) != SQLITE_OK)
        return hs_store_sqlerr(s, sql);
    return HS_OK;
}

/* The last KEEP minutes of every function, oldest first, into the map. */
static hs_status hs_store_load(hs_store *s)
{
    HS_TRY(hs_store_int(s, "SELECT COUNT(*) FROM observations", &s->rows));
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT o.function, o.minute, o.invocations FROM observations o "
             "JOIN (SELECT function, MAX(minute) AS last FROM observations GROUP BY function) l "
             "ON o.function = l.function WHERE o.minute > l.last - %lld ORDER BY o.function, o.minute",
             (long long)HS_STORE_KEEP * 60);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return hs_store_sqlerr(s, "reading the observations");
    hs_status st = HS_OK;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        int64_t minute = sqlite3_column_int64(q, 1);
        double v = sqlite3_column_double(q, 2);
        size_t len = name ? strlen(name) : 0;
        if (!name || len == 0 || len > HS_SERVE_MAX_FUNCTION || minute % 60 ||
            minute > HS_STORE_MAX_ABS_MINUTE || minute < -HS_STORE_MAX_ABS_MINUTE || !isfinite(v) || v < 0 ||
            v > HS_PARSE_Y_MAX) {
            st = hs_error_set(HS_ERR_INPUT, "%s: a bad row (function '%.64s', minute %" PRId64 ", invocations %g)",
                              s->path, name ? name : "", minute, v);
            break;
        }
        hs_store_fn *f = hs_store_get(s, name, minute);
        if (!f) {
            st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory loading the observations", s->path);
            break;
        }
        hs_store_apply(f, minute, v);
        f->version = ++s->clock;
    }
    if (st == HS_OK && rc != SQLITE_DONE)
        st = hs_store_sqlerr(s, "reading the observations");
    sqlite3_finalize(q);
    return st;
}

/* ---- the checkpointer --------------------------------------------------------------------- */

/* The writer's WAL hook, after each COMMIT (db_mu held): nframes is the WAL's length; shorter than
 * the last one means SQLite started the WAL over. */
static int hs_store_wal_hook(void *arg, sqlite3 *db, const char *name, int nframes)
{
    (void)db;
    (void)name;
    hs_store *s = arg;
    pthread_mutex_lock(&s->ck_mu);
    s->wal_new += nframes >= s->wal_frames ? nframes - s->wal_frames : nframes;
    s->wal_frames = nframes;
    if (s->wal_new >= HS_STORE_CKPT_STEP)
        pthread_cond_signal(&s->ck_cv);
    pthread_mutex_unlock(&s->ck_mu);
    return SQLITE_OK;
}

/* One passive checkpoint on the checkpointer's connection; *nlog gets the WAL's length in frames
 * (-1 when unknown). Failures (another process checkpointing, an I/O error) leave the frames in
 * the WAL, where they are durable: the next checkpoint, or the close, copies them. */
static void hs_store_checkpoint(hs_store *s, int *nlog)
{
    int ckpt = -1;
    *nlog = -1;
    if (sqlite3_wal_checkpoint_v2(s->ckdb, NULL, SQLITE_CHECKPOINT_PASSIVE, nlog, &ckpt) != SQLITE_OK)
        *nlog = -1;
}

static void *hs_store_checkpointer(void *arg)
{
    hs_store *s = arg;
    pthread_mutex_lock(&s->ck_mu);
    for (;;) {
        while (!s->ck_stop && s->wal_new < HS_STORE_CKPT_STEP)
            pthread_cond_wait(&s->ck_cv, &s->ck_mu);
        if (s->ck_stop)
            break;
        s->wal_new = 0;
        pthread_mutex_unlock(&s->ck_mu);
        int nlog;
        hs_store_checkpoint(s, &nlog);
        if (nlog >= HS_STORE_WAL_MAX) {
            /* passive again while puts committed many frames during the last one (each copies
             * what came during the one before, and takes less time), then, with db_mu held (no
             * put commits), the last few: the WAL is then all copied and the next put rewinds it */
            int64_t left = 0;
            for (int i = 0; i < HS_STORE_CATCHUP_TRIES; i++) {
                pthread_mutex_lock(&s->ck_mu);
                left = s->wal_frames - nlog; /* negative: SQLite rewound the WAL meanwhile */
                pthread_mutex_unlock(&s->ck_mu);
                if (left <= HS_STORE_CATCHUP_LEFT)
                    break;
                hs_store_checkpoint(s, &nlog);
            }
            if (left >= 0) {
                pthread_mutex_lock(&s->db_mu);
                hs_store_checkpoint(s, &nlog);
                pthread_mutex_unlock(&s->db_mu);
            }
        }
        pthread_mutex_lock(&s->ck_mu);
    }
    pthread_mutex_unlock(&s->ck_mu);
    return NULL;
}

/* The checkpointer's connection (after the writer made the file and put it in WAL mode) and
 * thread; the writer's automatic checkpoint off, its WAL hook on. */
static hs_status hs_store_checkpointer_start(hs_store *s, int durable)
{
    int rc = sqlite3_open_v2(s->path, &s->ckdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        const char *msg = s->ckdb ? sqlite3_errmsg(s->ckdb) : "cannot open";
        return hs_error_set(HS_ERR_IO, "%s: opening the checkpointer's connection: %s (SQLite %d)", s->path, msg, rc);
    }
    /* waits out another process's recovery or checkpoint rather than failing */
    sqlite3_busy_timeout(s->ckdb, 5000);
    /* the checkpoint fsyncs the WAL and the database file as the writer's setting asks */
    if (sqlite3_exec(s->ckdb, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL, NULL,
                     NULL) != SQLITE_OK)
        return hs_error_set(HS_ERR_IO, "%s: checkpointer: PRAGMA synchronous: %s", s->path, sqlite3_errmsg(s->ckdb));
    /* wal_autocheckpoint(0) and then the hook, which replaces SQLite's own (they share a slot) */
    sqlite3_wal_autocheckpoint(s->db, 0);
    sqlite3_wal_hook(s->db, hs_store_wal_hook, s);
    rc = pthread_create(&s->ck, NULL, hs_store_checkpointer, s);
    if (rc != 0) {
        sqlite3_wal_hook(s->db, NULL, NULL);
        return hs_error_set(HS_ERR_IO, "%s: cannot start the checkpointer thread: %s", s->path, strerror(rc));
    }
    s->ck_started = 1;
    return HS_OK;
}

static void hs_store_checkpointer_stop(hs_store *s)
{
    if (s->ck_started) {
        pthread_mutex_lock(&s->ck_mu);
        s->ck_stop = 1;
        pthread_cond_signal(&s->ck_cv);
        pthread_mutex_unlock(&s->ck_mu);
        pthread_join(s->ck, NULL);
        s->ck_started = 0;
    }
    sqlite3_close(s->ckdb);
    s->ckdb = NULL;
}

hs_status hs_store_open(const char *dir, int durable, hs_store **out)
{
    HS_ASSERT(dir && out);
    *out = NULL;
    HS_TRY(hs_mkdir_p(dir));
    hs_store *s = calloc(1, sizeof *s);
    if (!s)
        return hs_error_set(HS_ERR_NOMEM, "%s/%s: out of memory", dir, HS_STORE_FILE);
    size_t n = strlen(dir) + sizeof HS_STORE_FILE + 1;
    s->path = malloc(n);
    if (!s->path) {
        free(s);
        return hs_error_set(HS_ERR_NOMEM, "%s/%s: out of memory", dir, HS_STORE_FILE);
    }
    snprintf(s->path, n, "%s/%s", dir, HS_STORE_FILE);
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_mutex_init(&s->mem_mu, NULL);
    pthread_mutex_init(&s->ck_mu, NULL);
    pthread_cond_init(&s->ck_cv, NULL);
    s->clock = 0;

    hs_status st = HS_OK;
    /* NOMUTEX: the connection is only used under db_mu (and at open and close, alone) */
    int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK)
        st = hs_store_sqlerr(s, "cannot open");
    if (st == HS_OK)
        sqlite3_extended_result_codes(s->db, 1);
    /* another process holding the write lock (a second server on the same folder) is waited for */
    if (st == HS_OK && sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK)
        st = hs_store_sqlerr(s, "busy timeout");
    /* the schema first: a file of another kind is refused before anything (WAL mode) changes it */
    if (st == HS_OK)
        st = hs_store_schema(s);
    if (st == HS_OK)
        st = hs_store_wal(s);
    if (st == HS_OK)
        st = hs_store_exec(s, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                           "PRAGMA synchronous");
    if (st == HS_OK)
        st = hs_store_prepare(s, "INSERT INTO observations (function, minute, invocations) VALUES (?1, ?2, ?3) "
                                 "ON CONFLICT (function, minute) DO NOTHING",
                              &s->insert);
    if (st == HS_OK)
        st = hs_store_prepare(s, "UPDATE observations SET invocations = ?3 WHERE function = ?1 AND minute = ?2",
                              &s->update);
    if (st == HS_OK)
        st = hs_store_prepare(s, "BEGIN IMMEDIATE", &s->begin);
    if (st == HS_OK)
        st = hs_store_prepare(s, "COMMIT", &s->commit);
    if (st == HS_OK)
        st = hs_store_prepare(s, "ROLLBACK", &s->rollback);
    if (st == HS_OK)
        st = hs_store_load(s);
    if (st == HS_OK)
        st = hs_store_checkpointer_start(s, durable);
    if (st != HS_OK) {
        hs_store_close(s);
        return st;
    }
    *out = s;
    return HS_OK;
}

void hs_store_close(hs_store *s)
{
    if (!s)
        return;
    hs_store_checkpointer_stop(s);
    sqlite3_finalize(s->insert);
    sqlite3_finalize(s->update);
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->rollback);
    /* the last connection to close checkpoints the WAL into the main file and removes it */
    sqlite3_close(s->db);
    hs_store_map_free(s);
    pthread_mutex_destroy(&s->db_mu);
    pthread_mutex_destroy(&s->mem_mu);
    pthread_mutex_destroy(&s->ck_mu);
    pthread_cond_destroy(&s->ck_cv);
    free(s->path);
    free(s);
}

/* ---- put, recent, counts ----------------------------------------------------------------- */

/* One statement run to its end; 0 on SQLITE_DONE. */
static int hs_store_step(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : -1;
}

static hs_status hs_store_check(const hs_store *s, const hs_observation *o, int64_t i)
{
    size_t len = strnlen(o->function, sizeof o->function);
    if (len == 0 || len == sizeof o->function)
        return hs_error_set(HS_ERR_INPUT, "%s: observation %" PRId64 ": function name empty or longer than %d bytes",
                            s->path, i, HS_SERVE_MAX_FUNCTION);
    if (o->minute % 60 || o->minute > HS_STORE_MAX_ABS_MINUTE || o->minute < -HS_STORE_MAX_ABS_MINUTE)
        return hs_error_set(HS_ERR_INPUT, "%s: observation %" PRId64 " (%s): minute %" PRId64
                            " is not a whole minute in range", s->path, i, o->function, o->minute);
    if (!isfinite(o->invocations) || o->invocations < 0 || o->invocations > HS_PARSE_Y_MAX)
        return hs_error_set(HS_ERR_INPUT, "%s: observation %" PRId64 " (%s): invocations %g not in [0, %g]", s->path,
                            i, o->function, o->invocations, HS_PARSE_Y_MAX);
    return HS_OK;
}

/* Writes obs[0..n) in the open transaction; *added gets how many were new rows. */
static hs_status hs_store_write(hs_store *s, const hs_observation *obs, int64_t n, int64_t *added)
{
    *added = 0;
    for (int64_t i = 0; i < n; i++) {
        const hs_observation *o = &obs[i];
        sqlite3_bind_text(s->insert, 1, o->function, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s->insert, 2, o->minute);
        sqlite3_bind_double(s->insert, 3, o->invocations);
        int bad = hs_store_step(s->insert);
        int fresh = !bad && sqlite3_changes(s->db) == 1;
        sqlite3_clear_bindings(s->insert);
        if (bad)
            return hs_store_sqlerr(s, "INSERT");
        if (fresh) {
            (*added)++;
            continue;
        }
        /* the minute is held: replace its count */
        sqlite3_bind_text(s->update, 1, o->function, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s->update, 2, o->minute);
        sqlite3_bind_double(s->update, 3, o->invocations);
        bad = hs_store_step(s->update);
        sqlite3_clear_bindings(s->update);
        if (bad)
            return hs_store_sqlerr(s, "UPDATE");
    }
    return HS_OK;
}

hs_status hs_store_put(hs_store *s, const hs_observation *obs, int64_t n)
{
    HS_ASSERT(s && n >= 0 && (obs || n == 0));
    for (int64_t i = 0; i < n; i++)
        HS_TRY(hs_store_check(s, &obs[i], i));
    if (n == 0)
        return HS_OK;
    pthread_mutex_lock(&s->db_mu);
    hs_status st = HS_OK;
    int64_t added = 0;
    if (hs_store_step(s->begin))
        st = hs_store_sqlerr(s, "BEGIN");
    else {
        st = hs_store_write(s, obs, n, &added);
        if (st == HS_OK && hs_store_step(s->commit))
            st = hs_store_sqlerr(s, "COMMIT");
        /* a failed statement or COMMIT leaves the transaction open (or SQLite rolled it back
         * already, when ROLLBACK fails harmlessly): nothing of this put is on disk */
        if (st != HS_OK && !sqlite3_get_autocommit(s->db))
            (void)hs_store_step(s->rollback);
    }
    if (st == HS_OK) {
        pthread_mutex_lock(&s->mem_mu);
        uint64_t now = ++s->clock;
        for (int64_t i = 0; i < n; i++) {
            hs_store_fn *f = hs_store_get(s, obs[i].function, obs[i].minute);
            if (!f) {
                /* on disk but not in memory: the next open loads it; this process answers from
                 * what it holds */
                st = hs_error_set(HS_ERR_NOMEM, "%s: out of memory (the observations are on disk)", s->path);
                break;
            }
            hs_store_apply(f, obs[i].minute, obs[i].invocations);
            f->version = now;
        }
        s->rows += added;
        pthread_mutex_unlock(&s->mem_mu);
    }
    /* backpressure: puts faster than the checkpointer can copy would grow the WAL without end; past
     * HS_STORE_WAL_HARD frames this put copies it itself (with db_mu held nothing is written
     * meanwhile, so the next put starts the WAL over). Rare: the checkpointer normally keeps the
     * WAL near HS_STORE_WAL_MAX. */
    pthread_mutex_lock(&s->ck_mu);
    int64_t frames = s->wal_frames;
    pthread_mutex_unlock(&s->ck_mu);
    if (st == HS_OK && frames >= HS_STORE_WAL_HARD) {
        /* TRUNCATE, not PASSIVE: a passive checkpoint returns at once, copying nothing, while
         * the checkpointer's connection holds the checkpoint lock, and the WAL grew past 16 MB in
         * a CI run on busy cores. TRUNCATE copies every frame and empties the file; while the
         * checkpointer finishes its own (it never waits on db_mu with the lock held) this put
         * retries, 1 ms apart, for at most about 200 ms. */
        for (int tries = 0; tries < 200; tries++) {
            int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
            if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
                break;
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
    pthread_mutex_unlock(&s->db_mu);
    return st;
}

hs_status hs_store_recent(hs_store *s, const char *function, int64_t want, double *out, int64_t *n, int64_t *last,
                          uint64_t *version)
{
    HS_ASSERT(s && function && want >= 0 && (out || want == 0) && n && last && version);
    *n = 0;
    *last = 0;
    *version = 0;
    pthread_mutex_lock(&s->mem_mu);
    const hs_store_fn *f = hs_store_find(s, function, hs_store_hash(function));
    if (f) {
        int64_t span = (f->latest - f->first) / 60 + 1;
        int64_t k = want < span ? want : span;
        for (int64_t i = 0; i < k; i++)
            out[i] = f->counts[hs_store_slot(f->latest - (k - 1 - i) * 60)];
        *n = k;
        *last = f->latest;
        *version = f->version;
    }
    pthread_mutex_unlock(&s->mem_mu);
    return HS_OK;
}

void hs_store_counts(hs_store *s, int64_t *observations, int64_t *functions)
{
    HS_ASSERT(s);
    pthread_mutex_lock(&s->mem_mu);
    if (observations)
        *observations = s->rows;
    if (functions)
        *functions = s->nfn;
    pthread_mutex_unlock(&s->mem_mu);
}
