/* The hand-built ternd of the policy suites (test_policy.h). */
#include "tests/unit/test_policy.h"

#include "tests/unit/unit.h"

#include "common/clock.h"
#include "common/log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void opts_set(sched *s, const char *dir)
{
    s->opt.log_dir = (char *)dir;
    s->opt.port_lo = 20000;
    s->opt.port_hi = 20999;
    s->opt.kill_wait_ms = POL_KILL_WAIT_MS;
    s->opt.fail_kill_ms = 1000;
    s->opt.preempt_grace_ms = POL_PREEMPT_GRACE_MS;
    s->opt.fairshare_halflife_s = 86400;
    s->opt.backfill_depth = 100;
    s->opt.node_timeout_ms = 10000;
    s->opt.max_array_size = 1001;
    s->rng = 1;
    s->sigfd = -1;
    /* Started long enough ago that every node had time to register. */
    s->started_mono = clock_mono_ms() - s->opt.node_timeout_ms - 1;
}

/* Registers node 'pn': its NodeInfo packed and unpacked, as ternd owns one. */
static int node_register(sched *s, const pol_node *pn)
{
    Tern__Gpu gpus[PLACE_MAX_GPUS], *gptr[PLACE_MAX_GPUS];
    Tern__NodeInfo info = TERN__NODE_INFO__INIT;
    for (uint32_t g = 0; g < pn->gpus && g < PLACE_MAX_GPUS; g++) {
        tern__gpu__init(&gpus[g]);
        gpus[g].index = g;
        gptr[g] = &gpus[g];
    }
    info.name = (char *)pn->name;
    info.addr = "127.0.0.1";
    info.cpus = pn->cpus;
    info.n_gpus = pn->gpus;
    info.gpus = gptr;
    uint8_t buf[4096];
    size_t len = tern__node_info__get_packed_size(&info);
    node *n = len <= sizeof buf ? sched_node_add(s, pn->name) : NULL;
    if (!n)
        return -1;
    tern__node_info__pack(&info, buf);
    n->info = tern__node_info__unpack(NULL, len, buf);
    if (!n->info)
        return -1;
    node_info_apply(s, n);
    n->connected = true;
    n->drained = pn->drained;
    return 0;
}

int pol_open(pol *p, const char *name, const pol_node *nodes)
{
    char err[512] = "", path[1024];
    memset(p, 0, sizeof *p);
    p->name = name;
    p->dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(p->dir);
    log_init("unit", LOG_ERR);   /* attempts starting and ending are not news here */
    snprintf(path, sizeof path, "%s/state.db", p->dir);
    sched *s = &p->s;
    opts_set(s, p->dir);
    s->db = store_open(path, err, sizeof err);
    s->node_by_name = strmap_new();
    int rc = s->db && s->node_by_name && store_begin(s->db) == 0 ? 0 : -1;
    for (const pol_node *pn = nodes; rc == 0 && pn && pn->name; pn++)
        rc = node_register(s, pn);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot build the model: %s\n", name, err);
        pol_close(p);
        return -1;
    }
    p->t0 = clock_wall_ms();
    return 0;
}

void pol_close(pol *p)
{
    if (p->s.db)
        store_rollback(p->s.db);
    sched_finish(&p->s);
    unit_rmrf(p->dir);
    free(p->dir);
    log_init("tern", LOG_INFO);
    memset(p, 0, sizeof *p);
}

int pol_scene(pol *p, const char *name, const pol_node *nodes, const pol_job jobs[POL_MAX],
              const pol_run *runs)
{
    if (pol_open(p, name, nodes) < 0)
        return -1;
    pol_submit_all(p, jobs);
    pol_start_all(p, runs);
    return 0;
}

const pol_node pol_a[] = { { "a", 8, 0, false }, { NULL, 0, 0, false } };
const pol_node pol_ab[] = { { "a", 8, 0, false }, { "b", 8, 0, false }, { NULL, 0, 0, false } };
const pol_node pol_abc[] = { { "a", 8, 0, false }, { "b", 8, 0, false }, { "c", 8, 0, false },
                             { NULL, 0, 0, false } };
const pol_node pol_ab_small_c[] = { { "a", 8, 0, false }, { "b", 8, 0, false },
                                    { "c", 2, 0, false }, { NULL, 0, 0, false } };

int pol_row_pass(pol *p, const pol_row *row)
{
    if (pol_scene(p, row->name, row->nodes, row->jobs, row->running) < 0)
        return -1;
    if (row->backfill_depth)
        p->s.opt.backfill_depth = row->backfill_depth;
    if (row->just_started)
        p->s.started_mono = clock_mono_ms();
    p->pass_from_ms = clock_wall_ms();
    sched_schedule(&p->s);
    p->pass_to_ms = clock_wall_ms();
    return 0;
}

/* What ternd answered a refused submission: its last client message. */
static void say_refusal(const pol *p)
{
    const outmsg *m = p->s.nout ? &p->s.out[p->s.nout - 1] : NULL;
    Tern__Envelope *env = m ? tern__envelope__unpack(NULL, m->len, m->data) : NULL;
    fprintf(stderr, "%s: submit refused: %s\n", p->name,
            env && env->body_case == TERN__ENVELOPE__BODY_ERROR ? env->error->message : "?");
    if (env)
        tern__envelope__free_unpacked(env, NULL);
}

