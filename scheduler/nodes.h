/* The node registry (nodes.c): what each worker registered, whether it is
 * alive, and what of it is in use. A node, once known (registered, or
 * loaded from its row), stays in s->nodes until sched_finish: node
 * pointers do not go stale. */
#ifndef TERN_SCHED_NODES_H
#define TERN_SCHED_NODES_H

#include <stdbool.h>
#include <stdint.h>

#include "scheduler/sched.h"

/* The node named 'name' (s's), or NULL when none is known. */
node *sched_node(sched *s, const char *name);
/* Adds a node known by name only (no info yet; 'name' is copied, cut at
 * NODE_NAME_MAX), UP and not connected. Returns it (s's), or NULL when out
 * of memory. */
node *sched_node_add(sched *s, const char *name);
/* CPUs and GPUs (at most PLACE_MAX_GPUS) it registered; 0 with no info. */
uint32_t node_cpus(const node *n);
uint32_t node_gpus(const node *n);
/* Whether new work may go to 'n': connected, UP, not drained, registered. */
bool node_usable(const node *n);
/* "UP", "DOWN", "PREEMPTING" (static), "UNKNOWN" for another value. */
const char *node_state_name(enum node_state st);
/* The state named 's' (as node_state_name) into *out. Returns 0, or -1
 * (*out untouched) for another name or NULL. */
int node_state_parse(const char *s, enum node_state *out);
/* What 'tern nodes' shows (static): DOWN, UNKNOWN (not registered since
 * ternd started), PREEMPTING, DRAIN or UP. */
const char *node_display_state(const node *n);
/* Makes 'n' UP again (from DOWN or PREEMPTING), forgetting why it was not
 * and any notice; the caller saves it. */
void node_up(node *n);
/* Fills view[0..s->nnodes) (the caller's) with what placement sees of each
 * node; the views point into the nodes, valid until they change. */
void sched_place_view(sched *s, place_node *view);
/* Reads from n->info what the scheduler keeps at hand: spot= and price=
 * labels, switch=/rack= group and partition= numbers, each GPU's NVLink
 * island and NIC. A label that finds no number (more than 32 partitions,
 * 1023 groups, out of memory) is left out (a partition's, logged). */
void node_info_apply(sched *s, node *n);
/* The partition bit of a name given with -p; 0 for NULL, "", "spot" and
 * "ondemand"; UINT32_MAX for a partition no node has. */
uint32_t sched_partition_bit(sched *s, const char *name);
/* A spot notice for 'n' (from its worker or 'tern preempt'; 'deadline'
 * unix ms): unless DOWN, the node takes nothing new and every job with a
 * rank on it checkpoints and is requeued. Saved and logged once per
 * deadline. */
void sched_node_preempt(sched *s, node *n, int64_t deadline, const char *why);
/* Tells the worker of 'n' of a notice ('tern preempt'); deadline 0
 * withdraws it. Nothing is sent to a node not connected. */
void node_send_notice(sched *s, const node *n, int64_t deadline, const char *why);
/* Ends, as lost, the ranks every running attempt had on 'n'. */
void node_attempts_lost(sched *s, node *n, const char *why);
/* Writes n's row. Returns 0, or -1: out of memory (not logged), or the
 * write failed (logged; the turn is doomed, sched_db). */
int sched_node_save(sched *s, node *n);
/* Marks 'n' DOWN and not connected with 'why', saved and logged, and fails
 * the attempts that had ranks on it. */
void sched_node_down(sched *s, node *n, const char *why);

#endif
