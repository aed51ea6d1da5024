/* Who goes next: per-user queues, fair share, dependencies and array
 * throttles (queue.h). */
#include "scheduler/queue.h"

#include "common/clock.h"
#include "common/depend.h"
#include "common/log.h"
#include "common/grow.h"
#include "scheduler/jobs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- accounts ---- */

account *account_get(sched *s, const char *user)
{
    const char *name = user && user[0] ? user : "?";
    if (!s->acct_by_name && !(s->acct_by_name = strmap_new()))
        return NULL;
    account *a = strmap_get(s->acct_by_name, name);
    if (a)
        return a;
    account **slots = grow(s->accts, &s->accts_cap, s->naccts + 1, sizeof *slots, 16);
    if (!slots)
        return NULL;
    s->accts = slots;
    if (!(a = calloc(1, sizeof *a)))
        return NULL;
    snprintf(a->name, sizeof a->name, "%s", name);
    a->usage_at = clock_wall_ms();
    if (strmap_put(s->acct_by_name, a->name, a) < 0) {
        free(a);
        return NULL;
    }
    s->accts[s->naccts++] = a;
    return a;
}

void accounts_clear(sched *s)
{
    for (size_t i = 0; i < s->naccts; i++)
        free(s->accts[i]);
    free(s->accts);
    s->accts = NULL;
    s->naccts = s->accts_cap = 0;
    strmap_destroy(&s->acct_by_name);
}

static int account_loaded(void *arg, const char *user, double usage, int64_t at_ms)
{
    account *a = account_get(arg, user);
    if (!a)
        return -1;
    a->usage = usage >= 0 && usage < 1e300 ? usage : 0;
    a->usage_at = at_ms;
    return 0;
}

int accounts_load(sched *s)
{
    return store_accounts_load(s->db, account_loaded, s);
}

static double decayed(const account *a, int64_t now_ms, double halflife_s)
{
    double age = (double)(now_ms - a->usage_at) / 1e3;
    if (age <= 0 || halflife_s <= 0)
        return a->usage;
    return a->usage * exp2(-age / halflife_s);
}

/* What a job that starts is charged at once, per unit: without it a job
 * just started costs its user nothing yet, and a pass filling several
 * slots would give them all to the same user. */
#define COMMIT_S 60.0

double account_usage(const account *a, int64_t now_ms, double halflife_s)
{
    return decayed(a, now_ms, halflife_s) + (double)a->running * ((double)now_ms / 1e3 + COMMIT_S) -
           a->running_since;
}

/* Billing units of a job: one per CPU, eight per GPU. */
static uint64_t billing_of(const Tern__JobSpec *sp)
{
    return (uint64_t)sp->nodes * ((uint64_t)sp->tasks_per_node * sp->cpus_per_task +
                                  8ull * sp->gpus_per_node);
}

void account_count_job(sched *s, const job *j, int sign)
{
    account *a = account_get(s, j->spec->user);
    if (a && (sign > 0 || a->unfinished > 0))
        a->unfinished += (uint32_t)sign;
}

void account_run(sched *s, job *j, int sign)
{
    account *a = j->acct ? j->acct : (j->acct = account_get(s, j->spec->user));
    if (!a)
        return;
    double start = (double)(j->start_ms ? j->start_ms : clock_wall_ms()) / 1e3;
    if (sign > 0) {
        j->billing = billing_of(j->spec);
        a->running += j->billing;
        a->running_since += (double)j->billing * start;
        return;
    }
    if (!j->billing)
        return;
    int64_t now = clock_wall_ms();
    double ran = (double)now / 1e3 - start;
    a->running -= j->billing;
    a->running_since -= (double)j->billing * start;
    if (!a->running)
        a->running_since = 0;
    a->usage = decayed(a, now, s->opt.fairshare_halflife_s) + (ran > 0 ? ran : 0) * (double)j->billing;
    a->usage_at = now;
    j->billing = 0;
    if (sched_db(s, store_account_put(s->db, a->name, a->usage, a->usage_at)) < 0)
        log_err("user=%s usage not saved: %s", a->name, store_errmsg(s->db));
}

/* ---- arrays ---- */

/* The array's first task, which keeps the array's counts. */
static job *array_head(sched *s, const job *j)
{
    return j->spec->array_job_id ? sched_job(s, j->spec->array_job_id) : NULL;
}

