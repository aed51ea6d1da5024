/* The node-local shared-memory segments (shmseg.c): one per rank, shared
 * with the ranks of the same machine, holding the rank's doorbell, its
 * abort word and the ring buffer of its inbound link (link_shm.c). Also
 * the liveness of those ranks.
 *
 * The communicator owns the segments it maps (c->shmsegs): shmseg_create
 * makes the map, shmseg_close frees it. Functions that can fail record
 * the error with coll_fail and return its TERN_E* code. Where this
 * machine has no other rank of the communicator, no segment exists and
 * the calls below do nothing. */
#ifndef TERN_COLL_SHMSEG_H
#define TERN_COLL_SHMSEG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "collectives/coll.h"

/* The inbound ring buffer: big enough to keep a pipeline full, small
 * enough to stay in cache between the writer and the reader. A power of
 * two; TERN_COLL_RING_KIB changes it (the tests shrink it to 4 KiB to
 * make every wrap-around and full-ring path happen). */
#define RING_BYTES_DEFAULT (1u << 20)
#define RING_BYTES_MIN 4096u
#define SHMSEG_HEADER 4096u

typedef struct shmseg_hdr {
    _Atomic uint32_t doorbell;     /* bumped when this rank has data or room */
    _Atomic uint32_t sleeping;     /* the owner is in futex wait on doorbell */
    _Atomic uint32_t abort;        /* set by any local rank that failed */
    char pad0[64 - 12];
    _Atomic uint64_t head;         /* bytes written into the ring (by the previous rank) */
    char pad1[56];
    _Atomic uint64_t tail;         /* bytes consumed (by this rank) */
    uint32_t ring_bytes;           /* set by the owner before publishing */
    char pad2[4096 - 140];
    uint8_t ring[];
} shmseg_hdr;

/* The ring size this process uses (from TERN_COLL_RING_KIB, else the
 * default), a power of two. */
size_t shmseg_ring_bytes(void);

/* True when 'rank' shares this machine and shared memory is allowed. */
bool shmseg_is_local(const tern_comm *c, int rank);
/* Makes c->shmsegs and creates this rank's segment (before the rendezvous
 * publishes it). Returns 0 or a TERN_E* code. */
int shmseg_create(tern_comm *c);
/* Maps the segments of the other local ranks (once they exist) and opens
 * pidfds on their processes. Returns 0 or a TERN_E* code. */
int shmseg_map_peers(tern_comm *c);
/* Removes this rank's segment name (once every local rank has mapped it). */
void shmseg_unlink(tern_comm *c);
/* Unmaps every segment and frees c->shmsegs (NULL allowed). */
void shmseg_close(tern_comm *c);
/* The segment of 'rank', or NULL when it is not mapped here. */
shmseg_hdr *shmseg_of(tern_comm *c, int rank);

/* This rank's doorbell now (0 without a segment). */
uint32_t shmseg_doorbell(tern_comm *c);
/* Sleeps until the doorbell moves past 'seen', or timeout_ms. */
void shmseg_wait(tern_comm *c, uint32_t seen, int timeout_ms);
/* Rings the doorbell of 'rank', waking it if it sleeps. */
void shmseg_wake(tern_comm *c, int rank);
/* Sets the abort word of every local rank (and wakes them). */
void shmseg_abort(tern_comm *c);
/* True once a local rank has set this rank's abort word. */
bool shmseg_aborted(tern_comm *c);
/* 0 while the local peer 'rank' lives, -1 once its process is gone. */
int shmseg_peer_alive(tern_comm *c, int rank);

#endif
