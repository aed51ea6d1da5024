#include "bench/lib/nodesim.h"

#include "bench/lib/benchlib.h"
#include "bench/lib/simcluster.h"
#include "common/clock.h"
#include "common/wire.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <zmq.h>

#define REGISTER_RETRY_MS 200      /* as worker/agent.c */
#define SIM_NICS 4

typedef struct sim_node {
    void *sock;
    char name[16];
    uint64_t incarnation, seq, hb_seq;
    int64_t hb_sent_us, next_us;
    bool registered;
} sim_node;

static volatile sig_atomic_t sim_stop;

static void on_term(int sig)
{
    (void)sig;
    sim_stop = 1;
}

/* The parts a NodeInfo points to, on the sender's stack. */
typedef struct sim_info_parts {
    Tern__Gpu gpus[SIM_NODE_GPUS], *gp[SIM_NODE_GPUS];
    Tern__Nic nics[SIM_NICS], *np[SIM_NICS];
    char pci[SIM_NODE_GPUS][24], nicpci[SIM_NICS][24], nicname[SIM_NICS][16];
    char label[32], *labels[1];
} sim_info_parts;

static void sim_info_gpus(uint32_t idx, sim_info_parts *p)
{
    static const char *const bus[SIM_NODE_GPUS] = { "18", "2a", "3a", "5d",
                                                    "9a", "ab", "ba", "db" };
    const int32_t *islands = simcluster_islands(idx);
    for (int g = 0; g < SIM_NODE_GPUS; g++) {
        Tern__Gpu *gpu = &p->gpus[g];
        tern__gpu__init(gpu);
        snprintf(p->pci[g], sizeof p->pci[g], "00000000:%s:00.0", bus[g]);
        gpu->index = (uint32_t)g;
        gpu->name = "NVIDIA H100 80GB HBM3";
        gpu->pci_bus_id = p->pci[g];
        gpu->numa = g / 4;
        gpu->memory_mb = 81559;
        gpu->island = islands ? islands[g] : 0;
        p->gp[g] = gpu;
    }
}

static void sim_info_nics(sim_info_parts *p)
{
    static const char *const nicbus[SIM_NICS] = { "1a", "3c", "9c", "bc" };
    for (int k = 0; k < SIM_NICS; k++) {
        tern__nic__init(&p->nics[k]);
        snprintf(p->nicname[k], sizeof p->nicname[k], "mlx5_%d", k & 3);
        snprintf(p->nicpci[k], sizeof p->nicpci[k], "0000:%s:00.0", nicbus[k]);
        p->nics[k].name = p->nicname[k];
        p->nics[k].pci_bus_id = p->nicpci[k];
        p->nics[k].numa = k / 2;
        p->np[k] = &p->nics[k];
    }
}

/* NodeInfo of simulated node 'idx' (1-based), as a worker on an 8-GPU
 * server sends it. */
static void sim_info(uint32_t idx, const char *name, Tern__NodeInfo *info, sim_info_parts *p)
{
    sim_info_gpus(idx, p);
    sim_info_nics(p);
    snprintf(p->label, sizeof p->label, "switch=sw%03u", simcluster_switch(idx));
    p->labels[0] = p->label;
    tern__node_info__init(info);
    info->name = (char *)name;
    info->addr = "127.0.0.1";
    info->cpus = SIM_NODE_CPUS;
    info->cores = SIM_NODE_CPUS / 2;
    info->numa_nodes = 2;
    info->memory_mb = 2064000;
    info->n_gpus = SIM_NODE_GPUS;
    info->gpus = p->gp;
    info->n_nics = SIM_NICS;
    info->nics = p->np;
    info->n_labels = 1;
    info->labels = p->labels;
    info->pid = (uint32_t)getpid();
}

static void sim_send_register(sim_node *n, uint32_t idx, nodesim_stats *st)
{
    sim_info_parts parts;
    Tern__NodeInfo info;
    sim_info(idx, n->name, &info, &parts);
    if (!st->info_bytes)
        st->info_bytes = tern__node_info__get_packed_size(&info);
    Tern__Envelope env;
    Tern__Register reg = TERN__REGISTER__INIT;
    wire_init(&env, ++n->seq);
    reg.node = &info;
    reg.incarnation = n->incarnation;
    env.body_case = TERN__ENVELOPE__BODY_REG;
    env.reg = &reg;
    if (wire_send(n->sock, NULL, &env, ZMQ_DONTWAIT) == 0)
        st->registers_sent++;
}

static void sim_send_heartbeat(sim_node *n, nodesim_stats *st)
{
    Tern__Envelope env;
    Tern__Heartbeat hb = TERN__HEARTBEAT__INIT;
    wire_init(&env, ++n->seq);
    hb.incarnation = n->incarnation;
    env.body_case = TERN__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    if (wire_send(n->sock, NULL, &env, ZMQ_DONTWAIT) == 0) {
        st->heartbeats_sent++;
        n->hb_seq = n->seq;
        n->hb_sent_us = clock_mono_us();
    }
}

static void sim_handle_ack(sim_node *n, const Tern__Envelope *env, nodesim_stats *st,
                           int64_t now)
{
    st->acks++;
    if (env->seq == n->hb_seq && n->hb_sent_us) {
        int64_t b = (now - n->hb_sent_us) / 100;
        st->rtt[b < NODESIM_RTT_BUCKETS ? b : NODESIM_RTT_BUCKETS - 1]++;
        n->hb_sent_us = 0;
    }
    if (env->heartbeat_ack->reregister) {
        st->reregister++;
        if (n->registered)
            st->registered--;
        n->registered = false;
        n->next_us = now;
    }
}

