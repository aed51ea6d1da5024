/* ternd's event loop and its group commit (loop.c).
 *
 * One turn: wait for messages; open a transaction; handle every message
 * waiting on both sockets; check timers; place pending jobs; commit; send
 * what the turn produced. A burst of submissions thus costs one fsync, and
 * nothing leaves ternd that the database does not already hold. If the
 * commit fails (a full disk), the turn is rolled back, its clients are told,
 * and the model is rebuilt from the database as it was. */
#ifndef TERN_SCHED_LOOP_H
#define TERN_SCHED_LOOP_H

#include "scheduler/sched.h"

/* Opens the database, binds the sockets (writing s->opt.endpoints_file
 * once bound), starts authentication and metrics, and loads the state.
 * 's' is zeroed (s->sigfd -1) but for s->opt, which stays the caller's.
 * Returns 0, or -1 after logging why; either way the caller then calls
 * sched_finish. */
int sched_start(sched *s);
/* Runs turns until SIGTERM or SIGINT. Returns 0 then, or -1 (logged) when
 * polling fails or the state cannot be reloaded after a failed commit. */
int sched_run(sched *s);
/* Frees what sched_start and the turns made (not s->opt); safe after a
 * failed or partial sched_start. Jobs keep running on their workers. */
void sched_finish(sched *s);
/* Rebuilds jobs, accounts and node usage from the database, freeing every
 * job (job pointers held across it are stale); nodes and their live
 * connections are kept, but every worker must register again. Returns 0, or
 * -1 with the reason logged. */
int sched_reload(sched *s);

#endif
