/* Placing pending jobs (schedule.h).
 *
 * Reservation (EASY backfill): when the top job cannot start, ternd works
 * out when it could — releasing the running jobs in the order their time
 * limits end them — and on which nodes. A job behind it may start now only
 * if its own time limit ends it before that, or if it stays off those
 * nodes; so the reservation never moves later. Without time limits the
 * start is unknown and the jobs behind keep off every node the top job
 * could use. */
#include "scheduler/schedule.h"

#include "common/clock.h"
#include "common/log.h"
#include "scheduler/attempt.h"
#include "scheduler/nodes.h"
#include "scheduler/queue.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_TIME INT64_MAX

/* Marks in 'avoid' (one byte per node) the nodes j's restarts avoid.
 * Returns 'avoid', or NULL when there are none. */
static const uint8_t *avoid_marks(sched *s, const job *j, uint8_t *avoid)
{
    if (!j->avoid[0])
        return NULL;
    memset(avoid, 0, s->nnodes);
    char list[sizeof j->avoid], *save = NULL;
    snprintf(list, sizeof list, "%s", j->avoid);
    for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        const node *n = sched_node(s, name);
        if (n)
            avoid[n->idx] = 1;
    }
    return avoid;
}

void job_place_request(sched *s, const job *j, place_request *req, uint8_t *avoid)
{
    const Tern__JobSpec *sp = j->spec;
    const char *part = sp->partition ? sp->partition : "";
    *req = (place_request){
        sp->nodes, sp->tasks_per_node, sp->cpus_per_task, sp->gpus_per_node,
        .spot = strcmp(part, "spot") == 0       ? PLACE_SPOT_ONLY
                : strcmp(part, "ondemand") == 0 ? PLACE_SPOT_NEVER
                : sp->preemptible               ? PLACE_SPOT_PREFER
                                                : PLACE_SPOT_NEVER,
        .avoid = avoid ? avoid_marks(s, j, avoid) : NULL,
        .parts = sched_partition_bit(s, part),
    };
}

/* A copy of the view whose resources can be given back: what the cluster
 * will look like as running jobs end. */
typedef struct sim {
    place_node *view;
    bool (*gpu)[PLACE_MAX_GPUS];
    size_t n;
} sim;

static int sim_init(sim *m, const place_node *live, size_t n)
{
    m->n = n;
    m->view = malloc((n ? n : 1) * sizeof *m->view);
    m->gpu = malloc((n ? n : 1) * sizeof *m->gpu);
    if (!m->view || !m->gpu) {
        free(m->view);
        free(m->gpu);
        return -1;
    }
    memcpy(m->view, live, n * sizeof *live);
    for (size_t i = 0; i < n; i++) {
        memcpy(m->gpu[i], live[i].gpu_used, live[i].ngpus * sizeof(bool));
        m->view[i].gpu_used = m->gpu[i];
    }
    return 0;
}

static void sim_free(sim *m)
{
    free(m->view);
    free(m->gpu);
}

/* Gives back j's resources in the copy; counts in *fit the nodes that now
 * fit 'req' and did not before. */
static void sim_release(sim *m, const job *j, const place_request *req, size_t *fit)
{
    for (size_t k = 0; k < j->placement->n_nodes && j->nodes; k++) {
        size_t i = j->nodes[k]->idx;
        const Tern__PlacedNode *pn = j->placement->nodes[k];
        bool before = place_fits(req, m->view, i);
        place_node *v = &m->view[i];
        v->cpus_used = v->cpus_used > pn->cpus ? v->cpus_used - pn->cpus : 0;
        for (size_t g = 0; g < pn->n_gpus; g++)
            if (pn->gpus[g] < v->ngpus && m->gpu[i][pn->gpus[g]]) {
                m->gpu[i][pn->gpus[g]] = false;
                v->gpus_free++;
            }
        if (!before && place_fits(req, m->view, i))
            (*fit)++;
    }
}

static size_t count_fit(const place_request *req, const place_node *view, size_t n)
{
    size_t fit = 0;
    for (size_t i = 0; i < n; i++)
        fit += place_fits(req, view, i);
    return fit;
}

/* When a running job will have ended (unix ms): its deadline when it is
 * already ending, else its start plus time limit plus the kill wait. */
