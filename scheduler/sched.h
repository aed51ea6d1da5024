/* ternd's in-memory model: jobs, nodes, and what waits to be sent.
 *
 * The database (store.h) is the truth; this model is rebuilt from it at start
 * and after a failed commit. One thread runs everything: each turn of the
 * loop handles every waiting message inside one transaction, places pending
 * jobs, commits, and only then sends replies, launches and kills (outbox). */
#ifndef TERN_SCHED_H
#define TERN_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "common/jobstate.h"
#include "common/strmap.h"
#include "common/wire.h"
#include "scheduler/placement.h"
#include "scheduler/store.h"

#define NODE_NAME_MAX 64

/* Health of a node; draining is an admin flag beside it. A PREEMPTING node
 * got a spot notice: nothing new goes there, its jobs checkpoint and move. */
enum node_state { NODE_UP, NODE_DOWN, NODE_PREEMPTING };

typedef struct node {
    char name[NODE_NAME_MAX + 1];
    Tern__NodeInfo *info;          /* as registered; owned */
    enum node_state state;         /* durable */
    char reason[128];              /* why DOWN */
    bool drained;                  /* durable: nothing new placed here */
    char drain_reason[128];
    bool connected;                /* registered with this ternd */
    uint64_t incarnation;          /* of the worker process */
    int64_t last_seen;             /* monotonic ms */
    wire_peer peer;                /* routing id on the worker socket */
    uint32_t cpus_used;
    bool gpu_used[PLACE_MAX_GPUS];
    int32_t gpu_island[PLACE_MAX_GPUS];   /* NVLink island of each GPU, from its info */
    uint32_t nattempts;            /* running attempts with ranks here */
    bool spot;                     /* label spot=true */
    double price;                  /* label price=, per node-hour */
    int64_t notice_deadline;       /* unix ms the notice gives; 0: none */
    int64_t withdrawn;             /* deadline of a notice 'tern resume' withdrew */
    bool withdraw_pending;         /* resumed while away: withdraw what it brings back */
} node;

typedef struct job {
    uint64_t id;
    Tern__JobSpec *spec;           /* owned */
    enum job_state state;
    char reason[128];
    int32_t exit_code;
    uint32_t attempt;
    int64_t submit_ms, start_ms, end_ms;
    int32_t failed_rank;
    char failed_node[NODE_NAME_MAX + 1];

    /* The current attempt (R, CG) or the last one. */
    Tern__Placement *placement;    /* owned; NULL if never placed */
    node **nodes;                  /* placement's nodes while R or CG */
    uint8_t *rank_exited;          /* world size entries while R or CG */
    uint32_t ranks_left;
    uint32_t ranks_ok;             /* ranks of the attempt that exited 0 */
    bool ending;                   /* ranks told to stop */
    enum job_state end_state;      /* what the job becomes when they are gone */
    bool warned;                   /* told to checkpoint: notice, preempt, --signal */
    int end_signal;                /* what the ranks were sent when the end began */
    int64_t end_by;                /* monotonic ms: SIGKILL then; 0: not known */
    int64_t launched_mono;         /* when the launches went out (or ternd started) */
    uint32_t restarts;             /* durable: counted against spec->max_restarts */
    char avoid[256];               /* durable: nodes restarts avoid, comma-separated */

    struct job *prev, *next;       /* in s->pending or s->active */
} job;

typedef struct job_list {
    job *head, *tail;
    size_t count;
} job_list;

typedef struct waiter {
    wire_peer peer;
    uint64_t seq;
    uint64_t job_id;
    int64_t deadline;              /* monotonic ms */
} waiter;

typedef struct outmsg {
    void *sock;
    wire_peer peer;
    void *data;
    size_t len;
    bool client;                   /* a reply to a client request */
    uint64_t seq;
} outmsg;

typedef struct sched_opts {
    char *state_path;              /* SQLite database */
    char *client_ep, *worker_ep;
    char *endpoints_file;          /* written once bound */
    char *log_dir;                 /* root of job logs */
    uint32_t heartbeat_ms;
    uint32_t node_timeout_ms;
    uint32_t kill_wait_ms;         /* cancel: signal, this long, SIGKILL */
    uint32_t fail_kill_ms;         /* gang teardown after a failed rank */
    uint32_t port_lo, port_hi;     /* MASTER_PORT range */
    uint32_t notice_margin_ms;     /* ranks must be gone this long before a notice's deadline */
} sched_opts;

