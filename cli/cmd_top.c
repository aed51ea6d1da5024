/* tern top: a live view of the cluster, refreshed in place: each node with
 * the CPUs and GPUs in use, and each running job with how far it got (the
 * last step it reported with tern_report_step). */
#include "cli/cli.h"

#include "common/clock.h"
#include "common/parse.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char top_usage[] =
    "usage: tern top [--once] [--interval S] [--scheduler ENDPOINT]\n"
    "  nodes (CPUs and GPUs in use) and running jobs (their last reported step),\n"
    "  refreshed every S seconds (default 1) until Ctrl-C; --once prints one frame\n"
    "  (as does a run whose output is not a terminal)\n";

typedef struct top_opts {
    bool once;
    uint32_t interval_s;
} top_opts;

static int top_option(int c, const char *arg, void *ctx)
{
    top_opts *o = ctx;
    if (c == 'O') {
        o->once = true;
        return 0;
    }
    if (parse_u32(arg, 1, 3600, &o->interval_s) < 0) {
        cli_error("top", "--interval '%s': expected seconds, 1 to 3600", arg);
        return -1;
    }
    return 0;
}

static void print_nodes(const Tern__NodesReply *nr)
{
    printf("%-16s %-11s %9s %9s %5s\n", "NODE", "STATE", "CPUS", "GPUS", "JOBS");
    for (size_t i = 0; i < nr->n_nodes; i++) {
        const Tern__NodeInfo *n = nr->nodes[i];
        char cpus[32], gpus[32];
        snprintf(cpus, sizeof cpus, "%u/%u", n->cpus_used, n->cpus);
        snprintf(gpus, sizeof gpus, "%u/%zu", n->gpus_used, n->n_gpus);
        printf("%-16.16s %-11.11s %9s %9s %5zu\n", cli_esc(n->name), cli_esc(n->state), cpus,
               gpus, n->n_jobs);
    }
}

/* Prints the running jobs of every page; returns how many, or -1. */
static int print_jobs(client *c, size_t *pending)
{
    printf("\n%8s %-14s %-8s %5s %10s %10s  %s\n", "JOBID", "NAME", "USER", "NODES", "TIME",
           "STEP", "NODELIST");
    int running = 0;
    uint64_t after = 0;
    do {
        Tern__Envelope *rep = cli_jobs_page(c, "top", after, false);
        if (!rep)
            return -1;
        for (size_t i = 0; i < rep->jobs->n_jobs; i++) {
            const Tern__JobInfo *j = rep->jobs->jobs[i];
            if (strcmp(j->state, "PD") == 0) {
                (*pending)++;
                continue;
            }
            char t[32], step[24], nodes[256] = "";
            int64_t secs = j->start_ms ? (clock_wall_ms() - j->start_ms) / 1000 : 0;
            format_duration(secs > 0 ? (uint64_t)secs : 0, t, sizeof t);
            if (j->progress >= 0)
                snprintf(step, sizeof step, "%lld", (long long)j->progress);
            else
                snprintf(step, sizeof step, "-");
            for (size_t k = 0, o = 0; k < j->n_node_names && o < sizeof nodes; k++)
                o += (size_t)snprintf(nodes + o, sizeof nodes - o, "%s%s", k ? "," : "",
                                      cli_esc(j->node_names[k]));
            printf("%8llu %-14.14s %-8.8s %5u %10s %10s  %s\n", (unsigned long long)j->id,
                   cli_esc(j->spec->name), cli_esc(j->spec->user), j->spec->nodes, t, step, nodes);
            running++;
        }
        after = rep->jobs->next_after;
        wire_free(rep);
    } while (after);
    return running;
}

int cmd_top(int argc, char **argv)
{
    static const struct option extra[] = {
        { "once", no_argument, 0, 'O' }, { "interval", required_argument, 0, 'I' },
        { 0, 0, 0, 0 },
    };
    top_opts o = { .interval_s = 1 };
    cli_common co;
    const cli_command cmd = {
        .name = "top",
        .usage = top_usage,
        .extra = extra,
        .fn = top_option,
        .ctx = &o,
        .operands = CLI_NONE,
    };
    int rc = cli_begin(&cmd, argc, argv, &co);
    if (rc >= 0)
        return rc;
    bool live = !o.once && isatty(STDOUT_FILENO);
    client *c = cli_connect("top", co.scheduler);
    if (!c)
        return 1;
    rc = 0;
    for (;;) {
        Tern__Envelope *nodes = cli_nodes(c, "top");
        if (!nodes) {
            rc = 1;
            break;
        }
        if (live)
            fputs("\033[H\033[2J", stdout);   /* home, clear: the frame redraws in place */
        char now[32];
        cli_time(clock_wall_ms(), now, sizeof now);
        printf("tern top  %s  %s%s\n\n", now, client_endpoint(c),
               live ? "  (Ctrl-C quits)" : "");
        print_nodes(nodes->nodes);
        wire_free(nodes);
        size_t pending = 0;
        int running = print_jobs(c, &pending);
        if (running < 0) {
            rc = 1;
            break;
        }
        printf("\n%d running, %zu pending\n", running, pending);
        fflush(stdout);
        if (!live)
            break;
        clock_sleep_ms((int64_t)o.interval_s * 1000);
    }
    client_close(&c);
    return rc;
}
