/* tern up --workers N on an existing cluster: workers started or stopped
 * to make N, spot workers kept, and never a worker that runs a job. */
#include "cli/up.h"

#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reason a stopped worker's node is drained with; a new worker of the
 * same name is resumed only from this drain, not from an admin's. */
#define RESIZE_REASON "stopped by tern up --workers"

static const Tern__NodeInfo *node_named(const Tern__Envelope *rep, const char *name)
{
    for (size_t i = 0; i < rep->nodes->n_nodes; i++)
        if (strcmp(rep->nodes->nodes[i]->name, name) == 0)
            return rep->nodes->nodes[i];
    return NULL;
}

/* Names worker 'at' "nodeK", the first K from 'from' on that no other
 * worker has; returns K. */
static int next_name(cluster_info *ci, int at, int from)
{
    char name[sizeof ci->worker_names[0]];
    for (int k = from;; k++) {
        snprintf(name, sizeof name, "node%d", k);
        bool taken = false;
        for (int i = 0; i < ci->nworkers && !taken; i++)
            taken = i != at && strcmp(ci->worker_names[i], name) == 0;
        if (!taken) {
            memcpy(ci->worker_names[at], name, sizeof name);
            return k;
        }
    }
}

static void grow_workers(cluster_info *ci, int want, bool added[256])
{
    int k = want - ci->nworkers, at = ci->nworkers - ci->spot_workers, num = 1;
    memmove(&ci->worker_names[at + k], &ci->worker_names[at],
            (size_t)ci->spot_workers * sizeof ci->worker_names[0]);
    memmove(&ci->worker_pids[at + k], &ci->worker_pids[at],
            (size_t)ci->spot_workers * sizeof ci->worker_pids[0]);
    ci->nworkers = want;
    for (int i = at; i < at + k; i++) {
        ci->worker_names[i][0] = '\0';
        num = next_name(ci, i, num) + 1;
        ci->worker_pids[i] = 0;
        added[i] = true;
    }
}

/* Refuses when a worker to stop runs a job; returns 0 or 2. */
static int check_idle(const Tern__Envelope *rep, const cluster_info *ci, int from, int to,
                      int want)
{
    for (int i = from; i < to; i++) {
        const Tern__NodeInfo *n = node_named(rep, ci->worker_names[i]);
        if (!n || n->n_jobs == 0)
            continue;
        cli_error("up", "--workers %d would stop %s, which runs job %llu%s: cancel it or let "
                  "it end, then run 'tern up --workers %d' again", want, ci->worker_names[i],
                  (unsigned long long)n->jobs[0], n->n_jobs > 1 ? " and more" : "", want);
        return 2;
    }
    return 0;
}

static int shrink_workers(cluster_info *ci, int want)
{
    int k = ci->nworkers - want, spot_at = ci->nworkers - ci->spot_workers;
    if (k > spot_at) {
        cli_error("up", "--workers %d: the cluster keeps its %d spot workers (give at least %d)",
                  want, ci->spot_workers, ci->spot_workers);
        return 2;
    }
    char err[1024];
    client *c = client_open_local(ci, err, sizeof err);
    if (!c) {
        cli_error("up", "%s", err);
        return 1;
    }
    Tern__Envelope *rep = cli_nodes(c, "up");
    int rc = rep ? check_idle(rep, ci, spot_at - k, spot_at, want) : 1;
    wire_free(rep);
    for (int i = spot_at - k; rc == 0 && i < spot_at; i++)
        if (cli_node_command(c, "up", ci->worker_names[i], "drain", RESIZE_REASON, 0) < 0)
            rc = 1;
    client_close(&c);
    if (rc != 0)
        return rc;
    for (int i = spot_at - k; i < spot_at; i++)
        up_stop(ci->worker_pids[i], "tern-worker");
    memmove(&ci->worker_names[spot_at - k], &ci->worker_names[spot_at],
            (size_t)ci->spot_workers * sizeof ci->worker_names[0]);
    memmove(&ci->worker_pids[spot_at - k], &ci->worker_pids[spot_at],
            (size_t)ci->spot_workers * sizeof ci->worker_pids[0]);
    ci->nworkers = want;
    return 0;
}

int up_resize(cluster_info *ci, int want, bool added[256])
{
    if (want > ci->nworkers)
        grow_workers(ci, want, added);
    else if (want < ci->nworkers)
        return shrink_workers(ci, want);
    return 0;
}

int up_resume_added(const cluster_info *ci, const bool added[256])
{
    char err[1024];
    client *c = client_open_local(ci, err, sizeof err);
    if (!c) {
        cli_error("up", "%s", err);
        return -1;
    }
    Tern__Envelope *rep = cli_nodes(c, "up");
    int rc = rep ? 0 : -1;
    for (int i = 0; rep && rc == 0 && i < ci->nworkers; i++) {
        const Tern__NodeInfo *n = added[i] ? node_named(rep, ci->worker_names[i]) : NULL;
        if (n && strcmp(n->state, "DRAIN") == 0 && strcmp(n->reason, RESIZE_REASON) == 0)
            rc = cli_node_command(c, "up", n->name, "resume", "", 0);
    }
    wire_free(rep);
    client_close(&c);
    return rc;
}
