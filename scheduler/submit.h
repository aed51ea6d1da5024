/* tern submit (submit.c): a job, or an array of them, checked, bounded
 * per user, stored and queued; a retried submission (the same token of the
 * same user) finds the job it made. */
#ifndef TERN_SCHED_SUBMIT_H
#define TERN_SCHED_SUBMIT_H

#include <stdint.h>

#include "scheduler/auth.h"
#include "scheduler/sched.h"

/* A submission 'rq' (the caller's) from 'c', answered with its first job
 * id and task count, or an Error saying why not. The jobs keep copies of
 * the spec, with who submits them and ternd's defaults; out of memory, the
 * turn is doomed so that none of an array is kept. */
void submit_request(sched *s, const wire_peer *peer, const caller *c, uint64_t seq,
                    const Tern__SubmitRequest *rq);

#endif
