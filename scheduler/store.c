#include "scheduler/store.h"

#include "common/clock.h"
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

enum {
    Q_BEGIN, Q_COMMIT, Q_ROLLBACK,
    Q_JOB_INSERT, Q_JOB_UPDATE, Q_JOB_TOKEN, Q_JOBS_ALL,
    Q_ATTEMPT_PUT, Q_ATTEMPT_GET, Q_ATTEMPTS_OF,
    Q_NODE_PUT, Q_NODES_ALL, Q_ACCOUNT_PUT, Q_ACCOUNTS_ALL, Q_EVENTS_OF,
    Q_EVENT, Q_EVENT_COUNT_JOB, Q_EVENT_COUNT,
    Q_COUNT
};

static const char *const sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_JOB_INSERT] = "INSERT INTO jobs(id, token, spec, state, reason, exit_code, attempt,"
                     " submit_ms, start_ms, end_ms, failed_rank, failed_node, restarts, avoid)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [Q_JOB_UPDATE] = "UPDATE jobs SET state = ?4, reason = ?5, exit_code = ?6, attempt = ?7,"
                     " submit_ms = ?8, start_ms = ?9, end_ms = ?10, failed_rank = ?11,"
                     " failed_node = ?12, restarts = ?13, avoid = ?14 WHERE id = ?1",
    [Q_JOB_TOKEN] = "SELECT id FROM jobs WHERE token = ?1",
    [Q_JOBS_ALL] = "SELECT id, token, spec, state, reason, exit_code, attempt, submit_ms,"
                   " start_ms, end_ms, failed_rank, failed_node, restarts, avoid FROM jobs ORDER BY id",
    [Q_ATTEMPT_PUT] = "INSERT OR REPLACE INTO attempts(job_id, attempt, state, placement,"
                      " start_ms, end_ms, exit_code, reason) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_ATTEMPT_GET] = "SELECT state, placement, start_ms, end_ms, exit_code, reason"
                      " FROM attempts WHERE job_id = ?1 AND attempt = ?2",
    [Q_ATTEMPTS_OF] = "SELECT attempt, state, placement, start_ms, end_ms, exit_code, reason"
                      " FROM attempts WHERE job_id = ?1 ORDER BY attempt",
    [Q_NODE_PUT] = "INSERT OR REPLACE INTO nodes(name, info, state, reason, drain_reason)"
                   " VALUES(?1, ?2, ?3, ?4, ?5)",
    [Q_NODES_ALL] = "SELECT name, info, state, reason, drain_reason FROM nodes ORDER BY rowid",
    [Q_ACCOUNT_PUT] = "INSERT OR REPLACE INTO accounts(user, usage, at_ms) VALUES(?1, ?2, ?3)",
    [Q_ACCOUNTS_ALL] = "SELECT user, usage, at_ms FROM accounts ORDER BY user",
    [Q_EVENT] = "INSERT INTO events(time_ms, job_id, node, kind, detail) VALUES(?1, ?2, ?3, ?4, ?5)",
    [Q_EVENTS_OF] = "SELECT time_ms, detail FROM events WHERE job_id = ?1 AND kind = ?2"
                    " ORDER BY id",
    [Q_EVENT_COUNT_JOB] = "SELECT count(*) FROM events WHERE job_id = ?1",
    [Q_EVENT_COUNT] = "SELECT count(*) FROM events",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '2');"
    "CREATE TABLE IF NOT EXISTS jobs("
    " id INTEGER PRIMARY KEY, token TEXT, spec BLOB NOT NULL, state INTEGER NOT NULL,"
    " reason TEXT, exit_code INTEGER, attempt INTEGER, submit_ms INTEGER,"
    " start_ms INTEGER, end_ms INTEGER, failed_rank INTEGER, failed_node TEXT,"
    " restarts INTEGER DEFAULT 0, avoid TEXT);"
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_token ON jobs(token) WHERE token IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS attempts("
    " job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, state INTEGER, placement BLOB,"
    " start_ms INTEGER, end_ms INTEGER, exit_code INTEGER, reason TEXT,"
    " PRIMARY KEY(job_id, attempt));"
    "CREATE TABLE IF NOT EXISTS nodes("
    " name TEXT PRIMARY KEY, info BLOB, state TEXT, reason TEXT, drain_reason TEXT);"
    "CREATE TABLE IF NOT EXISTS events("
    " id INTEGER PRIMARY KEY, time_ms INTEGER, job_id INTEGER, node TEXT, kind TEXT,"
    " detail TEXT);"
    "CREATE INDEX IF NOT EXISTS events_job ON events(job_id);"
    "CREATE TABLE IF NOT EXISTS accounts(user TEXT PRIMARY KEY, usage REAL, at_ms INTEGER);";

/* Schema 1 (before restarts): the columns schema 2 added. */
static const char migrate_1_to_2[] =
    "BEGIN IMMEDIATE;"
    "ALTER TABLE jobs ADD COLUMN restarts INTEGER DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN avoid TEXT;"
    "ALTER TABLE attempts ADD COLUMN reason TEXT;"
    "UPDATE meta SET value = '2' WHERE key = 'schema';"
    "COMMIT;";

struct store {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    int lockfd;
    bool in_tx;
    char err[512];
};

static int fail(store *st, const char *what)
{
    snprintf(st->err, sizeof st->err, "%s: %s", what, sqlite3_errmsg(st->db));
    return -1;
}

/* The end of a walk over the rows of 's' (rc: its last step): an error
 * of SQLite's, unless the callback stopped it with 'res'. Returns res, or
 * -1 with store_errmsg set. */
static int walk_end(store *st, sqlite3_stmt *s, int rc, int res, const char *what)
{
    if (res == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        res = fail(st, what);
    sqlite3_reset(s);
    return res;
}

const char *store_errmsg(store *st)
{
    return st->err;
}

static int exec(store *st, const char *s)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, s, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(st->err, sizeof st->err, "%s", msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* One ternd per database: an flock on "<path>.lock" held while open. */
static int take_lock(store *st, const char *path, char *err, size_t errlen)
{
    char lockpath[FS_PATH_LEN];
    snprintf(lockpath, sizeof lockpath, "%s.lock", path);
    st->lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lockfd < 0) {
        snprintf(err, errlen, "state %s: cannot create lock file: %s", path, strerror(errno));
        return -1;
    }
    if (flock(st->lockfd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "?";
        ssize_t n = pread(st->lockfd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 1] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(err, errlen, "state %s is in use by another ternd (pid %s)", path, pid);
        return -1;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
    if (ftruncate(st->lockfd, 0) < 0 || pwrite(st->lockfd, buf, (size_t)n, 0) != n) {
        snprintf(err, errlen, "state %s: cannot write lock file: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads the schema version of the meta table into *version. Returns 1,
 * 0 when there is no such row, -1 when there is no meta table to ask.
 * Reads only. */
static int schema_version(store *st, int *version)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'schema'", -1, &q, NULL)
        != SQLITE_OK) {
        snprintf(st->err, sizeof st->err, "%s", sqlite3_errmsg(st->db));
        return -1;
    }
    int found = sqlite3_step(q) == SQLITE_ROW;
    *version = found ? sqlite3_column_int(q, 0) : 0;
    sqlite3_finalize(q);
    return found;
}

/* Brings a database of an earlier tern to this schema. */
static int migrate(store *st)
{
    int version;
    if (schema_version(st, &version) < 0)
        return -1;
    if (version == 1 && exec(st, migrate_1_to_2) < 0) {
        exec(st, "ROLLBACK");
        return -1;
    }
    if (version != 1 && version != 2) {
        snprintf(st->err, sizeof st->err, "schema version %d is not one this ternd knows (2)",
                 version);
        return -1;
    }
    return 0;
}

/* 1: empty or tern's (a meta table holding our schema version); 0: another
 * program's database; -1: not a database at all. Reads only. */
static int database_kind(store *st)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master", -1, &q, NULL)
        != SQLITE_OK) {
        snprintf(st->err, sizeof st->err, "%s", sqlite3_errmsg(st->db));
        return -1;
    }
    int rc = sqlite3_step(q);
    int objects = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
    if (rc != SQLITE_ROW)
        snprintf(st->err, sizeof st->err, "%s", sqlite3_errmsg(st->db));
    sqlite3_finalize(q);
    if (objects < 0)
        return -1;
    if (objects == 0)
        return 1;
    int version;
    return schema_version(st, &version) == 1;
}

/* The state (and SQLite's -wal and -shm beside it, which SQLite creates
 * with the database's mode) holds every job's environment: ternd's user
 * alone may read it. Made so once the file is known to be ours, before
 * anything but the schema is in it (also where an older ternd made it 0644). */
static int make_private(const char *path, char *err, size_t errlen)
{
    static const char *const sides[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
        char file[FS_SUBPATH_LEN];
        snprintf(file, sizeof file, "%s%s", path, sides[i]);
        if (chmod(file, 0600) < 0 && errno != ENOENT) {
            snprintf(err, errlen, "state %s: %s", file, strerror(errno));
            return -1;
        }
    }
    return 0;
}

store *store_open(const char *path, char *err, size_t errlen)
{
    store *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->lockfd = -1;
    if (take_lock(st, path, err, errlen) < 0)
        goto error;
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)
        != SQLITE_OK) {
        snprintf(err, errlen, "state %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : "cannot open");
        goto error;
    }
    sqlite3_busy_timeout(st->db, 5000);
    int kind = database_kind(st);
    if (kind < 0) {
        snprintf(err, errlen, "state %s: not an SQLite database (%s)", path, st->err);
        goto error;
    }
    if (kind == 0) {
        snprintf(err, errlen, "state %s: an SQLite database of another program; refusing to "
                 "touch it", path);
        goto error;
    }
    if (make_private(path, err, errlen) < 0)
        goto error;
    if (exec(st, "PRAGMA journal_mode=WAL") < 0 || exec(st, "PRAGMA synchronous=FULL") < 0 ||
        exec(st, schema) < 0 || migrate(st) < 0) {
        snprintf(err, errlen, "state %s: %s", path, st->err);
        goto error;
    }
    for (int i = 0; i < Q_COUNT; i++) {
        if (sqlite3_prepare_v3(st->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->q[i], NULL)
            != SQLITE_OK) {
            snprintf(err, errlen, "state %s: %s (is it a tern state database?)", path,
                     sqlite3_errmsg(st->db));
            goto error;
        }
    }
    return st;
error:
    store_close(&st);
    return NULL;
}

void store_close(store **stp)
{
    if (!stp || !*stp)
        return;
    store *st = *stp;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(st->q[i]);
    if (st->db)
        sqlite3_close(st->db);
    if (st->lockfd >= 0)
        close(st->lockfd);
    free(st);
    *stp = NULL;
}

/* Runs a statement that returns no rows, then resets it. */
static int step_done(store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int res = rc == SQLITE_DONE ? 0 : fail(st, what);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return res;
}

int store_begin(store *st)
{
    if (step_done(st, st->q[Q_BEGIN], "begin") < 0)
        return -1;
    st->in_tx = true;
    return 0;
}

int store_commit(store *st)
{
    if (step_done(st, st->q[Q_COMMIT], "commit") < 0)
        return -1;
    st->in_tx = false;
    return 0;
}

void store_hold_tx(store *st)
{
    if (st->in_tx && sqlite3_get_autocommit(st->db)) {
        sqlite3_step(st->q[Q_BEGIN]);
        sqlite3_reset(st->q[Q_BEGIN]);
    }
}

void store_rollback(store *st)
{
    if (sqlite3_get_autocommit(st->db) == 0) {
        sqlite3_step(st->q[Q_ROLLBACK]);
        sqlite3_reset(st->q[Q_ROLLBACK]);
    }
    st->in_tx = false;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static void bind_job(sqlite3_stmt *s, const store_job *j)
{
    sqlite3_bind_int64(s, 1, (sqlite3_int64)j->id);
    sqlite3_bind_int(s, 4, j->state);
    bind_text(s, 5, j->reason);
    sqlite3_bind_int(s, 6, j->exit_code);
    sqlite3_bind_int64(s, 7, j->attempt);
    sqlite3_bind_int64(s, 8, j->submit_ms);
    sqlite3_bind_int64(s, 9, j->start_ms);
    sqlite3_bind_int64(s, 10, j->end_ms);
    sqlite3_bind_int(s, 11, j->failed_rank);
    bind_text(s, 12, j->failed_node);
    sqlite3_bind_int64(s, 13, j->restarts);
    bind_text(s, 14, j->avoid && *j->avoid ? j->avoid : NULL);
}

int store_job_insert(store *st, const store_job *j)
{
    sqlite3_stmt *s = st->q[Q_JOB_INSERT];
    bind_job(s, j);
    bind_text(s, 2, j->token && *j->token ? j->token : NULL);
    sqlite3_bind_blob(s, 3, j->spec, (int)j->spec_len, SQLITE_STATIC);
    return step_done(st, s, "insert job");
}

int store_job_update(store *st, const store_job *j)
{
    sqlite3_stmt *s = st->q[Q_JOB_UPDATE];
    bind_job(s, j);
    return step_done(st, s, "update job");
}

int store_job_by_token(store *st, const char *token, uint64_t *id)
{
    sqlite3_stmt *s = st->q[Q_JOB_TOKEN];
    bind_text(s, 1, token);
    int rc = sqlite3_step(s), res;
    if (rc == SQLITE_ROW) {
        *id = (uint64_t)sqlite3_column_int64(s, 0);
        res = 1;
    } else {
        res = rc == SQLITE_DONE ? 0 : fail(st, "find token");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return res;
}

int store_jobs_load(store *st, int (*fn)(void *arg, const store_job *j), void *arg)
{
    sqlite3_stmt *s = st->q[Q_JOBS_ALL];
    int rc, res = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_job j = {
            .id = (uint64_t)sqlite3_column_int64(s, 0),
            .token = (const char *)sqlite3_column_text(s, 1),
            .spec = sqlite3_column_blob(s, 2),
            .spec_len = (size_t)sqlite3_column_bytes(s, 2),
            .state = sqlite3_column_int(s, 3),
            .reason = (const char *)sqlite3_column_text(s, 4),
            .exit_code = sqlite3_column_int(s, 5),
            .attempt = (uint32_t)sqlite3_column_int64(s, 6),
            .submit_ms = sqlite3_column_int64(s, 7),
            .start_ms = sqlite3_column_int64(s, 8),
            .end_ms = sqlite3_column_int64(s, 9),
            .failed_rank = sqlite3_column_int(s, 10),
            .failed_node = (const char *)sqlite3_column_text(s, 11),
            .restarts = (uint32_t)sqlite3_column_int64(s, 12),
            .avoid = (const char *)sqlite3_column_text(s, 13),
        };
        if ((res = fn(arg, &j)) != 0)
            break;
    }
    return walk_end(st, s, rc, res, "load jobs");
}

int store_attempt_put(store *st, const store_attempt *a)
{
    sqlite3_stmt *s = st->q[Q_ATTEMPT_PUT];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)a->job_id);
    sqlite3_bind_int64(s, 2, a->attempt);
    sqlite3_bind_int(s, 3, a->state);
    sqlite3_bind_blob(s, 4, a->placement, (int)a->placement_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, a->start_ms);
    sqlite3_bind_int64(s, 6, a->end_ms);
    sqlite3_bind_int(s, 7, a->exit_code);
    bind_text(s, 8, a->reason);
    return step_done(st, s, "store attempt");
}

int store_attempt_get(store *st, uint64_t job_id, uint32_t attempt, store_attempt *a)
{
    sqlite3_stmt *s = st->q[Q_ATTEMPT_GET];
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, (sqlite3_int64)job_id);
    sqlite3_bind_int64(s, 2, attempt);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        fail(st, "load attempt");
        sqlite3_reset(s);
        return -1;
    }
    /* Copied out and reset at once: a statement left open would hold a read
     * transaction and keep SQLite from ever checkpointing the WAL. */
    size_t len = (size_t)sqlite3_column_bytes(s, 1);
    void *copy = malloc(len ? len : 1);
    if (!copy) {
        sqlite3_reset(s);
        snprintf(st->err, sizeof st->err, "load attempt: out of memory");
        return -1;
    }
    if (len)
        memcpy(copy, sqlite3_column_blob(s, 1), len);
    a->job_id = job_id;
    a->attempt = attempt;
    a->state = sqlite3_column_int(s, 0);
    a->placement = copy;
    a->placement_len = len;
    a->start_ms = sqlite3_column_int64(s, 2);
    a->end_ms = sqlite3_column_int64(s, 3);
    a->exit_code = sqlite3_column_int(s, 4);
    a->reason = NULL;
    sqlite3_reset(s);
    return 1;
}

