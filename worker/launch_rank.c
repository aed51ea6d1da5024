/* Starting each rank of a Launch (worker/launch_private.h): its
 * processors, near its GPUs and clear of the ranks already running, its
 * environment, its output files, then its process (worker/spawn.h). A rank
 * that cannot start says why in its output file and the log. */
#include "worker/launch_private.h"

#include "common/fsutil.h"
#include "common/log.h"
#include "common/pattern.h"
#include "worker/jobfiles.h"
#include "worker/rankenv.h"
#include "worker/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <hwloc/glibc-sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A rank's stdout and stderr. */
typedef struct rank_output {
    int out_fd, err_fd;            /* -1: not open */
    char outpath[FS_PATH_LEN], errpath[FS_PATH_LEN];
} rank_output;

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

/* The processors the running ranks of this node are bound to; NULL when
 * out of memory. */
static hwloc_bitmap_t busy_cpus(const worker *w)
{
    hwloc_bitmap_t busy = hwloc_bitmap_alloc();
    for (const wattempt *a = w->attempts; a && busy; a = a->next)
        for (uint32_t i = 0; i < a->nranks; i++)
            if (a->ranks[i].running && a->ranks[i].cpus)
                hwloc_bitmap_or(busy, busy, a->ranks[i].cpus);
    return busy;
}

/* Local rank i's processors, taken from those not 'busy' (which gains
 * them), as a list in 'cpulist'. */
static void place_rank(launch_ctx *c, uint32_t i, hwloc_bitmap_t busy, char *cpulist,
                       size_t len)
{
    rank_proc *r = &c->a->ranks[i];
    uint32_t mine[64];
    size_t nmine = rank_gpus(c->l, i, c->spec->tasks_per_node, mine);
    if (!c->unbound &&
        topo_pick_cpus(c->w->topo, mine, nmine, c->spec->cpus_per_task, busy, r->cpus) == 0)
        hwloc_bitmap_or(busy, busy, r->cpus);
    topo_cpulist(r->cpus, cpulist, len);
}

/* Local rank i's environment (rankenv_build: rankenv_free it), or NULL. */
static char **rank_env(const launch_ctx *c, uint32_t i, const char *cpulist)
{
    const Tern__Launch *l = c->l;
    const rank_proc *r = &c->a->ranks[i];
    rankenv_in ein = {
        .spec = c->spec, .job_id = l->job_id, .attempt = l->attempt, .rank = r->rank,
        .local_rank = i, .node_rank = l->node_rank, .nnodes = l->nnodes,
        .master_addr = l->master_addr, .master_port = c->port, .gpus = c->gpus,
        .cpus = cpulist, .node_name = c->w->opt.name, .nodelist = c->nodelist,
        .checkpoint_dir = c->ckpt, .worker_id = c->w->opt.id, .hints = c->w->rank_hints,
        .step = l->step, .scheduler = c->client, .slurm_shims = c->shims, .job_dir = l->job_dir,
        .progress = r->rank == 0 ? c->a->progress : NULL, .user = c->a->ra.name,
        .job_key = l->job_key, .server_key = c->w->server_pub,
    };
    return rankenv_build(&ein);
}

/* Opens the rank's -o file and its -e file if any. Returns 0, or -1 with
 * the rank failed. */
static int open_outputs(const launch_ctx *c, rank_proc *r, rank_output *out)
{
    const Tern__JobSpec *spec = c->spec;
    pattern_vars vars = { c->l->job_id, r->rank, c->l->node_rank, c->w->opt.name, spec->name };
    const pattern_array task = { spec->array_job_id, spec->array_task_id };
    const pattern_array *array = spec->array_job_id ? &task : NULL;
    if ((out->out_fd = jobfiles_open_output(spec->stdout_pattern, &vars, array, c->umask,
                                            out->outpath, sizeof out->outpath)) < 0) {
        spawn_failed(r, EXIT_CANNOT_RUN, "cannot open output %s: %s", spec->stdout_pattern,
                     strerror(errno));
        return -1;
    }
    if (spec->stderr_pattern && spec->stderr_pattern[0] &&
        (out->err_fd = jobfiles_open_output(spec->stderr_pattern, &vars, array, c->umask,
                                            out->errpath, sizeof out->errpath)) < 0) {
        spawn_failed(r, EXIT_CANNOT_RUN, "cannot open error output %s: %s",
                     spec->stderr_pattern, strerror(errno));
        return -1;
    }
    return 0;
}

/* Finds the command and starts the rank's process. */
static void exec_rank(const launch_ctx *c, rank_proc *r, char **env, const rank_output *out)
{
    char exe[FS_PATH_LEN];
    if (spawn_resolve(c->argv[0], rankenv_get(env, "PATH"), c->spec->cwd, exe, sizeof exe) < 0) {
        int e = errno;
        spawn_failed(r, e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "cannot run '%s': %s",
                     c->argv[0], e == ENOENT ? "command not found" : strerror(e));
        return;
    }
    spawn sp = { .ra = &c->a->ra, .exe = exe, .argv = c->argv, .env = env, .cwd = c->spec->cwd,
                 .out_fd = out->out_fd, .err_fd = out->err_fd >= 0 ? out->err_fd : out->out_fd,
                 .umask = c->umask, .bind = topo_is_this_system(c->w->topo) && !c->unbound };
    CPU_ZERO(&sp.cpus);
    if (sp.bind)
        hwloc_cpuset_to_glibc_sched_affinity(topo_hwloc(c->w->topo), r->cpus, &sp.cpus,
                                             sizeof sp.cpus);
    spawn_rank(r, &sp);
}

/* Says why the rank did not start in the log, and in its output file
 * ('outpath', NULL when not opened): where the user looks first. */
static void tell_failure(const launch_ctx *c, const rank_proc *r, const char *outpath)
{
    if (outpath) {
        int fd = open(outpath, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd >= 0) {
            dprintf(fd, "tern-worker: %s\n", r->message);
            close(fd);
        }
    }
    log_warn("job=%llu attempt=%u rank=%u: %s", (unsigned long long)c->l->job_id,
             c->l->attempt, r->rank, r->message);
}

/* Local rank i: its processors, environment and files, then its process. */
static void start_rank(launch_ctx *c, uint32_t i, hwloc_bitmap_t busy)
{
    rank_proc *r = &c->a->ranks[i];
    char cpulist[1024];
    place_rank(c, i, busy, cpulist, sizeof cpulist);
    char **env = rank_env(c, i, cpulist);
    rank_output out = { .out_fd = -1, .err_fd = -1 };
    if (!env)
        spawn_failed(r, EXIT_CANNOT_RUN, "out of memory");
    else if (open_outputs(c, r, &out) == 0)
        exec_rank(c, r, env, &out);
    if (out.out_fd >= 0)
        close(out.out_fd);
    if (out.err_fd >= 0)
        close(out.err_fd);
    if (r->message[0])
        tell_failure(c, r, out.out_fd >= 0 ? out.outpath : NULL);
    rankenv_free(env);
}

void launch_start_ranks(launch_ctx *c)
{
    hwloc_bitmap_t busy = busy_cpus(c->w);
    for (uint32_t i = 0; i < c->a->nranks; i++) {
        if (c->setup_err || !busy)
            spawn_failed(&c->a->ranks[i], EXIT_CANNOT_RUN, "%s: %s",
                         c->setup_err ? c->setup_err : "out of memory", strerror(errno));
        else
            start_rank(c, i, busy);
    }
    hwloc_bitmap_free(busy);
}