typedef struct sched {
    sched_opts opt;
    void *zctx, *clients, *workers;
    int sigfd;
    bool stop;
    store *db;
    uint64_t incarnation;

    job **jobs;                    /* jobs[id - 1]; NULL for a gap */
    size_t njobs, jobs_cap;
    job_list pending, active;

    node **nodes;
    size_t nnodes, nodes_cap;
    strmap *node_by_name;

    outmsg *out;
    size_t nout, out_cap;
    waiter *waiters;
    size_t nwaiters, waiters_cap;

    bool dirty;                    /* something may let a pending job start */
    bool tx_failed;                /* a write of this turn failed: roll back */
    int64_t next_sweep;
    uint32_t rng;
} sched;

/* ---- loop.c: start, run, stop ---- */
/* Opens the database, binds the sockets and loads the state. Returns 0, or
 * -1 after logging why. */
int sched_start(sched *s);
/* Runs until SIGTERM/SIGINT. Returns 0. */
int sched_run(sched *s);
void sched_finish(sched *s);
/* Rebuilds jobs (and node usage) from the database; live node connections
 * are kept. Returns 0, or -1 with the reason logged. */
int sched_reload(sched *s);

/* Notes the result of a store call; a failure dooms this turn's
 * transaction (rolled back, model reloaded). Returns rc. */
static inline int sched_db(sched *s, int rc)
{
    if (rc < 0) {
        s->tx_failed = true;
        store_hold_tx(s->db);
    }
    return rc;
}

