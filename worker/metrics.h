/* tern-worker's Prometheus endpoint (--metrics HOST:PORT): /metrics in the
 * text exposition format 0.0.4.
 *
 * The worker's loop reads NVML and its own ranks and publishes a text
 * snapshot at start and once a second after; libmicrohttpd's thread serves
 * the last snapshot and never reads the worker (common/promhttp.h).
 *
 *   tern_worker_up{node}                  1 while the worker runs
 *   tern_worker_registered{node}          1 while registered with ternd
 *   tern_worker_ranks_running{node}       ranks running on the node
 * and, for each GPU NVML finds (a node whose GPUs came from NVML, not from
 * --gpus or --topology), labels node, gpu (NVML index), uuid, pci_bus_id:
 *   tern_worker_gpu_utilization_ratio         kernel running, 0 to 1
 *   tern_worker_gpu_memory_utilization_ratio  device memory busy, 0 to 1
 *   tern_worker_gpu_memory_used_bytes, tern_worker_gpu_memory_total_bytes */
#ifndef TERN_WORKER_METRICS_H
#define TERN_WORKER_METRICS_H

#include <stdint.h>

#include "worker/worker.h"

/* Serves w->opt.metrics_addr (nothing when NULL) and publishes a first
 * snapshot; call after worker_start. Returns 0, or -1 after logging why
 * ("cannot serve metrics on 127.0.0.1:9100: Address already in use"). */
int wmetrics_start(worker *w);
/* The loop, once a turn: publishes a new snapshot when a second has
 * passed since the last ('now' monotonic ms). Returns the ms until it
 * next has work (INT64_MAX when metrics are off), for the loop's poll. */
int64_t wmetrics_tick(worker *w, int64_t now);
/* Stops serving and frees; accepts metrics off. */
void wmetrics_stop(worker *w);

#endif
