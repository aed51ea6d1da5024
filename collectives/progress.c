/* Moving one step of a ring algorithm: send to the next rank while
 * receiving from the previous one, on whatever links they are, without
 * ever blocking on one side while the other could move. When neither
 * moves, spin briefly, then sleep on the doorbell (shared memory) or in
 * poll (TCP), and check every few milliseconds that the peers are alive. */
#include "collectives/progress.h"

#include "collectives/link.h"
#include "collectives/shmseg.h"

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
    if (shmseg_aborted(c)) {
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
        shmseg_wait(c, seen, CHECK_MS);
    else
        poll(p, (nfds_t)n, shm ? 1 : CHECK_MS);   /* both kinds: poll briefly */
}

/* Where a run of stages stands. */
typedef struct run {
    tern_comm *c;
    const coll_stage *st;
    int nst;
    size_t align;
    coll_link *out, *in;
    int ts, tr;                    /* the stage sending, the stage receiving */
    size_t sent, rcvd;             /* their bytes so far */
} run;

/* How much of the sending stage may be sent now: all of it, or for a
 * gated stage what its gate has received so far. */
static size_t ready_now(const run *r)
{
    int g = r->st[r->ts].gate;
    if (g < 0 || r->tr > g)
        return r->st[r->ts].slen;
    return r->tr == g ? r->rcvd : 0;
}

/* Moves past the stages with nothing (left) to do; the stream is realigned
 * after each stage that moved bytes, on both sides alike. True when every
 * stage is done. */
static bool skip_done(run *r)
{
    while (r->ts < r->nst && r->sent == r->st[r->ts].slen) {
        if (r->st[r->ts].slen)
            r->out->ops->align(r->out);
        r->ts++;
        r->sent = 0;
    }
    while (r->tr < r->nst && r->rcvd == r->st[r->tr].rlen) {
        if (r->st[r->tr].rlen)
            r->in->ops->align(r->in);
        r->tr++;
        r->rcvd = 0;
    }
    return r->ts == r->nst && r->tr == r->nst;
}

/* Sends what the sending stage has ready: 1 when bytes went, 0 when none
 * could, or the error recorded. */
static int send_some(run *r)
{
    size_t ready = r->ts < r->nst ? ready_now(r) : 0;
    if (r->sent >= ready)
        return 0;
    ssize_t k = r->out->ops->try_send(r->out, r->st[r->ts].sbuf + r->sent, ready - r->sent);
    if (k < 0)
        return coll_fail(r->c, TERN_EPEER, "connection to rank %d broke", r->out->peer);
    r->sent += (size_t)k;
    return k > 0;
}

/* Hands what has come for the receiving stage to its sink: 1 when bytes
 * came, 0 when none had, or the error recorded. */
static int recv_some(run *r)
{
    if (r->tr == r->nst)
        return 0;
    const coll_stage *s = &r->st[r->tr];
    const void *data;
    ssize_t k = r->in->ops->try_recv(r->in, &data, s->rlen - r->rcvd, r->align);
    if (k < 0)
        return coll_fail(r->c, TERN_EPEER, "connection from rank %d broke", r->in->peer);
    if (k == 0)
        return 0;
    s->sink(s->arg, r->rcvd, data, (size_t)k);
    r->in->ops->consumed(r->in, (size_t)k);
    r->rcvd += (size_t)k;
    return 1;
}

/* After a round in which nothing moved: true to spin on, then to yield
 * (the peer we wait for may be waiting for this CPU), false once the run
 * has stalled. */
static bool keep_spinning(int *spins)
{
    if (++*spins < SPINS) {
        cpu_relax();
        return true;
    }
    if (*spins < SPINS + YIELDS) {
        sched_yield();
        return true;
    }
    return false;
}

/* Every CHECK_MS of a stall (which began at 'since'): whether what the
 * run still waits on is there. 0 to wait on, 1 when bytes have come after
 * all, or the error recorded. */
static int check_stall(run *r, double since)
{
    bool sending = r->ts < r->nst, receiving = r->tr < r->nst;
    /* Only the links still waited on: a neighbour that has delivered
     * everything may finish and exit before we do. */
    char why[256];
    int code = trouble(r->c, sending ? r->out : NULL, receiving ? r->in : NULL, since, why,
                       sizeof why);
    if (!code)
        return 0;
    /* A dead sender's last bytes may have landed just before it exited:
     * take them before calling it a failure. */
    const void *data;
    if (receiving && r->in->ops->try_recv(r->in, &data, r->st[r->tr].rlen - r->rcvd, r->align) > 0)
        return 1;
    return coll_fail(r->c, code, "%s", why);
}

/* Sleeps until a link may move; 'seen' is the doorbell before this round. */
static void stall(run *r, uint32_t seen)
{
    /* Wait for room only with something to send: a gated stage with
     * nothing ready would see a writable socket and spin. */
    bool can_send = r->ts < r->nst && r->sent < ready_now(r);
    wait_links(r->c, r->out, can_send, r->in, r->tr < r->nst, seen);
}

int coll_stages(tern_comm *c, const coll_stage *st, int nst, size_t align)
{
    run r = { .c = c, .st = st, .nst = nst, .align = align, .out = c->next, .in = c->prev };
    int spins = 0;
    double since = coll_now(), checked = since;
    for (;;) {
        if (skip_done(&r))
            return 0;
        uint32_t seen = shmseg_doorbell(c);
        int sent = send_some(&r);
        if (sent < 0)
            return sent;
        int got = recv_some(&r);
        if (got < 0)
            return got;
        if (sent || got) {
            spins = 0;
            continue;
        }
        if (keep_spinning(&spins))
            continue;
        double now = coll_now();
        if (spins == SPINS + YIELDS)
            since = now;           /* the stall began */
        if (now - checked >= CHECK_MS / 1000.0) {
            checked = now;
            int rc = check_stall(&r, since);
            if (rc < 0)
                return rc;
            if (rc > 0)
                continue;
        }
        stall(&r, seen);
        spins = SPINS + YIELDS + 1;
    }
}
