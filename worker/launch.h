/* Launching the ranks ternd places on this node: a Launch's check, its
 * attempt record, who its ranks run as, node rank 0's MASTER_PORT, the
 * job's directory and files, then each rank's processors, environment,
 * output files and process (worker/spawn.h). */
#ifndef TERN_WORKER_LAUNCH_H
#define TERN_WORKER_LAUNCH_H

#include "proto/tern.pb-c.h"
#include "worker/worker.h"

/* Starts the ranks of Launch 'l' on this node, as a new attempt (or step)
 * first in w->attempts, and kills an earlier attempt of the job still
 * running here. A launch already known (same job, attempt and step) is
 * ignored. A launch this node refuses (malformed, a user without an
 * account here, every master port held) records each rank as exited 126
 * with the reason, and reports them; one without a usable tasks-per-node
 * is only logged. Node rank 0 sends Started as soon as the user and port
 * are settled. A rank that cannot start is recorded as exited (126, or
 * 127 when the command is not found) with the reason, which its output
 * file and the log get too, and reported like any exit. Out of memory for
 * the attempt itself: logged, nothing recorded. */
void worker_launch(worker *w, const Tern__Launch *l);

#endif
