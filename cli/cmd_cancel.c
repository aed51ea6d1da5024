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
    int first = cli_parse("cancel", argc, argv, &co, NULL, NULL, NULL, NULL);
    if (first < 0)
        return 2;
    if (co.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (first >= argc) {
        cli_error("cancel", "give at least one job id (see 'tern cancel --help')");
        return 2;
    }
    size_t n = (size_t)(argc - first);
    uint64_t *ids = calloc(n, sizeof *ids);
    if (!ids)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (cli_job_id("cancel", argv[first + (int)i], &ids[i]) < 0) {
            free(ids);
            return 2;
        }
    }
    client *c = cli_connect("cancel", co.scheduler);
    if (!c) {
        free(ids);
        return 1;
    }
    Tern__Envelope env;
    Tern__CancelRequest rq = TERN__CANCEL_REQUEST__INIT;
    wire_init(&env, 0);
    rq.n_job_ids = n;
    rq.job_ids = ids;
    env.body_case = TERN__ENVELOPE__BODY_CANCEL;
    env.cancel = &rq;
    Tern__Envelope *rep = cli_call(c, "cancel", &env, TERN__ENVELOPE__BODY_CANCELLED);
    int rc = 1;
    if (rep) {
        for (size_t i = 0; i < rep->cancelled->n_errors; i++)
            cli_error("cancel", "%s", rep->cancelled->errors[i]);
        rc = rep->cancelled->n_errors ? 1 : 0;
    }
    wire_free(rep);
    client_close(&c);
    free(ids);
    return rc;
}
