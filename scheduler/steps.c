/* srun inside a batch job (steps.h). */
#include "scheduler/steps.h"

#include "common/jobspec.h"
#include "common/log.h"
#include "scheduler/attempt.h"
#include "scheduler/jobs.h"
#include "scheduler/launch.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Steps one attempt may start (each is kept until the attempt ends). */
#define MAX_STEPS 100000

void steps_free(job *j)
{
    for (uint32_t i = 0; i < j->nsteps; i++) {
        free(j->steps[i].node_idx);
        free(j->steps[i].exited);
        free(j->steps[i].held);
    }
    free(j->steps);
    j->steps = NULL;
    j->nsteps = 0;
}

/* The position of node 'name' in j's placement, or -1. */
static int job_node_index(const job *j, const char *name)
{
    for (size_t k = 0; k < j->placement->n_nodes; k++)
        if (strcmp(j->placement->nodes[k]->name, name) == 0)
            return (int)k;
    return -1;
}

/* Chooses the step's nodes into st->node_idx: the -w list, else the first
 * spec->nodes of the job's. */
static int step_nodes(const job *j, const Tern__StepRequest *rq, step *st, char *err,
                      size_t errlen)
{
    uint32_t want = rq->spec->nodes;
    if (want > j->placement->n_nodes) {
        snprintf(err, errlen, "srun: -N %u: the job has %zu nodes", want, j->placement->n_nodes);
        return -1;
    }
    if (rq->n_nodelist && rq->n_nodelist != want) {
        snprintf(err, errlen, "srun: -w names %zu nodes, -N is %u", rq->n_nodelist, want);
        return -1;
    }
    if (!(st->node_idx = calloc(want ? want : 1, sizeof *st->node_idx))) {
        snprintf(err, errlen, "ternd: out of memory");
        return -1;
    }
    for (uint32_t k = 0; k < want; k++) {
        int idx = rq->n_nodelist ? job_node_index(j, rq->nodelist[k]) : (int)k;
        if (idx < 0) {
            snprintf(err, errlen, "srun: -w %s: not a node of job %llu", rq->nodelist[k],
                     (unsigned long long)j->id);
            return -1;
        }
        for (uint32_t p = 0; p < k; p++)
            if (st->node_idx[p] == (uint32_t)idx) {
                snprintf(err, errlen, "srun: -w names %s twice", rq->nodelist[k]);
                return -1;
            }
        st->node_idx[k] = (uint32_t)idx;
    }
    st->nnodes = want;
    return 0;
}

/* Sends step 'id' of j (its spec packed in st->held) to the step's nodes
 * from..to-1 with master 'addr':'port'. Returns 0, or -1 when out of
 * memory. */
static int step_launch(sched *s, const job *j, uint32_t id, const step *st, const char *addr,
                       uint32_t port, uint32_t from, uint32_t to)
{
    Tern__JobSpec *spec = tern__job_spec__unpack(NULL, st->held_len, st->held);
    if (!spec)
        return -1;
    launch_gang g = {
        .step = id, .spec = spec, .nnodes = st->nnodes, .node_idx = st->node_idx,
        .master_addr = addr, .master_port = port, .client_port = s->client_port,
    };
    int rc = launch_nodes(s, j, &g, from, to);
    tern__job_spec__free_unpacked(spec, NULL);
    return rc;
}

/* The address ranks of step 'st' reach its first node at. */
static const char *step_addr(const job *j, const step *st)
{
    const node *first = j->nodes[st->node_idx[0]];
    return first->info ? first->info->addr : j->placement->master_addr;
}

static void step_unhold(step *st)
{
    free(st->held);
    st->held = NULL;
    st->held_len = 0;
}

void step_started(sched *s, job *j, const node *n, const Tern__Started *started)
{
    uint32_t id = started->step;
    if (id == 0 || id > j->nsteps)
        return;
    step *st = &j->steps[id - 1];
    uint32_t port = started->master_port;
    if (!st->held || j->nodes[st->node_idx[0]] != n || !launch_port_ok(s, port))
        return;
    if (step_launch(s, j, id, st, step_addr(j, st), port, 1, st->nnodes) < 0)
        log_err("job=%llu attempt=%u step=%u: out of memory launching its other nodes",
                (unsigned long long)j->id, j->attempt, id - 1);
    step_unhold(st);
}

