/* tern cancel: stop jobs (signal, grace period, SIGKILL), or drop pending ones. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: tern cancel JOB... [--scheduler ENDPOINT]\n"
    "  running jobs get SIGTERM, then SIGKILL after the scheduler's kill-wait;\n"
    "  pending jobs never start\n";

int cmd_cancel(int argc, char **argv)
{
    cli_common co;
    const cli_command cmd = {
        .name = "cancel",
        .usage = usage,
        .operands = CLI_JOBS,
    };
    int rc = cli_begin(&cmd, argc, argv, &co);
    if (rc >= 0)
        return rc;
    client *c = cli_connect("cancel", co.scheduler);
    if (!c) {
        free(co.jobs);
        return 1;
    }
    Tern__Envelope env;
    Tern__CancelRequest rq = TERN__CANCEL_REQUEST__INIT;
    wire_init(&env, 0);
    rq.n_job_ids = co.njobs;
    rq.job_ids = co.jobs;
    env.body_case = TERN__ENVELOPE__BODY_CANCEL;
    env.cancel = &rq;
    Tern__Envelope *rep = cli_call(c, "cancel", &env, TERN__ENVELOPE__BODY_CANCELLED);
    rc = 1;
    if (rep) {
        for (size_t i = 0; i < rep->cancelled->n_errors; i++)
            cli_error("cancel", "%s", rep->cancelled->errors[i]);
        rc = rep->cancelled->n_errors ? 1 : 0;
    }
    wire_free(rep);
    client_close(&c);
    free(co.jobs);
    return rc;
}
