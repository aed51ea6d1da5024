/* ternd's event loop and its group commit (loop.h). */
#include "scheduler/loop.h"

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/logfold.h"
#include "common/ratelimit.h"
#include "scheduler/agents.h"
#include "scheduler/attempt.h"
#include "scheduler/auth.h"
#include "scheduler/jobs.h"
#include "scheduler/metrics.h"
#include "scheduler/nodes.h"
#include "scheduler/outbox.h"
#include "scheduler/queue.h"
#include "scheduler/requests.h"
#include "scheduler/schedule.h"
#include "scheduler/waiters.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_PER_TURN 4096
#define SWEEP_MS 250
#define POLL_MS 100

static int node_cb(void *arg, const store_node *row)
{
    sched *s = arg;
    node *n = sched_node(s, row->name);
    if (!n && !(n = sched_node_add(s, row->name)))
        return -1;
    if (!n->connected) {
        /* Live registrations are newer than the row; others come from it. */
        if (n->info)
            tern__node_info__free_unpacked(n->info, NULL);
        n->info = row->info_len ? tern__node_info__unpack(NULL, row->info_len, row->info) : NULL;
        n->last_seen = clock_mono_ms();
        node_info_apply(s, n);
    }
    if (node_state_parse(row->state, &n->state) < 0)
        n->state = NODE_UP;
    snprintf(n->reason, sizeof n->reason, "%s", row->reason ? row->reason : "");
    n->drained = row->drain_reason != NULL;
    snprintf(n->drain_reason, sizeof n->drain_reason, "%s",
             row->drain_reason ? row->drain_reason : "");
    return 0;
}

static int job_cb(void *arg, const store_job *row)
{
    sched *s = arg;
    Tern__JobSpec *spec = tern__job_spec__unpack(NULL, row->spec_len, row->spec);
    if (!spec) {
        log_err("job=%llu: stored specification unreadable; skipped",
                (unsigned long long)row->id);
        return 0;
    }
    job *j = sched_job_add(s, row->id, spec);
    if (!j) {
        tern__job_spec__free_unpacked(spec, NULL);
        return -1;
    }
    job_load(j, row);

    store_attempt a = { 0 };
    bool placed = j->state != JOB_PENDING &&
                  store_attempt_get(s->db, j->id, j->attempt, &a) == 1 &&
                  (j->placement = tern__placement__unpack(NULL, a.placement_len, a.placement));
    free((void *)a.placement);
    if (!job_state_final(j->state))
        account_count_job(s, j, 1);
    if (j->state == JOB_PENDING) {
        ;   /* queued once every job is loaded: running array tasks count first */
    } else if (job_live(j)) {
        if (!placed || attempt_bind(s, j) < 0) {
            log_err("job=%llu: placement of attempt %u lost; marked failed",
                    (unsigned long long)j->id, j->attempt);
            account_count_job(s, j, -1);
            j->state = JOB_FAILED;
            snprintf(j->reason, sizeof j->reason, "placement lost");
            return 0;
        }
        job_list_push(&s->active, j);
        account_run(s, j, 1);
        queue_note_running(s, j);
        j->launched_mono = clock_mono_ms();
        if (j->state != JOB_RUNNING) {
            j->ending = true;
            j->end_state = (enum job_state)a.state;
            j->warned = j->end_state == JOB_PREEMPTED;
            /* The deadline comes back with the node's notice (apply_notice). */
            if (j->warned)
                j->end_signal = j->spec->preempt_signal ? j->spec->preempt_signal : SIGUSR1;
            if (!job_state_final(j->end_state) && j->end_state != JOB_PREEMPTED)
                j->end_state = JOB_FAILED;
        }
    }
    return 0;
}

