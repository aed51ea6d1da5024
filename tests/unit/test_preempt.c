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

#include "common/clock.h"

#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define J POL_JOB
#define WHOLE .cpus = 8   /* a whole node of the model */
#define V(prio, ...) J("alice", prio, WHOLE, .preemptible = true, __VA_ARGS__)

typedef struct preempt_case {
    const char *name;
    const pol_node *nodes;
    pol_job jobs[POL_MAX];
    pol_run running[4];
    bool just_started;                 /* ternd started less than a node timeout ago */
    uint64_t top;                      /* the job that waits first */
    uint64_t preempted[POL_MAX];
} preempt_case;

static const pol_node a[] = { { "a", 8, 0, false }, { NULL, 0, 0, false } };
static const pol_node ab[] = { { "a", 8, 0, false }, { "b", 8, 0, false },
                               { NULL, 0, 0, false } };
static const pol_node abc[] = { { "a", 8, 0, false }, { "b", 8, 0, false },
                                { "c", 8, 0, false }, { NULL, 0, 0, false } };
static const pol_node ab_small_c[] = { { "a", 8, 0, false }, { "b", 8, 0, false },
                                       { "c", 2, 0, false }, { NULL, 0, 0, false } };

static const preempt_case cases[] = {
    { .name = "a lower-priority preemptible job makes room", .nodes = a,
      .jobs = { V(0), J("bob", 5, WHOLE) },
      .running = { { 1, "a" } },
      .top = 2, .preempted = { 1 } },
    { .name = "a job not --preemptible is kept", .nodes = a,
      .jobs = { J("alice", 0, WHOLE), J("bob", 5, WHOLE) },
      .running = { { 1, "a" } },
      .top = 2 },
    { .name = "a job of equal priority is kept", .nodes = a,
      .jobs = { V(5), J("bob", 5, WHOLE) },
      .running = { { 1, "a" } },
      .top = 2 },
    { .name = "ternd just started: nothing preempted", .nodes = a, .just_started = true,
      .jobs = { V(0), J("bob", 5, WHOLE) },
      .running = { { 1, "a" } },
      .top = 2 },
    { .name = "the lowest priority first", .nodes = ab,
      .jobs = { V(2), V(1), J("bob", 10, WHOLE) },
      .running = { { 1, "a" }, { 2, "b" } },
      .top = 3, .preempted = { 2 } },
    { .name = "a job of higher priority than the top is kept", .nodes = a,
      .jobs = { V(7), J("bob", 5, WHOLE) },
      .running = { { 1, "a" } },
      .top = 2 },
    { .name = "equal priority: the most recently started", .nodes = ab,
      .jobs = { V(1), V(1), J("bob", 10, WHOLE) },
      .running = { { 1, "a", .ago_ms = 10000 }, { 2, "b", .ago_ms = 100000 } },
      .top = 3, .preempted = { 1 } },
    { .name = "equal priority and start: the lower id", .nodes = ab,
      .jobs = { V(1), V(1), J("bob", 10, WHOLE) },
      .running = { { 1, "a", .ago_ms = 50000 }, { 2, "b", .ago_ms = 50000 } },
      .top = 3, .preempted = { 1 } },
    { .name = "a job its time limit ends within the grace is no victim", .nodes = ab,
      .jobs = { V(1), V(1, .time_limit_s = 100), J("bob", 10, WHOLE) },
      .running = { { 1, "a", .ago_ms = 100000 }, { 2, "b", .ago_ms = 90000 } },
      .top = 3, .preempted = { 1 } },
    { .name = "a job its time limit ends after the grace is one", .nodes = ab,
      .jobs = { V(1), V(1, .time_limit_s = 200), J("bob", 10, WHOLE) },
      .running = { { 1, "a", .ago_ms = 100000 }, { 2, "b", .ago_ms = 90000 } },
      .top = 3, .preempted = { 2 } },
    { .name = "a job already ending frees the node: nothing preempted", .nodes = ab,
      .jobs = { J("alice", 0, WHOLE), V(0), J("bob", 5, WHOLE) },
      .running = { { 1, "a", .ending_ms = 5000 }, { 2, "b" } },
      .top = 3 },
    { .name = "as many as it takes, lowest priority first", .nodes = abc,
      .jobs = { V(1), V(2), V(3), J("bob", 10, WHOLE, .nodes = 2) },
      .running = { { 1, "a" }, { 2, "b" }, { 3, "c" } },
      .top = 4, .preempted = { 1, 2 } },
    { .name = "a victim not on the nodes the top gets is kept", .nodes = ab_small_c,
      .jobs = { J("alice", 1, .cpus = 2, .preemptible = true), V(2), J("alice", 0, WHOLE), J("bob", 10, WHOLE) },
      .running = { { 1, "c" }, { 2, "a" }, { 3, "b" } },
      .top = 4, .preempted = { 2 } },
    { .name = "not room enough even with every victim gone: nothing preempted", .nodes = ab,
      .jobs = { V(0), J("alice", 0, WHOLE), J("bob", 5, WHOLE, .nodes = 2) },
      .running = { { 1, "a" }, { 2, "b" } },
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
        if (pol_scene(&p, c->name, c->nodes, c->jobs, c->running) < 0)
            continue;
        if (c->just_started)
            p.s.started_mono = clock_mono_ms();
        sched_schedule(&p.s);
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
