/* Who goes next (queue.c): a queue per user, merged by priority and then
 * fair share (the user who has used the least, decayed over time, goes
 * first); dependencies and array throttles hold jobs out of the queues
 * until they may run, so a pass never walks past jobs that cannot start.
 *
 * An account (a user's share) is made on first use and lives until
 * accounts_clear. Out of memory, account_get returns NULL and its callers
 * go on without it: nothing is counted, and a job without an account
 * waits in no queue. */
#ifndef TERN_SCHED_QUEUE_H
#define TERN_SCHED_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "scheduler/sched.h"

/* A job enters PENDING (submit, requeue, reload): into s->pending, and
 * into its user's queue or, by its dependency or its array's %N, held
 * (j->hold, j->reason say which). j is in no pending list. */
void queue_add(sched *s, job *j);
/* A pending job leaves PENDING (start, cancel): out of every queue. */
void queue_remove(sched *s, job *j);
/* j reached a final state: counts for its array, lets out its array's next
 * held task, and has dependencies checked again. */
void queue_job_final(sched *s, job *j);
/* A running job loaded at start: counts against its array's %N. */
void queue_note_running(sched *s, job *j);
/* The first attempt of j started: counts for its array's 'after'. */
void queue_job_started(sched *s, job *j);
/* Counts, on each array's first task, its tasks started, done and failed
 * (after a load, before any queue_add). */
void queue_count_arrays(sched *s);
/* Moves held jobs whose dependencies now hold into their queues; those
 * that never can keep "DependencyNeverSatisfied" as their reason. */
void queue_check_deps(sched *s);
/* Whether dependency text 'dep' parses and names only jobs that exist.
 * Returns 0, or -1 with the reason in 'err'. */
int queue_deps_valid(sched *s, const char *dep, char *err, size_t errlen);
/* Starts a scheduling pass: every queue's cursor at its head. */
void queue_pass_begin(sched *s);
/* The next job of the pass, stepped past: of the queues' next jobs, the
 * highest priority, then the user with the least usage, then the fewest
 * units running, then the lowest id. NULL when every queue is done. */
job *queue_pass_next(sched *s);
/* The attempt of j takes (sign 1) or gives back (-1) its resources: the
 * user's running units, and usage when they come back (saved; a failed
 * write is logged and dooms the turn). */
void account_run(sched *s, job *j, int sign);
/* j is a job of its user's not ended (sign 1, at submit and load), or ended
 * (-1): what --max-pending-per-user bounds. */
void account_count_job(sched *s, const job *j, int sign);
/* The user's usage at 'now_ms' (unix ms): decayed past plus what its
 * running attempts accrue, unit-seconds. */
double account_usage(const account *a, int64_t now_ms, double halflife_s);
/* The account of 'user' ("" or NULL: "?"), made if new. Returns it (s's),
 * or NULL when out of memory. */
account *account_get(sched *s, const char *user);
/* Frees every account (jobs' acct pointers are stale after). */
void accounts_clear(sched *s);
/* Loads the accounts' usage from the database. Returns 0, or -1 (out of
 * memory, or store_errmsg says why). */
int accounts_load(sched *s);

#endif
