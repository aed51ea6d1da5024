/* Launching ranks: fork/exec with the rank environment, in a process group
 * of their own, bound to processors near their GPUs, stdout and stderr to
 * the job's files.
 *
 * Everything the child needs is prepared before vfork: the worker has ZeroMQ
 * threads, and the child shares its memory, so between vfork and exec the
 * child only makes system calls.
 *
 * A root worker runs a job's ranks as the job's user (worker/runas.h): what
 * it creates for the job (the job directory's contents, output files and
 * their directories) it creates as that user, and the child becomes the
 * user before it changes to the job's directory and execs. Every process
 * it starts has the umask of the shell that submitted the job. */
#include "worker/worker.h"

#include "common/fsutil.h"
#include "common/jobspec.h"
#include "common/log.h"
#include "common/pattern.h"
#include "worker/jobfiles.h"
#include "worker/masterport.h"
#include "worker/rankenv.h"
#include "worker/runas.h"

#include <errno.h>
#include <fcntl.h>
#include <hwloc/glibc-sched.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127

/* Finds 'cmd' as execvp would, with the job's PATH and working directory,
 * checking execute permission as the thread's filesystem identity (the
 * job's user, under runas_fs_enter). Returns 0 with the path in 'out', or
 * -1 with errno. */
static int resolve_command(const char *cmd, const char *path, const char *cwd, char *out,
                           size_t len)
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

static void join_u32(char *buf, size_t len, const uint32_t *v, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%u", i ? "," : "", v[i]);
}

static void rank_failed(rank_proc *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void rank_failed(rank_proc *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    r->running = false;
    r->exit_code = code;
}

typedef struct spawn {
    const runas *ra;
    const char *exe;
    char **argv;
    char **env;
    const char *cwd;
    int out_fd, err_fd;
    mode_t umask;                  /* the job's */
    bool bind;
    cpu_set_t cpus;
} spawn;

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

static void spawn_rank(worker *w, rank_proc *r, spawn *sp)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        rank_failed(r, EXIT_CANNOT_RUN, "pipe: %s", strerror(errno));
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
        rank_failed(r, EXIT_CANNOT_RUN, "fork: %s", strerror(errno));
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
    (void)w;
}

/* The GPUs (positions in the node's list) a rank binds near: its share of
 * the node's GPUs, or one of them when ranks outnumber GPUs. */
static size_t rank_gpus(const Tern__Launch *l, uint32_t local, uint32_t tpn, uint32_t *out)
{
    size_t ng = l->n_gpus, n = 0;
    if (ng == 0)
        return 0;
    if (ng >= tpn) {
        for (size_t g = local * ng / tpn; g < (local + 1) * ng / tpn; g++)
            out[n++] = l->gpus[g];
    } else {
        out[n++] = l->gpus[local * ng / tpn];
    }
    return n;
}

/* For a batch script and its steps: ternd's client endpoint as this node
 * reaches it (the worker endpoint's host, the client port), and the
 * directory of tern's srun and scontrol (beside this program's lib/). */
static void batch_paths(const worker *w, uint32_t client_port, char *client, size_t clen,
                        char *shims, size_t slen)
{
    const char *ep = w->opt.scheduler ? w->opt.scheduler : "";
    const char *colon = strrchr(ep, ':');
    if (client_port && colon)
        snprintf(client, clen, "%.*s:%u", (int)(colon - ep), ep, client_port);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        snprintf(shims, slen, "%s/../lib/tern/slurm", dirname(self));
    }
}

/* --launcher mpi: Open MPI's mpirun over the job's nodes (a hostfile with
 * their slots), its daemons started on each node through tern (tern-rsh as
 * the launch agent: no ssh), then the job's command. Returns the argv (its
 * strings in *words; both freed by the caller), or NULL with *err. */