static int64_t expected_end(const sched *s, const job *j, int64_t now, int64_t mono)
{
    if (j->ending)
        return j->end_by ? now + (j->end_by > mono ? j->end_by - mono : 0) : NO_TIME;
    if (j->spec->time_limit_s)
        return j->start_ms + (int64_t)j->spec->time_limit_s * 1000 + s->opt.kill_wait_ms;
    return NO_TIME;
}

typedef struct ending {
    job *j;
    int64_t at;
} ending;

static int by_end(const void *a, const void *b)
{
    const ending *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->j->id < y->j->id ? -1 : x->j->id > y->j->id;
}

/* The top job's reservation: *start (unix ms, NO_TIME when not known) and
 * in resv[] the nodes it holds. Released in the order their time limits
 * end them, running jobs make room at some point: that start and those
 * nodes. When only jobs without a limit make room, the start is unknown
 * but the nodes are held all the same. When not even every running job
 * gone would make room (nodes down or drained), nothing is held: the job
 * waits for the cluster, not for a time. */
static void reserve(sched *s, const place_request *req, const place_node *live,
                    place_choice *choice, int64_t *start, uint8_t *resv)
{
    int64_t now = clock_wall_ms(), mono = clock_mono_ms();
    memset(resv, 0, s->nnodes);
    *start = NO_TIME;
    sim m;
    ending *e = malloc((s->active.count ? s->active.count : 1) * sizeof *e);
    if (!e || sim_init(&m, live, s->nnodes) < 0) {
        free(e);
        return;
    }
    size_t ne = 0;
    for (job *j = s->active.head; j; j = j->next) {
        e[ne].j = j;
        e[ne++].at = expected_end(s, j, now, mono);
    }
    qsort(e, ne, sizeof *e, by_end);
    size_t fit = count_fit(req, m.view, m.n);
    char why[256];
    bool found = false;
    for (size_t k = 0; k < ne && !found; k++) {
        sim_release(&m, e[k].j, req, &fit);
        if ((k + 1 < ne && e[k + 1].at == e[k].at) || fit < req->nodes)
            continue;
        if (place_gang(req, m.view, m.n, choice, why, sizeof why) == PLACE_OK) {
            found = true;
            if (e[k].at != NO_TIME)
                *start = e[k].at > now ? e[k].at : now;
            for (uint32_t c = 0; c < req->nodes; c++)
                resv[choice[c].node] = 1;
        }
    }
    sim_free(&m);
    free(e);
}

/* Lower priority first, then the most recently started. */
static int by_victim(const void *a, const void *b)
{
    const job *x = *(job *const *)a, *y = *(job *const *)b;
    if (x->spec->priority != y->spec->priority)
        return x->spec->priority < y->spec->priority ? -1 : 1;
    if (x->start_ms != y->start_ms)
        return x->start_ms > y->start_ms ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Makes room for 'top' by preempting running --preemptible jobs of lower
 * priority: as few as it takes, lowest priority first, and only those on
 * the nodes it will get. Nothing when jobs already ending free enough. */
/* Whether j may be preempted for 'top': --preemptible, of lower priority,
 * running, and not about to end by its own time limit anyway. */
static bool victim(const sched *s, const job *j, const job *top, int64_t now)
{
    return j->spec->preemptible && !j->ending && j->state == JOB_RUNNING &&
           j->spec->priority < top->spec->priority &&
           !(j->spec->time_limit_s &&
             expected_end(s, j, now, 0) <= now + (int64_t)s->opt.preempt_grace_ms);
}

static void preempt_for(sched *s, const job *top, const place_request *req,
                        const place_node *live, place_choice *choice)
{
    /* Just started: nodes that are up may not have registered yet. */
    if (clock_mono_ms() - s->started_mono < (int64_t)s->opt.node_timeout_ms)
        return;
    int64_t now = clock_wall_ms();
    size_t nv = 0;
    for (job *j = s->active.head; j; j = j->next)
        nv += victim(s, j, top, now);
    if (!nv)
        return;
    job **v = malloc(nv * sizeof *v);
    sim m;
    if (!v || sim_init(&m, live, s->nnodes) < 0) {
        free(v);
        return;
    }
    nv = 0;
    size_t fit = count_fit(req, m.view, m.n);
    for (job *j = s->active.head; j; j = j->next) {
        if (j->ending)
            sim_release(&m, j, req, &fit);
        else if (victim(s, j, top, now))
            v[nv++] = j;
    }
    char why[256];
    bool room = fit >= req->nodes &&
                place_gang(req, m.view, m.n, choice, why, sizeof why) == PLACE_OK;
    qsort(v, nv, sizeof *v, by_victim);
    for (size_t k = 0; k < nv && !room; k++) {
        sim_release(&m, v[k], req, &fit);
        if (fit < req->nodes ||
            place_gang(req, m.view, m.n, choice, why, sizeof why) != PLACE_OK)
            continue;
        room = true;
        for (size_t p = 0; p <= k; p++) {
            bool used = false;
            for (uint32_t c = 0; c < req->nodes && !used; c++)
                used = attempt_node_rank(v[p], s->nodes[choice[c].node]) >= 0;
            if (!used)
                continue;
            snprintf(why, sizeof why, "preempted by job %llu (priority %d > %d)",
                     (unsigned long long)top->id, top->spec->priority, v[p]->spec->priority);
            attempt_preempt(s, v[p], s->opt.preempt_grace_ms, why);
        }
    }
    sim_free(&m);
    free(v);
}

/* After j started on 'choice': what the view must show of those nodes. */
static void view_update(sched *s, place_node *view, const place_choice *choice, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        place_node *v = &view[choice[k].node];
        v->cpus_used = s->nodes[choice[k].node]->cpus_used;
        v->gpus_free -= choice[k].ngpus <= v->gpus_free ? choice[k].ngpus : v->gpus_free;
    }
}

