/* tern-worker: the node agent. It registers its node with ternd, launches
 * the ranks ternd places here, supervises them, and reports every exit until
 * ternd says it has recorded it. It keeps no durable state: ranks die with
 * it (PR_SET_PDEATHSIG), so a restarted worker starts from a clean node. */
#ifndef TERN_WORKER_H
#define TERN_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/curve.h"
#include "proto/tern.pb-c.h"
#include "worker/notice.h"
#include "worker/notice_watch.h"
#include "worker/runas.h"
#include "worker/topology.h"

typedef struct rank_proc {
    uint32_t rank;
    pid_t pid;                     /* process group id too; 0 if never started */
    bool running;
    int32_t exit_code;             /* 128+N when killed by signal N */
    char message[160];             /* why it could not start */
    bool fenced;                   /* killed for --fence-after */
    hwloc_bitmap_t cpus;
} rank_proc;

typedef struct wattempt {
    uint64_t job_id;
    uint32_t attempt;
    uint32_t step;                 /* 0: the attempt's own ranks; k: srun step k-1 */
    char *progress;                /* TERN_PROGRESS_FILE of rank 0 when it runs here; or NULL */
    bool one_process;              /* a batch script or mpirun: warnings go to its steps */
    char *latest;                  /* node rank 0: the job's checkpoint LATEST file; or NULL */
    runas ra;                      /* who its ranks run as: the worker reads 'progress' and
                                    * 'latest' as this user (they are in the user's
                                    * directories, which root could read anyway) */
    uint32_t nranks;
    rank_proc *ranks;
    int preempt_signal;            /* the job's TERN_PREEMPT_SIGNAL */
    bool killing;
    int64_t kill_deadline;         /* monotonic ms: SIGKILL then */
    struct wattempt *next;
} wattempt;

typedef struct worker_opts {
    char *scheduler;               /* ternd's worker endpoint */
    char *name;
    char *addr;
    char *topology_xml;
    int gpus;                      /* -1: discover */
    uint32_t cpus;                 /* 0: as discovered */
    char **labels;
    size_t nlabels;
    char *id;                      /* TERN_WORKER_ID of its ranks: NAME@SCHEDULER */
    bool spot;                     /* a spot instance: label spot=true, SIGTERM is a notice */
    char *notice_url;              /* metadata endpoint to poll for spot notices */
    uint32_t notice_poll_ms;
    uint32_t notice_margin_ms;     /* ranks killed this long before a notice's deadline */
    uint32_t sigterm_notice_s;     /* --spot: SIGTERM is a notice with this long to go */
    uint32_t fence_after_ms;       /* stop the ranks after this long without ternd; 0: never */
    char *nccl_ifname;             /* NULL, interface names for NCCL/Gloo, or "auto" */
    char *metrics_addr;            /* HOST:PORT of the worker's /metrics endpoint; NULL: off */
    char *key_path;                /* this worker's CURVE key; NULL: no authentication */
    char *server_key;              /* ternd's public key, or a file holding it */
} worker_opts;

typedef struct worker {
    worker_opts opt;
    topology *topo;
    char **rank_hints;             /* --nccl-ifname resolved at start (rankenv_nic_hints) */
    void *zctx, *sock;
    void *mon;                     /* the socket's handshake events (a refused key) */
    char server_pub[CURVE_Z85];           /* ternd's public key; "": no authentication */
    curve_key key;                 /* this worker's, with server_pub */
    int64_t refused_logged;
    int64_t reconnect_at;          /* a new socket then (a refused handshake); 0: none */
    int sigfd;
    bool stop;
    uint64_t incarnation;
    uint64_t sched_incarnation;
    bool registered;
    uint32_t heartbeat_ms;
    int64_t next_register, next_heartbeat;
    uint64_t seq;
    wattempt *attempts;
    notice_watch *watch;
    notice notice;                 /* deadline_ms 0: none */
    int64_t last_heard;            /* monotonic ms of the last message from ternd */
    bool fenced;                   /* ranks stopped for --fence-after since then */
    bool leaving;                  /* SIGTERM on a spot node: go once the ranks are gone */
    struct wmetrics *metrics;      /* worker/metrics.c; NULL: off */
} worker;

/* ---- the agent's life (agent.c) ----
 * The modules of the worker have their own headers: launch.h (starting a
 * Launch's ranks), spawn.h (one rank's process), ranks.h (supervising
 * them), report.h (what ternd hears), preempt.h (spot notices and
 * fencing), orphans.h (what a crashed worker left), metrics.h. */

/* Loads the topology, kills what an earlier worker of this node left
 * running, blocks the signals the loop reads, connects to ternd and starts
 * watching --notice-url. Call once, on a worker zeroed but for its options
 * (sigfd -1). Returns 0, or -1 after logging why; worker_finish is due
 * either way. */
int worker_start(worker *w);

/* The event loop: registers, heartbeats, acts on ternd's messages, the
 * ranks' exits, signals and spot notices, until a signal stops it, a spot
 * node has no rank left, or ternd refuses the registration. Stops every
 * rank (SIGTERM, then SIGKILL) before it returns. Returns 0, or -1 after
 * logging why (registration refused, poll failed, no new socket). */
int worker_run(worker *w);

/* Closes the socket and the ZeroMQ context, stops the notice watch, frees
 * every attempt and the topology, closes the signal fd. Accepts a worker
 * whose worker_start failed part way. Leaves w->opt to the caller. */
void worker_finish(worker *w);

#endif
