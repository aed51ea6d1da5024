/* bench/sched: how fast the scheduler decides, and what 10,000 nodes cost it.
 *
 * Placement rate: the real placement code (scheduler/placement.c) in this
 * process, on simulated clusters of 1,000 and 10,000 nodes of 8 GPUs and 64
 * CPUs (half with two NVLink islands of 4 GPUs, half with one island; 32
 * nodes to a switch). 100,000 jobs of 1 to 64 GPUs (1, 2, 4, 8 on one node;
 * 16, 32, 64 as 2, 4, 8 whole nodes) from a fixed-seed generator are placed
 * in FIFO order against a simulated clock: while the head of the queue fits
 * it starts, else the clock jumps to the next job's end and that job's GPUs
 * and CPUs come back. Every place_gang call is timed. Each size gets a time
 * budget; a size that runs out of it reports the jobs it got through.
 *
 * Heartbeats: a real ternd, and nodes simulated by forked processes (each
 * its own ZeroMQ context, one DEALER per node) that speak the worker
 * protocol as worker/agent.c does: Register with the node's NodeInfo until
 * Registered, then a Heartbeat with the incarnation every heartbeat_ms. Once
 * every node is registered, ternd's CPU time (utime + stime) over a 10 s
 * window and its resident memory, at 1,000 and at 10,000 nodes. The first
 * heartbeat of each node comes at a random point of its first interval, as
 * on a cluster whose workers started at different times. */
#include "bench/lib/benchlib.h"

#include "common/curve.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "scheduler/placement.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define NJOBS 100000
#define NODE_GPUS 8
#define NODE_CPUS 64
#define SWITCH_NODES 32
#define MAX_GANG 8
#define PLACE_BUDGET_S 25.0        /* per cluster size */

#define HEARTBEAT_MS 1000
#define REGISTER_RETRY_MS 200      /* as worker/agent.c */
#define WINDOW_S 10
#define SETTLE_S 2
#define NSIMS 5                    /* simulator processes at 10,000 nodes */
#define RTT_BUCKETS 10000          /* 0.1 ms each; the last: 1 s or more */

/* What part 2 started, for cleanup on every way out of the parent. */
/* Authentication on, as in every real cluster: the simulated nodes share a
 * worker key (set before the simulators fork). */
static curve_key g_worker_key;
static char g_server_pub[CURVE_Z85];

static pid_t g_parent, g_ternd, g_sims[NSIMS];
static char g_dir[256];

/* Async-signal-safe: kills what this program started, removes its directory. */
static void cleanup(void)
{
    if (getpid() != g_parent)
        return;
    for (int i = 0; i < NSIMS; i++)
        if (g_sims[i] > 0)
            kill(g_sims[i], SIGKILL);
    if (g_ternd > 0)
        kill(g_ternd, SIGKILL);
    for (int i = 0; i < NSIMS; i++)
        if (g_sims[i] > 0)
            waitpid(g_sims[i], NULL, 0);
    if (g_ternd > 0)
        waitpid(g_ternd, NULL, 0);
    if (g_dir[0]) {
        pid_t rm = fork();
        if (rm == 0) {
            execl("/bin/rm", "rm", "-rf", g_dir, (char *)NULL);
            _exit(127);
        }
        if (rm > 0)
            waitpid(rm, NULL, 0);
    }
}

static void on_fatal_signal(int sig)
{
    (void)sig;
    cleanup();
    _exit(1);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench-sched: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    cleanup();
    exit(1);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)   /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const int32_t two_islands[NODE_GPUS] = { 0, 0, 0, 0, 1, 1, 1, 1 };

/* ---- part 1: placement ----------------------------------------------------- */

typedef struct sim_job {
    uint32_t nodes, gpus_per_node, cpus_per_task;
    uint32_t duration;             /* simulated seconds */
    uint32_t node[MAX_GANG];
    uint8_t gpus[MAX_GANG];        /* mask of the GPUs it holds on node[k] */
} sim_job;

typedef struct ending {
    uint64_t at;
    uint32_t job;
} ending;

typedef struct place_result_row {
    size_t nodes, placed, failed, never;
    size_t gangs, gangs_one_switch;
    double ok_s, fail_s;           /* time inside place_gang */
    double p50, p99, max;          /* one successful decision, us */
    double fail_p50;
    uint64_t sim_seconds;
    bool budget_hit;
} place_result_row;

