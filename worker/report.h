/* What the worker tells ternd: each message is sent at once without
 * waiting (ZMQ_DONTWAIT); one ternd is not there to take is dropped, since
 * the next Register or Heartbeat carries the whole state again. Nothing
 * here fails otherwise than by not sending, which is logged unless the
 * socket was only full. */
#ifndef TERN_WORKER_REPORT_H
#define TERN_WORKER_REPORT_H

#include <stdint.h>

#include "worker/worker.h"

/* Sends a Register: the node (its topology, labels, address), the state
 * of every attempt and the notice, if any. Sends nothing when out of
 * memory. */
void worker_register(worker *w);

/* Sends a Heartbeat now: the state of every attempt and the notice, if
 * any. Sends nothing when out of memory. */
void worker_heartbeat(worker *w);

/* Sends a RankExit for 'r' of 'a'. Not between runas_fs_enter and
 * runas_fs_leave: it reads LATEST as the attempt's user. */
void worker_report_exit(worker *w, const wattempt *a, const rank_proc *r);

/* Sends a Started for 'a', node rank 'node_rank' of its Launch, whose
 * ranks have MASTER_PORT 'master_port' and run as a->ra's uid and gid. */
void worker_report_started(worker *w, const wattempt *a, uint32_t node_rank,
                           uint32_t master_port);

#endif