uint64_t pol_submit(pol *p, const pol_job *j)
{
    char *argv[] = { "true" };
    Tern__JobSpec spec = TERN__JOB_SPEC__INIT;
    spec.name = "policy";
    spec.user = (char *)j->user;
    spec.n_argv = 1;
    spec.argv = argv;
    spec.cwd = "/";
    spec.nodes = j->nodes ? j->nodes : 1;
    spec.tasks_per_node = 1;
    spec.cpus_per_task = j->cpus ? j->cpus : 1;
    spec.gpus_per_node = j->gpus;
    spec.time_limit_s = j->time_limit_s;
    spec.preemptible = j->preemptible;
    spec.priority = j->priority;
    spec.array = (char *)(j->array ? j->array : "");
    spec.dependency = (char *)(j->dependency ? j->dependency : "");
    Tern__SubmitRequest rq = TERN__SUBMIT_REQUEST__INIT;
    rq.spec = &spec;
    caller c = { .role = CALLER_TRUSTED };
    wire_peer peer = { .id_len = 0 };
    size_t before = p->s.njobs;
    submit_request(&p->s, &peer, &c, 1, &rq);
    if (p->s.njobs == before) {
        say_refusal(p);
        return 0;
    }
    return before + 1;
}

size_t pol_submit_all(pol *p, const pol_job jobs[POL_MAX])
{
    size_t n = 0;
    for (size_t i = 0; i < POL_MAX && jobs[i].user; i++) {
        bool taken = pol_submit(p, &jobs[i]) != 0;
        CU_ASSERT(taken);
        n += taken;
    }
    return n;
}

int pol_start(pol *p, uint64_t id, const char *on, int64_t ago_ms)
{
    sched *s = &p->s;
    job *j = sched_job(s, id);
    place_choice choice[POL_MAX];
    char list[256], *save = NULL;
    uint32_t k = 0;
    snprintf(list, sizeof list, "%s", on);
    for (char *name = strtok_r(list, ",", &save); j && name && k < POL_MAX;
         name = strtok_r(NULL, ",", &save), k++) {
        const node *n = sched_node(s, name);
        if (!n)
            return -1;
        choice[k] = (place_choice){ .node = (uint32_t)n->idx };
        for (uint32_t g = 0; g < node_gpus(n) && choice[k].ngpus < j->spec->gpus_per_node; g++)
            if (!n->gpu_used[g])
                choice[k].gpus[choice[k].ngpus++] = g;
    }
    if (!j || k != j->spec->nodes || attempt_start(s, j, choice) < 0) {
        fprintf(stderr, "%s: job %llu cannot start on %s\n", p->name, (unsigned long long)id, on);
        return -1;
    }
    j->start_ms = p->t0 - ago_ms;
    return 0;
}

void pol_start_all(pol *p, const pol_run *runs)
{
    for (const pol_run *r = runs; r && r->id; r++) {
        CU_ASSERT_EQUAL(pol_start(p, r->id, r->on, r->ago_ms), 0);
        job *j = sched_job(&p->s, r->id);
        if (r->ending_ms && j)
            attempt_end(&p->s, j, JOB_CANCELLED, SIGTERM, r->ending_ms, "Cancelled");
    }
}

void pol_finish(pol *p, uint64_t id, int32_t code)
{
    job *j = sched_job(&p->s, id);
    uint32_t world = attempt_world(j->spec), tpn = j->spec->tasks_per_node;
    for (uint32_t r = 0; r < world && j->placement; r++)
        attempt_rank_exit(&p->s, j, r, r ? 0 : code, j->placement->nodes[r / tpn]->name, NULL);
}

size_t pol_pass_order(pol *p, uint64_t *ids, size_t max)
{
    sched *s = &p->s;
    if (s->deps_dirty)
        queue_check_deps(s);
    queue_pass_begin(s);
    size_t n = 0;
    for (const job *j; n < max && (j = queue_pass_next(s));)
        ids[n++] = j->id;
    return n;
}

size_t pol_in_state(pol *p, enum job_state state, uint64_t *ids, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->s.njobs && n < max; i++)
        if (p->s.jobs[i] && p->s.jobs[i]->state == state)
            ids[n++] = p->s.jobs[i]->id;
    return n;
}

static void ids_print(const uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%llu", i ? " " : "", (unsigned long long)ids[i]);
}

bool pol_ids_are(const pol *p, const char *what, const uint64_t *got, size_t n,
                 const uint64_t *want)
{
    size_t nw = 0;
    while (nw < POL_MAX && want[nw])
        nw++;
    bool same = n == nw && memcmp(got, want, n * sizeof *got) == 0;
    if (!same) {
        fprintf(stderr, "\n%s: %s: got [", p->name, what);
        ids_print(got, n);
        fprintf(stderr, "], want [");
        ids_print(want, nw);
        fprintf(stderr, "]\n");
    }
    return same;
}
