#include "common/proc.h"

#include "common/clock.h"
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *proc_stat(pid_t pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: the last ')' ends it. */
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' ? rp + 2 : NULL;
}

bool proc_alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    /* Reap it if it is our own child that already exited. */
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid)
        return false;
    char buf[512];
    const char *fields = proc_stat(pid, buf, sizeof buf);
    return fields && fields[0] != 'Z' && fields[0] != 'X';
}

bool proc_is(pid_t pid, const char *name)
{
    if (!proc_alive(pid))
        return false;
    char path[64], exe[FS_PATH_LEN];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n < 0)
        return false;
    exe[n] = '\0';
    const char *base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    return strncmp(base, name, strlen(name)) == 0;
}

int proc_wait_gone(pid_t pid, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    while (proc_alive(pid)) {
        if (clock_mono_ms() >= deadline)
            return -1;
        clock_sleep_ms(10);
    }
    return 0;
}

pid_t proc_spawn_daemon(char *const argv[], const char *logfile)
{
    int logfd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(logfd);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        setsid();
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        execv(argv[0], argv);
        fprintf(stderr, "tern: cannot start %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    return pid;
}
