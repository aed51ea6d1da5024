/* scheduler/queue.c: the order a scheduling pass considers pending jobs
 * in (priority, then submit order), and the jobs it never considers:
 * array tasks over their %N and jobs whose dependency does not hold yet
 * (or never will), let out as the jobs they wait on start and end.
 *
 * Each row submits its jobs, then plays its steps (start a job, let its
 * ranks exit, cancel it), and checks the ids queue_pass_next yields and
 * the reason of the jobs held out. Scheduler internals relied on: those
 * of test_policy.h. */
#include "tests/unit/test_policy.h"

#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A step: 's' start the job on node a, 'x' its ranks exit (rank 0 with
 * code), 'c' cancel it. */
typedef struct step_do {
    char op;
    uint64_t id;
    int32_t code;
} step_do;

typedef struct held_want {
    uint64_t id;
    const char *reason;
} held_want;

typedef struct queue_case {
    const char *name;
    pol_job jobs[POL_MAX];
    step_do steps[POL_MAX];
    uint64_t order[POL_MAX];
    held_want held[4];
} queue_case;

static const pol_node one_node[] = { { "a", 64, 0, false }, { NULL, 0, 0, false } };

#define J POL_JOB
#define START(j) { .op = 's', .id = (j) }
#define EXIT(j, c) { .op = 'x', .id = (j), .code = (c) }
#define CANCEL(j) { .op = 'c', .id = (j) }

static const queue_case cases[] = {
    { .name = "higher priority first, then submit order",
      .jobs = { J("alice", 0), J("alice", 5), J("alice", 0), J("alice", 5) },
      .order = { 2, 4, 1, 3 } },
    { .name = "negative priority after the default",
      .jobs = { J("alice", -1), J("alice", 0), J("alice", -1) },
      .order = { 2, 1, 3 } },
    { .name = "priority across users before submit order",
      .jobs = { J("alice", 0), J("bob", 3), J("carol", 1) },
      .order = { 2, 3, 1 } },
    { .name = "an array without %N: every task, in index order",
      .jobs = { J("alice", 0, .array = "0-2") },
      .order = { 1, 2, 3 } },
    { .name = "an array with %2: two tasks out, the others held",
      .jobs = { J("alice", 0, .array = "0-3%2") },
      .order = { 1, 2 },
      .held = { { 3, "JobArrayTaskLimit" }, { 4, "JobArrayTaskLimit" } } },
    { .name = "a task cancelled while pending lets the next one out",
      .jobs = { J("alice", 0, .array = "0-3%2") },
      .steps = { CANCEL(1) },
      .order = { 2, 3 },
      .held = { { 4, "JobArrayTaskLimit" } } },
    { .name = "a running task still counts against %N",
      .jobs = { J("alice", 0, .array = "0-2%1") },
      .steps = { START(1) },
      .held = { { 2, "JobArrayTaskLimit" }, { 3, "JobArrayTaskLimit" } } },
    { .name = "a task that completes lets the next one out",
      .jobs = { J("alice", 0, .array = "0-2%1") },
      .steps = { START(1), EXIT(1, 0) },
      .order = { 2 },
      .held = { { 3, "JobArrayTaskLimit" } } },
    { .name = "afterok on a pending job: held, whatever its priority",
      .jobs = { J("alice", 0), J("alice", 9, .dependency = "afterok:1") },
      .order = { 1 },
      .held = { { 2, "Dependency" } } },
    { .name = "afterok on a job that completed: queued",
      .jobs = { J("alice", 0), J("alice", 0, .dependency = "afterok:1"), J("alice", 0) },
      .steps = { START(1), EXIT(1, 0) },
      .order = { 2, 3 } },
    { .name = "afterok on a job that failed: never",
      .jobs = { J("alice", 0), J("alice", 0, .dependency = "afterok:1") },
      .steps = { START(1), EXIT(1, 3) },
      .held = { { 2, "DependencyNeverSatisfied" } } },
    { .name = "afternotok on a job that failed: queued",
      .jobs = { J("alice", 0), J("alice", 0, .dependency = "afternotok:1") },
      .steps = { START(1), EXIT(1, 3) },
      .order = { 2 } },
    { .name = "afternotok on a job that completed: never",
      .jobs = { J("alice", 0), J("alice", 0, .dependency = "afternotok:1") },
      .steps = { START(1), EXIT(1, 0) },
      .held = { { 2, "DependencyNeverSatisfied" } } },
    { .name = "after: queued once the job started",
      .jobs = { J("alice", 0), J("alice", 0, .dependency = "after:1") },
      .steps = { START(1) },
      .order = { 2 } },
    { .name = "afterany on a job cancelled while pending: queued",
      .jobs = { J("alice", 0), J("alice", 0, .dependency = "afterany:1") },
      .steps = { CANCEL(1) },
      .order = { 2 } },
    { .name = "every condition must hold",
      .jobs = { J("alice", 0), J("alice", 0), J("alice", 0, .dependency = "afterok:1,afterany:2") },
      .steps = { START(1), EXIT(1, 0) },
      .order = { 2 },
      .held = { { 3, "Dependency" } } },
    { .name = "afterok on an array: held until every task completed",
      .jobs = { J("alice", 0, .array = "0-1"), J("alice", 0, .dependency = "afterok:1") },
      .steps = { START(1), EXIT(1, 0) },
      .order = { 2 },
      .held = { { 3, "Dependency" } } },
    { .name = "afterok on an array whose tasks all completed: queued",
      .jobs = { J("alice", 0, .array = "0-1"), J("alice", 0, .dependency = "afterok:1") },
      .steps = { START(1), EXIT(1, 0), START(2), EXIT(2, 0) },
      .order = { 3 } },
    { .name = "afterok on an array one of whose tasks failed: never",
      .jobs = { J("alice", 0, .array = "0-1"), J("alice", 0, .dependency = "afterok:1") },
      .steps = { START(2), EXIT(2, 1) },
      .order = { 1 },
      .held = { { 3, "DependencyNeverSatisfied" } } },
    { .name = "a released job takes its place by priority",
      .jobs = { J("alice", 0), J("alice", 0), J("alice", 4, .dependency = "after:1") },
      .steps = { START(1) },
      .order = { 3, 2 } },
};

