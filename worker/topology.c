/* Node topology from hwloc, GPUs from NVML or the recorded PCI tree, their
 * NVLinks, and the ranking of processors used to place a rank near its
 * GPUs. */
#include "worker/topology.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/nvml.h"

#define NVIDIA_VENDOR 0x10de
#define TOPO_MAX_NVML_GPUS 64

struct topology {
    hwloc_topology_t hw;
    bool thissystem;
    topo_gpu *gpus;
    hwloc_bitmap_t *gpu_cpus;   /* PUs local to each GPU, for topo_pick_cpus */
    size_t ngpus;
    size_t gpu_slots;           /* entries allocated in gpus and gpu_cpus */
    uint16_t *nvlinks;          /* ngpus x ngpus link counts, or NULL: no NVLink */
    size_t nislands;
    topo_nic *nics;             /* the network ones, then the OpenFabrics ones */
    size_t nnics;               /* network */
    size_t nhcas;               /* OpenFabrics, from nics[nnics] */
    unsigned nnuma;
    uint64_t *latency;          /* nnuma x nnuma by NUMA logical index, or NULL */
};

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

static void topo_busid(hwloc_obj_t pci, char *buf, size_t len)
{
    snprintf(buf, len, "%04x:%02x:%02x.%x", (unsigned)pci->attr->pcidev.domain,
             (unsigned)pci->attr->pcidev.bus, (unsigned)pci->attr->pcidev.dev,
             (unsigned)pci->attr->pcidev.func);
}

/* Where an I/O object (or NULL: somewhere unknown) sits: the PUs of its
 * first non-I/O ancestor, and that ancestor's NUMA node when it has only
 * one. */
static int topo_place(const topology *t, hwloc_obj_t io, int *numa, hwloc_bitmap_t cpus)
{
    hwloc_obj_t anc = io ? hwloc_get_non_io_ancestor_obj(t->hw, io) : NULL;
    if (!anc)
        anc = hwloc_get_root_obj(t->hw);
    *numa = anc->nodeset && hwloc_bitmap_weight(anc->nodeset) == 1
        ? hwloc_bitmap_first(anc->nodeset) : -1;
    return hwloc_bitmap_copy(cpus, anc->cpuset);
}

static int topo_gpus_alloc(topology *t, size_t n)
{
    t->ngpus = 0;
    if (n == 0)
        return 0;
    t->gpus = calloc(n, sizeof *t->gpus);
    t->gpu_cpus = calloc(n, sizeof *t->gpu_cpus);
    if (!t->gpus || !t->gpu_cpus)
        return -1;
    t->gpu_slots = n;
    for (size_t i = 0; i < n; i++)
        if (!(t->gpu_cpus[i] = hwloc_bitmap_alloc()))
            return -1;
    return 0;
}

/* Synthetic GPUs go round-robin over the NUMA nodes that have processors
 * (memory-only nodes such as CXL or HBM expanders host no GPU). */
static int topo_gpus_fake(topology *t, int count)
{
    if (topo_gpus_alloc(t, (size_t)count) < 0)
        return -1;
    int nnodes = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_NUMANODE);
    hwloc_obj_t *nodes = calloc(nnodes > 0 ? (size_t)nnodes : 1, sizeof *nodes);
    if (!nodes)
        return -1;
    size_t nuse = 0;
    for (int i = 0; i < nnodes; i++) {
        hwloc_obj_t node = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, (unsigned)i);
        if (node && !hwloc_bitmap_iszero(node->cpuset))
            nodes[nuse++] = node;
    }
    for (int i = 0; nuse == 0 && i < nnodes; i++)
        nodes[nuse++] = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, (unsigned)i);
    int rc = 0;
    for (int i = 0; i < count; i++) {
        topo_gpu *g = &t->gpus[i];
        g->index = (uint32_t)i;
        snprintf(g->name, sizeof g->name, "synthetic GPU");
        if (nuse > 0) {
            hwloc_obj_t node = nodes[(size_t)i % nuse];
            g->numa = (int)node->os_index;
            rc |= hwloc_bitmap_copy(t->gpu_cpus[i], node->cpuset);
        } else {
            rc |= topo_place(t, NULL, &g->numa, t->gpu_cpus[i]);
        }
        t->ngpus++;
    }
    free(nodes);
    return rc < 0 ? -1 : 0;
}

