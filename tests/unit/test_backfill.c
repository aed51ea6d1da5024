/* scheduler/schedule.c, backfill: when the top job of the queue must
 * wait, it gets a reservation (when the running jobs' time limits, or the
 * deadlines of those ending, will have freed its nodes), and a job behind
 * it starts only where it cannot delay that: done before the reservation
 * with a second to spare, or off the reserved nodes.
 *
 * Each row submits its jobs, starts the running ones on the nodes it
 * names, runs one sched_schedule and checks who started and the top job's
 * reservation. Scheduler internals relied on: those of test_policy.h. */
#include "tests/unit/test_policy.h"

#include "tests/unit/unit.h"

#include "common/clock.h"

#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define J POL_JOB
#define WHOLE .cpus = 8   /* a whole node of the model */
#define RESV_NOW (-1)

typedef struct backfill_case {
    const char *name;
    const pol_node *nodes;
    pol_job jobs[POL_MAX];
    pol_run running[4];
    uint32_t depth;                    /* ternd --backfill-depth; 0: the model's */
    uint64_t top;                      /* the job that waits first */
    int resv_of;                       /* its reservation: the end of running[k-1]; 0: none */
    uint64_t started[POL_MAX];         /* jobs the pass started */
} backfill_case;

static const pol_node ab[] = { { "a", 8, 0, false }, { "b", 8, 0, false },
                               { NULL, 0, 0, false } };
static const pol_node abc[] = { { "a", 8, 0, false }, { "b", 8, 0, false },
                                { "c", 8, 0, false }, { NULL, 0, 0, false } };
static const pol_node ab_small_c[] = { { "a", 8, 0, false }, { "b", 8, 0, false },
                                       { "c", 2, 0, false }, { NULL, 0, 0, false } };
static const pol_node a_drained_b[] = { { "a", 8, 0, false }, { "b", 8, 0, true },
                                        { NULL, 0, 0, false } };

static const backfill_case cases[] = {
    { .name = "a job done before the reservation starts now", .nodes = ab,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                J("bob", 0, WHOLE, .time_limit_s = 50) },
      .running = { { 1, "a" } },
      .top = 2, .resv_of = 1, .started = { 3 } },
    { .name = "a job that would end after the reservation waits", .nodes = ab,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                J("bob", 0, WHOLE, .time_limit_s = 200) },
      .running = { { 1, "a" } },
      .top = 2, .resv_of = 1 },
    { .name = "a job without a time limit waits", .nodes = ab,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                J("bob", 0, WHOLE) },
      .running = { { 1, "a" } },
      .top = 2, .resv_of = 1 },
    { .name = "done 1.5 s before the reservation: starts", .nodes = ab,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                J("bob", 0, WHOLE, .time_limit_s = 98) },
      .running = { { 1, "a", .ago_ms = 500 } },
      .top = 2, .resv_of = 1, .started = { 3 } },
    { .name = "done 0.5 s before it, inside the second to spare: waits", .nodes = ab,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                J("bob", 0, WHOLE, .time_limit_s = 99) },
      .running = { { 1, "a", .ago_ms = 500 } },
      .top = 2, .resv_of = 1 },
    { .name = "off the reserved nodes any job starts", .nodes = ab_small_c,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                J("bob", 0, WHOLE), J("bob", 0, .cpus = 2) },
      .running = { { 1, "a" } },
      .top = 2, .resv_of = 1, .started = { 4 } },
    { .name = "the earliest end that makes room", .nodes = abc,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 300), J("alice", 0, WHOLE, .time_limit_s = 100),
                J("alice", 0, WHOLE), J("bob", 0, WHOLE) },
      .running = { { 1, "a" }, { 2, "b" }, { 3, "c" } },
      .top = 4, .resv_of = 2 },
    { .name = "a gang waits for the last of its nodes", .nodes = ab,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("alice", 0, WHOLE, .time_limit_s = 300),
                J("bob", 0, WHOLE, .nodes = 2) },
      .running = { { 1, "a" }, { 2, "b" } },
      .top = 3, .resv_of = 2 },
    { .name = "room only from jobs without a limit: no start known, the nodes still held",
      .nodes = ab,
      .jobs = { J("alice", 0, WHOLE), J("bob", 0, WHOLE, .nodes = 2),
                J("bob", 0, WHOLE, .time_limit_s = 10) },
      .running = { { 1, "a" } },
      .top = 2 },
    { .name = "no room even when every job ended (a node drained): nothing held",
      .nodes = a_drained_b,
      .jobs = { J("bob", 0, WHOLE, .nodes = 2), J("bob", 0, WHOLE) },
      .top = 1, .started = { 2 } },
    { .name = "a job past its time limit: the reservation is now", .nodes = ab,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 10), J("bob", 0, WHOLE, .nodes = 2),
                J("bob", 0, WHOLE, .time_limit_s = 50) },
      .running = { { 1, "a", .ago_ms = 60000 } },
      .top = 2, .resv_of = RESV_NOW },
    { .name = "a job ending: the reservation at its deadline", .nodes = ab,
      .jobs = { J("alice", 0, WHOLE), J("bob", 0, WHOLE, .nodes = 2),
                J("bob", 0, WHOLE, .time_limit_s = 10) },
      .running = { { 1, "a", .ending_ms = 20000 } },
      .top = 2, .resv_of = 1, .started = { 3 } },
    { .name = "backfill depth 1: the pass stops after one job tried behind the top",
      .nodes = ab, .depth = 1,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                J("bob", 0, WHOLE, .time_limit_s = 200), J("bob", 0, WHOLE, .time_limit_s = 10) },
      .running = { { 1, "a" } },
      .top = 2, .resv_of = 1 },
    { .name = "backfill depth 2: the second is tried", .nodes = ab, .depth = 2,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                J("bob", 0, WHOLE, .time_limit_s = 200), J("bob", 0, WHOLE, .time_limit_s = 10) },
      .running = { { 1, "a" } },
      .top = 2, .resv_of = 1, .started = { 4 } },
    { .name = "the top job by priority, not by submit order", .nodes = ab,
      .jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .time_limit_s = 200),
                J("bob", 5, WHOLE, .nodes = 2) },
      .running = { { 1, "a" } },
      .top = 3, .resv_of = 1 },
};

