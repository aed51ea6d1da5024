/* The topology's life: loading it (from hwloc on this machine, or an hwloc
 * XML file) step by step, freeing it, and the node's counts. The steps
 * live in the files named in worker/topology_private.h. */
#include "worker/topology_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void topo_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void topo_err(char *err, size_t len, const char *fmt, ...)
{
    if (!err || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

void topo_busid(hwloc_obj_t pci, char *buf, size_t len)
{
    snprintf(buf, len, "%04x:%02x:%02x.%x", (unsigned)pci->attr->pcidev.domain,
             (unsigned)pci->attr->pcidev.bus, (unsigned)pci->attr->pcidev.dev,
             (unsigned)pci->attr->pcidev.func);
}

int topo_locality(const topology *t, hwloc_obj_t io, int *numa, hwloc_bitmap_t cpus)
{
    hwloc_obj_t anc = io ? hwloc_get_non_io_ancestor_obj(t->hw, io) : NULL;
    if (!anc)
        anc = hwloc_get_root_obj(t->hw);
    *numa = anc->nodeset && hwloc_bitmap_weight(anc->nodeset) == 1
        ? hwloc_bitmap_first(anc->nodeset) : -1;
    return hwloc_bitmap_copy(cpus, anc->cpuset);
}

/* Replays an XML file as recorded, I/O devices included. Returns 0, or -1
 * with the reason in 'err'. */
static int load_xml(topology *t, const char *xml_path, char *err, size_t errlen)
{
    /* hwloc says only "invalid argument" for a file it cannot open. */
    FILE *f = fopen(xml_path, "r");
    if (!f) {
        topo_err(err, errlen, "topology %s: %s", xml_path, strerror(errno));
        return -1;
    }
    fclose(f);
    if (hwloc_topology_set_xml(t->hw, xml_path) < 0
        || hwloc_topology_set_io_types_filter(t->hw, HWLOC_TYPE_FILTER_KEEP_ALL) < 0
        || hwloc_topology_load(t->hw) < 0) {
        topo_err(err, errlen, "topology %s: cannot parse hwloc XML", xml_path);
        return -1;
    }
    return 0;
}

/* Discovers this machine. Returns 0, or -1 with the reason in 'err'. */
static int load_this_machine(topology *t, char *err, size_t errlen)
{
    /* Linux sysfs alone gives the PCI tree and its locality. The other
     * I/O backends only cost: libpciaccess ("pci") adds device names and
     * leaks on every load, "cuda" and "opencl" initialize the GPU
     * drivers (seconds, a context per GPU), "gl" needs an X server, and
     * NVML we query ourselves. Unknown names (hwloc built without
     * them) are no error worth failing for. */
    static const char *const skip[] = { "pci", "cuda", "opencl", "gl", "nvml",
                                        "rsmi", "levelzero" };
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        (void)hwloc_topology_set_components(t->hw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST,
                                            skip[i]);
    /* GPUs and NICs are "important" PCI devices; bridges and the rest
     * would only cost discovery time. */
    if (hwloc_topology_set_io_types_filter(t->hw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT) < 0
        || hwloc_topology_load(t->hw) < 0) {
        topo_err(err, errlen, "topology: hwloc discovery failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* The GPUs, their links and islands, the NICs and the NUMA latencies of a
 * loaded hwloc topology. Returns 0, or -1 (out of memory). */
static int find_devices(topology *t, const char *xml_path, int fake_gpus)
{
    int rc;
    if (fake_gpus >= 0)
        rc = topo_gpus_fake(t, fake_gpus);
    else if (xml_path)
        rc = topo_gpus_from_pci(t) < 0 ? -1 : topo_nvlinks_from_xml(t);
    else
        rc = topo_gpus_from_nvml(t);
    if (rc == 0)
        topo_islands(t);
    if (rc < 0 || topo_nics_find(t) < 0 || topo_latency_load(t) < 0)
        return -1;
    return 0;
}

topology *topo_load(const char *xml_path, int fake_gpus, char *err, size_t errlen)
{
    const char *what = xml_path ? xml_path : "this machine";
    topology *t = calloc(1, sizeof *t);
    if (!t || hwloc_topology_init(&t->hw) < 0) {
        topo_err(err, errlen, "topology %s: %s", what, strerror(errno));
        free(t);
        return NULL;
    }
    if ((xml_path ? load_xml(t, xml_path, err, errlen) : load_this_machine(t, err, errlen)) < 0)
        goto error;
    t->thissystem = hwloc_topology_is_thissystem(t->hw) != 0;
    int nnuma = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_NUMANODE);
    t->nnuma = nnuma > 0 ? (unsigned)nnuma : 1;
    if (find_devices(t, xml_path, fake_gpus) < 0) {
        topo_err(err, errlen, "topology %s: %s", what, strerror(ENOMEM));
        goto error;
    }
    return t;
error:
    topo_destroy(&t);
    return NULL;
}

void topo_destroy(topology **tp)
{
    if (!tp || !*tp)
        return;
    topology *t = *tp;
    int saved = errno;
    for (size_t i = 0; t->gpu_cpus && i < t->gpu_slots; i++)
        hwloc_bitmap_free(t->gpu_cpus[i]);
    free(t->gpu_cpus);
    free(t->gpus);
    free(t->nvlinks);
    free(t->nics);
    free(t->latency);
    if (t->hw)
        hwloc_topology_destroy(t->hw);
    free(t);
    *tp = NULL;
    errno = saved;
}

unsigned topo_npus(const topology *t)
{
    int n = t ? hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_PU) : 0;
    return n > 0 ? (unsigned)n : 0;
}

unsigned topo_ncores(const topology *t)
{
    int n = t ? hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_CORE) : 0;
    return n > 0 ? (unsigned)n : topo_npus(t);
}

unsigned topo_nnuma(const topology *t)
{
    return t ? t->nnuma : 1;
}

uint64_t topo_memory_mb(const topology *t)
{
    if (!t)
        return 0;
    uint64_t mb = hwloc_get_root_obj(t->hw)->total_memory / (1024 * 1024);
    /* Some virtual machines leave hot-added memory out of the NUMA nodes'
     * meminfo that hwloc reads; the kernel's count of this machine wins. */
    if (t->thissystem) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        uint64_t sys = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size >> 20 : 0;
        if (sys > mb)
            mb = sys;
    }
    return mb;
}

bool topo_is_this_system(const topology *t)
{
    return t && t->thissystem;
}

hwloc_topology_t topo_hwloc(const topology *t)
{
    return t ? t->hw : NULL;
}
