/* The job table (indexed by id), the pending queue and the active list. */
#include "scheduler/jobs.h"

#include "common/log.h"
#include "common/grow.h"
#include "scheduler/queue.h"
#include "scheduler/steps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scalar fields a job, its row (store_job) and its listing
 * (Tern__JobInfo) name alike: copied between them field by field. */
#define JOB_SCALARS(X) X(exit_code) X(attempt) X(submit_ms) X(start_ms) X(end_ms) X(failed_rank) \
                       X(restarts)

job *sched_job(const sched *s, uint64_t id)
{
    return id >= 1 && id <= s->njobs ? s->jobs[id - 1] : NULL;
}

job *sched_job_add(sched *s, uint64_t id, Tern__JobSpec *spec)
{
    if (id == 0 || sched_job(s, id)) {
        errno = EEXIST;
        return NULL;
    }
    job **slots = grow(s->jobs, &s->jobs_cap, id, sizeof *slots, 1024);
    if (!slots)
        return NULL;
    s->jobs = slots;
    job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->id = id;
    j->spec = spec;
    j->failed_rank = -1;
    j->progress = -1;
    j->ckpt_step = -1;
    s->jobs[id - 1] = j;
    if (id > s->njobs)
        s->njobs = id;
    return j;
}

static void job_free(job *j)
{
    if (!j)
        return;
    if (j->spec)
        tern__job_spec__free_unpacked(j->spec, NULL);
    if (j->placement)
        tern__placement__free_unpacked(j->placement, NULL);
    free(j->nodes);
    free(j->rank_exited);
    steps_free(j);
    free(j);
}

void sched_jobs_clear(sched *s)
{
    for (size_t i = 0; i < s->njobs; i++)
        job_free(s->jobs[i]);
    free(s->jobs);
    s->jobs = NULL;
    s->njobs = s->jobs_cap = 0;
    memset(&s->pending, 0, sizeof s->pending);
    memset(&s->active, 0, sizeof s->active);
    memset(&s->held, 0, sizeof s->held);
    accounts_clear(s);
}

void job_list_push(job_list *l, job *j)
{
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->count++;
}

void job_list_remove(job_list *l, job *j)
{
    job_list_unlink(l, j, false);
}

/* Queue order: higher priority first, then lower id. */
static bool before(const job *a, const job *b)
{
    if (a->spec->priority != b->spec->priority)
        return a->spec->priority > b->spec->priority;
    return a->id < b->id;
}

#define PREV(j) (*(aux ? &(j)->uprev : &(j)->prev))
#define NEXT(j) (*(aux ? &(j)->unext : &(j)->next))

void job_list_insert(job_list *l, job *j, bool aux)
{
    /* New jobs usually go last: walk from the tail. */
    job *at = l->tail;
    while (at && before(j, at))
        at = PREV(at);
    PREV(j) = at;
    NEXT(j) = at ? NEXT(at) : l->head;
    if (NEXT(j))
        PREV(NEXT(j)) = j;
    else
        l->tail = j;
    if (at)
        NEXT(at) = j;
    else
        l->head = j;
    l->count++;
}

void job_list_unlink(job_list *l, job *j, bool aux)
{
    if (PREV(j))
        NEXT(PREV(j)) = NEXT(j);
    else
        l->head = NEXT(j);
    if (NEXT(j))
        PREV(NEXT(j)) = PREV(j);
    else
        l->tail = PREV(j);
    PREV(j) = NEXT(j) = NULL;
    l->count--;
}

void sched_queue_pending(sched *s, job *j)
{
    job_list_insert(&s->pending, j, false);
}

int sched_job_save(sched *s, job *j)
{
    store_job row = {
        .id = j->id,
        .state = (int)j->state,
        .reason = j->reason,
        .failed_node = j->failed_node,
        .avoid = j->avoid,
    };
#define TO_ROW(f) row.f = j->f;
    JOB_SCALARS(TO_ROW)
#undef TO_ROW
    if (sched_db(s, store_job_update(s->db, &row)) < 0) {
        log_err("job=%llu cannot save: %s", (unsigned long long)j->id, store_errmsg(s->db));
        return -1;
    }
    return 0;
}

void job_load(job *j, const store_job *row)
{
    j->state = (enum job_state)row->state;
    snprintf(j->reason, sizeof j->reason, "%s", row->reason ? row->reason : "");
    snprintf(j->failed_node, sizeof j->failed_node, "%s", row->failed_node ? row->failed_node : "");
    snprintf(j->avoid, sizeof j->avoid, "%s", row->avoid ? row->avoid : "");
#define FROM_ROW(f) j->f = row->f;
    JOB_SCALARS(FROM_ROW)
#undef FROM_ROW
}

const char *job_reason(const sched *s, const job *j)
{
    if (j->state != JOB_PENDING)
        return j->reason;
    (void)s;
    /* Set by each scheduling pass; a job no pass reached waits behind others. */
    return j->reason[0] ? j->reason : "Priority";
}

void job_info_fill(const job *j, Tern__JobInfo *info, Tern__JobSpec *spec_copy, char **names,
                   bool full)
{
    tern__job_info__init(info);
    *spec_copy = *j->spec;
    if (!full) {
        spec_copy->n_env = 0;
        spec_copy->env = NULL;
        spec_copy->script.len = 0;
        spec_copy->script.data = NULL;
    }
    info->id = j->id;
    info->spec = spec_copy;
    info->state = (char *)job_state_code(j->state);
    info->reason = (char *)j->reason;
#define TO_INFO(f) info->f = j->f;
    JOB_SCALARS(TO_INFO)
#undef TO_INFO
    info->failed_node = (char *)j->failed_node;
    info->est_start_ms = j->state == JOB_PENDING ? j->est_start_ms : 0;
    info->progress = j->progress;
    if (j->placement) {
        for (size_t i = 0; i < j->placement->n_nodes; i++)
            names[i] = j->placement->nodes[i]->name;
        info->n_node_names = j->placement->n_nodes;
        info->node_names = names;
        info->master_addr = j->placement->master_addr;
        info->master_port = j->placement->master_port;
    }
}
