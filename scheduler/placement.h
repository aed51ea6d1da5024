/* Gang placement: choose every node of a job at once, or none.
 *
 * The scheduler hands placement a read-only view of the nodes; placement
 * decides which nodes and which GPUs on them. Topology scoring and policy
 * plug in here without the rest of the scheduler changing. */
#ifndef TERN_PLACEMENT_H
#define TERN_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLACE_MAX_GPUS 64

typedef struct place_node {
    const char *name;
    bool usable;                     /* up, registered and not drained */
    uint32_t cpus, cpus_used;
    uint32_t ngpus;                  /* GPUs 0..ngpus-1 */
    const bool *gpu_used;            /* ngpus entries */
    uint32_t gpus_free;              /* entries of gpu_used that are false */
    const int32_t *gpu_island;       /* ngpus NVLink island ids (0..63), or NULL: one island */
    const uint8_t *gpu_nic;          /* ngpus flags: a NIC on the GPU's NUMA node; NULL: none known */
    bool spot;                       /* a spot instance: may vanish at a notice */
    uint32_t group;                  /* switch (or rack) the node hangs off; 0: not known */
    uint32_t parts;                  /* partitions the node is in, one bit each */
} place_node;

/* Where a job may go with respect to spot nodes. */
enum place_spot {
    PLACE_SPOT_NEVER,                /* on-demand nodes only (not --preemptible) */
    PLACE_SPOT_PREFER,               /* spot nodes first, on-demand when they run out */
    PLACE_SPOT_ONLY,                 /* spot nodes only (on-demand ones are held) */
};

typedef struct place_request {
    uint32_t nodes;
    uint32_t tasks_per_node;
    uint32_t cpus_per_task;
    uint32_t gpus_per_node;
    enum place_spot spot;
    const uint8_t *avoid;            /* NULL, or per node: 1 = use only when nothing else fits */
    const uint8_t *exclude;          /* NULL, or per node: 1 = not for this request (held) */
    uint32_t parts;                  /* partition bits the nodes must have one of; 0: any */
} place_request;

typedef struct place_choice {
    uint32_t node;                   /* position in the node view */
    uint32_t ngpus;
    uint32_t gpus[PLACE_MAX_GPUS];   /* GPU indexes on that node */
} place_choice;

enum place_result {
    PLACE_OK,        /* 'out' holds req->nodes choices, node rank order */
    PLACE_WAIT,      /* fits the cluster, not its free resources now */
    PLACE_NEVER,     /* no set of the known nodes could ever hold it */
};

/* Whether the cluster 'nodes' could ever hold 'req' (free or not, usable or
 * not, held or not; spot nodes count unless PLACE_SPOT_NEVER, only nodes of
 * the request's partitions count). PLACE_NEVER comes with a
 * one-line reason, e.g. "--gpus-per-node 9 exceeds every node (max 8)". With
 * no nodes known at all, PLACE_WAIT. */
enum place_result place_check(const place_request *req, const place_node *nodes, size_t n,
                              char *reason, size_t len);

/* Places 'req' on usable, not excluded nodes of its partitions with enough
 * free CPUs and GPUs: nodes to avoid last, then (PLACE_SPOT_PREFER) spot
 * nodes first, then nodes where the node's GPUs fit in one NVLink island
 * before those where they would span islands, then best fit (fewest free
 * GPUs left, then fewest free CPUs), ties by node name. A gang of several
 * nodes stays under one switch when one switch has room for it: the switch
 * with the fewest candidate nodes that still holds it (keeping emptier
 * switches whole for larger gangs). On a node, the GPUs come from the island
 * with the fewest free GPUs that still holds them all (keeping whole islands
 * free for whole-island jobs; between equal ones, the island near a NIC),
 * else from as few islands as possible, largest first; lowest index first
 * within an island. 'out' has room for req->nodes entries. PLACE_NEVER as
 * place_check. Costs one pass over the nodes (no sort of them all): a
 * decision at 10,000 nodes takes tens of microseconds. */
enum place_result place_gang(const place_request *req, const place_node *nodes, size_t n,
                             place_choice *out, char *reason, size_t len);

/* Whether node i of 'nodes' could take its share of 'req' now (free
 * resources, usable, not excluded, partition and spot rules). */
bool place_fits(const place_request *req, const place_node *nodes, size_t i);

#endif
