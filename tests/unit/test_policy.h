/* A ternd built by hand for the policy suites (queue, fairshare, backfill,
 * preempt): the scheduler's own functions on a model with a real store in
 * a temporary directory (one transaction, rolled back at the end), nodes
 * registered as a worker's NodeInfo would make them, and jobs that come in
 * through submit_request as a trusted client's would.
 *
 * The scheduler's insides this relies on, besides the functions of
 * the scheduler's headers it calls: sched's opt, db, node_by_name, jobs, out
 * (the answer to a refused submission), deps_dirty, started_mono, rng and
 * sigfd; a node's info, connected, drained, idx and gpu_used; a job's
 * spec, placement and start_ms (set to shape time). The suites read a
 * job's state, reason, spec, start_ms and est_start_ms. */
#ifndef TERN_TEST_POLICY_H
#define TERN_TEST_POLICY_H

#include "scheduler/attempt.h"
#include "scheduler/auth.h"
#include "scheduler/jobs.h"
#include "scheduler/loop.h"
#include "scheduler/nodes.h"
#include "scheduler/queue.h"
#include "scheduler/sched.h"
#include "scheduler/schedule.h"
#include "scheduler/submit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POL_MAX 8                      /* nodes, jobs, ids in one table row */
#define POL_KILL_WAIT_MS 2000          /* ternd --kill-wait of the model */
#define POL_PREEMPT_GRACE_MS 30000     /* ternd --preempt-grace of the model */

/* A node as its worker registers it; a table ends at name NULL. */
typedef struct pol_node {
    const char *name;
    uint32_t cpus, gpus;
    bool drained;
} pol_node;

/* What a submission asks (one task per node); a table ends at user NULL. */
typedef struct pol_job {
    const char *user;
    int32_t priority;
    uint32_t nodes, cpus, gpus;        /* nodes and CPUs per node: 0 means 1 */
    uint64_t time_limit_s;
    bool preemptible;
    const char *array, *dependency;    /* as sbatch --array, --dependency */
} pol_job;
/* A row's job: POL_JOB("alice", 5, .array = "0-3%2"). */
#define POL_JOB(who, prio, ...) { .user = (who), .priority = (prio), __VA_ARGS__ }

/* A job running when the pass begins; a table ends at id 0. */
typedef struct pol_run {
    uint64_t id;
    const char *on;                    /* its nodes: "a,b" */
    int64_t ago_ms;                    /* started this long before the model opened */
    uint32_t ending_ms;                /* >0: cancelled, its ranks given this long */
} pol_run;

/* 8-CPU nodes without GPUs: "a"; "a", "b"; "a", "b", "c"; and "a", "b"
 * with a 2-CPU "c". */
extern const pol_node pol_a[], pol_ab[], pol_abc[], pol_ab_small_c[];
/* A row's job asking for a whole 8-CPU node: POL_JOB("bob", 0, POL_WHOLE). */
#define POL_WHOLE .cpus = 8

/* A row of a table whose rows each check one scheduling pass: the scene
 * and the ternd options that differ from the model's. */
typedef struct pol_row {
    const char *name;
    const pol_node *nodes;
    pol_job jobs[POL_MAX];
    pol_run running[4];
    uint32_t backfill_depth;           /* ternd --backfill-depth; 0: the model's */
    bool just_started;                 /* ternd started less than a node timeout ago */
} pol_row;

typedef struct pol {
    sched s;
    char *dir;
    const char *name;                  /* the table row, for messages */
    int64_t t0;                        /* unix ms when the model opened */
    int64_t pass_from_ms, pass_to_ms;  /* unix ms around pol_row_pass's pass */
} pol;

/* Opens the model of row 'name' with nodes[] (may be NULL). Returns 0,
 * or -1 (asserted, nothing left open). */
int pol_open(pol *p, const char *name, const pol_node *nodes);
/* Frees the model as ternd does when it stops (sched_finish). */
void pol_close(pol *p);
/* Opens the model, submits jobs[] and starts runs[] (may be NULL).
 * Returns 0, or -1 when the model could not be built. */
int pol_scene(pol *p, const char *name, const pol_node *nodes, const pol_job jobs[POL_MAX],
              const pol_run *runs);
/* Opens the scene of 'row', sets its options and runs one sched_schedule.
 * Returns 0, or -1 when the model could not be built (nothing left open). */
int pol_row_pass(pol *p, const pol_row *row);
/* Submits 'j' as a trusted client. Returns its id (an array's first
 * task), or 0 when ternd refused it. */
uint64_t pol_submit(pol *p, const pol_job *j);
/* Submits jobs[] up to its end (or POL_MAX), asserting each is accepted.
 * Returns how many were. */
size_t pol_submit_all(pol *p, const pol_job jobs[POL_MAX]);
/* Starts pending job 'id' on the nodes named in 'on' ("a,b"), the first
 * free GPUs of each, as if its attempt had started 'ago_ms' before p->t0
 * (negative: after). Returns 0, or -1 when attempt_start refuses. */
int pol_start(pol *p, uint64_t id, const char *on, int64_t ago_ms);
/* Starts runs[] up to its end (none if NULL), and ends those it says
 * (attempt_end). */
void pol_start_all(pol *p, const pol_run *runs);
/* Every rank of job id's attempt exits: rank 0 with 'code', the rest 0. */
void pol_finish(pol *p, uint64_t id, int32_t code);
/* The jobs one scheduling pass considers, in its order (queue_pass_next,
 * after the dependency check a pass makes). Returns how many, at most max. */
size_t pol_pass_order(pol *p, uint64_t *ids, size_t max);
/* The ids of the jobs in 'state', in id order. Returns how many. */
size_t pol_in_state(pol *p, enum job_state state, uint64_t *ids, size_t max);
/* Whether got[0..n) is want[] up to its first 0; says what differs. */
bool pol_ids_are(const pol *p, const char *what, const uint64_t *got, size_t n,
                 const uint64_t *want);

#endif
