/* Starting one rank process (worker/spawn.h). A root worker's child
 * becomes the job's user (worker/runas.h) before it changes to the job's
 * directory and execs; it has the umask of the shell that submitted the
 * job. */
#include "worker/spawn.h"

#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

int spawn_resolve(const char *cmd, const char *path, const char *cwd, char *out, size_t len)
{
    if (strchr(cmd, '/')) {
        if (fs_absolute(cwd, cmd, out, len) < 0)
            return -1;
        return faccessat(AT_FDCWD, out, X_OK, AT_EACCESS);
    }
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int first_err = ENOENT;
    for (const char *p = path;; ) {
        const char *colon = strchrnul(p, ':');
        size_t dl = (size_t)(colon - p);
        int n = dl ? snprintf(out, len, "%.*s/%s", (int)dl, p, cmd)
                   : snprintf(out, len, "%s/%s", cwd, cmd);
        struct stat st;
        if (n > 0 && (size_t)n < len && stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
            if (faccessat(AT_FDCWD, out, X_OK, AT_EACCESS) == 0)
                return 0;
            first_err = errno;
        }
        if (!*colon)
            break;
        p = colon + 1;
    }
    errno = first_err;
    return -1;
}

void spawn_failed(rank_proc *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    r->running = false;
    r->exit_code = code;
}

/* What the child could not do, through its error pipe. */
typedef struct child_error {
    int step;                      /* enum runas_step; RUNAS_OK: chdir, binding or exec */
    int err;                       /* errno; 0 for a failed identity check */
} child_error;

/* The child: system calls only, then exec. It starts with the launching
 * thread's filesystem identity (the user's, under runas_fs_enter) and
 * becomes the user for good, alone: the worker's threads keep theirs.
 * Reports a failure through 'errfd' (close-on-exec: EOF means exec
 * succeeded). */
static _Noreturn void child(const spawn *sp, pid_t parent, int errfd)
{
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(sp->out_fd, 1);
    dup2(sp->err_fd, 2);
    /* Nothing but 0, 1 and 2 reaches the rank, whatever the worker inherited. */
    close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    /* (vfork shares memory, not the file-system context: this umask is
     * the child's alone) */
    umask(sp->umask);
    child_error ce = { RUNAS_OK, 0 };
    ce.step = (int)runas_become(sp->ra, &ce.err);
    if (ce.step != RUNAS_OK)
        goto fail;
    /* After the identity: changing it clears the parent-death signal. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(EXIT_CANNOT_RUN);
    /* The job's directory with the user's permissions, then the command. */
    if (chdir(sp->cwd) < 0)
        ce.err = errno;
    else if (sp->bind && sched_setaffinity(0, sizeof sp->cpus, &sp->cpus) < 0)
        ce.err = errno;
    if (!ce.err) {
        execve(sp->exe, sp->argv, sp->env);
        ce.err = errno;
    }
fail:
    if (write(errfd, &ce, sizeof ce) < 0)
        _exit(EXIT_CANNOT_RUN);
    _exit(ce.step == RUNAS_OK && ce.err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN);
}

void spawn_rank(rank_proc *r, const spawn *sp)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        spawn_failed(r, EXIT_CANNOT_RUN, "pipe: %s", strerror(errno));
        return;
    }
    pid_t parent = getpid();
    /* vfork: no copy of the worker's page tables, so a launch costs the same
     * however large the worker grows. The child only makes system calls on
     * its own copies of the descriptor table and working directory, then
     * execs or _exits; it never returns into this frame. */
    pid_t pid = vfork();
    if (pid == 0) {
        close(pfd[0]);
        child(sp, parent, pfd[1]);
    }
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        spawn_failed(r, EXIT_CANNOT_RUN, "fork: %s", strerror(errno));
        return;
    }
    setpgid(pid, pid);   /* also here, so a kill right away finds the group */
    r->pid = pid;
    r->running = true;
    child_error ce;
    ssize_t n;
    while ((n = read(pfd[0], &ce, sizeof ce)) < 0 && errno == EINTR)
        ;
    close(pfd[0]);
    /* The child exits; the reaper reports it. */
    if (n == sizeof ce && ce.step != RUNAS_OK)
        snprintf(r->message, sizeof r->message, "cannot run as user '%s' (uid %u, gid %u): %s%s%s",
                 sp->ra->name, (unsigned)sp->ra->uid, (unsigned)sp->ra->gid,
                 runas_step_name((enum runas_step)ce.step), ce.err ? ": " : "",
                 ce.err ? strerror(ce.err) : "");
    else if (n == sizeof ce)
        snprintf(r->message, sizeof r->message, "cannot run %s in %s: %s", sp->exe, sp->cwd,
                 strerror(ce.err));
}
