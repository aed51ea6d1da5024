/* The life of an attempt (attempt.h). */
#include "scheduler/attempt.h"

#include "common/clock.h"
#include "common/jobspec.h"
#include "common/log.h"
#include "common/parse.h"
#include "scheduler/auth.h"
#include "scheduler/jobs.h"
#include "scheduler/launch.h"
#include "scheduler/metrics.h"
#include "scheduler/nodes.h"
#include "scheduler/outbox.h"
#include "scheduler/queue.h"
#include "scheduler/steps.h"
#include "scheduler/waiters.h"
#include "tern/tern.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exit statuses of jobs that ended without a failing rank's own. */
#define EXIT_CANCELLED (128 + SIGTERM)
#define EXIT_NODE_FAIL (128 + SIGKILL)
#define EXIT_TIMEOUT (128 + SIGALRM)

bool job_live(const job *j)
{
    return j->state == JOB_RUNNING || j->state == JOB_COMPLETING || j->state == JOB_PREEMPTED;
}

int attempt_node_rank(const job *j, const node *n)
{
    if (!j->nodes)
        return -1;
    for (size_t i = 0; i < j->placement->n_nodes; i++)
        if (j->nodes[i] == n)
            return (int)i;
    return -1;
}

static void take(node *n, const Tern__PlacedNode *pn, int sign)
{
    n->cpus_used = (uint32_t)((int64_t)n->cpus_used + sign * (int64_t)pn->cpus);
    for (size_t g = 0; g < pn->n_gpus; g++)
        if (pn->gpus[g] < PLACE_MAX_GPUS)
            n->gpu_used[pn->gpus[g]] = sign > 0;
    n->nattempts = (uint32_t)((int64_t)n->nattempts + sign);
}

int attempt_bind(sched *s, job *j)
{
    const Tern__Placement *p = j->placement;
    unsigned world = attempt_world(j->spec);
    j->nodes = calloc(p->n_nodes ? p->n_nodes : 1, sizeof *j->nodes);
    j->rank_exited = calloc(world ? world : 1, 1);
    if (!j->nodes || !j->rank_exited)
        goto error;
    for (size_t i = 0; i < p->n_nodes; i++) {
        node *n = sched_node(s, p->nodes[i]->name);
        if (!n) {
            log_err("job=%llu placed on unknown node %s", (unsigned long long)j->id,
                    p->nodes[i]->name);
            goto error;
        }
        j->nodes[i] = n;
    }
    for (size_t i = 0; i < p->n_nodes; i++)
        take(j->nodes[i], p->nodes[i], +1);
    j->ranks_left = world;
    j->ranks_ok = 0;
    auth_attempt_bound(s, j);
    return 0;
error:
    free(j->nodes);
    free(j->rank_exited);
    j->nodes = NULL;
    j->rank_exited = NULL;
    return -1;
}

static void attempt_release(sched *s, job *j)
{
    account_run(s, j, -1);
    auth_attempt_released(s, j);
    steps_free(j);
    if (j->nodes)
        for (size_t i = 0; i < j->placement->n_nodes; i++)
            take(j->nodes[i], j->placement->nodes[i], -1);
    free(j->nodes);
    free(j->rank_exited);
    j->nodes = NULL;
    j->rank_exited = NULL;
}

int attempt_save(sched *s, const job *j, enum job_state st)
{
    size_t len = tern__placement__get_packed_size(j->placement);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return -1;
    tern__placement__pack(j->placement, buf);
    store_attempt a = {
        .job_id = j->id, .attempt = j->attempt, .state = (int)st,
        .placement = buf, .placement_len = len,
        .start_ms = j->start_ms, .end_ms = j->end_ms, .exit_code = j->exit_code,
        .reason = st == JOB_RUNNING ? NULL : j->reason,
    };
    int rc = sched_db(s, store_attempt_put(s->db, &a));
    free(buf);
    if (rc < 0)
        log_err("job=%llu cannot save attempt: %s", (unsigned long long)j->id,
                store_errmsg(s->db));
    return rc;
}

