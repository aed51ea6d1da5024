/* Launching an attempt, and the Launches of any gang (launch.h). */
#include "scheduler/launch.h"

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/jobspec.h"
#include "common/log.h"
#include "scheduler/attempt.h"
#include "scheduler/auth.h"
#include "scheduler/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A MASTER_PORT no running attempt with the same master address uses
 * (steps of batch jobs take theirs at random in the same range). */
uint32_t launch_pick_port(sched *s, const char *addr)
{
    uint32_t span = s->opt.port_hi - s->opt.port_lo + 1;
    for (uint32_t tries = 0; tries < span; tries++) {
        s->rng = s->rng * 1103515245u + 12345u;
        uint32_t port = s->opt.port_lo + (s->rng >> 8) % span;
        bool used = false;
        for (job *a = s->active.head; a && !used; a = a->next)
            used = a->placement->master_port == port &&
                   strcmp(a->placement->master_addr, addr) == 0;
        if (!used)
            return port;
    }
    return s->opt.port_lo;
}

bool launch_port_ok(const sched *s, uint32_t port)
{
    return port >= s->opt.port_lo && port <= s->opt.port_hi;
}

/* The position in j's placement of node rank k of gang 'g'. */
static size_t gang_node(const launch_gang *g, uint32_t k)
{
    return g->node_idx ? g->node_idx[k] : k;
}

int launch_nodes(sched *s, const job *j, const launch_gang *g, uint32_t from, uint32_t to)
{
    char **names = calloc(g->nnodes ? g->nnodes : 1, sizeof *names);
    if (!names)
        return -1;
    for (uint32_t k = 0; k < g->nnodes; k++)
        names[k] = j->placement->nodes[gang_node(g, k)]->name;
    char job_dir[FS_PATH_LEN];
    snprintf(job_dir, sizeof job_dir, "%s/%llu", s->opt.log_dir, (unsigned long long)j->id);
    Tern__Launch l = TERN__LAUNCH__INIT;
    curve_key key;
    l.job_id = j->id;
    l.attempt = j->attempt;
    l.step = g->step;
    l.spec = (Tern__JobSpec *)g->spec;
    l.kill_wait_ms = s->opt.kill_wait_ms;
    l.port_lo = s->opt.port_lo;
    l.port_hi = s->opt.port_hi;
    if (auth_job_key(s, j, &key))
        l.job_key = key.sec;
    l.nnodes = g->nnodes;
    l.master_addr = (char *)g->master_addr;
    l.master_port = g->master_port;
    l.job_dir = job_dir;
    l.n_node_names = g->nnodes;
    l.node_names = names;
    l.client_port = g->client_port;
    for (uint32_t k = from; k < to; k++) {
        const Tern__PlacedNode *pn = j->placement->nodes[gang_node(g, k)];
        l.node_rank = k;
        l.n_gpus = pn->n_gpus;
        l.gpus = pn->gpus;
        outbox_worker(s, &j->nodes[gang_node(g, k)]->peer, 0, TERN__ENVELOPE__BODY_LAUNCH, &l);
    }
    free(names);
    return 0;
}

/* Sends the Launches of j's attempt to its nodes from..to-1. */
static void launch_attempt_nodes(sched *s, job *j, uint32_t from, uint32_t to)
{
    launch_gang g = {
        .spec = j->spec,
        .nnodes = (uint32_t)j->placement->n_nodes,
        .master_addr = j->placement->master_addr,
        .master_port = j->placement->master_port,
        /* srun reaches ternd from a batch script */
        .client_port = jobspec_one_process(j->spec) ? s->client_port : 0,
    };
    /* Out of memory its nodes do not report it: lost after the launch grace. */
    if (launch_nodes(s, j, &g, from, to) < 0)
        log_err("job=%llu attempt=%u: out of memory launching", (unsigned long long)j->id,
                j->attempt);
}

void launch_attempt(sched *s, job *j)
{
    /* The first node checks the master port before the others hear of it
     * (launch_started). */
    j->launch_held = j->placement->n_nodes > 1;
    launch_attempt_nodes(s, j, 0, 1);
}

void launch_started(sched *s, job *j, const Tern__Started *st)
{
    char detail[96];
    snprintf(detail, sizeof detail, "attempt=%u uid=%u gid=%u", j->attempt, st->uid, st->gid);
    sched_db(s, store_event(s->db, j->id, j->placement->nodes[0]->name, "runas", detail));
    /* The port may move before the other nodes hear of it, never after
     * (a late or repeated Started), and not for an attempt that is ending. */
    uint32_t port = st->master_port;
    bool may_move = !j->ending && (j->launch_held || j->placement->n_nodes == 1);
    if (may_move && port != j->placement->master_port && launch_port_ok(s, port)) {
        log_info("job=%llu attempt=%u: MASTER_PORT %u is held on %s; the ranks use %u",
                 (unsigned long long)j->id, j->attempt, j->placement->master_port,
                 j->placement->nodes[0]->name, port);
        j->placement->master_port = port;
        attempt_save(s, j, JOB_RUNNING);
    }
    if (j->launch_held && !j->ending)
        launch_rest(s, j);
}

void launch_rest(sched *s, job *j)
{
    j->launch_held = false;
    j->launched_mono = clock_mono_ms();
    launch_attempt_nodes(s, j, 1, (uint32_t)j->placement->n_nodes);
}
