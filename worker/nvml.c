/* NVML through dlopen: no link-time dependency on the NVIDIA driver. The
 * types below are the minimal subset of nvml.h this file uses; their layout
 * is NVML's ABI (nvmlPciInfo_t as returned by nvmlDeviceGetPciInfo_v2/_v3
 * and nvmlDeviceGetNvLinkRemotePciInfo_v2, nvmlMemory_t by
 * nvmlDeviceGetMemoryInfo, nvmlEnableState_t and nvmlIntNvLinkDeviceType_t
 * as enums). */
#include "worker/nvml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvml_return;   /* nvmlReturn_t, an enum */
#define NVML_OK 0
typedef struct nvmlDevice_st *nvml_device;
#define NVML_FEATURE_ENABLED 1          /* nvmlEnableState_t */
#define NVML_NVLINK_DEVICE_TYPE_SWITCH 2   /* nvmlIntNvLinkDeviceType_t */
/* NVML_NVLINK_MAX_LINKS: 12 in R470's nvml.h, 18 since Hopper; a driver
 * refuses the link numbers it does not know, which are skipped. */
#define NVML_MAX_LINKS 18

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

typedef struct nvml_utilization {
    unsigned int gpu;           /* percent */
    unsigned int memory;
} nvml_utilization;

typedef nvml_return (*nvml_init_fn)(void);
typedef nvml_return (*nvml_shutdown_fn)(void);
typedef nvml_return (*nvml_count_fn)(unsigned int *count);
typedef nvml_return (*nvml_handle_fn)(unsigned int index, nvml_device *dev);
typedef nvml_return (*nvml_name_fn)(nvml_device dev, char *name, unsigned int len);
typedef nvml_return (*nvml_pci_fn)(nvml_device dev, nvml_pci_info *pci);
typedef nvml_return (*nvml_memory_fn)(nvml_device dev, nvml_memory *mem);
typedef nvml_return (*nvml_link_state_fn)(nvml_device dev, unsigned int link, int *active);
typedef nvml_return (*nvml_link_pci_fn)(nvml_device dev, unsigned int link, nvml_pci_info *pci);
typedef nvml_return (*nvml_link_type_fn)(nvml_device dev, unsigned int link, int *type);
typedef nvml_return (*nvml_uuid_fn)(nvml_device dev, char *uuid, unsigned int len);
typedef nvml_return (*nvml_util_fn)(nvml_device dev, nvml_utilization *util);

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

/* The NVLink queries, NULL when this driver lacks them. */
typedef struct nvml_link_api {
    nvml_link_state_fn state;
    nvml_link_pci_fn remote_pci;
    nvml_link_type_fn remote_type;   /* may be NULL alone: switches then unseen */
} nvml_link_api;

static size_t nvml_gpu_by_busid(const topo_gpu *gpus, size_t n, const char *busid)
{
    /* NVLink peers are named by device, not function: compare "dddd:bb:dd" */
    for (size_t i = 0; i < n; i++)
        if (strncmp(gpus[i].pci_bus_id, busid, 10) == 0)
            return i;
    return n;
}

/* Counts each GPU's active links by peer, then folds the switch links into
 * GPU pairs. 'handles' holds the NVML handle of each out[] entry. */
static void nvml_count_links(const nvml_link_api *api, nvml_device *handles,
                             const topo_gpu *gpus, size_t n, size_t stride, uint16_t *links)
{
    if (n == 0)
        return;
    unsigned *direct = calloc(n * n, sizeof *direct);
    unsigned *sw = calloc(n, sizeof *sw);
    if (!direct || !sw)
        goto done;
    for (size_t a = 0; a < n; a++) {
        for (unsigned l = 0; l < NVML_MAX_LINKS; l++) {
            int active = 0, type = -1;
            nvml_pci_info pci;
            char busid[32];
            if (api->state(handles[a], l, &active) != NVML_OK || active != NVML_FEATURE_ENABLED)
                continue;
            memset(&pci, 0, sizeof pci);
            if (api->remote_pci(handles[a], l, &pci) != NVML_OK)
                continue;
            nvml_busid(&pci, busid, sizeof busid);
            size_t b = nvml_gpu_by_busid(gpus, n, busid);
            if (b < n && b != a)
                direct[a * n + b]++;
            else if (b == n && api->remote_type
                     && api->remote_type(handles[a], l, &type) == NVML_OK
                     && type == NVML_NVLINK_DEVICE_TYPE_SWITCH)
                sw[a]++;
        }
    }
    topo_links_combine(n, direct, sw, links, stride);
done:
    free(direct);
    free(sw);
}

size_t nvml_discover(topo_gpu *out, size_t max)
{
    return nvml_discover_links(out, max, NULL);
}

