/* scheduler/store against a real SQLite file in a temporary directory:
 * what is committed comes back after a reopen, what is rolled back never
 * does, and one database belongs to one ternd. */
#include "tests/unit/unit.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/jobstate.h"
#include "scheduler/store.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

typedef struct fixture {
    char *dir;
    char path[1024];
    store *st;
} fixture;

static void fx_open(fixture *fx)
{
    char err[512] = "";
    fx->dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->dir);
    snprintf(fx->path, sizeof fx->path, "%s/state.db", fx->dir);
    fx->st = store_open(fx->path, err, sizeof err);
    if (!fx->st)
        fprintf(stderr, "store_open: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->st);
}

static void fx_close(fixture *fx)
{
    store_close(&fx->st);
    unit_rmrf(fx->dir);
    free(fx->dir);
    fx->dir = NULL;
}

static int reopen(fixture *fx)
{
    char err[512] = "";
    store_close(&fx->st);
    fx->st = store_open(fx->path, err, sizeof err);
    if (!fx->st)
        fprintf(stderr, "store_open again: %s\n", err);
    return fx->st ? 0 : -1;
}

/* ---- loading jobs into copies ---------------------------------------------- */

typedef struct job_copy {
    uint64_t id;
    char *token;
    unsigned char *spec;
    size_t spec_len;
    int state;
    char *reason;
    int32_t exit_code;
    uint32_t attempt;
    int64_t submit_ms, start_ms, end_ms;
    int32_t failed_rank;
    char *failed_node;
    uint32_t restarts;
    char *avoid;
} job_copy;

typedef struct loaded {
    size_t n;
    job_copy jobs[16];
    int stop_after;       /* >0: return 7 after this many */
} loaded;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int load_one(void *arg, const store_job *j)
{
    loaded *l = arg;
    if (l->n < N_ELEMS(l->jobs)) {
        job_copy *c = &l->jobs[l->n];
        c->id = j->id;
        c->token = dup_or_null(j->token);
        c->spec = malloc(j->spec_len ? j->spec_len : 1);
        memcpy(c->spec, j->spec, j->spec_len);
        c->spec_len = j->spec_len;
        c->state = j->state;
        c->reason = dup_or_null(j->reason);
        c->exit_code = j->exit_code;
        c->attempt = j->attempt;
        c->submit_ms = j->submit_ms;
        c->start_ms = j->start_ms;
        c->end_ms = j->end_ms;
        c->failed_rank = j->failed_rank;
        c->failed_node = dup_or_null(j->failed_node);
        c->restarts = j->restarts;
        c->avoid = dup_or_null(j->avoid);
    }
    l->n++;
    if (l->stop_after && (int)l->n == l->stop_after)
        return 7;
    return 0;
}

static void loaded_free(loaded *l)
{
    for (size_t i = 0; i < l->n && i < N_ELEMS(l->jobs); i++) {
        free(l->jobs[i].token);
        free(l->jobs[i].spec);
        free(l->jobs[i].reason);
        free(l->jobs[i].failed_node);
        free(l->jobs[i].avoid);
    }
    memset(l, 0, sizeof *l);
}

static void same_job(const job_copy *c, const store_job *j)
{
    CU_ASSERT_EQUAL(c->id, j->id);
    if (j->token && *j->token) {
        CU_ASSERT_TRUE(c->token && strcmp(c->token, j->token) == 0);
    } else {
        CU_ASSERT_PTR_NULL(c->token);
    }
    CU_ASSERT_EQUAL_FATAL(c->spec_len, j->spec_len);
    CU_ASSERT_EQUAL(memcmp(c->spec, j->spec, j->spec_len), 0);
    CU_ASSERT_EQUAL(c->state, j->state);
    if (j->reason) {
        CU_ASSERT_TRUE(c->reason && strcmp(c->reason, j->reason) == 0);
    } else {
        CU_ASSERT_PTR_NULL(c->reason);
    }
    CU_ASSERT_EQUAL(c->exit_code, j->exit_code);
    CU_ASSERT_EQUAL(c->attempt, j->attempt);
    CU_ASSERT_EQUAL(c->submit_ms, j->submit_ms);
    CU_ASSERT_EQUAL(c->start_ms, j->start_ms);
    CU_ASSERT_EQUAL(c->end_ms, j->end_ms);
    CU_ASSERT_EQUAL(c->failed_rank, j->failed_rank);
    if (j->failed_node) {
        CU_ASSERT_TRUE(c->failed_node && strcmp(c->failed_node, j->failed_node) == 0);
    } else {
        CU_ASSERT_PTR_NULL(c->failed_node);
    }
}

