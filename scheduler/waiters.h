/* tern wait (waiters.c): a jobs reply held until the job ends or the wait
 * times out (at most a minute; the client asks again). Waiters are kept in
 * s->waiters, at most 100,000; past that, or out of memory, a wait is
 * answered at once. */
#ifndef TERN_SCHED_WAITERS_H
#define TERN_SCHED_WAITERS_H

#include <stdint.h>

#include "scheduler/sched.h"

/* A WaitRequest 'rq' (the caller's) from 'peer': answered now when the job
 * has ended (or does not exist: an Error) or the wait is 0, else held. */
void waiters_add(sched *s, const wire_peer *peer, uint64_t seq, const Tern__WaitRequest *rq);
/* Answers the waiters whose deadline passed at monotonic 'now' (ms), or
 * whose job has ended. */
void waiters_expire(sched *s, int64_t now);
/* j changed state: its waiters are answered if it is final. */
void waiters_wake(sched *s, job *j);

#endif
