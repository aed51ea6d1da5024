/* Supervision of the ranks on this node: reaping, killing with a grace
 * period, and the per-attempt status the heartbeat carries. */
#include "worker/ranks.h"

#include "common/clock.h"
#include "common/log.h"
#include "worker/report.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

wattempt *worker_attempt(worker *w, uint64_t job_id, uint32_t attempt, uint32_t step)
{
    for (wattempt *a = w->attempts; a; a = a->next)
        if (a->job_id == job_id && a->attempt == attempt && a->step == step)
            return a;
    return NULL;
}

static void signal_ranks(wattempt *a, int sig)
{
    for (uint32_t i = 0; i < a->nranks; i++)
        if (a->ranks[i].running && a->ranks[i].pid > 0)
            kill(-a->ranks[i].pid, sig);
}

void worker_signal(wattempt *a, int sig)
{
    if (sig > 0 && sig <= 64)
        signal_ranks(a, sig);
}

void worker_kill(worker *w, wattempt *a, int sig, uint32_t grace_ms)
{
    int64_t deadline = clock_mono_ms() + grace_ms;
    if (sig <= 0 || sig > 64)
        sig = SIGTERM;
    if (!a->killing || deadline < a->kill_deadline) {
        if (!a->killing)
            log_info("job=%llu attempt=%u: signal %d, SIGKILL in %u ms",
                     (unsigned long long)a->job_id, a->attempt, sig, grace_ms);
        a->killing = true;
        a->kill_deadline = deadline;
    }
    /* SIGCONT first so a stopped rank can act on the signal. */
    signal_ranks(a, sig);
    if (sig != SIGKILL)
        signal_ranks(a, SIGCONT);
    (void)w;
}

void worker_warn(worker *w, wattempt *a, int sig, uint32_t grace_ms)
{
    if (!a->one_process) {
        worker_kill(w, a, sig, grace_ms);
        return;
    }
    int64_t deadline = clock_mono_ms() + grace_ms;
    if (!a->killing || deadline < a->kill_deadline) {
        a->killing = true;
        a->kill_deadline = deadline;
    }
}

int64_t worker_kill_timers(worker *w, int64_t now)
{
    int64_t next = INT32_MAX;
    for (wattempt *a = w->attempts; a; a = a->next) {
        if (!a->killing || !worker_attempt_running(a))
            continue;
        if (now >= a->kill_deadline) {
            signal_ranks(a, SIGKILL);
            a->kill_deadline = now + 1000;   /* again, should one survive */
        }
        if (a->kill_deadline - now < next)
            next = a->kill_deadline - now;
    }
    return next;
}

static rank_proc *find_pid(worker *w, pid_t pid, wattempt **owner)
{
    for (wattempt *a = w->attempts; a; a = a->next)
        for (uint32_t i = 0; i < a->nranks; i++)
            if (a->ranks[i].pid == pid && a->ranks[i].running) {
                *owner = a;
                return &a->ranks[i];
            }
    return NULL;
}

void worker_reap(worker *w)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        wattempt *a;
        rank_proc *r = find_pid(w, pid, &a);
        if (!r)
            continue;
        r->running = false;
        r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        /* Whatever the rank left in its group goes with it. */
        kill(-pid, SIGKILL);
        log_info("job=%llu attempt=%u rank=%u pid=%d exit=%d", (unsigned long long)a->job_id,
                 a->attempt, r->rank, (int)pid, r->exit_code);
        worker_report_exit(w, a, r);
    }
}

static void attempt_free(wattempt *a)
{
    for (uint32_t i = 0; i < a->nranks; i++)
        hwloc_bitmap_free(a->ranks[i].cpus);
    free(a->ranks);
    if (a->progress && runas_fs_enter(&a->ra) == 0) {
        unlink(a->progress);
        runas_fs_leave(&a->ra);
    }
    runas_clear(&a->ra);
    free(a->progress);
    free(a->latest);
    free(a);
}