/* Spec blobs with every byte value, NULs included. */
static unsigned char spec_a[300], spec_b[7] = { 0, 1, 0, 2, 0, 3, 0 }, spec_c[1] = { 0x0a };

static void fill_specs(void)
{
    for (size_t i = 0; i < sizeof spec_a; i++)
        spec_a[i] = (unsigned char)(i * 7);
}

/* ---- tests ------------------------------------------------------------------ */

static int count_rows(sqlite3 *db, const char *q)
{
    sqlite3_stmt *s = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(db, q, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
}

static void test_schema(void)
{
    fixture fx;
    fx_open(&fx);
    CU_ASSERT_EQUAL(access(fx.path, F_OK), 0);
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(fx.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    static const char *const tables[] = { "meta", "jobs", "attempts", "nodes", "events" };
    for (size_t i = 0; i < N_ELEMS(tables); i++) {
        char q[256];
        snprintf(q, sizeof q,
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'",
                 tables[i]);
        CU_ASSERT_EQUAL(count_rows(db, q), 1);
    }
    CU_ASSERT_EQUAL(count_rows(db, "SELECT count(*) FROM meta WHERE key = 'schema' AND value = '2'"),
                    1);
    CU_ASSERT_EQUAL(count_rows(db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"),
                    1);
    CU_ASSERT_EQUAL(count_rows(db, "SELECT count(*) FROM jobs"), 0);
    sqlite3_close(db);

    /* opening again keeps the schema, and the meta row is not duplicated */
    CU_ASSERT_EQUAL_FATAL(reopen(&fx), 0);
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(fx.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(count_rows(db, "SELECT count(*) FROM meta"), 1);
    sqlite3_close(db);
    fx_close(&fx);
    store_close(NULL);
}

static void test_jobs(void)
{
    fill_specs();
    fixture fx;
    fx_open(&fx);
    store_job jobs[] = {
        { .id = 1, .token = "tok-1", .spec = spec_a, .spec_len = sizeof spec_a,
          .state = JOB_PENDING, .reason = "Resources", .exit_code = 0, .attempt = 0,
          .submit_ms = 1700000000123, .start_ms = 0, .end_ms = 0, .failed_rank = -1,
          .failed_node = NULL },
        { .id = 2, .token = NULL, .spec = spec_b, .spec_len = sizeof spec_b,
          .state = JOB_RUNNING, .reason = NULL, .exit_code = -9, .attempt = 3,
          .submit_ms = 1, .start_ms = 2, .end_ms = 3, .failed_rank = 5,
          .failed_node = "node-7" },
        { .id = 9000000000ull, .token = "", .spec = spec_c, .spec_len = sizeof spec_c,
          .state = JOB_NODE_FAIL, .reason = "", .exit_code = 137, .attempt = 4000000000u,
          .submit_ms = -5, .start_ms = INT64_MAX, .end_ms = INT64_MIN, .failed_rank = INT32_MIN,
          .failed_node = "" },
    };
    /* inserted out of id order, loaded in id order */
    CU_ASSERT_EQUAL_FATAL(store_begin(fx.st), 0);
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &jobs[2]), 0);
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &jobs[0]), 0);
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &jobs[1]), 0);
    CU_ASSERT_EQUAL_FATAL(store_commit(fx.st), 0);

    loaded l = { 0 };
    CU_ASSERT_EQUAL(store_jobs_load(fx.st, load_one, &l), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 3);
    for (size_t i = 0; i < 3; i++)
        same_job(&l.jobs[i], &jobs[i]);
    loaded_free(&l);

    /* update changes everything but id, token and spec */
    store_job upd = jobs[0];
    upd.token = "tok-changed";
    upd.spec = spec_b;
    upd.spec_len = sizeof spec_b;
    upd.state = JOB_COMPLETED;
    upd.reason = "done";
    upd.exit_code = 3;
    upd.attempt = 2;
    upd.submit_ms = 11;
    upd.start_ms = 22;
    upd.end_ms = 33;
    upd.failed_rank = 4;
    upd.failed_node = "node-1";
    CU_ASSERT_EQUAL_FATAL(store_begin(fx.st), 0);
    CU_ASSERT_EQUAL(store_job_update(fx.st, &upd), 0);
    CU_ASSERT_EQUAL_FATAL(store_commit(fx.st), 0);
    CU_ASSERT_EQUAL(store_jobs_load(fx.st, load_one, &l), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 3);
    store_job want = upd;
    want.token = jobs[0].token;
    want.spec = jobs[0].spec;
    want.spec_len = jobs[0].spec_len;
    same_job(&l.jobs[0], &want);
    same_job(&l.jobs[1], &jobs[1]);   /* the others untouched */
    same_job(&l.jobs[2], &jobs[2]);
    loaded_free(&l);

    /* a callback that stops the walk; the next walk starts over */
    l.stop_after = 2;
    CU_ASSERT_EQUAL(store_jobs_load(fx.st, load_one, &l), 7);
    CU_ASSERT_EQUAL(l.n, 2);
    loaded_free(&l);
    CU_ASSERT_EQUAL(store_jobs_load(fx.st, load_one, &l), 0);
    CU_ASSERT_EQUAL(l.n, 3);
    CU_ASSERT_EQUAL(l.jobs[0].id, 1);
    loaded_free(&l);

    /* everything survives a reopen */
    CU_ASSERT_EQUAL_FATAL(reopen(&fx), 0);
    CU_ASSERT_EQUAL(store_jobs_load(fx.st, load_one, &l), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 3);
    same_job(&l.jobs[0], &want);
    same_job(&l.jobs[1], &jobs[1]);
    same_job(&l.jobs[2], &jobs[2]);
    loaded_free(&l);
    fx_close(&fx);
}

