/* scheduler/placement: gangs are placed whole or not at all, best fit first,
 * ties by node name, and a job that can never fit says why. */
#include "tests/unit/unit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/placement.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const bool gpus_free[PLACE_MAX_GPUS];   /* all false: every GPU free */

static place_node node(const char *name, uint32_t cpus, uint32_t used, uint32_t ngpus)
{
    return (place_node){ .name = name, .usable = true, .cpus = cpus, .cpus_used = used,
                         .ngpus = ngpus, .gpu_used = gpus_free };
}

static place_request req(uint32_t nodes, uint32_t tpn, uint32_t cpt, uint32_t gpn)
{
    return (place_request){ .nodes = nodes, .tasks_per_node = tpn, .cpus_per_task = cpt,
                            .gpus_per_node = gpn };
}

/* Runs place_gang into a poisoned 'out', with each node's gpus_free
 * counted from its gpu_used as the scheduler's view has it. */
static enum place_result gang(const place_request *r, const place_node *nodes, size_t n,
                              place_choice *out, size_t nout, char *reason, size_t len)
{
    place_node *counted = calloc(n ? n : 1, sizeof *counted);
    for (size_t i = 0; i < n; i++) {
        counted[i] = nodes[i];
        counted[i].gpus_free = 0;
        for (uint32_t g = 0; g < nodes[i].ngpus && g < PLACE_MAX_GPUS; g++)
            counted[i].gpus_free += !nodes[i].gpu_used[g];
    }
    memset(out, 0xab, nout * sizeof *out);
    reason[0] = '\0';
    enum place_result res = place_gang(r, counted, n, out, reason, len);
    free(counted);
    return res;
}

static bool poisoned(const place_choice *out, size_t n)
{
    const unsigned char *p = (const unsigned char *)out;
    for (size_t i = 0; i < n * sizeof *out; i++)
        if (p[i] != 0xab)
            return false;
    return true;
}

static void test_empty_cluster(void)
{
    place_request r = req(1, 1, 1, 0);
    place_choice out[1];
    char reason[128] = "";
    CU_ASSERT_EQUAL(place_check(&r, NULL, 0, reason, sizeof reason), PLACE_WAIT);
    CU_ASSERT_EQUAL(gang(&r, NULL, 0, out, 1, reason, sizeof reason), PLACE_WAIT);
    CU_ASSERT_TRUE(poisoned(out, 1));
    /* even a request no node could hold waits: nodes may still register */
    r = req(100, 64, 64, 64);
    CU_ASSERT_EQUAL(place_check(&r, NULL, 0, reason, sizeof reason), PLACE_WAIT);
}

static void test_never(void)
{
    place_node nodes[] = {
        node("a", 64, 0, 8), node("b", 32, 0, 4), node("c", 128, 0, 0),
    };
    place_choice out[4];
    char reason[256];
    static const struct {
        place_request r;
        const char *exact;      /* the whole reason, or NULL */
        const char *parts[3];   /* pieces it must hold */
    } cases[] = {
        { { 1, 1, 1, 9, PLACE_SPOT_NEVER, NULL, NULL, 0 }, "--gpus-per-node 9 exceeds every node (max 8)", { NULL } },
        { { 1, 1, 1, 65, PLACE_SPOT_NEVER, NULL, NULL, 0 }, "--gpus-per-node 65 exceeds every node (max 8)", { NULL } },
        { { 1, 8, 17, 0, PLACE_SPOT_NEVER, NULL, NULL, 0 }, NULL, { "8 tasks x 17 cpus", "exceeds every node", "max 128" } },
        { { 1, 129, 1, 0, PLACE_SPOT_NEVER, NULL, NULL, 0 }, NULL, { "exceeds every node", "max 128", NULL } },
        /* enough GPUs on 'a', enough CPUs on 'c', never both on one node */
        { { 1, 1, 100, 8, PLACE_SPOT_NEVER, NULL, NULL, 0 }, NULL, { "needs 1 nodes", "the cluster has 0", NULL } },
        /* 8 GPUs: only 'a' */
        { { 2, 1, 1, 8, PLACE_SPOT_NEVER, NULL, NULL, 0 }, NULL, { "needs 2 nodes", "8 gpus", "the cluster has 1" } },
        /* 4 nodes of anything: there are 3 */
        { { 4, 1, 1, 0, PLACE_SPOT_NEVER, NULL, NULL, 0 }, NULL, { "needs 4 nodes", "the cluster has 3", NULL } },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        reason[0] = '\0';
        CU_ASSERT_EQUAL(place_check(&cases[i].r, nodes, N_ELEMS(nodes), reason, sizeof reason),
                        PLACE_NEVER);
        char first[256];
        snprintf(first, sizeof first, "%s", reason);
        if (cases[i].exact)
            CU_ASSERT_STRING_EQUAL(reason, cases[i].exact);
        for (size_t k = 0; k < 3 && cases[i].parts[k]; k++) {
            if (!strstr(reason, cases[i].parts[k]))
                fprintf(stderr, "never case %zu: '%s' lacks '%s'\n", i, reason,
                        cases[i].parts[k]);
            CU_ASSERT_PTR_NOT_NULL(strstr(reason, cases[i].parts[k]));
        }
        /* place_gang says the same, and writes no choice */
        CU_ASSERT_EQUAL(gang(&cases[i].r, nodes, N_ELEMS(nodes), out, N_ELEMS(out), reason,
                             sizeof reason), PLACE_NEVER);
        CU_ASSERT_STRING_EQUAL(reason, first);
        CU_ASSERT_TRUE(poisoned(out, N_ELEMS(out)));
    }

    /* what fits the biggest node is not NEVER */
    place_request ok = req(1, 4, 16, 8);
    CU_ASSERT_EQUAL(place_check(&ok, nodes, N_ELEMS(nodes), reason, sizeof reason), PLACE_OK);
    ok = req(3, 1, 32, 0);
    CU_ASSERT_EQUAL(place_check(&ok, nodes, N_ELEMS(nodes), reason, sizeof reason), PLACE_OK);
}

