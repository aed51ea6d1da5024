/* scheduler/schedule.c, preemption: a top job that must wait preempts
 * running --preemptible jobs of lower priority, as few as it takes,
 * lowest priority first, then the most recently started, and only those
 * on the nodes it will get; none that will end by its own time limit
 * within the preempt grace, none when jobs already ending free enough,
 * none while ternd has just started (nodes may not have registered yet).
 *
 * Each row submits its jobs, starts the running ones on the nodes it
 * names, runs one sched_schedule and checks which jobs were preempted (and
 * why they were told). Scheduler internals relied on: those of
 * test_policy.h. */
#include "tests/unit/test_policy.h"

#include "tests/unit/unit.h"


#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define J POL_JOB
#define WHOLE POL_WHOLE
#define V(prio, ...) J("alice", prio, WHOLE, .preemptible = true, __VA_ARGS__)

typedef struct preempt_case {
    pol_row row;
    uint64_t top;                      /* the job that waits first */
    uint64_t preempted[POL_MAX];
} preempt_case;

static const preempt_case cases[] = {
    { .row.name = "a lower-priority preemptible job makes room", .row.nodes = pol_a,
      .row.jobs = { V(0), J("bob", 5, WHOLE) },
      .row.running = { { 1, "a" } },
      .top = 2, .preempted = { 1 } },
    { .row.name = "a job not --preemptible is kept", .row.nodes = pol_a,
      .row.jobs = { J("alice", 0, WHOLE), J("bob", 5, WHOLE) },
      .row.running = { { 1, "a" } },
      .top = 2 },
    { .row.name = "a job of equal priority is kept", .row.nodes = pol_a,
      .row.jobs = { V(5), J("bob", 5, WHOLE) },
      .row.running = { { 1, "a" } },
      .top = 2 },
    { .row.name = "ternd just started: nothing preempted",
      .row.nodes = pol_a, .row.just_started = true,
      .row.jobs = { V(0), J("bob", 5, WHOLE) },
      .row.running = { { 1, "a" } },
      .top = 2 },
    { .row.name = "the lowest priority first", .row.nodes = pol_ab,
      .row.jobs = { V(2), V(1), J("bob", 10, WHOLE) },
      .row.running = { { 1, "a" }, { 2, "b" } },
      .top = 3, .preempted = { 2 } },
    { .row.name = "a job of higher priority than the top is kept", .row.nodes = pol_a,
      .row.jobs = { V(7), J("bob", 5, WHOLE) },
      .row.running = { { 1, "a" } },
      .top = 2 },
    { .row.name = "equal priority: the most recently started", .row.nodes = pol_ab,
      .row.jobs = { V(1), V(1), J("bob", 10, WHOLE) },
      .row.running = { { 1, "a", .ago_ms = 10000 }, { 2, "b", .ago_ms = 100000 } },
      .top = 3, .preempted = { 1 } },
    { .row.name = "equal priority and start: the lower id", .row.nodes = pol_ab,
      .row.jobs = { V(1), V(1), J("bob", 10, WHOLE) },
      .row.running = { { 1, "a", .ago_ms = 50000 }, { 2, "b", .ago_ms = 50000 } },
      .top = 3, .preempted = { 1 } },
    { .row.name = "a job its time limit ends within the grace is no victim", .row.nodes = pol_ab,
      .row.jobs = { V(1), V(1, .time_limit_s = 100), J("bob", 10, WHOLE) },
      .row.running = { { 1, "a", .ago_ms = 100000 }, { 2, "b", .ago_ms = 90000 } },
      .top = 3, .preempted = { 1 } },
    { .row.name = "a job its time limit ends after the grace is one", .row.nodes = pol_ab,
      .row.jobs = { V(1), V(1, .time_limit_s = 200), J("bob", 10, WHOLE) },
      .row.running = { { 1, "a", .ago_ms = 100000 }, { 2, "b", .ago_ms = 90000 } },
      .top = 3, .preempted = { 2 } },
    { .row.name = "a job already ending frees the node: nothing preempted", .row.nodes = pol_ab,
      .row.jobs = { J("alice", 0, WHOLE), V(0), J("bob", 5, WHOLE) },
      .row.running = { { 1, "a", .ending_ms = 5000 }, { 2, "b" } },
      .top = 3 },
    { .row.name = "as many as it takes, lowest priority first", .row.nodes = pol_abc,
      .row.jobs = { V(1), V(2), V(3), J("bob", 10, WHOLE, .nodes = 2) },
      .row.running = { { 1, "a" }, { 2, "b" }, { 3, "c" } },
      .top = 4, .preempted = { 1, 2 } },
    { .row.name = "a victim not on the nodes the top gets is kept", .row.nodes = pol_ab_small_c,
      .row.jobs = { J("alice", 1, .cpus = 2, .preemptible = true), V(2), J("alice", 0, WHOLE),
                    J("bob", 10, WHOLE) },
      .row.running = { { 1, "c" }, { 2, "a" }, { 3, "b" } },
      .top = 4, .preempted = { 2 } },
    { .row.name = "not room enough even with every victim gone: nothing preempted",
      .row.nodes = pol_ab,
      .row.jobs = { V(0), J("alice", 0, WHOLE), J("bob", 5, WHOLE, .nodes = 2) },
      .row.running = { { 1, "a" }, { 2, "b" } },
      .top = 3 },
};

/* Whether job 'id' was told it is preempted by 'top'. */
static bool told(pol *p, uint64_t id, uint64_t top)
{
    char want[64];
    snprintf(want, sizeof want, "preempted by job %llu ", (unsigned long long)top);
    const job *j = sched_job(&p->s, id);
    bool ok = j && strncmp(j->reason, want, strlen(want)) == 0;
    if (!ok)
        fprintf(stderr, "\n%s: job %llu reason '%s', want '%s...'\n", p->name,
                (unsigned long long)id, j ? j->reason : "-", want);
    return ok;
}

static void victims(void)
{
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const preempt_case *c = &cases[i];
        pol p;
        if (pol_row_pass(&p, &c->row) < 0)
            continue;
        uint64_t got[POL_MAX];
        size_t n = pol_in_state(&p, JOB_PREEMPTED, got, POL_MAX);
        CU_ASSERT(pol_ids_are(&p, "preempted", got, n, c->preempted));
        for (size_t k = 0; k < n; k++)
            CU_ASSERT(told(&p, got[k], c->top));
        const job *top = sched_job(&p.s, c->top);
        CU_ASSERT(top && top->state == JOB_PENDING && strcmp(top->reason, "Resources") == 0);
        pol_close(&p);
    }
}

int suite_preempt(void)
{
    static const unit_test tests[] = {
        { "which running jobs are preempted", victims },
        { NULL, NULL },
    };
    return unit_add("preempt", tests);
}