static void jobs_make(sim_job *jobs, size_t n)
{
    uint64_t seed = 0x7465726e;    /* "tern" */
    for (size_t i = 0; i < n; i++) {
        sim_job *j = &jobs[i];
        uint32_t r = (uint32_t)(rng_next(&seed) % 100), gpus;
        gpus = r < 30 ? 1 : r < 45 ? 2 : r < 60 ? 4 : r < 80 ? 8 : r < 90 ? 16 : r < 96 ? 32 : 64;
        j->nodes = gpus > NODE_GPUS ? gpus / NODE_GPUS : 1;
        j->gpus_per_node = gpus > NODE_GPUS ? NODE_GPUS : gpus;
        j->cpus_per_task = 1 + (uint32_t)(rng_next(&seed) % 4);
        j->duration = 60 + (uint32_t)(rng_next(&seed) % 3540);
    }
}

static void heap_push(ending *h, size_t *n, ending e)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2].at > e.at) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = e;
}

static ending heap_pop(ending *h, size_t *n)
{
    ending top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1].at < h[c].at)
            c++;
        if (h[c].at >= last.at)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = last;
    return top;
}

static void place_release(place_node *view, bool (*used)[NODE_GPUS], const sim_job *j)
{
    uint32_t cpus = j->gpus_per_node * j->cpus_per_task;
    for (uint32_t k = 0; k < j->nodes; k++) {
        place_node *v = &view[j->node[k]];
        v->cpus_used -= cpus;
        for (uint32_t g = 0; g < NODE_GPUS; g++)
            if (j->gpus[k] & (1u << g)) {
                used[j->node[k]][g] = false;
                v->gpus_free++;
            }
    }
}

static void place_take(place_node *view, bool (*used)[NODE_GPUS], sim_job *j,
                       const place_choice *c)
{
    uint32_t cpus = j->gpus_per_node * j->cpus_per_task;
    for (uint32_t k = 0; k < j->nodes; k++) {
        uint32_t i = c[k].node;
        place_node *v = &view[i];
        if (c[k].ngpus != j->gpus_per_node || v->cpus - v->cpus_used < cpus)
            die("placement chose node %s without room", v->name);
        j->node[k] = i;
        j->gpus[k] = 0;
        v->cpus_used += cpus;
        for (uint32_t g = 0; g < c[k].ngpus; g++) {
            uint32_t x = c[k].gpus[g];
            if (x >= NODE_GPUS || used[i][x])
                die("placement chose GPU %u of %s, which is taken", x, v->name);
            used[i][x] = true;
            v->gpus_free--;
            j->gpus[k] |= (uint8_t)(1u << x);
        }
    }
}

static void place_run(size_t nnodes, const sim_job *proto, place_result_row *row)
{
    place_node *view = calloc(nnodes, sizeof *view);
    bool (*used)[NODE_GPUS] = calloc(nnodes, sizeof *used);
    char (*names)[32] = calloc(nnodes, sizeof *names);
    sim_job *jobs = malloc(NJOBS * sizeof *jobs);
    ending *heap = malloc(NJOBS * sizeof *heap);
    double *ok_us = malloc(NJOBS * sizeof *ok_us), *fail_us = malloc(NJOBS * sizeof *fail_us);
    if (!view || !used || !names || !jobs || !heap || !ok_us || !fail_us)
        die("out of memory");
    memcpy(jobs, proto, NJOBS * sizeof *jobs);
    for (size_t i = 0; i < nnodes; i++) {
        snprintf(names[i], sizeof names[i], "node%05zu", i + 1);
        view[i] = (place_node){
            .name = names[i], .usable = true, .cpus = NODE_CPUS, .ngpus = NODE_GPUS,
            .gpu_used = used[i], .gpus_free = NODE_GPUS,
            .gpu_island = i % 2 ? two_islands : NULL,
            .group = (uint32_t)(i / SWITCH_NODES) + 1, .parts = 1,
        };
    }
    memset(row, 0, sizeof *row);
    row->nodes = nnodes;
    size_t nheap = 0, head = 0;
    uint64_t clock_s = 0;
    int64_t start = mono_ns(), budget = (int64_t)(PLACE_BUDGET_S * 1e9);
    place_choice choice[MAX_GANG];
    char why[256];
    while (head < NJOBS) {
        if ((head & 255) == 0 && mono_ns() - start > budget) {
            row->budget_hit = true;
            break;
        }
        sim_job *j = &jobs[head];
        place_request req = {
            .nodes = j->nodes, .tasks_per_node = j->gpus_per_node,
            .cpus_per_task = j->cpus_per_task, .gpus_per_node = j->gpus_per_node,
            .spot = PLACE_SPOT_NEVER,
        };
        int64_t t0 = mono_ns();
        enum place_result r = place_gang(&req, view, nnodes, choice, why, sizeof why);
        int64_t dt = mono_ns() - t0;
        if (r == PLACE_OK) {
            ok_us[row->placed++] = (double)dt / 1e3;
            row->ok_s += (double)dt / 1e9;
            place_take(view, used, j, choice);
            if (j->nodes > 1) {
                bool one = true;
                for (uint32_t k = 1; k < j->nodes; k++)
                    one &= view[j->node[k]].group == view[j->node[0]].group;
                row->gangs++;
                row->gangs_one_switch += one;
            }
            heap_push(heap, &nheap, (ending){ clock_s + j->duration, (uint32_t)head });
            head++;
            continue;
        }
        if (r == PLACE_NEVER)
            die("job %zu can never be placed on %zu nodes: %s", head, nnodes, why);
        if (row->failed < NJOBS)
            fail_us[row->failed] = (double)dt / 1e3;
        row->failed++;
        row->fail_s += (double)dt / 1e9;
        if (!nheap)
            die("job %zu waits on an idle cluster of %zu nodes: %s", head, nnodes, why);
        ending e = heap_pop(heap, &nheap);
        clock_s = e.at;
        place_release(view, used, &jobs[e.job]);
    }
    row->sim_seconds = clock_s;
    row->max = 0;
    for (size_t i = 0; i < row->placed; i++)
        if (ok_us[i] > row->max)
            row->max = ok_us[i];
    row->p50 = bench_percentile(ok_us, row->placed, 50);
    row->p99 = bench_percentile(ok_us, row->placed, 99);
    row->fail_p50 = bench_percentile(fail_us, row->failed < NJOBS ? row->failed : NJOBS, 50);
    free(view);
    free(used);
    free(names);
    free(jobs);
    free(heap);
    free(ok_us);
    free(fail_us);
}

