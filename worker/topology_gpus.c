/* The node's GPUs: synthetic ones (--gpus), those an XML file records in
 * its PCI tree, or this machine's from NVML, each placed near its
 * processors through hwloc's PCI tree. */
#include "worker/topology_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/nvml.h"

#define NVIDIA_VENDOR 0x10de
#define TOPO_MAX_NVML_GPUS 64

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
int topo_gpus_fake(topology *t, int count)
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
            rc |= topo_locality(t, NULL, &g->numa, t->gpu_cpus[i]);
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

bool topo_is_nvidia_gpu(hwloc_obj_t pci)
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
int topo_gpus_from_pci(topology *t)
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
        rc |= topo_locality(t, o, &g->numa, t->gpu_cpus[i]);
        t->ngpus++;
    }
    free(pcis);
    return rc < 0 ? -1 : 0;
}

/* GPUs of this machine: NVML says which and how they are linked, hwloc's
 * PCI tree says where. */
int topo_gpus_from_nvml(topology *t)
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
        rc = topo_locality(t, pci, &t->gpus[i].numa, t->gpu_cpus[i]);
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

size_t topo_ngpus(const topology *t)
{
    return t ? t->ngpus : 0;
}

const topo_gpu *topo_gpu_at(const topology *t, size_t i)
{
    return t && i < t->ngpus ? &t->gpus[i] : NULL;
}
