/* libtern checkpoints: the checkpointer (struct tern_ckpt) and what every
 * part of checkpoint/ shares. The protocol is described in
 * include/tern/tern.h; each part has its own header: manifest.h (the
 * MANIFEST text), shard_io.h (a shard on disk), layout.h (names in the
 * directory, retention), owner.h (the attempt that owns the directory),
 * commit.h (rank 0's commit), save.h (the collective save); load.c (the
 * collective load) and ckpt.c (open, close, errors, fault injection)
 * implement tern.h's calls. */
#ifndef TERN_CKPT_H
#define TERN_CKPT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "tern/tern.h"

/* One line of why, as it travels between ranks. */
#define CKPT_WHY 240
/* Room per rank for what a save or load gathers from every rank; held
 * from open on, so that no rank can fail to take part in a collective
 * for want of memory. */
#define CKPT_REC 512
/* The modes of what a checkpoint directory holds, which the process's
 * umask (the submitting shell's, under tern) restricts further: the job's
 * user and group read a job's checkpoints, no one else. The lock is the
 * user's alone: anyone who can open it can flock it and stall every save. */
#define CKPT_DIR_MODE 0750
#define CKPT_FILE_MODE 0640
#define CKPT_LOCK_MODE 0600

struct tern_ckpt {
    tern_comm *comm;               /* its own, CPU backend */
    int rank, size;
    char dir[PATH_MAX - 256];
    int keep;
    uint64_t job;                  /* TERN_JOB_ID, TERN_ATTEMPT: fence commits */
    uint32_t attempt;
    char err[512];
    char *skipped;                 /* the last load's skipped steps */
    void *gathered;                /* size x CKPT_REC bytes */

    /* The background save: one in flight. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool thread_started, stop;
    bool queued;                   /* a save waits for the thread */
    bool in_flight;                /* queued or being written */
    bool result_pending;           /* its result not yet returned to anyone */
    int result;
    char result_why[512];
    char *staging;                 /* CKPT_ALIGN-aligned, whole blocks */
    size_t staging_cap, staging_len;
    int64_t staging_step;
};

/* ---- ckpt.c ---- */
/* Records the error (one line, in ck->err, which tern_ckpt_error returns)
 * and returns 'code'. */
int ckpt_fail(tern_ckpt *ck, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* snprintf for paths under the checkpoint directory, whose name is short
 * enough (sizeof dir) that they always fit in PATH_MAX. */
void ckpt_path(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Kills this process with SIGKILL when TERN_CKPT_FAULT is kill:PHASE
 * (the tests' crash points); else returns. */
void ckpt_fault(const char *phase);

#endif