static double place_rate(const place_result_row *r)
{
    double t = r->ok_s + r->fail_s;
    return t > 0 ? (double)r->placed / t : 0;
}

/* ---- part 2: heartbeats against ternd -------------------------------------- */

/* What a simulator process tells the parent; one writer each. */
typedef struct sim_stats {
    volatile uint32_t nodes, sockets, registered;
    volatile uint64_t registers_sent, heartbeats_sent, acks, reregister, errors;
    volatile uint64_t info_bytes;  /* packed NodeInfo of one node */
    volatile uint64_t rtt[RTT_BUCKETS];
    char error[256];
} sim_stats;

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

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int64_t mono_us(void)
{
    return mono_ns() / 1000;
}

/* NodeInfo of simulated node 'idx' (1-based), as a worker on an 8-GPU
 * server sends it. */
static void sim_info(uint32_t idx, const char *name, Tern__NodeInfo *info, Tern__Gpu *gpus,
                     Tern__Gpu **gp, Tern__Nic *nics, Tern__Nic **np, char (*pci)[24],
                     char (*nicpci)[24], char (*nicname)[16], char *label, size_t llen,
                     char **labels)
{
    static const char *const bus[NODE_GPUS] = { "18", "2a", "3a", "5d", "9a", "ab", "ba", "db" };
    static const char *const nicbus[4] = { "1a", "3c", "9c", "bc" };
    for (int g = 0; g < NODE_GPUS; g++) {
        tern__gpu__init(&gpus[g]);
        snprintf(pci[g], 24, "00000000:%s:00.0", bus[g]);
        gpus[g].index = (uint32_t)g;
        gpus[g].name = "NVIDIA H100 80GB HBM3";
        gpus[g].pci_bus_id = pci[g];
        gpus[g].numa = g / 4;
        gpus[g].memory_mb = 81559;
        gpus[g].island = idx % 2 == 0 ? two_islands[g] : 0;
        gp[g] = &gpus[g];
    }
    for (int k = 0; k < 4; k++) {
        tern__nic__init(&nics[k]);
        snprintf(nicname[k], 16, "mlx5_%d", k & 3);
        snprintf(nicpci[k], 24, "0000:%s:00.0", nicbus[k]);
        nics[k].name = nicname[k];
        nics[k].pci_bus_id = nicpci[k];
        nics[k].numa = k / 2;
        np[k] = &nics[k];
    }
    snprintf(label, llen, "switch=sw%03u", (idx - 1) / SWITCH_NODES + 1);
    labels[0] = label;
    tern__node_info__init(info);
    info->name = (char *)name;
    info->addr = "127.0.0.1";
    info->cpus = NODE_CPUS;
    info->cores = NODE_CPUS / 2;
    info->numa_nodes = 2;
    info->memory_mb = 2064000;
    info->n_gpus = NODE_GPUS;
    info->gpus = gp;
    info->n_nics = 4;
    info->nics = np;
    info->n_labels = 1;
    info->labels = labels;
    info->pid = (uint32_t)getpid();
}

