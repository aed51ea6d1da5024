/* Inside the topology module (worker/topology.h): the struct its files
 * share and the steps of topo_load, one file each.
 *   topology.c            loading, freeing, the node's counts
 *   topology_gpus.c       GPUs: synthetic, from an XML file's PCI tree, from NVML
 *   topology_nvlink.c     NVLink counts from an XML file, islands
 *   topology_nics.c       NICs and HCAs, the list NCCL is told
 *   topology_placement.c  NUMA latencies and the choice of a rank's processors
 * Not for use outside those files. Every step that can fail returns -1 (out
 * of memory, as a rule) leaving what it allocated in 't' for topo_destroy. */
#ifndef TERN_WORKER_TOPOLOGY_PRIVATE_H
#define TERN_WORKER_TOPOLOGY_PRIVATE_H

#include "worker/topology.h"

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

/* ---- topology.c ---- */
/* Writes the PCI bus id of 'pci' as "0000:17:00.0" into buf. */
void topo_busid(hwloc_obj_t pci, char *buf, size_t len);
/* Where an I/O object (or NULL: somewhere unknown) sits: copies into 'cpus'
 * the PUs of its first non-I/O ancestor, and sets *numa to that ancestor's
 * NUMA node when it has only one (else -1). Returns 0, or -1 (hwloc out of
 * memory). */
int topo_locality(const topology *t, hwloc_obj_t io, int *numa, hwloc_bitmap_t cpus);

/* ---- topology_gpus.c ---- */
/* Whether 'pci' is an NVIDIA display or 3D controller. */
bool topo_is_nvidia_gpu(hwloc_obj_t pci);
/* Each fills t->gpus (and t->gpu_cpus) as topo_load describes: 'count'
 * synthetic GPUs; the GPUs of an XML file's PCI tree; this machine's GPUs
 * from NVML, with their NVLinks in t->nvlinks. Return 0, or -1. */
int topo_gpus_fake(topology *t, int count);
int topo_gpus_from_pci(topology *t);
int topo_gpus_from_nvml(topology *t);

/* ---- topology_nvlink.c ---- */
/* t->nvlinks from an XML file's "NVLinkBandwidth" distances (left NULL
 * when there are none). Returns 0, or -1. */
int topo_nvlinks_from_xml(topology *t);
/* Numbers the GPUs' islands (topo_gpu.island, t->nislands) from
 * t->nvlinks. */
void topo_islands(topology *t);

/* ---- topology_nics.c ---- */
/* t->nics, t->nnics and t->nhcas from hwloc's OS devices. Returns 0, or -1. */
int topo_nics_find(topology *t);

/* ---- topology_placement.c ---- */
/* t->latency from hwloc's NUMA latencies when it has a complete matrix
 * (left NULL otherwise). Returns 0, or -1. */
int topo_latency_load(topology *t);

#endif
