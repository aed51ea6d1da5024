/* The worker endpoint: messages from the tern-worker agents (agents.h). */
#include "scheduler/agents.h"

#include "common/clock.h"
#include "common/jobspec.h"
#include "common/log.h"
#include "common/logfold.h"
#include "common/parse.h"
#include "scheduler/attempt.h"
#include "scheduler/auth.h"
#include "scheduler/jobs.h"
#include "scheduler/launch.h"
#include "scheduler/nodes.h"
#include "scheduler/outbox.h"
#include "scheduler/steps.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 64
#define MAX_LABEL_LEN 256
#define MAX_NICS 64
#define MAX_INFO_BYTES (64u << 10)
#define MAX_ATTEMPTS_REPORTED 100000

static bool valid_name(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++)
        if (!isalnum((unsigned char)s[n]) && !strchr("._-", s[n]))
            return false;
    return n >= 1 && n <= NODE_NAME_MAX;
}

/* The node a message on the worker socket comes from: its routing id. */
static node *peer_node(sched *s, const wire_peer *peer)
{
    char name[NODE_NAME_MAX + 1];
    if (peer->id_len == 0 || peer->id_len > NODE_NAME_MAX)
        return NULL;
    memcpy(name, peer->id, peer->id_len);
    name[peer->id_len] = '\0';
    if (strlen(name) != peer->id_len)
        return NULL;
    return sched_node(s, name);
}

/* The job whose current attempt has ranks on 'n', or NULL if fenced off. */
static job *live_job(sched *s, const node *n, uint64_t job_id, uint32_t attempt)
{
    job *j = sched_job(s, job_id);
    if (!j || j->attempt != attempt || !job_live(j))
        return NULL;
    return attempt_node_rank(j, n) >= 0 ? j : NULL;
}

static bool rank_on_node(const job *j, const node *n, uint32_t rank)
{
    int k = attempt_node_rank(j, n);
    if (jobspec_one_process(j->spec))   /* the batch script or mpirun, on the first node */
        return k == 0 && rank == 0;
    uint32_t tpn = j->spec->tasks_per_node;
    return k >= 0 && rank >= (uint32_t)k * tpn && rank < ((uint32_t)k + 1) * tpn;
}

/* A rank's exit; one its worker killed when cut off from ternd was lost
 * with the node, not failed. */
static void rank_exit(sched *s, job *j, const node *n, uint32_t rank, int32_t code,
                      const char *msg, bool fenced)
{
    if (fenced)
        attempt_rank_lost(s, j, n, rank, "its worker heard nothing from ternd (--fence-after)");
    else
        attempt_rank_exit(s, j, rank, code, n->name, msg);
}

/* A step the job's checkpoint directory names now: recorded once, with the
 * attempt that committed it, for the audit (tern history). */
static void ckpt_seen(sched *s, job *j, const node *n, int64_t step)
{
    if (step < 0 || step == j->ckpt_step)
        return;
    j->ckpt_step = step;
    char detail[64];
    snprintf(detail, sizeof detail, "attempt=%u step=%lld", j->attempt, (long long)step);
    sched_db(s, store_event(s->db, j->id, n->name, "checkpoint", detail));
}

/* Applies one attempt's report. Returns true when the worker may forget it. */
static bool apply_status(sched *s, node *n, const Tern__AttemptStatus *a)
{
    bool running = false;
    for (size_t i = 0; i < a->n_ranks; i++)
        running |= a->ranks[i]->running;
    job *j = live_job(s, n, a->job_id, a->attempt);
    if (j && a->step) {
        for (size_t i = 0; i < a->n_ranks; i++)
            if (!a->ranks[i]->running)
                step_task_exit(s, j, n, a->step, a->ranks[i]->rank, a->ranks[i]->exit_code,
                               a->ranks[i]->message);
        return !running;
    }
    if (!j) {
        if (running) {
            log_warn("node=%s job=%llu attempt=%u: stale attempt still running, killing",
                     n->name, (unsigned long long)a->job_id, a->attempt);
            attempt_send_kill(s, n, a->job_id, a->attempt, SIGKILL, 0, "stale attempt");
        }
        return !running;
    }
    if (a->progress >= 0)
        j->progress = a->progress;
    ckpt_seen(s, j, n, a->ckpt_step);
    for (size_t i = 0; i < a->n_ranks && j->rank_exited; i++) {
        const Tern__RankStatus *r = a->ranks[i];
        if (!r->running && rank_on_node(j, n, r->rank))
            rank_exit(s, j, n, r->rank, r->exit_code, r->message, r->fenced);
    }
    if (running && j->ending)
        attempt_send_kill(s, n, j->id, j->attempt, ending_signal(j), ending_grace(s, j),
                          j->reason);
    return false;
}