int store_attempts_of(store *st, uint64_t job_id, int (*fn)(void *arg, const store_attempt *a),
                      void *arg)
{
    sqlite3_stmt *s = st->q[Q_ATTEMPTS_OF];
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, (sqlite3_int64)job_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_attempt a = {
            .job_id = job_id,
            .attempt = (uint32_t)sqlite3_column_int64(s, 0),
            .state = sqlite3_column_int(s, 1),
            .placement = sqlite3_column_blob(s, 2),
            .placement_len = (size_t)sqlite3_column_bytes(s, 2),
            .start_ms = sqlite3_column_int64(s, 3),
            .end_ms = sqlite3_column_int64(s, 4),
            .exit_code = sqlite3_column_int(s, 5),
            .reason = (const char *)sqlite3_column_text(s, 6),
        };
        int r = fn(arg, &a);
        if (r) {
            sqlite3_reset(s);
            return r;
        }
    }
    if (rc != SQLITE_DONE)
        fail(st, "load attempts");
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_node_put(store *st, const store_node *n)
{
    sqlite3_stmt *s = st->q[Q_NODE_PUT];
    bind_text(s, 1, n->name);
    sqlite3_bind_blob(s, 2, n->info, (int)n->info_len, SQLITE_STATIC);
    bind_text(s, 3, n->state);
    bind_text(s, 4, n->reason);
    bind_text(s, 5, n->drain_reason);
    return step_done(st, s, "store node");
}