static void sim_send_register(sim_node *n, uint32_t idx, sim_stats *st)
{
    Tern__Gpu gpus[NODE_GPUS], *gp[NODE_GPUS];
    Tern__Nic nics[4], *np[4];
    char pci[NODE_GPUS][24], nicpci[4][24], nicname[4][16], label[32], *labels[1];
    Tern__NodeInfo info;
    sim_info(idx, n->name, &info, gpus, gp, nics, np, pci, nicpci, nicname, label, sizeof label,
             labels);
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

static void sim_send_heartbeat(sim_node *n, sim_stats *st)
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
        n->hb_sent_us = mono_us();
    }
}

static void sim_handle(sim_node *n, Tern__Envelope *env, sim_stats *st, uint64_t *rng)
{
    int64_t now = mono_us();
    switch (env->body_case) {
    case TERN__ENVELOPE__BODY_REGISTERED: {
        uint32_t ms = env->registered->heartbeat_ms >= 10 ? env->registered->heartbeat_ms
                                                         : HEARTBEAT_MS;
        if (!n->registered)
            st->registered++;
        n->registered = true;
        /* (the first heartbeat somewhere in the interval: see the top) */
        n->next_us = now + (int64_t)(rng_next(rng) % ((uint64_t)ms * 1000));
        break;
    }
    case TERN__ENVELOPE__BODY_HEARTBEAT_ACK:
        st->acks++;
        if (env->seq == n->hb_seq && n->hb_sent_us) {
            int64_t b = (now - n->hb_sent_us) / 100;
            st->rtt[b < RTT_BUCKETS ? b : RTT_BUCKETS - 1]++;
            n->hb_sent_us = 0;
        }
        if (env->heartbeat_ack->reregister) {
            st->reregister++;
            if (n->registered)
                st->registered--;
            n->registered = false;
            n->next_us = now;
        }
        break;
    case TERN__ENVELOPE__BODY_ERROR:
        if (!st->errors++)
            snprintf(st->error, sizeof st->error, "%s", env->error->message);
        break;
    default:
        break;
    }
}

static void sim_drain(sim_node *n, sim_stats *st, uint64_t *rng)
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
            if (!st->errors++)
                snprintf(st->error, sizeof st->error, "%s", err);
            continue;
        }
        sim_handle(n, env, st, rng);
        wire_free(env);
    }
}

