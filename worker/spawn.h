/* Starting one rank process: finding its command as execvp would, then
 * vfork and exec in a process group of its own, as the job's user, bound
 * to its processors, stdout and stderr to the job's files.
 *
 * Everything the child needs is prepared before vfork (a spawn): the
 * worker has ZeroMQ threads, and the child shares its memory, so between
 * vfork and exec the child only makes system calls. */
#ifndef TERN_WORKER_SPAWN_H
#define TERN_WORKER_SPAWN_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "worker/runas.h"
#include "worker/worker.h"

/* The exit codes of a rank that could not start, as a shell's. */
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127

/* What a rank's process is started with; borrowed, not freed by spawn_rank. */
typedef struct spawn {
    const runas *ra;               /* who it runs as */
    const char *exe;               /* the command's path (spawn_resolve) */
    char **argv;
    char **env;
    const char *cwd;
    int out_fd, err_fd;            /* its stdout and stderr; the caller closes them */
    mode_t umask;                  /* the job's */
    bool bind;                     /* bind it to 'cpus' */
    cpu_set_t cpus;
} spawn;

/* Records that 'r' did not start: not running, exit code 'code', and the
 * reason, printf-style, in r->message (truncated to fit). */
void spawn_failed(rank_proc *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Finds 'cmd' as execvp would, with the job's PATH ('path', NULL for the
 * default) and working directory, checking execute permission as the
 * thread's filesystem identity (the job's user, under runas_fs_enter).
 * Returns 0 with the path in 'out', or -1 with errno (ENOENT: not found). */
int spawn_resolve(const char *cmd, const char *path, const char *cwd, char *out, size_t len);

/* Starts 'sp' as rank 'r': on success r->pid (its process group too) and
 * r->running are set, and the reaper reports its exit. When the child
 * cannot become the user, change to the directory, bind or exec, it
 * exits 126 (127: exec found no file) and r->message says why; the reaper
 * reports that exit too. When no child could be made (pipe, vfork) 'r' is
 * recorded as failed with 126 (spawn_failed), for the caller to report. */
void spawn_rank(rank_proc *r, const spawn *sp);

#endif
