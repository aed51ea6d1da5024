/* The job table, indexed by id, and the lists jobs are kept in (jobs.c).
 *
 * A job lives in s->jobs from its submission (or the load of its row)
 * until sched_jobs_clear; ids are dense from 1, a gap is NULL. A job is in
 * at most one list by its prev/next links (s->pending or s->active) and at
 * most one by its uprev/unext links (its account's queue or s->held). */
#ifndef TERN_SCHED_JOBS_H
#define TERN_SCHED_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "scheduler/sched.h"

/* The job with 'id' (s's), or NULL when there is none: 0, a gap, or past
 * the last. */
job *sched_job(const sched *s, uint64_t id);
/* Adds job 'id' for 'spec', in no list and in no state yet (fields zero;
 * failed_rank, progress and ckpt_step -1). Takes ownership of 'spec' on
 * success. Returns the job, or NULL with errno EEXIST (id 0 or taken) or
 * ENOMEM, 'spec' then still the caller's. */
job *sched_job_add(sched *s, uint64_t id, Tern__JobSpec *spec);
/* Frees every job (specs, placements, steps) and every account, and
 * empties the lists: job and account pointers are stale after. */
void sched_jobs_clear(sched *s);
/* Appends j, in no list by prev/next, to the end of l. */
void job_list_push(job_list *l, job *j);
/* Unlinks j from l, which holds it by prev/next. */
void job_list_remove(job_list *l, job *j);
/* Puts j, in no list by prev/next, into s->pending by priority, then id. */
void sched_queue_pending(sched *s, job *j);
/* Inserts j into l by priority, then id, through the links prev/next or
 * (aux) uprev/unext; j is in no list by those links. */
void job_list_insert(job_list *l, job *j, bool aux);
/* Unlinks j from l, which holds it by prev/next or (aux) uprev/unext. */
void job_list_unlink(job_list *l, job *j, bool aux);
/* Writes j's row (everything but its id, token and spec). Returns 0, or -1
 * logged: the turn's transaction is then doomed (sched_db). */
int sched_job_save(sched *s, job *j);
/* Sets j's state and durable fields from its stored 'row' (strings copied,
 * cut to fit; NULL ones become ""). */
void job_load(job *j, const store_job *row);
/* Fills 'info' with pointers into 'j' (valid while j lives and is
 * unchanged) and into 'spec_copy', the caller's storage for the spec
 * shown: a shallow copy of j's, without environment and script unless
 * 'full'. 'names' (the caller's) must hold placement->n_nodes pointers. */
void job_info_fill(const job *j, Tern__JobInfo *info, Tern__JobSpec *spec_copy, char **names,
                   bool full);
/* What 'tern queue' shows as the reason of j: a pending job's reason of
 * the last scheduling pass ("Priority" before any), else j->reason. The
 * string is j's (or static). */
const char *job_reason(const sched *s, const job *j);

#endif
