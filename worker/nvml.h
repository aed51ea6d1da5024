/* NVIDIA GPU discovery through NVML, loaded at run time with dlopen so that
 * the worker builds and runs on machines without the NVIDIA driver. */
#ifndef TERN_WORKER_NVML_H
#define TERN_WORKER_NVML_H

#include <stddef.h>
#include <stdint.h>

#include "worker/topology.h"

/* Fills up to 'max' entries of 'out' with this machine's NVIDIA GPUs in NVML
 * index order: index, name, pci_bus_id normalized to "0000:17:00.0"
 * (lowercase hex, 4-digit domain), memory_mb (0 when NVML will not say);
 * numa is -1 (topology_gpus.c places the GPU). NVML is initialized and shut down
 * within the call. Returns the count: 0 when libnvidia-ml.so.1 is absent,
 * lacks a needed function, fails to initialize, or sees no GPU. A GPU whose
 * handle or bus id NVML refuses is skipped. */
size_t nvml_discover(topo_gpu *out, size_t max);

/* nvml_discover that also counts, in the same NVML session, the active
 * NVLinks of each GPU found: when 'links' is not NULL (max x max entries,
 * zeroed first), links[a * max + b] is the number of links between out[a]
 * and out[b] as topo_nvlinks defines it: direct links to the other GPU
 * (nvmlDeviceGetNvLinkRemotePciInfo names it), plus, when both have links
 * to NVSwitches (nvmlDeviceGetNvLinkRemoteDeviceType says SWITCH), the
 * smaller of their switch link counts. A driver without the NVLink queries,
 * a GPU without NVLink, or a link whose peer NVML cannot name adds
 * nothing. */
size_t nvml_discover_links(topo_gpu *out, size_t max, uint16_t *links);

/* Readings of one GPU for the worker's /metrics. */
typedef struct nvml_reading {
    uint32_t index;                /* NVML index */
    char uuid[96];                 /* "GPU-8f6a..."; "" when NVML will not say */
    char pci_bus_id[32];           /* "0000:17:00.0", as nvml_discover gives it */
    int util_gpu;                  /* percent of NVML's last sample period with a kernel
                                    * running; -1 when NVML will not say (MIG) */
    int util_memory;               /* percent of it with device memory read or written; -1 */
    uint64_t mem_used, mem_total;  /* bytes; mem_total 0 when NVML will not say */
} nvml_reading;

/* An NVML session kept open for repeated readings: initialized once, with
 * a handle on each GPU, the identity of each read once. */
typedef struct nvml_session nvml_session;

/* Opens a session. Returns it, or NULL when libnvidia-ml.so.1 is absent,
 * lacks a needed function, fails to initialize, or sees no GPU (or on
 * ENOMEM). */
nvml_session *nvml_open(void);
/* The GPUs of the session. */
size_t nvml_ngpus(const nvml_session *ns);
/* Reads utilization and memory of each GPU now into out[0..max). Returns
 * the count filled (every GPU of the session, up to max). */
size_t nvml_read(nvml_session *ns, nvml_reading *out, size_t max);
/* Shuts the session down; sets *nsp to NULL. Accepts NULL. */
void nvml_close(nvml_session **nsp);

#endif