static void apply_notice(sched *s, node *n, const Tern__Notice *nt)
{
    if (n->withdraw_pending) {
        /* 'tern resume' came while the node was away: this is the notice
         * it withdrew. */
        n->withdraw_pending = false;
        n->withdrawn = nt->deadline_ms;
        node_send_notice(s, n, 0, "");
    }
    if (nt->deadline_ms == n->withdrawn)
        return;
    char why[128];
    snprintf(why, sizeof why, "%.127s",
             nt->source && nt->source[0] && text_printable(nt->source) ? nt->source : "spot notice");
    sched_node_preempt(s, n, nt->deadline_ms, why);
}

/* A heartbeat without a notice. */
static void notice_gone(sched *s, node *n)
{
    n->withdraw_pending = false;   /* nothing carried back to withdraw */
    if (n->state != NODE_PREEMPTING || !n->notice_deadline || clock_wall_ms() <= n->notice_deadline)
        return;
    /* The deadline passed, the machine is still here and its worker has
     * dropped the notice: it was not taken away after all. */
    log_info("node=%s up again: the notice's deadline passed", n->name);
    node_up(n);
    sched_node_save(s, n);
    s->dirty = true;
}

static const char *check_info(const wire_peer *peer, const Tern__NodeInfo *in)
{
    if (!in || !valid_name(in->name))
        return "node name must be 1-64 characters of [A-Za-z0-9._-]";
    if (peer->id_len != strlen(in->name) || memcmp(peer->id, in->name, peer->id_len) != 0)
        return "a worker's routing id must be its node name";
    if (!in->addr || !in->addr[0] || strlen(in->addr) > 255 || strpbrk(in->addr, " \t\n"))
        return "node address missing or malformed";
    if (in->cpus < 1 || in->cpus > 1000000)
        return "node cpus must be 1 to 1000000";
    if (in->n_gpus > PLACE_MAX_GPUS)
        return "more than 64 GPUs on one node";
    if (in->n_labels > MAX_LABELS)
        return "more than 64 labels";
    for (size_t i = 0; i < in->n_labels; i++)
        if (strlen(in->labels[i]) > MAX_LABEL_LEN || !strchr(in->labels[i], '=') ||
            !text_printable(in->labels[i]))
            return "labels must be key=value, at most 256 bytes, no control characters";
    if (in->n_nics > MAX_NICS)
        return "more than 64 network interfaces";
    /* Kept in the database and sent in every node listing. */
    if (tern__node_info__get_packed_size(in) > MAX_INFO_BYTES)
        return "node description over 64 KiB";
    return NULL;
}

static Tern__NodeInfo *info_copy(const Tern__NodeInfo *in)
{
    size_t len = tern__node_info__get_packed_size(in);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return NULL;
    tern__node_info__pack(in, buf);
    Tern__NodeInfo *copy = tern__node_info__unpack(NULL, len, buf);
    free(buf);
    return copy;
}

static bool reported(Tern__AttemptStatus *const *attempts, size_t n, const job *j)
{
    for (size_t i = 0; i < n; i++)
        if (attempts[i]->job_id == j->id && attempts[i]->attempt == j->attempt)
            return true;
    return false;
}

/* Node 'n' registered with 'r' from 'peer': it takes 'info' (owned) and
 * the connection. Returns whether this was a repeat of the same worker
 * process's registration (a worker repeats it until answered; a repeat
 * may predate launches sent since, so it proves nothing lost). */
static bool node_registered(sched *s, node *n, const wire_peer *peer, const Tern__Register *r,
                            Tern__NodeInfo *info)
{
    bool restarted = n->connected && n->incarnation != r->incarnation;
    bool repeat = n->connected && n->incarnation == r->incarnation;
    if (n->info)
        tern__node_info__free_unpacked(n->info, NULL);
    n->info = info;
    n->peer = *peer;
    n->incarnation = r->incarnation;
    n->ack_within_ms = r->ack_within_ms;
    n->last_ack = clock_mono_ms();
    n->connected = true;
    n->last_seen = clock_mono_ms();
    node_info_apply(s, n);
    bool noticed = r->notice && r->notice->deadline_ms > 0;
    /* A node comes back UP from DOWN, and from PREEMPTING when a new worker
     * process without a notice registers (the spot machine was replaced). */
    if (n->state == NODE_DOWN || (n->state == NODE_PREEMPTING && !repeat && !noticed))
        node_up(n);
    if (!repeat) {
        sched_node_save(s, n);
        sched_db(s, store_event(s->db, 0, n->name, "register", n->info->addr));
        log_info("node=%s registered addr=%s cpus=%u gpus=%zu%s", n->name, n->info->addr,
                 n->info->cpus, n->info->n_gpus, restarted ? " (worker restarted)" : "");
    }
    return repeat;
}

