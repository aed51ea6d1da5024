/* Job states and their squeue codes: PD R CG CD F CA TO PR NF. */
#ifndef TERN_JOBSTATE_H
#define TERN_JOBSTATE_H

#include <stdbool.h>

enum job_state {
    JOB_PENDING = 0,
    JOB_RUNNING,
    JOB_COMPLETING,
    JOB_COMPLETED,
    JOB_FAILED,
    JOB_CANCELLED,
    JOB_TIMEOUT,
    JOB_PREEMPTED,
    JOB_NODE_FAIL,
    JOB_STATE_COUNT
};

/* "PD", "R", ...; "?" for an out-of-range value. */
const char *job_state_code(enum job_state s);
/* "PENDING", "RUNNING", ... */
const char *job_state_name(enum job_state s);
/* Accepts a code or a name. Returns 0, or -1 if neither. */
int job_state_parse(const char *s, enum job_state *out);
/* True for states a job never leaves. */
bool job_state_final(enum job_state s);

#endif
