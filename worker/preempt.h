/* Spot notices on this node and fencing: a notice signals every local
 * rank with its job's preempt signal and SIGKILLs them a margin before the
 * deadline; a worker that has not heard from ternd for --fence-after stops
 * every rank. */
#ifndef TERN_WORKER_PREEMPT_H
#define TERN_WORKER_PREEMPT_H

#include <stdint.h>

#include "worker/worker.h"

/* Acts on a spot notice (metadata endpoint, SIGTERM on a spot node, or
 * 'tern preempt' from ternd; 'source' says which, copied): signals every
 * local rank with its preempt signal, SIGKILL at the deadline minus the
 * margin, and reports the notice to ternd with every heartbeat from then
 * on. A later notice only moves the deadline earlier. deadline_ms 0
 * withdraws the notice (and watches the endpoint again). */
void worker_notice(worker *w, int64_t deadline_ms, const char *source);

/* Starts (again) watching --notice-url, if any, for spot notices, in
 * w->watch (stopped by worker_finish). Returns 0 (also without a URL), or
 * -1 after logging why the watch could not start. */
int worker_watch_notices(worker *w);

/* Drops a notice whose deadline passed a while ago with the machine still
 * here (and watches the endpoint again), and stops every rank when ternd
 * has been silent for --fence-after ('now' monotonic ms). Returns ms until
 * it next has work, or INT32_MAX. */
int64_t worker_housekeeping(worker *w, int64_t now);

#endif
