/* Launching an attempt: its MASTER_PORT, the Launch each node gets, and
 * the hold on the nodes after the first until it has started. Node rank 0
 * checks the port is free there (another process may hold it) and says
 * which it took in its Started; the others are launched with that one. */
#include "scheduler/sched.h"

#include "common/clock.h"
#include "common/jobspec.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A MASTER_PORT no running attempt with the same master address uses
 * (steps of batch jobs take theirs at random in the same range). */
uint32_t attempt_pick_port(sched *s, const char *addr)
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

void attempt_launch_init(const sched *s, const job *j, Tern__Launch *l, curve_key *key)
{
    l->job_id = j->id;
    l->attempt = j->attempt;
    l->kill_wait_ms = s->opt.kill_wait_ms;
    l->port_lo = s->opt.port_lo;
    l->port_hi = s->opt.port_hi;
    if (auth_job_key(s, j, key))
        l->job_key = key->sec;
}

static void send_launch(sched *s, const job *j, size_t k, const char *job_dir, char **names)
{
    const Tern__PlacedNode *pn = j->placement->nodes[k];
    Tern__Envelope env;
    Tern__Launch l = TERN__LAUNCH__INIT;
    curve_key key;
    wire_init(&env, 0);
    attempt_launch_init(s, j, &l, &key);
    l.spec = j->spec;
    l.node_rank = (uint32_t)k;
    l.nnodes = (uint32_t)j->placement->n_nodes;
    l.master_addr = j->placement->master_addr;
    l.master_port = j->placement->master_port;
    l.n_gpus = pn->n_gpus;
    l.gpus = pn->gpus;
    l.job_dir = (char *)job_dir;
    l.n_node_names = j->placement->n_nodes;
    l.node_names = names;
    l.client_port = jobspec_one_process(j->spec) ? s->client_port : 0;
    env.body_case = TERN__ENVELOPE__BODY_LAUNCH;
    env.launch = &l;
    outbox_add(s, s->workers, &j->nodes[k]->peer, &env, false);
}

void attempt_launch_nodes(sched *s, job *j, size_t from, size_t to)
{
    char job_dir[4096];
    snprintf(job_dir, sizeof job_dir, "%s/%llu", s->opt.log_dir, (unsigned long long)j->id);
    char **names = calloc(j->placement->n_nodes, sizeof *names);
    if (!names) {
        log_err("job=%llu attempt=%u: out of memory launching", (unsigned long long)j->id,
                j->attempt);
        return;   /* its nodes do not report it: lost after the launch grace */
    }
    for (size_t k = 0; k < j->placement->n_nodes; k++)
        names[k] = j->placement->nodes[k]->name;
    for (size_t k = from; k < to; k++)
        send_launch(s, j, k, job_dir, names);
    free(names);
}

void attempt_started(sched *s, job *j, const Tern__Started *st)
{
    char detail[96];
    snprintf(detail, sizeof detail, "attempt=%u uid=%u gid=%u", j->attempt, st->uid, st->gid);
    sched_db(s, store_event(s->db, j->id, j->placement->nodes[0]->name, "runas", detail));
    /* The port may move before the other nodes hear of it, never after
     * (a late or repeated Started), and not for an attempt that is ending. */
    uint32_t port = st->master_port;
    bool may_move = !j->ending && (j->launch_held || j->placement->n_nodes == 1);
    if (may_move && port != j->placement->master_port && port >= s->opt.port_lo &&
        port <= s->opt.port_hi) {
        log_info("job=%llu attempt=%u: MASTER_PORT %u is held on %s; the ranks use %u",
                 (unsigned long long)j->id, j->attempt, j->placement->master_port,
                 j->placement->nodes[0]->name, port);
        j->placement->master_port = port;
        attempt_save(s, j, JOB_RUNNING);
    }
    if (j->launch_held && !j->ending)
        attempt_launch_rest(s, j);
}

void attempt_launch_rest(sched *s, job *j)
{
    j->launch_held = false;
    j->launched_mono = clock_mono_ms();
    attempt_launch_nodes(s, j, 1, j->placement->n_nodes);
}