static int topo_pci_cmp(const void *a, const void *b)
{
    const struct hwloc_pcidev_attr_s *x = &(*(const hwloc_obj_t *)a)->attr->pcidev;
    const struct hwloc_pcidev_attr_s *y = &(*(const hwloc_obj_t *)b)->attr->pcidev;
    unsigned long kx = ((unsigned long)x->domain << 24) | ((unsigned long)x->bus << 16)
                       | ((unsigned long)x->dev << 8) | x->func;
    unsigned long ky = ((unsigned long)y->domain << 24) | ((unsigned long)y->bus << 16)
                       | ((unsigned long)y->dev << 8) | y->func;
    return kx < ky ? -1 : kx > ky;
}

static bool topo_is_nvidia_gpu(hwloc_obj_t pci)
{
    return pci->attr->pcidev.vendor_id == NVIDIA_VENDOR
        && (pci->attr->pcidev.class_id == 0x0300 || pci->attr->pcidev.class_id == 0x0302);
}

/* An info value of the GPU's OS devices (nvmlN, cudaN, cardN), which an
 * hwloc built with NVML or CUDA records. */
static const char *topo_osdev_info(hwloc_obj_t pci, const char *name)
{
    for (hwloc_obj_t c = pci->io_first_child; c; c = c->next_sibling) {
        const char *v = hwloc_obj_get_info_by_name(c, name);
        if (v && *v)
            return v;
    }
    return NULL;
}

/* GPUs recorded in an XML file: its NVIDIA display/3D PCI devices. */
static int topo_gpus_from_pci(topology *t)
{
    size_t n = 0;
    for (hwloc_obj_t o = NULL; (o = hwloc_get_next_pcidev(t->hw, o));)
        if (topo_is_nvidia_gpu(o))
            n++;
    if (n == 0)
        return 0;
    hwloc_obj_t *pcis = calloc(n, sizeof *pcis);
    if (!pcis || topo_gpus_alloc(t, n) < 0) {
        free(pcis);
        return -1;
    }
    size_t k = 0;
    for (hwloc_obj_t o = NULL; (o = hwloc_get_next_pcidev(t->hw, o)) && k < n;)
        if (topo_is_nvidia_gpu(o))
            pcis[k++] = o;
    qsort(pcis, n, sizeof *pcis, topo_pci_cmp);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        topo_gpu *g = &t->gpus[i];
        hwloc_obj_t o = pcis[i];
        g->index = (uint32_t)i;
        topo_busid(o, g->pci_bus_id, sizeof g->pci_bus_id);
        const char *model = topo_osdev_info(o, "GPUModel");
        if (!model)
            model = hwloc_obj_get_info_by_name(o, "PCIDevice");
        if (model && *model)
            snprintf(g->name, sizeof g->name, "%s", model);
        else
            snprintf(g->name, sizeof g->name, "NVIDIA GPU [10de:%04x]",
                     (unsigned)o->attr->pcidev.device_id);
        const char *kib = topo_osdev_info(o, "CUDAGlobalMemorySize");
        if (kib)
            g->memory_mb = strtoull(kib, NULL, 10) / 1024;
        rc |= topo_place(t, o, &g->numa, t->gpu_cpus[i]);
        t->ngpus++;
    }
    free(pcis);
    return rc < 0 ? -1 : 0;
}

/* GPUs of this machine: NVML says which and how they are linked, hwloc's
 * PCI tree says where. */
static int topo_gpus_from_nvml(topology *t)
{
    topo_gpu *found = calloc(TOPO_MAX_NVML_GPUS, sizeof *found);
    uint16_t *links = calloc(TOPO_MAX_NVML_GPUS * TOPO_MAX_NVML_GPUS, sizeof *links);
    if (!found || !links) {
        free(found);
        free(links);
        return -1;
    }
    size_t n = nvml_discover_links(found, TOPO_MAX_NVML_GPUS, links);
    int rc = topo_gpus_alloc(t, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        t->gpus[i] = found[i];
        hwloc_obj_t pci = hwloc_get_pcidev_by_busidstring(t->hw, found[i].pci_bus_id);
        rc = topo_place(t, pci, &t->gpus[i].numa, t->gpu_cpus[i]);
        t->ngpus++;
    }
    bool any = false;
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++)
            any = any || links[a * TOPO_MAX_NVML_GPUS + b] > 0;
    if (rc == 0 && any) {
        if ((t->nvlinks = calloc(n * n, sizeof *t->nvlinks))) {
            for (size_t a = 0; a < n; a++)
                for (size_t b = 0; b < n; b++)
                    t->nvlinks[a * n + b] = links[a * TOPO_MAX_NVML_GPUS + b];
        } else {
            rc = -1;
        }
    }
    free(found);
    free(links);
    return rc;
}