/* A simulator process: nodes first..first+count-1, until SIGTERM. */
static void sim_main(const char *endpoint, uint32_t first, uint32_t count, sim_stats *st)
{
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    raise_nofile();
    uint64_t rng = 0x5eed0000ull + first;
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_IO_THREADS, 1);
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)count + 64);
    sim_node *nodes = calloc(count, sizeof *nodes);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!ctx || !nodes || ep < 0)
        die("simulator: cannot start");
    st->nodes = count;
    int64_t now = mono_us();
    for (uint32_t i = 0; i < count; i++) {
        sim_node *n = &nodes[i];
        snprintf(n->name, sizeof n->name, "node%05u", first + i);
        n->incarnation = rng_next(&rng);
        n->next_us = now;
        int one = 1, ivl = 100, ivl_max = 2000, fd;
        size_t len = sizeof fd;
        if (!(n->sock = zmq_socket(ctx, ZMQ_DEALER)))
            die("simulator: socket %u of %u: %s", i + 1, count, zmq_strerror(errno));
        wire_socket_defaults(n->sock);
        zmq_setsockopt(n->sock, ZMQ_ROUTING_ID, n->name, strlen(n->name));
        zmq_setsockopt(n->sock, ZMQ_IMMEDIATE, &one, sizeof one);
        zmq_setsockopt(n->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
        zmq_setsockopt(n->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
        if (g_server_pub[0] && curve_client(n->sock, &g_worker_key, g_server_pub) < 0)
            die("simulator: CURVE: %s", zmq_strerror(errno));
        if (zmq_connect(n->sock, endpoint) < 0)
            die("simulator: connect %s: %s", endpoint, zmq_strerror(errno));
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
        if (zmq_getsockopt(n->sock, ZMQ_FD, &fd, &len) < 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("simulator: socket %u: %s", i + 1, strerror(errno));
        st->sockets = i + 1;
    }
    struct epoll_event evs[512];
    int64_t next_scan = 0;
    while (!sim_stop) {
        now = mono_us();
        if (now >= next_scan) {
            /* Timers: a scan every 2 ms costs less than a heap here. */
            for (uint32_t i = 0; i < count; i++) {
                sim_node *n = &nodes[i];
                if (now < n->next_us)
                    continue;
                if (!n->registered) {
                    sim_send_register(n, first + i, st);
                    n->next_us = now + REGISTER_RETRY_MS * 1000;
                } else {
                    sim_send_heartbeat(n, st);
                    n->next_us = now + HEARTBEAT_MS * 1000;
                }
                sim_drain(n, st, &rng);   /* a send may have taken the signal */
            }
            next_scan = now + 2000;
        }
        int k = epoll_wait(ep, evs, 512, 2);
        for (int e = 0; e < k; e++)
            sim_drain(&nodes[evs[e].data.u32], st, &rng);
    }
    _exit(0);   /* the kernel closes 2 fds a node faster than zmq_ctx_term */
}

typedef struct ternd_proc {
    char dir[256], client[512], worker[512];
    pid_t pid;
} ternd_proc;

static void ternd_start(ternd_proc *t, const char *bindir, bool curve)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/tern-bench-sched.XXXXXX");
    if (!mkdtemp(t->dir))
        die("mkdtemp: %s", strerror(errno));
    char exe[4200], state[300], epf[300], log[300];
    snprintf(exe, sizeof exe, "%s/ternd", bindir);
    snprintf(state, sizeof state, "%s/ternd.db", t->dir);
    snprintf(epf, sizeof epf, "%s/ep", t->dir);
    snprintf(log, sizeof log, "%s/ternd.log", t->dir);
    char key[300], admin[300], authorized[300], err[600] = "", text_keys[256];
    curve_key server, adm;
    snprintf(key, sizeof key, "%s/server.key", t->dir);
    snprintf(admin, sizeof admin, "%s/admin.key", t->dir);
    snprintf(authorized, sizeof authorized, "%s/authorized_keys", t->dir);
    if (curve_keygen(&server) < 0 || curve_keygen(&adm) < 0 || curve_keygen(&g_worker_key) < 0 ||
        curve_key_save(key, &server, true, err, sizeof err) < 0 ||
        curve_key_save(admin, &adm, true, err, sizeof err) < 0)
        die("keys: %s", err);
    int n = snprintf(text_keys, sizeof text_keys, "admin bench %s\nworker * %s\n", adm.pub,
                     g_worker_key.pub);
    if (fs_write_atomic(authorized, text_keys, (size_t)n, 0600) < 0)
        die("cannot write %s", authorized);
    g_server_pub[0] = '\0';
    unsetenv("TERN_KEY");
    unsetenv("TERN_SERVER_KEY");
    unsetenv("TERN_INSECURE");
    if (curve) {
        snprintf(g_server_pub, sizeof g_server_pub, "%s", server.pub);
        setenv("TERN_KEY", admin, 1);          /* for 'tern nodes' */
        setenv("TERN_SERVER_KEY", server.pub, 1);
    } else {
        setenv("TERN_INSECURE", "1", 1);       /* 'tern nodes' to a ternd without keys */
    }
    char *argv[] = { exe, "--state", state, "--client", "tcp://127.0.0.1:0", "--worker",
                     "tcp://127.0.0.1:0", "--endpoints-file", epf, "--heartbeat-ms", "1000",
                     "--node-timeout", "30", curve ? "--key" : NULL, key, "--authorized-keys",
                     authorized, NULL };
    snprintf(g_dir, sizeof g_dir, "%s", t->dir);
    t->pid = g_ternd = proc_spawn_daemon(argv, log);
    if (t->pid < 0)
        die("cannot start %s: %s", exe, strerror(errno));
    char *text = NULL;
    for (int i = 0; i < 500 && fs_read_all(epf, 4096, &text, NULL) < 0; i++)
        usleep(20000);
    if (!text)
        die("ternd wrote no endpoints in 10 s (see %s)", log);
    char *c = strstr(text, "client="), *w = strstr(text, "worker=");
    if (!c || !w || sscanf(c + 7, "%511[^\n]", t->client) != 1 ||
        sscanf(w + 7, "%511[^\n]", t->worker) != 1)
        die("cannot read %s", epf);
    free(text);
}

static void ternd_stop(ternd_proc *t)
{
    if (t->pid > 0) {
        kill(t->pid, SIGTERM);
        if (proc_wait_gone(t->pid, 5000) < 0)
            kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
        t->pid = g_ternd = 0;
    }
}

static double cpu_seconds(pid_t pid)
{
    char buf[1024];
    const char *p = proc_stat(pid, buf, sizeof buf);
    unsigned long long ut = 0, st = 0;
    /* from the state (field 3): ... utime(14) stime(15) */
    if (!p || sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double rss_mib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb / 1024;
}

typedef struct hb_row {
    uint32_t nodes, registered;
    double register_s;             /* from the simulators' start to every node registered */
    double cpu_pct, rss;
    double hb_per_s, acks_per_s, rtt_p50, rtt_p99;
    size_t tern_nodes_up;          /* what 'tern nodes --json' says */
} hb_row;

static uint32_t sims_registered(sim_stats *st, int nsims, uint64_t *errors)
{
    uint32_t r = 0;
    *errors = 0;
    for (int i = 0; i < nsims; i++) {
        r += st[i].registered;
        *errors += st[i].errors;
    }
    return r;
}

static void sims_check(pid_t *pids, int nsims)
{
    for (int i = 0; i < nsims; i++) {
        int status;
        if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
            pids[i] = g_sims[i] = 0;
            die("simulator %d exited (status %d)", i, status);
        }
    }
}

/* Waits for 'want' registered nodes over the first 'nsims' simulators. */
static void wait_registered(sim_stats *st, pid_t *pids, int nsims, uint32_t want,
                            const ternd_proc *t, double timeout_s, hb_row *row, double t0)
{
    uint64_t errors = 0;
    double end = bench_now() + timeout_s;
    while (bench_now() < end) {
        sims_check(pids, nsims);
        if (!proc_alive(t->pid))
            die("ternd died while nodes registered (log: %s/ternd.log)", t->dir);
        if ((row->registered = sims_registered(st, nsims, &errors)) >= want)
            break;
        usleep(20000);
    }
    row->register_s = bench_now() - t0;
    if (row->registered < want)
        fprintf(stderr, "bench-sched: only %u of %u nodes registered in %.0f s\n",
                row->registered, want, timeout_s);
    if (errors)
        for (int i = 0; i < nsims; i++)
            if (st[i].errors)
                fprintf(stderr, "bench-sched: simulator %d: %llu errors, first: %s\n", i,
                        (unsigned long long)st[i].errors, st[i].error);
}

static double rtt_percentile(const uint64_t *h, uint64_t total, double p)
{
    uint64_t want = (uint64_t)(p / 100.0 * (double)total), seen = 0;
    for (int b = 0; b < RTT_BUCKETS; b++) {
        seen += h[b];
        if (seen > want)
            return (b + 1) * 0.1;
    }
    return RTT_BUCKETS * 0.1;
}

static size_t tern_nodes_up(const char *bindir, const char *scheduler)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "timeout 30 %s/tern nodes --json --scheduler %s 2>&1", bindir,
             scheduler);
    FILE *f = popen(cmd, "r");
    if (!f)
        return 0;
    size_t up = 0, have = 0;
    char buf[65536 + 16];
    /* Counts "state": "UP" across reads; keeps a tail for a split match. */
    static const char key[] = "\"state\": \"UP\"";
    size_t n;
    while ((n = fread(buf + have, 1, sizeof buf - 1 - have, f)) > 0) {
        size_t len = have + n;
        buf[len] = '\0';
        for (char *p = buf; (p = strstr(p, key)); p += sizeof key - 1)
            up++;
        have = len < sizeof key - 1 ? len : sizeof key - 2;
        memmove(buf, buf + len - have, have);
    }
    pclose(f);
    return up;
}

