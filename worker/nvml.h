/* NVIDIA GPU discovery through NVML, loaded at run time with dlopen so that
 * the worker builds and runs on machines without the NVIDIA driver. */
#ifndef TERN_WORKER_NVML_H
#define TERN_WORKER_NVML_H

#include <stddef.h>

#include "worker/topology.h"

/* Fills up to 'max' entries of 'out' with this machine's NVIDIA GPUs in NVML
 * index order: index, name, pci_bus_id normalized to "0000:17:00.0"
 * (lowercase hex, 4-digit domain), memory_mb (0 when NVML will not say);
 * numa is -1 (topology.c places the GPU). NVML is initialized and shut down
 * within the call. Returns the count: 0 when libnvidia-ml.so.1 is absent,
 * lacks a needed function, fails to initialize, or sees no GPU. A GPU whose
 * handle or bus id NVML refuses is skipped. */
size_t nvml_discover(topo_gpu *out, size_t max);

#endif