/* Whether step 'sp' may start in job j (NULL: no such job) as 'rq' asks.
 * Returns 0, or -1 with 'err' filled. */
static int step_fits(const job *j, const Tern__StepRequest *rq, const Tern__JobSpec *sp,
                     char *err, size_t errlen)
{
    if (!j || !jobspec_one_process(j->spec)) {
        snprintf(err, errlen, "srun: job %llu is not a batch or MPI job of this scheduler",
                 (unsigned long long)rq->job_id);
        return -1;
    }
    if (j->attempt != rq->attempt || j->state != JOB_RUNNING || j->ending || !j->nodes) {
        snprintf(err, errlen, "srun: job %llu attempt %u is not running", (unsigned long long)j->id,
                 rq->attempt);
        return -1;
    }
    if (!sp || jobspec_validate(sp, err, errlen) < 0)
        return -1;
    uint32_t cpt = sp->cpus_per_task ? sp->cpus_per_task : 1;
    uint32_t job_cpt = j->spec->cpus_per_task ? j->spec->cpus_per_task : 1;
    if ((uint64_t)sp->tasks_per_node * cpt > (uint64_t)j->spec->tasks_per_node * job_cpt) {
        snprintf(err, errlen, "srun: %u tasks x %u CPUs per node exceed the job's %u x %u",
                 sp->tasks_per_node, cpt, j->spec->tasks_per_node, job_cpt);
        return -1;
    }
    if (sp->gpus_per_node > j->spec->gpus_per_node) {
        snprintf(err, errlen, "srun: %u GPUs per node, the job has %u", sp->gpus_per_node,
                 j->spec->gpus_per_node);
        return -1;
    }
    if (j->nsteps >= MAX_STEPS) {
        snprintf(err, errlen, "srun: job %llu has run %u steps, the most one attempt may",
                 (unsigned long long)j->id, MAX_STEPS);
        return -1;
    }
    return 0;
}

/* A new step of j with 'tpn' tasks on each of its nodes (chosen as 'rq'
 * asks), appended to j->steps. Returns it, or NULL with 'err' filled. */
static step *step_add(job *j, const Tern__StepRequest *rq, uint32_t tpn, char *err,
                      size_t errlen)
{
    step *grown = realloc(j->steps, (j->nsteps + 1) * sizeof *grown);
    if (!grown) {
        snprintf(err, errlen, "ternd: out of memory");
        return NULL;
    }
    j->steps = grown;
    step *st = &j->steps[j->nsteps];
    memset(st, 0, sizeof *st);
    st->tpn = tpn;
    if (step_nodes(j, rq, st, err, errlen) < 0 ||
        !(st->exited = calloc((size_t)st->nnodes * st->tpn, 1))) {
        if (!err[0])
            snprintf(err, errlen, "ternd: out of memory");
        free(st->node_idx);
        return NULL;
    }
    st->left = st->nnodes * st->tpn;
    j->nsteps++;
    return st;
}

/* What the tasks of a step run: srun's 'sp' into 'run', with what belongs
 * to the job from the job 'js', not from srun: where it checkpoints, its
 * warning signal, its array ids, its user. 'run' borrows their strings. */
static void step_spec(const Tern__JobSpec *js, const Tern__JobSpec *sp, Tern__JobSpec *run)
{
    *run = *sp;
    run->name = js->name;
    run->user = js->user;
    run->uid = js->uid;
    run->gid = js->gid;
    run->admin = js->admin;
    run->checkpoint_dir = js->checkpoint_dir;
    run->preempt_signal = js->preempt_signal;
    run->signal_secs = js->signal_secs;
    run->max_restarts = js->max_restarts;
    run->partition = js->partition;
    run->array_job_id = js->array_job_id;
    run->array_task_id = js->array_task_id;
    run->array_task_count = js->array_task_count;
    run->array_task_min = js->array_task_min;
    run->array_task_max = js->array_task_max;
    run->array_limit = js->array_limit;
    run->batch = false;
    run->script.len = 0;
    run->script.data = NULL;
    run->time_limit_s = 0;
    run->dependency = "";
    run->array = "";
    run->token = "";
    /* (launcher mpi marks an Open MPI daemon: tern-rsh's) */
    run->launcher = jobspec_mpi(sp) && jobspec_mpi(js) ? "mpi" : "direct";
}