void worker_forget(worker *w, uint64_t job_id, uint32_t attempt, uint32_t step)
{
    for (wattempt **pp = &w->attempts; *pp; pp = &(*pp)->next) {
        wattempt *a = *pp;
        if (a->job_id != job_id || a->attempt != attempt || a->step != step)
            continue;
        if (worker_attempt_running(a))
            return;
        *pp = a->next;
        attempt_free(a);
        return;
    }
}

void worker_attempts_free(worker *w)
{
    while (w->attempts) {
        wattempt *a = w->attempts;
        w->attempts = a->next;
        attempt_free(a);
    }
}

bool worker_attempt_running(const wattempt *a)
{
    for (uint32_t i = 0; i < a->nranks; i++)
        if (a->ranks[i].running)
            return true;
    return false;
}

size_t worker_running_ranks(const worker *w)
{
    size_t n = 0;
    for (const wattempt *a = w->attempts; a; a = a->next)
        for (uint32_t i = 0; i < a->nranks; i++)
            n += a->ranks[i].running;
    return n;
}

/* The number after 'prefix' at the start of the file 'path' of 'a', or
 * -1. The files are in directories the job's user controls: read as that
 * user (a --checkpoint-dir where the user may not look gives nothing), no
 * waiting on a FIFO, no following a link, nothing but a regular file, a
 * few bytes at most. */
static int64_t read_number(const wattempt *a, const char *path, const char *prefix)
{
    if (!path || runas_fs_enter(&a->ra) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    runas_fs_leave(&a->ra);
    if (fd < 0)
        return -1;
    struct stat st;
    char buf[64];
    ssize_t got = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, buf, sizeof buf - 1) : -1;
    close(fd);
    if (got <= 0)
        return -1;
    buf[got] = '\0';
    size_t pl = strlen(prefix);
    if (strncmp(buf, prefix, pl) != 0)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(buf + pl, &end, 10);
    return errno || end == buf + pl || v < 0 ? -1 : v;
}

int64_t worker_ckpt_step(const wattempt *a)
{
    return read_number(a, a->latest, "step-");
}

/* The step rank 0 last reported, or -1. */
static int64_t read_progress(const wattempt *a)
{
    return read_number(a, a->progress, "");
}

int worker_status(worker *w, Tern__AttemptStatus ***out)
{
    int n = 0;
    for (wattempt *a = w->attempts; a; a = a->next)
        n++;
    Tern__AttemptStatus **st = calloc(n ? (size_t)n : 1, sizeof *st);
    if (!st)
        return -1;
    int k = 0;
    for (wattempt *a = w->attempts; a; a = a->next, k++) {
        /* (no ranks here: a batch job's other nodes until its srun) */
        Tern__AttemptStatus *s = malloc(sizeof *s);
        Tern__RankStatus *rs = a->nranks ? calloc(a->nranks, sizeof *rs) : NULL;
        Tern__RankStatus **rp = a->nranks ? calloc(a->nranks, sizeof *rp) : NULL;
        if (!s || (a->nranks && (!rs || !rp))) {
            free(s);
            free(rs);
            free(rp);
            worker_status_free(st, k);
            return -1;
        }
        tern__attempt_status__init(s);
        s->job_id = a->job_id;
        s->attempt = a->attempt;
        s->step = a->step;
        s->progress = read_progress(a);
        s->ckpt_step = worker_ckpt_step(a);
        s->n_ranks = a->nranks;
        s->ranks = rp;
        for (uint32_t i = 0; i < a->nranks; i++) {
            tern__rank_status__init(&rs[i]);
            rs[i].rank = a->ranks[i].rank;
            rs[i].running = a->ranks[i].running;
            rs[i].exit_code = a->ranks[i].exit_code;
            rs[i].message = a->ranks[i].message;
            rs[i].fenced = a->ranks[i].fenced;
            rp[i] = &rs[i];
        }
        st[k] = s;
    }
    *out = st;
    return n;
}

void worker_status_free(Tern__AttemptStatus **st, int n)
{
    for (int i = 0; st && i < n; i++) {
        if (st[i]->n_ranks)
            free(st[i]->ranks[0]);
        free(st[i]->ranks);
        free(st[i]);
    }
    free(st);
}
