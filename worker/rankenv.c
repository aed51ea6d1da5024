#include "worker/rankenv.h"

#include "common/parse.h"
#include "common/strmap.h"

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
    if (b->n + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 128;
        char **nv = realloc(b->v, cap * sizeof *nv);
        if (!nv) {
            free(kv);
            b->oom = true;
            return;
        }
        b->v = nv;
        b->cap = cap;
    }
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
        if (strncmp(sp->env[i], "SLURM_", 6) != 0 && strncmp(sp->env[i], "SLURMD_", 7) != 0)
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

    uint32_t tpn = sp->tasks_per_node, world = sp->nodes * tpn;
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
    if (sp->array_job_id) {
        set(&b, "TERN_ARRAY_JOB_ID", "%llu", (unsigned long long)sp->array_job_id);
        set(&b, "TERN_ARRAY_TASK_ID", "%u", sp->array_task_id);
        /* SLURM sets these for every array task, --slurm-env or not: scripts
         * written for sbatch --array read them to pick their share. */
        set(&b, "SLURM_ARRAY_JOB_ID", "%llu", (unsigned long long)sp->array_job_id);
        set(&b, "SLURM_ARRAY_TASK_ID", "%u", sp->array_task_id);
        set(&b, "SLURM_ARRAY_TASK_COUNT", "%u", sp->array_task_count);
        set(&b, "SLURM_ARRAY_TASK_MIN", "%u", sp->array_task_min);
        set(&b, "SLURM_ARRAY_TASK_MAX", "%u", sp->array_task_max);
    }
    if (sp->slurm_env) {
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
        set(&b, "SLURM_STEP_ID", "0");
        set(&b, "SLURM_GPUS_ON_NODE", "%u", sp->gpus_per_node);
    }
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
