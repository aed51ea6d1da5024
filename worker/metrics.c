/* The worker's /metrics: its ranks and, through NVML, its GPUs. */
#include "worker/metrics.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/promhttp.h"
#include "common/promtext.h"
#include "worker/nvml.h"
#include "worker/ranks.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define REBUILD_MS 1000

struct wmetrics {
    promhttp *http;
    nvml_session *nvml;            /* NULL: no GPU readings */
    nvml_reading *gpus;            /* nvml_ngpus entries, read each snapshot */
    int64_t next_build;            /* monotonic ms */
};

enum gpu_metric { GPU_UTIL, GPU_MEM_UTIL, GPU_MEM_USED, GPU_MEM_TOTAL, GPU_METRICS };

static const struct {
    const char *name, *help;
} gpu_metrics[GPU_METRICS] = {
    { "tern_worker_gpu_utilization_ratio",
      "Share of NVML's last sample period during which a kernel ran on the GPU." },
    { "tern_worker_gpu_memory_utilization_ratio",
      "Share of NVML's last sample period during which device memory was read or written." },
    { "tern_worker_gpu_memory_used_bytes", "GPU memory in use." },
    { "tern_worker_gpu_memory_total_bytes", "GPU memory in all." },
};

/* Metric k of GPU g into *v; false when NVML would not say (left out
 * rather than shown as 0). */
static bool gpu_value(const nvml_reading *g, enum gpu_metric k, double *v)
{
    switch (k) {
    case GPU_UTIL:
        *v = g->util_gpu / 100.0;
        return g->util_gpu >= 0;
    case GPU_MEM_UTIL:
        *v = g->util_memory / 100.0;
        return g->util_memory >= 0;
    case GPU_MEM_USED:
        *v = (double)g->mem_used;
        return g->mem_total > 0;
    default:
        *v = (double)g->mem_total;
        return g->mem_total > 0;
    }
}

static void gpu_samples(promtext *t, const nvml_reading *gpus, size_t n, const char *node)
{
    for (int k = 0; k < GPU_METRICS; k++) {
        bool family = false;
        for (size_t i = 0; i < n; i++) {
            const nvml_reading *g = &gpus[i];
            char labels[512] = "", idx[16];
            double v;
            if (!gpu_value(g, (enum gpu_metric)k, &v))
                continue;
            if (!family)
                promtext_family(t, gpu_metrics[k].name, "gauge", gpu_metrics[k].help);
            family = true;
            snprintf(idx, sizeof idx, "%u", g->index);
            promtext_label(labels, sizeof labels, "node", node);
            promtext_label(labels, sizeof labels, "gpu", idx);
            promtext_label(labels, sizeof labels, "uuid", g->uuid);
            promtext_label(labels, sizeof labels, "pci_bus_id", g->pci_bus_id);
            promtext_sample(t, gpu_metrics[k].name, labels, v);
        }
    }
}

static void publish(worker *w)
{
    struct wmetrics *m = w->metrics;
    size_t ng = nvml_read(m->nvml, m->gpus, nvml_ngpus(m->nvml)), len = 0;
    char node[256] = "";
    promtext_label(node, sizeof node, "node", w->opt.name);
    promtext t;
    promtext_init(&t);
    promtext_family(&t, "tern_worker_up", "gauge", "1 while the worker runs.");
    promtext_sample(&t, "tern_worker_up", node, 1);
    promtext_family(&t, "tern_worker_registered", "gauge",
                    "1 while the worker is registered with ternd.");
    promtext_sample(&t, "tern_worker_registered", node, w->registered);
    promtext_family(&t, "tern_worker_ranks_running", "gauge", "Ranks running on this node.");
    promtext_sample(&t, "tern_worker_ranks_running", node, (double)worker_running_ranks(w));
    gpu_samples(&t, m->gpus, ng, w->opt.name);
    char *text = promtext_finish(&t, &len);
    if (!text) {
        log_warn("node=%s: metrics: out of memory; serving the previous snapshot", w->opt.name);
        return;
    }
    promhttp_publish(m->http, text, len);
}

int wmetrics_start(worker *w)
{
    if (!w->opt.metrics_addr)
        return 0;
    struct wmetrics *m = calloc(1, sizeof *m);
    char err[512];
    if (!m) {
        log_err("node=%s: cannot serve metrics: out of memory", w->opt.name);
        return -1;
    }
    if (!(m->http = promhttp_start(w->opt.metrics_addr, err, sizeof err))) {
        log_err("node=%s: cannot serve metrics on %s", w->opt.name, err);
        free(m);
        return -1;
    }
    /* Readings of the GPUs this node offers, when NVML found them. */
    if (w->opt.gpus < 0 && !w->opt.topology_xml && topo_ngpus(w->topo) > 0 &&
        (m->nvml = nvml_open()) && !(m->gpus = calloc(nvml_ngpus(m->nvml), sizeof *m->gpus)))
        nvml_close(&m->nvml);
    w->metrics = m;
    publish(w);
    m->next_build = clock_mono_ms() + REBUILD_MS;
    log_info("node=%s: serving metrics on %s (%zu GPUs read through NVML)", w->opt.name,
             promhttp_url(m->http), nvml_ngpus(m->nvml));
    return 0;
}

int64_t wmetrics_tick(worker *w, int64_t now)
{
    struct wmetrics *m = w->metrics;
    if (!m)
        return INT64_MAX;
    if (now >= m->next_build) {
        publish(w);
        m->next_build = now + REBUILD_MS;
    }
    return m->next_build - now;
}

void wmetrics_stop(worker *w)
{
    struct wmetrics *m = w->metrics;
    if (!m)
        return;
    promhttp_stop(&m->http);
    nvml_close(&m->nvml);
    free(m->gpus);
    free(m);
    w->metrics = NULL;
}
