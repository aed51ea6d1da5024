/* Rank 0's side of the rendezvous (rendezvous.h): the key-value store,
 * served by a thread of its own over a ZeroMQ ROUTER socket.
 *
 * Requests (multipart, after the client's routing id): SET key value |
 * GATHER prefix n deadline_ms | BYE run. Replies: OK [values...] |
 * ERR message. A request the store cannot take (out of room or memory) is
 * not answered: the client's wait runs out. */
#ifndef TERN_COLL_RDV_STORE_H
#define TERN_COLL_RDV_STORE_H

#include <stddef.h>
#include <zmq.h>

#include "common/curve.h"

typedef struct rdv_store rdv_store;

/* Starts the store of 'size' ranks for run 'run' on 'port' of every
 * address. With 'key' (the job's CURVE key; NULL: none) it speaks CURVE
 * and lets in that key alone. It serves until every rank has said
 * goodbye, or a gather has failed and every rank that came has left, or
 * timeout_s + 10 s have passed. Returns the store (rdv_store_join ends
 * it), or NULL with the reason in err. */
rdv_store *rdv_store_start(int size, const char *run, int port, const curve_key *key,
                           double timeout_s, char *err, size_t errlen);
/* Waits for the store to stop serving, then frees it; *sp becomes NULL
 * (NULL and *sp NULL are allowed). */
void rdv_store_join(rdv_store **sp);

#endif
