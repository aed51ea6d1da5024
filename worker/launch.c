/* Launching the ranks of a Launch on this node (worker/launch.h), step by
 * step: check it, fence earlier attempts, record the attempt, settle who
 * its ranks run as and node rank 0's MASTER_PORT, prepare what every rank
 * shares (the job's directory and script, the node list, the command),
 * then start each rank (its processors, environment and files:
 * worker/launch_rank.c), and report what could not start.
 *
 * A root worker runs a job's ranks as the job's user (worker/runas.h): what
 * it creates for the job (the job directory's contents, output files and
 * their directories) it creates as that user. */
#include "worker/launch.h"
#include "worker/launch_private.h"

#include "common/fsutil.h"
#include "common/jobspec.h"
#include "common/log.h"
#include "worker/jobfiles.h"
#include "worker/masterport.h"
#include "worker/mpirun.h"
#include "worker/ranks.h"
#include "worker/report.h"
#include "worker/runas.h"
#include "worker/spawn.h"

#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void join_u32(char *buf, size_t len, const uint32_t *v, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%u", i ? "," : "", v[i]);
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
    char self[FS_PATH_LEN];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        snprintf(shims, slen, "%s/../lib/tern/slurm", dirname(self));
    }
}

/* ---- the launch: before the ranks ---------------------------------------- */

/* Why this node cannot run 'l' (in 'err' or a constant), or NULL. */
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

/* Whether a launch refused by check_launch still has ranks to report it
 * for: without a usable tasks_per_node it has none. */
static bool has_ranks(const Tern__Launch *l)
{
    return l->spec && l->spec->tasks_per_node >= 1 &&
           l->spec->tasks_per_node <= JOBSPEC_MAX_TASKS_PER_NODE;
}

/* Fencing: an earlier attempt of the job still running here is one the
 * scheduler has moved on from. */
static void fence_earlier(worker *w, const Tern__Launch *l)
{
    for (wattempt *old = w->attempts; old; old = old->next)
        if (old->job_id == l->job_id && old->attempt < l->attempt && worker_attempt_running(old)) {
            log_warn("job=%llu: attempt %u launched, killing attempt %u still here",
                     (unsigned long long)l->job_id, l->attempt, old->attempt);
            worker_kill(w, old, SIGKILL, 0);
        }
}

/* Records the attempt (or step) of 'l', its ranks not started, first in
 * w->attempts. Returns it, or NULL after logging (out of memory). */
static wattempt *attempt_add(worker *w, const Tern__Launch *l)
{
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
        return NULL;
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
    return a;
}

/* Who the ranks run as: refused here, the launch fails on every node.
 * The attempt keeps it, to read its files as the user. Returns NULL, or
 * the reason (in 'who') after logging it. */
static const char *resolve_user(launch_ctx *c, char *who, size_t len)
{
    const Tern__Launch *l = c->l;
    if (runas_resolve(&c->a->ra, c->spec, l->job_id, c->w->opt.name, who, len) == 0)
        return NULL;
    log_warn("job=%llu attempt=%u node=%s: launch refused: %s", (unsigned long long)l->job_id,
             l->attempt, c->w->opt.name, who);
    return who;
}

/* Every rank fails with 'why', and ternd hears of each. */
static void refuse(launch_ctx *c, const char *why)
{
    for (uint32_t i = 0; i < c->a->nranks; i++) {
        spawn_failed(&c->a->ranks[i], EXIT_CANNOT_RUN, "launch refused: %s", why);
        worker_report_exit(c->w, c->a, &c->a->ranks[i]);
    }
}

/* Node rank 0's Started, as soon as the port and the user are settled:
 * ternd launches the other nodes with its port (while these ranks start),
 * and records the uid and gid. A launch refused before sends its RankExits
 * alone; a rank that fails to start from here on fails the attempt as
 * before, on every node. Node rank 0 of the attempt (not a step) also
 * keeps the path of rank 0's progress file. */
static void report_started(launch_ctx *c)
{
    const Tern__Launch *l = c->l;
    if (l->node_rank == 0)
        worker_report_started(c->w, c->a, l->node_rank, c->port);
    if (l->step == 0 && l->node_rank == 0) {
        size_t plen = strlen(l->job_dir) + 32;
        if ((c->a->progress = malloc(plen)))
            snprintf(c->a->progress, plen, "%s/progress.%u", l->job_dir, l->attempt);
    }
}

/* ---- what the ranks share ------------------------------------------------ */

/* The job's directory is the user's (its ranks write their progress,
 * checkpoints and srun's step output there); from here on the worker
 * creates and opens files as the user, so a path the user controls cannot
 * make it write where the user may not. Rank exits are reported after:
 * reporting reads LATEST as the user too. Sets c->script; returns NULL or
 * why no rank can start. */
static const char *job_directory(launch_ctx *c)
{
    const char *setup_err = NULL;
    if (jobfiles_make_dir(&c->a->ra, c->l->job_dir, c->umask) < 0)
        setup_err = "cannot create the job directory";
    else if (runas_fs_enter(&c->a->ra) < 0)
        setup_err = "cannot take the job's user's file identity";
    snprintf(c->script, sizeof c->script, "%s/script", c->l->job_dir);
    if (!setup_err && c->spec->script.len &&
        fs_write_atomic(c->script, c->spec->script.data, c->spec->script.len,
                        JOB_SCRIPT_MODE & ~c->umask) < 0)
        setup_err = "cannot write the job script";
    return setup_err;
}

/* The checkpoint directory, and for node rank 0 of the attempt the path
 * of its LATEST file. */
