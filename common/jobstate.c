#include "common/jobstate.h"

#include <string.h>

static const char *const codes[JOB_STATE_COUNT] = {
    "PD", "R", "CG", "CD", "F", "CA", "TO", "PR", "NF",
};
static const char *const names[JOB_STATE_COUNT] = {
    "PENDING", "RUNNING", "COMPLETING", "COMPLETED", "FAILED",
    "CANCELLED", "TIMEOUT", "PREEMPTED", "NODE_FAIL",
};

const char *job_state_code(enum job_state s)
{
    return (unsigned)s < JOB_STATE_COUNT ? codes[s] : "?";
}

const char *job_state_name(enum job_state s)
{
    return (unsigned)s < JOB_STATE_COUNT ? names[s] : "UNKNOWN";
}

int job_state_parse(const char *s, enum job_state *out)
{
    for (int i = 0; i < JOB_STATE_COUNT; i++) {
        if (strcmp(s, codes[i]) == 0 || strcmp(s, names[i]) == 0) {
            *out = (enum job_state)i;
            return 0;
        }
    }
    return -1;
}

bool job_state_final(enum job_state s)
{
    switch (s) {
    case JOB_COMPLETED:
    case JOB_FAILED:
    case JOB_CANCELLED:
    case JOB_TIMEOUT:
    case JOB_NODE_FAIL:
        return true;
    default:
        return false;
    }
}
