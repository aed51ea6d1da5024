/* The scheduler's durable state: jobs, attempts, nodes and an event log in
 * one SQLite database (WAL, synchronous=FULL). Writes happen inside
 * store_begin()/store_commit(); a job is acknowledged to its submitter only
 * after the commit that holds it, and many changes share one commit.
 *
 * All functions return 0 on success and -1 on failure; store_errmsg() then
 * says what SQLite said. Strings and blobs passed in are copied by SQLite;
 * those handed to load callbacks live only for the call. */
#ifndef TERN_STORE_H
#define TERN_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;

typedef struct store_job {
    uint64_t id;
    const char *token;          /* may be NULL */
    const void *spec;           /* packed tern.JobSpec */
    size_t spec_len;
    int state;                  /* enum job_state */
    const char *reason;
    int32_t exit_code;
    uint32_t attempt;
    int64_t submit_ms, start_ms, end_ms;
    int32_t failed_rank;
    const char *failed_node;
    uint32_t restarts;          /* counted against the spec's max_restarts */
    const char *avoid;          /* comma-separated nodes a restart avoids */
} store_job;

typedef struct store_attempt {
    uint64_t job_id;
    uint32_t attempt;
    int state;                  /* enum job_state of the attempt */
    const void *placement;      /* packed tern.Placement */
    size_t placement_len;
    int64_t start_ms, end_ms;
    int32_t exit_code;
    const char *reason;         /* how it ended; store_attempt_get leaves it NULL */
} store_attempt;

typedef struct store_node {
    const char *name;
    const void *info;           /* packed tern.NodeInfo as registered */
    size_t info_len;
    const char *state;          /* UP DOWN */
    const char *reason;
    const char *drain_reason;   /* NULL: not drained */
} store_node;

/* Opens (creating if needed) the database at 'path'. Refuses with a message
 * in 'err' when another process holds it. */
store *store_open(const char *path, char *err, size_t errlen);
void store_close(store **stp);
const char *store_errmsg(store *st);

int store_begin(store *st);
int store_commit(store *st);
/* Rolls back the open transaction, if any. */
void store_rollback(store *st);
/* After a failed write: SQLite may have rolled the whole transaction back
 * (SQLITE_FULL, SQLITE_IOERR); opens a new one so that later writes of the
 * same turn cannot commit one by one. */
void store_hold_tx(store *st);

int store_job_insert(store *st, const store_job *j);
/* Updates everything but id, token and spec. */
int store_job_update(store *st, const store_job *j);
/* Returns 1 and sets *id when a job has 'token', 0 when none, -1 on error. */
int store_job_by_token(store *st, const char *token, uint64_t *id);
/* Calls fn for every job in id order; a non-zero return from fn stops the
 * walk and is returned. */
int store_jobs_load(store *st, int (*fn)(void *arg, const store_job *j), void *arg);

int store_attempt_put(store *st, const store_attempt *a);
/* Returns 1 with *a filled and a->placement a copy the caller frees, 0 when
 * there is no such attempt, -1 on error. */
int store_attempt_get(store *st, uint64_t job_id, uint32_t attempt, store_attempt *a);

/* Calls fn for every attempt of 'job_id', oldest first; a non-zero return
 * from fn stops the walk and is returned. */
int store_attempts_of(store *st, uint64_t job_id, int (*fn)(void *arg, const store_attempt *a),
                      void *arg);

int store_node_put(store *st, const store_node *n);
int store_nodes_load(store *st, int (*fn)(void *arg, const store_node *n), void *arg);

/* Calls fn for each event of 'kind' about job_id, oldest first. */
int store_events_of(store *st, uint64_t job_id, const char *kind,
                    int (*fn)(void *arg, int64_t time_ms, const char *detail), void *arg);

/* A user's decayed past usage (fair-share), as of at_ms. */
int store_account_put(store *st, const char *user, double usage, int64_t at_ms);
int store_accounts_load(store *st,
                        int (*fn)(void *arg, const char *user, double usage, int64_t at_ms),
                        void *arg);

/* Appends to the event log; job_id 0 and node NULL when not about one. */
int store_event(store *st, uint64_t job_id, const char *node, const char *kind,
                const char *detail);
/* Number of events about 'job_id' (all events when 0), for tests and tools. */
int64_t store_event_count(store *st, uint64_t job_id);

#endif
