/* A ring link through shared memory: the sender writes into the receiver's
 * ring buffer and rings its doorbell; the receiver reduces or copies
 * straight out of the ring and rings the sender's doorbell for the room it
 * freed. One writer, one reader; head and tail only grow. */
#include "collectives/link.h"

#include "collectives/shmseg.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(shmseg_hdr, ring) == SHMSEG_HEADER, "the ring starts on its own page");

#define STREAM_ALIGN 64u
#define SEND_PIECE (512u << 10)   /* published in pieces: the reader starts on warm data */

typedef struct shm_link {
    coll_link base;
    tern_comm *c;
    shmseg_hdr *seg;                  /* the receiver's segment */
    size_t ring;                   /* its ring's size, a power of two */
    size_t piece;
    bool sender;
} shm_link;

static ssize_t shm_try_send(coll_link *l, const void *data, size_t len)
{
    shm_link *s = (shm_link *)l;
    uint64_t head = atomic_load_explicit(&s->seg->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&s->seg->tail, memory_order_acquire);
    /* After this side's end-of-stage alignment, head may run ahead of the
     * reader by more than the ring holds: then there is no room yet. */
    uint64_t used = head - tail;
    size_t room = used >= s->ring ? 0 : s->ring - (size_t)used;
    size_t n = len < room ? len : room;
    if (n > s->piece)
        n = s->piece;
    if (n == 0)
        return 0;
    size_t at = (size_t)(head & (s->ring - 1)), first = s->ring - at;
    if (first > n)
        first = n;
    memcpy(s->seg->ring + at, data, first);
    memcpy(s->seg->ring, (const char *)data + first, n - first);
    atomic_store_explicit(&s->seg->head, head + n, memory_order_release);
    shmseg_wake(s->c, l->peer);
    return (ssize_t)n;
}

static ssize_t shm_try_recv(coll_link *l, const void **data, size_t len, size_t align)
{
    shm_link *s = (shm_link *)l;
    uint64_t tail = atomic_load_explicit(&s->seg->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&s->seg->head, memory_order_acquire);
    /* The reader aligns its tail at the end of a step, which may be before
     * the writer has aligned its head: nothing to read until it has. */
    if ((int64_t)(head - tail) <= 0)
        return 0;
    size_t avail = (size_t)(head - tail), at = (size_t)(tail & (s->ring - 1));
    size_t n = avail < len ? avail : len;
    if (n > s->ring - at)
        n = s->ring - at;          /* up to the wrap; the rest comes next */
    n -= n % align;
    *data = s->seg->ring + at;
    return (ssize_t)n;
}

static void shm_consumed(coll_link *l, size_t n)
{
    shm_link *s = (shm_link *)l;
    uint64_t tail = atomic_load_explicit(&s->seg->tail, memory_order_relaxed);
    atomic_store_explicit(&s->seg->tail, tail + n, memory_order_release);
    shmseg_wake(s->c, l->peer);
}

/* Between operations both sides move to the next 64-byte boundary, so an
 * element never straddles the end of the ring whatever the types were. */
static void shm_align(coll_link *l)
{
    shm_link *s = (shm_link *)l;
    _Atomic uint64_t *pos = s->sender ? &s->seg->head : &s->seg->tail;
    uint64_t v = atomic_load_explicit(pos, memory_order_relaxed);
    uint64_t up = (v + STREAM_ALIGN - 1) & ~(uint64_t)(STREAM_ALIGN - 1);
    if (up != v)
        atomic_store_explicit(pos, up, memory_order_release);
}

static int shm_fd(coll_link *l)
{
    (void)l;
    return -1;
}

static bool shm_gone(coll_link *l)
{
    return shmseg_peer_alive(((shm_link *)l)->c, l->peer) < 0;
}

static void shm_destroy(coll_link *l)
{
    free(l);
}

static const struct coll_link_ops shm_ops = {
    shm_try_send, shm_try_recv, shm_consumed, shm_align, shm_fd, shm_gone, shm_destroy,
};

coll_link *shm_link_new(tern_comm *c, int from, int to)
{
    shmseg_hdr *seg = shmseg_of(c, to);
    if (!seg)
        return NULL;
    bool sender = from == c->rank;
    shm_link *s = (shm_link *)coll_link_new(sizeof *s, &shm_ops, sender ? to : from, true);
    if (!s)
        return NULL;
    s->c = c;
    s->seg = seg;
    s->ring = seg->ring_bytes;
    s->piece = SEND_PIECE < s->ring / 2 ? SEND_PIECE : s->ring / 2;
    s->sender = sender;
    return &s->base;
}
