/* What each attempt of a job used and cost (cost.h). */
#include "scheduler/cost.h"

#include "common/clock.h"
#include "common/grow.h"
#include "scheduler/attempt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct held {
    Tern__AttemptInfo info;
    Tern__Placement *placement;    /* the names point into it */
    char **names;
    char *reason;
    char **gpus;                   /* per node: "0,1" */
    int64_t *ckpts;
} held;

typedef struct walk {
    const job *job;
    held *h;
    size_t n, cap;
    int64_t now;
} walk;

static int add(void *arg, const store_attempt *a)
{
    walk *w = arg;
    held *grown = grow(w->h, &w->cap, w->n + 1, sizeof *grown, 8);
    if (!grown)
        return -1;
    w->h = grown;
    held *h = &w->h[w->n];
    memset(h, 0, sizeof *h);
    tern__attempt_info__init(&h->info);
    h->placement = tern__placement__unpack(NULL, a->placement_len, a->placement);
    size_t nn = h->placement ? h->placement->n_nodes : 0;
    h->names = calloc(nn ? nn : 1, sizeof *h->names);
    h->gpus = calloc(nn ? nn : 1, sizeof *h->gpus);
    h->reason = strdup(a->reason ? a->reason : "");
    if (!h->names || !h->reason || !h->gpus) {
        if (h->placement)
            tern__placement__free_unpacked(h->placement, NULL);
        free(h->names);
        free(h->gpus);
        free(h->reason);
        return -1;
    }
    w->n++;
    /* The row of the attempt running now says R until it ends. */
    bool current = a->attempt == w->job->attempt && job_live(w->job);
    int64_t end = a->end_ms ? a->end_ms : current ? w->now : a->start_ms;
    double hours = end > a->start_ms ? (double)(end - a->start_ms) / 3.6e6 : 0;
    for (size_t i = 0; i < nn; i++) {
        const Tern__PlacedNode *pn = h->placement->nodes[i];
        h->names[i] = pn->name;
        h->gpus[i] = calloc(pn->n_gpus * 4 + 1, 1);
        for (size_t g = 0, o = 0; h->gpus[i] && g < pn->n_gpus; g++)
            o += (size_t)sprintf(h->gpus[i] + o, "%s%u", g ? "," : "", pn->gpus[g] % 1000);
        if (!h->gpus[i])
            h->gpus[i] = strdup("");
        h->info.node_hours += hours;
        h->info.cost += hours * pn->price;
    }
    h->info.attempt = a->attempt;
    h->info.uid = h->info.gid = -1;   /* until its "runas" event */
    h->info.state = (char *)job_state_code(current ? w->job->state : (enum job_state)a->state);
    h->info.n_nodes = nn;
    h->info.nodes = h->names;
    h->info.n_gpus = nn;
    h->info.gpus = h->gpus;
    h->info.start_ms = a->start_ms;
    h->info.end_ms = a->end_ms;
    h->info.exit_code = a->exit_code;
    h->info.reason = h->reason;
    return 0;
}

/* A "checkpoint" event: the step goes to its attempt, once. */
static int add_ckpt(void *arg, int64_t time_ms, const char *detail)
{
    walk *w = arg;
    unsigned attempt;
    long long step;
    (void)time_ms;
    if (sscanf(detail, "attempt=%u step=%lld", &attempt, &step) != 2)
        return 0;
    for (size_t i = 0; i < w->n; i++) {
        held *h = &w->h[i];
        if (h->info.attempt != attempt)
            continue;
        for (size_t k = 0; k < h->info.n_checkpoints; k++)
            if (h->ckpts[k] == step)
                return 0;
        int64_t *c = realloc(h->ckpts, (h->info.n_checkpoints + 1) * sizeof *c);
        if (!c)
            return -1;
        h->ckpts = c;
        c[h->info.n_checkpoints++] = step;
        h->info.checkpoints = c;
        return 0;
    }
    return 0;
}

/* A "runas" event: the uid and gid node rank 0 ran its attempt's ranks as. */
static int add_runas(void *arg, int64_t time_ms, const char *detail)
{
    walk *w = arg;
    unsigned attempt, uid, gid;
    (void)time_ms;
    if (sscanf(detail, "attempt=%u uid=%u gid=%u", &attempt, &uid, &gid) != 3)
        return 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->h[i].info.attempt == attempt) {
            w->h[i].info.uid = uid;
            w->h[i].info.gid = gid;
        }
    }
    return 0;
}

void *attempts_info(sched *s, const job *j, Tern__AttemptInfo ***out, size_t *n)
{
    walk w = { .job = j, .now = clock_wall_ms() };
    *out = NULL;
    *n = 0;
    if (store_attempts_of(s->db, j->id, add, &w) != 0 || !w.n) {
        attempts_info_free(w.h, w.n);
        return NULL;
    }
    store_events_of(s->db, j->id, "checkpoint", add_ckpt, &w);
    store_events_of(s->db, j->id, "runas", add_runas, &w);
    Tern__AttemptInfo **ptrs = calloc(w.n, sizeof *ptrs);
    if (!ptrs) {
        attempts_info_free(w.h, w.n);
        return NULL;
    }
    for (size_t i = 0; i < w.n; i++)
        ptrs[i] = &w.h[i].info;
    *out = ptrs;
    *n = w.n;
    return w.h;
}

void attempts_info_free(void *handle, size_t n)
{
    held *h = handle;
    for (size_t i = 0; h && i < n; i++) {
        if (h[i].placement)
            tern__placement__free_unpacked(h[i].placement, NULL);
        for (size_t k = 0; h[i].gpus && k < h[i].info.n_nodes; k++)
            free(h[i].gpus[k]);
        free(h[i].gpus);
        free(h[i].ckpts);
        free(h[i].names);
        free(h[i].reason);
    }
    free(h);
}