uint32_t attempt_world(const Tern__JobSpec *sp)
{
    return jobspec_one_process(sp) ? 1 : jobspec_world_size(sp);
}

/* Builds j->placement from the choices (packed and unpacked again, so the
 * job owns one allocation tree). */
static int placement_build(sched *s, job *j, const place_choice *choice)
{
    uint32_t nn = j->spec->nodes;
    Tern__Placement p = TERN__PLACEMENT__INIT;
    Tern__PlacedNode *pns = calloc(nn, sizeof *pns);
    Tern__PlacedNode **pptr = calloc(nn, sizeof *pptr);
    uint32_t *gpus = calloc((size_t)nn * PLACE_MAX_GPUS, sizeof *gpus);
    uint8_t *buf = NULL;
    int rc = -1;
    if (!pns || !pptr || !gpus)
        goto done;
    for (uint32_t k = 0; k < nn; k++) {
        node *n = s->nodes[choice[k].node];
        tern__placed_node__init(&pns[k]);
        pns[k].name = n->name;
        pns[k].cpus = j->spec->tasks_per_node * j->spec->cpus_per_task;
        pns[k].spot = n->spot;
        pns[k].price = n->price;
        pns[k].n_gpus = choice[k].ngpus;
        pns[k].gpus = gpus + (size_t)k * PLACE_MAX_GPUS;
        memcpy(pns[k].gpus, choice[k].gpus, choice[k].ngpus * sizeof *gpus);
        pptr[k] = &pns[k];
    }
    p.n_nodes = nn;
    p.nodes = pptr;
    p.master_addr = s->nodes[choice[0].node]->info->addr;
    p.master_port = launch_pick_port(s, p.master_addr);
    size_t len = tern__placement__get_packed_size(&p);
    if (!(buf = malloc(len ? len : 1)))
        goto done;
    tern__placement__pack(&p, buf);
    Tern__Placement *owned = tern__placement__unpack(NULL, len, buf);
    if (!owned)
        goto done;
    if (j->placement)
        tern__placement__free_unpacked(j->placement, NULL);
    j->placement = owned;
    rc = 0;
done:
    free(pns);
    free(pptr);
    free(gpus);
    free(buf);
    return rc;
}

int attempt_start(sched *s, job *j, const place_choice *choice)
{
    if (j->state != JOB_PENDING || placement_build(s, j, choice) < 0 || attempt_bind(s, j) < 0)
        return -1;
    queue_remove(s, j);
    job_list_push(&s->active, j);
    j->state = JOB_RUNNING;
    if (!j->start_ms)
        queue_job_started(s, j);
    j->start_ms = clock_wall_ms();
    metrics_attempt_started(s, j);
    account_run(s, j, 1);
    s->deps_dirty = true;
    j->end_ms = 0;
    j->ending = false;
    j->warned = false;
    j->end_signal = 0;
    j->end_by = 0;
    j->launched_mono = clock_mono_ms();
    snprintf(j->reason, sizeof j->reason, "None");
    sched_job_save(s, j);
    attempt_save(s, j, JOB_RUNNING);

    char nodelist[1024] = "";
    for (size_t k = 0; k < j->placement->n_nodes; k++) {
        size_t used = strlen(nodelist);
        snprintf(nodelist + used, sizeof nodelist - used, "%s%s", k ? "," : "",
                 j->placement->nodes[k]->name);
    }
    launch_attempt(s, j);
    sched_db(s, store_event(s->db, j->id, nodelist, "start", NULL));
    log_info("job=%llu attempt=%u start nodes=%s master=%s:%u", (unsigned long long)j->id,
             j->attempt, nodelist, j->placement->master_addr, j->placement->master_port);
    return 0;
}

