/* The worker endpoint (agents.c): messages from the tern-worker agents,
 * one per node: registration, heartbeats carrying the state of every
 * attempt on the node, rank exits, and Started.
 *
 * A worker reports an attempt until told to forget it, so an exit lost in
 * a crash of either side is reported again. Reports about attempts the
 * scheduler has moved on from are fenced: running ranks of such an attempt
 * are killed, never counted. A worker's routing id is its node's name; with
 * authentication, a worker key speaks for its own node alone. */
#ifndef TERN_SCHED_AGENTS_H
#define TERN_SCHED_AGENTS_H

#include <stdint.h>

#include "scheduler/sched.h"

/* A message 'env' (the caller's, who frees it) from 'peer' on the worker
 * endpoint. Refusals (a key no longer authorized, a key of another node, a
 * message type not a worker's) are answered with an Error at once; a
 * revoked key's node goes DOWN. */
void agents_handle(sched *s, const wire_peer *peer, Tern__Envelope *env);
/* A message on the worker endpoint that could not be decoded ('why'),
 * at monotonic 'now' (ms): logged folded, answered when the framing gave a
 * routing id. */
void agents_malformed(sched *s, const wire_peer *peer, const char *why, int64_t now);

#endif
