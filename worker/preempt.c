/* A spot notice on this node: the machine goes away at a deadline. Every
 * local rank gets its job's preempt signal now (the flag travels with the
 * next all-reduce, so the whole job stops at one step and checkpoints) and
 * SIGKILL a margin before the deadline; ternd hears of the notice with every
 * heartbeat and signals the job's ranks on its other nodes. */
#include "worker/preempt.h"

#include "common/clock.h"
#include "common/log.h"
#include "worker/ranks.h"
#include "worker/report.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* A notice this long past its deadline, the machine still here, was not
 * carried out (an AWS stop or hibernate that resumed, a 'tern preempt' of a
 * node that stays). */
#define NOTICE_EXPIRY_MS 60000

int worker_watch_notices(worker *w)
{
    if (!w->opt.notice_url)
        return 0;
    notice_watch_stop(&w->watch);
    char err[512];
    if (!(w->watch = notice_watch_start(w->opt.notice_url, w->opt.notice_poll_ms, err,
                                        sizeof err))) {
        log_err("spot notices: %s", err);
        return -1;
    }
    return 0;
}

void worker_notice(worker *w, int64_t deadline_ms, const char *source)
{
    if (deadline_ms <= 0) {
        if (w->notice.deadline_ms) {
            log_info("spot notice withdrawn");
            worker_watch_notices(w);   /* (the watch stops at its first notice) */
        }
        memset(&w->notice, 0, sizeof w->notice);
        return;
    }
    if (w->notice.deadline_ms && w->notice.deadline_ms <= deadline_ms)
        return;
    w->notice.deadline_ms = deadline_ms;
    snprintf(w->notice.source, sizeof w->notice.source, "%s", source);
    int64_t left = deadline_ms - (int64_t)w->opt.notice_margin_ms - clock_wall_ms();
    uint32_t grace = left <= 0 ? 0 : left > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)left;
    log_warn("spot notice: %s; ranks have %.1f s to checkpoint and exit", source,
             (double)grace / 1e3);
    for (wattempt *a = w->attempts; a; a = a->next)
        worker_warn(w, a, a->preempt_signal, grace);
    if (w->registered)
        worker_heartbeat(w);
}

int64_t worker_housekeeping(worker *w, int64_t now)
{
    int64_t next = INT32_MAX;
    if (w->notice.deadline_ms && !w->leaving) {
        int64_t late = clock_wall_ms() - w->notice.deadline_ms - NOTICE_EXPIRY_MS;
        if (late >= 0) {
            log_warn("spot notice expired: the machine is still here %d s after its deadline",
                     NOTICE_EXPIRY_MS / 1000);
            worker_notice(w, 0, "");
        } else {
            next = -late;
        }
    }
    if (w->opt.fence_after_ms && w->registered && !w->fenced && worker_running_ranks(w)) {
        int64_t silent = now - w->last_heard;
        if (silent >= (int64_t)w->opt.fence_after_ms) {
            /* ternd has surely declared this node down and moved its jobs:
             * their ranks here must not run beside the next attempt. */
            log_warn("no word from the scheduler for %lld ms: stopping every rank "
                     "(--fence-after)", (long long)silent);
            for (wattempt *a = w->attempts; a; a = a->next) {
                for (uint32_t i = 0; i < a->nranks; i++)
                    a->ranks[i].fenced |= a->ranks[i].running;
                worker_kill(w, a, SIGKILL, 0);
            }
            w->fenced = true;
        } else if ((int64_t)w->opt.fence_after_ms - silent < next) {
            next = (int64_t)w->opt.fence_after_ms - silent;
        }
    }
    return next;
}
