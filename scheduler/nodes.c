/* The node registry (nodes.h). */
#include "scheduler/nodes.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/grow.h"
#include "scheduler/attempt.h"
#include "scheduler/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = { "UP", "DOWN", "PREEMPTING" };

const char *node_state_name(enum node_state st)
{
    return (unsigned)st <= NODE_PREEMPTING ? state_names[st] : "UNKNOWN";
}

int node_state_parse(const char *s, enum node_state *out)
{
    for (int i = 0; i <= NODE_PREEMPTING; i++) {
        if (s && strcmp(s, state_names[i]) == 0) {
            *out = (enum node_state)i;
            return 0;
        }
    }
    return -1;
}

node *sched_node(sched *s, const char *name)
{
    return strmap_get(s->node_by_name, name);
}

node *sched_node_add(sched *s, const char *name)
{
    node **slots = grow(s->nodes, &s->nodes_cap, s->nnodes + 1, sizeof *slots, 64);
    if (!slots)
        return NULL;
    s->nodes = slots;
    node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    snprintf(n->name, sizeof n->name, "%s", name);
    if (strmap_put(s->node_by_name, n->name, n) < 0) {
        free(n);
        return NULL;
    }
    n->state = NODE_UP;
    n->idx = s->nnodes;
    s->nodes[s->nnodes++] = n;
    return n;
}

uint32_t node_cpus(const node *n)
{
    return n->info ? n->info->cpus : 0;
}

uint32_t node_gpus(const node *n)
{
    if (!n->info)
        return 0;
    return n->info->n_gpus < PLACE_MAX_GPUS ? (uint32_t)n->info->n_gpus : PLACE_MAX_GPUS;
}

bool node_usable(const node *n)
{
    return n->connected && n->state == NODE_UP && !n->drained && n->info;
}

const char *node_display_state(const node *n)
{
    if (n->state == NODE_DOWN)
        return "DOWN";
    if (!n->connected)
        return "UNKNOWN";
    if (n->state == NODE_PREEMPTING)
        return "PREEMPTING";
    return n->drained ? "DRAIN" : "UP";
}

int sched_node_save(sched *s, node *n)
{
    uint8_t stackbuf[4096];
    uint8_t *buf = stackbuf;
    size_t len = 0;
    if (n->info) {
        len = tern__node_info__get_packed_size(n->info);
        if (len > sizeof stackbuf && !(buf = malloc(len)))
            return -1;
        tern__node_info__pack(n->info, buf);
    }
    store_node row = {
        .name = n->name,
        .info = buf,
        .info_len = len,
        .state = node_state_name(n->state),
        .reason = n->reason,
        .drain_reason = n->drained ? n->drain_reason : NULL,
    };
    int rc = sched_db(s, store_node_put(s->db, &row));
    if (buf != stackbuf)
        free(buf);
    if (rc < 0)
        log_err("node=%s cannot save: %s", n->name, store_errmsg(s->db));
    return rc;
}

void node_up(node *n)
{
    n->state = NODE_UP;
    n->reason[0] = '\0';
    n->notice_deadline = 0;
}

void sched_place_view(sched *s, place_node *view)
{
    for (size_t i = 0; i < s->nnodes; i++) {
        node *n = s->nodes[i];
        uint32_t ngpus = node_gpus(n), free = 0;
        for (uint32_t g = 0; g < ngpus && g < PLACE_MAX_GPUS; g++)
            free += !n->gpu_used[g];
        view[i] = (place_node){
            .name = n->name, .usable = node_usable(n), .cpus = node_cpus(n),
            .cpus_used = n->cpus_used, .ngpus = ngpus, .gpu_used = n->gpu_used,
            .gpus_free = free, .gpu_island = n->gpu_island, .gpu_nic = n->gpu_nic,
            .spot = n->spot, .group = n->group, .parts = n->parts,
        };
    }
}

/* The number of label "KIND=VALUE" ('key' is that text): groups count
 * from 1, partitions from 0; 'limit' bounds them. 0 / UINT32_MAX when full. */
static uint32_t label_id(sched *s, const char *key, uint32_t *count, uint32_t first,
                         uint32_t limit)
{
    if (!s->label_ids && !(s->label_ids = strmap_new()))
        return UINT32_MAX;
    void *v = strmap_get(s->label_ids, key);
    if (v)
        return (uint32_t)(uintptr_t)v - 1;
    if (*count >= limit)
        return UINT32_MAX;
    uint32_t id = first + (*count)++;
    if (strmap_put(s->label_ids, key, (void *)(uintptr_t)(id + 1)) < 0)
        return UINT32_MAX;
    return id;
}

uint32_t sched_partition_bit(sched *s, const char *name)
{
    if (!name || !name[0] || strcmp(name, "spot") == 0 || strcmp(name, "ondemand") == 0)
        return 0;
    char key[160];
    snprintf(key, sizeof key, "part=%s", name);
    void *v = s->label_ids ? strmap_get(s->label_ids, key) : NULL;
    return v ? 1u << ((uint32_t)(uintptr_t)v - 1) : UINT32_MAX;
}

#define MAX_NODE_PARTITIONS 8

