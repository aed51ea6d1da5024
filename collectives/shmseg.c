/* What the ranks of one machine share (shmseg.h): one shared-memory
 * segment per rank, holding its doorbell (a futex its neighbours ring when
 * they give it data or room), its abort word, and the ring buffer of its
 * inbound link. Peers' deaths are seen through pidfds. */
#include "collectives/shmseg.h"

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

/* The segments this rank has mapped. */
typedef struct shmseg_map {
    int nlocal;
    shmseg_hdr **segs;             /* by rank; NULL for ranks on other machines */
    size_t *sizes;                 /* their mapped sizes */
    int *pidfds;                   /* by rank; -1 when not local or unknown */
    char name[64];                 /* this rank's segment, until unlinked */
    bool unlinked;
} shmseg_map;

static void seg_name(const tern_comm *c, int rank, char *buf, size_t len)
{
    snprintf(buf, len, "/tern-%016llx-%d", (unsigned long long)c->session, rank);
}

bool shmseg_is_local(const tern_comm *c, int rank)
{
    return c->shm_allowed && strcmp(c->peers[rank].node_key, c->peers[c->rank].node_key) == 0;
}

int shmseg_create(tern_comm *c)
{
    shmseg_map *sm = calloc(1, sizeof *sm);
    if (!sm)
        return coll_fail(c, TERN_ENOMEM, "out of memory");
    c->shmsegs = sm;
    sm->segs = calloc((size_t)c->size, sizeof *sm->segs);
    sm->sizes = calloc((size_t)c->size, sizeof *sm->sizes);
    sm->pidfds = malloc((size_t)c->size * sizeof *sm->pidfds);
    if (!sm->segs || !sm->sizes || !sm->pidfds)
        return coll_fail(c, TERN_ENOMEM, "out of memory");
    for (int i = 0; i < c->size; i++)
        sm->pidfds[i] = -1;
    bool any = false;
    for (int r = 0; r < c->size && !any; r++)
        any = r != c->rank && shmseg_is_local(c, r);
    if (!any)
        return 0;                  /* nobody to share memory with */
    seg_name(c, c->rank, sm->name, sizeof sm->name);
    int fd = shm_open(sm->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return coll_fail(c, TERN_ESYS, "shared memory %s: %s", sm->name, strerror(errno));
    size_t seg_bytes = SHMSEG_HEADER + shmseg_ring_bytes();
    if (ftruncate(fd, (off_t)seg_bytes) < 0) {
        int e = errno;
        close(fd);
        shm_unlink(sm->name);
        return coll_fail(c, TERN_ESYS, "shared memory %s: %s", sm->name, strerror(e));
    }
    void *p = mmap(NULL, seg_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        shm_unlink(sm->name);
        return coll_fail(c, TERN_ESYS, "mmap %s: %s", sm->name, strerror(errno));
    }
    sm->segs[c->rank] = p;
    sm->sizes[c->rank] = seg_bytes;
    ((shmseg_hdr *)p)->ring_bytes = (uint32_t)shmseg_ring_bytes();
    return 0;
}

int shmseg_map_peers(tern_comm *c)
{
    shmseg_map *sm = c->shmsegs;
    for (int r = 0; r < c->size; r++) {
        if (r == c->rank || !shmseg_is_local(c, r))
            continue;
        char name[64];
        seg_name(c, r, name, sizeof name);
        int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
            return coll_fail(c, TERN_ESYS, "shared memory of rank %d (%s): %s", r, name,
                             strerror(errno));
        struct stat st;
        void *p = fstat(fd, &st) == 0 && (size_t)st.st_size > SHMSEG_HEADER
                      ? mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                      : MAP_FAILED;
        close(fd);
        if (p == MAP_FAILED)
            return coll_fail(c, TERN_ESYS, "mmap of rank %d's segment: %s", r, strerror(errno));
        sm->segs[r] = p;
        sm->sizes[r] = (size_t)st.st_size;
        if (SHMSEG_HEADER + ((shmseg_hdr *)p)->ring_bytes != sm->sizes[r])
            return coll_fail(c, TERN_ESYS, "rank %d's segment is inconsistent", r);
        sm->nlocal++;
        sm->pidfds[r] = pidfd_open(c->peers[r].pid, 0);
    }
    return 0;
}

void shmseg_unlink(tern_comm *c)
{
    shmseg_map *sm = c->shmsegs;
    if (sm && sm->name[0] && !sm->unlinked) {
        shm_unlink(sm->name);
        sm->unlinked = true;
    }
}

void shmseg_close(tern_comm *c)
{
    shmseg_map *sm = c->shmsegs;
    if (!sm)
        return;
    shmseg_unlink(c);
    for (int r = 0; r < c->size; r++) {
        if (sm->segs && sm->segs[r])
            munmap(sm->segs[r], sm->sizes[r]);
        if (sm->pidfds && sm->pidfds[r] >= 0)
            close(sm->pidfds[r]);
    }
    free(sm->segs);
    free(sm->sizes);
    free(sm->pidfds);
    free(sm);
    c->shmsegs = NULL;
}

size_t shmseg_ring_bytes(void)
{
    const char *v = getenv("TERN_COLL_RING_KIB");
    long kib = v ? atol(v) : 0;
    size_t want = kib > 0 ? (size_t)kib << 10 : RING_BYTES_DEFAULT, b = RING_BYTES_MIN;
    while (b < want && b < (256u << 20))
        b <<= 1;
    return b;
}

shmseg_hdr *shmseg_of(tern_comm *c, int rank)
{
    return c->shmsegs ? c->shmsegs->segs[rank] : NULL;
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

uint32_t shmseg_doorbell(tern_comm *c)
{
    shmseg_hdr *me = shmseg_of(c, c->rank);
    return me ? atomic_load(&me->doorbell) : 0;
}

void shmseg_wait(tern_comm *c, uint32_t seen, int timeout_ms)
{
    shmseg_hdr *me = shmseg_of(c, c->rank);
    if (!me)
        return;
    struct timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000L };
    atomic_store(&me->sleeping, 1);
    if (atomic_load(&me->doorbell) == seen)
        futex(&me->doorbell, FUTEX_WAIT, seen, &ts);
    atomic_store(&me->sleeping, 0);
}

void shmseg_wake(tern_comm *c, int rank)
{
    shmseg_hdr *s = shmseg_of(c, rank);
    if (!s)
        return;
    atomic_fetch_add(&s->doorbell, 1);
    if (atomic_load(&s->sleeping))
        futex(&s->doorbell, FUTEX_WAKE, 1, NULL);
}

void shmseg_abort(tern_comm *c)
{
    for (int r = 0; c->shmsegs && r < c->size; r++) {
        shmseg_hdr *s = shmseg_of(c, r);
        if (!s)
            continue;
        atomic_store(&s->abort, 1);
        shmseg_wake(c, r);
    }
}

bool shmseg_aborted(tern_comm *c)
{
    shmseg_hdr *me = shmseg_of(c, c->rank);
    return me && atomic_load(&me->abort);
}

int shmseg_peer_alive(tern_comm *c, int rank)
{
    shmseg_map *sm = c->shmsegs;
    if (!sm || rank == c->rank)
        return 0;
    if (sm->pidfds[rank] >= 0) {
        struct pollfd p = { .fd = sm->pidfds[rank], .events = POLLIN };
        return poll(&p, 1, 0) > 0 ? -1 : 0;
    }
    /* No pidfd (an old kernel): a zombie counts as gone. */
    char buf[512];
    const char *st = proc_stat(c->peers[rank].pid, buf, sizeof buf);
    return st && st[0] != 'Z' && st[0] != 'X' ? 0 : -1;
}
