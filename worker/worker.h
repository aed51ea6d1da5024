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
    char server_pub[41];           /* ternd's public key; "": no authentication */
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

/* ---- launch.c ---- */
/* Starts the ranks of a Launch on this node. A rank that cannot start is
 * recorded as exited (126, or 127 when the command is not found) with the
 * reason, and reported like any exit. Duplicates are ignored. */
void worker_launch(worker *w, const Tern__Launch *l);

/* ---- ranks.c ---- */
wattempt *worker_attempt(worker *w, uint64_t job_id, uint32_t attempt, uint32_t step);
/* Sends 'sig' to every running rank of 'a' (their process groups); SIGKILL
 * follows after grace_ms unless they are gone. A later request never pushes
 * an earlier SIGKILL deadline back. */
void worker_kill(worker *w, wattempt *a, int sig, uint32_t grace_ms);
/* Sends 'sig' to every running rank of 'a', and nothing more. */
void worker_signal(wattempt *a, int sig);
/* A warning (the job's preempt signal, then SIGKILL after grace_ms): as
 * worker_kill, except that a batch script or mpirun is not signalled (as
 * under SLURM, the warning is for the steps doing the work; the script
 * waits on them) and only meets the SIGKILL. */
void worker_warn(worker *w, wattempt *a, int sig, uint32_t grace_ms);
/* Reaps exited ranks and reports each exit. */
void worker_reap(worker *w);
/* SIGKILLs attempts whose grace ran out. Returns ms until the next deadline
 * (or INT32_MAX). */
int64_t worker_kill_timers(worker *w, int64_t now);
/* Drops an attempt (or one of its steps) that has no running rank. */
void worker_forget(worker *w, uint64_t job_id, uint32_t attempt, uint32_t step);
/* Fills 'out' with the status of every attempt; returns the count, or -1
 * on ENOMEM. Free with worker_status_free. */
int worker_status(worker *w, Tern__AttemptStatus ***out);
void worker_status_free(Tern__AttemptStatus **st, int n);
size_t worker_running_ranks(const worker *w);
/* The step the job's checkpoint directory's LATEST names (node rank 0),
 * or -1. */
int64_t worker_ckpt_step(const wattempt *a);
/* Whether any rank of 'a' is still running. */
bool worker_attempt_running(const wattempt *a);
void worker_attempts_free(worker *w);

/* ---- orphans.c ---- */
/* Kills what an earlier worker of this node left running: processes whose
 * environment carries TERN_WORKER_ID='id' (ranks and their children, such
 * as the children of ranks that died with a crashed worker), sparing this
 * process's ancestors. Call before launching anything. Returns how many
 * were killed. */
int worker_kill_orphans(const char *id);

/* ---- preempt.c ---- */
/* Acts on a spot notice (metadata endpoint, SIGTERM on a spot node, or
 * 'tern preempt' from ternd): signals every local rank with its preempt
 * signal, SIGKILL at the deadline minus the margin, and reports the notice
 * to ternd with every heartbeat from then on. A later notice only moves the
 * deadline earlier. deadline_ms 0 withdraws the notice. */
void worker_notice(worker *w, int64_t deadline_ms, const char *source);
/* Starts (again) watching --notice-url, if any, for spot notices. Returns
 * 0, or -1 after logging why the watch could not start. */
int worker_watch_notices(worker *w);
/* Drops a notice whose deadline passed a while ago with the machine still
 * here (and watches the endpoint again), and stops every rank when ternd
 * has been silent for --fence-after. Returns ms until it next has work. */
int64_t worker_housekeeping(worker *w, int64_t now);

/* ---- agent.c ---- */
/* Sends a heartbeat now. */
void worker_heartbeat(worker *w);
int worker_start(worker *w);
int worker_run(worker *w);
void worker_finish(worker *w);
/* Sends a RankExit for 'r' of 'a'. Not between runas_fs_enter and
 * runas_fs_leave: it reads LATEST as the attempt's user. */
void worker_report_exit(worker *w, const wattempt *a, const rank_proc *r);
/* Sends a Started for 'a', node rank 'node_rank' of its Launch, whose
 * ranks have MASTER_PORT 'master_port' and run as a->ra's uid and gid. */
void worker_report_started(worker *w, const wattempt *a, uint32_t node_rank,
                           uint32_t master_port);

#endif
