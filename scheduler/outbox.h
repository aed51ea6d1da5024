/* Messages held until the turn's transaction is committed (outbox.c): a
 * submitter hears "accepted" only for a job that is on disk, and a worker
 * launches only an attempt that is on disk. Everything queued here is
 * packed at once: what the caller passed in stays the caller's. */
#ifndef TERN_SCHED_OUTBOX_H
#define TERN_SCHED_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "scheduler/sched.h"

/* Packs 'env' (borrowed; its version is set here) and queues it for 'peer'
 * on 'sock'. 'client': a reply to a client request, which outbox_fail
 * turns into an error. A message over WIRE_MAX_MSG is not queued: a client
 * gets an error saying so instead, a worker nothing (both logged). Out of
 * memory, the message is dropped and logged; nothing is returned because
 * the sender has no better course (the heartbeat check notices what a
 * worker never got). */
void outbox_add(sched *s, void *sock, const wire_peer *peer, Tern__Envelope *env, bool client);
/* outbox_add of an envelope with 'seq' whose body is 'msg' (borrowed), the
 * message of the Envelope field number 'body': TERN__ENVELOPE__BODY_KILL
 * and a Tern__Kill, say. A 'msg' of another type than the field's is a
 * programming error (assert). */
void outbox_body(sched *s, void *sock, const wire_peer *peer, uint64_t seq,
                 Tern__Envelope__BodyCase body, const void *msg, bool client);
/* outbox_body on the client socket: the reply to request 'seq'. */
void outbox_reply(sched *s, const wire_peer *peer, uint64_t seq, Tern__Envelope__BodyCase body,
                  const void *msg);
/* outbox_body on the worker socket, to the worker at 'peer'. */
void outbox_worker(sched *s, const wire_peer *peer, uint64_t seq, Tern__Envelope__BodyCase body,
                   const void *msg);
/* Queues an Error reply to client request 'seq' with a printf-style
 * message (cut at 1 KiB). */
void outbox_error(sched *s, const wire_peer *peer, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* After the commit: sends everything queued, in order, and empties the
 * outbox. A send that fails is logged (a peer gone, EHOSTUNREACH, is not). */
void outbox_flush(sched *s);
/* The commit failed: drops everything queued; each client reply becomes an
 * error saying 'why' (borrowed) and that nothing was changed. */
void outbox_fail(sched *s, const char *why);

#endif
