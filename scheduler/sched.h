/* ternd's in-memory model: jobs, nodes, and what waits to be sent.
 *
 * The database (store.h) is the truth; this model is rebuilt from it at start
 * and after a failed commit. One thread runs everything: each turn of the
 * loop handles every waiting message inside one transaction, places pending
 * jobs, commits, and only then sends replies, launches and kills (outbox.h).
 *
 * This header holds the types every module shares: the sched itself, its
 * jobs (with their current attempt and steps), nodes and accounts. Each
 * module's functions are in its own header, scheduler/X.h for scheduler/X.c:
 *   loop.h      start, run and stop; the turn and its group commit
 *   jobs.h      the job table and job lists
 *   queue.h     who goes next: accounts (fair share), dependencies, arrays
 *   schedule.h  placing pending jobs: reservation, backfill, preemption
 *   attempt.h   the life of an attempt: start, rank exits, end, cancel
 *   launch.h    an attempt's Launches, its master port, the hold on its nodes
 *   steps.h     srun inside a batch job
 *   nodes.h     the node registry
 *   cost.h      what each attempt used and cost (tern show)
 *   auth.h      who may connect, and what a caller may do
 *   requests.h  the client endpoint: requests from tern and srun
 *   submit.h    tern submit
 *   waiters.h   tern wait: replies held until a job ends
 *   agents.h    the worker endpoint: messages from tern-worker agents
 *   outbox.h    what is sent after the commit
 *   metrics.h, placement.h, store.h
 * Job pointers stay valid until sched_reload (or sched_finish), node
 * pointers until sched_finish: the functions that take one never free it. */
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

#endif
