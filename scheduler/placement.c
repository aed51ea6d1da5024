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
    size_t outside = 0;
    for (size_t i = 0; i < n; i++) {
        if (req->parts && !(nodes[i].parts & req->parts)) {
            outside++;
            continue;
        }
        if ((nodes[i].spot && req->spot == PLACE_SPOT_NEVER) ||
            (!nodes[i].spot && req->spot == PLACE_SPOT_ONLY)) {
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
    if (outside == n) {
        snprintf(reason, len, "no node is in the job's partition");
        return PLACE_NEVER;
    }
    if (spot + outside == n) {
        snprintf(reason, len, req->spot == PLACE_SPOT_ONLY
                 ? "the job's partition has no spot node"
                 : "every node is a spot node, and only --preemptible jobs run on spot nodes");
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
    uint32_t gpus_left, cpus_left;
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

/* Counts the free GPUs of 'pn' in each island into free_in[] and whether
 * an island has a GPU near a NIC into nic_in[]; returns the free GPUs of
 * the node's fullest island. */
static uint32_t count_free(const place_node *pn, uint8_t *free_in, uint8_t *nic_in)
{
    uint32_t most = 0;
    memset(free_in, 0, PLACE_MAX_GPUS);
    memset(nic_in, 0, PLACE_MAX_GPUS);
    for (uint32_t g = 0; g < ngpus_of(pn); g++) {
        if (pn->gpu_used[g])
            continue;
        uint32_t i = island_of(pn, g);
        if (pn->gpu_nic && pn->gpu_nic[g])
            nic_in[i] = 1;
        if (++free_in[i] > most)
            most = free_in[i];
    }
    return most;
}

/* Whether island i is a better home than island b for 'left' more GPUs. */
static bool island_better(const uint8_t *free_in, const uint8_t *nic_in, uint32_t i, int b,
                          uint32_t left)
{
    if (b < 0)
        return true;
    bool fits = free_in[i] >= left, best_fits = free_in[b] >= left;
    if (fits != best_fits)
        return fits;
    if (free_in[i] != free_in[b])
        return fits ? free_in[i] < free_in[b] : free_in[i] > free_in[b];
    return nic_in[i] > nic_in[b];
}

/* Chooses 'need' free GPUs of 'pn' into out[] (see place_gang). */
static void pick_gpus(const place_node *pn, uint32_t need, uint32_t *out)
{
    uint8_t free_in[PLACE_MAX_GPUS], nic_in[PLACE_MAX_GPUS];
    count_free(pn, free_in, nic_in);
    uint32_t n = ngpus_of(pn), got = 0;
    bool taken[PLACE_MAX_GPUS] = { false };
    while (got < need) {
        int best = -1;
        for (uint32_t i = 0; i < PLACE_MAX_GPUS; i++)
            if (free_in[i] && !taken[i] && island_better(free_in, nic_in, i, best, need - got))
                best = (int)i;
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
    if (x->gpus_left != y->gpus_left)
        return x->gpus_left < y->gpus_left ? -1 : 1;
    if (x->cpus_left != y->cpus_left)
        return x->cpus_left < y->cpus_left ? -1 : 1;
    int c = strcmp(nodes[x->node].name, nodes[y->node].name);
    if (c)
        return c;
    return x->node < y->node ? -1 : x->node > y->node;
}

bool place_fits(const place_request *req, const place_node *nodes, size_t i)
{
    const place_node *pn = &nodes[i];
    return pn->usable && pn->gpus_free >= req->gpus_per_node && pn->cpus_used <= pn->cpus &&
           pn->cpus - pn->cpus_used >= cpus_needed(req) && !(req->exclude && req->exclude[i]) &&
           (!req->parts || (pn->parts & req->parts)) &&
           !(pn->spot && req->spot == PLACE_SPOT_NEVER) &&
           !(!pn->spot && req->spot == PLACE_SPOT_ONLY);
}

/* Whether pn can take req now; fills c. */
static bool candidate_of(const place_request *req, const place_node *nodes, size_t i,
                         candidate *c)
{
    const place_node *pn = &nodes[i];
    uint64_t cpus = cpus_needed(req);
    if (!place_fits(req, nodes, i))
        return false;
    bool split = false;
    if (pn->gpu_island && req->gpus_per_node > 1) {
        uint8_t free_in[PLACE_MAX_GPUS], nic_in[PLACE_MAX_GPUS];
        split = count_free(pn, free_in, nic_in) < req->gpus_per_node;
    }
    c->node = (uint32_t)i;
    c->gpus_left = pn->gpus_free - req->gpus_per_node;
    c->cpus_left = (uint32_t)(pn->cpus - pn->cpus_used - cpus);
    c->rank = (uint8_t)((req->avoid && req->avoid[i] ? 4 : 0) +
                        (req->spot == PLACE_SPOT_PREFER && !pn->spot ? 2 : 0) + (split ? 1 : 0));
    return true;
}

/* The switch a gang of several nodes should stay under: among switches
 * with enough candidates not to avoid, the one with the fewest. 0: none. */
static uint32_t pick_group(const place_request *req, const place_node *nodes,
                           const candidate *cand, size_t nc)
{
    enum { GROUPS = 1024 };
    uint32_t *count = calloc(GROUPS, sizeof *count);
    if (!count)
        return 0;
    for (size_t k = 0; k < nc; k++) {
        uint32_t g = nodes[cand[k].node].group;
        if (g && g < GROUPS && !(cand[k].rank & 4))
            count[g]++;
    }
    uint32_t best = 0;
    for (uint32_t g = 1; g < GROUPS; g++)
        if (count[g] >= req->nodes && (!best || count[g] < count[best]))
            best = g;
    free(count);
    return best;
}

/* Keeps in best[0..k) the k best candidates seen, in order; *nb of them so far. */
static void keep_best(candidate *best, uint32_t k, uint32_t *nb, const candidate *c,
                      const place_node *nodes)
{
    if (*nb == k && by_fit(c, &best[k - 1], (void *)nodes) >= 0)
        return;
    uint32_t at = *nb < k ? (*nb)++ : k - 1;
    while (at > 0 && by_fit(c, &best[at - 1], (void *)nodes) < 0) {
        best[at] = best[at - 1];
        at--;
    }
    best[at] = *c;
}

enum place_result place_gang(const place_request *req, const place_node *nodes, size_t n,
                             place_choice *out, char *reason, size_t len)
{
    if (req->nodes == 0 || req->gpus_per_node > PLACE_MAX_GPUS)
        return place_check(req, nodes, n, reason, len) == PLACE_NEVER ? PLACE_NEVER
                                                                        : PLACE_WAIT;
    candidate *cand = malloc((n ? n : 1) * sizeof *cand);
    if (!cand) {
        snprintf(reason, len, "out of memory");
        return PLACE_WAIT;
    }
    size_t nc = 0;
    for (size_t i = 0; i < n; i++)
        if (candidate_of(req, nodes, i, &cand[nc]))
            nc++;
    if (nc < req->nodes) {
        free(cand);
        if (place_check(req, nodes, n, reason, len) == PLACE_NEVER)
            return PLACE_NEVER;
        snprintf(reason, len, "Resources");
        return PLACE_WAIT;
    }
    uint32_t group = req->nodes > 1 ? pick_group(req, nodes, cand, nc) : 0;
    if (group) {
        size_t kept = 0;
        for (size_t k = 0; k < nc; k++)
            if (nodes[cand[k].node].group == group)
                cand[kept++] = cand[k];
        nc = kept;
    }
    /* The best req->nodes: a running insertion for small gangs, a sort for
     * large ones. */
    uint32_t k = req->nodes, nb = 0;
    if (k <= 64) {
        candidate best[64];
        for (size_t c = 0; c < nc; c++)
            keep_best(best, k, &nb, &cand[c], nodes);
        memcpy(cand, best, k * sizeof *cand);
    } else {
        qsort_r(cand, nc, sizeof *cand, by_fit, (void *)nodes);
    }
    for (uint32_t r = 0; r < k; r++) {
        out[r].node = cand[r].node;
        out[r].ngpus = req->gpus_per_node;
        if (out[r].ngpus)
            pick_gpus(&nodes[cand[r].node], out[r].ngpus, out[r].gpus);
    }
    free(cand);
    return PLACE_OK;
}
