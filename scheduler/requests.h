/* The client endpoint (requests.c): requests from tern, srun and any
 * client. Each request's sender is identified (auth.h) and rate-limited,
 * then answered through the outbox, after the commit: with what it asked
 * for, or an Error saying why not. Submissions are submit.h's, waits
 * waiters.h's. */
#ifndef TERN_SCHED_REQUESTS_H
#define TERN_SCHED_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler/auth.h"
#include "scheduler/sched.h"

/* A request 'env' (the caller's, who frees it) from 'peer' on the client
 * endpoint at monotonic 'now' (ms): its sender is authorized and
 * rate-limited here, per request, and answered. */
void requests_handle(sched *s, const wire_peer *peer, Tern__Envelope *env, int64_t now);
/* A message on the client endpoint that could not be decoded ('why'):
 * counted against its sender's rate limit, logged folded, and answered
 * when within the limit and the framing gave a routing id. */
void requests_malformed(sched *s, const wire_peer *peer, const char *why, int64_t now);
/* Replies to request 'seq' with jobs[0..n) (the caller's array). 'full'
 * (one job alone) includes its attempts, environment and script, whose
 * values 'c' sees when auth_may_manage says so ('c' may be NULL when not
 * 'full'); 'next_after' tells the client where the next page starts (0:
 * done). Out of memory, the reply is an Error. */
void requests_reply_jobs(sched *s, const wire_peer *peer, const caller *c, uint64_t seq,
                         job **jobs, size_t n, bool full, uint64_t next_after);

#endif
