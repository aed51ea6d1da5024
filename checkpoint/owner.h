/* The attempt of a job that owns its checkpoint directory (owner.c): a
 * new attempt claims it at open, and a commit of an earlier one is
 * refused. All of it is skipped for a program run outside tern (no job).
 * The functions that can fail return 0, or a TERN_E* code with the reason
 * in 'why' (TERN_EFENCED: a later attempt owns the directory). */
#ifndef TERN_CKPT_OWNER_H
#define TERN_CKPT_OWNER_H

#include <stddef.h>

#include "checkpoint/ckpt.h"

/* Rank 0 at open: makes this attempt the owner, unless a later one is. A
 * directory this attempt may only read is not claimed (and not an error). */
int ckpt_owner_claim(const tern_ckpt *ck, char *why, size_t whylen);
/* Under the lock: 0 while no later attempt owns the directory. */
int ckpt_owner_check(const tern_ckpt *ck, char *why, size_t whylen);
/* Takes the directory's lock (DIR/.lock, flock) and sets *fd for
 * ckpt_owner_unlock; *fd is -1 where the file system has no locks. On
 * failure errno says why too (EROFS, EACCES or EPERM: a directory this
 * process may only read). */
int ckpt_owner_lock(const tern_ckpt *ck, int *fd, char *why, size_t whylen);
/* Releases the lock ckpt_owner_lock took (-1 allowed). */
void ckpt_owner_unlock(int fd);

#endif