size_t nvml_discover_links(topo_gpu *out, size_t max, uint16_t *links)
{
    if (!out || max == 0)
        return 0;
    if (links)
        memset(links, 0, max * max * sizeof *links);
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
    nvml_link_api api = {
        .state = (nvml_link_state_fn)dlsym(lib, "nvmlDeviceGetNvLinkState"),
        .remote_pci = (nvml_link_pci_fn)dlsym(lib, "nvmlDeviceGetNvLinkRemotePciInfo_v2"),
        .remote_type = (nvml_link_type_fn)dlsym(lib, "nvmlDeviceGetNvLinkRemoteDeviceType"),
    };
    nvml_device *handles = NULL;

    size_t n = 0;
    if (!init || !shutdown || !count || !handle || !name || !pciinfo)
        goto done;
    if (init() != NVML_OK)
        goto done;
    handles = calloc(max, sizeof *handles);
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
        if (handles)
            handles[n] = dev;
        n++;
    }
    if (links && handles && api.state && api.remote_pci)
        nvml_count_links(&api, handles, out, n, max, links);
    shutdown();
done:
    free(handles);
    dlclose(lib);
    return n;
}

/* ---- a session for readings (the worker's /metrics) ---- */

struct nvml_session {
    void *lib;
    nvml_shutdown_fn shutdown;
    nvml_util_fn util;             /* NULL: utilization unknown */
    nvml_memory_fn meminfo;        /* NULL: memory unknown */
    size_t n;
    nvml_device *dev;
    nvml_reading *id;              /* index, uuid and bus id of each */
};

nvml_session *nvml_open(void)
{
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return NULL;
    nvml_init_fn init = (nvml_init_fn)dlsym(lib, "nvmlInit_v2");
    nvml_count_fn count = (nvml_count_fn)dlsym(lib, "nvmlDeviceGetCount_v2");
    nvml_handle_fn handle = (nvml_handle_fn)dlsym(lib, "nvmlDeviceGetHandleByIndex_v2");
    nvml_uuid_fn uuid = (nvml_uuid_fn)dlsym(lib, "nvmlDeviceGetUUID");
    nvml_pci_fn pciinfo = (nvml_pci_fn)dlsym(lib, "nvmlDeviceGetPciInfo_v3");
    if (!pciinfo)
        pciinfo = (nvml_pci_fn)dlsym(lib, "nvmlDeviceGetPciInfo_v2");
    nvml_session *ns = calloc(1, sizeof *ns);
    unsigned int ndev = 0;
    if (!ns)
        goto fail;
    ns->lib = lib;
    ns->shutdown = (nvml_shutdown_fn)dlsym(lib, "nvmlShutdown");
    ns->util = (nvml_util_fn)dlsym(lib, "nvmlDeviceGetUtilizationRates");
    ns->meminfo = (nvml_memory_fn)dlsym(lib, "nvmlDeviceGetMemoryInfo");
    if (!init || !ns->shutdown || !count || !handle || !pciinfo || init() != NVML_OK)
        goto fail;
    if (count(&ndev) != NVML_OK || ndev == 0 || !(ns->dev = calloc(ndev, sizeof *ns->dev)) ||
        !(ns->id = calloc(ndev, sizeof *ns->id))) {
        ns->shutdown();
        goto fail;
    }
    for (unsigned int i = 0; i < ndev; i++) {
        nvml_pci_info pci;
        nvml_reading *r = &ns->id[ns->n];
        memset(&pci, 0, sizeof pci);
        if (handle(i, &ns->dev[ns->n]) != NVML_OK || pciinfo(ns->dev[ns->n], &pci) != NVML_OK)
            continue;   /* skipped, as nvml_discover skips it */
        r->index = i;
        nvml_busid(&pci, r->pci_bus_id, sizeof r->pci_bus_id);
        if (!uuid || uuid(ns->dev[ns->n], r->uuid, sizeof r->uuid) != NVML_OK)
            r->uuid[0] = '\0';
        r->uuid[sizeof r->uuid - 1] = '\0';
        ns->n++;
    }
    if (ns->n == 0) {
        ns->shutdown();
        goto fail;
    }
    return ns;
fail:
    if (ns) {
        free(ns->dev);
        free(ns->id);
        free(ns);
    }
    dlclose(lib);
    return NULL;
}

size_t nvml_ngpus(const nvml_session *ns)
{
    return ns ? ns->n : 0;
}

size_t nvml_read(nvml_session *ns, nvml_reading *out, size_t max)
{
    size_t k = 0;
    for (; ns && k < ns->n && k < max; k++) {
        nvml_reading *r = &out[k];
        *r = ns->id[k];
        nvml_utilization u;
        nvml_memory mem;
        r->util_gpu = r->util_memory = -1;
        if (ns->util && ns->util(ns->dev[k], &u) == NVML_OK) {
            r->util_gpu = (int)u.gpu;
            r->util_memory = (int)u.memory;
        }
        r->mem_used = r->mem_total = 0;
        if (ns->meminfo && ns->meminfo(ns->dev[k], &mem) == NVML_OK) {
            r->mem_used = mem.used;
            r->mem_total = mem.total;
        }
    }
    return k;
}

void nvml_close(nvml_session **nsp)
{
    nvml_session *ns = nsp ? *nsp : NULL;
    if (!ns)
        return;
    ns->shutdown();
    dlclose(ns->lib);
    free(ns->dev);
    free(ns->id);
    free(ns);
    *nsp = NULL;
}