void attempt_signal(sched *s, const job *j, int sig)
{
    Tern__Signal sg = TERN__SIGNAL__INIT;
    sg.job_id = j->id;
    sg.attempt = j->attempt;
    sg.signal = sig;
    for (size_t k = 0; k < j->placement->n_nodes; k++)
        if (j->nodes[k]->connected)
            outbox_worker(s, &j->nodes[k]->peer, 0, TERN__ENVELOPE__BODY_SIGNAL, &sg);
}

void attempt_time_limits(sched *s, int64_t now_wall)
{
    for (job *j = s->active.head, *next; j; j = next) {
        next = j->next;
        const Tern__JobSpec *sp = j->spec;
        if (!sp->time_limit_s || j->ending)
            continue;
        int64_t limit = j->start_ms + (int64_t)sp->time_limit_s * 1000;
        /* --signal SIG@SECS: the program's warning, SECS before the limit. */
        if (!j->warned && sp->signal_secs &&
            now_wall >= limit - (int64_t)sp->signal_secs * 1000) {
            int sig = sp->preempt_signal ? sp->preempt_signal : SIGUSR1;
            log_info("job=%llu attempt=%u: %s, %u s before the time limit",
                     (unsigned long long)j->id, j->attempt, signal_name(sig), sp->signal_secs);
            attempt_signal(s, j, sig);
            j->warned = true;
        }
        if (now_wall >= limit)
            attempt_end(s, j, JOB_TIMEOUT, SIGTERM, s->opt.kill_wait_ms, "time limit reached");
    }
}

void attempt_send_kill(sched *s, const node *n, uint64_t job_id, uint32_t attempt, int sig,
                       uint32_t grace_ms, const char *why)
{
    attempt_send_kill_step(s, n, job_id, attempt, 0, sig, grace_ms, why);
}

void attempt_send_kill_step(sched *s, const node *n, uint64_t job_id, uint32_t attempt,
                            uint32_t step, int sig, uint32_t grace_ms, const char *why)
{
    if (!n->connected)
        return;
    Tern__Kill k = TERN__KILL__INIT;
    k.job_id = job_id;
    k.attempt = attempt;
    k.step = step;
    k.signal = sig;
    k.grace_ms = grace_ms;
    k.reason = (char *)why;
    outbox_worker(s, &n->peer, 0, TERN__ENVELOPE__BODY_KILL, &k);
}

/* The attempt is over but the job is not: it goes back to the queue as
 * PD with the next attempt number. 'how' (PR or NF) is what the attempt
 * ended as. */
static void attempt_requeue(sched *s, job *j, enum job_state how)
{
    metrics_requeued(s, j, how == JOB_PREEMPTED);
    attempt_release(s, j);
    job_list_remove(&s->active, j);
    j->end_ms = clock_wall_ms();
    attempt_save(s, j, how);
    char detail[192];
    snprintf(detail, sizeof detail, "%s attempt=%u: %s", job_state_code(how), j->attempt,
             j->reason);
    sched_db(s, store_event(s->db, j->id, NULL, "requeue", detail));
    log_info("job=%llu attempt=%u requeued (%s): %s", (unsigned long long)j->id, j->attempt,
             job_state_code(how), j->reason);
    j->attempt++;
    j->state = JOB_PENDING;
    j->ending = false;
    j->warned = false;
    j->end_signal = 0;
    j->end_by = 0;
    j->exit_code = 0;
    j->end_ms = 0;
    snprintf(j->reason, sizeof j->reason, "%s", how == JOB_PREEMPTED ? "Preempted" : "NodeFail");
    queue_add(s, j);
    sched_job_save(s, j);
    s->dirty = true;
}

