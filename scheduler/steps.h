/* srun inside a batch job (steps.c): a step runs tasks on some of the
 * job's nodes, within its allocation, and srun learns how they ended.
 * Steps live as long as the attempt (j->steps, freed with it) and in
 * memory only: a ternd restart forgets them, their srun is told the step
 * is gone, their tasks end with the batch script. A step is a gang
 * launched as an attempt is (launch.h): its first node first, the others
 * with the master port it checked. Step ids are 1-based. */
#ifndef TERN_SCHED_STEPS_H
#define TERN_SCHED_STEPS_H

#include <stddef.h>
#include <stdint.h>

#include "scheduler/sched.h"

/* Starts a step of a running batch job as 'rq' asks (its spec's secret
 * environment left out; what belongs to the job taken from the job).
 * Returns the step id, or 0 with 'err' filled. */
uint32_t step_start(sched *s, const Tern__StepRequest *rq, char *err, size_t errlen);
/* Step 'id' of attempt 'attempt' of job 'job_id' (the job's), or NULL when
 * there is no such step (or job, or that attempt is not the current). */
const step *step_get(const sched *s, uint64_t job_id, uint32_t attempt, uint32_t id);
/* The first node 'n' of step st->step of j started its tasks: the others
 * are launched with the master port it checked (ignored unless held, from
 * that node, and in range). */
void step_started(sched *s, job *j, const node *n, const Tern__Started *st);
/* Task 'task' of step 'id' of j's attempt, on 'n', exited with 'code'
 * ('msg' may be NULL or empty). One failing stops the step's other tasks;
 * one of the first node's before its Started: the others are never
 * launched. Reports of no such step or task, or from another node, are
 * ignored. */
void step_task_exit(sched *s, job *j, const node *n, uint32_t id, uint32_t task, int32_t code,
                    const char *msg);
/* Frees the steps of j's attempt (it ended). */
void steps_free(job *j);

#endif
