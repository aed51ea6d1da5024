/* The client endpoint: requests from tern and srun (requests.h). */
#include "scheduler/requests.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/logfold.h"
#include "common/ratelimit.h"
#include "common/grow.h"
#include "scheduler/attempt.h"
#include "scheduler/cost.h"
#include "scheduler/jobs.h"
#include "scheduler/nodes.h"
#include "scheduler/outbox.h"
#include "scheduler/steps.h"
#include "scheduler/submit.h"
#include "scheduler/waiters.h"

#include <stdio.h>
#include <xxhash.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_PAGE 10000u
#define JOBS_PAGE_BYTES (4u << 20)
#define DEFAULT_NOTICE_S 30u       /* tern preempt without --in */
#define MAX_NOTICE_S 86400u

/* j's environment as its names alone, for a caller who may not see the
 * values: a copy in one allocation (names[] then the strings), freed with
 * free(); NULL when out of memory. */
static char **env_names(const Tern__JobSpec *sp)
{
    size_t bytes = sp->n_env * sizeof(char *);
    for (size_t i = 0; i < sp->n_env; i++)
        bytes += strcspn(sp->env[i], "=") + 1;
    char **names = malloc(bytes ? bytes : 1);
    if (!names)
        return NULL;
    char *at = (char *)(names + sp->n_env);
    for (size_t i = 0; i < sp->n_env; i++) {
        size_t k = strcspn(sp->env[i], "=");
        memcpy(at, sp->env[i], k);
        at[k] = '\0';
        names[i] = at;
        at += k + 1;
    }
    return names;
}

/* The audit's fingerprint of j's spec as submitted into 'hash' (at least
 * 17 bytes); "" when out of memory. */
static void spec_hash(const job *j, char *hash, size_t len)
{
    size_t plen = tern__job_spec__get_packed_size(j->spec);
    uint8_t *buf = malloc(plen ? plen : 1);
    hash[0] = '\0';
    if (!buf)
        return;
    tern__job_spec__pack(j->spec, buf);
    snprintf(hash, len, "%016llx", (unsigned long long)XXH3_64bits(buf, plen));
    free(buf);
}

void requests_reply_jobs(sched *s, const wire_peer *peer, const caller *c, uint64_t seq,
                         job **jobs, size_t n, bool full, uint64_t next_after)
{
    char **hidden = NULL;
    full = full && n == 1;   /* environment and script: one job at a time */
    Tern__JobInfo *infos = calloc(n ? n : 1, sizeof *infos);
    Tern__JobInfo **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    Tern__JobSpec *specs = calloc(n ? n : 1, sizeof *specs);
    size_t nnames = 0;
    for (size_t i = 0; i < n; i++)
        nnames += jobs[i]->placement ? jobs[i]->placement->n_nodes : 0;
    char **names = calloc(nnames ? nnames : 1, sizeof *names);
    if (!infos || !ptrs || !specs || !names) {
        outbox_error(s, peer, seq, "ternd: out of memory listing %zu jobs", n);
        goto done;
    }
    char **next_names = names;
    for (size_t i = 0; i < n; i++) {
        job_info_fill(jobs[i], &infos[i], &specs[i], next_names, full);
        /* Environment values and the script may hold secrets: the job's
         * owner and admins see them, others the variables' names. */
        if (full && !auth_may_manage(c, jobs[i])) {
            if (!(hidden = env_names(jobs[i]->spec))) {
                outbox_error(s, peer, seq, "ternd: out of memory listing job %llu",
                             (unsigned long long)jobs[i]->id);
                goto done;
            }
            specs[i].env = hidden;
            specs[i].script.len = 0;
            specs[i].script.data = NULL;
        }
        infos[i].reason = (char *)job_reason(s, jobs[i]);
        next_names += infos[i].n_node_names;
        ptrs[i] = &infos[i];
    }
    /* 'tern show' of one job lists its attempts and what they cost. */
    void *held = NULL;
    char hash[24] = "";
    if (full)
        held = attempts_info(s, jobs[0], &infos[0].attempts, &infos[0].n_attempts);
    /* The fingerprint covers the environment and script: not for those who
     * may not see them, who could test guesses against it. */
    if (full && !hidden) {
        spec_hash(jobs[0], hash, sizeof hash);
        infos[0].spec_hash = hash;
    }
    Tern__JobsReply r = TERN__JOBS_REPLY__INIT;
    r.n_jobs = n;
    r.jobs = ptrs;
    r.next_after = next_after;
    outbox_reply(s, peer, seq, TERN__ENVELOPE__BODY_JOBS, &r);
    if (held) {
        free(infos[0].attempts);
        attempts_info_free(held, infos[0].n_attempts);
    }
done:
    free(hidden);
    free(infos);
    free(ptrs);
    free(specs);
    free(names);
}