int store_nodes_load(store *st, int (*fn)(void *arg, const store_node *n), void *arg)
{
    sqlite3_stmt *s = st->q[Q_NODES_ALL];
    int rc, res = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_node n = {
            .name = (const char *)sqlite3_column_text(s, 0),
            .info = sqlite3_column_blob(s, 1),
            .info_len = (size_t)sqlite3_column_bytes(s, 1),
            .state = (const char *)sqlite3_column_text(s, 2),
            .reason = (const char *)sqlite3_column_text(s, 3),
            .drain_reason = (const char *)sqlite3_column_text(s, 4),
        };
        if ((res = fn(arg, &n)) != 0)
            break;
    }
    return walk_end(st, s, rc, res, "load nodes");
}

int store_events_of(store *st, uint64_t job_id, const char *kind,
                    int (*fn)(void *arg, int64_t time_ms, const char *detail), void *arg)
{
    sqlite3_stmt *s = st->q[Q_EVENTS_OF];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)job_id);
    bind_text(s, 2, kind);
    int rc, res = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(s, 1);
        if ((res = fn(arg, sqlite3_column_int64(s, 0), d ? d : "")) != 0)
            break;
    }
    return walk_end(st, s, rc, res, "load events");
}

int store_account_put(store *st, const char *user, double usage, int64_t at_ms)
{
    sqlite3_stmt *s = st->q[Q_ACCOUNT_PUT];
    bind_text(s, 1, user);
    sqlite3_bind_double(s, 2, usage);
    sqlite3_bind_int64(s, 3, at_ms);
    return step_done(st, s, "store account");
}