/* The last rank is gone: the job takes its final state, or is requeued. */
static void attempt_done(sched *s, job *j)
{
    enum job_state final = j->ending ? j->end_state : JOB_COMPLETED;
    /* Every rank finished well before the preemption took hold: done. */
    if (final == JOB_PREEMPTED && j->ranks_ok == attempt_world(j->spec))
        final = JOB_COMPLETED;
    if (final == JOB_PREEMPTED) {
        attempt_requeue(s, j, final);
        return;
    }
    if (final == JOB_NODE_FAIL) {
        if (j->restarts < j->spec->max_restarts) {
            j->restarts++;
            attempt_requeue(s, j, final);
            return;
        }
        size_t len = strlen(j->reason);
        snprintf(j->reason + len, sizeof j->reason - len, " (--max-restarts %u%s)",
                 j->spec->max_restarts, j->spec->max_restarts ? ", all used" : "");
    }
    if (final == JOB_COMPLETED)
        j->exit_code = 0;
    else if (final == JOB_CANCELLED && j->exit_code == 0)
        j->exit_code = EXIT_CANCELLED;
    else if (final == JOB_NODE_FAIL && j->exit_code == 0)
        j->exit_code = EXIT_NODE_FAIL;
    else if (final == JOB_TIMEOUT && j->exit_code == 0)
        j->exit_code = EXIT_TIMEOUT;
    attempt_release(s, j);
    job_list_remove(&s->active, j);
    j->state = final;
    account_count_job(s, j, -1);
    j->ending = false;
    j->end_ms = clock_wall_ms();
    if (final == JOB_COMPLETED)
        snprintf(j->reason, sizeof j->reason, "None");
    sched_job_save(s, j);
    attempt_save(s, j, final);
    char detail[64];
    snprintf(detail, sizeof detail, "%s exit=%d", job_state_code(final), j->exit_code);
    sched_db(s, store_event(s->db, j->id, NULL, "end", detail));
    log_info("job=%llu attempt=%u end state=%s exit=%d", (unsigned long long)j->id, j->attempt,
             job_state_code(final), j->exit_code);
    queue_job_final(s, j);
    waiters_wake(s, j);
    s->dirty = true;
}

/* Tells every node of j's attempt to stop its ranks: 'sig', SIGKILL after grace_ms. */
static void kill_everywhere(sched *s, const job *j, int sig, uint32_t grace_ms, const char *why)
{
    for (size_t k = 0; k < j->placement->n_nodes; k++)
        attempt_send_kill(s, j->nodes[k], j->id, j->attempt, sig, grace_ms, why);
}

void attempt_end(sched *s, job *j, enum job_state end, int sig, uint32_t grace_ms,
                 const char *why)
{
    if (j->ending || !job_live(j))
        return;
    j->ending = true;
    /* Nodes after the first that were never launched have no ranks to wait for. */
    if (j->launch_held && !jobspec_one_process(j->spec))
        j->ranks_left -= attempt_mark_exited(j->rank_exited, j->spec->tasks_per_node,
                                             attempt_world(j->spec));
    j->launch_held = false;
    j->end_state = end;
    j->end_signal = sig;
    j->end_by = clock_mono_ms() + grace_ms;
    j->state = end == JOB_PREEMPTED ? JOB_PREEMPTED : JOB_COMPLETING;
    snprintf(j->reason, sizeof j->reason, "%s", why);
    kill_everywhere(s, j, sig, grace_ms, why);
    sched_job_save(s, j);
    attempt_save(s, j, end);
    sched_db(s, store_event(s->db, j->id, NULL, "ending", why));
    log_info("job=%llu attempt=%u ending as %s: %s", (unsigned long long)j->id, j->attempt,
             job_state_code(end), why);
}

/* A rank exited TERN_EXIT_REQUEUE: it saved its state and asks to run on.
 * After a warning (spot notice, tern preempt, --signal before the time
 * limit) that is a preemption and costs nothing; unwarned, it is a restart
 * counted against --max-restarts. Returns false when none is left (the exit
 * is then a failure). */