/* Roughly what a job takes in a listing (no environment, no script). */
static size_t listed_size(const job *j)
{
    size_t n = 512;
    for (size_t i = 0; i < j->spec->n_argv; i++)
        n += strlen(j->spec->argv[i]) + 4;
    n += strlen(j->spec->cwd) + strlen(j->spec->stdout_pattern) + strlen(j->spec->stderr_pattern);
    if (j->placement)
        n += j->placement->n_nodes * (NODE_NAME_MAX + 4);
    return n;
}

static void handle_jobs(sched *s, const wire_peer *peer, const caller *c, uint64_t seq,
                        Tern__JobsRequest *rq)
{
    size_t n = rq->n_job_ids;
    if (n > 0) {
        if (n > 10000) {
            outbox_error(s, peer, seq, "ask for at most 10000 job ids at once");
            return;
        }
        job **list = calloc(n, sizeof *list);
        if (!list) {
            outbox_error(s, peer, seq, "ternd: out of memory");
            return;
        }
        size_t bytes = 0;
        for (size_t i = 0; i < n; i++) {
            list[i] = sched_job(s, rq->job_ids[i]);
            if (!list[i]) {
                outbox_error(s, peer, seq, "no job %llu", (unsigned long long)rq->job_ids[i]);
                free(list);
                return;
            }
            bytes += listed_size(list[i]);
        }
        if (n > 1 && bytes > JOBS_PAGE_BYTES) {
            outbox_error(s, peer, seq, "%zu jobs take about %zu MiB listed: ask for fewer at once",
                         n, bytes >> 20);
            free(list);
            return;
        }
        requests_reply_jobs(s, peer, c, seq, list, n, n == 1 && !rq->brief, 0);
        free(list);
        return;
    }
    /* A page in id order: unfinished jobs, and with 'all' finished ones,
     * bounded in count and in bytes so that every reply fits a message. */
    size_t limit = rq->limit && rq->limit < JOBS_PAGE ? rq->limit : JOBS_PAGE;
    job **list = calloc(limit, sizeof *list);
    if (!list) {
        outbox_error(s, peer, seq, "ternd: out of memory");
        return;
    }
    size_t k = 0, bytes = 0;
    uint64_t next = 0;
    for (uint64_t id = rq->after_id + 1; id <= s->njobs; id++) {
        job *j = sched_job(s, id);
        if (!j || (!rq->all && job_state_final(j->state)))
            continue;
        size_t sz = listed_size(j);
        if (k == limit || (k > 0 && bytes + sz > JOBS_PAGE_BYTES)) {
            next = list[k - 1]->id;
            break;
        }
        list[k++] = j;
        bytes += sz;
    }
    requests_reply_jobs(s, peer, c, seq, list, k, false, next);
    free(list);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether an id is named twice in ids[0..n) (an array's, say, would be
 * walked twice). Returns 1 with it in *twice, 0 when none, or -1 when out
 * of memory. */
static int named_twice(const uint64_t *ids, size_t n, uint64_t *twice)
{
    uint64_t *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return -1;
    memcpy(sorted, ids, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_u64);
    int found = 0;
    for (size_t i = 1; i < n && !found; i++)
        if (sorted[i] == sorted[i - 1]) {
            *twice = sorted[i];
            found = 1;
        }
    free(sorted);
    return found;
}

/* Cancels job 'id' for 'c'. Returns true, or false with why in 'err'. */
static bool cancel_one(sched *s, const caller *c, uint64_t id, char *err, size_t errlen)
{
    job *j = sched_job(s, id);
    if (!j) {
        snprintf(err, errlen, "no job %llu", (unsigned long long)id);
        return false;
    }
    if (!auth_may_manage(c, j)) {
        char who[96];
        snprintf(err, errlen, "job %llu belongs to %s: %s may not cancel it",
                 (unsigned long long)j->id, j->spec->user, auth_caller_name(c, who, sizeof who));
        return false;
    }
    if (j->spec->array_job_id == j->id) {
        /* An array's id, as with scancel: every task not yet ended. */
        for (uint32_t k = 1; k < j->spec->array_task_count; k++) {
            job *t = sched_job(s, j->id + k);
            if (!t || t->spec->array_job_id != j->id)
                break;
            /* (a job key is its own task's, not its siblings') */
            if (!job_state_final(t->state) && auth_may_manage(c, t))
                sched_cancel(s, t, err, errlen);
        }
        if (job_state_final(j->state))
            return true;
    }
    return sched_cancel(s, j, err, errlen) == 0;
}

static void handle_cancel(sched *s, const wire_peer *peer, const caller *c, uint64_t seq,
                          Tern__CancelRequest *rq)
{
    size_t n = rq->n_job_ids;
    if (n == 0 || n > 10000) {
        outbox_error(s, peer, seq, "cancel needs 1 to 10000 job ids");
        return;
    }
    uint64_t twice = 0;
    int dup = named_twice(rq->job_ids, n, &twice);
    if (dup > 0) {
        outbox_error(s, peer, seq, "cancel: job %llu named twice", (unsigned long long)twice);
        return;
    }
    char **errors = calloc(n, sizeof *errors);
    char (*buf)[160] = calloc(n, sizeof *buf);
    if (dup < 0 || !errors || !buf) {
        outbox_error(s, peer, seq, "ternd: out of memory");
    } else {
        size_t nerr = 0;
        for (size_t i = 0; i < n; i++) {
            if (cancel_one(s, c, rq->job_ids[i], buf[nerr], sizeof buf[nerr]))
                continue;
            errors[nerr] = buf[nerr];
            nerr++;
        }
        Tern__CancelReply r = TERN__CANCEL_REPLY__INIT;
        r.n_errors = nerr;
        r.errors = errors;
        outbox_reply(s, peer, seq, TERN__ENVELOPE__BODY_CANCELLED, &r);
    }
    free(errors);
    free(buf);
}

/* srun: start a step, or say how one is. */
static void handle_step(sched *s, const wire_peer *peer, const caller *c,
                        const Tern__Envelope *in)
{
    char err[512] = "";
    uint64_t job_id = in->body_case == TERN__ENVELOPE__BODY_STEP ? in->step->job_id
                                                                  : in->step_query->job_id;
    uint32_t attempt, id;
    const job *owner = sched_job(s, job_id);
    if (owner && !auth_may_manage(c, owner)) {
        char who[96];
        outbox_error(s, peer, in->seq, "srun: job %llu belongs to %s: %s may not start steps in "
                     "it", (unsigned long long)job_id, owner->spec->user,
                     auth_caller_name(c, who, sizeof who));
        return;
    }
    if (in->body_case == TERN__ENVELOPE__BODY_STEP) {
        attempt = in->step->attempt;
        if (!(id = step_start(s, in->step, err, sizeof err))) {
            outbox_error(s, peer, in->seq, "%s", err);
            return;
        }
    } else {
        attempt = in->step_query->attempt;
        id = in->step_query->step;
    }
    const step *st = step_get(s, job_id, attempt, id);
    if (!st) {
        outbox_error(s, peer, in->seq, "srun: job %llu attempt %u has no step %u (it ended, or "
                     "the scheduler restarted)", (unsigned long long)job_id, attempt,
                     id ? id - 1 : 0);
        return;
    }
    Tern__StepInfo si = TERN__STEP_INFO__INIT;
    si.step = id;
    si.done = st->left == 0;
    si.exit_code = st->exit_code;
    si.message = (char *)st->message;
    outbox_reply(s, peer, in->seq, TERN__ENVELOPE__BODY_STEP_INFO, &si);
}

static void handle_nodes(sched *s, const wire_peer *peer, uint64_t seq)
{
    size_t n = s->nnodes;
    Tern__NodeInfo *infos = calloc(n ? n : 1, sizeof *infos);
    Tern__NodeInfo **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    uint64_t *jobids = calloc(s->active.count ? s->active.count * n : 1, sizeof *jobids);
    if (!infos || !ptrs || !jobids) {
        outbox_error(s, peer, seq, "ternd: out of memory");
        goto done;
    }
    size_t used_ids = 0;
    for (size_t i = 0; i < n; i++) {
        node *nd = s->nodes[i];
        if (nd->info)
            infos[i] = *nd->info;
        else
            tern__node_info__init(&infos[i]);
        infos[i].name = nd->name;
        infos[i].state = (char *)node_display_state(nd);
        infos[i].reason = nd->state != NODE_UP ? nd->reason
                          : nd->drained        ? nd->drain_reason : "";
        infos[i].cpus_used = nd->cpus_used;
        uint32_t g = 0;
        for (uint32_t k = 0; k < PLACE_MAX_GPUS; k++)
            g += nd->gpu_used[k];
        infos[i].gpus_used = g;
        infos[i].jobs = jobids + used_ids;
        infos[i].n_jobs = 0;
        for (job *j = s->active.head; j; j = j->next)
            if (attempt_node_rank(j, nd) >= 0)
                infos[i].jobs[infos[i].n_jobs++] = j->id;
        used_ids += infos[i].n_jobs;
        ptrs[i] = &infos[i];
    }
    Tern__NodesReply r = TERN__NODES_REPLY__INIT;
    r.n_nodes = n;
    r.nodes = ptrs;
    outbox_reply(s, peer, seq, TERN__ENVELOPE__BODY_NODES, &r);
done:
    free(infos);
    free(ptrs);
    free(jobids);
}

static void handle_node_command(sched *s, const wire_peer *peer, uint64_t seq,
                                Tern__NodeCommand *rq)
{
    node *n = rq->node ? sched_node(s, rq->node) : NULL;
    if (!n) {
        outbox_error(s, peer, seq, "no node '%.64s'", rq->node ? rq->node : "");
        return;
    }
    const char *cmd = rq->command ? rq->command : "";
    const char *why = rq->reason && rq->reason[0] ? rq->reason : NULL;
    char detail[160] = "";
    if (strcmp(cmd, "drain") == 0) {
        n->drained = true;
        snprintf(n->drain_reason, sizeof n->drain_reason, "%.127s", why ? why : "drained by admin");
        snprintf(detail, sizeof detail, "%s", n->drain_reason);
    } else if (strcmp(cmd, "resume") == 0) {
        n->drained = false;
        n->drain_reason[0] = '\0';
        if (n->state == NODE_PREEMPTING) {
            /* The notice is withdrawn, here and on the worker. Heartbeats
             * sent before the worker hears of it still carry it. */
            n->withdrawn = n->notice_deadline;
            n->withdraw_pending = !n->connected || !n->notice_deadline;
            node_up(n);
            node_send_notice(s, n, 0, "");
        }
        s->dirty = true;
    } else if (strcmp(cmd, "preempt") == 0) {
        if (!n->connected || n->state == NODE_DOWN) {
            outbox_error(s, peer, seq, "node %s is %s: nothing there to preempt", n->name,
                         node_display_state(n));
            return;
        }
        if (rq->notice_s > MAX_NOTICE_S) {
            outbox_error(s, peer, seq, "notice of %u s: at most %u", rq->notice_s, MAX_NOTICE_S);
            return;
        }
        uint32_t secs = rq->notice_s ? rq->notice_s : DEFAULT_NOTICE_S;
        snprintf(detail, sizeof detail, "tern preempt, %u s notice%s%.100s", secs,
                 why ? ": " : "", why ? why : "");
        int64_t deadline = clock_wall_ms() + (int64_t)secs * 1000;
        sched_node_preempt(s, n, deadline, detail);
        node_send_notice(s, n, deadline, detail);
    } else {
        outbox_error(s, peer, seq, "unknown node command '%.32s'", cmd);
        return;
    }
    sched_node_save(s, n);
    sched_db(s, store_event(s->db, 0, n->name, cmd, detail));
    log_info("node=%s %s", n->name, cmd);
    Tern__Ok ok = TERN__OK__INIT;
    ok.message = (char *)node_display_state(n);
    outbox_reply(s, peer, seq, TERN__ENVELOPE__BODY_OK, &ok);
}

/* Whether a request of 'c' may go on: one bucket per user (their user key
 * and their jobs' keys alike), else per key or connection; the excess is
 * logged folded. */
static bool within_limit(sched *s, const caller *c, const wire_peer *peer, int64_t now,
                         char *who, size_t wlen)
{
    auth_rate_key(c, peer, who, wlen);
    if (!s->limits || ratelimit_take(s->limits, who, now))
        return true;
    logfold_warn(s->folds, now, "refusing the excess", "client %s: over --rate-limit %u "
                 "requests/s", who, s->opt.rate_limit);
    return false;
}

void requests_malformed(sched *s, const wire_peer *peer, const char *why, int64_t now)
{
    caller c;
    char who[256];
    auth_caller(s, peer, &c);
    bool ok = within_limit(s, &c, peer, now, who, sizeof who);
    logfold_warn(s->folds, now, why, "client endpoint: a message from %s", who);
    if (ok && peer->id_len)
        outbox_error(s, peer, 0, "ternd: %s", why);
}

void requests_handle(sched *s, const wire_peer *peer, Tern__Envelope *env, int64_t now)
{
    caller c;
    char who[256];
    auth_caller(s, peer, &c);
    if (!within_limit(s, &c, peer, now, who, sizeof who)) {
        outbox_error(s, peer, env->seq, "ternd: rate limit: more than %u requests a second "
                     "from %s; slow down", s->opt.rate_limit, who);
        return;
    }
    if (c.role == CALLER_WORKER) {
        outbox_error(s, peer, env->seq, "ternd: a worker key may only speak the worker protocol "
                                        "(it cannot submit, query or manage jobs)");
        return;
    }
    if (c.role == CALLER_REVOKED) {
        logfold_warn(s->folds, now, "refused", "client endpoint: %s: no longer authorized", who);
        outbox_error(s, peer, env->seq, "ternd: this connection's key is no longer authorized "
                     "(removed from the authorized keys, or its job's attempt has ended)");
        return;
    }
    switch (env->body_case) {
    case TERN__ENVELOPE__BODY_SUBMIT:
        submit_request(s, peer, &c, env->seq, env->submit);
        break;
    case TERN__ENVELOPE__BODY_JOBS_QUERY:
        handle_jobs(s, peer, &c, env->seq, env->jobs_query);
        break;
    case TERN__ENVELOPE__BODY_CANCEL:
        handle_cancel(s, peer, &c, env->seq, env->cancel);
        break;
    case TERN__ENVELOPE__BODY_WAIT:
        waiters_add(s, peer, env->seq, env->wait);
        break;
    case TERN__ENVELOPE__BODY_STEP:
    case TERN__ENVELOPE__BODY_STEP_QUERY:
        handle_step(s, peer, &c, env);
        break;
    case TERN__ENVELOPE__BODY_NODES_QUERY:
        handle_nodes(s, peer, env->seq);
        break;
    case TERN__ENVELOPE__BODY_NODE_COMMAND:
        /* Not a job's key either, even an admin's job's: it acts on its own job alone. */
        if (c.role != CALLER_TRUSTED && c.role != CALLER_ADMIN)
            outbox_error(s, peer, env->seq, "ternd: drain, resume and preempt need an admin key "
                         "(this is %s)", auth_caller_name(&c, who, sizeof who));
        else
            handle_node_command(s, peer, env->seq, env->node_command);
        break;
    default:
        outbox_error(s, peer, env->seq, "message type %d is not a client request",
                     (int)env->body_case);
        break;
    }
}
