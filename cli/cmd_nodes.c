/* tern nodes, tern drain, tern resume. */
#include "cli/cli.h"

#include "common/parse.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: tern nodes [--json] [--scheduler ENDPOINT]\n"
    "  every node with its state, CPUs and GPUs in use, and jobs\n";

static json_t *node_json(const Tern__NodeInfo *n)
{
    json_t *o = json_object(), *gpus = json_array(), *labels = json_array(),
           *jobs = json_array(), *nics = json_array();
    if (!o || !gpus || !labels || !jobs || !nics) {
        json_decref(o);
        json_decref(gpus);
        json_decref(labels);
        json_decref(jobs);
        json_decref(nics);
        return NULL;
    }
    for (size_t i = 0; i < n->n_gpus; i++) {
        const Tern__Gpu *g = n->gpus[i];
        json_t *go = json_object();
        json_object_set_new(go, "index", json_integer(g->index));
        json_object_set_new(go, "name", cli_json_str(g->name));
        json_object_set_new(go, "pci_bus_id", cli_json_str(g->pci_bus_id));
        json_object_set_new(go, "numa", json_integer(g->numa));
        json_object_set_new(go, "memory_mb", json_integer((json_int_t)g->memory_mb));
        json_object_set_new(go, "island", json_integer(g->island));
        json_array_append_new(gpus, go);
    }
    for (size_t i = 0; i < n->n_nics; i++) {
        json_t *no = json_object();
        json_object_set_new(no, "name", cli_json_str(n->nics[i]->name));
        json_object_set_new(no, "pci_bus_id", cli_json_str(n->nics[i]->pci_bus_id));
        json_object_set_new(no, "numa", json_integer(n->nics[i]->numa));
        json_array_append_new(nics, no);
    }
    for (size_t i = 0; i < n->n_labels; i++)
        json_array_append_new(labels, cli_json_str(n->labels[i]));
    for (size_t i = 0; i < n->n_jobs; i++)
        json_array_append_new(jobs, json_integer((json_int_t)n->jobs[i]));
    json_object_set_new(o, "name", cli_json_str(n->name));
    json_object_set_new(o, "state", cli_json_str(n->state));
    json_object_set_new(o, "reason", cli_json_str(n->reason));
    json_object_set_new(o, "addr", cli_json_str(n->addr));
    json_object_set_new(o, "worker_pid", json_integer(n->pid));
    json_object_set_new(o, "cpus", json_integer(n->cpus));
    json_object_set_new(o, "cpus_used", json_integer(n->cpus_used));
    json_object_set_new(o, "cores", json_integer(n->cores));
    json_object_set_new(o, "numa_nodes", json_integer(n->numa_nodes));
    json_object_set_new(o, "memory_mb", json_integer((json_int_t)n->memory_mb));
    json_object_set_new(o, "gpus", gpus);
    json_object_set_new(o, "gpus_used", json_integer(n->gpus_used));
    json_object_set_new(o, "nics", nics);
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "jobs", jobs);
    return o;
}