static bool requeue_asked(sched *s, job *j, uint32_t rank, const char *node)
{
    char why[128];
    if (!j->warned) {
        if (j->restarts >= j->spec->max_restarts)
            return false;
        j->restarts++;
    }
    snprintf(why, sizeof why, "rank %u on %s saved its state and asked to be requeued%s", rank,
             node, j->warned ? "" : " (counted as a restart)");
    attempt_end(s, j, JOB_PREEMPTED, SIGTERM, s->opt.kill_wait_ms, why);
    return true;
}

void attempt_rank_exit(sched *s, job *j, uint32_t rank, int32_t code, const char *node,
                       const char *msg)
{
    if (!j->rank_exited || rank >= attempt_world(j->spec) || j->rank_exited[rank])
        return;
    j->rank_exited[rank] = 1;
    j->ranks_left--;
    j->ranks_ok += code == 0;
    /* A rank that saved and asked to be requeued: the attempt's status in
     * its record (the job's own is reset when it runs again). */
    if (code == TERN_EXIT_REQUEUE && j->exit_code == 0)
        j->exit_code = code;
    log_debug("job=%llu attempt=%u rank=%u node=%s exit=%d", (unsigned long long)j->id,
              j->attempt, rank, node, code);
    if (code == TERN_EXIT_REQUEUE && !j->ending && requeue_asked(s, j, rank, node))
        ;
    else if (code != 0 && !j->ending) {
        char why[128];
        if (msg && msg[0])
            snprintf(why, sizeof why, "rank %u on %s: %s", rank, node, msg);
        else
            snprintf(why, sizeof why, "rank %u exited %d on %s", rank, code, node);
        j->exit_code = code;
        j->failed_rank = (int32_t)rank;
        snprintf(j->failed_node, sizeof j->failed_node, "%s", node);
        attempt_end(s, j, JOB_FAILED, SIGTERM, s->opt.fail_kill_ms, why);
    }
    if (j->ranks_left == 0)
        attempt_done(s, j);
}

uint32_t attempt_mark_exited(uint8_t *exited, uint32_t lo, uint32_t hi)
{
    uint32_t marked = 0;
    for (uint32_t r = lo; r < hi; r++) {
        marked += !exited[r];
        exited[r] = 1;
    }
    return marked;
}

/* Adds 'name' to the nodes j's restarts avoid (the oldest make room). */
static void avoid_add(job *j, const char *name)
{
    char list[sizeof j->avoid * 2], *save = NULL;
    snprintf(list, sizeof list, "%s", j->avoid);
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strcmp(t, name) == 0)
            return;
    snprintf(list, sizeof list, "%s%s%s", j->avoid, j->avoid[0] ? "," : "", name);
    const char *keep = list;
    while (strlen(keep) >= sizeof j->avoid && strchr(keep, ','))
        keep = strchr(keep, ',') + 1;
    size_t len = strlen(keep);
    if (len < sizeof j->avoid)
        memcpy(j->avoid, keep, len + 1);
}

/* Ranks [lo, hi) of j's attempt, on n, are gone without an exit of their own. */
static void ranks_lost(sched *s, job *j, const node *n, uint32_t lo, uint32_t hi,
                       const char *why)
{
    uint32_t lost = attempt_mark_exited(j->rank_exited, lo, hi);
    j->ranks_left -= lost;
    /* Ranks that had all finished well lose nothing with their node. */
    if (lost) {
        char msg[192];
        snprintf(msg, sizeof msg, "ranks lost on %s: %s", n->name, why);
        avoid_add(j, n->name);
        if (!j->ending) {
            snprintf(j->failed_node, sizeof j->failed_node, "%s", n->name);
            attempt_end(s, j, JOB_NODE_FAIL, SIGTERM, s->opt.fail_kill_ms, msg);
        } else if (j->end_state == JOB_FAILED) {
            /* Ranks on the other nodes fail within milliseconds of losing a
             * peer, long before the node is declared down: their failure was
             * this node's. */
            log_info("job=%llu attempt=%u: failure blamed on %s: %s", (unsigned long long)j->id,
                     j->attempt, n->name, msg);
            j->end_state = JOB_NODE_FAIL;
            j->exit_code = 0;
            j->failed_rank = -1;
            snprintf(j->failed_node, sizeof j->failed_node, "%s", n->name);
            snprintf(j->reason, sizeof j->reason, "%.127s", msg);
            sched_job_save(s, j);
        }
    }
    if (j->ranks_left == 0)
        attempt_done(s, j);
}