static void test_tokens(void)
{
    fill_specs();
    fixture fx;
    fx_open(&fx);
    store_job j = { .id = 1, .token = "retry-abc", .spec = spec_a, .spec_len = sizeof spec_a };
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &j), 0);    /* autocommit works too */
    uint64_t id = 0;
    CU_ASSERT_EQUAL(store_job_by_token(fx.st, "retry-abc", &id), 1);
    CU_ASSERT_EQUAL(id, 1);
    id = 77;
    CU_ASSERT_EQUAL(store_job_by_token(fx.st, "retry-abd", &id), 0);
    CU_ASSERT_EQUAL(id, 77);
    CU_ASSERT_EQUAL(store_job_by_token(fx.st, "", &id), 0);
    CU_ASSERT_EQUAL(id, 77);

    /* the same token again is refused, and says why */
    store_job dup = { .id = 2, .token = "retry-abc", .spec = spec_b, .spec_len = sizeof spec_b };
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &dup), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(store_errmsg(fx.st), "UNIQUE"));
    /* and the same id too */
    store_job dup_id = { .id = 1, .token = "other", .spec = spec_b, .spec_len = sizeof spec_b };
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &dup_id), -1);

    /* no token, or an empty one, never collides */
    store_job none[] = {
        { .id = 3, .token = NULL, .spec = spec_b, .spec_len = sizeof spec_b },
        { .id = 4, .token = NULL, .spec = spec_b, .spec_len = sizeof spec_b },
        { .id = 5, .token = "", .spec = spec_b, .spec_len = sizeof spec_b },
        { .id = 6, .token = "", .spec = spec_b, .spec_len = sizeof spec_b },
    };
    for (size_t i = 0; i < N_ELEMS(none); i++)
        CU_ASSERT_EQUAL(store_job_insert(fx.st, &none[i]), 0);

    /* the failed inserts left nothing, and the statement works after them */
    store_job ok = { .id = 7, .token = "retry-xyz", .spec = spec_c, .spec_len = sizeof spec_c };
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &ok), 0);
    CU_ASSERT_EQUAL(store_job_by_token(fx.st, "retry-xyz", &id), 1);
    CU_ASSERT_EQUAL(id, 7);
    loaded l = { 0 };
    CU_ASSERT_EQUAL(store_jobs_load(fx.st, load_one, &l), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 6);
    static const uint64_t ids[] = { 1, 3, 4, 5, 6, 7 };
    for (size_t i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(l.jobs[i].id, ids[i]);
    CU_ASSERT_EQUAL(l.jobs[0].spec_len, sizeof spec_a);   /* not replaced by dup_id */
    CU_ASSERT_PTR_NULL(l.jobs[3].token);
    loaded_free(&l);
    fx_close(&fx);
}

