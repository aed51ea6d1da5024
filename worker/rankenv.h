/* The rank environment: what every rank of a job sees (DESIGN.md).
 * torchrun's variables so unmodified PyTorch scripts run, tern's own, and
 * with --slurm-env the SLURM_* variables scripts written for srun read. */
#ifndef TERN_RANKENV_H
#define TERN_RANKENV_H

#include <stdint.h>

#include "proto/tern.pb-c.h"

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
} rankenv_in;

/* Returns a NULL-terminated "KEY=VALUE" array: the submitting environment
 * (less its SLURM_* variables) with every variable tern sets replaced. Free with rankenv_free. Returns
 * NULL with errno ENOMEM. */
char **rankenv_build(const rankenv_in *in);
void rankenv_free(char **env);

/* The value of 'key' in 'env', or NULL. */
const char *rankenv_get(char *const *env, const char *key);

#endif