static char **mpirun_argv(const Tern__Launch *l, const char *shims, char **words,
                          const char **err)
{
    const Tern__JobSpec *sp = l->spec;
    char hostfile[4200];
    snprintf(hostfile, sizeof hostfile, "%s/hostfile.%u", l->job_dir, l->attempt);
    size_t len = 1;
    for (size_t i = 0; i < l->n_node_names; i++)
        len += strlen(l->node_names[i]) + 32;
    char *hosts = malloc(len);
    if (!hosts) {
        *err = "out of memory";
        return NULL;
    }
    for (size_t i = 0, o = 0; i < l->n_node_names; i++)
        o += (size_t)snprintf(hosts + o, len - o, "%s slots=%u\n", l->node_names[i],
                              sp->tasks_per_node);
    int rc = fs_write_atomic(hostfile, hosts, strlen(hosts), JOB_FILE_MODE & ~jobspec_umask(sp));
    free(hosts);
    if (rc < 0) {
        *err = "cannot write the MPI hostfile";
        return NULL;
    }
    /* The fixed words, packed into one buffer the argv points into. */
    char np[16], ppr[32], agent[4300];
    snprintf(np, sizeof np, "%u", jobspec_world_size(sp));
    snprintf(ppr, sizeof ppr, "ppr:%u:node", sp->tasks_per_node);
    snprintf(agent, sizeof agent, "%s/tern-rsh", shims);
    const char *fixed[] = { "mpirun", "--hostfile", hostfile, "-np", np, "--map-by", ppr,
                            "--mca", "plm", "rsh", "--mca", "plm_rsh_agent", agent,
                            "--mca", "plm_rsh_no_tree_spawn", "1" };
    enum { NFIXED = sizeof fixed / sizeof fixed[0] };
    size_t total = 0;
    for (size_t i = 0; i < NFIXED; i++)
        total += strlen(fixed[i]) + 1;
    char **argv = calloc(NFIXED + sp->n_argv + 1, sizeof *argv);
    char *buf = malloc(total);
    if (!argv || !buf) {
        free(argv);
        free(buf);
        *err = "out of memory";
        return NULL;
    }
    for (size_t i = 0, o = 0; i < NFIXED; i++) {
        argv[i] = buf + o;
        o += (size_t)sprintf(buf + o, "%s", fixed[i]) + 1;
    }
    memcpy(argv + NFIXED, sp->argv, sp->n_argv * sizeof *argv);
    *words = buf;
    return argv;
}

static hwloc_bitmap_t busy_cpus(const worker *w)
{
    hwloc_bitmap_t busy = hwloc_bitmap_alloc();
    for (const wattempt *a = w->attempts; a && busy; a = a->next)
        for (uint32_t i = 0; i < a->nranks; i++)
            if (a->ranks[i].running && a->ranks[i].cpus)
                hwloc_bitmap_or(busy, busy, a->ranks[i].cpus);
    return busy;
}

static const char *check_launch(const worker *w, const Tern__Launch *l, char *err, size_t len)
{
    if (jobspec_validate(l->spec, err, len) < 0)
        return err;
    if (l->nnodes != l->spec->nodes || l->node_rank >= l->nnodes ||
        l->n_node_names != l->nnodes)
        return "inconsistent node counts";
    if (!l->job_dir || l->job_dir[0] != '/')
        return "job directory must be absolute";
    if (!l->master_addr || !l->master_addr[0] || l->master_port == 0 || l->master_port > 65535)
        return "bad master address";
    if (l->port_lo && (l->port_lo > l->port_hi || l->port_hi > 65535))
        return "bad master port range";
    if (l->n_gpus > 64)
        return "more than 64 GPUs";
    for (size_t i = 0; i < l->n_gpus; i++)
        if (l->gpus[i] >= topo_ngpus(w->topo))
            return "GPU not on this node";
    return NULL;
}