/* The stored attempt want->attempt of want->job_id is 'want' to the field. */
static void expect_attempt(store *st, const store_attempt *want)
{
    store_attempt got;
    memset(&got, 0, sizeof got);
    CU_ASSERT_EQUAL_FATAL(store_attempt_get(st, want->job_id, want->attempt, &got), 1);
    CU_ASSERT_EQUAL(got.job_id, want->job_id);
    CU_ASSERT_EQUAL(got.attempt, want->attempt);
    CU_ASSERT_EQUAL(got.state, want->state);
    CU_ASSERT_EQUAL_FATAL(got.placement_len, want->placement_len);
    CU_ASSERT_EQUAL(memcmp(got.placement, want->placement, want->placement_len), 0);
    CU_ASSERT_EQUAL(got.start_ms, want->start_ms);
    CU_ASSERT_EQUAL(got.end_ms, want->end_ms);
    CU_ASSERT_EQUAL(got.exit_code, want->exit_code);
    free((void *)got.placement);
}

static void test_attempts(void)
{
    fixture fx;
    fx_open(&fx);
    static const unsigned char place1[] = { 0x0a, 0x05, 'n', 'o', 'd', 'e', '1', 0x00, 0xff };
    static const unsigned char place2[] = { 0x12, 0x00 };
    store_attempt a = { .job_id = 5, .attempt = 0, .state = JOB_RUNNING, .placement = place1,
                        .placement_len = sizeof place1, .start_ms = 1000, .end_ms = 0,
                        .exit_code = 0 };
    CU_ASSERT_EQUAL(store_attempt_put(fx.st, &a), 0);
    expect_attempt(fx.st, &a);

    /* missing ones: 0, and *a untouched */
    store_attempt miss;
    memset(&miss, 0x5a, sizeof miss);
    store_attempt before = miss;
    CU_ASSERT_EQUAL(store_attempt_get(fx.st, 5, 1, &miss), 0);
    CU_ASSERT_EQUAL(store_attempt_get(fx.st, 6, 0, &miss), 0);
    CU_ASSERT_EQUAL(memcmp(&miss, &before, sizeof miss), 0);

    /* put again: replaced, not duplicated */
    store_attempt b = { .job_id = 5, .attempt = 0, .state = JOB_PREEMPTED, .placement = place2,
                        .placement_len = sizeof place2, .start_ms = 1000, .end_ms = 2000,
                        .exit_code = 143 };
    store_attempt c = { .job_id = 5, .attempt = 1, .state = JOB_RUNNING, .placement = place1,
                        .placement_len = sizeof place1, .start_ms = 3000 };
    CU_ASSERT_EQUAL_FATAL(store_begin(fx.st), 0);
    CU_ASSERT_EQUAL(store_attempt_put(fx.st, &b), 0);
    CU_ASSERT_EQUAL(store_attempt_put(fx.st, &c), 0);
    CU_ASSERT_EQUAL_FATAL(store_commit(fx.st), 0);
    expect_attempt(fx.st, &b);
    expect_attempt(fx.st, &c);

    /* A write transaction right after a get commits and persists. */
    store_job j = { .id = 5, .spec = place2, .spec_len = sizeof place2 };
    CU_ASSERT_EQUAL_FATAL(store_begin(fx.st), 0);
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &j), 0);
    CU_ASSERT_EQUAL(store_event(fx.st, 5, NULL, "start", "attempt 1"), 0);
    CU_ASSERT_EQUAL_FATAL(store_commit(fx.st), 0);
    CU_ASSERT_EQUAL_FATAL(reopen(&fx), 0);
    CU_ASSERT_EQUAL(store_event_count(fx.st, 5), 1);
    expect_attempt(fx.st, &b);
    CU_ASSERT_EQUAL(store_attempt_get(fx.st, 5, 2, &miss), 0);
    fx_close(&fx);
}

typedef struct attempts_seen {
    int n;
    uint32_t attempt[4];
    int state[4];
    char reason[4][64];
} attempts_seen;

static int see_attempt(void *arg, const store_attempt *a)
{
    attempts_seen *l = arg;
    if (l->n < 4) {
        l->attempt[l->n] = a->attempt;
        l->state[l->n] = a->state;
        snprintf(l->reason[l->n], sizeof l->reason[0], "%s", a->reason ? a->reason : "(null)");
    }
    l->n++;
    return 0;
}

