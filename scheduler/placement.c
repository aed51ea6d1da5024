#include "scheduler/placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t cpus_needed(const place_request *req)
{
    return (uint64_t)req->tasks_per_node * req->cpus_per_task;
}

enum place_result place_check(const place_request *req, const place_node *nodes, size_t n,
                              char *reason, size_t len)
{
    if (n == 0)
        return PLACE_WAIT;
    uint32_t max_gpus = 0, max_cpus = 0;
    size_t fitting = 0, spot = 0;
    for (size_t i = 0; i < n; i++) {
        if (nodes[i].spot && req->spot == PLACE_SPOT_NEVER) {
            spot++;
            continue;
        }
        if (nodes[i].ngpus > max_gpus)
            max_gpus = nodes[i].ngpus;
        if (nodes[i].cpus > max_cpus)
            max_cpus = nodes[i].cpus;
        if (nodes[i].ngpus >= req->gpus_per_node && nodes[i].cpus >= cpus_needed(req))
            fitting++;
    }
    if (spot == n) {
        snprintf(reason, len, "every node is a spot node, and only --preemptible jobs run on "
                 "spot nodes");
        return PLACE_NEVER;
    }
    if (req->gpus_per_node > max_gpus) {
        snprintf(reason, len, "--gpus-per-node %u exceeds every node (max %u)",
                 req->gpus_per_node, max_gpus);
        return PLACE_NEVER;
    }
    if (cpus_needed(req) > max_cpus) {
        snprintf(reason, len, "%u tasks x %u cpus per node exceeds every node (max %u cpus)",
                 req->tasks_per_node, req->cpus_per_task, max_cpus);
        return PLACE_NEVER;
    }
    if (req->nodes > fitting) {
        snprintf(reason, len, "needs %u nodes with %llu cpus and %u gpus, the cluster has %zu%s",
                 req->nodes, (unsigned long long)cpus_needed(req), req->gpus_per_node, fitting,
                 spot ? " on-demand (spot nodes take only --preemptible jobs)" : "");
        return PLACE_NEVER;
    }
    return PLACE_OK;
}

typedef struct candidate {
    uint32_t node;
    uint32_t cpus_left;
    uint8_t rank;                    /* lower goes first: avoid, spot preference, one island */
} candidate;

static uint32_t island_of(const place_node *pn, uint32_t g)
{
    return pn->gpu_island ? (uint32_t)pn->gpu_island[g] % PLACE_MAX_GPUS : 0;
}

static uint32_t ngpus_of(const place_node *pn)
{
    return pn->ngpus < PLACE_MAX_GPUS ? pn->ngpus : PLACE_MAX_GPUS;
}

/* Counts the free GPUs of 'pn' in each island into free_in[]; returns the
 * node's free GPUs in all, and in *most those of its fullest island. */
static uint32_t count_free(const place_node *pn, uint32_t *free_in, uint32_t *most)
{
    uint32_t total = 0;
    memset(free_in, 0, PLACE_MAX_GPUS * sizeof *free_in);
    *most = 0;
    for (uint32_t g = 0; g < ngpus_of(pn); g++) {
        if (pn->gpu_used[g])
            continue;
        uint32_t i = island_of(pn, g);
        total++;
        if (++free_in[i] > *most)
            *most = free_in[i];
    }
    return total;
}

/* Chooses 'need' free GPUs of 'pn' into out[] (see place_gang); free_in[]
 * as count_free left it. */
static void pick_gpus(const place_node *pn, uint32_t need, const uint32_t *free_in,
                      uint32_t *out)
{
    uint32_t n = ngpus_of(pn), got = 0;
    bool taken[PLACE_MAX_GPUS] = { false };
    while (got < need) {
        /* Best fit: the fullest island that holds what is left; else the
         * one with the most free GPUs. */
        int best = -1;
        for (uint32_t i = 0; i < PLACE_MAX_GPUS; i++) {
            if (!free_in[i] || taken[i])
                continue;
            bool fits = free_in[i] >= need - got;
            bool best_fits = best >= 0 && free_in[best] >= need - got;
            if (best < 0 || (fits && !best_fits) ||
                (fits && best_fits && free_in[i] < free_in[best]) ||
                (!fits && !best_fits && free_in[i] > free_in[best]))
                best = (int)i;
        }
        if (best < 0)
            break;
        taken[best] = true;
        for (uint32_t g = 0; g < n && got < need; g++)
            if (!pn->gpu_used[g] && island_of(pn, g) == (uint32_t)best)
                out[got++] = g;
    }
    /* (in index order, as ranks take GPUs by LOCAL_RANK) */
    for (uint32_t i = 1; i < got; i++)
        for (uint32_t k = i; k > 0 && out[k - 1] > out[k]; k--) {
            uint32_t t = out[k];
            out[k] = out[k - 1];
            out[k - 1] = t;
        }
}

/* Nodes to avoid last, preferred kind first, then best fit; ties by node
 * name, so placement does not depend on the order in which nodes registered. */
static int by_fit(const void *a, const void *b, void *arg)
{
    const candidate *x = a, *y = b;
    const place_node *nodes = arg;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->cpus_left != y->cpus_left)
        return x->cpus_left < y->cpus_left ? -1 : 1;
    int c = strcmp(nodes[x->node].name, nodes[y->node].name);
    if (c)
        return c;
    return x->node < y->node ? -1 : x->node > y->node;
}

enum place_result place_gang(const place_request *req, const place_node *nodes, size_t n,
                             place_choice *out, char *reason, size_t len)
{
    enum place_result r = place_check(req, nodes, n, reason, len);
    if (r != PLACE_OK)
        return r;
    uint64_t cpus = cpus_needed(req);
    candidate *cand = malloc(n * sizeof *cand);
    if (!cand) {
        snprintf(reason, len, "out of memory");
        return PLACE_WAIT;
    }
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        const place_node *pn = &nodes[i];
        if (!pn->usable || pn->cpus_used > pn->cpus || pn->cpus - pn->cpus_used < cpus ||
            (pn->spot && req->spot == PLACE_SPOT_NEVER) ||
            (!pn->spot && req->spot == PLACE_SPOT_ONLY))
            continue;
        uint32_t free_in[PLACE_MAX_GPUS], most;
        if (count_free(pn, free_in, &most) < req->gpus_per_node)
            continue;
        bool split = most < req->gpus_per_node;
        cand[nc].node = (uint32_t)i;
        cand[nc].cpus_left = (uint32_t)(pn->cpus - pn->cpus_used - cpus);
        cand[nc].rank = (uint8_t)((req->avoid && req->avoid[i] ? 4 : 0) +
                                  (req->spot == PLACE_SPOT_PREFER && !pn->spot ? 2 : 0) +
                                  (split ? 1 : 0));
        nc++;
    }
    if (nc < req->nodes) {
        free(cand);
        snprintf(reason, len, "Resources");
        return PLACE_WAIT;
    }
    qsort_r(cand, nc, sizeof *cand, by_fit, (void *)nodes);
    for (uint32_t k = 0; k < req->nodes; k++) {
        const place_node *pn = &nodes[cand[k].node];
        out[k].node = cand[k].node;
        out[k].ngpus = req->gpus_per_node;
        if (out[k].ngpus) {
            uint32_t free_in[PLACE_MAX_GPUS], most;
            count_free(pn, free_in, &most);
            pick_gpus(pn, out[k].ngpus, free_in, out[k].gpus);
        }
    }
    free(cand);
    return PLACE_OK;
}
