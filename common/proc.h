/* Process helpers for daemons and the local cluster. */
#ifndef TERN_PROC_H
#define TERN_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads /proc/PID/stat into buf and returns the fields after the command
 * name, starting with the state ("S 1 1234 ..."), or NULL when there is no
 * such process. */
const char *proc_stat(pid_t pid, char *buf, size_t len);

/* True when 'pid' exists and is not a zombie. */
bool proc_alive(pid_t pid);

/* True when 'pid' is alive and its executable's base name is 'name'
 * (guards against signalling a recycled pid). */
bool proc_is(pid_t pid, const char *name);

/* Waits up to 'timeout_ms' for 'pid' to be gone. Returns 0 when gone, -1 if not. */
int proc_wait_gone(pid_t pid, int timeout_ms);

/* Starts 'argv' detached (new session, stdin from /dev/null, stdout and
 * stderr appended to 'logfile'). Returns its pid, or -1 with errno set. */
pid_t proc_spawn_daemon(char *const argv[], const char *logfile);

#endif