/* ---- NVLink from XML ------------------------------------------------------ */

static bool topo_is_nvswitch(hwloc_obj_t o)
{
    return o && o->subtype && strcmp(o->subtype, "NVSwitch") == 0;
}

/* The GPU position of a distances object: an nvml (or other) OS device of
 * a GPU, or the GPU's PCI device; ngpus when it is neither. */
static size_t topo_gpu_of(const topology *t, hwloc_obj_t o)
{
    if (o && o->type == HWLOC_OBJ_OS_DEVICE)
        o = o->parent;
    if (!o || o->type != HWLOC_OBJ_PCI_DEVICE || !topo_is_nvidia_gpu(o))
        return t->ngpus;
    char busid[32];
    topo_busid(o, busid, sizeof busid);
    for (size_t i = 0; i < t->ngpus; i++)
        if (strcmp(t->gpus[i].pci_bus_id, busid) == 0)
            return i;
    return t->ngpus;
}

void topo_links_combine(size_t n, const unsigned *direct, const unsigned *sw, uint16_t *out,
                        size_t stride)
{
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++) {
            unsigned l = 0;
            if (a != b) {
                /* each side reports the same links; trust the smaller count */
                l = direct[a * n + b] < direct[b * n + a] ? direct[a * n + b]
                                                          : direct[b * n + a];
                if (sw[a] && sw[b])
                    l += sw[a] < sw[b] ? sw[a] : sw[b];
            }
            out[a * stride + b] = l > UINT16_MAX ? UINT16_MAX : (uint16_t)l;
        }
}

/* hwloc's NVML backend adds 25000 MB/s per NVLink 2.0-4.0 link and 20000
 * per 1.0 link (P100, never mixed with later ones in one machine). */
static unsigned topo_bw_links(uint64_t bw)
{
    if (bw == 0)
        return 0;
    if (bw % 25000 == 0 || bw % 20000 != 0)
        return bw < 25000 ? 1 : (unsigned)((bw + 12500) / 25000);
    return (unsigned)(bw / 20000);
}

/* Link counts between GPU positions from the "NVLinkBandwidth" matrix: GPU
 * to GPU entries are direct links, GPU to NVSwitch entries join the GPU to
 * every other GPU on a switch (see topo_nvlinks). Other objects (the CPU
 * ports of POWER machines) are left out. */
static int topo_nvlinks_from_xml(topology *t)
{
    unsigned nr = 1;
    struct hwloc_distances_s *d = NULL;
    if (t->ngpus < 2
        || hwloc_distances_get_by_name(t->hw, "NVLinkBandwidth", &nr, &d, 0) < 0
        || nr == 0 || !d)
        return 0;
    size_t n = t->ngpus;
    size_t *pos = calloc(d->nbobjs, sizeof *pos);
    unsigned *direct = calloc(n * n, sizeof *direct);
    uint64_t *sw = calloc(n, sizeof *sw);
    unsigned *swl = calloc(n, sizeof *swl);
    int rc = -1;
    if (!pos || !direct || !sw || !swl)
        goto done;
    for (unsigned i = 0; i < d->nbobjs; i++)
        pos[i] = topo_gpu_of(t, d->objs[i]);
    for (unsigned i = 0; i < d->nbobjs; i++) {
        if (pos[i] == n)
            continue;
        for (unsigned j = 0; j < d->nbobjs; j++) {
            uint64_t bw = d->values[i * d->nbobjs + j];
            if (pos[j] < n && pos[j] != pos[i])
                direct[pos[i] * n + pos[j]] += topo_bw_links(bw);
            else if (topo_is_nvswitch(d->objs[j]))
                sw[pos[i]] += bw;
        }
    }
    bool any = false;
    if (!(t->nvlinks = calloc(n * n, sizeof *t->nvlinks)))
        goto done;
    for (size_t a = 0; a < n; a++)
        swl[a] = topo_bw_links(sw[a]);
    topo_links_combine(n, direct, swl, t->nvlinks, n);
    for (size_t i = 0; i < n * n; i++)
        any = any || t->nvlinks[i] > 0;
    if (!any) {
        free(t->nvlinks);
        t->nvlinks = NULL;
    }
    rc = 0;
done:
    free(pos);
    free(direct);
    free(sw);
    free(swl);
    hwloc_distances_release(t->hw, d);
    return rc;
}

