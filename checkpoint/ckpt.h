/* libtern checkpoints: what their parts share. The protocol is described
 * in include/tern/tern.h; this is how the pieces divide it:
 *   manifest.c  the MANIFEST text
 *   shard_io.c  writing (O_DIRECT, pipelined, hashed) and verifying a shard
 *   layout.c    names in the directory, listing steps, retention
 *   commit.c    rank 0's commit: manifest, rename, LATEST
 *   save.c      the collective save, sync and in the background
 *   load.c      the collective load
 *   ckpt.c      open, close, errors, fault injection */
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
/* O_DIRECT wants buffers, offsets and lengths in whole blocks. */
#define CKPT_ALIGN 4096
/* The modes of what a checkpoint directory holds, which the process's
 * umask (the submitting shell's, under tern) restricts further: the job's
 * user and group read a job's checkpoints, no one else. The lock is the
 * user's alone: anyone who can open it can flock it and stall every save. */
#define CKPT_DIR_MODE 0750
#define CKPT_FILE_MODE 0640
#define CKPT_LOCK_MODE 0600

/* ---- manifest.c ---- */
typedef struct ckpt_shard_info {
    uint64_t size, hash;
} ckpt_shard_info;

typedef struct ckpt_manifest {
    int64_t step;
    uint64_t job;
    uint32_t attempt;
    int world;
    ckpt_shard_info *shards;       /* 'world' entries */
} ckpt_manifest;

/* The manifest's text (malloc'd, the caller frees) and its length; NULL
 * when out of memory. */
char *ckpt_manifest_format(const ckpt_manifest *m, size_t *len);
/* Parses a manifest; m->shards is malloc'd (ckpt_manifest_free). Returns
 * 0, or -1 with the reason in 'why'. */
int ckpt_manifest_parse(const char *text, size_t len, ckpt_manifest *m, char *why, size_t whylen);
void ckpt_manifest_free(ckpt_manifest *m);
/* Reads and parses DIR/step-N/MANIFEST: 0; -1 when it is missing or
 * damaged; -2 when reading it failed otherwise. The reason in 'why'. */
int ckpt_manifest_load(const char *stepdir, ckpt_manifest *m, char *why, size_t whylen);

/* ---- shard_io.c ---- */
/* XXH3-64 of a buffer. */
uint64_t ckpt_hash(const void *data, size_t len);
/* Writes 'len' bytes to a new file 'path', fsyncs it, and returns their
 * hash. 'padded' says data is CKPT_ALIGN-aligned with room up to the next
 * whole block (written without a copy). Returns 0, or -1 with the reason
 * ("shard-1-of-2: write at 4194304: No space left on device"). */
int ckpt_shard_write(const char *path, const void *data, size_t len, bool padded,
                     uint64_t *hash, char *why, size_t whylen);
/* Reads file 'path' into dst, checking that it holds exactly 'size' bytes
 * whose hash is 'hash'. Returns 0; -1 when the shard is damaged (missing,
 * another size, another hash); -2 when reading failed otherwise (EIO,
 * out of memory), which says nothing about the shard. */
int ckpt_shard_read(const char *path, uint64_t size, uint64_t hash, void *dst, char *why,
                    size_t whylen);

/* ---- layout.c ---- */
/* "step-N" (committed), "step-N.tmp" (being written), "step-N.old" (being
 * replaced): the step and which of them; -1 for any other name. */
enum { CKPT_COMMITTED, CKPT_TMP, CKPT_OLD };
int ckpt_name_step(const char *name, int64_t *step, int *kind);
/* The committed steps in 'dir', newest first (malloc'd). -1 with errno. */
int ckpt_list_steps(const char *dir, int64_t **steps, size_t *n);
/* After step 'just' was committed: removes committed steps older than it
 * beyond the newest keep-1. (Leftover .tmp and .old directories are
 * cleared when a run opens the directory: while one runs, another
 * attempt's save may be in flight.) Returns the number of entries it could
 * not remove (each reported on stderr). */
int ckpt_retain(const char *dir, int64_t just, int keep);

/* ---- the checkpointer ---- */
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

/* ckpt.c: records the error (one line) and returns 'code'. */
int ckpt_fail(tern_ckpt *ck, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* snprintf for paths under the checkpoint directory, whose name is short
 * enough (sizeof dir) that they always fit in PATH_MAX. */
void ckpt_path(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Kills this process with SIGKILL when TERN_CKPT_FAULT is kill:PHASE. */
void ckpt_fault(const char *phase);

/* owner.c: the attempt that owns the directory (see there). claim: rank 0
 * at open; check: under the lock; lock sets *fd for unlock (-1 where the
 * file system has no locks). All return 0 or a TERN_E* code. */
int ckpt_owner_claim(const tern_ckpt *ck, char *why, size_t whylen);
int ckpt_owner_check(const tern_ckpt *ck, char *why, size_t whylen);
int ckpt_owner_lock(const tern_ckpt *ck, int *fd, char *why, size_t whylen);
void ckpt_owner_unlock(int fd);

/* commit.c: rank 0, once every shard of 'step' is durable in its .tmp
 * directory. Returns 0, or a TERN_E* code with the reason in 'why'. */
int ckpt_commit(tern_ckpt *ck, int64_t step, const ckpt_shard_info *shards, char *why,
                size_t whylen);

/* save.c: the collective save of 'len' bytes as 'step', on whichever
 * thread calls it. A rank that already failed ('failed' a TERN_E* code,
 * 'failwhy' the reason) writes nothing but still takes part, so that every
 * rank fails the step together. Returns 0 or a TERN_E* code, the same on
 * every rank, with the reason in 'why'. */
int ckpt_save_now(tern_ckpt *ck, int64_t step, const void *data, size_t len, bool padded,
                  int failed, const char *failwhy, char *why, size_t whylen);
/* Stops the background thread (after its save). */
void ckpt_async_stop(tern_ckpt *ck);

#endif