/* Every attempt of a job, oldest first, with how it ended; the job's
 * restarts and the nodes its restarts avoid survive a reopen. */
static void test_attempt_history(void)
{
    fixture fx;
    fx_open(&fx);
    static const unsigned char pl[] = { 0x12, 0x00 };
    store_attempt a2 = { .job_id = 9, .attempt = 2, .state = JOB_RUNNING, .placement = pl,
                         .placement_len = sizeof pl };
    store_attempt a0 = { .job_id = 9, .attempt = 0, .state = JOB_NODE_FAIL, .placement = pl,
                         .placement_len = sizeof pl, .reason = "ranks lost on node2" };
    store_attempt a1 = { .job_id = 9, .attempt = 1, .state = JOB_PREEMPTED, .placement = pl,
                         .placement_len = sizeof pl, .reason = "spot notice on node3" };
    store_attempt other = { .job_id = 10, .attempt = 0, .state = JOB_RUNNING, .placement = pl,
                            .placement_len = sizeof pl };
    store_job j = { .id = 9, .spec = pl, .spec_len = sizeof pl, .attempt = 2, .restarts = 1,
                    .avoid = "node2,node5" };
    CU_ASSERT_EQUAL_FATAL(store_begin(fx.st), 0);
    CU_ASSERT_EQUAL(store_attempt_put(fx.st, &a2), 0);
    CU_ASSERT_EQUAL(store_attempt_put(fx.st, &a0), 0);
    CU_ASSERT_EQUAL(store_attempt_put(fx.st, &a1), 0);
    CU_ASSERT_EQUAL(store_attempt_put(fx.st, &other), 0);
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &j), 0);
    CU_ASSERT_EQUAL_FATAL(store_commit(fx.st), 0);
    CU_ASSERT_EQUAL_FATAL(reopen(&fx), 0);
    attempts_seen seen = { 0 };
    CU_ASSERT_EQUAL(store_attempts_of(fx.st, 9, see_attempt, &seen), 0);
    CU_ASSERT_EQUAL_FATAL(seen.n, 3);
    for (uint32_t i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(seen.attempt[i], i);
    CU_ASSERT_EQUAL(seen.state[0], JOB_NODE_FAIL);
    CU_ASSERT_STRING_EQUAL(seen.reason[0], "ranks lost on node2");
    CU_ASSERT_STRING_EQUAL(seen.reason[1], "spot notice on node3");
    CU_ASSERT_STRING_EQUAL(seen.reason[2], "(null)");
    loaded l = { 0 };
    CU_ASSERT_EQUAL(store_jobs_load(fx.st, load_one, &l), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 1);
    CU_ASSERT_EQUAL(l.jobs[0].restarts, 1);
    CU_ASSERT_TRUE(l.jobs[0].avoid && strcmp(l.jobs[0].avoid, "node2,node5") == 0);
    loaded_free(&l);
    fx_close(&fx);
}

/* A database of an earlier ternd (schema 1) is brought to schema 2 at
 * open, its rows kept; a schema this ternd does not know is refused. */