/* ternd's CPU and memory while 'nsims' simulators heartbeat. */
static void measure(const ternd_proc *t, sim_stats *st, pid_t *pids, int nsims, hb_row *row)
{
    sleep(SETTLE_S);
    static uint64_t h0[RTT_BUCKETS], h1[RTT_BUCKETS];
    uint64_t acks0 = 0, acks1 = 0, sent0 = 0, sent1 = 0;
    memset(h0, 0, sizeof h0);
    memset(h1, 0, sizeof h1);
    for (int i = 0; i < nsims; i++) {
        acks0 += st[i].acks;
        sent0 += st[i].heartbeats_sent;
        for (int b = 0; b < RTT_BUCKETS; b++)
            h0[b] += st[i].rtt[b];
    }
    double c0 = cpu_seconds(t->pid), w0 = bench_now();
    for (int s = 0; s < WINDOW_S * 10; s++) {
        usleep(100000);
        sims_check(pids, nsims);
    }
    double c1 = cpu_seconds(t->pid), w1 = bench_now();
    if (c0 < 0 || c1 < 0)
        die("ternd died during the measurement (log: %s/ternd.log)", t->dir);
    uint64_t total = 0;
    for (int i = 0; i < nsims; i++) {
        acks1 += st[i].acks;
        sent1 += st[i].heartbeats_sent;
        for (int b = 0; b < RTT_BUCKETS; b++)
            h1[b] += st[i].rtt[b];
    }
    for (int b = 0; b < RTT_BUCKETS; b++) {
        h1[b] -= h0[b];
        total += h1[b];
    }
    row->cpu_pct = (c1 - c0) / (w1 - w0) * 100;
    row->rss = rss_mib(t->pid);
    row->hb_per_s = (double)(sent1 - sent0) / (w1 - w0);
    row->acks_per_s = (double)(acks1 - acks0) / (w1 - w0);
    row->rtt_p50 = rtt_percentile(h1, total, 50);
    row->rtt_p99 = rtt_percentile(h1, total, 99);
}