void worker_launch(worker *w, const Tern__Launch *l)
{
    if (worker_attempt(w, l->job_id, l->attempt, l->step))
        return;
    char err[512];
    const char *bad = check_launch(w, l, err, sizeof err);
    if (bad && !(l->spec && l->spec->tasks_per_node >= 1 &&
                 l->spec->tasks_per_node <= JOBSPEC_MAX_TASKS_PER_NODE)) {
        log_err("job=%llu attempt=%u: launch refused: %s", (unsigned long long)l->job_id,
                l->attempt, bad);
        return;
    }
    /* Fencing: an earlier attempt of the job still running here is one
     * the scheduler has moved on from. */
    for (wattempt *old = w->attempts; old; old = old->next)
        if (old->job_id == l->job_id && old->attempt < l->attempt && worker_attempt_running(old)) {
            log_warn("job=%llu: attempt %u launched, killing attempt %u still here",
                     (unsigned long long)l->job_id, l->attempt, old->attempt);
            worker_kill(w, old, SIGKILL, 0);
        }
    const Tern__JobSpec *spec = l->spec;
    uint32_t tpn = spec->tasks_per_node;
    /* A batch script (or mpirun, for --launcher mpi) runs once, on the
     * first node; its srun (mpirun's daemons) start steps. */
    bool batch = jobspec_one_process(spec) && l->step == 0;
    uint32_t nranks = batch ? (l->node_rank == 0) : tpn;
    wattempt *a = calloc(1, sizeof *a);
    rank_proc *ranks = calloc(tpn, sizeof *ranks);
    if (!a || !ranks) {
        free(a);
        free(ranks);
        log_err("job=%llu: out of memory launching", (unsigned long long)l->job_id);
        return;
    }
    a->job_id = l->job_id;
    a->attempt = l->attempt;
    a->step = l->step;
    a->preempt_signal = spec->preempt_signal ? spec->preempt_signal : SIGUSR1;
    a->nranks = nranks;
    a->ranks = ranks;
    a->one_process = batch;
    a->next = w->attempts;
    w->attempts = a;
    for (uint32_t i = 0; i < nranks; i++) {
        ranks[i].rank = l->node_rank * tpn + i;
        ranks[i].cpus = hwloc_bitmap_alloc();
    }
    /* Who the ranks run as: refused here, the launch fails on every node.
     * The attempt keeps it, to read its files as the user. */
    runas *ra = &a->ra;
    char who[512];
    if (!bad && runas_resolve(ra, spec, l->job_id, w->opt.name, who, sizeof who) < 0) {
        bad = who;
        log_warn("job=%llu attempt=%u node=%s: launch refused: %s", (unsigned long long)l->job_id,
                 l->attempt, w->opt.name, bad);
    }
    /* Node rank 0 makes sure its MASTER_PORT is free; the other nodes
     * take the one it used from ternd. */
    char port_err[256];
    uint32_t port = bad ? l->master_port
                        : masterport_for_launch(l, w->opt.name, port_err, sizeof port_err);
    if (!port)
        bad = port_err;
    if (bad) {
        for (uint32_t i = 0; i < nranks; i++) {
            rank_failed(&ranks[i], EXIT_CANNOT_RUN, "launch refused: %s", bad);
            worker_report_exit(w, a, &ranks[i]);
        }
        return;
    }
    /* Node rank 0's Started, as soon as the port and the user are settled:
     * ternd launches the other nodes with its port (while these ranks
     * start), and records the uid and gid. A launch refused above sends
     * its RankExits alone; a rank that fails to start from here on fails
     * the attempt as before, on every node. */
    if (l->node_rank == 0)
        worker_report_started(w, a, l->node_rank, port);
    if (l->step == 0 && l->node_rank == 0) {
        size_t plen = strlen(l->job_dir) + 32;
        if ((a->progress = malloc(plen)))
            snprintf(a->progress, plen, "%s/progress.%u", l->job_dir, l->attempt);
    }

    char client[600] = "", shims[4200] = "";
    if (batch || l->step)
        batch_paths(w, l->client_port, client, sizeof client, shims, sizeof shims);
    /* The job's directory is the user's (its ranks write their progress,
     * checkpoints and srun's step output there); from here on the worker
     * creates and opens files as the user, so a path the user controls
     * cannot make it write where the user may not. Rank exits are reported
     * after: reporting reads LATEST as the user too. */
    mode_t job_umask = (mode_t)jobspec_umask(spec);
    char exe[4096], script[4200], ckpt[4200], gpus[512];
    const char *setup_err = NULL;
    if (jobfiles_make_dir(ra, l->job_dir, job_umask) < 0)
        setup_err = "cannot create the job directory";
    else if (runas_fs_enter(ra) < 0)
        setup_err = "cannot take the job's user's file identity";
    snprintf(script, sizeof script, "%s/script", l->job_dir);
    if (!setup_err && spec->script.len &&
        fs_write_atomic(script, spec->script.data, spec->script.len,
                        JOB_SCRIPT_MODE & ~job_umask) < 0)
        setup_err = "cannot write the job script";
    if (spec->checkpoint_dir && spec->checkpoint_dir[0])
        snprintf(ckpt, sizeof ckpt, "%s", spec->checkpoint_dir);
    else
        snprintf(ckpt, sizeof ckpt, "%s/checkpoints", l->job_dir);
    if (l->step == 0 && l->node_rank == 0) {
        size_t plen = strlen(ckpt) + 8;
        if ((a->latest = malloc(plen)))
            snprintf(a->latest, plen, "%s/LATEST", ckpt);
    }
    uint32_t phys[64];
    for (size_t i = 0; i < l->n_gpus && i < 64; i++)
        phys[i] = topo_gpu_at(w->topo, l->gpus[i])->index;
    join_u32(gpus, sizeof gpus, phys, l->n_gpus < 64 ? l->n_gpus : 64);
    size_t listlen = 1;
    for (size_t i = 0; i < l->n_node_names; i++)
        listlen += strlen(l->node_names[i]) + 1;
    char *nodelist = malloc(listlen);
    if (!nodelist)
        setup_err = "out of memory";
    else
        nodelist[0] = '\0';
    for (size_t i = 0, o = 0; nodelist && i < l->n_node_names; i++)
        o += (size_t)snprintf(nodelist + o, listlen - o, "%s%s", i ? "," : "",
                              l->node_names[i]);

    char **argv = NULL;
    char *mpi_words = NULL;
    if (batch && jobspec_mpi(spec) && !setup_err)
        argv = mpirun_argv(l, shims, &mpi_words, &setup_err);
    else if ((argv = calloc(spec->n_argv + 1, sizeof *argv)))
        memcpy(argv, spec->argv, spec->n_argv * sizeof *argv);
    if (!argv && !setup_err)
        setup_err = "out of memory";
    if (argv && spec->script.len)
        argv[0] = script;
    bool unbound = batch || (l->step && jobspec_mpi(spec));
    hwloc_bitmap_t busy = busy_cpus(w);
    char cpulist[1024];
    for (uint32_t i = 0; i < nranks; i++) {
        rank_proc *r = &ranks[i];
        if (setup_err || !busy) {
            rank_failed(r, EXIT_CANNOT_RUN, "%s: %s", setup_err ? setup_err : "out of memory",
                        strerror(errno));
            continue;
        }
        uint32_t mine[64];
        size_t nmine = rank_gpus(l, i, tpn, mine);
        /* A batch script, mpirun and Open MPI's daemons stay unbound: what
         * they start (steps, MPI ranks) must not inherit one CPU. */
        if (!unbound &&
            topo_pick_cpus(w->topo, mine, nmine, spec->cpus_per_task, busy, r->cpus) == 0)
            hwloc_bitmap_or(busy, busy, r->cpus);
        topo_cpulist(r->cpus, cpulist, sizeof cpulist);

        rankenv_in ein = {
            .spec = spec, .job_id = l->job_id, .attempt = l->attempt, .rank = r->rank,
            .local_rank = i, .node_rank = l->node_rank, .nnodes = l->nnodes,
            .master_addr = l->master_addr, .master_port = port, .gpus = gpus,
            .cpus = cpulist, .node_name = w->opt.name, .nodelist = nodelist,
            .checkpoint_dir = ckpt, .worker_id = w->opt.id, .hints = w->rank_hints,
            .step = l->step, .scheduler = client, .slurm_shims = shims, .job_dir = l->job_dir,
            .progress = r->rank == 0 ? a->progress : NULL, .user = ra->name,
            .job_key = l->job_key, .server_key = w->server_pub,
        };
        char **env = rankenv_build(&ein);
        pattern_vars vars = { l->job_id, r->rank, l->node_rank, w->opt.name, spec->name };
        const pattern_array task = { spec->array_job_id, spec->array_task_id };
        const pattern_array *array = spec->array_job_id ? &task : NULL;
        char outpath[4096], errpath[4096];
        int out_fd = -1, err_fd = -1;
        if (!env) {
            rank_failed(r, EXIT_CANNOT_RUN, "out of memory");
        } else if ((out_fd = jobfiles_open_output(spec->stdout_pattern, &vars, array, job_umask,
                                          outpath, sizeof outpath)) < 0) {
            rank_failed(r, EXIT_CANNOT_RUN, "cannot open output %s: %s", spec->stdout_pattern,
                        strerror(errno));
        } else if (spec->stderr_pattern && spec->stderr_pattern[0] &&
                   (err_fd = jobfiles_open_output(spec->stderr_pattern, &vars, array, job_umask,
                                         errpath, sizeof errpath)) < 0) {
            rank_failed(r, EXIT_CANNOT_RUN, "cannot open error output %s: %s",
                        spec->stderr_pattern, strerror(errno));
        } else if (resolve_command(argv[0], rankenv_get(env, "PATH"), spec->cwd, exe,
                                   sizeof exe) < 0) {
            int e = errno;
            rank_failed(r, e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN,
                        "cannot run '%s': %s", argv[0],
                        e == ENOENT ? "command not found" : strerror(e));
        } else {
            spawn sp = { .ra = ra, .exe = exe, .argv = argv, .env = env, .cwd = spec->cwd,
                         .out_fd = out_fd, .err_fd = err_fd >= 0 ? err_fd : out_fd,
                         .umask = job_umask, .bind = topo_is_this_system(w->topo) && !unbound };
            CPU_ZERO(&sp.cpus);
            if (sp.bind)
                hwloc_cpuset_to_glibc_sched_affinity(topo_hwloc(w->topo), r->cpus, &sp.cpus,
                                                     sizeof sp.cpus);
            spawn_rank(w, r, &sp);
        }
        if (out_fd >= 0)
            close(out_fd);
        if (err_fd >= 0)
            close(err_fd);
        if (r->message[0]) {
            if (out_fd >= 0) {   /* say it where the user looks first too */
                int fd = open(outpath, O_WRONLY | O_APPEND | O_CLOEXEC);
                if (fd >= 0) {
                    dprintf(fd, "tern-worker: %s\n", r->message);
                    close(fd);
                }
            }
            log_warn("job=%llu attempt=%u rank=%u: %s", (unsigned long long)l->job_id,
                     l->attempt, r->rank, r->message);
        }
        rankenv_free(env);
    }
    runas_fs_leave(ra);
    /* The exits of what could not start. */
    for (uint32_t i = 0; i < nranks; i++)
        if (!ranks[i].running)
            worker_report_exit(w, a, &ranks[i]);
    hwloc_bitmap_free(busy);
    free(argv);
    free(mpi_words);
    free(nodelist);
    if (l->step)
        log_info("job=%llu attempt=%u step=%u launched %u tasks (node %u of %u)",
                 (unsigned long long)l->job_id, l->attempt, l->step - 1, nranks, l->node_rank,
                 l->nnodes);
    else
        log_info("job=%llu attempt=%u launched %u %s (node rank %u of %u)",
                 (unsigned long long)l->job_id, l->attempt, nranks,
                 batch ? "batch script" : "ranks", l->node_rank, l->nnodes);
}
