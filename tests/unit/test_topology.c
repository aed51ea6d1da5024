/* worker/topology: recorded servers replayed from XML (a 2-socket 4-GPU
 * server, a DGX H100 with NVSwitch, two NVLink islands, PCIe-only GPUs, no
 * GPU), synthetic machines written to XML on the fly (NUMA latencies, SMT), and
 * this machine itself. Fixture paths are relative to the source tree:
 * $TERN_SRCDIR, else the current directory. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/topology.h"

#define FIXTURE "tests/fixtures/topologies/2socket-4gpu.xml"

static topology *load_named(const char *file, int fake_gpus)
{
    char path[1024], err[256] = "";
    const char *src = getenv("TERN_SRCDIR");
    snprintf(path, sizeof path, "%s/%s", src && *src ? src : ".", file);
    topology *t = topo_load(path, fake_gpus, err, sizeof err);
    if (!t)
        fprintf(stderr, "load_named: %s\n", err);
    return t;
}

static topology *load_fixture(int fake_gpus)
{
    return load_named(FIXTURE, fake_gpus);
}

#define TOPOLOGIES "tests/fixtures/topologies/"
#define DGX TOPOLOGIES "dgx-h100-8gpu-nvswitch.xml"
#define ISLANDS TOPOLOGIES "8gpu-2islands.xml"
#define PCIE TOPOLOGIES "4gpu-pcie.xml"
#define CPU_ONLY TOPOLOGIES "cpu-only.xml"

/* Picks for the GPUs at positions gpus[0..ngpus) and returns the cpulist
 * in a static buffer ("ERR" on failure). */
static const char *pick(const topology *t, const uint32_t *gpus, size_t ngpus,
                        unsigned ncpus, const char *busy_list)
{
    static char buf[128];
    hwloc_bitmap_t out = hwloc_bitmap_alloc();
    hwloc_bitmap_t busy = NULL;
    if (busy_list) {
        busy = hwloc_bitmap_alloc();
        hwloc_bitmap_list_sscanf(busy, busy_list);
    }
    if (topo_pick_cpus(t, gpus, ngpus, ncpus, busy, out) < 0)
        snprintf(buf, sizeof buf, "ERR");
    else
        topo_cpulist(out, buf, sizeof buf);
    hwloc_bitmap_free(out);
    hwloc_bitmap_free(busy);
    return buf;
}

/* Writes the synthetic machine 'desc' as XML into 'dir'; with 'latency'
 * (nnuma x nnuma) the NUMA nodes get that latency matrix. */
static int write_synthetic(const char *dir, const char *desc, const uint64_t *latency,
                           unsigned nnuma, char *path, size_t len)
{
    hwloc_topology_t hw;
    int rc = -1;
    snprintf(path, len, "%s/synthetic.xml", dir);
    if (hwloc_topology_init(&hw) < 0)
        return -1;
    if (hwloc_topology_set_synthetic(hw, desc) < 0 || hwloc_topology_load(hw) < 0)
        goto done;
    if (latency) {
        hwloc_obj_t nodes[16];
        hwloc_uint64_t values[16 * 16];   /* hwloc wants them writable */
        if (nnuma > 16)
            goto done;
        for (unsigned i = 0; i < nnuma; i++)
            nodes[i] = hwloc_get_obj_by_type(hw, HWLOC_OBJ_NUMANODE, i);
        for (unsigned i = 0; i < nnuma * nnuma; i++)
            values[i] = latency[i];
        hwloc_distances_add_handle_t h = hwloc_distances_add_create(
            hw, "NUMALatency",
            HWLOC_DISTANCES_KIND_FROM_USER | HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0);
        if (!h || hwloc_distances_add_values(hw, h, nnuma, nodes, values, 0) < 0
            || hwloc_distances_add_commit(hw, h, 0) < 0)
            goto done;
    }
    rc = hwloc_topology_export_xml(hw, path, 0);
done:
    hwloc_topology_destroy(hw);
    return rc;
}

/* ---- the recorded GPU server -------------------------------------------- */