int store_accounts_load(store *st,
                        int (*fn)(void *arg, const char *user, double usage, int64_t at_ms),
                        void *arg)
{
    sqlite3_stmt *s = st->q[Q_ACCOUNTS_ALL];
    int rc, res = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if ((res = fn(arg, (const char *)sqlite3_column_text(s, 0), sqlite3_column_double(s, 1),
                      sqlite3_column_int64(s, 2))) != 0)
            break;
    return walk_end(st, s, rc, res, "load accounts");
}

int store_event(store *st, uint64_t job_id, const char *node, const char *kind,
                const char *detail)
{
    sqlite3_stmt *s = st->q[Q_EVENT];
    sqlite3_bind_int64(s, 1, clock_wall_ms());
    if (job_id)
        sqlite3_bind_int64(s, 2, (sqlite3_int64)job_id);
    else
        sqlite3_bind_null(s, 2);
    bind_text(s, 3, node);
    bind_text(s, 4, kind);
    bind_text(s, 5, detail);
    return step_done(st, s, "log event");
}

int64_t store_event_count(store *st, uint64_t job_id)
{
    sqlite3_stmt *s = st->q[job_id ? Q_EVENT_COUNT_JOB : Q_EVENT_COUNT];
    if (job_id)
        sqlite3_bind_int64(s, 1, (sqlite3_int64)job_id);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    return n;
}
