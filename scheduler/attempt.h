/* The life of an attempt (attempt.c): placed as one gang, launched on
 * every node (launch.h), torn down on every node as soon as one rank
 * fails, finished when the last rank is gone: the job then takes its final
 * state or is requeued. The attempt number fences all of it.
 *
 * Ranks are tracked in j->rank_exited (attempt_world entries) while the
 * attempt is live (R, CG, or PR winding down). Functions that end ranks
 * may end the attempt, and with it free j->nodes, j->rank_exited and the
 * steps: callers walking s->active take j->next first. */
#ifndef TERN_SCHED_ATTEMPT_H
#define TERN_SCHED_ATTEMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler/sched.h"

/* Whether j has an attempt on nodes now (R, CG, or PR winding down). */
bool job_live(const job *j);
/* Ranks an attempt of a job of spec 'sp' tracks: the batch script (or
 * mpirun) alone for a one-process job, else every rank. */
uint32_t attempt_world(const Tern__JobSpec *sp);
/* Index of n in the placement of j's live attempt, or -1 (also when j has
 * no live attempt). */
int attempt_node_rank(const job *j, const node *n);
/* Starts an attempt of pending j on the nodes 'choice' (j->spec->nodes of
 * them, node rank order): placement, resources, saved, its first node
 * launched. Returns 0, or -1 when j is not pending or memory runs out (j
 * stays pending; logged by the caller). */
int attempt_start(sched *s, job *j, const place_choice *choice);
/* Takes the resources of j->placement on its nodes and sets up rank
 * tracking; its key may connect. Returns 0, or -1 when a placed node is
 * unknown (logged) or memory runs out: nothing is taken then. */
int attempt_bind(sched *s, job *j);
/* Records j's attempt as in state 'st' (its placement too). Returns 0, or
 * -1: out of memory (not logged), or the write failed (logged; the turn is
 * doomed, sched_db). */
int attempt_save(sched *s, const job *j, enum job_state st);
/* Rank 'rank' of j's attempt exited with 'code' on node 'node'; 'msg' (may
 * be NULL or empty) says why when it could not be started. A failure ends
 * the attempt (FAILED), TERN_EXIT_REQUEUE asks for a requeue; a rank out of
 * range or already exited is ignored. */
void attempt_rank_exit(sched *s, job *j, uint32_t rank, int32_t code, const char *node,
                       const char *msg);
/* The ranks of j's attempt on 'n' are gone without a report: the attempt
 * ends as NODE_FAIL (if it was not ending) and 'n' goes on the nodes its
 * restarts avoid. Nothing when 'n' is not one of its nodes. */
void attempt_ranks_lost(sched *s, job *j, const node *n, const char *why);
/* One rank of j's attempt, on 'n', is gone with its node (its worker
 * killed it, cut off from ternd), as attempt_ranks_lost. */
void attempt_rank_lost(sched *s, job *j, const node *n, uint32_t rank, const char *why);
/* Marks entries [lo, hi) of 'exited' (ranks or tasks) exited. Returns how
 * many were not yet, for the caller's count of those left. */
uint32_t attempt_mark_exited(uint8_t *exited, uint32_t lo, uint32_t hi);
/* Tells every rank of j's live attempt to stop: 'sig', then SIGKILL after
 * grace_ms; the job becomes 'end' once they are gone. Saved, logged.
 * Nothing if it is already ending or not live. */
void attempt_end(sched *s, job *j, enum job_state end, int sig, uint32_t grace_ms,
                 const char *why);
/* Tells every rank of j's live attempt to checkpoint and stop (its
 * preempt signal, SIGUSR1 by default), SIGKILL after grace_ms; the job is
 * then requeued, at no cost to its --max-restarts. Nothing if it is already
 * ending or not live. */
void attempt_preempt(sched *s, job *j, uint32_t grace_ms, const char *why);
/* Sends 'sig' to every rank of j's live attempt, on every connected node. */
void attempt_signal(sched *s, const job *j, int sig);
/* Ends jobs that ran past their time limit (TIMEOUT), after the --signal
 * warning; 'now_wall' unix ms. */
void attempt_time_limits(sched *s, int64_t now_wall);
/* Tells the worker of 'n' to stop the ranks of (job_id, attempt): 'sig',
 * then SIGKILL after grace_ms. Nothing is sent to a node not connected. */
void attempt_send_kill(sched *s, const node *n, uint64_t job_id, uint32_t attempt, int sig,
                       uint32_t grace_ms, const char *why);
/* The same for the tasks of one step (1-based; 0: the attempt's ranks). */
void attempt_send_kill_step(sched *s, const node *n, uint64_t job_id, uint32_t attempt,
                            uint32_t step, int sig, uint32_t grace_ms, const char *why);
/* The signal, and the grace left (ms), for ranks still running of an
 * ending attempt: what a report of them running is answered with. */
int ending_signal(const job *j);
uint32_t ending_grace(const sched *s, const job *j);
/* Cancels j: a pending job at once, a live one once its ranks are gone
 * (one winding down to be requeued ends CANCELLED instead). Returns 0, or
 * -1 with 'err' filled when j has already ended. */
int sched_cancel(sched *s, job *j, char *err, size_t errlen);

#endif
