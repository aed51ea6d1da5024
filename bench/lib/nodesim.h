/* Simulated worker nodes for bench-sched-workers: a forked process per
 * range of nodes (its own ZeroMQ context, one DEALER per node) that speaks
 * the worker protocol as worker/agent.c does: Register with the node's
 * NodeInfo (bench/lib/simcluster.h) until Registered, then a Heartbeat
 * with the incarnation every NODESIM_HEARTBEAT_MS. The first heartbeat of
 * each node comes at a random point of its first interval, as on a cluster
 * whose workers started at different times. */
#ifndef TERN_BENCH_NODESIM_H
#define TERN_BENCH_NODESIM_H

#include <stdint.h>
#include <sys/types.h>

#include "common/curve.h"

#define NODESIM_HEARTBEAT_MS 1000
#define NODESIM_RTT_BUCKETS 10000  /* 0.1 ms each; the last: 1 s or more */

/* What a simulator process tells the parent, in memory they share (mmap
 * MAP_SHARED before the fork); one writer each. */
typedef struct nodesim_stats {
    volatile uint32_t nodes, sockets, registered;
    volatile uint64_t registers_sent, heartbeats_sent, acks, reregister, errors;
    volatile uint64_t info_bytes;  /* packed NodeInfo of one node */
    volatile uint64_t rtt[NODESIM_RTT_BUCKETS];  /* heartbeat -> ack */
    char error[256];               /* the first error */
} nodesim_stats;

/* The keys a simulated node connects with: CURVE with the shared worker
 * key 'worker' to a ternd whose public key is 'server_pub', or none when
 * server_pub is NULL or empty. */
typedef struct nodesim_auth {
    const curve_key *worker;
    const char *server_pub;
} nodesim_auth;

/* Forks a simulator of nodes first..first+count-1 (named node%05u) that
 * connects to ternd's worker 'endpoint' and runs until SIGTERM, counting
 * into 'st'. Returns its pid; exits through bench_die when fork fails (the
 * child too, when it cannot open its sockets). */
pid_t nodesim_spawn(const char *endpoint, uint32_t first, uint32_t count,
                    const nodesim_auth *auth, nodesim_stats *st);

#endif