/* step_start of 'sp', the request's spec less secrets. */
static uint32_t start(sched *s, const Tern__StepRequest *rq, const Tern__JobSpec *sp, char *err,
                      size_t errlen)
{
    job *j = sched_job(s, rq->job_id);
    step *st;
    if (step_fits(j, rq, sp, err, errlen) < 0 ||
        !(st = step_add(j, rq, sp->tasks_per_node, err, errlen)))
        return 0;
    uint32_t id = j->nsteps;
    const char *addr = step_addr(j, st);
    uint32_t port = launch_pick_port(s, addr);
    Tern__JobSpec run;
    step_spec(j->spec, sp, &run);
    /* The first node checks the master port before the others hear of it
     * (step_started); the spec waits packed until then. */
    st->held_len = tern__job_spec__get_packed_size(&run);
    if (!(st->held = malloc(st->held_len ? st->held_len : 1))) {
        snprintf(err, errlen, "ternd: out of memory");
        return 0;
    }
    tern__job_spec__pack(&run, st->held);
    if (step_launch(s, j, id, st, addr, port, 0, 1) < 0) {
        step_unhold(st);
        snprintf(err, errlen, "ternd: out of memory");
        return 0;
    }
    if (st->nnodes == 1)
        step_unhold(st);
    log_info("job=%llu attempt=%u step=%u: %u tasks on %u nodes: %s", (unsigned long long)j->id,
             j->attempt, id - 1, st->left, st->nnodes, sp->argv[0]);
    return id;
}

const step *step_get(const sched *s, uint64_t job_id, uint32_t attempt, uint32_t id)
{
    const job *j = sched_job(s, job_id);
    if (!j || j->attempt != attempt || id == 0 || id > j->nsteps)
        return NULL;
    return &j->steps[id - 1];
}

void step_task_exit(sched *s, job *j, const node *n, uint32_t id, uint32_t task, int32_t code,
                    const char *msg)
{
    if (id == 0 || id > j->nsteps)
        return;
    step *st = &j->steps[id - 1];
    uint32_t k = task / st->tpn;
    if (k >= st->nnodes || j->nodes[st->node_idx[k]] != n || st->exited[task])
        return;
    /* Its first node could not start it: the others never will. */
    if (st->held) {
        st->left -= attempt_mark_exited(st->exited, st->tpn, st->nnodes * st->tpn);
        step_unhold(st);
    }
    st->exited[task] = 1;
    st->left--;
    /* The first failure is the step's: the tasks stopped for it are not. */
    if (code != 0 && st->exit_code == 0)
        st->exit_code = code;
    if (msg && msg[0] && !st->message[0])
        snprintf(st->message, sizeof st->message, "task %u on %s: %s", task, n->name, msg);
    /* A gang, as the job's own ranks: one task failing stops the step. */
    if (code != 0 && !st->killing && st->left) {
        st->killing = true;
        for (uint32_t p = 0; p < st->nnodes; p++)
            attempt_send_kill_step(s, j->nodes[st->node_idx[p]], j->id, j->attempt, id, SIGTERM,
                                   s->opt.fail_kill_ms, "a task of the step failed");
    }
    if (!st->left)
        log_info("job=%llu attempt=%u step=%u: done, exit %d", (unsigned long long)j->id,
                 j->attempt, id - 1, st->exit_code);
}

uint32_t step_start(sched *s, const Tern__StepRequest *rq, char *err, size_t errlen)
{
    if (!rq->spec)
        return start(s, rq, NULL, err, errlen);
    /* The step's tasks get the job's key from their worker; an older srun
     * sends it along: left out here (steps are never stored). */
    Tern__JobSpec clean = *rq->spec;
    char **env = malloc((clean.n_env ? clean.n_env : 1) * sizeof *env);
    if (!env) {
        snprintf(err, errlen, "ternd: out of memory");
        return 0;
    }
    clean.n_env = 0;
    for (size_t i = 0; i < rq->spec->n_env; i++)
        if (!jobspec_env_secret(rq->spec->env[i]))
            env[clean.n_env++] = rq->spec->env[i];
    clean.env = env;
    uint32_t id = start(s, rq, &clean, err, errlen);
    free(env);
    return id;
}
