/* The simulated cluster of bench-sched-placement and bench-sched-workers:
 * 8-GPU, 64-CPU nodes, the even ones (1-based) with two NVLink islands of
 * 4 GPUs and the odd ones with one, 32 nodes to a switch. Both benches see
 * the same machines: the placement code's view of them, and the NodeInfo a
 * worker would send for them. */
#ifndef TERN_BENCH_SIMCLUSTER_H
#define TERN_BENCH_SIMCLUSTER_H

#include <stdint.h>

#define SIM_NODE_GPUS 8
#define SIM_NODE_CPUS 64
#define SIM_SWITCH_NODES 32

/* The island of each GPU of node 'idx' (1-based), or NULL: one island. */
const int32_t *simcluster_islands(uint32_t idx);
/* The switch (1-based) node 'idx' (1-based) hangs under. */
uint32_t simcluster_switch(uint32_t idx);

#endif
