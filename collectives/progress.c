/* Moving one step of a ring algorithm: send to the next rank while
 * receiving from the previous one, on whatever links they are, without
 * ever blocking on one side while the other could move. When neither
 * moves, spin briefly, then sleep on the doorbell (shared memory) or in
 * poll (TCP), and check every few milliseconds that the peers are alive. */
#include "collectives/coll.h"
#include "collectives/node.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#define SPINS 256                  /* busy polls before giving the CPU away */
#define YIELDS 2048                  /* then polls that yield (more ranks than cores) */
#define CHECK_MS 10

static inline void cpu_relax(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

/* What is wrong, if anything: the communicator aborted, a neighbour this
 * step still waits on gone, or no progress for too long. Returns 0, or an
 * error code with the reason in 'why'. No side effects. */
static int trouble(tern_comm *c, coll_link *out, coll_link *in, double since, char *why,
                   size_t len)
{
    if (node_aborted(c)) {
        snprintf(why, len, "another rank failed; collective abandoned");
        return TERN_EPEER;
    }
    coll_link *links[2] = { in, out };
    for (int i = 0; i < 2; i++) {
        coll_link *l = links[i];
        if (l && l->ops->gone(l)) {
            if (l->shm)
                snprintf(why, len, "rank %d (pid %d) died", l->peer, (int)c->peers[l->peer].pid);
            else
                snprintf(why, len, "rank %d closed its connection (died or failed)", l->peer);
            return TERN_EPEER;
        }
    }
    if (coll_now() - since > c->progress_timeout_s) {
        snprintf(why, len, "no progress for %.0f s waiting on rank %d", c->progress_timeout_s,
                 in ? in->peer : out ? out->peer : -1);
        return TERN_ETIMEDOUT;
    }
    return 0;
}

int coll_alive(void *comm)
{
    tern_comm *c = comm;
    char why[256];
    int code = trouble(c, c->next, c->prev, coll_now(), why, sizeof why);
    return code ? coll_fail(c, code, "%s", why) : 0;
}

/* Sleeps until a link may move. */
static void wait_links(tern_comm *c, coll_link *out, bool sending, coll_link *in,
                       bool receiving, uint32_t seen)
{
    struct pollfd p[2];
    int n = 0;
    bool shm = false;
    if (sending && out) {
        if (out->shm)
            shm = true;
        else
            p[n++] = (struct pollfd){ .fd = out->ops->fd(out), .events = POLLOUT };
    }
    if (receiving && in) {
        if (in->shm)
            shm = true;
        else
            p[n++] = (struct pollfd){ .fd = in->ops->fd(in), .events = POLLIN };
    }
    if (n == 0)
        node_wait(c, seen, CHECK_MS);
    else
        poll(p, (nfds_t)n, shm ? 1 : CHECK_MS);   /* both kinds: poll briefly */
}

/* How much of stage ts may be sent now: all of it, or for a gated stage
 * what its gate has received so far. */
static size_t ready_now(const coll_stage *st, int ts, int tr, size_t rcvd)
{
    int g = st[ts].gate;
    if (g < 0 || tr > g)
        return st[ts].slen;
    return tr == g ? rcvd : 0;
}

int coll_stages(tern_comm *c, const coll_stage *st, int nst, size_t align)
{
    coll_link *out = c->next, *in = c->prev;
    int ts = 0, tr = 0;            /* the stage sending, the stage receiving */
    size_t sent = 0, rcvd = 0;
    int spins = 0;
    double since = coll_now(), checked = since;
    for (;;) {
        /* Stages with nothing (left) to do are done; the stream is realigned
         * after each stage that moved bytes, on both sides alike. */
        while (ts < nst && sent == st[ts].slen) {
            if (st[ts].slen)
                out->ops->align(out);
            ts++;
            sent = 0;
        }
        while (tr < nst && rcvd == st[tr].rlen) {
            if (st[tr].rlen)
                in->ops->align(in);
            tr++;
            rcvd = 0;
        }
        if (ts == nst && tr == nst)
            return 0;
        uint32_t seen = node_doorbell(c);
        bool moved = false;
        if (ts < nst) {
            size_t ready = ready_now(st, ts, tr, rcvd);
            if (sent < ready) {
                ssize_t k = out->ops->try_send(out, st[ts].sbuf + sent, ready - sent);
                if (k < 0)
                    return coll_fail(c, TERN_EPEER, "connection to rank %d broke", out->peer);
                sent += (size_t)k;
                moved |= k > 0;
            }
        }
        if (tr < nst) {
            const void *data;
            ssize_t k = in->ops->try_recv(in, &data, st[tr].rlen - rcvd, align);
            if (k < 0)
                return coll_fail(c, TERN_EPEER, "connection from rank %d broke", in->peer);
            if (k > 0) {
                st[tr].sink(st[tr].arg, rcvd, data, (size_t)k);
                in->ops->consumed(in, (size_t)k);
                rcvd += (size_t)k;
                moved = true;
            }
        }
        if (moved) {
            spins = 0;
            continue;
        }
        if (++spins < SPINS) {
            cpu_relax();
            continue;
        }
        if (spins < SPINS + YIELDS) {
            /* The peer we wait for may be waiting for this CPU. */
            sched_yield();
            continue;
        }
        double now = coll_now();
        if (spins == SPINS + YIELDS)
            since = now;           /* the stall began */
        bool sending = ts < nst, receiving = tr < nst;
        /* Wait for room only with something to send: a gated stage with
         * nothing ready would see a writable socket and spin. */
        bool can_send = sending && sent < ready_now(st, ts, tr, rcvd);
        if (now - checked >= CHECK_MS / 1000.0) {
            checked = now;
            /* Only the links still waited on: a neighbour that has delivered
             * everything may finish and exit before we do. */
            char why[256];
            int code = trouble(c, sending ? out : NULL, receiving ? in : NULL, since, why,
                               sizeof why);
            if (code) {
                /* A dead sender's last bytes may have landed just before it
                 * exited: take them before calling it a failure. */
                const void *data;
                if (receiving && in->ops->try_recv(in, &data, st[tr].rlen - rcvd, align) > 0)
                    continue;
                return coll_fail(c, code, "%s", why);
            }
        }
        wait_links(c, out, can_send, in, receiving, seen);
        spins = SPINS + YIELDS + 1;
    }
}
