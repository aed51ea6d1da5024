/* Launching (launch.c): an attempt's MASTER_PORT, the Launch each node of
 * a gang gets, and the hold on the nodes after the first until it has
 * started. Node rank 0 checks the port is free there (another process may
 * hold it) and says which it took in its Started; the others are launched
 * with that one. A job's attempt and each srun step (steps.h) are gangs
 * launched this way. Launches go out after the commit (outbox.h). */
#ifndef TERN_SCHED_LAUNCH_H
#define TERN_SCHED_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>

#include "scheduler/sched.h"

/* What the Launches of one gang share: j's attempt, or one of its steps. */
typedef struct launch_gang {
    uint32_t step;                 /* 0: the attempt's ranks; else the step, 1-based */
    const Tern__JobSpec *spec;     /* what its ranks run (borrowed) */
    uint32_t nnodes;
    const uint32_t *node_idx;      /* its nodes as positions in j's placement; NULL: all */
    const char *master_addr;       /* borrowed */
    uint32_t master_port;
    uint32_t client_port;          /* ternd's, for srun in the job; 0: not given */
} launch_gang;

/* A MASTER_PORT in the --master-ports range that no running attempt with
 * master address 'addr' uses (the lowest when all are). */
uint32_t launch_pick_port(sched *s, const char *addr);
/* Whether 'port', as a node's Started says, is in the --master-ports range. */
bool launch_port_ok(const sched *s, uint32_t port);
/* Queues the Launches of gang 'g' of j's live attempt for its node ranks
 * from..to-1. Returns 0, or -1 when out of memory (nothing queued). */
int launch_nodes(sched *s, const job *j, const launch_gang *g, uint32_t from, uint32_t to);
/* Launches the first node of j's new attempt; with several nodes, the
 * others are held (j->launch_held) until its Started (launch_started) or
 * the launch grace (launch_rest). Out of memory is logged: the nodes then
 * never report it, and it is lost after the launch grace. */
void launch_attempt(sched *s, job *j);
/* Node rank 0 of j's attempt started its ranks: the uid/gid it ran them as
 * go to the audit, the master port it found free goes to the placement
 * (while held, not ending, and in range), and the held nodes are launched. */
void launch_started(sched *s, job *j, const Tern__Started *st);
/* Launches the nodes after the first of j's held attempt, with the
 * placement's master port: after its Started, or when none came in time
 * (an older worker, a lost message). */
void launch_rest(sched *s, job *j);

#endif
