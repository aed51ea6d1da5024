/* What a crashed worker leaves behind. Ranks die with their worker
 * (PR_SET_PDEATHSIG), but that reaches only the rank process itself: its
 * children (a script's python, data loader workers) are orphaned. They all
 * carry the rank environment, so a new worker of the same node (same name,
 * same scheduler) finds them by TERN_WORKER_ID and kills their process
 * groups before placing anything on the node again. */
#include "worker/orphans.h"

#include "common/fsutil.h"
#include "common/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* True when /proc/PID/environ holds TERN_WORKER_ID=id. */
static bool launched_by(pid_t pid, const char *id)
{
    char path[64], *env;
    size_t len;
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    if (fs_read_all(path, 1 << 22, &env, &len) < 0)
        return false;
    size_t il = strlen(id);
    bool found = false;
    for (size_t i = 0; i < len && !found; i += strlen(env + i) + 1)
        found = strncmp(env + i, "TERN_WORKER_ID=", 15) == 0 && strlen(env + i) == 15 + il &&
                memcmp(env + i + 15, id, il) == 0;
    free(env);
    return found;
}

static pid_t parent_of(pid_t pid)
{
    char buf[512];
    const char *fields = proc_stat(pid, buf, sizeof buf);
    int ppid = 0;
    return fields && sscanf(fields, "%*c %d", &ppid) == 1 ? (pid_t)ppid : 0;
}

/* True for this process and those it descends from (a worker may itself
 * run inside a job, with that job's environment). */
static bool is_ancestor(pid_t pid)
{
    for (pid_t p = getpid(); p > 1; p = parent_of(p))
        if (p == pid)
            return true;
    return false;
}

int worker_kill_orphans(const char *id)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t self = getpid();
    int killed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid == self || !launched_by(pid, id) || is_ancestor(pid))
            continue;
        pid_t pgid = getpgid(pid);
        if (pgid > 1 && pgid != getpgrp() && !is_ancestor(pgid))
            kill(-pgid, SIGKILL);
        kill(pid, SIGKILL);
        killed++;
    }
    closedir(d);
    return killed;
}
