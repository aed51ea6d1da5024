/* Placing pending jobs (schedule.c): queue order, the top waiting job's
 * reservation, backfill behind it, and preemption of lower-priority
 * --preemptible jobs. */
#ifndef TERN_SCHED_SCHEDULE_H
#define TERN_SCHED_SCHEDULE_H

#include <stdint.h>

#include "scheduler/sched.h"

/* One scheduling pass: places pending jobs in queue order
 * (queue_pass_next) while they fit; when the top job must wait, it may
 * preempt lower-priority --preemptible jobs, gets a reservation (when
 * running jobs will have freed its nodes, from their time limits), and jobs
 * behind it start only where they cannot delay that reservation
 * (backfill). Sets each job's reason and estimated start; out of memory,
 * the pass stops early (the next turn tries again when something changes). */
void sched_schedule(sched *s);
/* Fills 'req' for j: its shape, spot and partition rules, and with 'avoid'
 * (the caller's, s->nnodes bytes; NULL: none) the nodes its restarts avoid;
 * req->avoid then points into 'avoid', or is NULL when there are none. */
void job_place_request(sched *s, const job *j, place_request *req, uint8_t *avoid);

#endif