void sched_schedule(sched *s)
{
    s->dirty = false;
    if (s->deps_dirty)
        queue_check_deps(s);
    size_t n = s->nnodes ? s->nnodes : 1;
    place_node *view = calloc(n, sizeof *view);
    uint8_t *avoid = calloc(n, 1), *resv = calloc(n, 1);
    place_choice *choice = NULL;
    size_t choice_cap = 0;
    if (!view || !avoid || !resv)
        goto done;
    sched_place_view(s, view);
    queue_pass_begin(s);
    const job *top = NULL;
    int64_t resv_start = NO_TIME, now = clock_wall_ms();
    uint32_t tried = 0;
    for (job *j; (j = queue_pass_next(s));) {
        const Tern__JobSpec *sp = j->spec;
        if (sp->nodes > choice_cap) {
            free(choice);
            choice_cap = sp->nodes;
            if (!(choice = malloc(choice_cap * sizeof *choice)))
                break;
        }
        place_request req;
        job_place_request(s, j, &req, avoid);
        j->est_start_ms = 0;
        if (req.parts == UINT32_MAX) {
            snprintf(j->reason, sizeof j->reason, "no node is in partition %.64s", sp->partition);
            continue;
        }
        /* Behind the top job: off its nodes unless done before it starts
         * (with a second to spare for this pass). */
        if (top && !(resv_start != NO_TIME && sp->time_limit_s &&
                     now + (int64_t)sp->time_limit_s * 1000 + s->opt.kill_wait_ms + 1000 <=
                         resv_start))
            req.exclude = resv;
        char why[256] = "";
        enum place_result r = place_gang(&req, view, s->nnodes, choice, why, sizeof why);
        if (r == PLACE_NEVER) {
            /* The cluster shrank below this job; others may still start. */
            snprintf(j->reason, sizeof j->reason, "%.127s", why);
            continue;
        }
        if (r == PLACE_WAIT) {
            if (top) {
                snprintf(j->reason, sizeof j->reason, "Priority");
                if (++tried >= s->opt.backfill_depth)
                    break;
                continue;
            }
            top = j;
            snprintf(j->reason, sizeof j->reason, "Resources");
            preempt_for(s, j, &req, view, choice);
            reserve(s, &req, view, choice, &resv_start, resv);
            j->est_start_ms = resv_start == NO_TIME ? 0 : resv_start;
            continue;
        }
        if (attempt_start(s, j, choice) < 0) {
            log_err("job=%llu cannot start (out of memory?)", (unsigned long long)j->id);
            break;
        }
        if (top)
            log_info("job=%llu backfilled ahead of job=%llu", (unsigned long long)j->id,
                     (unsigned long long)top->id);
        view_update(s, view, choice, sp->nodes);
    }
done:
    free(choice);
    free(view);
    free(avoid);
    free(resv);
}
