/* What each attempt of a job used and cost (cost.c): node-hours from its
 * placement and times, priced per node at what the node's price label said
 * when the attempt was placed; the uid/gid it ran as and its checkpoints,
 * from the audit. Read from the database, for 'tern show'. */
#ifndef TERN_SCHED_COST_H
#define TERN_SCHED_COST_H

#include <stddef.h>

#include "scheduler/sched.h"

/* Every attempt of j, oldest first. Sets *out to an array (the caller
 * frees it with free()) of *n pointers into storage that the returned
 * handle owns, freed with attempts_info_free(handle, *n). Returns NULL
 * with *out NULL and *n 0 when there are none, reading failed or memory
 * ran out. */
void *attempts_info(sched *s, const job *j, Tern__AttemptInfo ***out, size_t *n);
/* Frees what attempts_info returned (n as it set *n); accepts NULL. */
void attempts_info_free(void *handle, size_t n);

#endif