static void test_migration(void)
{
    char *dir = unit_tmpdir(), path[1024], err[512] = "";
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof path, "%s/state.db", dir);
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(db,
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
        "INSERT INTO meta VALUES('schema', '1');"
        "CREATE TABLE jobs(id INTEGER PRIMARY KEY, token TEXT, spec BLOB NOT NULL,"
        " state INTEGER NOT NULL, reason TEXT, exit_code INTEGER, attempt INTEGER,"
        " submit_ms INTEGER, start_ms INTEGER, end_ms INTEGER, failed_rank INTEGER,"
        " failed_node TEXT);"
        "CREATE TABLE attempts(job_id INTEGER NOT NULL, attempt INTEGER NOT NULL,"
        " state INTEGER, placement BLOB, start_ms INTEGER, end_ms INTEGER, exit_code INTEGER,"
        " PRIMARY KEY(job_id, attempt));"
        "INSERT INTO jobs(id, spec, state, reason, attempt) VALUES(3, x'00', 1, 'None', 0);"
        "INSERT INTO attempts VALUES(3, 0, 1, x'1200', 5, 0, 0);", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    store *st = store_open(path, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    loaded l = { 0 };
    CU_ASSERT_EQUAL(store_jobs_load(st, load_one, &l), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 1);
    CU_ASSERT_EQUAL(l.jobs[0].id, 3);
    CU_ASSERT_EQUAL(l.jobs[0].restarts, 0);
    CU_ASSERT_PTR_NULL(l.jobs[0].avoid);
    loaded_free(&l);
    attempts_seen seen = { 0 };
    CU_ASSERT_EQUAL(store_attempts_of(st, 3, see_attempt, &seen), 0);
    CU_ASSERT_EQUAL(seen.n, 1);
    store_close(&st);
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(count_rows(db, "SELECT count(*) FROM meta WHERE key = 'schema' AND value = '2'"), 1);
    CU_ASSERT_EQUAL(sqlite3_exec(db, "UPDATE meta SET value = '7' WHERE key = 'schema'", NULL,
                                 NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    st = store_open(path, err, sizeof err);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "schema version 7"));
    store_close(&st);
    unit_rmrf(dir);
    free(dir);
}

typedef struct node_copy {
    char name[64], state[16], reason[64], drain[64];
    bool reason_null, drain_null;
    unsigned char info[64];
    size_t info_len;
} node_copy;

typedef struct nodes_loaded {
    size_t n;
    node_copy nodes[8];
} nodes_loaded;

static int load_node(void *arg, const store_node *n)
{
    nodes_loaded *l = arg;
    if (l->n < N_ELEMS(l->nodes)) {
        node_copy *c = &l->nodes[l->n];
        snprintf(c->name, sizeof c->name, "%s", n->name ? n->name : "(null)");
        snprintf(c->state, sizeof c->state, "%s", n->state ? n->state : "(null)");
        c->reason_null = !n->reason;
        snprintf(c->reason, sizeof c->reason, "%s", n->reason ? n->reason : "");
        c->drain_null = !n->drain_reason;
        snprintf(c->drain, sizeof c->drain, "%s", n->drain_reason ? n->drain_reason : "");
        c->info_len = n->info_len < sizeof c->info ? n->info_len : sizeof c->info;
        memcpy(c->info, n->info, c->info_len);
    }
    l->n++;
    return 0;
}

static const node_copy *node_named(const nodes_loaded *l, const char *name)
{
    for (size_t i = 0; i < l->n && i < N_ELEMS(l->nodes); i++)
        if (strcmp(l->nodes[i].name, name) == 0)
            return &l->nodes[i];
    return NULL;
}

static void test_nodes(void)
{
    fixture fx;
    fx_open(&fx);
    static const unsigned char info1[] = { 0x0a, 0x02, 'n', '1', 0x18, 0x40 };
    static const unsigned char info2[] = { 0x0a, 0x02, 'n', '2', 0x00 };
    store_node n1 = { "n1", info1, sizeof info1, "UP", NULL, NULL };
    store_node n2 = { "n2", info2, sizeof info2, "DOWN", "no heartbeat", "maintenance" };
    CU_ASSERT_EQUAL(store_node_put(fx.st, &n1), 0);
    CU_ASSERT_EQUAL(store_node_put(fx.st, &n2), 0);
    nodes_loaded l = { 0 };
    CU_ASSERT_EQUAL(store_nodes_load(fx.st, load_node, &l), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 2);
    const node_copy *c = node_named(&l, "n1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->state, "UP");
    CU_ASSERT_TRUE(c->reason_null);
    CU_ASSERT_TRUE(c->drain_null);
    CU_ASSERT_EQUAL_FATAL(c->info_len, sizeof info1);
    CU_ASSERT_EQUAL(memcmp(c->info, info1, sizeof info1), 0);
    c = node_named(&l, "n2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->state, "DOWN");
    CU_ASSERT_STRING_EQUAL(c->reason, "no heartbeat");
    CU_ASSERT_FALSE(c->drain_null);
    CU_ASSERT_STRING_EQUAL(c->drain, "maintenance");
    CU_ASSERT_EQUAL(c->info_len, sizeof info2);

    /* a node registered again replaces its row */
    n1.state = "DOWN";
    n1.reason = "heartbeat lost";
    CU_ASSERT_EQUAL(store_node_put(fx.st, &n1), 0);
    CU_ASSERT_EQUAL_FATAL(reopen(&fx), 0);
    memset(&l, 0, sizeof l);
    CU_ASSERT_EQUAL(store_nodes_load(fx.st, load_node, &l), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 2);
    c = node_named(&l, "n1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->state, "DOWN");
    CU_ASSERT_STRING_EQUAL(c->reason, "heartbeat lost");
    CU_ASSERT_EQUAL(c->info_len, sizeof info1);
    fx_close(&fx);
}

static void test_events(void)
{
    fixture fx;
    fx_open(&fx);
    CU_ASSERT_EQUAL(store_event_count(fx.st, 0), 0);
    CU_ASSERT_EQUAL(store_event_count(fx.st, 1), 0);
    CU_ASSERT_EQUAL_FATAL(store_begin(fx.st), 0);
    CU_ASSERT_EQUAL(store_event(fx.st, 1, NULL, "submit", "2 nodes"), 0);
    CU_ASSERT_EQUAL(store_event(fx.st, 1, "n1", "start", NULL), 0);
    CU_ASSERT_EQUAL(store_event(fx.st, 2, "n2", "submit", NULL), 0);
    CU_ASSERT_EQUAL(store_event(fx.st, 1, "n1", "end", "exit 0"), 0);
    CU_ASSERT_EQUAL(store_event(fx.st, 0, "n3", "register", NULL), 0);
    CU_ASSERT_EQUAL(store_event(fx.st, 0, NULL, "startup", NULL), 0);
    CU_ASSERT_EQUAL_FATAL(store_commit(fx.st), 0);
    CU_ASSERT_EQUAL(store_event_count(fx.st, 1), 3);
    CU_ASSERT_EQUAL(store_event_count(fx.st, 2), 1);
    CU_ASSERT_EQUAL(store_event_count(fx.st, 3), 0);
    CU_ASSERT_EQUAL(store_event_count(fx.st, 0), 6);
    /* counting twice gives the same (statement reset between calls) */
    CU_ASSERT_EQUAL(store_event_count(fx.st, 1), 3);
    CU_ASSERT_EQUAL(store_event_count(fx.st, 2), 1);
    fx_close(&fx);
}

static void test_rollback(void)
{
    fill_specs();
    fixture fx;
    fx_open(&fx);
    store_job kept = { .id = 1, .token = "kept", .spec = spec_a, .spec_len = sizeof spec_a };
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &kept), 0);

    CU_ASSERT_EQUAL_FATAL(store_begin(fx.st), 0);
    store_job j = { .id = 2, .token = "gone", .spec = spec_b, .spec_len = sizeof spec_b };
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &j), 0);
    store_job upd = kept;
    upd.state = JOB_FAILED;
    CU_ASSERT_EQUAL(store_job_update(fx.st, &upd), 0);
    store_attempt a = { .job_id = 2, .attempt = 0, .placement = spec_b,
                        .placement_len = sizeof spec_b };
    CU_ASSERT_EQUAL(store_attempt_put(fx.st, &a), 0);
    store_node n = { "n9", spec_c, sizeof spec_c, "UP", NULL, NULL };
    CU_ASSERT_EQUAL(store_node_put(fx.st, &n), 0);
    CU_ASSERT_EQUAL(store_event(fx.st, 2, NULL, "submit", NULL), 0);
    store_rollback(fx.st);
    store_rollback(fx.st);    /* nothing open: harmless */

    uint64_t id = 0;
    CU_ASSERT_EQUAL(store_job_by_token(fx.st, "gone", &id), 0);
    store_attempt got;
    CU_ASSERT_EQUAL(store_attempt_get(fx.st, 2, 0, &got), 0);
    CU_ASSERT_EQUAL(store_event_count(fx.st, 0), 0);
    nodes_loaded nl = { 0 };
    CU_ASSERT_EQUAL(store_nodes_load(fx.st, load_node, &nl), 0);
    CU_ASSERT_EQUAL(nl.n, 0);
    loaded l = { 0 };
    CU_ASSERT_EQUAL(store_jobs_load(fx.st, load_one, &l), 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 1);
    CU_ASSERT_EQUAL(l.jobs[0].state, JOB_PENDING);    /* the update undone too */
    loaded_free(&l);

    /* a transaction never committed is gone after close as well */
    CU_ASSERT_EQUAL_FATAL(store_begin(fx.st), 0);
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &j), 0);
    CU_ASSERT_EQUAL_FATAL(reopen(&fx), 0);
    CU_ASSERT_EQUAL(store_job_by_token(fx.st, "gone", &id), 0);
    CU_ASSERT_EQUAL(store_job_by_token(fx.st, "kept", &id), 1);

    /* after a rollback, a new transaction commits normally */
    CU_ASSERT_EQUAL_FATAL(store_begin(fx.st), 0);
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &j), 0);
    CU_ASSERT_EQUAL_FATAL(store_commit(fx.st), 0);
    CU_ASSERT_EQUAL_FATAL(reopen(&fx), 0);
    CU_ASSERT_EQUAL(store_job_by_token(fx.st, "gone", &id), 1);
    CU_ASSERT_EQUAL(id, 2);
    fx_close(&fx);
}