/* ---- outbox.c: messages sent after the commit ---- */
void outbox_add(sched *s, void *sock, const wire_peer *peer, Tern__Envelope *env, bool client);
void outbox_error(sched *s, const wire_peer *peer, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void outbox_flush(sched *s);
/* Drops everything; each client reply becomes an error saying 'why'. */
void outbox_fail(sched *s, const char *why);

/* ---- jobs.c: the job table and queues ---- */
job *sched_job(sched *s, uint64_t id);
/* Takes ownership of 'spec'. Returns the job, or NULL (ENOMEM). */
job *sched_job_add(sched *s, uint64_t id, Tern__JobSpec *spec);
void sched_jobs_clear(sched *s);
void job_list_push(job_list *l, job *j);
void job_list_remove(job_list *l, job *j);
/* Puts a pending job into s->pending by priority, then id. */
void sched_queue_pending(sched *s, job *j);
/* Writes the job's row; logs and returns -1 on failure (the commit fails). */
int sched_job_save(sched *s, job *j);
/* Fills 'info' with pointers into 'j' (valid while j lives and is unchanged).
 * 'spec_copy' receives the spec shown: without environment and script
 * unless 'full'. 'names' must hold placement->n_nodes pointers. */
void job_info_fill(const job *j, Tern__JobInfo *info, Tern__JobSpec *spec_copy, char **names,
                   bool full);
/* What 'tern queue' shows as the reason of a pending job. */
const char *job_reason(const sched *s, const job *j);

/* ---- nodes.c: the node registry ---- */
node *sched_node(sched *s, const char *name);
/* Adds a node known by name only (no info yet). Returns NULL on ENOMEM. */
node *sched_node_add(sched *s, const char *name);
uint32_t node_cpus(const node *n);
uint32_t node_gpus(const node *n);
bool node_usable(const node *n);
const char *node_state_name(enum node_state st);
int node_state_parse(const char *s, enum node_state *out);
/* What 'tern nodes' shows: UNKNOWN (not registered since ternd started),
 * DOWN, DRAIN or UP. */
const char *node_display_state(const node *n);
/* Makes 'n' UP again (from DOWN or PREEMPTING), forgetting why it was not
 * and any notice; the caller saves it. */
void node_up(node *n);
/* Fills view[0..nnodes) with what placement sees of each node. */
void sched_place_view(sched *s, place_node *view);
/* Reads from n->info what the scheduler keeps at hand: spot= and price=
 * labels, each GPU's NVLink island. */
void node_info_apply(node *n);
/* A spot notice for 'n' (from its worker or 'tern preempt'): the node takes
 * nothing new and every job with a rank on it checkpoints and is requeued.
 * 'deadline' is unix ms. */
void sched_node_preempt(sched *s, node *n, int64_t deadline, const char *why);
/* Tells the worker of 'n' of a notice ('tern preempt'); deadline 0
 * withdraws it. */
void node_send_notice(sched *s, const node *n, int64_t deadline, const char *why);
/* Ends, as lost, the ranks every running attempt had on 'n'. */
void node_attempts_lost(sched *s, node *n, const char *why);
int sched_node_save(sched *s, node *n);
/* Marks 'n' DOWN with 'why' and fails the attempts that had ranks on it. */
void sched_node_down(sched *s, node *n, const char *why);

/* ---- attempt.c: the life of an attempt ---- */
/* Places pending jobs in queue order while they fit. */
void sched_schedule(sched *s);
/* Takes resources and sets up rank tracking for j->placement. Returns 0, or
 * -1 when a placed node is unknown or memory runs out. */
int attempt_bind(sched *s, job *j);
/* A rank of the current attempt exited with 'code'; 'msg' (may be NULL or
 * empty) says why when it could not be started. */
void attempt_rank_exit(sched *s, job *j, uint32_t rank, int32_t code, const char *node,
                       const char *msg);
/* The ranks of j's attempt on 'n' are gone without a report. */
void attempt_ranks_lost(sched *s, job *j, const node *n, const char *why);
/* One rank of j's attempt, on 'n', is gone with its node (its worker killed
 * it, cut off from ternd). */
void attempt_rank_lost(sched *s, job *j, const node *n, uint32_t rank, const char *why);
/* Tells every rank of the attempt to stop; the job becomes 'end' once they
 * are gone. Does nothing if it is already ending. */
void attempt_end(sched *s, job *j, enum job_state end, int sig, uint32_t grace_ms,
                 const char *why);
/* Sends 'sig' to every rank of j's attempt, on every node. */
void attempt_signal(sched *s, const job *j, int sig);
/* Ends jobs that ran past their time limit, after the --signal warning. */
void attempt_time_limits(sched *s, int64_t now_wall);
/* Tells the worker of 'n' to stop the ranks of (job_id, attempt): 'sig',
 * then SIGKILL after grace_ms. Nothing is sent to a node not connected. */
void attempt_send_kill(sched *s, const node *n, uint64_t job_id, uint32_t attempt, int sig,
                       uint32_t grace_ms, const char *why);
/* Cancels a pending or running job. Returns 0, or -1 with 'err' filled. */
int sched_cancel(sched *s, job *j, char *err, size_t errlen);
/* Answers the waiters of j, if it is final. */
void sched_wake_waiters(sched *s, job *j);
/* Index of n in j's placement, or -1. */
int attempt_node_rank(const job *j, const node *n);
/* Whether j has an attempt on nodes now (R, CG, or PR winding down). */
bool job_live(const job *j);
/* The signal and the grace left for ranks still running of an ending attempt. */
int ending_signal(const job *j);
uint32_t ending_grace(const sched *s, const job *j);
/* Tells every rank of j's attempt to checkpoint and stop (its preempt
 * signal), SIGKILL after grace_ms; the job is then requeued. */
void attempt_preempt(sched *s, job *j, uint32_t grace_ms, const char *why);

/* ---- cost.c ---- */
/* Every attempt of j, oldest first, with node-hours and cost. Returns a
 * handle for attempts_info_free and sets *out (free()d by the caller) and
 * *n; NULL with *n = 0 when there are none or memory ran out. */
void *attempts_info(sched *s, const job *j, Tern__AttemptInfo ***out, size_t *n);
void attempts_info_free(void *handle, size_t n);

/* ---- client_api.c, worker_api.c ---- */
void client_handle(sched *s, const wire_peer *peer, Tern__Envelope *env);
void worker_handle(sched *s, const wire_peer *peer, Tern__Envelope *env);
/* Answers waiters whose deadline passed. */
void client_expire_waiters(sched *s, int64_t now);
/* Answers with the jobs; 'full' includes environment and script;
 * 'next_after' tells the client where the next page starts (0: done). */
void client_reply_jobs(sched *s, const wire_peer *peer, uint64_t seq, job **jobs, size_t n,
                       bool full, uint64_t next_after);

#endif
