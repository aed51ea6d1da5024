/* ternd's Prometheus endpoint (--metrics HOST:PORT): /metrics in the text
 * exposition format 0.0.4.
 *
 * The model belongs to the loop's thread. The loop rebuilds a text
 * snapshot from it at start and at most once a second after (one walk of
 * the jobs and nodes); libmicrohttpd's thread serves the last snapshot and
 * never reads the model (common/promhttp.h).
 *
 * Gauges come from that walk. The counters and histograms that need an
 * observation when something happens are fed by the hooks below, which
 * cost one test when metrics are off; what a turn observed is forgotten
 * with the turn when its commit fails, as the turn itself is. */
#ifndef TERN_SCHED_METRICS_H
#define TERN_SCHED_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "scheduler/sched.h"

/* Binds s->opt.metrics_addr (nothing when it is NULL) and serves from a
 * thread of its own; /metrics is empty until the first metrics_tick.
 * Returns 0, or -1 after logging why ("cannot serve metrics on
 * 127.0.0.1:9100: Address already in use"). */
int metrics_start(sched *s);
/* "http://HOST:PORT/metrics" with the port bound, or NULL when off. */
const char *metrics_url(const sched *s);
/* Stops serving and frees; accepts metrics off. */
void metrics_stop(sched *s);

/* The loop, once a turn: rebuilds the snapshot, the first time, then when
 * a second has passed since the last ('now' monotonic ms). Call it where
 * the model is consistent (after the commit or the reload). */
void metrics_tick(sched *s, int64_t now);
/* The loop, around its transaction: a turn begins; its commit failed, so
 * what it observed did not happen. */
void metrics_turn_begin(sched *s);
void metrics_turn_rollback(sched *s);

/* ---- hooks: where the event happens ---- */
void metrics_observe_start(struct metrics *m, const job *j);
void metrics_observe_requeue(struct metrics *m, bool preempted);
void metrics_observe_pass(struct metrics *m, double seconds);

/* An attempt of j started (j->start_ms set): its queue wait, submission to
 * start, goes into tern_queue_wait_seconds. */
static inline void metrics_attempt_started(sched *s, const job *j)
{
    if (s->metrics)
        metrics_observe_start(s->metrics, j);
}

/* An attempt of j ended and j goes back to the queue; 'preempted': it
 * ended PREEMPTED (counted in tern_job_preemptions_total), else NODE_FAIL. */
static inline void metrics_requeued(sched *s, const job *j, bool preempted)
{
    (void)j;
    if (s->metrics)
        metrics_observe_requeue(s->metrics, preempted);
}

/* One scheduling pass took 'seconds' (tern_schedule_pass_seconds). */
static inline void metrics_pass(sched *s, double seconds)
{
    if (s->metrics)
        metrics_observe_pass(s->metrics, seconds);
}

#endif
