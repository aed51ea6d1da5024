/* What the ranks of one machine share: one shared-memory segment per rank,
 * holding its doorbell (a futex its neighbours ring when they give it data
 * or room), its abort word, and the ring buffer of its inbound link. Peers'
 * deaths are seen through pidfds. */
#include "collectives/coll.h"
#include "collectives/node.h"

#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct coll_node {
    int nlocal;
    seg_hdr **segs;                /* by rank; NULL for ranks on other machines */
    size_t *sizes;                 /* their mapped sizes */
    int *pidfds;                   /* by rank; -1 when not local or unknown */
    char name[64];                 /* this rank's segment, until unlinked */
    bool unlinked;
} coll_node;

static void seg_name(const tern_comm *c, int rank, char *buf, size_t len)
{
    snprintf(buf, len, "/tern-%016llx-%d", (unsigned long long)c->session, rank);
}

bool node_is_local(const tern_comm *c, int rank)
{
    return c->shm_allowed && strcmp(c->peers[rank].node_key, c->peers[c->rank].node_key) == 0;
}

int node_create(tern_comm *c)
{
    coll_node *nd = calloc(1, sizeof *nd);
    if (!nd)
        return coll_fail(c, TERN_ENOMEM, "out of memory");
    c->node = nd;
    nd->segs = calloc((size_t)c->size, sizeof *nd->segs);
    nd->sizes = calloc((size_t)c->size, sizeof *nd->sizes);
    nd->pidfds = malloc((size_t)c->size * sizeof *nd->pidfds);
    if (!nd->segs || !nd->sizes || !nd->pidfds)
        return coll_fail(c, TERN_ENOMEM, "out of memory");
    for (int i = 0; i < c->size; i++)
        nd->pidfds[i] = -1;
    bool any = false;
    for (int r = 0; r < c->size && !any; r++)
        any = r != c->rank && node_is_local(c, r);
    if (!any)
        return 0;                  /* nobody to share memory with */
    seg_name(c, c->rank, nd->name, sizeof nd->name);
    int fd = shm_open(nd->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return coll_fail(c, TERN_ESYS, "shared memory %s: %s", nd->name, strerror(errno));
    size_t seg_bytes = SEG_HEADER + node_ring_bytes();
    if (ftruncate(fd, (off_t)seg_bytes) < 0) {
        int e = errno;
        close(fd);
        shm_unlink(nd->name);
        return coll_fail(c, TERN_ESYS, "shared memory %s: %s", nd->name, strerror(e));
    }
    void *p = mmap(NULL, seg_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        shm_unlink(nd->name);
        return coll_fail(c, TERN_ESYS, "mmap %s: %s", nd->name, strerror(errno));
    }
    nd->segs[c->rank] = p;
    nd->sizes[c->rank] = seg_bytes;
    ((seg_hdr *)p)->ring_bytes = (uint32_t)node_ring_bytes();
    return 0;
}

int node_open(tern_comm *c)
{
    coll_node *nd = c->node;
    for (int r = 0; r < c->size; r++) {
        if (r == c->rank || !node_is_local(c, r))
            continue;
        char name[64];
        seg_name(c, r, name, sizeof name);
        int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
            return coll_fail(c, TERN_ESYS, "shared memory of rank %d (%s): %s", r, name,
                             strerror(errno));
        struct stat st;
        void *p = fstat(fd, &st) == 0 && (size_t)st.st_size > SEG_HEADER
                      ? mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                      : MAP_FAILED;
        close(fd);
        if (p == MAP_FAILED)
            return coll_fail(c, TERN_ESYS, "mmap of rank %d's segment: %s", r, strerror(errno));
        nd->segs[r] = p;
        nd->sizes[r] = (size_t)st.st_size;
        if (SEG_HEADER + ((seg_hdr *)p)->ring_bytes != nd->sizes[r])
            return coll_fail(c, TERN_ESYS, "rank %d's segment is inconsistent", r);
        nd->nlocal++;
        nd->pidfds[r] = pidfd_open(c->peers[r].pid, 0);
    }
    return 0;
}

void node_unlink(tern_comm *c)
{
    coll_node *nd = c->node;
    if (nd && nd->name[0] && !nd->unlinked) {
        shm_unlink(nd->name);
        nd->unlinked = true;
    }
}

void node_close(tern_comm *c)
{
    coll_node *nd = c->node;
    if (!nd)
        return;
    node_unlink(c);
    for (int r = 0; r < c->size; r++) {
        if (nd->segs && nd->segs[r])
            munmap(nd->segs[r], nd->sizes[r]);
        if (nd->pidfds && nd->pidfds[r] >= 0)
            close(nd->pidfds[r]);
    }
    free(nd->segs);
    free(nd->sizes);
    free(nd->pidfds);
    free(nd);
    c->node = NULL;
}

size_t node_ring_bytes(void)
{
    const char *v = getenv("TERN_COLL_RING_KIB");
    long kib = v ? atol(v) : 0;
    size_t want = kib > 0 ? (size_t)kib << 10 : RING_BYTES_DEFAULT, b = RING_BYTES_MIN;
    while (b < want && b < (256u << 20))
        b <<= 1;
    return b;
}

seg_hdr *node_seg(tern_comm *c, int rank)
{
    return c->node ? c->node->segs[rank] : NULL;
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

uint32_t node_doorbell(tern_comm *c)
{
    seg_hdr *me = node_seg(c, c->rank);
    return me ? atomic_load(&me->doorbell) : 0;
}

void node_wait(tern_comm *c, uint32_t seen, int timeout_ms)
{
    seg_hdr *me = node_seg(c, c->rank);
    if (!me)
        return;
    struct timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000L };
    atomic_store(&me->sleeping, 1);
    if (atomic_load(&me->doorbell) == seen)
        futex(&me->doorbell, FUTEX_WAIT, seen, &ts);
    atomic_store(&me->sleeping, 0);
}

void node_ring(tern_comm *c, int rank)
{
    seg_hdr *s = node_seg(c, rank);
    if (!s)
        return;
    atomic_fetch_add(&s->doorbell, 1);
    if (atomic_load(&s->sleeping))
        futex(&s->doorbell, FUTEX_WAKE, 1, NULL);
}

void node_abort(tern_comm *c)
{
    for (int r = 0; c->node && r < c->size; r++) {
        seg_hdr *s = node_seg(c, r);
        if (!s)
            continue;
        atomic_store(&s->abort, 1);
        node_ring(c, r);
    }
}

bool node_aborted(tern_comm *c)
{
    seg_hdr *me = node_seg(c, c->rank);
    return me && atomic_load(&me->abort);
}

int node_peer_alive(tern_comm *c, int rank)
{
    coll_node *nd = c->node;
    if (!nd || rank == c->rank)
        return 0;
    if (nd->pidfds[rank] >= 0) {
        struct pollfd p = { .fd = nd->pidfds[rank], .events = POLLIN };
        return poll(&p, 1, 0) > 0 ? -1 : 0;
    }
    /* No pidfd (an old kernel): a zombie counts as gone. */
    char buf[512];
    const char *st = proc_stat(c->peers[rank].pid, buf, sizeof buf);
    return st && st[0] != 'Z' && st[0] != 'X' ? 0 : -1;
}
