/* common/jobstate: job states, their squeue codes and names, both ways. */
#include "tests/unit/unit.h"

#include <stdbool.h>
#include <string.h>

#include "common/jobstate.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void test_jobstate(void)
{
    static const struct {
        enum job_state s;
        const char *code, *name;
        bool final;
    } states[] = {
        { JOB_PENDING, "PD", "PENDING", false },
        { JOB_RUNNING, "R", "RUNNING", false },
        { JOB_COMPLETING, "CG", "COMPLETING", false },
        { JOB_COMPLETED, "CD", "COMPLETED", true },
        { JOB_FAILED, "F", "FAILED", true },
        { JOB_CANCELLED, "CA", "CANCELLED", true },
        { JOB_TIMEOUT, "TO", "TIMEOUT", true },
        { JOB_PREEMPTED, "PR", "PREEMPTED", false },
        { JOB_NODE_FAIL, "NF", "NODE_FAIL", true },
    };
    CU_ASSERT_EQUAL(N_ELEMS(states), JOB_STATE_COUNT);
    for (size_t i = 0; i < N_ELEMS(states); i++) {
        CU_ASSERT_STRING_EQUAL(job_state_code(states[i].s), states[i].code);
        CU_ASSERT_STRING_EQUAL(job_state_name(states[i].s), states[i].name);
        CU_ASSERT_EQUAL(job_state_final(states[i].s), states[i].final);
        enum job_state back = JOB_STATE_COUNT;
        CU_ASSERT_EQUAL(job_state_parse(states[i].code, &back), 0);
        CU_ASSERT_EQUAL(back, states[i].s);
        back = JOB_STATE_COUNT;
        CU_ASSERT_EQUAL(job_state_parse(states[i].name, &back), 0);
        CU_ASSERT_EQUAL(back, states[i].s);
    }
    CU_ASSERT_STRING_EQUAL(job_state_code(JOB_STATE_COUNT), "?");
    CU_ASSERT_STRING_EQUAL(job_state_code((enum job_state)-1), "?");
    CU_ASSERT_STRING_EQUAL(job_state_name(JOB_STATE_COUNT), "UNKNOWN");
    CU_ASSERT_FALSE(job_state_final(JOB_STATE_COUNT));

    static const char *const bad[] = { "", "X", "pd", "Running", "PENDINGX", "P", "?" };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        enum job_state out = JOB_TIMEOUT;
        CU_ASSERT_EQUAL(job_state_parse(bad[i], &out), -1);
        CU_ASSERT_EQUAL(out, JOB_TIMEOUT);
    }
}

int suite_jobstate(void)
{
    static const unit_test tests[] = {
        { "jobstate", test_jobstate },
        { NULL, NULL },
    };
    return unit_add("jobstate", tests);
}