void attempt_ranks_lost(sched *s, job *j, const node *n, const char *why)
{
    int k = attempt_node_rank(j, n);
    if (k < 0)
        return;
    /* A batch job has its one tracked rank on the first node; losing any
     * of its nodes loses the allocation. */
    if (jobspec_one_process(j->spec)) {
        ranks_lost(s, j, n, 0, 1, why);
        return;
    }
    uint32_t tpn = j->spec->tasks_per_node;
    ranks_lost(s, j, n, (uint32_t)k * tpn, ((uint32_t)k + 1) * tpn, why);
}

void attempt_rank_lost(sched *s, job *j, const node *n, uint32_t rank, const char *why)
{
    if (j->rank_exited && rank < attempt_world(j->spec))
        ranks_lost(s, j, n, rank, rank + 1, why);
}

int ending_signal(const job *j)
{
    return j->end_signal ? j->end_signal : SIGTERM;
}

uint32_t ending_grace(const sched *s, const job *j)
{
    if (!j->end_by)
        return s->opt.kill_wait_ms;
    int64_t left = j->end_by - clock_mono_ms();
    return left > 0 ? (uint32_t)left : 0;
}

void attempt_preempt(sched *s, job *j, uint32_t grace_ms, const char *why)
{
    if (j->ending || !job_live(j))
        return;
    int sig = j->spec->preempt_signal ? j->spec->preempt_signal : SIGUSR1;
    j->warned = true;
    attempt_end(s, j, JOB_PREEMPTED, sig, grace_ms, why);
}

int sched_cancel(sched *s, job *j, char *err, size_t errlen)
{
    if (job_state_final(j->state)) {
        snprintf(err, errlen, "job %llu already %s", (unsigned long long)j->id,
                 job_state_name(j->state));
        return -1;
    }
    if (j->state == JOB_PENDING) {
        queue_remove(s, j);
        j->state = JOB_CANCELLED;
        account_count_job(s, j, -1);
        j->exit_code = EXIT_CANCELLED;
        j->end_ms = clock_wall_ms();
        snprintf(j->reason, sizeof j->reason, "Cancelled while pending");
        sched_job_save(s, j);
        sched_db(s, store_event(s->db, j->id, NULL, "end", "CA pending"));
        log_info("job=%llu cancelled while pending", (unsigned long long)j->id);
        queue_job_final(s, j);
        waiters_wake(s, j);
        s->dirty = true;
        return 0;
    }
    if (j->ending && (j->end_state == JOB_PREEMPTED || j->end_state == JOB_NODE_FAIL)) {
        /* Winding down to be requeued: it ends here instead. The ranks
         * keep the signal and deadline they were given. */
        j->end_state = JOB_CANCELLED;
        j->state = JOB_COMPLETING;
        snprintf(j->reason, sizeof j->reason, "Cancelled");
        /* SIGTERM and the kill-wait, or the earlier deadline it had. */
        int64_t by = clock_mono_ms() + s->opt.kill_wait_ms;
        if (!j->end_by || by < j->end_by)
            j->end_by = by;
        j->end_signal = SIGTERM;
        kill_everywhere(s, j, SIGTERM, ending_grace(s, j), "Cancelled");
        sched_job_save(s, j);
        attempt_save(s, j, JOB_CANCELLED);
        log_info("job=%llu attempt=%u: cancelled while ending", (unsigned long long)j->id,
                 j->attempt);
        return 0;
    }
    attempt_end(s, j, JOB_CANCELLED, SIGTERM, s->opt.kill_wait_ms, "Cancelled");
    return 0;
}