int sched_reload(sched *s)
{
    sched_jobs_clear(s);
    auth_forget_jobs(s);
    /* Every worker registers again, in full: what it told ternd in a turn
     * that was rolled back is forgotten with the turn. */
    for (size_t i = 0; i < s->nnodes; i++) {
        node *n = s->nodes[i];
        n->connected = false;
        n->cpus_used = 0;
        n->nattempts = 0;
        memset(n->gpu_used, 0, sizeof n->gpu_used);
    }
    if (accounts_load(s) != 0 || store_nodes_load(s->db, node_cb, s) != 0 ||
        store_jobs_load(s->db, job_cb, s) != 0) {
        log_err("cannot load state: %s", store_errmsg(s->db));
        return -1;
    }
    queue_count_arrays(s);
    for (size_t i = 0; i < s->njobs; i++)
        if (s->jobs[i] && s->jobs[i]->state == JOB_PENDING)
            queue_add(s, s->jobs[i]);
    log_info("state loaded: %zu jobs (%zu pending, %zu running), %zu nodes", s->njobs,
             s->pending.count, s->active.count, s->nnodes);
    s->dirty = true;
    return 0;
}

/* "tcp://127.0.0.1:0" asks for an ephemeral port, as "tcp://127.0.0.1:*". */
static int bind_endpoint(void *sock, const char *ep, char *bound, size_t len)
{
    char buf[512];
    size_t l = strlen(ep);
    if (l >= sizeof buf)
        return -1;
    memcpy(buf, ep, l + 1);
    if (l > 2 && strcmp(buf + l - 2, ":0") == 0)
        buf[l - 1] = '*';
    if (zmq_bind(sock, buf) < 0)
        return -1;
    size_t blen = len;
    return zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, bound, &blen);
}

static void *router(sched *s, bool workers)
{
    void *sock = zmq_socket(s->zctx, ZMQ_ROUTER);
    if (!sock)
        return NULL;
    int one = 1;
    /* A whole cluster connects at once after a restart: a listen queue of
     * ZeroMQ's default 100 drops most of 10,000 and they retry for seconds. */
    int backlog = 4096;
    wire_socket_defaults(sock);
    zmq_setsockopt(sock, ZMQ_BACKLOG, &backlog, sizeof backlog);
    if (auth_socket(s, sock, workers) < 0) {
        zmq_close(sock);
        return NULL;
    }
    if (workers) {
        /* Reach workers by node name, and let a restarted worker take its
         * name over from its dead predecessor's connection. A turn may place
         * thousands of jobs on one node: queue their launches, never drop. */
        int hwm = 1000000;
        zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
        if (!s->auth) {
            zmq_setsockopt(sock, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
        } else {
            /* With keys, a connection must not take a node's name (and its
             * launches) from the one holding it: a dead predecessor's
             * connection is dropped by TCP keepalives instead (the kernel's,
             * no message of ours), and the restarted worker's reconnects
             * get in then. */
            int idle = (int)(s->opt.node_timeout_ms / 1000), intvl = 1, cnt = 3;
            idle = idle < 1 ? 1 : idle;
            zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE, &one, sizeof one);
            zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_IDLE, &idle, sizeof idle);
            zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_INTVL, &intvl, sizeof intvl);
            zmq_setsockopt(sock, ZMQ_TCP_KEEPALIVE_CNT, &cnt, sizeof cnt);
        }
    }
    return sock;
}

/* SIGTERM and SIGINT, blocked, come through the returned descriptor (-1:
 * none could be made); SIGPIPE is ignored. */
static int stop_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Writes s->opt.endpoints_file: the endpoints bound, the metrics URL, the
 * server key and our pid. Returns 0, or -1 logged. */
static int write_endpoints(sched *s, const char *cep, const char *wep)
{
    char buf[1700];
    const char *murl = metrics_url(s);
    int n = snprintf(buf, sizeof buf, "client=%s\nworker=%s\n%s%s%sserver_key=%s\npid=%d\n", cep,
                     wep, murl ? "metrics=" : "", murl ? murl : "", murl ? "\n" : "",
                     auth_public(s), (int)getpid());
    if (fs_write_atomic(s->opt.endpoints_file, buf, (size_t)n, 0600) < 0) {
        log_err("cannot write %s: %s", s->opt.endpoints_file, strerror(errno));
        return -1;
    }
    return 0;
}