static void handle_register(sched *s, const wire_peer *peer, uint64_t seq, Tern__Register *r)
{
    const char *bad = check_info(peer, r->node);
    if (!bad && r->n_attempts > MAX_ATTEMPTS_REPORTED)
        bad = "too many attempts reported";

    if (bad) {
        log_warn("registration refused: %s", bad);
        wire_send_error(s->workers, peer, seq, "registration refused: %s", bad);
        return;
    }
    Tern__NodeInfo *info = info_copy(r->node);
    node *n = sched_node(s, r->node->name);
    if (!info || (!n && !(n = sched_node_add(s, r->node->name)))) {
        if (info)
            tern__node_info__free_unpacked(info, NULL);
        log_err("node=%s cannot register: out of memory", r->node->name);
        return;
    }
    bool repeat = node_registered(s, n, peer, r, info);
    bool noticed = r->notice && r->notice->deadline_ms > 0;
    /* The notice first: an exit 75 it reports was a warned one. */
    if (noticed)
        apply_notice(s, n, r->notice);
    else
        n->withdraw_pending = false;   /* nothing carried back to withdraw */
    for (size_t i = 0; i < r->n_attempts; i++)
        apply_status(s, n, r->attempts[i]);
    /* Attempts placed here that the worker does not know are gone with it. */
    for (job *j = s->active.head, *next; j && !repeat; j = next) {
        next = j->next;
        if (attempt_node_rank(j, n) >= 0 && !reported(r->attempts, r->n_attempts, j))
            attempt_ranks_lost(s, j, n, "worker does not have them (restarted?)");
    }

    Tern__Registered ok = TERN__REGISTERED__INIT;
    ok.scheduler_incarnation = s->incarnation;
    ok.heartbeat_ms = s->opt.heartbeat_ms;
    outbox_worker(s, peer, seq, TERN__ENVELOPE__BODY_REGISTERED, &ok);
    s->dirty = true;
}

/* An attempt launched on 'n' a while ago that its worker does not report
 * in 'hb' never reached it (a lost or refused Launch): its ranks will not
 * come. Nodes after the first are launched once the first has started, or
 * after that while without its Started. */
static void launches_overdue(sched *s, const node *n, const Tern__Heartbeat *hb)
{
    int64_t grace = 3 * (int64_t)s->opt.heartbeat_ms + 2000;
    for (job *j = s->active.head, *next; j; j = next) {
        next = j->next;
        int k = attempt_node_rank(j, n);
        bool late = n->last_seen - j->launched_mono > grace;
        if (k > 0 && j->launch_held) {
            if (late) {
                log_warn("job=%llu attempt=%u: no Started from %s in %lld ms; launching the "
                         "other nodes on MASTER_PORT %u", (unsigned long long)j->id, j->attempt,
                         j->nodes[0]->name, (long long)grace, j->placement->master_port);
                launch_rest(s, j);
            }
            continue;
        }
        if (k >= 0 && late && !reported(hb->attempts, hb->n_attempts, j))
            attempt_ranks_lost(s, j, n, "the worker never started them");
    }
}

/* An idle node hears from ternd at least every ACK_EVERY heartbeats. */
#define ACK_EVERY 4

static void handle_heartbeat(sched *s, const wire_peer *peer, uint64_t seq, Tern__Heartbeat *hb)
{
    node *n = peer_node(s, peer);
    Tern__HeartbeatAck ack = TERN__HEARTBEAT_ACK__INIT;
    ack.scheduler_incarnation = s->incarnation;
    if (!n || !n->connected || n->incarnation != hb->incarnation ||
        hb->n_attempts > MAX_ATTEMPTS_REPORTED) {
        ack.reregister = true;
        outbox_worker(s, peer, seq, TERN__ENVELOPE__BODY_HEARTBEAT_ACK, &ack);
        return;
    }
    n->last_seen = clock_mono_ms();
    if (hb->notice && hb->notice->deadline_ms > 0)
        apply_notice(s, n, hb->notice);
    else
        notice_gone(s, n);
    Tern__AttemptRef *refs = calloc(hb->n_attempts ? hb->n_attempts : 1, sizeof *refs);
    Tern__AttemptRef **ptrs = calloc(hb->n_attempts ? hb->n_attempts : 1, sizeof *ptrs);
    if (refs && ptrs) {
        for (size_t i = 0; i < hb->n_attempts; i++) {
            if (!apply_status(s, n, hb->attempts[i]))
                continue;
            Tern__AttemptRef *ref = &refs[ack.n_forget];
            tern__attempt_ref__init(ref);
            ref->job_id = hb->attempts[i]->job_id;
            ref->attempt = hb->attempts[i]->attempt;
            ref->step = hb->attempts[i]->step;
            ptrs[ack.n_forget++] = ref;
        }
        ack.forget = ptrs;
    }
    launches_overdue(s, n, hb);
    /* Nothing to say: an ack only now and then, so that 10,000 idle nodes
     * cost ternd half the messages. */
    int64_t keepalive = ACK_EVERY * (int64_t)s->opt.heartbeat_ms;
    if (n->ack_within_ms && n->ack_within_ms < keepalive)
        keepalive = n->ack_within_ms;
    if (ack.n_forget || n->last_seen - n->last_ack >= keepalive - (int64_t)s->opt.heartbeat_ms / 2) {
        outbox_worker(s, peer, seq, TERN__ENVELOPE__BODY_HEARTBEAT_ACK, &ack);
        n->last_ack = n->last_seen;
    }
    free(refs);
    free(ptrs);
}