static void step_play(pol *p, const step_do *st)
{
    char err[256];
    switch (st->op) {
    case 's':
        CU_ASSERT_EQUAL(pol_start(p, st->id, "a", 0), 0);
        break;
    case 'x':
        pol_finish(p, st->id, st->code);
        break;
    case 'c':
        CU_ASSERT_EQUAL(sched_cancel(&p->s, sched_job(&p->s, st->id), err, sizeof err), 0);
        break;
    }
}

static void held_check(pol *p, const held_want *h)
{
    const job *j = sched_job(&p->s, h->id);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    bool ok = j->state == JOB_PENDING && strcmp(j->reason, h->reason) == 0;
    if (!ok)
        fprintf(stderr, "\n%s: job %llu: state %s reason '%s', want PD '%s'\n", p->name,
                (unsigned long long)h->id, job_state_code(j->state), j->reason, h->reason);
    CU_ASSERT(ok);
}

static void queue_order(void)
{
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const queue_case *c = &cases[i];
        pol p;
        if (pol_scene(&p, c->name, one_node, c->jobs, NULL) < 0)
            continue;
        for (const step_do *st = c->steps; st < c->steps + POL_MAX && st->op; st++)
            step_play(&p, st);
        uint64_t got[POL_MAX];
        size_t n = pol_pass_order(&p, got, POL_MAX);
        CU_ASSERT(pol_ids_are(&p, "pass order", got, n, c->order));
        for (const held_want *h = c->held; h < c->held + N_ELEMS(c->held) && h->id; h++)
            held_check(&p, h);
        pol_close(&p);
    }
}

int suite_queue(void)
{
    static const unit_test tests[] = {
        { "pass order, arrays, dependencies", queue_order },
        { NULL, NULL },
    };
    return unit_add("queue", tests);
}