int sched_start(sched *s)
{
    char err[1024];
    if (fs_mkdir_p(s->opt.log_dir, 0711) < 0) {
        log_err("log directory %s: %s", s->opt.log_dir, strerror(errno));
        return -1;
    }
    s->db = store_open(s->opt.state_path, err, sizeof err);
    if (!s->db) {
        log_err("%s", err);
        return -1;
    }
    if (getrandom(&s->incarnation, sizeof s->incarnation, 0) != sizeof s->incarnation)
        s->incarnation = (uint64_t)clock_wall_ms() ^ (uint64_t)getpid() << 32;
    s->started_mono = clock_mono_ms();
    s->rng = (uint32_t)s->incarnation;
    if (!(s->node_by_name = strmap_new()))
        return -1;

    s->sigfd = stop_signals();
    s->zctx = zmq_ctx_new();
    if (!s->zctx || auth_start(s) < 0)
        return -1;
    if (s->opt.rate_limit &&
        !(s->limits = ratelimit_new(s->opt.rate_limit, 2.0 * s->opt.rate_limit)))
        return -1;
    if (!(s->folds = logfold_new()))
        return -1;
    s->clients = router(s, false);
    s->workers = router(s, true);
    char cep[512], wep[512];
    if (!s->clients || !s->workers ||
        bind_endpoint(s->clients, s->opt.client_ep, cep, sizeof cep) < 0) {
        log_err("cannot bind client endpoint %s: %s", s->opt.client_ep, zmq_strerror(errno));
        return -1;
    }
    const char *cport = strrchr(cep, ':');
    s->client_port = cport ? (uint32_t)strtoul(cport + 1, NULL, 10) : 0;
    if (bind_endpoint(s->workers, s->opt.worker_ep, wep, sizeof wep) < 0) {
        log_err("cannot bind worker endpoint %s: %s", s->opt.worker_ep, zmq_strerror(errno));
        return -1;
    }
    if (metrics_start(s) < 0)
        return -1;
    if (sched_reload(s) < 0)
        return -1;
    metrics_tick(s, clock_mono_ms());   /* the first snapshot, before anyone is told */
    if (s->opt.endpoints_file && write_endpoints(s, cep, wep) < 0)
        return -1;
    log_info("serving clients on %s, workers on %s, state %s", cep, wep, s->opt.state_path);
    if (!s->auth)
        log_warn("authentication is off (no --key): every client is trusted as what it says, "
                 "and as an admin");
    return 0;
}

static void drain(sched *s, void *sock, bool clients)
{
    int64_t now = clock_mono_ms();
    /* After a failed write the turn is doomed: leave the rest for the next. */
    for (int i = 0; i < MAX_PER_TURN && !s->tx_failed; i++) {
        wire_peer peer;
        Tern__Envelope *env;
        char err[256];
        int rc = wire_recv(sock, true, ZMQ_DONTWAIT, &peer, &env, err, sizeof err);
        if (rc == -1)
            return;
        if (rc == -2 && clients) {
            requests_malformed(s, &peer, err, now);
            continue;
        }
        if (rc == -2) {
            agents_malformed(s, &peer, err, now);
            continue;
        }
        if (clients)
            requests_handle(s, &peer, env, now);
        else
            agents_handle(s, &peer, env);
        wire_free(env);
    }
}