static void test_single_owner(void)
{
    fixture fx;
    fx_open(&fx);
    char err[512] = "", pid[32];
    store *second = store_open(fx.path, err, sizeof err);
    CU_ASSERT_PTR_NULL(second);
    store_close(&second);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "in use by another ternd"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, fx.path));
    snprintf(pid, sizeof pid, "pid %d", (int)getpid());
    CU_ASSERT_PTR_NOT_NULL(strstr(err, pid));

    /* the refused open did not disturb the owner */
    store_job j = { .id = 1, .spec = spec_c, .spec_len = sizeof spec_c };
    CU_ASSERT_EQUAL(store_job_insert(fx.st, &j), 0);

    /* once the owner closes, the next one may open it */
    store_close(&fx.st);
    err[0] = '\0';
    fx.st = store_open(fx.path, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx.st);
    loaded l = { 0 };
    CU_ASSERT_EQUAL(store_jobs_load(fx.st, load_one, &l), 0);
    CU_ASSERT_EQUAL(l.n, 1);
    loaded_free(&l);
    fx_close(&fx);
}

static void test_not_a_database(void)
{
    char *dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/garbage.db", dir);
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)("this is not a database\n"[i % 23]);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);

    err[0] = '\0';
    store *st = store_open(path, err, sizeof err);
    CU_ASSERT_PTR_NULL(st);
    store_close(&st);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a database"));
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));

    /* the file it did not understand is left as it was */
    char back[sizeof junk + 1];
    f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fread(back, 1, sizeof back, f), sizeof junk);
    fclose(f);
    CU_ASSERT_EQUAL(memcmp(back, junk, sizeof junk), 0);

    /* and the failed open released its lock: a good database there opens */
    CU_ASSERT_EQUAL(unlink(path), 0);
    st = store_open(path, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(st);
    store_close(&st);

    /* a directory that does not exist */
    err[0] = '\0';
    st = store_open("/nonexistent/tern/state.db", err, sizeof err);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/tern/state.db"));
    unit_rmrf(dir);
    free(dir);
}