static void sim_error(nodesim_stats *st, const char *what)
{
    if (!st->errors++)
        snprintf(st->error, sizeof st->error, "%s", what);
}

static void sim_handle(sim_node *n, Tern__Envelope *env, nodesim_stats *st, uint64_t *rng)
{
    int64_t now = clock_mono_us();
    switch (env->body_case) {
    case TERN__ENVELOPE__BODY_REGISTERED: {
        uint32_t ms = env->registered->heartbeat_ms >= 10 ? env->registered->heartbeat_ms
                                                         : NODESIM_HEARTBEAT_MS;
        if (!n->registered)
            st->registered++;
        n->registered = true;
        /* (the first heartbeat somewhere in the interval: see nodesim.h) */
        n->next_us = now + (int64_t)(bench_rng(rng) % ((uint64_t)ms * 1000));
        break;
    }
    case TERN__ENVELOPE__BODY_HEARTBEAT_ACK:
        sim_handle_ack(n, env, st, now);
        break;
    case TERN__ENVELOPE__BODY_ERROR:
        sim_error(st, env->error->message);
        break;
    default:
        break;
    }
}

static void sim_drain(sim_node *n, nodesim_stats *st, uint64_t *rng)
{
    for (;;) {
        int ev = 0;
        size_t len = sizeof ev;
        if (zmq_getsockopt(n->sock, ZMQ_EVENTS, &ev, &len) < 0 || !(ev & ZMQ_POLLIN))
            return;
        Tern__Envelope *env;
        char err[256];
        int rc = wire_recv(n->sock, false, ZMQ_DONTWAIT, NULL, &env, err, sizeof err);
        if (rc == -1)
            return;
        if (rc == -2) {
            sim_error(st, err);
            continue;
        }
        sim_handle(n, env, st, rng);
        wire_free(env);
    }
}

/* Node i of 'count' on its own DEALER, its socket's fd in 'ep'. */
static void sim_node_open(sim_node *n, void *ctx, int ep, uint32_t i, uint32_t count,
                          const char *endpoint, const nodesim_auth *auth)
{
    int one = 1, ivl = 100, ivl_max = 2000, fd;
    size_t len = sizeof fd;
    if (!(n->sock = zmq_socket(ctx, ZMQ_DEALER)))
        bench_die("simulator: socket %u of %u: %s", i + 1, count, zmq_strerror(errno));
    wire_socket_defaults(n->sock);
    zmq_setsockopt(n->sock, ZMQ_ROUTING_ID, n->name, strlen(n->name));
    zmq_setsockopt(n->sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(n->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(n->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    if (auth->server_pub && auth->server_pub[0] &&
        curve_client(n->sock, auth->worker, auth->server_pub) < 0)
        bench_die("simulator: CURVE: %s", zmq_strerror(errno));
    if (zmq_connect(n->sock, endpoint) < 0)
        bench_die("simulator: connect %s: %s", endpoint, zmq_strerror(errno));
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
    if (zmq_getsockopt(n->sock, ZMQ_FD, &fd, &len) < 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        bench_die("simulator: socket %u: %s", i + 1, strerror(errno));
}

/* Sends what is due: a Register until registered, then Heartbeats. */
static void sim_timers(sim_node *nodes, uint32_t first, uint32_t count, nodesim_stats *st,
                       uint64_t *rng, int64_t now)
{
    for (uint32_t i = 0; i < count; i++) {
        sim_node *n = &nodes[i];
        if (now < n->next_us)
            continue;
        if (!n->registered) {
            sim_send_register(n, first + i, st);
            n->next_us = now + REGISTER_RETRY_MS * 1000;
        } else {
            sim_send_heartbeat(n, st);
            n->next_us = now + NODESIM_HEARTBEAT_MS * 1000;
        }
        sim_drain(n, st, rng);   /* a send may have taken the signal */
    }
}

/* A simulator process: nodes first..first+count-1, until SIGTERM. */
static void sim_main(const char *endpoint, uint32_t first, uint32_t count,
                     const nodesim_auth *auth, nodesim_stats *st)
{
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    bench_raise_nofile();
    uint64_t rng = 0x5eed0000ull + first;
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_IO_THREADS, 1);
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)count + 64);
    sim_node *nodes = calloc(count, sizeof *nodes);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!ctx || !nodes || ep < 0)
        bench_die("simulator: cannot start");
    st->nodes = count;
    int64_t now = clock_mono_us();
    for (uint32_t i = 0; i < count; i++) {
        sim_node *n = &nodes[i];
        snprintf(n->name, sizeof n->name, "node%05u", first + i);
        n->incarnation = bench_rng(&rng);
        n->next_us = now;
        sim_node_open(n, ctx, ep, i, count, endpoint, auth);
        st->sockets = i + 1;
    }
    struct epoll_event evs[512];
    int64_t next_scan = 0;
    while (!sim_stop) {
        now = clock_mono_us();
        if (now >= next_scan) {
            /* Timers: a scan every 2 ms costs less than a heap here. */
            sim_timers(nodes, first, count, st, &rng, now);
            next_scan = now + 2000;
        }
        int k = epoll_wait(ep, evs, 512, 2);
        for (int e = 0; e < k; e++)
            sim_drain(&nodes[evs[e].data.u32], st, &rng);
    }
    _exit(0);   /* the kernel closes 2 fds a node faster than zmq_ctx_term */
}

pid_t nodesim_spawn(const char *endpoint, uint32_t first, uint32_t count,
                    const nodesim_auth *auth, nodesim_stats *st)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        bench_die("fork: %s", strerror(errno));
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        sim_main(endpoint, first, count, auth, st);
    }
    return pid;
}
