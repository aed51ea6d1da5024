/* NVML through dlopen: no link-time dependency on the NVIDIA driver. The
 * types below are the minimal subset of nvml.h this file uses; their layout
 * is NVML's ABI (nvmlPciInfo_t as returned by nvmlDeviceGetPciInfo_v2/_v3,
 * nvmlMemory_t by nvmlDeviceGetMemoryInfo). */
#include "worker/nvml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef int nvml_return;   /* nvmlReturn_t, an enum */
#define NVML_OK 0
typedef struct nvmlDevice_st *nvml_device;

typedef struct nvml_pci_info {
    char busIdLegacy[16];   /* NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE */
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int pciDeviceId;
    unsigned int pciSubSystemId;
    char busId[32];         /* NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE, "00000000:17:00.0" */
} nvml_pci_info;

typedef struct nvml_memory {
    unsigned long long total;   /* bytes */
    unsigned long long free;
    unsigned long long used;
} nvml_memory;

typedef nvml_return (*nvml_init_fn)(void);
typedef nvml_return (*nvml_shutdown_fn)(void);
typedef nvml_return (*nvml_count_fn)(unsigned int *count);
typedef nvml_return (*nvml_handle_fn)(unsigned int index, nvml_device *dev);
typedef nvml_return (*nvml_name_fn)(nvml_device dev, char *name, unsigned int len);
typedef nvml_return (*nvml_pci_fn)(nvml_device dev, nvml_pci_info *pci);
typedef nvml_return (*nvml_memory_fn)(nvml_device dev, nvml_memory *mem);

/* Normalizes NVML's "00000000:17:00.0" (upper case, 8-digit domain) to the
 * "0000:17:00.0" hwloc and /sys use. Falls back to the numeric fields, which
 * carry no function number (NVML GPUs are function 0). */
static void nvml_busid(const nvml_pci_info *pci, char *buf, size_t len)
{
    unsigned dom, bus, dev, fn;
    char end;
    if (sscanf(pci->busId, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &end) == 4
        || sscanf(pci->busIdLegacy, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &end) == 4)
        snprintf(buf, len, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
    else
        snprintf(buf, len, "%04x:%02x:%02x.0", pci->domain, pci->bus, pci->device);
}

size_t nvml_discover(topo_gpu *out, size_t max)
{
    if (!out || max == 0)
        return 0;
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return 0;
    /* Function pointers from dlsym: POSIX guarantees the conversion. */
    nvml_init_fn init = (nvml_init_fn)dlsym(lib, "nvmlInit_v2");
    nvml_shutdown_fn shutdown = (nvml_shutdown_fn)dlsym(lib, "nvmlShutdown");
    nvml_count_fn count = (nvml_count_fn)dlsym(lib, "nvmlDeviceGetCount_v2");
    nvml_handle_fn handle = (nvml_handle_fn)dlsym(lib, "nvmlDeviceGetHandleByIndex_v2");
    nvml_name_fn name = (nvml_name_fn)dlsym(lib, "nvmlDeviceGetName");
    nvml_pci_fn pciinfo = (nvml_pci_fn)dlsym(lib, "nvmlDeviceGetPciInfo_v3");
    if (!pciinfo)   /* drivers before R470 only have _v2, same struct */
        pciinfo = (nvml_pci_fn)dlsym(lib, "nvmlDeviceGetPciInfo_v2");
    nvml_memory_fn meminfo = (nvml_memory_fn)dlsym(lib, "nvmlDeviceGetMemoryInfo");

    size_t n = 0;
    if (!init || !shutdown || !count || !handle || !name || !pciinfo)
        goto done;
    if (init() != NVML_OK)
        goto done;
    unsigned int ndev = 0;
    if (count(&ndev) != NVML_OK)
        ndev = 0;
    for (unsigned int i = 0; i < ndev && n < max; i++) {
        nvml_device dev;
        nvml_pci_info pci;
        if (handle(i, &dev) != NVML_OK)
            continue;
        memset(&pci, 0, sizeof pci);
        if (pciinfo(dev, &pci) != NVML_OK)
            continue;
        topo_gpu *g = &out[n];
        memset(g, 0, sizeof *g);
        g->index = i;
        g->numa = -1;
        nvml_busid(&pci, g->pci_bus_id, sizeof g->pci_bus_id);
        if (name(dev, g->name, sizeof g->name) != NVML_OK)
            snprintf(g->name, sizeof g->name, "NVIDIA GPU %u", i);
        g->name[sizeof g->name - 1] = '\0';
        nvml_memory mem;
        if (meminfo && meminfo(dev, &mem) == NVML_OK)
            g->memory_mb = mem.total / (1024 * 1024);
        n++;
    }
    shutdown();
done:
    dlclose(lib);
    return n;
}
