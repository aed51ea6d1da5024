/* tern wait: replies held until a job ends (waiters.h). */
#include "scheduler/waiters.h"

#include "common/clock.h"
#include "common/grow.h"
#include "scheduler/jobs.h"
#include "scheduler/outbox.h"
#include "scheduler/requests.h"

#include <stdlib.h>

#define MAX_WAIT_MS 60000u
#define MAX_WAITERS 100000u

void waiters_add(sched *s, const wire_peer *peer, uint64_t seq, const Tern__WaitRequest *rq)
{
    job *j = sched_job(s, rq->job_id);
    if (!j) {
        outbox_error(s, peer, seq, "no job %llu", (unsigned long long)rq->job_id);
        return;
    }
    if (job_state_final(j->state) || rq->max_wait_ms == 0 || s->nwaiters >= MAX_WAITERS) {
        requests_reply_jobs(s, peer, NULL, seq, &j, 1, false, 0);
        return;
    }
    waiter *w = grow(s->waiters, &s->waiters_cap, s->nwaiters + 1, sizeof *w, 64);
    if (!w) {
        requests_reply_jobs(s, peer, NULL, seq, &j, 1, false, 0);
        return;
    }
    s->waiters = w;
    uint32_t ms = rq->max_wait_ms > MAX_WAIT_MS ? MAX_WAIT_MS : rq->max_wait_ms;
    s->waiters[s->nwaiters++] = (waiter){
        .peer = *peer, .seq = seq, .job_id = j->id, .deadline = clock_mono_ms() + ms,
    };
}

void waiters_expire(sched *s, int64_t now)
{
    size_t keep = 0;
    for (size_t i = 0; i < s->nwaiters; i++) {
        waiter *w = &s->waiters[i];
        job *j = sched_job(s, w->job_id);
        if (j && w->deadline > now && !job_state_final(j->state)) {
            s->waiters[keep++] = *w;
            continue;
        }
        if (j)
            requests_reply_jobs(s, &w->peer, NULL, w->seq, &j, 1, false, 0);
        else
            outbox_error(s, &w->peer, w->seq, "no job %llu", (unsigned long long)w->job_id);
    }
    s->nwaiters = keep;
}

void waiters_wake(sched *s, job *j)
{
    if (!job_state_final(j->state))
        return;
    size_t keep = 0;
    for (size_t i = 0; i < s->nwaiters; i++) {
        waiter *w = &s->waiters[i];
        if (w->job_id == j->id)
            requests_reply_jobs(s, &w->peer, NULL, w->seq, &j, 1, false, 0);
        else
            s->waiters[keep++] = *w;
    }
    s->nwaiters = keep;
}
