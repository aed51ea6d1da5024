/* What each attempt of a job used and cost: node-hours from its placement
 * and times, priced per node at what the node's price label said when the
 * attempt was placed. */
#include "scheduler/sched.h"

#include "common/clock.h"

#include <stdlib.h>
#include <string.h>

typedef struct held {
    Tern__AttemptInfo info;
    Tern__Placement *placement;    /* the names point into it */
    char **names;
    char *reason;
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
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        held *h = realloc(w->h, cap * sizeof *h);
        if (!h)
            return -1;
        w->h = h;
        w->cap = cap;
    }
    held *h = &w->h[w->n];
    memset(h, 0, sizeof *h);
    tern__attempt_info__init(&h->info);
    h->placement = tern__placement__unpack(NULL, a->placement_len, a->placement);
    size_t nn = h->placement ? h->placement->n_nodes : 0;
    h->names = calloc(nn ? nn : 1, sizeof *h->names);
    h->reason = strdup(a->reason ? a->reason : "");
    if (!h->names || !h->reason) {
        if (h->placement)
            tern__placement__free_unpacked(h->placement, NULL);
        free(h->names);
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
        h->info.node_hours += hours;
        h->info.cost += hours * pn->price;
    }
    h->info.attempt = a->attempt;
    h->info.state = (char *)job_state_code(current ? w->job->state : (enum job_state)a->state);
    h->info.n_nodes = nn;
    h->info.nodes = h->names;
    h->info.start_ms = a->start_ms;
    h->info.end_ms = a->end_ms;
    h->info.exit_code = a->exit_code;
    h->info.reason = h->reason;
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
        free(h[i].names);
        free(h[i].reason);
    }
    free(h);
}
