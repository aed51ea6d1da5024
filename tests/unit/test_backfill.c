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


#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define J POL_JOB
#define WHOLE POL_WHOLE
#define RESV_NOW (-1)

typedef struct backfill_case {
    pol_row row;
    uint64_t top;                      /* the job that waits first */
    int resv_of;                       /* its reservation: the end of running[k-1]; 0: none */
    uint64_t started[POL_MAX];         /* jobs the pass started */
} backfill_case;

static const pol_node a_drained_b[] = { { "a", 8, 0, false }, { "b", 8, 0, true },
                                        { NULL, 0, 0, false } };

static const backfill_case cases[] = {
    { .row.name = "a job done before the reservation starts now", .row.nodes = pol_ab,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                    J("bob", 0, WHOLE, .time_limit_s = 50) },
      .row.running = { { 1, "a" } },
      .top = 2, .resv_of = 1, .started = { 3 } },
    { .row.name = "a job that would end after the reservation waits", .row.nodes = pol_ab,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                    J("bob", 0, WHOLE, .time_limit_s = 200) },
      .row.running = { { 1, "a" } },
      .top = 2, .resv_of = 1 },
    { .row.name = "a job without a time limit waits", .row.nodes = pol_ab,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                    J("bob", 0, WHOLE) },
      .row.running = { { 1, "a" } },
      .top = 2, .resv_of = 1 },
    { .row.name = "done 1.5 s before the reservation: starts", .row.nodes = pol_ab,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                    J("bob", 0, WHOLE, .time_limit_s = 98) },
      .row.running = { { 1, "a", .ago_ms = 500 } },
      .top = 2, .resv_of = 1, .started = { 3 } },
    { .row.name = "done 0.5 s before it, inside the second to spare: waits", .row.nodes = pol_ab,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                    J("bob", 0, WHOLE, .time_limit_s = 99) },
      .row.running = { { 1, "a", .ago_ms = 500 } },
      .top = 2, .resv_of = 1 },
    { .row.name = "off the reserved nodes any job starts", .row.nodes = pol_ab_small_c,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                    J("bob", 0, WHOLE), J("bob", 0, .cpus = 2) },
      .row.running = { { 1, "a" } },
      .top = 2, .resv_of = 1, .started = { 4 } },
    { .row.name = "the earliest end that makes room", .row.nodes = pol_abc,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 300),
                    J("alice", 0, WHOLE, .time_limit_s = 100),
                    J("alice", 0, WHOLE), J("bob", 0, WHOLE) },
      .row.running = { { 1, "a" }, { 2, "b" }, { 3, "c" } },
      .top = 4, .resv_of = 2 },
    { .row.name = "a gang waits for the last of its nodes", .row.nodes = pol_ab,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 100),
                    J("alice", 0, WHOLE, .time_limit_s = 300),
                    J("bob", 0, WHOLE, .nodes = 2) },
      .row.running = { { 1, "a" }, { 2, "b" } },
      .top = 3, .resv_of = 2 },
    { .row.name = "room only from jobs without a limit: no start known, the nodes still held",
      .row.nodes = pol_ab,
      .row.jobs = { J("alice", 0, WHOLE), J("bob", 0, WHOLE, .nodes = 2),
                    J("bob", 0, WHOLE, .time_limit_s = 10) },
      .row.running = { { 1, "a" } },
      .top = 2 },
    { .row.name = "no room even when every job ended (a node drained): nothing held",
      .row.nodes = a_drained_b,
      .row.jobs = { J("bob", 0, WHOLE, .nodes = 2), J("bob", 0, WHOLE) },
      .top = 1, .started = { 2 } },
    { .row.name = "a job past its time limit: the reservation is now", .row.nodes = pol_ab,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 10), J("bob", 0, WHOLE, .nodes = 2),
                    J("bob", 0, WHOLE, .time_limit_s = 50) },
      .row.running = { { 1, "a", .ago_ms = 60000 } },
      .top = 2, .resv_of = RESV_NOW },
    { .row.name = "a job ending: the reservation at its deadline", .row.nodes = pol_ab,
      .row.jobs = { J("alice", 0, WHOLE), J("bob", 0, WHOLE, .nodes = 2),
                    J("bob", 0, WHOLE, .time_limit_s = 10) },
      .row.running = { { 1, "a", .ending_ms = 20000 } },
      .top = 2, .resv_of = 1, .started = { 3 } },
    { .row.name = "backfill depth 1: the pass stops after one job tried behind the top",
      .row.nodes = pol_ab, .row.backfill_depth = 1,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                    J("bob", 0, WHOLE, .time_limit_s = 200),
                    J("bob", 0, WHOLE, .time_limit_s = 10) },
      .row.running = { { 1, "a" } },
      .top = 2, .resv_of = 1 },
    { .row.name = "backfill depth 2: the second is tried",
      .row.nodes = pol_ab, .row.backfill_depth = 2,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 100), J("bob", 0, WHOLE, .nodes = 2),
                    J("bob", 0, WHOLE, .time_limit_s = 200),
                    J("bob", 0, WHOLE, .time_limit_s = 10) },
      .row.running = { { 1, "a" } },
      .top = 2, .resv_of = 1, .started = { 4 } },
    { .row.name = "the top job by priority, not by submit order", .row.nodes = pol_ab,
      .row.jobs = { J("alice", 0, WHOLE, .time_limit_s = 100),
                    J("bob", 0, WHOLE, .time_limit_s = 200),
                    J("bob", 5, WHOLE, .nodes = 2) },
      .row.running = { { 1, "a" } },
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
    const pol_run *r = &c->row.running[c->resv_of - 1];
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
        for (const pol_run *r = c->row.running; r->id && !before; r++)
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
        if (pol_row_pass(&p, &c->row) < 0)
            continue;
        int64_t lo, hi;
        uint64_t got[POL_MAX];
        CU_ASSERT(pol_ids_are(&p, "started", got, started_by_pass(&p, c, got), c->started));
        const job *top = sched_job(&p.s, c->top);
        CU_ASSERT_PTR_NOT_NULL_FATAL(top);
        resv_window(&p, c, p.pass_from_ms, p.pass_to_ms, &lo, &hi);
        bool ok = top->state == JOB_PENDING && strcmp(top->reason, "Resources") == 0 &&
                  top->est_start_ms >= lo && top->est_start_ms <= hi;
        if (!ok)
            fprintf(stderr, "\n%s: job %llu %s '%s' from %lld, want PD 'Resources' from %lld..%lld\n",
                    c->row.name, (unsigned long long)c->top,
                    job_state_code(top->state), top->reason,
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
