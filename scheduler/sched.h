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

#include "common/authkeys.h"
#include "common/curve.h"
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
    int64_t last_ack;              /* monotonic ms of the last HeartbeatAck sent */
    uint32_t ack_within_ms;        /* the worker's need to hear from ternd; 0: none */
    wire_peer peer;                /* routing id on the worker socket */
    uint32_t cpus_used;
    bool gpu_used[PLACE_MAX_GPUS];
    int32_t gpu_island[PLACE_MAX_GPUS];   /* NVLink island of each GPU, from its info */
    uint8_t gpu_nic[PLACE_MAX_GPUS];      /* a NIC shares the GPU's NUMA node */
    uint32_t group;                /* switch= (else rack=) label, numbered; 0: none */
    uint32_t parts;                /* partition= labels, one bit each */
    size_t idx;                    /* position in s->nodes */
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
    bool launch_held;              /* nodes after the first wait for its Started (master port) */
    uint32_t restarts;             /* durable: counted against spec->max_restarts */
    char avoid[256];               /* durable: nodes restarts avoid, comma-separated */

    struct job *prev, *next;       /* in s->pending or s->active */

    /* Policy (queue.c): a pending job is either eligible, in its user's
     * queue, or held (by a dependency in s->held, or by its array's %N). */
    struct account *acct;
    enum job_hold { HOLD_NONE, HOLD_DEPENDENCY, HOLD_ARRAY } hold;
    struct job *uprev, *unext;     /* in acct->queue or s->held */
    bool array_out;                /* an array task let out (queued, running, requeued) */
    uint32_t array_running;        /* first task of an array: tasks let out, not final */
    uint32_t array_scan;           /* first task of an array: tasks before it are let out */
    uint32_t array_started, array_done, array_failed;   /* first task: tasks so far */
    uint64_t billing;              /* units charged per second while running */
    int64_t est_start_ms;          /* the reservation of the top waiting job; 0: none */
    int64_t progress;              /* the last step it reported (tern top); -1: none */
    int64_t ckpt_step;             /* the last committed step recorded (audit); -1: none */

    /* Steps of the current attempt of a batch job (srun), in memory only. */
    struct step *steps;
    uint32_t nsteps;
} job;

/* One srun inside a batch job: tasks on some of the job's nodes. */
typedef struct step {
    uint32_t nnodes, tpn;
    uint32_t *node_idx;            /* positions in the job's placement, step node order */
    uint8_t *exited;               /* per task */
    uint32_t left;                 /* tasks not yet exited */
    int32_t exit_code;             /* the first task's failure; 0: none */
    bool killing;                  /* a task failed: the rest were told to stop */
    char message[160];
    uint8_t *held;                 /* the step's spec, packed, until its first node started */
    size_t held_len;
} step;

typedef struct job_list {
    job *head, *tail;
    size_t count;
} job_list;

/* A user's share of the cluster (fair-share): decayed past usage in
 * billing-unit seconds, plus what the user's running attempts accrue. */
typedef struct account {
    char name[65];
    double usage;                  /* durable, as of usage_at */
    int64_t usage_at;              /* unix ms */
    uint64_t running;              /* billing units of its running attempts */
    double running_since;          /* sum over them of units x start (unix s) */
    job_list queue;                /* eligible pending jobs, priority then id (uprev/unext) */
    job *cursor;                   /* scheduling pass: the next job to consider */
    uint32_t unfinished;           /* its jobs not ended (--max-pending-per-user) */
} account;

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
    uint32_t preempt_grace_ms;     /* a job preempted for a higher priority one: signal, then SIGKILL */
    double fairshare_halflife_s;   /* past usage counts half after this long */
    uint32_t backfill_depth;       /* jobs tried behind the top waiting job per pass */
    char *metrics_addr;            /* HOST:PORT of the /metrics endpoint; NULL: off */
    char *key_path;                /* ternd's CURVE key; NULL: authentication off */
    char *authorized_keys;         /* who may connect (authkeys.h) */
    uint32_t rate_limit;           /* client requests/s per user; 0: no limit */
    uint32_t max_pending_per_user; /* jobs a user may have waiting or running; 0: no limit */
    uint32_t max_array_size;       /* array task indexes are below this (SLURM's MaxArraySize) */
} sched_opts;

