/* Names in a checkpoint directory (layout.c): the steps it holds, and
 * what retention removes. */
#ifndef TERN_CKPT_LAYOUT_H
#define TERN_CKPT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* "step-N" (committed), "step-N.tmp" (being written), "step-N.old" (being
 * replaced): sets the step and which of them and returns 0; -1 for any
 * other name. */
enum { CKPT_COMMITTED, CKPT_TMP, CKPT_OLD };
int ckpt_name_step(const char *name, int64_t *step, int *kind);
/* The committed steps in 'dir', newest first, in *steps (malloc'd, the
 * caller frees) and their count in *n. 0, or -1 with errno. */
int ckpt_list_steps(const char *dir, int64_t **steps, size_t *n);
/* After step 'just' was committed: removes committed steps older than it
 * beyond the newest keep-1. (Leftover .tmp and .old directories are
 * cleared when a run opens the directory: while one runs, another
 * attempt's save may be in flight.) Returns the number of entries it could
 * not remove (each reported on stderr). */
int ckpt_retain(const char *dir, int64_t just, int keep);

#endif