int cmd_nodes(int argc, char **argv)
{
    cli_common co;
    const cli_command cmd = {
        .name = "nodes",
        .usage = usage,
        .operands = CLI_NONE,
    };
    int rc = cli_begin(&cmd, argc, argv, &co);
    if (rc >= 0)
        return rc;
    client *c = cli_connect("nodes", co.scheduler);
    if (!c)
        return 1;
    Tern__Envelope *rep = cli_nodes(c, "nodes");
    client_close(&c);
    if (!rep)
        return 1;
    const Tern__NodesReply *r = rep->nodes;
    rc = 0;
    if (co.json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < r->n_nodes; i++)
            json_array_append_new(arr, node_json(r->nodes[i]));
        rc = cli_print_json(json_pack("{s:o}", "nodes", arr));
    } else {
        printf("%-16s %-10s %9s %9s %8s %-15s %-12s %s\n", "NODE", "STATE", "CPUS(A/T)",
               "GPUS(A/T)", "MEM(MB)", "ADDR", "JOBS", "LABELS/REASON");
        for (size_t i = 0; i < r->n_nodes; i++) {
            const Tern__NodeInfo *n = r->nodes[i];
            char cpus[32], gpus[32], jobs[256] = "-", extra[512] = "";
            snprintf(cpus, sizeof cpus, "%u/%u", n->cpus_used, n->cpus);
            snprintf(gpus, sizeof gpus, "%u/%zu", n->gpus_used, n->n_gpus);
            for (size_t k = 0, o = 0; k < n->n_jobs && o < sizeof jobs; k++)
                o += (size_t)snprintf(jobs + o, sizeof jobs - o, "%s%llu", k ? "," : "",
                                      (unsigned long long)n->jobs[k]);
            for (size_t k = 0, o = 0; k < n->n_labels && o < sizeof extra; k++)
                o += (size_t)snprintf(extra + o, sizeof extra - o, "%s%s", k ? "," : "",
                                      cli_esc(n->labels[k]));
            if (n->reason[0]) {
                size_t o = strlen(extra);
                snprintf(extra + o, sizeof extra - o, "%s(%s)", o ? " " : "", cli_esc(n->reason));
            }
            printf("%-16s %-10s %9s %9s %8llu %-15s %-12s %s\n", cli_esc(n->name),
                   cli_esc(n->state), cpus, gpus, (unsigned long long)n->memory_mb,
                   cli_esc(n->addr), jobs, extra);
        }
    }
    wire_free(rep);
    return rc;
}

typedef struct node_cmd_opts {
    const char *reason;
    uint32_t notice_s;             /* preempt --in; 0: the scheduler's default */
} node_cmd_opts;

static int set_node_cmd(int c, const char *arg, void *ctx)
{
    node_cmd_opts *o = ctx;
    if (c == 'R') {
        o->reason = arg;
        return 0;
    }
    if (c == 'i') {
        if (parse_u32(arg, 1, 86400, &o->notice_s) == 0)
            return 0;
        cli_error("preempt", "--in '%s': expected seconds, 1 to 86400", arg);
    }
    return -1;
}

static const char preempt_usage[] =
    "usage: tern preempt NODE [--in SECONDS] [--reason TEXT] [--scheduler ENDPOINT]\n"
    "  a spot notice for NODE, as its cloud would give: nothing new is placed there,\n"
    "  every job with a rank on it gets its preempt signal, checkpoints and moves\n"
    "  to other nodes; the node goes away after SECONDS (default 30). 'tern resume\n"
    "  NODE' withdraws the notice.\n";
static const char drain_usage[] = "usage: tern drain NODE [--reason TEXT] [--scheduler ENDPOINT]\n";
static const char resume_usage[] = "usage: tern resume NODE [--reason TEXT] [--scheduler ENDPOINT]\n";

int cmd_node_command(int argc, char **argv)
{
    static const struct option extra[] = {
        { "reason", required_argument, 0, 'R' },
        { "in", required_argument, 0, 'i' },
        { 0, 0, 0, 0 },
    };
    const char *cmd = argv[0];
    node_cmd_opts o = { 0 };
    bool preempt = strcmp(cmd, "preempt") == 0;
    cli_common co;
    const cli_command spec = {
        .name = cmd,
        .usage = preempt ? preempt_usage : strcmp(cmd, "drain") == 0 ? drain_usage : resume_usage,
        .extra = extra,
        .fn = set_node_cmd,
        .ctx = &o,
        .operands = CLI_ONE_NODE,
    };
    int rc = cli_begin(&spec, argc, argv, &co);
    if (rc >= 0)
        return rc;
    if (o.notice_s && !preempt) {
        cli_error(cmd, "--in is an option of 'tern preempt'");
        return 2;
    }
    client *c = cli_connect(cmd, co.scheduler);
    if (!c)
        return 1;
    rc = cli_node_command(c, cmd, co.node, cmd, o.reason ? o.reason : "", o.notice_s) < 0;
    client_close(&c);
    return rc;
}
