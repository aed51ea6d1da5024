/* Validation of a job specification, shared by the CLI (before sending)
 * and ternd (before trusting what arrived). */
#ifndef TERN_JOBSPEC_H
#define TERN_JOBSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/tern.pb-c.h"

#define JOBSPEC_MAX_NODES 100000u
#define JOBSPEC_MAX_TASKS_PER_NODE 4096u
#define JOBSPEC_MAX_CPUS_PER_TASK 4096u
#define JOBSPEC_MAX_GPUS_PER_NODE 64u
#define JOBSPEC_MAX_ARGS 4096u
#define JOBSPEC_MAX_ENV 16384u
#define JOBSPEC_MAX_STRING 65536u
#define JOBSPEC_MAX_SCRIPT (4u << 20)
#define JOBSPEC_MAX_NAME 256u
#define JOBSPEC_MAX_LABELS 64u
#define JOBSPEC_MAX_TIME_LIMIT (100ull * 365 * 86400)
#define JOBSPEC_MAX_PRIORITY 1000000
#define JOBSPEC_MAX_RANKS 1000000u       /* nodes x tasks per node */
#define JOBSPEC_MAX_RESTARTS 1000u
#define JOBSPEC_MAX_LABEL 512u           /* one KEY=VALUE */
#define JOBSPEC_MAX_PATH 4095u           /* -o, -e, --checkpoint-dir, the working directory */
#define JOBSPEC_MAX_TOKEN 128u
#define JOBSPEC_MAX_SIGNAL 64
/* The whole specification as sent: half a message, so that a launch (the
 * spec and the job's node list) always fits one. */
#define JOBSPEC_MAX_PACKED (4u << 20)

/* JobSpec.umask carries this bit when the client sent its umask (0 is a
 * umask too); without it the worker takes JOBSPEC_UMASK_DEFAULT. */
#define JOBSPEC_UMASK_SENT 0x10000u
#define JOBSPEC_UMASK_DEFAULT 077u

/* Whether "KEY=VALUE" (or "KEY") names a secret the rank environment
 * carries (TERN_JOB_KEY): never sent in a submission nor stored. */
bool jobspec_env_secret(const char *entry);

/* The umask a job's files are made with: the one its client sent, else
 * JOBSPEC_UMASK_DEFAULT. */
unsigned jobspec_umask(const Tern__JobSpec *spec);

/* Checks counts, ranges and string lengths. Returns 0, or -1 with one line
 * in 'err' naming the field, e.g. "-N 0: a job needs at least one node". */
int jobspec_validate(const Tern__JobSpec *spec, char *err, size_t errlen);

/* Total ranks: nodes x tasks per node. */
unsigned jobspec_world_size(const Tern__JobSpec *spec);

/* Whether the job starts one process, on its first node, that starts the
 * rest through steps: a batch script (its srun) or --launcher mpi (mpirun,
 * whose daemons start through tern). */
bool jobspec_one_process(const Tern__JobSpec *spec);
/* Whether it is --launcher mpi. */
bool jobspec_mpi(const Tern__JobSpec *spec);

#endif
