/* A ring link: one direction of a ring edge, to the next rank or from the
 * previous one. Shared memory between the ranks of one machine
 * (link_shm.c), TCP between machines (link_tcp.c); the progress loop
 * (progress.c) drives both through coll_link_ops, never blocking. The
 * communicator owns its two links and frees them with ops->destroy. */
#ifndef TERN_COLL_LINK_H
#define TERN_COLL_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>

#include "collectives/coll.h"

struct coll_link_ops {
    /* Takes up to len bytes; returns how many (0: no room now), -1 on error. */
    ssize_t (*try_send)(coll_link *l, const void *data, size_t len);
    /* Exposes up to len received bytes, whole multiples of 'align';
     * returns how many (0: none yet), -1 on error. The bytes stay valid
     * until 'consumed'. */
    ssize_t (*try_recv)(coll_link *l, const void **data, size_t len, size_t align);
    /* Releases the first n bytes try_recv exposed. */
    void (*consumed)(coll_link *l, size_t n);
    /* Both sides call it between operations, so streams restart aligned. */
    void (*align)(coll_link *l);
    int (*fd)(coll_link *l);       /* for poll; -1 for shared memory */
    /* True once the rank at the other end is known to be gone (its process
     * exited, or it closed the connection). */
    bool (*gone)(coll_link *l);
    void (*destroy)(coll_link *l);
};

struct coll_link {
    const struct coll_link_ops *ops;
    int peer;                      /* the rank at the other end */
    bool shm;
};

/* A zeroed link of 'size' bytes (a struct that begins with coll_link),
 * its base filled in. NULL when out of memory. */
static inline coll_link *coll_link_new(size_t size, const struct coll_link_ops *ops, int peer,
                                       bool shm)
{
    coll_link *l = calloc(1, size);
    if (l)
        *l = (coll_link){ ops, peer, shm };
    return l;
}

/* ---- link_shm.c ---- */
/* The shared-memory link from rank 'from' into rank 'to' (one of them this
 * rank, both on this machine), through the ring of 'to''s segment
 * (shmseg.h). NULL when that segment is not mapped or out of memory. */
coll_link *shm_link_new(tern_comm *c, int from, int to);

/* ---- link_tcp.c ---- */
/* A listener on every address for the inbound ring link: the socket in
 * *fd (the caller closes it) and "IP:PORT" in addr, with the IP this host
 * reaches 'route_to' from. Returns 0, or -1 with errno. */
int tcp_listen(const char *route_to, char *addr, size_t len, int *fd);
/* Connects to the next rank (need_out) and accepts the previous one on
 * listen_fd (need_in), each side proving the session, within the
 * dead-peer timeout and 10 s. Sets *out and *in. Returns 0, or a TERN_E*
 * code recorded with coll_fail. */
int tcp_links(tern_comm *c, int listen_fd, coll_link **out, coll_link **in, bool need_out,
              bool need_in);

#endif
