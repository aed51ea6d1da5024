/* The worker's life and its conversation with ternd: the socket (and a new
 * one after a refused handshake), the event loop, and what it does with
 * ternd's messages: launches, kills, signals, notices. What it sends is
 * worker/report.c. */
#include "worker/worker.h"

#include "common/clock.h"
#include "common/curve.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/wire.h"
#include "common/zmonitor.h"
#include "worker/launch.h"
#include "worker/metrics.h"
#include "worker/orphans.h"
#include "worker/preempt.h"
#include "worker/ranks.h"
#include "worker/report.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#define REGISTER_RETRY_MS 200
#define SHUTDOWN_GRACE_MS 3000

/* The socket to ternd (and its monitor). */
static int scheduler_connect(worker *w)
{
    w->sock = zmq_socket(w->zctx, ZMQ_DEALER);
    if (!w->sock) {
        log_err("cannot create socket: %s", zmq_strerror(errno));
        return -1;
    }
    int one = 1, ivl = 100, ivl_max = 2000;
    wire_socket_defaults(w->sock);
    zmq_setsockopt(w->sock, ZMQ_ROUTING_ID, w->opt.name, strlen(w->opt.name));
    /* Queue nothing for a scheduler that is away: heartbeats carry the whole
     * state, so stale ones are worth nothing when it returns. */
    zmq_setsockopt(w->sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(w->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(w->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    if (w->server_pub[0] && curve_client(w->sock, &w->key, w->server_pub) < 0) {
        log_err("cannot set up CURVE: %s", zmq_strerror(errno));
        return -1;
    }
    w->mon = zmonitor_open(w->zctx, w->sock, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    if (zmq_connect(w->sock, w->opt.scheduler) < 0) {
        log_err("cannot connect to %s: %s", w->opt.scheduler, zmq_strerror(errno));
        return -1;
    }
    return 0;
}

static void scheduler_disconnect(worker *w, int linger)
{
    if (w->mon)
        zmq_close(w->mon);
    if (w->sock) {
        zmq_setsockopt(w->sock, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(w->sock);
    }
    w->mon = w->sock = NULL;
}

int worker_start(worker *w)
{
    char err[512];
    w->topo = topo_load(w->opt.topology_xml, w->opt.gpus, err, sizeof err);
    if (!w->topo) {
        log_err("%s", err);
        return -1;
    }
    if (asprintf(&w->opt.id, "%s@%s", w->opt.name, w->opt.scheduler) < 0) {
        w->opt.id = NULL;
        log_err("out of memory");
        return -1;
    }
    int orphans = worker_kill_orphans(w->opt.id);
    if (orphans > 0)
        log_warn("node=%s: killed %d processes an earlier worker of this node left running",
                 w->opt.name, orphans);
    if (!w->opt.addr) {
        /* What ranks on other nodes use to reach this one. */
        char addr[64];
        netaddr_route_to(w->opt.scheduler, addr, sizeof addr);
        w->opt.addr = strdup(addr);
    }
    if (getrandom(&w->incarnation, sizeof w->incarnation, 0) != sizeof w->incarnation)
        w->incarnation = (uint64_t)clock_wall_ms() ^ (uint64_t)getpid() << 32;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    w->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

    w->zctx = zmq_ctx_new();
    if (w->opt.key_path) {
        char err[512];
        if (curve_key_load(w->opt.key_path, &w->key, err, sizeof err) < 0 ||
            curve_public_read(w->opt.server_key, w->server_pub, err, sizeof err) < 0) {
            log_err("%s", err);
            return -1;
        }
    }
    if (scheduler_connect(w) < 0)
        return -1;
    if (w->opt.notice_url) {
        if (worker_watch_notices(w) < 0)
            return -1;
        log_info("watching %s for spot notices every %u ms", w->opt.notice_url,
                 w->opt.notice_poll_ms);
    }
    log_info("node=%s addr=%s cpus=%u gpus=%zu numa=%u scheduler=%s%s", w->opt.name,
             w->opt.addr, w->opt.cpus ? w->opt.cpus : topo_npus(w->topo), topo_ngpus(w->topo),
             topo_nnuma(w->topo), w->opt.scheduler,
             topo_is_this_system(w->topo) ? "" : " (topology from file: ranks not bound)");
    w->heartbeat_ms = 1000;
    return 0;
}

/* ternd has recorded the exits it names (forget them), or has lost this
 * node (register again). */
static void on_heartbeat_ack(worker *w, const Tern__HeartbeatAck *ack, int64_t now)
{
    if (ack->reregister || ack->scheduler_incarnation != w->sched_incarnation) {
        log_info("scheduler asks this node to register again");
        w->registered = false;
        w->next_register = now;
        return;
    }
    for (size_t i = 0; i < ack->n_forget; i++)
        worker_forget(w, ack->forget[i]->job_id, ack->forget[i]->attempt, ack->forget[i]->step);
}

/* Step 0: the attempt and every step of it; k: that step. The job's
 * preempt signal is a warning (worker_warn). */
static void on_kill(worker *w, const Tern__Kill *k)
{
    for (wattempt *a = w->attempts; a; a = a->next)
        if (a->job_id == k->job_id && a->attempt == k->attempt &&
            (k->step == 0 || a->step == k->step)) {
            if (k->signal == a->preempt_signal)
                worker_warn(w, a, k->signal, k->grace_ms);
            else
                worker_kill(w, a, k->signal, k->grace_ms);
        }
}

/* The warning goes to the batch script and to its steps' tasks. */
static void on_signal(worker *w, const Tern__Signal *sg)
{
    log_info("job=%llu attempt=%u: signal %d", (unsigned long long)sg->job_id, sg->attempt,
             sg->signal);
    for (wattempt *a = w->attempts; a; a = a->next)
        if (a->job_id == sg->job_id && a->attempt == sg->attempt && !a->one_process)
            worker_signal(a, sg->signal);
}

/* Returns -1 when the worker must stop (registration refused). */
static int handle(worker *w, Tern__Envelope *env)
{
    int64_t now = clock_mono_ms();
    w->last_heard = now;
    w->fenced = false;
    switch (env->body_case) {
    case TERN__ENVELOPE__BODY_REGISTERED:
        if (!w->registered)
            log_info("registered with scheduler");
        w->registered = true;
        w->sched_incarnation = env->registered->scheduler_incarnation;
        if (env->registered->heartbeat_ms >= 10 && env->registered->heartbeat_ms <= 600000)
            w->heartbeat_ms = env->registered->heartbeat_ms;
        w->next_heartbeat = now + w->heartbeat_ms;
        break;
    case TERN__ENVELOPE__BODY_HEARTBEAT_ACK:
        on_heartbeat_ack(w, env->heartbeat_ack, now);
        break;
    case TERN__ENVELOPE__BODY_LAUNCH:
        worker_launch(w, env->launch);
        break;
    case TERN__ENVELOPE__BODY_KILL:
        on_kill(w, env->kill);
        break;
    case TERN__ENVELOPE__BODY_SIGNAL:
        on_signal(w, env->signal);
        break;
    case TERN__ENVELOPE__BODY_NOTICE:
        worker_notice(w, env->notice->deadline_ms,
                      env->notice->source ? env->notice->source : "notice from the scheduler");
        break;
    case TERN__ENVELOPE__BODY_ERROR:
        log_err("scheduler: %s", env->error->message);
        if (!w->registered && strstr(env->error->message, "registration refused"))
            return -1;
        break;
    default:
        log_warn("unexpected message type %d from scheduler", (int)env->body_case);
        break;
    }
    return 0;
}

static void drain(worker *w)
{
    for (;;) {
        Tern__Envelope *env;
        char err[256];
        int rc = wire_recv(w->sock, false, ZMQ_DONTWAIT, NULL, &env, err, sizeof err);
        if (rc == -1)
            return;
        if (rc == -2) {
            log_warn("from scheduler: %s", err);
            continue;
        }
        int stop = handle(w, env);
        wire_free(env);
        if (stop < 0) {
            w->stop = true;
            return;
        }
    }
}

static void read_signals(worker *w)
{
    struct signalfd_siginfo si;
    while (read(w->sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
            worker_reap(w);
        } else if (si.ssi_signo == SIGTERM && w->opt.spot && !w->leaving) {
            /* A spot machine being shut down: its jobs checkpoint first. */
            char src[64];
            snprintf(src, sizeof src, "SIGTERM to the worker of a spot node");
            w->leaving = true;
            worker_notice(w, clock_wall_ms() + (int64_t)w->opt.sigterm_notice_s * 1000, src);
        } else if (!w->stop) {
            log_info("signal %d: stopping ranks and leaving", (int)si.ssi_signo);
            w->stop = true;
        }
    }
}

/* Stops every rank (SIGTERM, then SIGKILL) and reports their exits. */
static void shutdown_ranks(worker *w)
{
    for (wattempt *a = w->attempts; a; a = a->next)
        worker_kill(w, a, SIGTERM, SHUTDOWN_GRACE_MS);
    int64_t until = clock_mono_ms() + SHUTDOWN_GRACE_MS + 2000;
    while (worker_running_ranks(w) > 0 && clock_mono_ms() < until) {
        zmq_pollitem_t item = { NULL, w->sigfd, ZMQ_POLLIN, 0 };
        zmq_poll(&item, 1, 100);
        read_signals(w);
        worker_kill_timers(w, clock_mono_ms());
    }
    if (w->registered)
        worker_heartbeat(w);
}

#define HANDSHAKE_RETRY_MS 5000

/* ternd refused the handshake: said once a minute (libzmq keeps retrying,
 * and an admin may add the key meanwhile). */
static void handshake_event(worker *w)
{
    uint32_t value = 0;
    int ev = zmonitor_event(w->mon, &value);
    int64_t now = clock_mono_ms();
    if (!ev)
        return;
    /* ZeroMQ does not try a refused handshake again: a new socket will,
     * in case the key has been authorized meanwhile. */
    w->reconnect_at = now + HANDSHAKE_RETRY_MS;
    if (w->refused_logged && now - w->refused_logged < 60000)
        return;
    char what[600], line[1024];
    snprintf(what, sizeof what, "node=%s: the scheduler at %s", w->opt.name, w->opt.scheduler);
    log_err("%s", zmonitor_handshake_error(ev, value, what, w->server_pub[0], line, sizeof line));
    w->refused_logged = now;
}

/* Does what is due at 'now' (kill timers, housekeeping, metrics) and
 * returns the ms until the loop next has work, at least 0. */
static int64_t due_work(worker *w, int64_t now)
{
    int64_t due = w->registered ? w->next_heartbeat : w->next_register;
    int64_t timeout = due - now;
    int64_t kt = worker_kill_timers(w, now);
    if (kt < timeout)
        timeout = kt;
    int64_t ft = worker_housekeeping(w, now);
    if (ft < timeout)
        timeout = ft;
    int64_t mt = wmetrics_tick(w, now);
    if (mt < timeout)
        timeout = mt;
    return timeout < 0 ? 0 : timeout;
}

/* A new socket when a refused handshake's wait is over, then the Register
 * or Heartbeat that is due. Returns -1 when no new socket could be made. */
static int reconnect_and_send(worker *w)
{
    int64_t now = clock_mono_ms();
    if (w->reconnect_at && now >= w->reconnect_at) {
        w->reconnect_at = 0;
        scheduler_disconnect(w, 0);
        if (scheduler_connect(w) < 0)
            return -1;
    }
    if (!w->registered && now >= w->next_register) {
        worker_register(w);
        w->next_register = now + REGISTER_RETRY_MS;
    } else if (w->registered && now >= w->next_heartbeat) {
        worker_heartbeat(w);
        w->next_heartbeat = now + w->heartbeat_ms;
    }
    return 0;
}

int worker_run(worker *w)
{
    int rc = 0;
    while (!w->stop) {
        int64_t timeout = due_work(w, clock_mono_ms());
        zmq_pollitem_t items[4] = {
            { w->sock, 0, ZMQ_POLLIN, 0 },
            { NULL, w->sigfd, ZMQ_POLLIN, 0 },
            { w->mon, 0, w->mon ? ZMQ_POLLIN : 0, 0 },
            { NULL, w->watch ? notice_watch_fd(w->watch) : -1, ZMQ_POLLIN, 0 },
        };
        if (zmq_poll(items, w->watch ? 4 : 3, (long)timeout) < 0 && errno != EINTR) {
            log_err("poll: %s", zmq_strerror(errno));
            rc = -1;
            break;
        }
        if (items[1].revents & ZMQ_POLLIN)
            read_signals(w);
        notice nt;
        if (items[2].revents & ZMQ_POLLIN)
            handshake_event(w);
        if (w->watch && (items[3].revents & ZMQ_POLLIN) && notice_watch_take(w->watch, &nt))
            worker_notice(w, nt.deadline_ms, nt.source);
        if (w->leaving && worker_running_ranks(w) == 0) {
            log_info("spot node leaving: no rank left");
            break;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            drain(w);
            if (w->stop && !w->registered) {
                rc = -1;
                break;
            }
        }
        if (reconnect_and_send(w) < 0) {
            rc = -1;
            break;
        }
    }
    shutdown_ranks(w);
    return rc;
}

void worker_finish(worker *w)
{
    scheduler_disconnect(w, 500);
    if (w->zctx)
        zmq_ctx_term(w->zctx);
    notice_watch_stop(&w->watch);
    worker_attempts_free(w);
    topo_destroy(&w->topo);
    if (w->sigfd >= 0)
        close(w->sigfd);
}
