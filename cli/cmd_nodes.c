/* tern nodes, tern drain, tern resume. */
#include "cli/cli.h"

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
    json_t *gpus = json_array(), *labels = json_array(), *jobs = json_array(),
           *nics = json_array();
    for (size_t i = 0; i < n->n_gpus; i++)
        json_array_append_new(gpus, json_pack("{s:i, s:s, s:s, s:i, s:I}", "index",
                                              n->gpus[i]->index, "name", n->gpus[i]->name,
                                              "pci_bus_id", n->gpus[i]->pci_bus_id, "numa",
                                              n->gpus[i]->numa,
                                              "memory_mb", (json_int_t)n->gpus[i]->memory_mb));
    for (size_t i = 0; i < n->n_nics; i++)
        json_array_append_new(nics, json_pack("{s:s, s:s, s:i}", "name", n->nics[i]->name,
                                              "pci_bus_id", n->nics[i]->pci_bus_id, "numa",
                                              n->nics[i]->numa));
    for (size_t i = 0; i < n->n_labels; i++)
        json_array_append_new(labels, json_string(n->labels[i]));
    for (size_t i = 0; i < n->n_jobs; i++)
        json_array_append_new(jobs, json_integer((json_int_t)n->jobs[i]));
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:I, s:o, s:i, s:o, s:o, s:o}",
                     "name", n->name, "state", n->state, "reason", n->reason, "addr", n->addr,
                     "cpus", n->cpus, "cpus_used", n->cpus_used, "cores", n->cores,
                     "numa_nodes", n->numa_nodes, "memory_mb", (json_int_t)n->memory_mb,
                     "gpus", gpus, "gpus_used", n->gpus_used, "nics", nics, "labels", labels,
                     "jobs", jobs);
}

int cmd_nodes(int argc, char **argv)
{
    cli_common co;
    int first = cli_parse("nodes", argc, argv, &co, NULL, NULL, NULL, NULL);
    if (first < 0)
        return 2;
    if (co.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (first < argc) {
        cli_error("nodes", "unexpected argument '%s'", argv[first]);
        return 2;
    }
    client *c = cli_connect("nodes", co.scheduler);
    if (!c)
        return 1;
    Tern__Envelope env;
    Tern__NodesRequest rq = TERN__NODES_REQUEST__INIT;
    wire_init(&env, 0);
    env.body_case = TERN__ENVELOPE__BODY_NODES_QUERY;
    env.nodes_query = &rq;
    Tern__Envelope *rep = cli_call(c, "nodes", &env, 0);
    client_close(&c);
    if (!rep)
        return 1;
    if (rep->body_case != TERN__ENVELOPE__BODY_NODES) {
        cli_error("nodes", "unexpected reply from the scheduler");
        wire_free(rep);
        return 1;
    }
    const Tern__NodesReply *r = rep->nodes;
    int rc = 0;
    if (co.json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < r->n_nodes; i++)
            json_array_append_new(arr, node_json(r->nodes[i]));
        rc = cli_print_json(json_pack("{s:o}", "nodes", arr));
    } else {
        printf("%-16s %-8s %9s %9s %8s %-15s %-12s %s\n", "NODE", "STATE", "CPUS(A/T)",
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
                                      n->labels[k]);
            if (n->reason[0]) {
                size_t o = strlen(extra);
                snprintf(extra + o, sizeof extra - o, "%s(%s)", o ? " " : "", n->reason);
            }
            printf("%-16s %-8s %9s %9s %8llu %-15s %-12s %s\n", n->name, n->state, cpus, gpus,
                   (unsigned long long)n->memory_mb, n->addr, jobs, extra);
        }
    }
    wire_free(rep);
    return rc;
}

static int set_reason(int c, const char *arg, void *ctx)
{
    if (c != 'R')
        return -1;
    *(const char **)ctx = arg;
    return 0;
}

int cmd_node_command(int argc, char **argv)
{
    static const struct option extra[] = {
        { "reason", required_argument, 0, 'R' },
        { 0, 0, 0, 0 },
    };
    const char *cmd = argv[0], *reason = NULL;
    cli_common co;
    int first = cli_parse(cmd, argc, argv, &co, NULL, extra, set_reason, &reason);
    if (first < 0)
        return 2;
    if (co.help) {
        printf("usage: tern %s NODE [--reason TEXT] [--scheduler ENDPOINT]\n", cmd);
        return 0;
    }
    if (first != argc - 1) {
        cli_error(cmd, "give one node name (see 'tern %s --help')", cmd);
        return 2;
    }
    client *c = cli_connect(cmd, co.scheduler);
    if (!c)
        return 1;
    Tern__Envelope env;
    Tern__NodeCommand rq = TERN__NODE_COMMAND__INIT;
    wire_init(&env, 0);
    rq.node = argv[first];
    rq.command = (char *)cmd;
    rq.reason = (char *)(reason ? reason : "");
    env.body_case = TERN__ENVELOPE__BODY_NODE_COMMAND;
    env.node_command = &rq;
    Tern__Envelope *rep = cli_call(c, cmd, &env, 0);
    client_close(&c);
    int rc = rep && rep->body_case == TERN__ENVELOPE__BODY_OK ? 0 : 1;
    wire_free(rep);
    return rc;
}
