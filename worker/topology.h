/* The worker's view of its node: processors, NUMA nodes, GPUs and NICs,
 * discovered with hwloc (and NVML for GPUs) on this machine, or replayed from
 * an hwloc XML file recorded on another (a fixture standing in for a GPU
 * server), and the choice of processors to bind each rank to.
 *
 * A topology owns everything it hands out: the topo_gpu and topo_nic
 * pointers stay valid until topo_destroy. Functions that fail return -1 or
 * NULL with errno set (topo_load writes a one-line reason instead). A loaded
 * topology is read-only, so concurrent readers need no lock. (The files
 * behind this header: worker/topology_private.h.) */
#ifndef TERN_WORKER_TOPOLOGY_H
#define TERN_WORKER_TOPOLOGY_H

#include <hwloc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct topo_gpu {
    uint32_t index;        /* NVML index on this machine; position for fixture/synthetic GPUs */
    char name[96];         /* "NVIDIA H100 80GB HBM3"; "synthetic GPU" for fake ones */
    char pci_bus_id[32];   /* "0000:17:00.0"; "" for synthetic GPUs */
    int numa;              /* NUMA node os index, -1 when unknown */
    uint64_t memory_mb;    /* 0 when unknown */
    int island;            /* NVLink island: GPUs joined by NVLink, directly or through
                            * other GPUs or NVSwitches, share one; islands are numbered
                            * 0.. in order of their first GPU position, and a GPU
                            * without NVLink is an island of its own */
} topo_gpu;

enum topo_nic_kind {
    TOPO_NIC_NETWORK,      /* hwloc network OS device: an interface, "eth0", "ib0" */
    TOPO_NIC_OPENFABRICS,  /* hwloc OpenFabrics OS device: an InfiniBand/RoCE HCA, "mlx5_0" */
};

typedef struct topo_nic {
    char name[64];         /* OS device name, e.g. "eth0", "ib0", "mlx5_0" */
    char pci_bus_id[32];   /* "" for virtual NICs */
    int numa;              /* -1 when unknown */
    enum topo_nic_kind kind;
} topo_nic;

typedef struct topology topology;

/* Loads this machine's topology (xml_path NULL) or that of an hwloc XML
 * file. GPUs come from NVML on this machine (placed in the hwloc tree by
 * PCI bus id to find their NUMA node), from the NVIDIA PCI devices (vendor
 * 0x10de, class 0x0300/0x0302) of an XML file, ordered by bus id; an XML
 * GPU is named after the GPUModel its nvml/cuda OS device records, else its
 * PCIDevice name, and its memory comes from CUDAGlobalMemorySize.
 * fake_gpus >= 0 replaces whatever was found by that many synthetic GPUs
 * spread round-robin over the NUMA nodes that have processors (0 means no
 * GPU); fake_gpus < 0 keeps the discovered ones.
 * NICs are hwloc's network OS devices, in tree order; its OpenFabrics OS
 * devices (HCAs) are kept apart (topo_nic_of).
 * NVLinks (topo_nvlinks, topo_gpu.island) come from NVML on this machine and
 * from the "NVLinkBandwidth" distances of an XML file (see topo_nvlinks);
 * synthetic GPUs have none.
 * Returns a topology the caller frees with topo_destroy, or NULL with a
 * one-line message in 'err' (e.g. "topology FILE: cannot parse hwloc XML"). */
topology *topo_load(const char *xml_path, int fake_gpus, char *err, size_t errlen);

/* Frees *tp and sets it to NULL; accepts NULL and *tp == NULL. */
void topo_destroy(topology **tp);

unsigned topo_npus(const topology *t);     /* logical processors (PUs) */
unsigned topo_ncores(const topology *t);   /* PUs when hwloc knows no cores */
unsigned topo_nnuma(const topology *t);    /* at least 1 */
uint64_t topo_memory_mb(const topology *t);
size_t topo_ngpus(const topology *t);
const topo_gpu *topo_gpu_at(const topology *t, size_t i);   /* NULL when i >= topo_ngpus */
/* The network interfaces (TOPO_NIC_NETWORK), what the node reports. */
size_t topo_nnics(const topology *t);
const topo_nic *topo_nic_at(const topology *t, size_t i);   /* NULL when i >= topo_nnics */
/* The NICs of one kind, in tree order; topo_nic_of(t, kind, i) is NULL when
 * i >= topo_nnics_of(t, kind). */
