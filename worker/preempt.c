/* A spot notice on this node: the machine goes away at a deadline. Every
 * local rank gets its job's preempt signal now (the flag travels with the
 * next all-reduce, so the whole job stops at one step and checkpoints) and
 * SIGKILL a margin before the deadline; ternd hears of the notice with every
 * heartbeat and signals the job's ranks on its other nodes. */
#include "worker/worker.h"

#include "common/clock.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

void worker_notice(worker *w, int64_t deadline_ms, const char *source)
{
    if (deadline_ms <= 0) {
        if (w->notice.deadline_ms)
            log_info("spot notice withdrawn");
        memset(&w->notice, 0, sizeof w->notice);
        return;
    }
    if (w->notice.deadline_ms && w->notice.deadline_ms <= deadline_ms)
        return;
    w->notice.deadline_ms = deadline_ms;
    snprintf(w->notice.source, sizeof w->notice.source, "%s", source);
    int64_t left = deadline_ms - (int64_t)w->opt.notice_margin_ms - clock_wall_ms();
    uint32_t grace = left > 0 ? (uint32_t)left : 0;
    log_warn("spot notice: %s; ranks have %.1f s to checkpoint and exit", source,
             (double)grace / 1e3);
    for (wattempt *a = w->attempts; a; a = a->next)
        worker_kill(w, a, a->preempt_signal, grace);
    if (w->registered)
        worker_heartbeat(w);
}
