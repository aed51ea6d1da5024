/* NVLink between the node's GPUs: the link counts an XML file records
 * (hwloc's "NVLinkBandwidth" distances), how direct links and NVSwitch
 * links add up (shared with NVML's counts, worker/nvml.c), and the islands
 * of GPUs they join. */
#include "worker/topology_private.h"

#include <stdlib.h>
#include <string.h>

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
int topo_nvlinks_from_xml(topology *t)
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
void topo_islands(topology *t)
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
