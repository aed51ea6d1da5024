/* The shared-memory segment of each rank on a machine, and the liveness
 * of the ranks it shares the machine with. */
#ifndef TERN_COLL_NODE_H
#define TERN_COLL_NODE_H

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
#define SEG_HEADER 4096u

typedef struct seg_hdr {
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
} seg_hdr;

/* The ring size this process uses (from TERN_COLL_RING_KIB, else the
 * default), a power of two. */
size_t node_ring_bytes(void);

/* True when 'rank' shares this machine and shared memory is allowed. */
bool node_is_local(const tern_comm *c, int rank);
/* Creates this rank's segment (before the rendezvous publishes it). */
int node_create(tern_comm *c);
/* Maps the segments of the other local ranks (after they exist) and opens
 * pidfds on them. */
int node_open(tern_comm *c);
/* Removes this rank's segment name (once every local rank has mapped it). */
void node_unlink(tern_comm *c);
void node_close(tern_comm *c);
/* The segment of 'rank', or NULL when it is not mapped here. */
seg_hdr *node_seg(tern_comm *c, int rank);

uint32_t node_doorbell(tern_comm *c);
/* Sleeps until the doorbell moves past 'seen', or timeout_ms. */
void node_wait(tern_comm *c, uint32_t seen, int timeout_ms);
void node_ring(tern_comm *c, int rank);
/* Sets the abort word of every local rank (and rings them). */
void node_abort(tern_comm *c);
bool node_aborted(tern_comm *c);
/* 0 while the local peer 'rank' lives, -1 once its process is gone. */
int node_peer_alive(tern_comm *c, int rank);

/* The shared-memory link from 'from' into 'to' (one of them this rank,
 * both local, segments mapped). NULL on ENOMEM. (link_shm.c) */
coll_link *node_link(tern_comm *c, int from, int to);

#endif