/* Whether j may be let out now under its array's %N; lets it out if so. */
static bool array_let_out(sched *s, job *j)
{
    job *head = array_head(s, j);
    if (!head || j->array_out)
        return true;
    if (j->spec->array_limit && head->array_running >= j->spec->array_limit)
        return false;
    j->array_out = true;
    head->array_running++;
    return true;
}

/* ---- dependencies ---- */

enum dep_state { DEP_WAIT, DEP_MET, DEP_NEVER };

/* The state of one condition on one job. */
static enum dep_state dep_on(const job *t, enum depend_type type)
{
    bool final = job_state_final(t->state);
    switch (type) {
    case DEP_AFTER:
        return t->start_ms || final ? DEP_MET : DEP_WAIT;
    case DEP_AFTERANY:
        return final ? DEP_MET : DEP_WAIT;
    case DEP_AFTEROK:
        return !final ? DEP_WAIT : t->state == JOB_COMPLETED ? DEP_MET : DEP_NEVER;
    case DEP_AFTERNOTOK:
        return !final ? DEP_WAIT : t->state != JOB_COMPLETED ? DEP_MET : DEP_NEVER;
    }
    return DEP_NEVER;
}

/* A dependency on an array's id is on every task of the array, from the
 * counts its first task keeps: 'after' once all started, 'afterany' once
 * all ended, 'afterok' never once one failed, 'afternotok' once all ended
 * and one failed (as SLURM). */
static enum dep_state dep_state(sched *s, const depend *d)
{
    const job *t = sched_job(s, d->job_id);
    if (!t)
        return DEP_NEVER;
    if (t->spec->array_job_id != t->id)
        return dep_on(t, d->type);
    uint32_t n = t->spec->array_task_count;
    switch (d->type) {
    case DEP_AFTER:
        return t->array_started >= n ? DEP_MET : DEP_WAIT;
    case DEP_AFTERANY:
        return t->array_done >= n ? DEP_MET : DEP_WAIT;
    case DEP_AFTEROK:
        return t->array_failed ? DEP_NEVER : t->array_done >= n ? DEP_MET : DEP_WAIT;
    case DEP_AFTERNOTOK:
        return t->array_done < n ? DEP_WAIT : t->array_failed ? DEP_MET : DEP_NEVER;
    }
    return DEP_NEVER;
}

void queue_job_started(sched *s, job *j)
{
    job *head = array_head(s, j);
    if (head)
        head->array_started++;
}

void queue_count_arrays(sched *s)
{
    for (size_t i = 0; i < s->njobs; i++) {
        job *j = s->jobs[i], *head = j ? array_head(s, j) : NULL;
        if (!head)
            continue;
        bool final = job_state_final(j->state);
        head->array_started += j->start_ms || final;
        head->array_done += final;
        head->array_failed += final && j->state != JOB_COMPLETED;
    }
}

static enum dep_state deps_state(sched *s, const job *j)
{
    const char *text = j->spec->dependency;
    if (!text || !text[0])
        return DEP_MET;
    depend deps[DEPEND_MAX];
    char err[256];
    int n = depend_parse(text, deps, err, sizeof err);
    if (n < 0)
        return DEP_NEVER;
    enum dep_state all = DEP_MET;
    for (int i = 0; i < n && all != DEP_NEVER; i++) {
        enum dep_state st = dep_state(s, &deps[i]);
        if (st != DEP_MET)
            all = st;
    }
    return all;
}

int queue_deps_valid(sched *s, const char *dep, char *err, size_t errlen)
{
    depend deps[DEPEND_MAX];
    int n = depend_parse(dep, deps, err, errlen);
    for (int i = 0; i < n; i++)
        if (!sched_job(s, deps[i].job_id)) {
            snprintf(err, errlen, "--dependency %s: job %llu does not exist", dep,
                     (unsigned long long)deps[i].job_id);
            return -1;
        }
    return n < 0 ? -1 : 0;
}

/* ---- the queues ---- */

