/* What the worker makes for a job, as the job's user: its directory and
 * its output files, and the modes of everything it makes for the job. */
#ifndef TERN_WORKER_JOBFILES_H
#define TERN_WORKER_JOBFILES_H

#include <stddef.h>
#include <sys/types.h>

#include "common/pattern.h"
#include "worker/runas.h"

/* The modes of what the worker makes for a job (its directory, the -o and
 * -e files and their directories, the script copy, the MPI hostfile),
 * before the job's umask, which is applied on top (and the worker's own,
 * 022 as a rule, after it). SLURM creates output files 0666 & ~umask;
 * tern 0640 & ~umask, so no one but the job's user reads a job's output
 * unless the user's group may: a job's output holds what its programs
 * print, secrets included, and a permissive umask is common. */
#define JOB_DIR_MODE 0750
#define JOB_FILE_MODE 0640
#define JOB_SCRIPT_MODE 0750

/* Creates the job's directory (its parents, ternd's log directory, as
 * usual) unless an earlier launch did, and gives it to its user. Returns
 * 0, or -1 with errno. */
int jobfiles_make_dir(const runas *ra, const char *dir, mode_t mask);

/* Opens (creates, with its directories) the output file of 'pattern', as
 * the thread's filesystem identity: a new file and directory belong to the
 * job's user, with the modes above less 'mask'.
 * Returns the descriptor, or -1 with errno (the path expanded in 'path'). */
int jobfiles_open_output(const char *pattern, const pattern_vars *vars,
                         const pattern_array *array, mode_t mask, char *path, size_t len);

#endif
