/* Inside worker_launch (worker/launch.h): what the ranks of one Launch
 * share, made in worker/launch.c before the first starts, and the start of
 * each rank, worker/launch_rank.c. Not for use outside those files. */
#ifndef TERN_WORKER_LAUNCH_PRIVATE_H
#define TERN_WORKER_LAUNCH_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/fsutil.h"
#include "proto/tern.pb-c.h"
#include "worker/worker.h"

/* What the ranks of one Launch on this node share, made before the first
 * starts. */
typedef struct launch_ctx {
    worker *w;
    const Tern__Launch *l;
    const Tern__JobSpec *spec;
    wattempt *a;
    uint32_t port;                 /* their MASTER_PORT */
    bool unbound;                  /* not bound to processors */
    mode_t umask;                  /* the job's */
    const char *setup_err;         /* why no rank can start; NULL: none */
    char client[600];              /* TERN_SCHEDULER of a batch script and its steps */
    char shims[FS_SUBPATH_LEN];              /* the directory of tern's srun and scontrol */
    char script[FS_SUBPATH_LEN];             /* the job directory's copy of the job script */
    char ckpt[FS_SUBPATH_LEN];               /* the job's checkpoint directory */
    char gpus[512];                /* CUDA_VISIBLE_DEVICES */
    char *nodelist;                /* "n1,n2"; NULL: out of memory */
    char **argv;                   /* the command; its strings are borrowed */
    char *mpi_words;               /* the strings of mpirun's argv */
} launch_ctx;

/* Starts every rank of c->a, or fails each with c->setup_err (or out of
 * memory) when set; a rank that cannot start is recorded as exited with
 * the reason (spawn_failed), for the caller to report. Runs with the
 * user's file identity when the launch took it. */
void launch_start_ranks(launch_ctx *c);

#endif