size_t topo_nnics_of(const topology *t, enum topo_nic_kind kind);
const topo_nic *topo_nic_of(const topology *t, enum topo_nic_kind kind, size_t i);

/* Writes the names of the NICs of 'kind' that can carry traffic between
 * nodes into 'buf', comma-separated in tree order ("" for none): for
 * TOPO_NIC_NETWORK every interface but loopback ("lo") and the host-local
 * ones of containers and VMs (names starting with docker, veth, virbr or
 * br-); for TOPO_NIC_OPENFABRICS every HCA. Returns how many names it
 * wrote, or -1 with errno ENAMETOOLONG when they do not fit (buf then "",
 * when len > 0). */
int topo_nic_list(const topology *t, enum topo_nic_kind kind, char *buf, size_t len);

/* Number of NVLink links between the GPUs at positions a and b, 0 when
 * a == b or either is not a GPU position; symmetric. A link to an NVSwitch
 * joins a GPU to every other GPU on the switches, so two GPUs on switches
 * count the smaller of their totals of switch links (hwloc's "transitive
 * closure"); direct GPU-to-GPU links add to that. From XML, hwloc's NVML
 * backend records 25000 MB/s per NVLink 2.0-4.0 link (20000 for 1.0), and
 * counts are the bandwidths divided by that. */
unsigned topo_nvlinks(const topology *t, size_t a, size_t b);

/* Link counts between n GPUs from what each one sees: direct[a*n+b] links
 * from a to b, sw[a] links from a to NVSwitches. Writes out[a*stride+b]:
 * the smaller of the two directions' direct counts plus, when both reach
 * switches, the smaller switch count (hwloc's transitive closure); 0 on the
 * diagonal. Shared by the NVML and the XML paths. */
void topo_links_combine(size_t n, const unsigned *direct, const unsigned *sw, uint16_t *out,
                        size_t stride);

/* Number of NVLink islands (see topo_gpu.island): topo_ngpus when no GPU
 * has NVLink, 0 without GPUs. */
size_t topo_nislands(const topology *t);

/* True when the topology is this machine's (not an XML fixture): only then
 * may ranks be bound. */
bool topo_is_this_system(const topology *t);

/* The underlying hwloc topology, owned by 't', for callers that need more
 * than this API gives; treat it as read-only. */
hwloc_topology_t topo_hwloc(const topology *t);

/* Chooses 'ncpus' processors (os indexes) for one rank into 'out' (cleared
 * first). Candidates are ranked: first the PUs local to the GPUs whose
 * positions in the topo_gpu list are gpus[0..ngpus) (one PU per core before
 * the second PU of any core, taking cores in turn from each GPU's NUMA node
 * when they differ), then the other NUMA nodes nearest first by NUMA latency
 * when hwloc knows it, else by os index (again one PU per core first within
 * each node). PUs set in 'busy' (may be NULL) are skipped while free ones
 * remain; when fewer than 'ncpus' are free the busy ones are reused in the
 * same ranking (a node may advertise more CPUs than it has), and when
 * ncpus > topo_npus every PU is chosen. Deterministic.
 * Returns 0, or -1 with errno EINVAL when ncpus == 0 or a gpus[] entry is not
 * a GPU position, ENOMEM when out of memory ('out' unchanged on failure). */
int topo_pick_cpus(const topology *t, const uint32_t *gpus, size_t ngpus, unsigned ncpus,
                   hwloc_const_bitmap_t busy, hwloc_bitmap_t out);

/* Binds the calling process (all its threads) to 'cpus'. A no-op returning
 * 0 when the topology is not this system's. Returns -1 with errno on
 * failure (EINVAL for an empty set). */
int topo_bind_self(const topology *t, hwloc_const_bitmap_t cpus);

/* Writes 'cpus' as a list "0-3,8" into buf, truncated to fit ("" when
 * empty). */
void topo_cpulist(hwloc_const_bitmap_t cpus, char *buf, size_t len);

#endif