static void handle_rank_exit(sched *s, const wire_peer *peer, Tern__RankExit *re)
{
    node *n = peer_node(s, peer);
    if (!n || !n->connected)
        return;
    job *j = live_job(s, n, re->job_id, re->attempt);
    if (j && re->step) {
        step_task_exit(s, j, n, re->step, re->rank, re->exit_code, re->message);
        return;
    }
    if (j)
        ckpt_seen(s, j, n, re->ckpt_step);
    if (!j || !rank_on_node(j, n, re->rank)) {
        log_debug("node=%s job=%llu attempt=%u rank=%u: exit of a fenced attempt ignored",
                  n->name, (unsigned long long)re->job_id, re->attempt, re->rank);
        return;
    }
    rank_exit(s, j, n, re->rank, re->exit_code, re->message, re->fenced);
}

/* Ranks of a Launch started on a node: node rank 0's says the master port
 * the others are to use, and what the ranks run as. */
static void handle_started(sched *s, const wire_peer *peer, const Tern__Started *st)
{
    node *n = peer_node(s, peer);
    job *j = n && st->node_rank == 0 ? live_job(s, n, st->job_id, st->attempt) : NULL;
    if (!j)
        return;
    if (st->step)
        step_started(s, j, n, st);
    else if (j->nodes[0] == n)   /* (live_job found n among the attempt's nodes) */
        launch_started(s, j, st);
}

void agents_malformed(sched *s, const wire_peer *peer, const char *why, int64_t now)
{
    /* The routing id is the node's name, or whatever bytes a peer chose. */
    char who[NODE_NAME_MAX + 16] = "node ";
    size_t k = strlen(who);
    for (size_t i = 0; i < peer->id_len && k + 1 < sizeof who; i++) {
        unsigned char ch = peer->id[i];
        who[k++] = isalnum(ch) || strchr("._-", ch) ? (char)ch : '?';
    }
    who[k] = '\0';
    logfold_warn(s->folds, now, why, "worker endpoint: a message from %s", who);
    if (peer->id_len)
        wire_send_error(s->workers, peer, 0, "ternd: %s", why);
}

void agents_handle(sched *s, const wire_peer *peer, Tern__Envelope *env)
{
    /* A worker key named for one node speaks for that node alone (its
     * routing id is the node's name). */
    const char *keyed = auth_worker_node(s, peer);
    if (!keyed) {
        logfold_warn(s->folds, clock_mono_ms(), "refused", "worker endpoint: key %s is no longer "
                     "authorized", peer->user);
        wire_send_error(s->workers, peer, env->seq, "this worker key is no longer authorized");
        /* Nothing more goes to it: no launches, no job keys. */
        node *n = peer_node(s, peer);
        if (n && n->state != NODE_DOWN)
            sched_node_down(s, n, "its worker key was removed from the authorized keys");
        return;
    }
    if (strcmp(keyed, "*") != 0 &&
        (peer->id_len != strlen(keyed) || memcmp(peer->id, keyed, peer->id_len) != 0)) {
        log_warn("worker endpoint: the key of node %s speaks as node %.*s: refused", keyed,
                 (int)(peer->id_len < 64 ? peer->id_len : 64), (const char *)peer->id);
        wire_send_error(s->workers, peer, env->seq, "this worker key belongs to node %s", keyed);
        return;
    }
    switch (env->body_case) {
    case TERN__ENVELOPE__BODY_REG:
        handle_register(s, peer, env->seq, env->reg);
        break;
    case TERN__ENVELOPE__BODY_HEARTBEAT:
        handle_heartbeat(s, peer, env->seq, env->heartbeat);
        break;
    case TERN__ENVELOPE__BODY_RANK_EXIT:
        handle_rank_exit(s, peer, env->rank_exit);
        break;
    case TERN__ENVELOPE__BODY_STARTED:
        handle_started(s, peer, env->started);
        break;
    default:
        log_warn("worker endpoint: message type %d is not a worker message",
                 (int)env->body_case);
        wire_send_error(s->workers, peer, env->seq, "message type %d is not a worker message",
                        (int)env->body_case);
        break;
    }
}