/* When the reservation of case c should start: [*lo, *hi], unix ms;
 * 0 for none. 'before' and 'after' bound the pass. */
static void resv_window(const pol *p, const backfill_case *c, int64_t before, int64_t after,
                        int64_t *lo, int64_t *hi)
{
    *lo = *hi = 0;
    if (c->resv_of == RESV_NOW) {
        *lo = before;
        *hi = after;
        return;
    }
    if (c->resv_of <= 0)
        return;
    const pol_run *r = &c->running[c->resv_of - 1];
    const job *j = sched_job((sched *)&p->s, r->id);
    if (r->ending_ms) {   /* its deadline, set when it was told to end */
        *lo = p->t0 + r->ending_ms - 1;   /* (wall and monotonic ms tick apart) */
        *hi = after + r->ending_ms + 1;
        return;
    }
    *lo = *hi = j->start_ms + (int64_t)j->spec->time_limit_s * 1000 + POL_KILL_WAIT_MS;
}

/* The jobs running now that were not before the pass. */
static size_t started_by_pass(pol *p, const backfill_case *c, uint64_t *ids)
{
    uint64_t running[POL_MAX];
    size_t n = pol_in_state(p, JOB_RUNNING, running, POL_MAX), k = 0;
    for (size_t i = 0; i < n; i++) {
        bool before = false;
        for (const pol_run *r = c->running; r->id && !before; r++)
            before = r->id == running[i];
        if (!before)
            ids[k++] = running[i];
    }
    return k;
}

static void reservation(void)
{
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const backfill_case *c = &cases[i];
        pol p;
        if (pol_scene(&p, c->name, c->nodes, c->jobs, c->running) < 0)
            continue;
        if (c->depth)
            p.s.opt.backfill_depth = c->depth;
        int64_t before = clock_wall_ms();
        sched_schedule(&p.s);
        int64_t after = clock_wall_ms(), lo, hi;
        uint64_t got[POL_MAX];
        CU_ASSERT(pol_ids_are(&p, "started", got, started_by_pass(&p, c, got), c->started));
        const job *top = sched_job(&p.s, c->top);
        CU_ASSERT_PTR_NOT_NULL_FATAL(top);
        resv_window(&p, c, before, after, &lo, &hi);
        bool ok = top->state == JOB_PENDING && strcmp(top->reason, "Resources") == 0 &&
                  top->est_start_ms >= lo && top->est_start_ms <= hi;
        if (!ok)
            fprintf(stderr, "\n%s: job %llu %s '%s' from %lld, want PD 'Resources' from %lld..%lld\n",
                    c->name, (unsigned long long)c->top, job_state_code(top->state), top->reason,
                    (long long)top->est_start_ms, (long long)lo, (long long)hi);
        CU_ASSERT(ok);
        pol_close(&p);
    }
}

int suite_backfill(void)
{
    static const unit_test tests[] = {
        { "reservations and backfill", reservation },
        { NULL, NULL },
    };
    return unit_add("backfill", tests);
}
