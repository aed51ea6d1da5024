/* scheduler/queue.c, fair share: at equal priority the user who has used
 * the least goes first; usage is billing-unit seconds (a CPU one unit, a
 * GPU eight), charged when an attempt ends, halved every half-life, and a
 * running attempt counts from its start (plus the minute charged at once,
 * so one pass does not give every free node to the same user).
 *
 * Past usage comes from the database (store_account_put, accounts_load),
 * as after a restart. Scheduler internals relied on: those of
 * test_policy.h. */
#include "tests/unit/test_policy.h"

#include "tests/unit/unit.h"

#include "common/clock.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define J POL_JOB

/* ---- usage decays ---------------------------------------------------------- */

static void decay(void)
{
    static const struct {
        const char *name;
        double stored;
        double age_s, halflife_s;
        double want;
    } cases[] = {
        { "as stored, at once", 1000, 0, 3600, 1000 },
        { "half after one half-life", 1000, 3600, 3600, 500 },
        { "a quarter after two", 1000, 7200, 3600, 250 },
        { "half-life 0: never decays", 1000, 7200, 0, 1000 },
        { "stored in the future (the clock went back): as stored", 1000, -60, 3600, 1000 },
        { "zero stays zero", 0, 3600, 3600, 0 },
        { "a negative stored usage loads as 0", -5, 0, 3600, 0 },
        { "an absurd stored usage loads as 0", 1e301, 0, 3600, 0 },
    };
    const int64_t at = 1700000000000;
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        pol p;
        if (pol_open(&p, cases[i].name, NULL) < 0)
            continue;
        CU_ASSERT_EQUAL(store_account_put(p.s.db, "alice", cases[i].stored, at), 0);
        CU_ASSERT_EQUAL(accounts_load(&p.s), 0);
        const account *a = account_get(&p.s, "alice");
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        double got = account_usage(a, at + (int64_t)(cases[i].age_s * 1000),
                                   cases[i].halflife_s);
        if (got != cases[i].want)
            fprintf(stderr, "\n%s: usage %g, want %g\n", cases[i].name, got, cases[i].want);
        CU_ASSERT_EQUAL(got, cases[i].want);
        pol_close(&p);
    }
}

/* ---- who goes first -------------------------------------------------------- */

typedef struct past {
    const char *user;
    double usage;
    double age_s;                      /* stored this long ago */
} past;

typedef struct fair_case {
    const char *name;
    double halflife_s;                 /* 0: the model's (a day) */
    bool no_decay;                     /* halflife 0 */
    past past[3];
    pol_job jobs[POL_MAX];
    pol_run running[2];                /* started before the pass */
    bool schedule;                     /* a scheduling pass on one-CPU nodes a, b */
    uint64_t want[POL_MAX];            /* the pass order; with 'schedule', who started */
} fair_case;

static const fair_case cases[] = {
    { .name = "less past usage first",
      .past = { { "alice", 1000, 0 } },
      .jobs = { J("alice", 0), J("bob", 0) },
      .want = { 2, 1 } },
    { .name = "no usage anywhere: submit order",
      .jobs = { J("bob", 0), J("alice", 0), J("bob", 0) },
      .want = { 1, 2, 3 } },
    { .name = "equal usage: submit order",
      .past = { { "alice", 500, 0 }, { "bob", 500, 0 } },
      .jobs = { J("bob", 0), J("alice", 0), J("bob", 0) },
      .want = { 1, 2, 3 } },
    { .name = "priority before usage",
      .past = { { "alice", 1000, 0 } },
      .jobs = { J("alice", 5), J("bob", 0) },
      .want = { 1, 2 } },
    { .name = "each user's own jobs keep their order between the others'",
      .past = { { "bob", 10, 0 } },
      .jobs = { J("alice", 0), J("bob", 0), J("alice", 0) },
      .want = { 1, 3, 2 } },
    { .name = "old usage decays: 1000 two half-lives ago is less than 400 now",
      .halflife_s = 3600,
      .past = { { "alice", 1000, 7200 }, { "bob", 400, 0 } },
      .jobs = { J("bob", 0), J("alice", 0) },
      .want = { 2, 1 } },
    { .name = "half-life 0: old usage counts whole",
      .no_decay = true,
      .past = { { "alice", 1000, 7200 }, { "bob", 400, 0 } },
      .jobs = { J("bob", 0), J("alice", 0) },
      .want = { 1, 2 } },
    { .name = "a running attempt counts as usage",
      .jobs = { J("alice", 0), J("alice", 0), J("bob", 0) },
      .running = { { 1, "a" } },
      .want = { 3, 2 } },
    { .name = "an attempt just started costs its minute: more than 30 s of past usage",
      .past = { { "bob", 30, 0 } },
      .jobs = { J("alice", 0), J("bob", 0), J("alice", 0) },
      .running = { { 1, "a" } },
      .want = { 2, 3 } },
    { .name = "an attempt just started costs its minute: less than 100 s of past usage",
      .past = { { "bob", 100, 0 } },
      .jobs = { J("alice", 0), J("bob", 0), J("alice", 0) },
      .running = { { 1, "a" } },
      .want = { 3, 2 } },
    { .name = "one pass shares the free nodes between users",
      .jobs = { J("alice", 0), J("alice", 0), J("bob", 0), J("bob", 0) },
      .schedule = true,
      .want = { 1, 3 } },
    { .name = "one pass: the user with less usage gets the first node",
      .past = { { "alice", 1e6, 0 } },
      .jobs = { J("alice", 0), J("alice", 0), J("alice", 0), J("bob", 0) },
      .schedule = true,
      .want = { 1, 4 } },
};