/* Reads partition=a,b (the node's partitions, the first 8) and switch= or rack= (the
 * group a multi-node gang should stay in). */
static void node_labels_apply(sched *s, node *n, const char *l, char *group, size_t glen)
{
    char key[160];
    if (strncmp(l, "switch=", 7) == 0 || (strncmp(l, "rack=", 5) == 0 && !group[0])) {
        snprintf(group, glen, "%s", l);
    } else if (strncmp(l, "partition=", 10) == 0) {
        char list[128], *save = NULL;
        int taken = 0;
        snprintf(list, sizeof list, "%s", l + 10);
        /* A node names a few: the 32 numbers are the whole cluster's. */
        for (char *p = strtok_r(list, ",", &save); p && taken < MAX_NODE_PARTITIONS;
             p = strtok_r(NULL, ",", &save), taken++) {
            snprintf(key, sizeof key, "part=%s", p);
            uint32_t bit = label_id(s, key, &s->nparts, 0, 32);
            if (bit < 32)
                n->parts |= 1u << bit;
            else
                log_warn("node=%s: partition %s not used: more than 32 partitions", n->name, p);
        }
    }
}

void node_info_apply(sched *s, node *n)
{
    n->spot = false;
    n->price = 0;
    n->parts = 0;
    n->group = 0;
    char group[160] = "";
    for (size_t i = 0; n->info && i < n->info->n_labels; i++) {
        const char *l = n->info->labels[i];
        if (strcmp(l, "spot=true") == 0)
            n->spot = true;
        else if (strncmp(l, "price=", 6) == 0)
            n->price = strtod(l + 6, NULL);
        else
            node_labels_apply(s, n, l, group, sizeof group);
    }
    if (group[0]) {
        /* switch= and rack= values share one numbering: a site uses one. */
        char key[170];
        snprintf(key, sizeof key, "group=%s", strchr(group, '=') + 1);
        uint32_t id = label_id(s, key, &s->ngroups, 1, 1023);
        n->group = id == UINT32_MAX ? 0 : id;
    }
    if (!(n->price >= 0 && n->price < 1e9))
        n->price = 0;
    for (uint32_t g = 0; g < node_gpus(n); g++) {
        const Tern__Gpu *gpu = n->info->gpus[g];
        n->gpu_island[g] = gpu->island >= 0 && gpu->island < PLACE_MAX_GPUS ? gpu->island : 0;
        n->gpu_nic[g] = 0;
        for (size_t k = 0; k < n->info->n_nics && gpu->numa >= 0; k++)
            if (n->info->nics[k]->numa == gpu->numa)
                n->gpu_nic[g] = 1;
    }
}

void sched_node_preempt(sched *s, node *n, int64_t deadline, const char *why)
{
    if (n->state == NODE_DOWN)
        return;
    int64_t now = clock_wall_ms();
    if (n->state != NODE_PREEMPTING || n->notice_deadline != deadline) {
        log_warn("node=%s preempting: %s, %.1f s left", n->name, why, (double)(deadline - now) / 1e3);
        n->state = NODE_PREEMPTING;
        snprintf(n->reason, sizeof n->reason, "%s", why);
        sched_node_save(s, n);
        sched_db(s, store_event(s->db, 0, n->name, "preempt", why));
    }
    n->notice_deadline = deadline;
    /* The ranks must have saved and gone a margin before the machine does. */
    int64_t grace = deadline - (int64_t)s->opt.notice_margin_ms - now;
    if (grace > (int64_t)UINT32_MAX)   /* a deadline weeks away: as long as we can say */
        grace = UINT32_MAX;
    char msg[128];
    snprintf(msg, sizeof msg, "spot notice on %s", n->name);
    for (job *j = s->active.head, *next; j; j = next) {
        next = j->next;
        if (attempt_node_rank(j, n) < 0)
            continue;
        /* Preempted before a ternd restart: the deadline was not kept. */
        if (j->ending && j->end_state == JOB_PREEMPTED && !j->end_by)
            j->end_by = clock_mono_ms() + (grace > 0 ? grace : 0);
        attempt_preempt(s, j, grace > 0 ? (uint32_t)grace : 0, msg);
    }
    s->dirty = true;
}

void node_send_notice(sched *s, const node *n, int64_t deadline, const char *why)
{
    if (!n->connected)
        return;
    Tern__Notice nt = TERN__NOTICE__INIT;
    nt.deadline_ms = deadline;
    nt.source = (char *)why;
    outbox_worker(s, &n->peer, 0, TERN__ENVELOPE__BODY_NOTICE, &nt);
}

void sched_node_down(sched *s, node *n, const char *why)
{
    log_warn("node=%s down: %s", n->name, why);
    n->state = NODE_DOWN;
    n->connected = false;
    snprintf(n->reason, sizeof n->reason, "%s", why);
    sched_node_save(s, n);
    sched_db(s, store_event(s->db, 0, n->name, "node_down", why));
    node_attempts_lost(s, n, why);
    s->dirty = true;
}

void node_attempts_lost(sched *s, node *n, const char *why)
{
    for (job *j = s->active.head, *next; j; j = next) {
        next = j->next;
        if (attempt_node_rank(j, n) >= 0)
            attempt_ranks_lost(s, j, n, why);
    }
}