/* ternd pointed at some other program's SQLite database refuses it, and
 * leaves it exactly as it was: no tables of ours, no journal mode change. */
static void test_foreign_database(void)
{
    char *dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[1024], err[512];
    store *st;
    snprintf(path, sizeof path, "%s/other.db", dir);
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(db, "CREATE TABLE jobs(x INTEGER); CREATE TABLE nodes(y TEXT);",
                                 NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    err[0] = '\0';
    st = store_open(path, err, sizeof err);
    CU_ASSERT_PTR_NULL(st);
    store_close(&st);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    /* a database that is not ours is refused without being written to */
    CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(count_rows(db, "SELECT count(*) FROM sqlite_master"), 2);
    CU_ASSERT_EQUAL(count_rows(db, "SELECT count(*) FROM sqlite_master WHERE name = 'meta'"), 0);
    CU_ASSERT_EQUAL(count_rows(db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"),
                    0);
    sqlite3_close(db);
    unit_rmrf(dir);
    free(dir);
}

int suite_store(void)
{
    static const unit_test tests[] = {
        { "schema", test_schema },
        { "attempt history", test_attempt_history },
        { "migration", test_migration },
        { "jobs", test_jobs },
        { "tokens", test_tokens },
        { "attempts", test_attempts },
        { "nodes", test_nodes },
        { "events", test_events },
        { "rollback", test_rollback },
        { "single owner", test_single_owner },
        { "not a database", test_not_a_database },
        { "foreign database", test_foreign_database },
        { NULL, NULL },
    };
    return unit_add("store", tests);
}
