/* Supervising the ranks on this node: finding an attempt, signalling and
 * killing with a grace period, reaping exits, forgetting what ternd has
 * recorded, and the per-attempt status every heartbeat carries. */
#ifndef TERN_WORKER_RANKS_H
#define TERN_WORKER_RANKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/tern.pb-c.h"
#include "worker/worker.h"

/* The attempt (or step) of w->attempts with these ids, owned by 'w';
 * NULL when there is none. */
wattempt *worker_attempt(worker *w, uint64_t job_id, uint32_t attempt, uint32_t step);

/* Sends 'sig' (SIGTERM when not 1-64) to every running rank of 'a' (their
 * process groups), SIGCONT after it unless SIGKILL; SIGKILL follows after
 * grace_ms unless they are gone (worker_kill_timers). A later request never
 * pushes an earlier SIGKILL deadline back. */
void worker_kill(worker *w, wattempt *a, int sig, uint32_t grace_ms);

/* Sends 'sig' to every running rank of 'a', and nothing more; a 'sig'
 * outside 1-64 is ignored. */
void worker_signal(wattempt *a, int sig);

/* A warning (the job's preempt signal, then SIGKILL after grace_ms): as
 * worker_kill, except that a batch script or mpirun is not signalled (as
 * under SLURM, the warning is for the steps doing the work; the script
 * waits on them) and only meets the SIGKILL. */
void worker_warn(worker *w, wattempt *a, int sig, uint32_t grace_ms);

/* Reaps exited ranks (SIGKILLing what they left in their process groups)
 * and reports each exit to ternd. Children that are not ranks are reaped
 * and ignored. */
void worker_reap(worker *w);

/* SIGKILLs the ranks of attempts whose grace ran out at 'now' (monotonic
 * ms), again each second should one survive. Returns ms until the next
 * deadline, or INT32_MAX when there is none. */
int64_t worker_kill_timers(worker *w, int64_t now);

/* Frees the attempt (or one of its steps) with these ids unless a rank of
 * it still runs (then ternd asks again later). Unknown ids: a no-op. */
void worker_forget(worker *w, uint64_t job_id, uint32_t attempt, uint32_t step);

/* Frees every attempt (leaving their processes alone), for the worker's
 * end. */
void worker_attempts_free(worker *w);

/* Sets *out to a new array of the status of every attempt and returns its
 * length; the caller frees it with worker_status_free(*out, n). Returns -1
 * when out of memory (*out untouched, nothing to free). Reads each
 * attempt's progress and LATEST files as its user: not between
 * runas_fs_enter and runas_fs_leave. */
int worker_status(worker *w, Tern__AttemptStatus ***out);
/* Frees what worker_status made; accepts st NULL. */
void worker_status_free(Tern__AttemptStatus **st, int n);

/* How many ranks of this node are running. */
size_t worker_running_ranks(const worker *w);

/* The step the job's checkpoint directory's LATEST names (node rank 0 of
 * the attempt), read as the attempt's user; -1 when there is none or it
 * cannot be read. */
int64_t worker_ckpt_step(const wattempt *a);

/* Whether any rank of 'a' is still running. */
bool worker_attempt_running(const wattempt *a);

#endif
