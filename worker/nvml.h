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
 * numa is -1 (topology.c places the GPU). NVML is initialized and shut down
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

#endif
