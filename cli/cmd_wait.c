/* tern wait: block until a job ends and exit with its exit code. Rides out
 * a scheduler restart: the question is asked again until the deadline. */
#include "cli/cli.h"

#include "common/clock.h"
#include "common/jobstate.h"
#include "common/parse.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_WAIT_TIMEOUT 124
#define POLL_MS 10000

static const char usage[] =
    "usage: tern wait JOB [--timeout S] [--scheduler ENDPOINT]\n"
    "  waits for the job to end and exits with its exit code: 0 when completed,\n"
    "  the failing rank's code when failed, 143 when cancelled, 137 on node\n"
    "  failure; 124 when --timeout passes first\n";

static int set_timeout(int c, const char *arg, void *ctx)
{
    uint32_t *secs = ctx;
    if (c == 'T' && parse_u32(arg, 0, 31536000, secs) == 0)
        return 0;
    cli_error("wait", "--timeout '%s': expected seconds", arg);
    return -1;
}

int cmd_wait(int argc, char **argv)
{
    static const struct option extra[] = {
        { "timeout", required_argument, 0, 'T' },
        { 0, 0, 0, 0 },
    };
    cli_common co;
    uint32_t timeout_s = 0;
    const cli_command cmd = {
        .name = "wait",
        .usage = usage,
        .extra = extra,
        .fn = set_timeout,
        .ctx = &timeout_s,
        .operands = CLI_ONE_JOB,
    };
    int rc = cli_begin(&cmd, argc, argv, &co);
    if (rc >= 0)
        return rc;
    uint64_t id = co.job;
    client *c = NULL;
    int64_t deadline = timeout_s ? clock_mono_ms() + (int64_t)timeout_s * 1000 : INT64_MAX;
    int64_t unreachable_since = 0;
    bool reached = false;
    rc = EXIT_WAIT_TIMEOUT;
    char last_state[8] = "?";
    for (;;) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0)
            break;
        Tern__Envelope env;
        Tern__WaitRequest rq = TERN__WAIT_REQUEST__INIT;
        wire_init(&env, 0);
        rq.job_id = id;
        /* The first question is answered at once, so that a scheduler
         * never reached is reported as such rather than ridden out. */
        rq.max_wait_ms = reached ? (uint32_t)(left < POLL_MS ? left : POLL_MS) : 0;
        env.body_case = TERN__ENVELOPE__BODY_WAIT;
        env.wait = &rq;
        char err[1024];
        if (!c)
            c = client_open(co.scheduler, err, sizeof err);
        Tern__Envelope *rep = c ? client_call(c, &env, (int)rq.max_wait_ms + client_timeout_ms(),
                                              err, sizeof err)
                                : NULL;
        if (!rep) {
            /* A job the scheduler does not know is final; anything else may
             * be a restart in progress: ask again, for a while. */
            if (strncmp(err, "no job", 6) == 0) {
                cli_error("wait", "%s", err);
                rc = 1;
                break;
            }
            int64_t now = clock_mono_ms();
            if (!unreachable_since)
                unreachable_since = now;
            if (!reached || now - unreachable_since > client_timeout_ms() * 6) {
                cli_error("wait", "%s", err);
                rc = 1;
                break;
            }
            client_close(&c);
            clock_sleep_ms(200);
            continue;
        }
        unreachable_since = 0;
        reached = true;
        if (rep->body_case != TERN__ENVELOPE__BODY_JOBS || rep->jobs->n_jobs != 1) {
            cli_error("wait", "unexpected reply from the scheduler");
            wire_free(rep);
            rc = 1;
            break;
        }
        const Tern__JobInfo *j = rep->jobs->jobs[0];
        enum job_state st;
        snprintf(last_state, sizeof last_state, "%s", j->state);
        if (job_state_parse(j->state, &st) == 0 && job_state_final(st)) {
            rc = j->exit_code;
            if (st != JOB_COMPLETED)
                fprintf(stderr, "tern: wait: job %llu %s (exit %d): %s\n",
                        (unsigned long long)id, job_state_name(st), j->exit_code,
                        cli_esc(j->reason));
            wire_free(rep);
            client_close(&c);
            return rc & 0xff ? rc & 0xff : (rc ? 1 : 0);
        }
        wire_free(rep);
    }
    if (rc == EXIT_WAIT_TIMEOUT)
        cli_error("wait", "job %llu still %s after %u s", (unsigned long long)id, last_state,
                  timeout_s);
    client_close(&c);
    return rc;
}