static void checkpoint_paths(launch_ctx *c)
{
    const Tern__Launch *l = c->l;
    if (c->spec->checkpoint_dir && c->spec->checkpoint_dir[0])
        snprintf(c->ckpt, sizeof c->ckpt, "%s", c->spec->checkpoint_dir);
    else
        snprintf(c->ckpt, sizeof c->ckpt, "%s/checkpoints", l->job_dir);
    if (l->step == 0 && l->node_rank == 0) {
        size_t plen = strlen(c->ckpt) + 8;
        if ((c->a->latest = malloc(plen)))
            snprintf(c->a->latest, plen, "%s/LATEST", c->ckpt);
    }
}

/* CUDA_VISIBLE_DEVICES: the NVML indexes of the launch's GPUs. */
static void gpu_list(launch_ctx *c)
{
    const Tern__Launch *l = c->l;
    uint32_t phys[64];
    for (size_t i = 0; i < l->n_gpus && i < 64; i++)
        phys[i] = topo_gpu_at(c->w->topo, l->gpus[i])->index;
    join_u32(c->gpus, sizeof c->gpus, phys, l->n_gpus < 64 ? l->n_gpus : 64);
}

/* "n1,n2": the launch's nodes, which the caller frees; NULL when out of
 * memory. */
static char *node_list(const Tern__Launch *l)
{
    size_t listlen = 1;
    for (size_t i = 0; i < l->n_node_names; i++)
        listlen += strlen(l->node_names[i]) + 1;
    char *nodelist = malloc(listlen);
    if (!nodelist)
        return NULL;
    nodelist[0] = '\0';
    for (size_t i = 0, o = 0; i < l->n_node_names; i++)
        o += (size_t)snprintf(nodelist + o, listlen - o, "%s%s", i ? "," : "",
                              l->node_names[i]);
    return nodelist;
}

/* The command: mpirun for a --launcher mpi batch, else the job's argv,
 * the script copy first when the job has a script. */
static void command(launch_ctx *c)
{
    const Tern__JobSpec *spec = c->spec;
    if (c->a->one_process && jobspec_mpi(spec) && !c->setup_err)
        c->argv = mpirun_argv(c->l, c->shims, &c->mpi_words, &c->setup_err);
    else if ((c->argv = calloc(spec->n_argv + 1, sizeof *c->argv)))
        memcpy(c->argv, spec->argv, spec->n_argv * sizeof *c->argv);
    if (!c->argv && !c->setup_err)
        c->setup_err = "out of memory";
    if (c->argv && spec->script.len)
        c->argv[0] = c->script;
}

/* What every rank shares; c->setup_err says why none can start. */
static void prepare(launch_ctx *c)
{
    const Tern__Launch *l = c->l;
    bool batch = c->a->one_process;
    if (batch || l->step)
        batch_paths(c->w, l->client_port, c->client, sizeof c->client, c->shims,
                    sizeof c->shims);
    c->umask = (mode_t)jobspec_umask(c->spec);
    c->setup_err = job_directory(c);
    checkpoint_paths(c);
    gpu_list(c);
    if (!(c->nodelist = node_list(l)))
        c->setup_err = "out of memory";
    command(c);
    /* A batch script, mpirun and Open MPI's daemons stay unbound: what
     * they start (steps, MPI ranks) must not inherit one CPU. */
    c->unbound = batch || (l->step && jobspec_mpi(c->spec));
}

/* Back to the worker's file identity, the exits of what could not start,
 * and the launch's log line. */
static void finish(launch_ctx *c)
{
    const Tern__Launch *l = c->l;
    wattempt *a = c->a;
    runas_fs_leave(&a->ra);
    for (uint32_t i = 0; i < a->nranks; i++)
        if (!a->ranks[i].running)
            worker_report_exit(c->w, a, &a->ranks[i]);
    free(c->argv);
    free(c->mpi_words);
    free(c->nodelist);
    if (l->step)
        log_info("job=%llu attempt=%u step=%u launched %u tasks (node %u of %u)",
                 (unsigned long long)l->job_id, l->attempt, l->step - 1, a->nranks,
                 l->node_rank, l->nnodes);
    else
        log_info("job=%llu attempt=%u launched %u %s (node rank %u of %u)",
                 (unsigned long long)l->job_id, l->attempt, a->nranks,
                 a->one_process ? "batch script" : "ranks", l->node_rank, l->nnodes);
}

void worker_launch(worker *w, const Tern__Launch *l)
{
    if (worker_attempt(w, l->job_id, l->attempt, l->step))
        return;
    char err[512], who[512], port_err[256];
    const char *bad = check_launch(w, l, err, sizeof err);
    if (bad && !has_ranks(l)) {
        log_err("job=%llu attempt=%u: launch refused: %s", (unsigned long long)l->job_id,
                l->attempt, bad);
        return;
    }
    fence_earlier(w, l);
    launch_ctx c = { .w = w, .l = l, .spec = l->spec };
    if (!(c.a = attempt_add(w, l)))
        return;
    if (!bad)
        bad = resolve_user(&c, who, sizeof who);
    /* Node rank 0 makes sure its MASTER_PORT is free; the other nodes
     * take the one it used from ternd. */
    if (!bad && !(c.port = masterport_for_launch(l, w->opt.name, port_err, sizeof port_err)))
        bad = port_err;
    if (bad) {
        refuse(&c, bad);
        return;
    }
    report_started(&c);
    prepare(&c);
    launch_start_ranks(&c);
    finish(&c);
}
