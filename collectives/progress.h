/* Moving data through the ring (progress.c): the stages of a ring
 * algorithm, driven over the communicator's two links at once. */
#ifndef TERN_COLL_PROGRESS_H
#define TERN_COLL_PROGRESS_H

#include <stddef.h>

#include "collectives/coll.h"

/* A stage of a ring algorithm: 'slen' bytes from 'sbuf' to the next rank,
 * 'rlen' bytes from the previous one handed to 'sink' (offset into the
 * stage's stream, data, length; whole elements of 'align' bytes). Stages
 * send and receive in order on each link; a stage with gate k >= 0 sends
 * only bytes that stage k has already received (it forwards them), so the
 * steps of a ring pipeline overlap and the bytes forwarded are still warm
 * in the cache. */
typedef void (*coll_sink)(void *arg, size_t off, const void *data, size_t len);
typedef struct coll_stage {
    const char *sbuf;
    size_t slen, rlen;
    coll_sink sink;
    void *arg;
    int gate;                      /* -1: none */
} coll_stage;

/* Runs the 'nst' stages to the end. Returns 0, or a TERN_E* code recorded
 * with coll_fail: a link broke, a neighbour died, another local rank
 * failed, or nothing moved for the progress timeout. */
int coll_stages(tern_comm *c, const coll_stage *st, int nst, size_t align);

/* Whether the peers are alive ('comm' is the tern_comm; the plugins' alive
 * callback): 0, or < 0 after recording the error. */
int coll_alive(void *comm);

#endif