/* Puts j where it belongs now: held or in its user's queue. */
static void queue_sort(sched *s, job *j)
{
    enum dep_state d = deps_state(s, j);
    if (d != DEP_MET) {
        j->hold = HOLD_DEPENDENCY;
        snprintf(j->reason, sizeof j->reason, "%s",
                 d == DEP_NEVER ? "DependencyNeverSatisfied" : "Dependency");
        job_list_insert(&s->held, j, true);
        return;
    }
    if (!array_let_out(s, j)) {
        j->hold = HOLD_ARRAY;
        snprintf(j->reason, sizeof j->reason, "JobArrayTaskLimit");
        return;
    }
    j->hold = HOLD_NONE;
    if (!j->acct)
        j->acct = account_get(s, j->spec->user);
    if (j->acct)
        job_list_insert(&j->acct->queue, j, true);
}

void queue_add(sched *s, job *j)
{
    sched_queue_pending(s, j);
    j->est_start_ms = 0;
    queue_sort(s, j);
}

void queue_remove(sched *s, job *j)
{
    job_list_remove(&s->pending, j);
    if (j->hold == HOLD_DEPENDENCY)
        job_list_unlink(&s->held, j, true);
    else if (j->hold == HOLD_NONE && j->acct) {
        if (j->acct->cursor == j)
            j->acct->cursor = j->unext;
        job_list_unlink(&j->acct->queue, j, true);
    }
    j->hold = HOLD_NONE;
    j->est_start_ms = 0;
}

void queue_note_running(sched *s, job *j)
{
    job *head = array_head(s, j);
    if (head && !j->array_out) {
        j->array_out = true;
        head->array_running++;
    }
}

void queue_job_final(sched *s, job *j)
{
    s->deps_dirty = true;
    job *head = array_head(s, j);
    if (head) {
        head->array_started += !j->start_ms;   /* ended before it ever ran */
        head->array_done++;
        head->array_failed += j->state != JOB_COMPLETED;
    }
    if (!head || !j->array_out)
        return;
    j->array_out = false;
    if (head->array_running)
        head->array_running--;
    /* Let out the next held task (tasks have consecutive ids from the head). */
    for (; head->array_scan < head->spec->array_task_count; head->array_scan++) {
        job *t = sched_job(s, head->id + head->array_scan);
        if (!t || t->spec->array_job_id != head->id)
            break;
        if (t->state == JOB_PENDING && t->hold == HOLD_ARRAY) {
            queue_sort(s, t);
            if (t->hold == HOLD_ARRAY)
                break;
            s->dirty = true;
        }
        if (head->array_running >= head->spec->array_limit && head->spec->array_limit)
            break;
    }
}

void queue_check_deps(sched *s)
{
    s->deps_dirty = false;
    /* The tasks of an array share their dependency: one check serves them. */
    const job *last = NULL;
    enum dep_state d = DEP_WAIT;
    for (job *j = s->held.head, *next; j; j = next) {
        next = j->unext;
        if (!last || !j->spec->array_job_id || j->spec->array_job_id != last->spec->array_job_id)
            d = deps_state(s, j);
        last = j;
        if (d == DEP_WAIT)
            continue;
        if (d == DEP_NEVER) {
            snprintf(j->reason, sizeof j->reason, "DependencyNeverSatisfied");
            continue;
        }
        job_list_unlink(&s->held, j, true);
        queue_sort(s, j);
        s->dirty = true;
    }
}

void queue_pass_begin(sched *s)
{
    for (size_t i = 0; i < s->naccts; i++)
        s->accts[i]->cursor = s->accts[i]->queue.head;
}

job *queue_pass_next(sched *s)
{
    int64_t now = clock_wall_ms();
    account *best = NULL;
    double best_usage = 0;
    for (size_t i = 0; i < s->naccts; i++) {
        account *a = s->accts[i];
        job *j = a->cursor;
        if (!j)
            continue;
        double usage = account_usage(a, now, s->opt.fairshare_halflife_s);
        if (best) {
            const job *b = best->cursor;
            if (j->spec->priority != b->spec->priority) {
                if (j->spec->priority < b->spec->priority)
                    continue;
            } else if (usage != best_usage) {
                if (usage > best_usage)
                    continue;
            } else if (a->running != best->running) {
                if (a->running > best->running)
                    continue;
            } else if (j->id > b->id) {
                continue;
            }
        }
        best = a;
        best_usage = usage;
    }
    if (!best)
        return NULL;
    job *j = best->cursor;
    best->cursor = j->unext;
    return j;
}