/* Islands are the connected components of the link graph, numbered in
 * order of their first GPU. */
static void topo_islands(topology *t)
{
    size_t n = t->ngpus;
    for (size_t i = 0; i < n; i++)
        t->gpus[i].island = -1;
    t->nislands = 0;
    for (size_t i = 0; i < n; i++) {
        if (t->gpus[i].island >= 0)
            continue;
        int id = (int)t->nislands++;
        t->gpus[i].island = id;
        /* flood from i; n is small (GPUs of one node) so O(n^3) is fine */
        for (bool grew = true; grew;) {
            grew = false;
            for (size_t a = 0; a < n; a++) {
                if (t->gpus[a].island != id)
                    continue;
                for (size_t b = 0; b < n; b++)
                    if (t->gpus[b].island < 0 && topo_nvlinks(t, a, b) > 0) {
                        t->gpus[b].island = id;
                        grew = true;
                    }
            }
        }
    }
}

static int topo_nic_kind_of(hwloc_obj_t o, enum topo_nic_kind *kind)
{
    if (o->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK)
        *kind = TOPO_NIC_NETWORK;
    else if (o->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS)
        *kind = TOPO_NIC_OPENFABRICS;
    else
        return -1;
    return 0;
}

static int topo_nics_find(topology *t)
{
    size_t count[2] = { 0, 0 };
    enum topo_nic_kind kind;
    for (hwloc_obj_t o = NULL; (o = hwloc_get_next_osdev(t->hw, o));)
        if (topo_nic_kind_of(o, &kind) == 0)
            count[kind]++;
    size_t n = count[TOPO_NIC_NETWORK] + count[TOPO_NIC_OPENFABRICS];
    if (n == 0)
        return 0;
    if (!(t->nics = calloc(n, sizeof *t->nics)))
        return -1;
    hwloc_bitmap_t scratch = hwloc_bitmap_alloc();
    if (!scratch)
        return -1;
    int rc = 0;
    size_t at[2] = { 0, count[TOPO_NIC_NETWORK] };
    for (hwloc_obj_t o = NULL; (o = hwloc_get_next_osdev(t->hw, o));) {
        if (topo_nic_kind_of(o, &kind) < 0)
            continue;
        topo_nic *nic = &t->nics[at[kind]++];
        snprintf(nic->name, sizeof nic->name, "%s", o->name ? o->name : "");
        if (o->parent && o->parent->type == HWLOC_OBJ_PCI_DEVICE)
            topo_busid(o->parent, nic->pci_bus_id, sizeof nic->pci_bus_id);
        nic->kind = kind;
        rc |= topo_place(t, o, &nic->numa, scratch);
    }
    t->nnics = count[TOPO_NIC_NETWORK];
    t->nhcas = count[TOPO_NIC_OPENFABRICS];
    hwloc_bitmap_free(scratch);
    return rc < 0 ? -1 : 0;
}

/* NUMA latencies (ACPI SLIT on Linux, distances2 in XML) when hwloc has a
 * complete matrix; without one, placement falls back to index order. */
static int topo_latency_load(topology *t)
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