static void test_fixture_machine(void)
{
    topology *t = load_fixture(-1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(topo_npus(t), 8);
    CU_ASSERT_EQUAL(topo_ncores(t), 8);
    CU_ASSERT_EQUAL(topo_nnuma(t), 2);
    CU_ASSERT_EQUAL(topo_memory_mb(t), 65536);
    CU_ASSERT_FALSE(topo_is_this_system(t));
    CU_ASSERT_PTR_NOT_NULL(topo_hwloc(t));
    topo_destroy(&t);
    CU_ASSERT_PTR_NULL(t);
}

static void test_fixture_gpus(void)
{
    static const char *const bus[] = {
        "0000:18:00.0", "0000:2a:00.0", "0000:9a:00.0", "0000:ab:00.0",
    };
    static const int numa[] = { 0, 0, 1, 1 };
    topology *t = load_fixture(-1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(topo_ngpus(t), 4);
    for (size_t i = 0; i < 4; i++) {
        const topo_gpu *g = topo_gpu_at(t, i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        CU_ASSERT_EQUAL(g->index, i);
        CU_ASSERT_STRING_EQUAL(g->pci_bus_id, bus[i]);
        CU_ASSERT_EQUAL(g->numa, numa[i]);
        CU_ASSERT_STRING_EQUAL(g->name, "NVIDIA H100 80GB HBM3");
        CU_ASSERT_EQUAL(g->memory_mb, 81559);
    }
    CU_ASSERT_PTR_NULL(topo_gpu_at(t, 4));
    topo_destroy(&t);
}

static void test_fixture_nics(void)
{
    topology *t = load_fixture(-1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(topo_nnics(t), 1);
    const topo_nic *n = topo_nic_at(t, 0);
    CU_ASSERT_STRING_EQUAL(n->name, "eth0");
    CU_ASSERT_STRING_EQUAL(n->pci_bus_id, "0000:05:00.0");
    CU_ASSERT_EQUAL(n->numa, 0);
    CU_ASSERT_PTR_NULL(topo_nic_at(t, 1));
    topo_destroy(&t);
}

static void test_fake_gpus(void)
{
    topology *t = load_fixture(3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(topo_ngpus(t), 3);
    static const int numa[] = { 0, 1, 0 };
    for (size_t i = 0; i < 3; i++) {
        const topo_gpu *g = topo_gpu_at(t, i);
        CU_ASSERT_EQUAL(g->index, i);
        CU_ASSERT_EQUAL(g->numa, numa[i]);
        CU_ASSERT_STRING_EQUAL(g->name, "synthetic GPU");
        CU_ASSERT_STRING_EQUAL(g->pci_bus_id, "");
        CU_ASSERT_EQUAL(g->memory_mb, 0);
    }
    /* the synthetic GPU on node 1 draws its CPUs from node 1 */
    CU_ASSERT_STRING_EQUAL(pick(t, (const uint32_t[]){ 1 }, 1, 2, NULL), "4-5");
    /* NICs are still the recorded ones */
    CU_ASSERT_EQUAL(topo_nnics(t), 1);
    topo_destroy(&t);

    t = load_fixture(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(topo_ngpus(t), 0);
    CU_ASSERT_PTR_NULL(topo_gpu_at(t, 0));
    topo_destroy(&t);
}

/* ---- NVLink and the other recorded servers ------------------------------ */

/* Link counts are symmetric, none to itself or outside the GPUs, and
 * islands are numbered 0.. by first GPU with linked GPUs sharing one. */
static void check_links(const topology *t)
{
    size_t n = topo_ngpus(t);
    int next = 0;
    for (size_t a = 0; a < n; a++) {
        int island = topo_gpu_at(t, a)->island;
        CU_ASSERT_TRUE(island >= 0 && (size_t)island < topo_nislands(t));
        CU_ASSERT_TRUE(island <= next);
        if (island == next)
            next++;
        CU_ASSERT_EQUAL(topo_nvlinks(t, a, a), 0);
        CU_ASSERT_EQUAL(topo_nvlinks(t, a, n), 0);
        CU_ASSERT_EQUAL(topo_nvlinks(t, n, a), 0);
        for (size_t b = 0; b < n; b++) {
            CU_ASSERT_EQUAL(topo_nvlinks(t, a, b), topo_nvlinks(t, b, a));
            if (topo_nvlinks(t, a, b) > 0)
                CU_ASSERT_EQUAL(island, topo_gpu_at(t, b)->island);
        }
    }
    CU_ASSERT_EQUAL((size_t)next, topo_nislands(t));
}

/* The number of objects of the recorded NVLinkBandwidth matrix, 0 without one. */
static unsigned nvlink_matrix_objs(const topology *t)
{
    unsigned nr = 1, nbobjs = 0;
    struct hwloc_distances_s *d = NULL;
    if (hwloc_distances_get_by_name(topo_hwloc(t), "NVLinkBandwidth", &nr, &d, 0) == 0
        && nr == 1 && d) {
        CU_ASSERT_TRUE(d->kind & HWLOC_DISTANCES_KIND_MEANS_BANDWIDTH);
        nbobjs = d->nbobjs;
        hwloc_distances_release(topo_hwloc(t), d);
    }
    return nbobjs;
}

static void check_nics(const topology *t, const char *const *names, const char *const *bus,
                       const int *numa, size_t n)
{
    CU_ASSERT_EQUAL_FATAL(topo_nnics(t), n);
    for (size_t i = 0; i < n; i++) {
        const topo_nic *nic = topo_nic_at(t, i);
        CU_ASSERT_STRING_EQUAL(nic->name, names[i]);
        CU_ASSERT_STRING_EQUAL(nic->pci_bus_id, bus[i]);
        CU_ASSERT_EQUAL(nic->numa, numa[i]);
    }
    CU_ASSERT_PTR_NULL(topo_nic_at(t, n));
}

static void test_dgx_nvswitch(void)
{
    static const char *const bus[] = {
        "0000:1a:00.0", "0000:1b:00.0", "0000:42:00.0", "0000:43:00.0",
        "0000:9a:00.0", "0000:9b:00.0", "0000:c2:00.0", "0000:c3:00.0",
    };
    static const char *const nics[] = { "ib0", "ib1", "ib2", "ib3" };
    static const char *const nic_bus[] = {
        "0000:1c:00.0", "0000:44:00.0", "0000:9c:00.0", "0000:c4:00.0",
    };
    static const int nic_numa[] = { 0, 0, 1, 1 };
    topology *t = load_named(DGX, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(topo_npus(t), 8);
    CU_ASSERT_EQUAL(topo_nnuma(t), 2);
    CU_ASSERT_EQUAL_FATAL(topo_ngpus(t), 8);
    for (size_t i = 0; i < 8; i++) {
        const topo_gpu *g = topo_gpu_at(t, i);
        CU_ASSERT_EQUAL(g->index, i);
        CU_ASSERT_STRING_EQUAL(g->pci_bus_id, bus[i]);
        CU_ASSERT_EQUAL(g->numa, i < 4 ? 0 : 1);
        CU_ASSERT_STRING_EQUAL(g->name, "NVIDIA H100 80GB HBM3");
        CU_ASSERT_EQUAL(g->island, 0);
        /* all 18 links go to the NVSwitches, which reach every other GPU */
        for (size_t j = 0; j < 8; j++)
            CU_ASSERT_EQUAL(topo_nvlinks(t, i, j), i == j ? 0 : 18);
    }
    CU_ASSERT_EQUAL(topo_nislands(t), 1);
    /* 8 nvml OS devices and 4 NVSwitch PCI devices; the ConnectX-7
     * OpenFabrics devices (mlx5_N) are not network devices */
    CU_ASSERT_EQUAL(nvlink_matrix_objs(t), 12);
    check_nics(t, nics, nic_bus, nic_numa, 4);
    check_links(t);
    topo_destroy(&t);
}

static void test_two_islands(void)
{
    static const char *const nics[] = { "ib0", "ib1" };
    static const char *const nic_bus[] = { "0000:5a:00.0", "0000:da:00.0" };
    static const int nic_numa[] = { 0, 1 };
    topology *t = load_named(ISLANDS, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(topo_ngpus(t), 8);
    CU_ASSERT_EQUAL(topo_nislands(t), 2);
    for (size_t i = 0; i < 8; i++) {
        const topo_gpu *g = topo_gpu_at(t, i);
        CU_ASSERT_EQUAL(g->numa, i < 4 ? 0 : 1);
        CU_ASSERT_EQUAL(g->island, i < 4 ? 0 : 1);
        CU_ASSERT_STRING_EQUAL(g->name, "NVIDIA A100-SXM4-80GB");
        for (size_t j = 0; j < 8; j++) {
            unsigned want = i == j || i / 4 != j / 4 ? 0 : 4;
            CU_ASSERT_EQUAL(topo_nvlinks(t, i, j), want);
        }
    }
    CU_ASSERT_EQUAL(nvlink_matrix_objs(t), 8);
    check_nics(t, nics, nic_bus, nic_numa, 2);
    check_links(t);
    topo_destroy(&t);
}

static void test_pcie_only(void)
{
    static const char *const nics[] = { "eth0" };
    static const char *const nic_bus[] = { "0000:05:00.0" };
    static const int nic_numa[] = { 0 };
    topology *t = load_named(PCIE, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(topo_npus(t), 4);
    CU_ASSERT_EQUAL(topo_nnuma(t), 1);
    CU_ASSERT_EQUAL_FATAL(topo_ngpus(t), 4);
    CU_ASSERT_EQUAL(topo_nislands(t), 4);
    for (size_t i = 0; i < 4; i++) {
        const topo_gpu *g = topo_gpu_at(t, i);
        CU_ASSERT_EQUAL(g->numa, 0);
        CU_ASSERT_EQUAL(g->island, (int)i);
        CU_ASSERT_STRING_EQUAL(g->name, "NVIDIA L40S");
        CU_ASSERT_EQUAL(g->memory_mb, 46068);
        for (size_t j = 0; j < 4; j++)
            CU_ASSERT_EQUAL(topo_nvlinks(t, i, j), 0);
    }
    CU_ASSERT_EQUAL(nvlink_matrix_objs(t), 0);
    check_nics(t, nics, nic_bus, nic_numa, 1);
    check_links(t);
    topo_destroy(&t);
}

static void test_cpu_only(void)
{
    static const char *const nics[] = { "eth0" };
    static const char *const nic_bus[] = { "0000:05:00.0" };
    static const int nic_numa[] = { 0 };
    topology *t = load_named(CPU_ONLY, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(topo_npus(t), 8);
    CU_ASSERT_EQUAL(topo_nnuma(t), 2);
    CU_ASSERT_EQUAL(topo_ngpus(t), 0);
    CU_ASSERT_EQUAL(topo_nislands(t), 0);
    CU_ASSERT_PTR_NULL(topo_gpu_at(t, 0));
    CU_ASSERT_EQUAL(topo_nvlinks(t, 0, 1), 0);
    check_nics(t, nics, nic_bus, nic_numa, 1);
    /* no GPU: placement by index, as on any CPU node */
    CU_ASSERT_STRING_EQUAL(pick(t, NULL, 0, 2, NULL), "0-1");
    topo_destroy(&t);
}

/* The first fixture predates NVLink: no matrix, every GPU its own island;
 * synthetic GPUs have no NVLink even on an NVSwitch machine. */
static void test_no_nvlink(void)
{
    topology *t = load_fixture(-1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(topo_nislands(t), 4);
    check_links(t);
    topo_destroy(&t);

    t = load_named(DGX, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(topo_ngpus(t), 3);
    CU_ASSERT_EQUAL(topo_nislands(t), 3);
    CU_ASSERT_EQUAL(topo_nvlinks(t, 0, 1), 0);
    CU_ASSERT_EQUAL(topo_gpu_at(t, 2)->island, 2);
    check_links(t);
    topo_destroy(&t);

    CU_ASSERT_EQUAL(topo_nvlinks(NULL, 0, 1), 0);
    CU_ASSERT_EQUAL(topo_nislands(NULL), 0);
}

/* ---- placement ------------------------------------------------------------ */

static void test_pick_near_gpu(void)
{
    topology *t = load_fixture(-1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    const uint32_t g2[] = { 2 }, g0[] = { 0 };
    CU_ASSERT_STRING_EQUAL(pick(t, g2, 1, 4, NULL), "4-7");
    CU_ASSERT_STRING_EQUAL(pick(t, g2, 1, 2, NULL), "4-5");
    CU_ASSERT_STRING_EQUAL(pick(t, g0, 1, 3, NULL), "0-2");
    /* past the GPU's node, the rest of the machine */
    CU_ASSERT_STRING_EQUAL(pick(t, g2, 1, 6, NULL), "0-1,4-7");
    /* no GPU: by index */
    CU_ASSERT_STRING_EQUAL(pick(t, NULL, 0, 3, NULL), "0-2");
    /* GPUs on both sockets take cores from each in turn */
    CU_ASSERT_STRING_EQUAL(pick(t, (const uint32_t[]){ 0, 2 }, 2, 4, NULL), "0-1,4-5");
    CU_ASSERT_STRING_EQUAL(pick(t, (const uint32_t[]){ 2, 0 }, 2, 2, NULL), "0,4");
    /* two GPUs of one socket are one node, not two */
    CU_ASSERT_STRING_EQUAL(pick(t, (const uint32_t[]){ 2, 3 }, 2, 4, NULL), "4-7");
    topo_destroy(&t);
}

static void test_pick_avoids_busy(void)
{
    topology *t = load_fixture(-1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    const uint32_t g2[] = { 2 };
    /* a second rank on GPU 2's socket gets the socket's other cores */
    CU_ASSERT_STRING_EQUAL(pick(t, g2, 1, 2, "4-5"), "6-7");
    /* socket 1 taken: the nearest free PUs elsewhere */
    CU_ASSERT_STRING_EQUAL(pick(t, g2, 1, 4, "4-7"), "0-3");
    CU_ASSERT_STRING_EQUAL(pick(t, g2, 1, 3, "4-7"), "0-2");
    /* too few free: all the free ones, then busy ones in rank order */
    CU_ASSERT_STRING_EQUAL(pick(t, g2, 1, 4, "0-1,4-7"), "2-5");
    /* an empty busy set is no busy set */
    CU_ASSERT_STRING_EQUAL(pick(t, g2, 1, 4, ""), "4-7");
    topo_destroy(&t);
}

static void test_pick_wraps(void)
{
    topology *t = load_fixture(-1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    const uint32_t g3[] = { 3 };
    /* more CPUs than the machine has: every PU once */
    CU_ASSERT_STRING_EQUAL(pick(t, g3, 1, 20, NULL), "0-7");
    CU_ASSERT_STRING_EQUAL(pick(t, NULL, 0, 9, "0-7"), "0-7");
    /* everything busy: reuse, still near the GPU */
    CU_ASSERT_STRING_EQUAL(pick(t, g3, 1, 3, "0-7"), "4-6");
    topo_destroy(&t);
}

static void test_pick_invalid(void)
{
    topology *t = load_fixture(-1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    hwloc_bitmap_t out = hwloc_bitmap_alloc();
    hwloc_bitmap_set(out, 42);
    errno = 0;
    CU_ASSERT_EQUAL(topo_pick_cpus(t, NULL, 0, 0, NULL, out), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_EQUAL(topo_pick_cpus(t, (const uint32_t[]){ 4 }, 1, 2, NULL, out), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    /* no side effect on failure */
    CU_ASSERT_TRUE(hwloc_bitmap_isset(out, 42));
    CU_ASSERT_EQUAL(hwloc_bitmap_weight(out), 1);
    /* success clears what was there */
    CU_ASSERT_EQUAL(topo_pick_cpus(t, NULL, 0, 1, NULL, out), 0);
    CU_ASSERT_FALSE(hwloc_bitmap_isset(out, 42));
    CU_ASSERT_EQUAL(hwloc_bitmap_weight(out), 1);
    hwloc_bitmap_free(out);
    topo_destroy(&t);
}

/* Four nodes whose latencies make node 2 the nearest to node 0 and node 1
 * the nearest to node 3: ranks spill over by distance, not by index. */
static void test_pick_by_distance(void)
{
    static const uint64_t lat[16] = {
        10, 30, 20, 40,
        30, 10, 40, 20,
        20, 40, 10, 30,
        40, 20, 30, 10,
    };
    char *dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[1024], err[256] = "";
    CU_ASSERT_EQUAL_FATAL(write_synthetic(dir, "pack:4 [numa] core:2 pu:1", lat, 4,
                                          path, sizeof path), 0);
    topology *t = topo_load(path, 4, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(topo_nnuma(t), 4);
    CU_ASSERT_EQUAL(topo_ngpus(t), 4);
    CU_ASSERT_EQUAL(topo_gpu_at(t, 3)->numa, 3);
    CU_ASSERT_STRING_EQUAL(pick(t, (const uint32_t[]){ 0 }, 1, 4, NULL), "0-1,4-5");
    CU_ASSERT_STRING_EQUAL(pick(t, (const uint32_t[]){ 3 }, 1, 4, NULL), "2-3,6-7");
    CU_ASSERT_STRING_EQUAL(pick(t, (const uint32_t[]){ 3 }, 1, 6, NULL), "2-7");
    /* no GPU, no reference node: index order */
    CU_ASSERT_STRING_EQUAL(pick(t, NULL, 0, 4, NULL), "0-3");
    topo_destroy(&t);
    unit_rmrf(dir);
    free(dir);
}

/* Two hardware threads per core: one per core first, then the siblings. */
static void test_pick_smt(void)
{
    char *dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[1024], err[256] = "";
    CU_ASSERT_EQUAL_FATAL(write_synthetic(dir, "pack:2 [numa] core:2 pu:2", NULL, 0,
                                          path, sizeof path), 0);
    topology *t = topo_load(path, 2, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(topo_npus(t), 8);
    CU_ASSERT_EQUAL(topo_ncores(t), 4);
    CU_ASSERT_EQUAL(topo_nnics(t), 0);
    const uint32_t g1[] = { 1 };
    CU_ASSERT_STRING_EQUAL(pick(t, g1, 1, 2, NULL), "4,6");
    CU_ASSERT_STRING_EQUAL(pick(t, g1, 1, 3, NULL), "4-6");
    CU_ASSERT_STRING_EQUAL(pick(t, g1, 1, 6, NULL), "0,2,4-7");
    CU_ASSERT_STRING_EQUAL(pick(t, g1, 1, 2, "4,6"), "5,7");
    CU_ASSERT_STRING_EQUAL(pick(t, NULL, 0, 2, NULL), "0,2");
    topo_destroy(&t);
    unit_rmrf(dir);
    free(dir);
}

/* ---- errors ------------------------------------------------------------- */

static void test_load_errors(void)
{
    char err[256];
    const char *missing = "/nonexistent/tern/no-such-topology.xml";
    strcpy(err, "");
    CU_ASSERT_PTR_NULL(topo_load(missing, -1, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, missing));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    /* no room for a message is not a crash */
    CU_ASSERT_PTR_NULL(topo_load(missing, -1, NULL, 0));

    char *dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    static const char *const bodies[] = {
        "this is not XML <<<\n",
        "",
        "<?xml version=\"1.0\"?>\n<topology version=\"2.0\">\n",
        "<?xml version=\"1.0\"?>\n<nottopology/>\n",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/garbage%zu.xml", dir, i);
        FILE *f = fopen(path, "w");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fputs(bodies[i], f);
        fclose(f);
        strcpy(err, "");
        topology *t = topo_load(path, -1, err, sizeof err);
        CU_ASSERT_PTR_NULL(t);
        topo_destroy(&t);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot parse hwloc XML"));
    }
    unit_rmrf(dir);
    free(dir);

    topo_destroy(NULL);
    topology *none = NULL;
    topo_destroy(&none);
}

/* ---- this machine ------------------------------------------------------- */

static int park_fd[2];

static void *parked(void *arg)
{
    char c;
    (void)arg;
    while (read(park_fd[0], &c, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

static hwloc_bitmap_t affinity_now(void)
{
    cpu_set_t set;
    hwloc_bitmap_t b = hwloc_bitmap_alloc();
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int i = 0; i < CPU_SETSIZE; i++)
            if (CPU_ISSET(i, &set))
                hwloc_bitmap_set(b, (unsigned)i);
    return b;
}

static void test_this_system(void)
{
    char err[256] = "";
    topology *t = topo_load(NULL, -1, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_TRUE(topo_is_this_system(t));
    CU_ASSERT_TRUE(topo_npus(t) >= 1);
    CU_ASSERT_TRUE(topo_ncores(t) >= 1 && topo_ncores(t) <= topo_npus(t));
    CU_ASSERT_TRUE(topo_nnuma(t) >= 1);
    CU_ASSERT_TRUE(topo_memory_mb(t) > 0);
    for (size_t i = 0; i < topo_ngpus(t); i++) {   /* only where NVML sees GPUs */
        const topo_gpu *g = topo_gpu_at(t, i);
        CU_ASSERT_EQUAL(strlen(g->pci_bus_id), 12);
        CU_ASSERT_TRUE(g->numa >= -1);
    }
    for (size_t i = 0; i < topo_nnics(t); i++)
        CU_ASSERT_NOT_EQUAL(topo_nic_at(t, i)->name[0], '\0');
    check_links(t);   /* NVLink only where NVML reports it */

    /* Bind to the first PU; a thread started before must follow. */
    hwloc_bitmap_t before = affinity_now();
    hwloc_bitmap_t first = hwloc_bitmap_alloc();
    CU_ASSERT_EQUAL(topo_pick_cpus(t, NULL, 0, 1, NULL, first), 0);
    CU_ASSERT_EQUAL(hwloc_bitmap_weight(first), 1);
    CU_ASSERT_EQUAL_FATAL(pipe(park_fd), 0);
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, parked, NULL), 0);

    CU_ASSERT_EQUAL(topo_bind_self(t, first), 0);
    hwloc_bitmap_t now = affinity_now();
    CU_ASSERT_TRUE(hwloc_bitmap_isequal(now, first));
    cpu_set_t tset;
    CPU_ZERO(&tset);
    CU_ASSERT_EQUAL(pthread_getaffinity_np(th, sizeof tset, &tset), 0);
    CU_ASSERT_EQUAL(CPU_COUNT(&tset), 1);
    CU_ASSERT_TRUE(CPU_ISSET(hwloc_bitmap_first(first), &tset));

    /* an empty set is refused, and the binding stays */
    hwloc_bitmap_t empty = hwloc_bitmap_alloc();
    errno = 0;
    CU_ASSERT_EQUAL(topo_bind_self(t, empty), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);

    /* put things back for the tests that follow */
    CU_ASSERT_EQUAL(topo_bind_self(t, before), 0);
    hwloc_bitmap_t after = affinity_now();
    CU_ASSERT_TRUE(hwloc_bitmap_isequal(after, before));

    CU_ASSERT_EQUAL(write(park_fd[1], "x", 1), 1);
    pthread_join(th, NULL);
    close(park_fd[0]);
    close(park_fd[1]);
    hwloc_bitmap_free(before);
    hwloc_bitmap_free(first);
    hwloc_bitmap_free(now);
    hwloc_bitmap_free(empty);
    hwloc_bitmap_free(after);
    topo_destroy(&t);
}

static void test_fixture_bind_is_noop(void)
{
    topology *t = load_fixture(-1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    hwloc_bitmap_t before = affinity_now();
    hwloc_bitmap_t cpus = hwloc_bitmap_alloc();
    hwloc_bitmap_set(cpus, 7);   /* need not exist here */
    CU_ASSERT_EQUAL(topo_bind_self(t, cpus), 0);
    hwloc_bitmap_t after = affinity_now();
    CU_ASSERT_TRUE(hwloc_bitmap_isequal(after, before));
    hwloc_bitmap_free(before);
    hwloc_bitmap_free(cpus);
    hwloc_bitmap_free(after);
    topo_destroy(&t);
}

static void test_cpulist(void)
{
    char buf[32];
    hwloc_bitmap_t b = hwloc_bitmap_alloc();
    topo_cpulist(b, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "");
    hwloc_bitmap_set_range(b, 0, 3);
    hwloc_bitmap_set(b, 8);
    topo_cpulist(b, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "0-3,8");
    topo_cpulist(b, buf, 4);
    CU_ASSERT_STRING_EQUAL(buf, "0-3");
    topo_cpulist(b, buf, 0);   /* nowhere to write: untouched */
    CU_ASSERT_STRING_EQUAL(buf, "0-3");
    hwloc_bitmap_free(b);
}

int suite_topology(void)
{
    static const unit_test tests[] = {
        { "fixture machine", test_fixture_machine },
        { "fixture gpus", test_fixture_gpus },
        { "fixture nics", test_fixture_nics },
        { "fake gpus", test_fake_gpus },
        { "dgx nvswitch", test_dgx_nvswitch },
        { "two islands", test_two_islands },
        { "pcie only", test_pcie_only },
        { "cpu only", test_cpu_only },
        { "no nvlink", test_no_nvlink },
        { "pick near gpu", test_pick_near_gpu },
        { "pick avoids busy", test_pick_avoids_busy },
        { "pick wraps", test_pick_wraps },
        { "pick invalid", test_pick_invalid },
        { "pick by distance", test_pick_by_distance },
        { "pick smt", test_pick_smt },
        { "load errors", test_load_errors },
        { "this system", test_this_system },
        { "fixture bind is noop", test_fixture_bind_is_noop },
        { "cpulist", test_cpulist },
        { NULL, NULL },
    };
    return unit_add("topology", tests);
}