typedef struct sched {
    sched_opts opt;
    void *zctx, *clients, *workers;
    int sigfd;
    bool stop;
    store *db;
    uint64_t incarnation;
    int64_t started_mono;          /* when this ternd started */
    uint32_t client_port;          /* bound: srun in batch scripts reaches ternd there */

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

    account **accts;               /* fair-share accounts, by user */
    size_t naccts, accts_cap;
    strmap *acct_by_name;
    job_list held;                 /* pending jobs waiting on a dependency (uprev/unext) */
    bool deps_dirty;               /* a job started or ended: dependencies may hold now */
    strmap *label_ids;             /* "switch=X" / "part=X" -> number */
    uint32_t ngroups, nparts;

    struct metrics *metrics;       /* metrics.c: the /metrics endpoint; NULL: off */
    struct auth *auth;             /* auth.c: keys and who may connect; NULL: off */
    struct ratelimit *limits;      /* client requests per user; NULL: no limit */
    struct logfold *folds;         /* log lines about one peer, folded per second */

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

/* ---- auth.c: who may connect, and what a caller may do ---- */
/* What a request's sender is. With authentication off every client is
 * TRUSTED: taken for the user it says it is, and allowed what an admin is. */
enum caller_role {
    CALLER_TRUSTED, CALLER_USER, CALLER_ADMIN, CALLER_WORKER,
    CALLER_JOB,                    /* a running attempt's key: its job's user, for that job */
    CALLER_REVOKED,                /* a key no longer authorized, or its attempt ended */
};
typedef struct caller {
    enum caller_role role;
    char name[AUTHKEY_NAME_MAX + 1]; /* the key's user (a job key: the job's user) */
    bool admin;                    /* an admin key, or the key of an admin's job */
    uint64_t job_id;               /* CALLER_JOB: the job it may act on */
} caller;

/* Reads ternd's key and the authorized keys and starts the ZAP handler;
 * nothing when no key is configured. Returns 0, or -1 (logged). */
int auth_start(sched *s);
void auth_stop(sched *s);
/* Makes a ROUTER socket a CURVE server (when on). Returns 0, or -1. */
int auth_socket(sched *s, void *sock, bool workers);
/* ZAP's socket to poll with the others; NULL when off. */
void *auth_zap(const sched *s);
/* Answers waiting ZAP requests. */
void auth_serve(sched *s);
/* The server's public key ("" when off), for the endpoints file. */
const char *auth_public(const sched *s);
/* The CURVE key of j's current attempt (derived from ternd's key, so it
 * survives a restart): its ranks' rendezvous and its srun calls. Returns
 * false when authentication is off. */
bool auth_job_key(const sched *s, const job *j, curve_key *k);
/* j's attempt starts or ends: its key may connect, or not any more. */
void auth_attempt_bound(sched *s, const job *j);
void auth_attempt_released(sched *s, const job *j);
void auth_forget_jobs(sched *s);
/* Who sent a request that arrived from 'peer' on the client socket, by
 * the authorized keys and attempts of now (not of the handshake). */
void auth_caller(const sched *s, const wire_peer *peer, caller *c);
/* Whether 'c' may cancel, signal, start steps in or read the environment
 * of 'j': an admin; its user's own key unless an admin submitted it; the
 * key of its running attempt. */
bool auth_may_manage(const caller *c, const job *j);
/* The rate-limit bucket of a request: its user in its role ("user:alice",
 * "admin:root": their key and their jobs' keys alike), else its key or its
 * connection. Returns buf. */
const char *auth_rate_key(const caller *c, const wire_peer *peer, char *buf, size_t len);
/* The node a worker connection may speak for: its worker key's name ("*":
 * any), "*" with authentication off, NULL when its key is no longer
 * authorized. */
const char *auth_worker_node(const sched *s, const wire_peer *peer);
/* "user NAME", "admin NAME", "user NAME (the key of job N)" for messages. */
const char *auth_caller_name(const caller *c, char *buf, size_t len);

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
/* Inserts j into l by priority, then id, through the links 'prev'/'next'
 * or (aux) 'uprev'/'unext'. */
void job_list_insert(job_list *l, job *j, bool aux);
void job_list_unlink(job_list *l, job *j, bool aux);
/* Writes the job's row; logs and returns -1 on failure (the commit fails). */
int sched_job_save(sched *s, job *j);
/* Fills 'info' with pointers into 'j' (valid while j lives and is unchanged).
 * 'spec_copy' receives the spec shown: without environment and script
 * unless 'full'. 'names' must hold placement->n_nodes pointers. */
void job_info_fill(const job *j, Tern__JobInfo *info, Tern__JobSpec *spec_copy, char **names,
                   bool full);
/* What 'tern queue' shows as the reason of a pending job. */
const char *job_reason(const sched *s, const job *j);

/* ---- queue.c: who goes next (fair-share, dependencies, arrays) ---- */
/* A job enters PENDING (submit, requeue, reload): into s->pending, and into
 * its user's queue or held. */
void queue_add(sched *s, job *j);
/* A job leaves PENDING (start, cancel). */
void queue_remove(sched *s, job *j);
/* A job reached a final state: lets out the next task of its array. */
void queue_job_final(sched *s, job *j);
/* A running job loaded at start: counts against its array's %N. */
void queue_note_running(sched *s, job *j);
/* The first attempt of j started: counts for its array's 'after'. */
void queue_job_started(sched *s, job *j);
/* Counts, on each array's first task, its tasks started, done and failed
 * (after a load). */
void queue_count_arrays(sched *s);
/* Moves held jobs whose dependencies now hold into their queues. */
void queue_check_deps(sched *s);
/* Whether dependency text 'dep' names only jobs that exist. Returns 0, or
 * -1 with the reason. */
int queue_deps_valid(sched *s, const char *dep, char *err, size_t errlen);
/* Starts a scheduling pass: every queue's cursor at its head. */
void queue_pass_begin(sched *s);
/* The next job of the pass: of the queues' next jobs, the highest
 * priority, then the user with the least usage, then the fewest units
 * running, then the lowest id. NULL when every queue is done. */
job *queue_pass_next(sched *s);
/* The attempt of j takes (sign 1) or gives back (-1) its resources: the
 * user's running units, and usage when they come back. */
void account_run(sched *s, job *j, int sign);
/* j is a job of its user's not ended (sign 1, at submit and load), or ended
 * (-1): what --max-pending-per-user bounds. */
void account_count_job(sched *s, const job *j, int sign);
/* The user's usage now (decayed past plus running), unit-seconds. */
double account_usage(const account *a, int64_t now_ms, double halflife_s);
account *account_get(sched *s, const char *user);
void accounts_clear(sched *s);
/* Loads the accounts from the database. Returns 0 or -1. */
int accounts_load(sched *s);

/* ---- schedule.c: placing pending jobs (sched_schedule above) ---- */
/* The place_request of j (spot and partition rules, nodes to avoid). */
void job_place_request(sched *s, const job *j, place_request *req, uint8_t *avoid);
/* The partition bit of a name given with -p; 0 for "", "spot" and
 * "ondemand"; UINT32_MAX for a partition no node has. */
uint32_t sched_partition_bit(sched *s, const char *name);

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
void node_info_apply(sched *s, node *n);
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

/* ---- schedule.c ---- */
/* Places pending jobs: in queue order (queue_pass_next) while they fit;
 * when the top job must wait, it may preempt lower-priority --preemptible
 * jobs, gets a reservation (when running jobs will have freed its nodes,
 * from their time limits), and jobs behind it start only where they cannot
 * delay that reservation (backfill). */
void sched_schedule(sched *s);

/* ---- attempt.c: the life of an attempt ---- */
/* Starts the attempt of j on the nodes 'choice' (req->nodes of them). */
int attempt_start(sched *s, job *j, const place_choice *choice);
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
/* The same for one step (1-based) of the attempt. */
void attempt_send_kill_step(sched *s, const node *n, uint64_t job_id, uint32_t attempt,
                            uint32_t step, int sig, uint32_t grace_ms, const char *why);
/* Ranks an attempt of j tracks: the batch script alone for a batch job. */
uint32_t attempt_world(const Tern__JobSpec *sp);
/* Records j's attempt as in state 'st' (its placement too). Returns 0 or -1. */
int attempt_save(sched *s, const job *j, enum job_state st);

/* ---- launch.c: launching an attempt ---- */
/* A fresh MASTER_PORT on 'addr' for a job or a step. */
uint32_t attempt_pick_port(sched *s, const char *addr);
/* Fills what every Launch of j's attempt carries (ids, kill wait, the
 * master port range, the attempt's key, kept in 'key'). */
void attempt_launch_init(const sched *s, const job *j, Tern__Launch *l, curve_key *key);
/* Sends the launches of j's attempt to its nodes from..to-1. */
void attempt_launch_nodes(sched *s, job *j, size_t from, size_t to);
/* Node rank 0 of j's attempt started its ranks: the master port it found
 * free goes to the other nodes, launched now, and the uid/gid it ran them as
 * to the audit. */
void attempt_started(sched *s, job *j, const Tern__Started *st);
/* Launches the nodes after the first of j's held attempt, with the
 * placement's master port: after its Started, or when none came in time
 * (an older worker, a lost message). */
void attempt_launch_rest(sched *s, job *j);

/* ---- steps.c: srun inside a batch job ---- */
/* Starts a step of a running batch job (StepRequest). Returns the step
 * number (1-based), or 0 with 'err' filled. */
uint32_t step_start(sched *s, const Tern__StepRequest *rq, char *err, size_t errlen);
/* The step's state into 'info'; NULL when there is no such step. */
const step *step_get(const sched *s, uint64_t job_id, uint32_t attempt, uint32_t id);
/* The first node of step st->step started its tasks: launch the others
 * with the master port it checked. */
void step_started(sched *s, job *j, const node *n, const Tern__Started *st);
/* A task of step 'id' of j's attempt, on 'n', exited with 'code' (one of
 * the first node's before its Started: the others are never launched). */
void step_task_exit(sched *s, job *j, const node *n, uint32_t id, uint32_t task, int32_t code,
                    const char *msg);
/* Frees the steps of j's attempt (it ended). */
void steps_free(job *j);
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
/* A request on the client endpoint at monotonic 'now' (ms): its sender is
 * authorized and rate-limited here, per request. */
void client_handle(sched *s, const wire_peer *peer, Tern__Envelope *env, int64_t now);
/* submit.c: a submission from 'c', answered with its job id or why not. */
void client_submit(sched *s, const wire_peer *peer, const caller *c, uint64_t seq,
                   Tern__SubmitRequest *rq);
/* A message on the client endpoint that could not be decoded ('why'):
 * counted against its sender's rate limit, logged folded, answered. */
void client_malformed(sched *s, const wire_peer *peer, const char *why, int64_t now);
void worker_handle(sched *s, const wire_peer *peer, Tern__Envelope *env);
void worker_malformed(sched *s, const wire_peer *peer, const char *why, int64_t now);
/* Answers waiters whose deadline passed. */
void client_expire_waiters(sched *s, int64_t now);
/* Answers with the jobs; 'full' (one job) includes its attempts, environment
 * and script, whose values the caller 'c' sees when auth_may_manage says so
 * ('c' may be NULL when not 'full');
 * 'next_after' tells the client where the next page starts (0: done). */
void client_reply_jobs(sched *s, const wire_peer *peer, const caller *c, uint64_t seq,
                       job **jobs, size_t n,
                       bool full, uint64_t next_after);

#endif