static void sweep(sched *s, int64_t now)
{
    for (size_t i = 0; i < s->nnodes && !s->tx_failed; i++) {
        node *n = s->nodes[i];
        if (n->state == NODE_DOWN) {
            /* Placed before a restart on a node that never came back. */
            if (n->nattempts)
                node_attempts_lost(s, n, n->reason);
            continue;
        }
        if (now - n->last_seen <= (int64_t)s->opt.node_timeout_ms)
            continue;
        char why[96];
        snprintf(why, sizeof why, "no heartbeat for %lld ms", (long long)(now - n->last_seen));
        sched_node_down(s, n, why);
    }
    attempt_time_limits(s, clock_wall_ms());
    waiters_expire(s, now);
    logfold_flush(s->folds, now);
}

int sched_run(sched *s)
{
    int64_t last_begin_err = 0;
    while (!s->stop) {
        zmq_pollitem_t items[4] = {
            { s->clients, 0, ZMQ_POLLIN, 0 },
            { s->workers, 0, ZMQ_POLLIN, 0 },
            { NULL, s->sigfd, ZMQ_POLLIN, 0 },
            { auth_zap(s), 0, ZMQ_POLLIN, 0 },
        };
        if (zmq_poll(items, auth_zap(s) ? 4 : 3, POLL_MS) < 0 && errno != EINTR) {
            log_err("poll: %s", zmq_strerror(errno));
            return -1;
        }
        if (items[2].revents & ZMQ_POLLIN) {
            struct signalfd_siginfo si;
            if (read(s->sigfd, &si, sizeof si) == sizeof si) {
                log_info("signal %d: shutting down (jobs keep running on their workers)",
                         (int)si.ssi_signo);
                s->stop = true;
                break;
            }
        }
        /* Handshakes wait for these answers: before the turn's work. */
        auth_serve(s);
        int64_t now = clock_mono_ms();
        if (store_begin(s->db) < 0) {
            if (now - last_begin_err > 1000) {
                log_err("cannot open a transaction: %s", store_errmsg(s->db));
                last_begin_err = now;
            }
            clock_sleep_ms(POLL_MS);
            continue;
        }
        s->tx_failed = false;
        metrics_turn_begin(s);
        drain(s, s->workers, false);
        drain(s, s->clients, true);
        if (now >= s->next_sweep) {
            sweep(s, now);
            s->next_sweep = now + SWEEP_MS;
        }
        /* A job that started may let an 'after' dependency go. */
        if ((s->dirty || (s->deps_dirty && s->held.count)) && !s->tx_failed) {
            int64_t t0 = clock_mono_us();
            sched_schedule(s);
            metrics_pass(s, (double)(clock_mono_us() - t0) / 1e6);
        }
        if (s->tx_failed || store_commit(s->db) < 0) {
            char why[512];
            snprintf(why, sizeof why, "%s", store_errmsg(s->db));
            log_err("state not saved, turn rolled back: %s", why);
            store_rollback(s->db);
            metrics_turn_rollback(s);
            outbox_fail(s, why);
            if (sched_reload(s) < 0) {
                log_err("cannot reload state; stopping");
                return -1;
            }
        }
        outbox_flush(s);
        metrics_tick(s, now);
    }
    return 0;
}

void sched_finish(sched *s)
{
    metrics_stop(s);
    if (s->clients)
        zmq_close(s->clients);
    if (s->workers)
        zmq_close(s->workers);
    auth_stop(s);
    ratelimit_destroy(&s->limits);
    logfold_destroy(&s->folds);
    if (s->zctx)
        zmq_ctx_term(s->zctx);
    sched_jobs_clear(s);
    for (size_t i = 0; i < s->nnodes; i++) {
        if (s->nodes[i]->info)
            tern__node_info__free_unpacked(s->nodes[i]->info, NULL);
        free(s->nodes[i]);
    }
    free(s->nodes);
    strmap_destroy(&s->node_by_name);
    strmap_destroy(&s->label_ids);
    for (size_t i = 0; i < s->nout; i++)
        free(s->out[i].data);
    free(s->out);
    free(s->waiters);
    store_close(&s->db);
    if (s->sigfd >= 0)
        close(s->sigfd);
}