static const pol_node big_node[] = { { "a", 64, 0, false }, { NULL, 0, 0, false } };
static const pol_node two_slots[] = { { "a", 1, 0, false }, { "b", 1, 0, false },
                                      { NULL, 0, 0, false } };

static void fair_order(void)
{
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const fair_case *c = &cases[i];
        pol p;
        if (pol_scene(&p, c->name, c->schedule ? two_slots : big_node, c->jobs, c->running) < 0)
            continue;
        if (c->halflife_s || c->no_decay)
            p.s.opt.fairshare_halflife_s = c->halflife_s;
        int64_t now = clock_wall_ms();
        for (const past *u = c->past; u < c->past + N_ELEMS(c->past) && u->user; u++)
            CU_ASSERT_EQUAL(store_account_put(p.s.db, u->user, u->usage,
                                              now - (int64_t)(u->age_s * 1000)), 0);
        CU_ASSERT_EQUAL(accounts_load(&p.s), 0);
        uint64_t got[POL_MAX];
        size_t n;
        if (c->schedule) {
            sched_schedule(&p.s);
            n = pol_in_state(&p, JOB_RUNNING, got, POL_MAX);
        } else {
            n = pol_pass_order(&p, got, POL_MAX);
        }
        CU_ASSERT(pol_ids_are(&p, c->schedule ? "started" : "pass order", got, n, c->want));
        pol_close(&p);
    }
}

/* ---- what an attempt is charged ---------------------------------------------- */

typedef struct stored {
    const char *user;
    double usage;
} stored;

static int stored_usage(void *arg, const char *user, double usage, int64_t at_ms)
{
    stored *st = arg;
    (void)at_ms;
    if (strcmp(user, st->user) == 0)
        st->usage = usage;
    return 0;
}

static void charged(void)
{
    static const struct {
        const char *name;
        pol_job job;
        const char *on;
        int64_t ran_s;
        int32_t code;
        double units;                  /* what the job is billed per second */
    } cases[] = {
        { "one CPU for 10 s", J("alice", 0), "a", 10, 0, 1 },
        { "a GPU is 8 units", J("alice", 0, .cpus = 4, .gpus = 1), "a", 10, 0, 12 },
        { "every node of the gang", J("alice", 0, .nodes = 2, .cpus = 2, .gpus = 2), "a,b", 5, 0,
          36 },
        { "a failed attempt is charged too", J("alice", 0, .cpus = 3), "b", 20, 1, 3 },
        { "an attempt that ended at once costs nothing", J("alice", 0, .gpus = 8), "a", 0, 0,
          65 },
    };
    static const pol_node nodes[] = { { "a", 8, 8, false }, { "b", 8, 8, false },
                                      { NULL, 0, 0, false } };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        pol p;
        if (pol_open(&p, cases[i].name, nodes) < 0)
            continue;
        uint64_t id = pol_submit(&p, &cases[i].job);
        CU_ASSERT_EQUAL(pol_start(&p, id, cases[i].on, cases[i].ran_s * 1000), 0);
        pol_finish(&p, id, cases[i].code);
        stored st = { "alice", -1 };
        CU_ASSERT_EQUAL(store_accounts_load(p.s.db, stored_usage, &st), 0);
        const account *a = account_get(&p.s, "alice");
        double now = account_usage(a, clock_wall_ms(), p.s.opt.fairshare_halflife_s);
        /* The clock runs between the start and the end: within a quarter second. */
        double units = cases[i].units, want = units * (double)cases[i].ran_s;
        bool ok = fabs(st.usage - want) <= units / 4 && fabs(now - st.usage) <= units / 4;
        if (!ok)
            fprintf(stderr, "\n%s: stored %g, now %g, want %g\n", cases[i].name, st.usage, now,
                    want);
        CU_ASSERT(ok);
        pol_close(&p);
    }
}

int suite_fairshare(void)
{
    static const unit_test tests[] = {
        { "usage decays by the half-life", decay },
        { "who goes first", fair_order },
        { "what an attempt is charged", charged },
        { NULL, NULL },
    };
    return unit_add("fairshare", tests);
}
