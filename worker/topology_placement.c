/* Placement: the processors a rank is bound to, ranked from those local to
 * its GPUs outward by NUMA latency, and the binding itself. */
#include "worker/topology_private.h"

#include <errno.h>
#include <stdlib.h>

/* NUMA latencies (ACPI SLIT on Linux, distances2 in XML) when hwloc has a
 * complete matrix; without one, placement falls back to index order. */
int topo_latency_load(topology *t)
{
    unsigned nr = 1;
    struct hwloc_distances_s *d = NULL;
    if (hwloc_distances_get_by_type(t->hw, HWLOC_OBJ_NUMANODE, &nr, &d,
                                    HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) < 0
        || nr == 0 || !d)
        return 0;
    int rc = 0;
    if (d->nbobjs == t->nnuma) {
        if ((t->latency = calloc((size_t)t->nnuma * t->nnuma, sizeof *t->latency))) {
            for (unsigned i = 0; i < d->nbobjs; i++)
                for (unsigned j = 0; j < d->nbobjs; j++)
                    t->latency[(size_t)d->objs[i]->logical_index * t->nnuma
                               + d->objs[j]->logical_index] = d->values[i * d->nbobjs + j];
        } else {
            rc = -1;
        }
    }
    hwloc_distances_release(t->hw, d);
    return rc;
}

/* The ranking under construction: PU os indexes, each at most once. */
typedef struct topo_rank {
    unsigned *pu;
    unsigned n, cap;
    hwloc_bitmap_t listed;
} topo_rank;

static void rank_add(topo_rank *r, unsigned pu)
{
    if (r->n < r->cap && !hwloc_bitmap_isset(r->listed, pu)) {
        r->pu[r->n++] = pu;
        hwloc_bitmap_set(r->listed, pu);
    }
}

/* Candidates of 'set' for one pass: pass 0 the first PU of each core inside
 * it, pass 1 every PU in index order. Writes at most 'cap' into 'out'. */
static unsigned rank_pass(const topology *t, hwloc_const_bitmap_t set, int pass,
                          unsigned *out, unsigned cap)
{
    unsigned n = 0;
    if (pass == 0) {
        for (hwloc_obj_t c = NULL;
             n < cap && (c = hwloc_get_next_obj_inside_cpuset_by_type(t->hw, set,
                                                                      HWLOC_OBJ_CORE, c));) {
            int pu = hwloc_bitmap_first(c->cpuset);
            if (pu >= 0)
                out[n++] = (unsigned)pu;
        }
    } else {
        int pu;
        hwloc_bitmap_foreach_begin(pu, set)
            if (n < cap)
                out[n++] = (unsigned)pu;
        hwloc_bitmap_foreach_end();
    }
    return n;
}

/* The GPUs' own PUs: their distinct locality sets taken in turn, cores
 * before second hardware threads. */
static int rank_gpus(const topology *t, const uint32_t *gpus, size_t ngpus, topo_rank *r)
{
    hwloc_const_bitmap_t *dom = calloc(ngpus, sizeof *dom);
    unsigned *lists = calloc(ngpus * (size_t)(r->cap ? r->cap : 1), sizeof *lists);
    unsigned *lens = calloc(ngpus, sizeof *lens);
    if (!dom || !lists || !lens) {
        free(dom);
        free(lists);
        free(lens);
        return -1;
    }
    size_t ndom = 0;
    for (size_t i = 0; i < ngpus; i++) {
        hwloc_const_bitmap_t s = t->gpu_cpus[gpus[i]];
        size_t k = 0;
        while (k < ndom && !hwloc_bitmap_isequal(dom[k], s))
            k++;
        if (k == ndom)
            dom[ndom++] = s;
    }
    for (int pass = 0; pass < 2; pass++) {
        unsigned longest = 0;
        for (size_t d = 0; d < ndom; d++) {
            lens[d] = rank_pass(t, dom[d], pass, lists + d * r->cap, r->cap);
            if (lens[d] > longest)
                longest = lens[d];
        }
        for (unsigned k = 0; k < longest; k++)
            for (size_t d = 0; d < ndom; d++)
                if (k < lens[d])
                    rank_add(r, lists[d * r->cap + k]);
    }
    free(dom);
    free(lists);
    free(lens);
    return 0;
}

/* Adds the candidates of 'set' for one pass (rank_pass), in order; 'buf'
 * holds r->cap entries. */
static void rank_add_pass(const topology *t, topo_rank *r, hwloc_const_bitmap_t set, int pass,
                          unsigned *buf)
{
    unsigned n = rank_pass(t, set, pass, buf, r->cap);
    for (unsigned k = 0; k < n; k++)
        rank_add(r, buf[k]);
}

/* The nn NUMA nodes into 'nodes', nearest to the PUs ranked so far first
 * (by os index when latencies are unknown or nothing is ranked); 'key'
 * holds nn entries of scratch. */
