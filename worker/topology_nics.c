/* The node's NICs: hwloc's network interfaces and OpenFabrics HCAs, and
 * the names of those that reach other nodes (for NCCL and Gloo). */
#include "worker/topology_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int topo_nics_find(topology *t)
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
        rc |= topo_locality(t, o, &nic->numa, scratch);
    }
    t->nnics = count[TOPO_NIC_NETWORK];
    t->nhcas = count[TOPO_NIC_OPENFABRICS];
    hwloc_bitmap_free(scratch);
    return rc < 0 ? -1 : 0;
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