topology *topo_load(const char *xml_path, int fake_gpus, char *err, size_t errlen)
{
    const char *what = xml_path ? xml_path : "this machine";
    topology *t = calloc(1, sizeof *t);
    if (!t || hwloc_topology_init(&t->hw) < 0) {
        topo_err(err, errlen, "topology %s: %s", what, strerror(errno));
        free(t);
        return NULL;
    }
    if (xml_path) {
        /* hwloc says only "invalid argument" for a file it cannot open. */
        FILE *f = fopen(xml_path, "r");
        if (!f) {
            topo_err(err, errlen, "topology %s: %s", xml_path, strerror(errno));
            goto error;
        }
        fclose(f);
        /* Replay the file as recorded, I/O devices included. */
        if (hwloc_topology_set_xml(t->hw, xml_path) < 0
            || hwloc_topology_set_io_types_filter(t->hw, HWLOC_TYPE_FILTER_KEEP_ALL) < 0
            || hwloc_topology_load(t->hw) < 0) {
            topo_err(err, errlen, "topology %s: cannot parse hwloc XML", xml_path);
            goto error;
        }
    } else {
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
            goto error;
        }
    }
    t->thissystem = hwloc_topology_is_thissystem(t->hw) != 0;
    int nnuma = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_NUMANODE);
    t->nnuma = nnuma > 0 ? (unsigned)nnuma : 1;

    int rc;
    if (fake_gpus >= 0)
        rc = topo_gpus_fake(t, fake_gpus);
    else if (xml_path)
        rc = topo_gpus_from_pci(t) < 0 ? -1 : topo_nvlinks_from_xml(t);
    else
        rc = topo_gpus_from_nvml(t);
    if (rc == 0)
        topo_islands(t);
    if (rc < 0 || topo_nics_find(t) < 0 || topo_latency_load(t) < 0) {
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

size_t topo_ngpus(const topology *t)
{
    return t ? t->ngpus : 0;
}

const topo_gpu *topo_gpu_at(const topology *t, size_t i)
{
    return t && i < t->ngpus ? &t->gpus[i] : NULL;
}

unsigned topo_nvlinks(const topology *t, size_t a, size_t b)
{
    if (!t || !t->nvlinks || a >= t->ngpus || b >= t->ngpus || a == b)
        return 0;
    return t->nvlinks[a * t->ngpus + b];
}

size_t topo_nislands(const topology *t)
{
    return t ? t->nislands : 0;
}

size_t topo_nnics(const topology *t)
{
    return t ? t->nnics : 0;
}

const topo_nic *topo_nic_at(const topology *t, size_t i)
{
    return t && i < t->nnics ? &t->nics[i] : NULL;
}

size_t topo_nnics_of(const topology *t, enum topo_nic_kind kind)
{
    if (!t)
        return 0;
    return kind == TOPO_NIC_OPENFABRICS ? t->nhcas : kind == TOPO_NIC_NETWORK ? t->nnics : 0;
}

const topo_nic *topo_nic_of(const topology *t, enum topo_nic_kind kind, size_t i)
{
    if (i >= topo_nnics_of(t, kind))
        return NULL;
    return &t->nics[kind == TOPO_NIC_OPENFABRICS ? t->nnics + i : i];
}

/* Interfaces no other node can reach this one through: loopback, and the
 * bridges and veth pairs of containers and VMs. NCCL picking docker0 is
 * the classic hang of a multi-node job. */
static bool topo_nic_host_local(const char *name)
{
    static const char *const prefixes[] = { "docker", "veth", "virbr", "br-" };
    if (strcmp(name, "lo") == 0)
        return true;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

int topo_nic_list(const topology *t, enum topo_nic_kind kind, char *buf, size_t len)
{
    size_t o = 0;
    int n = 0;
    const topo_nic *nic;
    if (len > 0)
        buf[0] = '\0';
    for (size_t i = 0; (nic = topo_nic_of(t, kind, i)); i++) {
        if (!nic->name[0] || (kind == TOPO_NIC_NETWORK && topo_nic_host_local(nic->name)))
            continue;
        int w = snprintf(buf + o, len > o ? len - o : 0, "%s%s", n ? "," : "", nic->name);
        if (w < 0 || o + (size_t)w >= len) {
            if (len > 0)
                buf[0] = '\0';
            errno = ENAMETOOLONG;
            return -1;
        }
        o += (size_t)w;
        n++;
    }
    return n;
}

bool topo_is_this_system(const topology *t)
{
    return t && t->thissystem;
}

hwloc_topology_t topo_hwloc(const topology *t)
{
    return t ? t->hw : NULL;
}

/* ---- placement ---------------------------------------------------------- */

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

/* Every other PU, NUMA node by node, nearest to the PUs ranked so far
 * first (by os index when latencies are unknown or nothing is ranked). */
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
    for (unsigned i = 0; i < nn; i++)
        for (int pass = 0; pass < 2; pass++) {
            unsigned n = rank_pass(t, nodes[i]->cpuset, pass, buf, r->cap);
            for (unsigned k = 0; k < n; k++)
                rank_add(r, buf[k]);
        }
    /* PUs outside every NUMA node, should hwloc ever report one */
    unsigned n = rank_pass(t, hwloc_get_root_obj(t->hw)->cpuset, 0, buf, r->cap);
    for (unsigned k = 0; k < n; k++)
        rank_add(r, buf[k]);
    n = rank_pass(t, hwloc_get_root_obj(t->hw)->cpuset, 1, buf, r->cap);
    for (unsigned k = 0; k < n; k++)
        rank_add(r, buf[k]);
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