/* place_check is about the cluster, not what is free now: busy and drained
 * nodes count. */
static void test_check_ignores_load(void)
{
    place_node nodes[] = { node("a", 16, 16, 2), node("b", 16, 0, 2) };
    nodes[1].usable = false;
    place_request r = req(2, 2, 8, 2);
    char reason[128];
    CU_ASSERT_EQUAL(place_check(&r, nodes, 2, reason, sizeof reason), PLACE_OK);
    place_choice out[2];
    CU_ASSERT_EQUAL(gang(&r, nodes, 2, out, 2, reason, sizeof reason), PLACE_WAIT);
    CU_ASSERT_TRUE(poisoned(out, 2));
}

static void test_busy(void)
{
    static const bool all_used[4] = { true, true, true, true };
    place_node nodes[] = { node("a", 8, 8, 0), node("b", 8, 6, 0), node("c", 8, 0, 4) };
    nodes[2].gpu_used = all_used;
    char reason[128];
    place_choice out[2];
    /* CPUs: a full, b has 2 free, c has 8 free but 0 GPUs free */
    place_request r = req(1, 1, 4, 1);
    CU_ASSERT_EQUAL(gang(&r, nodes, 3, out, 2, reason, sizeof reason), PLACE_WAIT);
    CU_ASSERT_TRUE(poisoned(out, 2));
    r = req(1, 1, 3, 0);   /* fits c only */
    CU_ASSERT_EQUAL(gang(&r, nodes, 3, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 2);
    CU_ASSERT_EQUAL(out[0].ngpus, 0);
    r = req(1, 1, 2, 0);   /* b is the best fit: 0 left */
    CU_ASSERT_EQUAL(gang(&r, nodes, 3, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 1);
    /* a node reporting more used than it has is full, not huge */
    place_node over[] = { node("x", 8, 12, 0) };
    r = req(1, 1, 1, 0);
    CU_ASSERT_EQUAL(gang(&r, over, 1, out, 2, reason, sizeof reason), PLACE_WAIT);
}

/* A gang is all or nothing: a 2-node job with one free node waits, and
 * nothing of a half placement leaks into 'out'. */
static void test_all_or_nothing(void)
{
    place_node nodes[] = { node("a", 8, 0, 2), node("b", 8, 8, 2), node("c", 8, 0, 2) };
    nodes[2].usable = false;
    place_request r = req(2, 2, 2, 1);
    place_choice out[2];
    char reason[128];
    CU_ASSERT_EQUAL(place_check(&r, nodes, 3, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(gang(&r, nodes, 3, out, 2, reason, sizeof reason), PLACE_WAIT);
    CU_ASSERT_TRUE(poisoned(out, 2));
    /* once b frees up, both nodes at once */
    nodes[1].cpus_used = 0;
    CU_ASSERT_EQUAL(gang(&r, nodes, 3, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 0);
    CU_ASSERT_EQUAL(out[1].node, 1);
}

static void test_best_fit(void)
{
    place_node nodes[] = {
        node("a", 64, 0, 0),    /* 56 left after an 8-CPU gang */
        node("b", 64, 48, 0),   /* 8 left */
        node("c", 64, 32, 0),   /* 24 left */
        node("d", 64, 60, 0),   /* does not fit */
    };
    place_request r = req(1, 2, 4, 0);
    place_choice out[3];
    char reason[128];
    CU_ASSERT_EQUAL(gang(&r, nodes, 4, out, 3, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 1);
    /* more nodes: in best-fit order, which is node rank order */
    r = req(3, 2, 4, 0);
    CU_ASSERT_EQUAL(gang(&r, nodes, 4, out, 3, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 1);
    CU_ASSERT_EQUAL(out[1].node, 2);
    CU_ASSERT_EQUAL(out[2].node, 0);
    /* exactly filling a node is the best fit of all */
    r = req(1, 1, 4, 0);
    CU_ASSERT_EQUAL(gang(&r, nodes, 4, out, 3, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 3);
}

/* Equal fits go by node name, so the choice does not depend on the order
 * in which workers registered. */
static void test_ties_by_name(void)
{
    static const char *const orders[][4] = {
        { "node-c", "node-a", "node-d", "node-b" },
        { "node-b", "node-d", "node-a", "node-c" },
        { "node-a", "node-b", "node-c", "node-d" },
        { "node-d", "node-c", "node-b", "node-a" },
    };
    for (size_t k = 0; k < N_ELEMS(orders); k++) {
        place_node nodes[4];
        for (size_t i = 0; i < 4; i++)
            nodes[i] = node(orders[k][i], 16, 4, 2);
        place_request r = req(2, 1, 4, 1);
        place_choice out[2];
        char reason[128];
        CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 4, out, 2, reason, sizeof reason), PLACE_OK);
        CU_ASSERT_STRING_EQUAL(nodes[out[0].node].name, "node-a");
        CU_ASSERT_STRING_EQUAL(nodes[out[1].node].name, "node-b");
    }
    /* but fit comes before name */
    place_node nodes[] = { node("a", 16, 0, 0), node("z", 16, 8, 0) };
    place_request r = req(1, 1, 4, 0);
    place_choice out[1];
    char reason[128];
    CU_ASSERT_EQUAL(gang(&r, nodes, 2, out, 1, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 1);
}

static void test_unusable_skipped(void)
{
    place_node nodes[] = {
        node("a", 32, 28, 0),   /* best fit, but drained */
        node("b", 32, 16, 0),
        node("c", 32, 0, 0),
        node("d", 32, 24, 0),   /* next best, but down */
    };
    nodes[0].usable = false;
    nodes[3].usable = false;
    place_request r = req(2, 1, 4, 0);
    place_choice out[2];
    char reason[128];
    CU_ASSERT_EQUAL(gang(&r, nodes, 4, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 1);
    CU_ASSERT_EQUAL(out[1].node, 2);
    r = req(3, 1, 4, 0);
    CU_ASSERT_EQUAL(gang(&r, nodes, 4, out, 2, reason, sizeof reason), PLACE_WAIT);
}

static void test_gpu_choice(void)
{
    static const bool used_a[8] = { true, true, false, true, false, false, false, true };
    static const bool used_b[8] = { false, true, true, true, true, true, true, false };
    place_node nodes[] = { node("a", 64, 0, 8), node("b", 64, 0, 8) };
    nodes[0].gpu_used = used_a;
    nodes[1].gpu_used = used_b;
    place_choice out[2];
    char reason[128];

    /* 4 GPUs: only a has 4 free (2, 4, 5, 6) */
    place_request r = req(1, 4, 1, 4);
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 2, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 0);
    CU_ASSERT_EQUAL_FATAL(out[0].ngpus, 4);
    static const uint32_t want_a[4] = { 2, 4, 5, 6 };
    CU_ASSERT_EQUAL(memcmp(out[0].gpus, want_a, sizeof want_a), 0);

    /* 2 GPUs on each of 2 nodes: b gives 0 and 7, a its first two free */
    r = req(2, 1, 1, 2);
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 2, out, 2, reason, sizeof reason), PLACE_OK);
    for (size_t k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL_FATAL(out[k].ngpus, 2);
        const bool *used = nodes[out[k].node].gpu_used;
        for (uint32_t g = 0; g < out[k].ngpus; g++) {
            CU_ASSERT_TRUE(out[k].gpus[g] < 8);
            CU_ASSERT_FALSE(used[out[k].gpus[g]]);
        }
        CU_ASSERT_NOT_EQUAL(out[k].gpus[0], out[k].gpus[1]);
    }
    const place_choice *on_b = out[0].node == 1 ? &out[0] : &out[1];
    CU_ASSERT_EQUAL(on_b->gpus[0], 0);
    CU_ASSERT_EQUAL(on_b->gpus[1], 7);

    /* 3 GPUs on 2 nodes: b has only 2 free */
    r = req(2, 1, 1, 3);
    CU_ASSERT_EQUAL(gang(&r, nodes, 2, out, 2, reason, sizeof reason), PLACE_WAIT);
    CU_ASSERT_TRUE(poisoned(out, 2));

    /* no GPUs asked, none given */
    r = req(1, 1, 1, 0);
    CU_ASSERT_EQUAL(gang(&r, nodes, 2, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].ngpus, 0);

    /* all 8 of an idle node */
    place_node idle[] = { node("g", 64, 0, 8) };
    r = req(1, 8, 1, 8);
    CU_ASSERT_EQUAL_FATAL(gang(&r, idle, 1, out, 1, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL_FATAL(out[0].ngpus, 8);
    for (uint32_t g = 0; g < 8; g++)
        CU_ASSERT_EQUAL(out[0].gpus[g], g);
}

static void test_distinct_nodes(void)
{
    char names[16][24];
    place_node nodes[16];
    for (size_t i = 0; i < 16; i++) {
        snprintf(names[i], sizeof names[i], "n%02zu", i);
        /* a spread of loads, some full */
        nodes[i] = node(names[i], 32, (uint32_t)((i * 7) % 5) * 8, 4);
    }
    size_t free_nodes = 0;
    for (size_t i = 0; i < 16; i++)
        free_nodes += nodes[i].cpus - nodes[i].cpus_used >= 8;
    place_choice out[16];
    char reason[128];
    for (uint32_t want = 1; want <= 16; want++) {
        place_request r = req(want, 2, 4, 1);
        enum place_result res = gang(&r, nodes, 16, out, 16, reason, sizeof reason);
        if (want > free_nodes) {
            CU_ASSERT_EQUAL(res, PLACE_WAIT);
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(res, PLACE_OK);
        bool seen[16] = { false };
        for (uint32_t k = 0; k < want; k++) {
            CU_ASSERT_TRUE_FATAL(out[k].node < 16);
            CU_ASSERT_FALSE(seen[out[k].node]);
            seen[out[k].node] = true;
            const place_node *pn = &nodes[out[k].node];
            CU_ASSERT_TRUE(pn->cpus - pn->cpus_used >= 8);
            CU_ASSERT_EQUAL(out[k].ngpus, 1);
            /* best fit first: free CPUs never decrease along the ranks */
            if (k > 0) {
                const place_node *prev = &nodes[out[k - 1].node];
                CU_ASSERT_TRUE(prev->cpus - prev->cpus_used <= pn->cpus - pn->cpus_used);
            }
        }
        /* nothing written past the gang */
        CU_ASSERT_TRUE(want == 16 || poisoned(&out[want], 16 - want));
    }
}

/* Non-preemptible jobs never see spot nodes; preemptible ones take spot
 * nodes first and on-demand ones after; PLACE_SPOT_ONLY keeps to spot. */
static void test_spot(void)
{
    place_node nodes[] = { node("od-a", 4, 0, 0), node("spot-a", 4, 0, 0),
                           node("od-b", 4, 0, 0), node("spot-b", 4, 2, 0) };
    nodes[1].spot = nodes[3].spot = true;
    place_choice out[4];
    char reason[256];
    place_request r = req(2, 1, 2, 0);
    CU_ASSERT_EQUAL(gang(&r, nodes, 4, out, 4, reason, sizeof reason), PLACE_OK);
    for (int k = 0; k < 2; k++)
        CU_ASSERT_FALSE(nodes[out[k].node].spot);
    r.nodes = 3;   /* only two on-demand nodes exist */
    CU_ASSERT_EQUAL(place_check(&r, nodes, 4, reason, sizeof reason), PLACE_NEVER);
    CU_ASSERT_PTR_NOT_NULL(strstr(reason, "spot nodes take only --preemptible jobs"));
    r.spot = PLACE_SPOT_PREFER;
    CU_ASSERT_EQUAL(gang(&r, nodes, 4, out, 4, reason, sizeof reason), PLACE_OK);
    /* both spot nodes first (best fit: spot-b), then the best on-demand one */
    CU_ASSERT_STRING_EQUAL(nodes[out[0].node].name, "spot-b");
    CU_ASSERT_STRING_EQUAL(nodes[out[1].node].name, "spot-a");
    CU_ASSERT_FALSE(nodes[out[2].node].spot);
    r.spot = PLACE_SPOT_ONLY;   /* -p spot: two spot nodes can never hold three */
    CU_ASSERT_EQUAL(gang(&r, nodes, 4, out, 4, reason, sizeof reason), PLACE_NEVER);
    r.nodes = 2;
    CU_ASSERT_EQUAL(gang(&r, nodes, 4, out, 4, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_TRUE(nodes[out[0].node].spot && nodes[out[1].node].spot);
    /* every node a spot node: a non-preemptible job could never run */
    place_node spots[] = { node("s1", 4, 0, 0), node("s2", 4, 0, 0) };
    spots[0].spot = spots[1].spot = true;
    r = req(1, 1, 1, 0);
    CU_ASSERT_EQUAL(place_check(&r, spots, 2, reason, sizeof reason), PLACE_NEVER);
    CU_ASSERT_PTR_NOT_NULL(strstr(reason, "every node is a spot node"));
}

/* Nodes to avoid (where the job's last attempt lost its ranks) go last,
 * whatever their fit, and are still used when nothing else fits. */
static void test_avoid(void)
{
    place_node nodes[] = { node("a", 4, 3, 0), node("b", 4, 0, 0), node("c", 4, 0, 0) };
    uint8_t avoid[] = { 1, 0, 0 };
    place_choice out[3];
    char reason[128];
    place_request r = req(1, 1, 1, 0);
    CU_ASSERT_EQUAL(gang(&r, nodes, 3, out, 3, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 0);   /* best fit without the mark */
    r.avoid = avoid;
    CU_ASSERT_EQUAL(gang(&r, nodes, 3, out, 3, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 1);
    r.nodes = 3;
    CU_ASSERT_EQUAL(gang(&r, nodes, 3, out, 3, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[2].node, 0);
}

/* NVLink islands: an 8-GPU node of two islands of 4 (one per socket). */
static const int32_t two_islands[8] = { 0, 0, 0, 0, 1, 1, 1, 1 };

static bool gpus_are(const place_choice *c, const uint32_t *want, uint32_t n)
{
    if (c->ngpus != n)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (c->gpus[i] != want[i])
            return false;
    return true;
}

static void test_islands(void)
{
    bool used[PLACE_MAX_GPUS] = { false };
    place_node nodes[] = { node("dgx", 64, 0, 8) };
    nodes[0].gpu_used = used;
    nodes[0].gpu_island = two_islands;
    place_choice out[2];
    char reason[128];
    place_request r = req(1, 1, 1, 4);
    static const uint32_t lo[4] = { 0, 1, 2, 3 }, hi[4] = { 4, 5, 6, 7 };
    /* two 4-GPU jobs on an empty node take the two islands */
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 1, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_TRUE(gpus_are(&out[0], lo, 4));
    for (int g = 0; g < 4; g++)
        used[out[0].gpus[g]] = true;
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 1, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_TRUE(gpus_are(&out[0], hi, 4));
    /* one GPU of island 0 busy: a 4-GPU job takes island 1 whole, not 3 + 1 */
    memset(used, 0, sizeof used);
    used[1] = true;
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 1, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_TRUE(gpus_are(&out[0], hi, 4));
    /* a 2-GPU job goes to the fuller island (3 free), keeping island 1 whole */
    r.gpus_per_node = 2;
    static const uint32_t two[2] = { 0, 2 };
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 1, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_TRUE(gpus_are(&out[0], two, 2));
    /* 3 free in each island: a 4-GPU job must span them, 3 + 1, lowest first */
    memset(used, 0, sizeof used);
    used[0] = used[4] = true;
    r.gpus_per_node = 4;
    static const uint32_t span[4] = { 1, 2, 3, 5 };
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 1, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_TRUE(gpus_are(&out[0], span, 4));
    /* across nodes: the node where the GPUs fit in one island wins over a
     * better CPU fit where they would span islands */
    bool used_b[PLACE_MAX_GPUS] = { false };
    place_node two_nodes[] = { node("a-split", 8, 6, 8), node("b-whole", 64, 0, 8) };
    two_nodes[0].gpu_used = used;          /* 3 + 3 free */
    two_nodes[0].gpu_island = two_islands;
    two_nodes[1].gpu_used = used_b;
    two_nodes[1].gpu_island = two_islands;
    CU_ASSERT_EQUAL_FATAL(gang(&r, two_nodes, 2, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 1);
    CU_ASSERT_TRUE(gpus_are(&out[0], lo, 4));
}


/* An 8-GPU job asked on one node is never admitted onto 4 + 4 free GPUs of
 * two nodes; a whole free node takes it. */
static void test_whole_node(void)
{
    bool half[PLACE_MAX_GPUS] = { true, true, true, true };
    place_node nodes[] = { node("a", 64, 0, 8), node("b", 64, 0, 8) };
    nodes[0].gpu_used = nodes[1].gpu_used = half;
    place_choice out[2];
    char reason[128];
    place_request r = req(1, 8, 1, 8);
    CU_ASSERT_EQUAL(gang(&r, nodes, 2, out, 2, reason, sizeof reason), PLACE_WAIT);
    CU_ASSERT_STRING_EQUAL(reason, "Resources");
    nodes[1].gpu_used = gpus_free;
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 2, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 1);
    CU_ASSERT_EQUAL(out[0].ngpus, 8);
    /* best fit by GPUs: a 4-GPU job takes the half-used node, keeping the
     * whole one free for a whole-node job */
    r.gpus_per_node = 4;
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 2, out, 2, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(out[0].node, 0);
}

/* A gang of several nodes stays under one switch when one has room: the
 * switch with the fewest candidates that still holds it. */
static void test_switch_groups(void)
{
    place_node nodes[] = { node("a1", 8, 0, 0), node("a2", 8, 0, 0), node("a3", 8, 0, 0),
                           node("b1", 8, 0, 0), node("b2", 8, 0, 0), node("c1", 8, 0, 0) };
    uint32_t group[] = { 1, 1, 1, 2, 2, 3 };
    for (int i = 0; i < 6; i++)
        nodes[i].group = group[i];
    place_choice out[4];
    char reason[128];
    place_request r = req(2, 1, 1, 0);
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 6, out, 4, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_EQUAL(nodes[out[0].node].group, 2);
    CU_ASSERT_EQUAL(nodes[out[1].node].group, 2);
    r.nodes = 3;   /* only switch 1 holds three */
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 6, out, 4, reason, sizeof reason), PLACE_OK);
    for (int k = 0; k < 3; k++)
        CU_ASSERT_EQUAL(nodes[out[k].node].group, 1);
    r.nodes = 4;   /* no switch holds four: the gang spans switches */
    CU_ASSERT_EQUAL(gang(&r, nodes, 6, out, 4, reason, sizeof reason), PLACE_OK);
}

/* Partitions and excluded (held) nodes. */
static void test_partitions_exclude(void)
{
    place_node nodes[] = { node("p1", 8, 0, 0), node("p2", 8, 0, 0), node("q1", 8, 0, 0) };
    nodes[0].parts = nodes[1].parts = 1u << 0;
    nodes[2].parts = 1u << 1;
    place_choice out[3];
    char reason[128];
    place_request r = req(2, 1, 1, 0);
    r.parts = 1u << 1;
    CU_ASSERT_EQUAL(gang(&r, nodes, 3, out, 3, reason, sizeof reason), PLACE_NEVER);
    r.parts = 1u << 0;
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 3, out, 3, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_TRUE(out[0].node < 2 && out[1].node < 2);
    r.parts = 1u << 2;   /* a partition no node is in */
    CU_ASSERT_EQUAL(place_check(&r, nodes, 3, reason, sizeof reason), PLACE_NEVER);
    CU_ASSERT_PTR_NOT_NULL(strstr(reason, "partition"));
    uint8_t exclude[3] = { 0, 1, 0 };
    r.parts = 0;
    r.exclude = exclude;
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 3, out, 3, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_TRUE(out[0].node != 1 && out[1].node != 1);
    r.nodes = 3;   /* held, not gone: it waits */
    CU_ASSERT_EQUAL(gang(&r, nodes, 3, out, 3, reason, sizeof reason), PLACE_WAIT);
}

/* Between two islands that fit equally, the one near a NIC. */
static void test_nic_island(void)
{
    place_node nodes[] = { node("n", 64, 0, 8) };
    nodes[0].gpu_island = two_islands;
    static const uint8_t nic_hi[8] = { 0, 0, 0, 0, 1, 1, 1, 1 };
    nodes[0].gpu_nic = nic_hi;
    place_choice out[1];
    char reason[128];
    place_request r = req(1, 1, 1, 4);
    static const uint32_t hi[4] = { 4, 5, 6, 7 };
    CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, 1, out, 1, reason, sizeof reason), PLACE_OK);
    CU_ASSERT_TRUE(gpus_are(&out[0], hi, 4));
}

/* The best few out of many (running selection) match a full sort. */
static void test_many_nodes(void)
{
    enum { N = 3000 };
    static place_node nodes[N];
    static char names[N][16];
    static bool used[N][PLACE_MAX_GPUS];
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "n%05d", (i * 7919) % N);
        nodes[i] = node(names[i], 64, 0, 8);
        for (int g = 0; g < 8; g++) {
            seed = seed * 1103515245u + 12345u;
            used[i][g] = (seed >> 16) % 3 == 0;
        }
        nodes[i].gpu_used = used[i];
        seed = seed * 1103515245u + 12345u;
        nodes[i].cpus_used = (seed >> 16) % 60;
    }
    static place_choice out[80];
    char reason[128];
    for (uint32_t k = 1; k <= 80; k += 13) {
        place_request r = req(k, 1, 2, 3);
        CU_ASSERT_EQUAL_FATAL(gang(&r, nodes, N, out, 80, reason, sizeof reason), PLACE_OK);
        /* ranks in order: fewest GPUs left, then fewest CPUs, then name; and
         * no node outside the gang beats the last one chosen */
        for (uint32_t c = 0; c < k; c++) {
            const place_node *p = &nodes[out[c].node];
            uint32_t gl = 0;
            for (int g = 0; g < 8; g++)
                gl += !p->gpu_used[g];
            CU_ASSERT_TRUE(gl >= 3 && p->cpus - p->cpus_used >= 2);
        }
        const place_node *last = &nodes[out[k - 1].node];
        uint32_t last_free = 0;
        for (int g = 0; g < 8; g++)
            last_free += !last->gpu_used[g];
        for (int i = 0; i < N; i++) {
            bool chosen = false;
            for (uint32_t c = 0; c < k; c++)
                chosen |= out[c].node == (uint32_t)i;
            uint32_t fr = 0;
            for (int g = 0; g < 8; g++)
                fr += !nodes[i].gpu_used[g];
            if (chosen || fr < 3 || nodes[i].cpus - nodes[i].cpus_used < 2)
                continue;
            bool better = fr < last_free ||
                          (fr == last_free && nodes[i].cpus_used > last->cpus_used) ||
                          (fr == last_free && nodes[i].cpus_used == last->cpus_used &&
                           strcmp(nodes[i].name, last->name) < 0);
            CU_ASSERT_FALSE(better);
        }
    }
}

int suite_placement(void)
{
    static const unit_test tests[] = {
        { "empty cluster", test_empty_cluster },
        { "never", test_never },
        { "check ignores load", test_check_ignores_load },
        { "busy", test_busy },
        { "all or nothing", test_all_or_nothing },
        { "best fit", test_best_fit },
        { "ties by name", test_ties_by_name },
        { "unusable skipped", test_unusable_skipped },
        { "gpu choice", test_gpu_choice },
        { "distinct nodes", test_distinct_nodes },
        { "spot", test_spot },
        { "avoid", test_avoid },
        { "nvlink islands", test_islands },
        { "whole node", test_whole_node },
        { "switch groups", test_switch_groups },
        { "partitions and exclude", test_partitions_exclude },
        { "nic island", test_nic_island },
        { "many nodes", test_many_nodes },
        { NULL, NULL },
    };
    return unit_add("placement", tests);
}