static pid_t sim_spawn(const char *endpoint, uint32_t first, uint32_t count, sim_stats *st)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        sim_main(endpoint, first, count, st);
    }
    return pid;
}

static void heartbeats(const char *bindir, bool curve, hb_row rows[2], uint64_t *info_bytes,
                       double *rss0)
{
    raise_nofile();
    sim_stats *st = mmap(NULL, NSIMS * sizeof *st, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (st == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memset(st, 0, NSIMS * sizeof *st);
    ternd_proc t;
    ternd_start(&t, bindir, curve);
    usleep(200000);
    *rss0 = rss_mib(t.pid);
    pid_t pids[NSIMS] = { 0 };

    /* 1,000 nodes from one simulator; then 9,000 more from four. */
    double t0 = bench_now();
    pids[0] = g_sims[0] = sim_spawn(t.worker, 1, 1000, &st[0]);
    rows[0].nodes = 1000;
    wait_registered(st, pids, 1, 1000, &t, 30, &rows[0], t0);
    measure(&t, st, pids, 1, &rows[0]);
    rows[0].tern_nodes_up = tern_nodes_up(bindir, t.client);

    t0 = bench_now();
    for (int i = 1; i < NSIMS; i++)
        pids[i] = g_sims[i] = sim_spawn(t.worker, 1001 + (uint32_t)(i - 1) * 2250, 2250, &st[i]);
    rows[1].nodes = 10000;
    wait_registered(st, pids, NSIMS, 10000, &t, 60, &rows[1], t0);
    measure(&t, st, pids, NSIMS, &rows[1]);
    rows[1].tern_nodes_up = tern_nodes_up(bindir, t.client);
    *info_bytes = st[0].info_bytes;

    for (int i = 0; i < NSIMS; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    for (int i = 0; i < NSIMS; i++) {
        if (pids[i] <= 0)
            continue;
        if (proc_wait_gone(pids[i], 5000) < 0)
            kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
        g_sims[i] = 0;
    }
    char cmd[512];
    /* (the run without keys is warned that authentication is off: expected) */
    snprintf(cmd, sizeof cmd, "grep -i -E 'warn|error' %s/ternd.log | "
             "grep -c -v 'authentication is off'", t.dir);
    FILE *f = popen(cmd, "r");
    int bad = 0;
    if (f) {
        if (fscanf(f, "%d", &bad) != 1)
            bad = 0;
        pclose(f);
    }
    if (bad) {
        printf("ternd logged %d warnings or errors, the first:\n", bad);
        fflush(stdout);
        snprintf(cmd, sizeof cmd, "grep -i -E 'warn|error' %s/ternd.log | "
                 "grep -v 'authentication is off' | head -n 3", t.dir);
        if (system(cmd) != 0)
            printf("(cannot show them)\n");
    }
    ternd_stop(&t);
    snprintf(cmd, sizeof cmd, "rm -rf %s", t.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench-sched: cannot remove %s\n", t.dir);
    g_dir[0] = '\0';
    munmap(st, NSIMS * sizeof *st);
}

int main(void)
{
    char bindir[4096];
    snprintf(bindir, sizeof bindir, "%s", bench_self());
    char *slash = strrchr(bindir, '/');
    if (!slash)
        die("cannot find my own executable");
    *slash = '\0';
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_parent = getpid();
    struct sigaction sa = { .sa_handler = on_fatal_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    sim_job *proto = malloc(NJOBS * sizeof *proto);
    if (!proto)
        die("out of memory");
    jobs_make(proto, NJOBS);
    place_result_row pr[2];
    place_run(1000, proto, &pr[0]);
    place_run(10000, proto, &pr[1]);
    free(proto);

    printf("placement: scheduler/placement.c in-process, FIFO, %d jobs of 1-64 GPUs "
           "(1,2,4,8 on one node; 16,32,64 as 2,4,8 whole nodes)\n", NJOBS);
    printf("%-8s %8s %8s %12s %9s %9s %9s %11s %10s %9s\n", "nodes", "placed", "waits",
           "placements/s", "p50 us", "p99 us", "max us", "wait p50 us", "gangs 1sw",
           "sim hours");
    for (int i = 0; i < 2; i++)
        printf("%-8zu %8zu %8zu %12.0f %9.1f %9.1f %9.1f %11.1f %9.1f%% %9.1f%s\n", pr[i].nodes,
               pr[i].placed, pr[i].failed, place_rate(&pr[i]), pr[i].p50, pr[i].p99, pr[i].max,
               pr[i].fail_p50, pr[i].gangs ? 100.0 * pr[i].gangs_one_switch / pr[i].gangs : 0,
               pr[i].sim_seconds / 3600.0, pr[i].budget_hit ? " (time budget hit)" : "");
    printf("(placements/s: placed jobs / all time inside place_gang, the waits included; "
           "p50/p99/max: one successful decision;\n waits: calls that found the head job "
           "no room, each followed by the next job end; gangs 1sw: multi-node jobs under one "
           "switch;\n peers' figures are their published ones, not measured here: YuniKorn 833 pods/s at 5,000 nodes, Fluxion 745 jobs/s "
           "at 1,000 nodes)\n\n");

    /* Without authentication, then with CURVE (what tern up and a keyed
     * ternd run): the cost of encrypting every heartbeat. */
    hb_row hr[4];
    memset(hr, 0, sizeof hr);
    uint64_t info_bytes = 0;
    double rss0 = 0, rss0_curve = 0;
    heartbeats(bindir, false, hr, &info_bytes, &rss0);
    heartbeats(bindir, true, hr + 2, &info_bytes, &rss0_curve);
    printf("heartbeats: a real ternd, simulated 8-GPU nodes over ZeroMQ, one heartbeat a "
           "second each; %d s window\n", WINDOW_S);
    printf("%-8s %-6s %10s %11s %13s %10s %13s %8s %13s %10s\n", "nodes", "auth", "registered",
           "register s", "ternd CPU %", "RSS MiB", "heartbeats/s", "acks/s", "ack rtt p50/p99",
           "tern nodes");
    for (int i = 0; i < 4; i++) {
        char rtt[32];
        snprintf(rtt, sizeof rtt, "%.1f/%.1f ms", hr[i].rtt_p50, hr[i].rtt_p99);
        printf("%-8u %-6s %10u %11.2f %13.1f %10.1f %13.0f %8.0f %15s %10zu\n", hr[i].nodes,
               i < 2 ? "none" : "CURVE", hr[i].registered, hr[i].register_s, hr[i].cpu_pct,
               hr[i].rss, hr[i].hb_per_s, hr[i].acks_per_s, rtt, hr[i].tern_nodes_up);
    }
    printf("(ternd CPU: utime+stime of all its threads over the window, %% of one core; RSS: "
           "%.1f MiB with no node (%.1f with CURVE);\n acks: ternd answers an idle node's "
           "heartbeat every 4th time, or when it has something to say;\n tern nodes: nodes UP "
           "in 'tern nodes --json'; one node's NodeInfo packs to %llu bytes;\n CURVE: every "
           "message encrypted, one handshake per node at registration)\n", rss0, rss0_curve,
           (unsigned long long)info_bytes);

    bench_headline("place_rate_10k_nodes", place_rate(&pr[1]), "placements/s", "yunikorn", 833);
    bench_headline("place_p99_10k_nodes", pr[1].p99, "us", NULL, 0);
    bench_headline("place_rate_1k_nodes", place_rate(&pr[0]), "placements/s", "fluxion", 745);
    bench_headline("heartbeat_cpu_10k_nodes", hr[1].cpu_pct, "% of one core", NULL, 0);
    bench_headline("ternd_rss_10k_nodes", hr[1].rss, "MiB", NULL, 0);
    bench_headline("heartbeat_cpu_10k_nodes_curve", hr[3].cpu_pct, "% of one core", NULL, 0);
    bench_headline("ternd_rss_10k_nodes_curve", hr[3].rss, "MiB", NULL, 0);
    return 0;
}
