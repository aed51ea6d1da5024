#include "worker/rankenv.h"

#include "common/jobspec.h"
#include "common/parse.h"
#include "common/strmap.h"
#include "common/grow.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct envb {
    char **v;
    size_t n, cap;
    strmap *index;                 /* key -> position + 1: linear in the variables */
    bool oom;
} envb;

static size_t key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}


/* Sets KEY to a printf-formatted value, replacing an inherited one. */
static void set(envb *b, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set(envb *b, const char *key, const char *fmt, ...)
{
    if (b->oom)
        return;
    char *kv;
    va_list ap;
    va_start(ap, fmt);
    char *val;
    int rc = vasprintf(&val, fmt, ap);
    va_end(ap);
    if (rc < 0 || asprintf(&kv, "%s=%s", key, val) < 0) {
        if (rc >= 0)
            free(val);
        b->oom = true;
        return;
    }
    free(val);
    uintptr_t at = (uintptr_t)strmap_get(b->index, key);
    if (at) {
        free(b->v[at - 1]);
        b->v[at - 1] = kv;
        return;
    }
    char **nv = grow(b->v, &b->cap, b->n + 2, sizeof *nv, 128);
    if (!nv) {
        free(kv);
        b->oom = true;
        return;
    }
    b->v = nv;
    b->v[b->n++] = kv;
    b->v[b->n] = NULL;
    if (strmap_put(b->index, key, (void *)(uintptr_t)b->n) < 0)
        b->oom = true;
}

static void inherit(envb *b, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return;
    char key[256];
    size_t kl = (size_t)(eq - kv);
    if (kl >= sizeof key)
        return;
    memcpy(key, kv, kl);
    key[kl] = '\0';
    set(b, key, "%s", eq + 1);
}

static bool keyed(const rankenv_in *in)
{
    return in->job_key && in->job_key[0];
}

/* With authentication: the attempt's key (its rendezvous, its srun calls)
 * and ternd's public key. Without (a ternd with no keys): TERN_INSECURE=1,
 * the CLI's consent to plain text, so that srun, scontrol and tern-rsh in
 * the job reach that ternd (an inherited one is dropped with keys, so that
 * no submitter turns the job's own srun to plain text). */
static void keys_env(envb *b, const rankenv_in *in)
{
    if (keyed(in))
        set(b, "TERN_JOB_KEY", "%s", in->job_key);
    else
        set(b, "TERN_INSECURE", "1");
    if (in->server_key && in->server_key[0])
        set(b, "TERN_SERVER_KEY", "%s", in->server_key);
}

/* An array task's ids: SLURM sets them for every array task, --slurm-env
 * or not; scripts written for sbatch --array read them to pick their share. */
static void array_env(envb *b, const Tern__JobSpec *sp)
{
    if (!sp->array_job_id)
        return;
    set(b, "TERN_ARRAY_JOB_ID", "%llu", (unsigned long long)sp->array_job_id);
    set(b, "TERN_ARRAY_TASK_ID", "%u", sp->array_task_id);
    set(b, "SLURM_ARRAY_JOB_ID", "%llu", (unsigned long long)sp->array_job_id);
    set(b, "SLURM_ARRAY_TASK_ID", "%u", sp->array_task_id);
    set(b, "SLURM_ARRAY_TASK_COUNT", "%u", sp->array_task_count);
    set(b, "SLURM_ARRAY_TASK_MIN", "%u", sp->array_task_min);
    set(b, "SLURM_ARRAY_TASK_MAX", "%u", sp->array_task_max);
}

/* What sbatch gives a batch script (it runs once, as task 0 of the first
 * node): the job's shape and nodes, and tern's srun and scontrol first on
 * PATH, talking to TERN_SCHEDULER. */
static void batch_env(envb *b, const rankenv_in *in)
{
    const Tern__JobSpec *sp = in->spec;
    uint32_t tpn = sp->tasks_per_node, world = sp->nodes * tpn;
    const char *name = sp->name && sp->name[0] ? sp->name : sp->argv[0];
    /* mpirun must not take itself for a SLURM job: it would launch its
     * daemons with srun instead of tern-rsh. */
    if (jobspec_mpi(sp))
        goto tern;
    set(b, "SLURM_JOB_ID", "%llu", (unsigned long long)in->job_id);
    set(b, "SLURM_JOBID", "%llu", (unsigned long long)in->job_id);
    set(b, "SLURM_JOB_NAME", "%s", name);
    set(b, "SLURM_JOB_NUM_NODES", "%u", in->nnodes);
    set(b, "SLURM_NNODES", "%u", in->nnodes);
    set(b, "SLURM_JOB_NODELIST", "%s", in->nodelist);
    set(b, "SLURM_NODELIST", "%s", in->nodelist);
    set(b, "SLURM_NTASKS", "%u", world);
    set(b, "SLURM_NPROCS", "%u", world);
    set(b, "SLURM_NTASKS_PER_NODE", "%u", tpn);
    set(b, "SLURM_TASKS_PER_NODE", "%u(x%u)", tpn, in->nnodes);
    set(b, "SLURM_CPUS_PER_TASK", "%u", sp->cpus_per_task);
    set(b, "SLURM_JOB_CPUS_PER_NODE", "%u(x%u)", tpn * sp->cpus_per_task, in->nnodes);
    set(b, "SLURM_GPUS_ON_NODE", "%u", sp->gpus_per_node);
    set(b, "SLURM_SUBMIT_DIR", "%s", sp->cwd);
    set(b, "SLURM_NODEID", "0");
    set(b, "SLURM_PROCID", "0");
    set(b, "SLURM_LOCALID", "0");
    set(b, "SLURMD_NODENAME", "%s", in->node_name);
    set(b, "SLURM_RESTART_COUNT", "%u", in->attempt);
    set(b, "SLURM_CLUSTER_NAME", "tern");
    if (sp->partition && sp->partition[0])
        set(b, "SLURM_JOB_PARTITION", "%s", sp->partition);
tern:
    set(b, "TERN_JOB_ID", "%llu", (unsigned long long)in->job_id);
    set(b, "TERN_JOB_NAME", "%s", name);
    set(b, "TERN_ATTEMPT", "%u", in->attempt);
    set(b, "TERN_NNODES", "%u", in->nnodes);
    set(b, "TERN_NODELIST", "%s", in->nodelist);
    set(b, "TERN_NODE_NAME", "%s", in->node_name);
    set(b, "TERN_CHECKPOINT_DIR", "%s", in->checkpoint_dir);
    set(b, "TERN_PREEMPT_SIGNAL", "%s",
        signal_name(sp->preempt_signal ? sp->preempt_signal : SIGUSR1));
    set(b, "MASTER_ADDR", "%s", in->master_addr);
    set(b, "MASTER_PORT", "%u", in->master_port);
    if (in->worker_id)
        set(b, "TERN_WORKER_ID", "%s", in->worker_id);
    if (in->scheduler && in->scheduler[0])
        set(b, "TERN_SCHEDULER", "%s", in->scheduler);
    keys_env(b, in);
    if (jobspec_mpi(sp)) {
        /* mpirun, started by a worker that may run as root: Open MPI asks
         * to be told that this is meant. */
        set(b, "OMPI_ALLOW_RUN_AS_ROOT", "1");
        set(b, "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    }
    if (in->job_dir && in->job_dir[0])
        set(b, "TERN_JOB_DIR", "%s", in->job_dir);
    if (in->slurm_shims && in->slurm_shims[0]) {
        const char *path = rankenv_get(b->v, "PATH");
        set(b, "PATH", "%s:%s", in->slurm_shims, path ? path : "/usr/local/bin:/usr/bin:/bin");
    }
    array_env(b, sp);
}

char **rankenv_build(const rankenv_in *in)
{
    const Tern__JobSpec *sp = in->spec;
    envb b = { 0 };
    if (!(b.index = strmap_new())) {
        errno = ENOMEM;
        return NULL;
    }
    /* SLURM_* of a submitting shell inside a SLURM allocation describe that
     * allocation, not this job: only --slurm-env (and, for an array task,
     * its SLURM_ARRAY_*) gives ranks SLURM_*. */
    for (size_t i = 0; i < sp->n_env; i++)
        if (strncmp(sp->env[i], "SLURM_", 6) != 0 && strncmp(sp->env[i], "SLURMD_", 7) != 0 &&
            !(keyed(in) && strncmp(sp->env[i], "TERN_INSECURE=", 14) == 0))
            inherit(&b, sp->env[i]);
    /* The worker's hints are defaults: a job that names its interfaces knows
     * better than the node. */
    for (char *const *h = in->hints; h && *h; h++) {
        char key[256];
        size_t kl = key_len(*h);
        if (kl == 0 || kl >= sizeof key || !(*h)[kl])
            continue;
        memcpy(key, *h, kl);
        key[kl] = '\0';
        if (!strmap_get(b.index, key))
            set(&b, key, "%s", *h + kl + 1);
    }
    /* The user the rank runs as, whoever submitted (an admin may). HOME
     * stays as submitted: ranks do not depend on the user having one. */
    if (in->user) {
        set(&b, "USER", "%s", in->user);
        set(&b, "LOGNAME", "%s", in->user);
    }

    uint32_t tpn = sp->tasks_per_node, world = sp->nodes * tpn;
    if (jobspec_one_process(sp) && !in->step) {
        batch_env(&b, in);
        goto done;
    }
    /* An Open MPI daemon (tern-rsh's step): the ranks it forks must not
     * take its RANK, WORLD_SIZE or SLURM_* for theirs. */
    bool daemon = in->step && jobspec_mpi(sp);
    if (daemon)
        goto tern;
    if (in->step) {
        set(&b, "SLURM_STEP_ID", "%u", in->step - 1);
        set(&b, "SLURM_STEPID", "%u", in->step - 1);
        set(&b, "SLURM_STEP_NUM_TASKS", "%u", world);
        set(&b, "SLURM_STEP_NUM_NODES", "%u", in->nnodes);
        set(&b, "SLURM_STEP_NODELIST", "%s", in->nodelist);
        set(&b, "SLURM_STEP_TASKS_PER_NODE", "%u(x%u)", tpn, in->nnodes);
        if (in->scheduler && in->scheduler[0])
            set(&b, "TERN_SCHEDULER", "%s", in->scheduler);
    }
    /* torchrun */
    set(&b, "RANK", "%u", in->rank);
    set(&b, "WORLD_SIZE", "%u", world);
    set(&b, "LOCAL_RANK", "%u", in->local_rank);
    set(&b, "LOCAL_WORLD_SIZE", "%u", tpn);
    set(&b, "GROUP_RANK", "%u", in->node_rank);
    set(&b, "GROUP_WORLD_SIZE", "%u", in->nnodes);
    set(&b, "ROLE_RANK", "%u", in->rank);
    set(&b, "ROLE_WORLD_SIZE", "%u", world);
    set(&b, "ROLE_NAME", "default");
    set(&b, "MASTER_ADDR", "%s", in->master_addr);
    set(&b, "MASTER_PORT", "%u", in->master_port);
    set(&b, "TORCHELASTIC_RESTART_COUNT", "%u", in->attempt);
    set(&b, "TORCHELASTIC_MAX_RESTARTS", "%u", sp->max_restarts);
    set(&b, "TORCHELASTIC_RUN_ID", "tern-%llu", (unsigned long long)in->job_id);
    if (!rankenv_get(b.v, "OMP_NUM_THREADS"))
        set(&b, "OMP_NUM_THREADS", "%u", sp->cpus_per_task);
tern:
    /* tern */
    set(&b, "TERN_JOB_ID", "%llu", (unsigned long long)in->job_id);
    set(&b, "TERN_JOB_NAME", "%s", sp->name && sp->name[0] ? sp->name : sp->argv[0]);
    set(&b, "TERN_ATTEMPT", "%u", in->attempt);
    set(&b, "TERN_NODE_RANK", "%u", in->node_rank);
    set(&b, "TERN_NNODES", "%u", in->nnodes);
    set(&b, "TERN_NODE_NAME", "%s", in->node_name);
    set(&b, "TERN_NODELIST", "%s", in->nodelist);
    set(&b, "TERN_CHECKPOINT_DIR", "%s", in->checkpoint_dir);
    set(&b, "TERN_PREEMPT_SIGNAL", "%s",
        signal_name(sp->preempt_signal ? sp->preempt_signal : SIGUSR1));
    set(&b, "TERN_CPUS", "%s", in->cpus);
    set(&b, "CUDA_VISIBLE_DEVICES", "%s", in->gpus);
    if (in->worker_id)
        set(&b, "TERN_WORKER_ID", "%s", in->worker_id);
    if (in->progress)
        set(&b, "TERN_PROGRESS_FILE", "%s", in->progress);
    keys_env(&b, in);
    array_env(&b, sp);
    if (sp->slurm_env && !daemon) {
        set(&b, "SLURM_JOB_ID", "%llu", (unsigned long long)in->job_id);
        set(&b, "SLURM_JOBID", "%llu", (unsigned long long)in->job_id);
        set(&b, "SLURM_JOB_NAME", "%s", sp->name && sp->name[0] ? sp->name : sp->argv[0]);
        set(&b, "SLURM_PROCID", "%u", in->rank);
        set(&b, "SLURM_NTASKS", "%u", world);
        set(&b, "SLURM_NPROCS", "%u", world);
        set(&b, "SLURM_LOCALID", "%u", in->local_rank);
        set(&b, "SLURM_NODEID", "%u", in->node_rank);
        set(&b, "SLURM_NNODES", "%u", in->nnodes);
        set(&b, "SLURM_JOB_NUM_NODES", "%u", in->nnodes);
        set(&b, "SLURM_NTASKS_PER_NODE", "%u", tpn);
        set(&b, "SLURM_CPUS_PER_TASK", "%u", sp->cpus_per_task);
        set(&b, "SLURM_RESTART_COUNT", "%u", in->attempt);
        set(&b, "SLURM_JOB_NODELIST", "%s", in->nodelist);
        set(&b, "SLURM_NODELIST", "%s", in->nodelist);
        set(&b, "SLURMD_NODENAME", "%s", in->node_name);
        if (!in->step)
            set(&b, "SLURM_STEP_ID", "0");
        set(&b, "SLURM_GPUS_ON_NODE", "%u", sp->gpus_per_node);
    }
done:
    strmap_destroy(&b.index);
    if (b.oom || !b.v) {
        rankenv_free(b.v);
        errno = ENOMEM;
        return NULL;
    }
    return b.v;
}

char **rankenv_nic_hints(const char *ifname, const topology *t)
{
    envb b = { 0 };
    int err = ENOMEM;
    if (!(b.index = strmap_new()))
        goto error;
    if (ifname && strcmp(ifname, "auto") != 0) {
        set(&b, "NCCL_SOCKET_IFNAME", "%s", ifname);
        set(&b, "GLOO_SOCKET_IFNAME", "%s", ifname);
    } else if (ifname) {
        char names[4096];
        int n = topo_nic_list(t, TOPO_NIC_NETWORK, names, sizeof names);
        if (n > 0) {
            set(&b, "NCCL_SOCKET_IFNAME", "%s", names);
            set(&b, "GLOO_SOCKET_IFNAME", "%s", names);
        }
        int m = topo_nic_list(t, TOPO_NIC_OPENFABRICS, names, sizeof names);
        if (m > 0)
            set(&b, "NCCL_IB_HCA", "%s", names);
        if (n < 0 || m < 0) {
            err = ENAMETOOLONG;
            goto error;
        }
    }
    if (b.oom || (!b.v && !(b.v = calloc(1, sizeof *b.v))))
        goto error;
    strmap_destroy(&b.index);
    return b.v;
error:
    strmap_destroy(&b.index);
    rankenv_free(b.v);
    errno = err;
    return NULL;
}

void rankenv_free(char **env)
{
    if (!env)
        return;
    for (char **p = env; *p; p++)
        free(*p);
    free(env);
}

const char *rankenv_get(char *const *env, const char *key)
{
    size_t kl = strlen(key);
    for (char *const *p = env; p && *p; p++)
        if (key_len(*p) == kl && strncmp(*p, key, kl) == 0 && (*p)[kl] == '=')
            return *p + kl + 1;
    return NULL;
}
