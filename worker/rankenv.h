/* The rank environment: what every rank of a job sees (DESIGN.md).
 * torchrun's variables so unmodified PyTorch scripts run, tern's own, with
 * --slurm-env the SLURM_* variables scripts written for srun read, an array
 * task's ids (TERN_ARRAY_* and SLURM_ARRAY_*, always, as SLURM sets them for
 * every array task), and the worker's hints for NCCL and Gloo, which the
 * job's own environment overrides. */
#ifndef TERN_RANKENV_H
#define TERN_RANKENV_H

#include <stdint.h>

#include "proto/tern.pb-c.h"
#include "worker/topology.h"

typedef struct rankenv_in {
    const Tern__JobSpec *spec;     /* its env is the base; its options fill the rest */
    uint64_t job_id;
    uint32_t attempt;
    uint32_t rank, local_rank, node_rank, nnodes;
    const char *master_addr;
    uint32_t master_port;
    const char *gpus;              /* CUDA_VISIBLE_DEVICES: "2,3"; "" for none */
    const char *cpus;              /* TERN_CPUS: "0-3" */
    const char *node_name;
    const char *nodelist;          /* "node1,node2" */
    const char *checkpoint_dir;    /* the job's, resolved */
    const char *worker_id;         /* TERN_WORKER_ID: "NODE@SCHEDULER" of the launching worker */
    char *const *hints;            /* NULL, or NULL-terminated "KEY=VALUE" defaults of the
                                    * worker (rankenv_nic_hints): set unless the job's
                                    * environment has KEY, even empty */
    uint32_t step;                 /* a task of srun step step-1 (spec is the step's); 0: not */
    const char *scheduler;         /* batch script and steps: TERN_SCHEDULER, "" unknown */
    const char *slurm_shims;       /* batch script: tern's srun and scontrol, first on PATH */
    const char *job_dir;           /* batch script: TERN_JOB_DIR, the job's log directory */
    const char *progress;          /* rank 0: TERN_PROGRESS_FILE (tern_report_step); or NULL */
    const char *user;              /* the user the rank runs as, when the worker changes to
                                    * it: USER and LOGNAME; NULL: as submitted */
    const char *job_key;           /* TERN_JOB_KEY: the attempt's CURVE secret; NULL/"": none,
                                    * a ternd without keys: TERN_INSECURE=1 instead */
    const char *server_key;        /* TERN_SERVER_KEY: ternd's public key; NULL/"": none */
} rankenv_in;

/* Returns a NULL-terminated "KEY=VALUE" array: the submitting environment
 * (less its SLURM_* variables) with every variable tern sets replaced, and
 * the hints it does not set. Free with rankenv_free. Returns NULL with
 * errno ENOMEM. */
char **rankenv_build(const rankenv_in *in);
void rankenv_free(char **env);

/* The worker's --nccl-ifname hints for rankenv_in.hints, a NULL-terminated
 * "KEY=VALUE" array (empty when 'ifname' is NULL) the caller frees with
 * rankenv_free. 'ifname' names interfaces: NCCL_SOCKET_IFNAME and
 * GLOO_SOCKET_IFNAME get it as given. "auto" takes them from 't': both get
 * topo_nic_list(TOPO_NIC_NETWORK), unset when that is empty, and
 * NCCL_IB_HCA gets topo_nic_list(TOPO_NIC_OPENFABRICS) when there is an
 * HCA. Returns NULL with errno ENOMEM, or ENAMETOOLONG when the names do
 * not fit in 4 KiB. */
char **rankenv_nic_hints(const char *ifname, const topology *t);

/* The value of 'key' in 'env', or NULL. */
const char *rankenv_get(char *const *env, const char *key);

#endif