static void numa_by_distance(const topology *t, const topo_rank *r, hwloc_obj_t *nodes,
                             uint64_t *key, unsigned nn)
{
    for (unsigned i = 0; i < nn; i++) {
        nodes[i] = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, i);
        key[i] = 0;
        if (!t->latency || r->n == 0)
            continue;
        key[i] = UINT64_MAX;
        for (unsigned j = 0; j < nn; j++) {
            hwloc_obj_t ref = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, j);
            uint64_t l = t->latency[(size_t)j * t->nnuma + i];
            if (hwloc_bitmap_intersects(ref->cpuset, r->listed) && l < key[i])
                key[i] = l;
        }
    }
    /* insertion sort on (key, os index): stable and deterministic */
    for (unsigned i = 1; i < nn; i++) {
        hwloc_obj_t o = nodes[i];
        uint64_t k = key[i];
        unsigned j = i;
        while (j > 0 && (key[j - 1] > k
                         || (key[j - 1] == k && nodes[j - 1]->os_index > o->os_index))) {
            nodes[j] = nodes[j - 1];
            key[j] = key[j - 1];
            j--;
        }
        nodes[j] = o;
        key[j] = k;
    }
}

/* Every other PU, NUMA node by node, nearest first (numa_by_distance). */
static int rank_rest(const topology *t, topo_rank *r)
{
    unsigned nn = (unsigned)hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_NUMANODE);
    hwloc_obj_t *nodes = calloc(nn ? nn : 1, sizeof *nodes);
    uint64_t *key = calloc(nn ? nn : 1, sizeof *key);
    unsigned *buf = calloc(r->cap ? r->cap : 1, sizeof *buf);
    if (!nodes || !key || !buf) {
        free(nodes);
        free(key);
        free(buf);
        return -1;
    }
    numa_by_distance(t, r, nodes, key, nn);
    for (unsigned i = 0; i < nn; i++)
        for (int pass = 0; pass < 2; pass++)
            rank_add_pass(t, r, nodes[i]->cpuset, pass, buf);
    /* PUs outside every NUMA node, should hwloc ever report one */
    for (int pass = 0; pass < 2; pass++)
        rank_add_pass(t, r, hwloc_get_root_obj(t->hw)->cpuset, pass, buf);
    free(nodes);
    free(key);
    free(buf);
    return 0;
}

int topo_pick_cpus(const topology *t, const uint32_t *gpus, size_t ngpus, unsigned ncpus,
                   hwloc_const_bitmap_t busy, hwloc_bitmap_t out)
{
    if (!t || !out || ncpus == 0 || (ngpus > 0 && !gpus)) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < ngpus; i++) {
        if (gpus[i] >= t->ngpus) {
            errno = EINVAL;
            return -1;
        }
    }
    topo_rank r = { .cap = topo_npus(t) };
    hwloc_bitmap_t res = hwloc_bitmap_alloc();
    r.listed = hwloc_bitmap_alloc();
    r.pu = calloc(r.cap ? r.cap : 1, sizeof *r.pu);
    int rc = -1;
    if (!res || !r.listed || !r.pu)
        goto done;
    if ((ngpus > 0 && rank_gpus(t, gpus, ngpus, &r) < 0) || rank_rest(t, &r) < 0)
        goto done;

    unsigned taken = 0;
    for (unsigned k = 0; k < r.n && taken < ncpus; k++)
        if (!busy || !hwloc_bitmap_isset(busy, r.pu[k])) {
            hwloc_bitmap_set(res, r.pu[k]);
            taken++;
        }
    /* Oversubscribed: reuse busy PUs in the same order. */
    for (unsigned k = 0; k < r.n && taken < ncpus; k++)
        if (busy && hwloc_bitmap_isset(busy, r.pu[k])) {
            hwloc_bitmap_set(res, r.pu[k]);
            taken++;
        }
    if (hwloc_bitmap_copy(out, res) < 0)
        goto done;
    rc = 0;
done:
    if (rc < 0)
        errno = ENOMEM;
    hwloc_bitmap_free(res);
    hwloc_bitmap_free(r.listed);
    free(r.pu);
    return rc;
}

int topo_bind_self(const topology *t, hwloc_const_bitmap_t cpus)
{
    if (!t || !cpus) {
        errno = EINVAL;
        return -1;
    }
    if (!t->thissystem)
        return 0;
    if (hwloc_bitmap_iszero(cpus)) {
        errno = EINVAL;
        return -1;
    }
    return hwloc_set_cpubind(t->hw, cpus, HWLOC_CPUBIND_PROCESS) < 0 ? -1 : 0;
}

void topo_cpulist(hwloc_const_bitmap_t cpus, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    if (cpus && hwloc_bitmap_list_snprintf(buf, len, cpus) < 0)
        buf[0] = '\0';
}
