/* The CPU backend's collectives (ring.c), on the ring rank -> rank+1 of
 * the communicator's links. Each returns 0, or < 0 with the error
 * recorded (coll_fail; c->code holds it). */
#ifndef TERN_COLL_RING_H
#define TERN_COLL_RING_H

#include <stddef.h>

#include "collectives/coll.h"

/* recv = op over the ranks of send, 'count' elements of dt; the same bits
 * on every rank. send may be recv. */
int ring_allreduce(tern_comm *c, const void *send, void *recv, size_t count, tern_dtype dt,
                   tern_op op);
/* The root's 'bytes' at buf to every rank's buf. */
int ring_broadcast(tern_comm *c, void *buf, size_t bytes, int root);
/* Rank r's 'bytes' of send to recv + r * bytes on every rank; send may be
 * that place of recv. */
int ring_allgather(tern_comm *c, const void *send, void *recv, size_t bytes);
/* Returns once every rank has entered. */
int ring_barrier(tern_comm *c);

#endif
