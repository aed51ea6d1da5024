/* libtern: collectives for programs launched by tern.
 *
 * A communicator comes from the rank environment alone (RANK, WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT, as tern and torchrun set them). Rank 0 serves a
 * small key-value store on MASTER_ADDR:MASTER_PORT through which the ranks
 * find each other; every wait has a timeout and names the ranks it waited
 * for.
 *
 * Backends: the CPU backend (a pipelined ring over shared memory between
 * ranks of one node and TCP between nodes, and an all-gather-then-reduce
 * algorithm for small messages); NCCL for device buffers or TERN_COLL=nccl,
 * from the plugin libtern-nccl.so; MPI when the program was started by
 * Open MPI's mpirun, from libtern-mpi.so.
 *
 * Reproducibility (CPU backend): the result depends only on the world size
 * and the element count. The elements are cut into WORLD_SIZE chunks,
 * chunk c = [c*count/n, (c+1)*count/n); every element of chunk c is reduced
 * starting with rank c's value and then ranks c+1, c+2, ... modulo n, in
 * float32 for the half types and in the type itself otherwise; AVG divides
 * the sum by n at the end. Which ranks share a node, which transport
 * carries the data, and timing change nothing.
 *
 * Failure: a peer that dies turns every survivor's call into an error
 * within TERN_COLL_DEAD_TIMEOUT seconds (default 5); after an error the
 * communicator is broken and every later call fails at once. A call that
 * makes no progress for TERN_COLL_TIMEOUT seconds (default 1800) fails too.
 *
 * All functions return 0, or a negative TERN_E* code; tern_comm_error()
 * says what happened in one line. */
#ifndef TERN_TERN_H
#define TERN_TERN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What libtern exports: this API alone (it is built with
 * -fvisibility=hidden), so its internals never clash with a program's
 * own names. */
#define TERN_API __attribute__((visibility("default")))

typedef struct tern_comm tern_comm;

typedef enum tern_dtype {
    TERN_F32 = 0,
    TERN_F64 = 1,
    TERN_F16 = 2,   /* IEEE binary16 */
    TERN_BF16 = 3,  /* bfloat16 */
    TERN_DTYPE_COUNT
} tern_dtype;

typedef enum tern_op {
    TERN_SUM = 0,
    TERN_AVG = 1,
    TERN_MIN = 2,
    TERN_MAX = 3,
    TERN_OP_COUNT
} tern_op;

enum {
    TERN_OK = 0,
    TERN_EINVAL = -1,      /* bad argument */
    TERN_ENV = -2,         /* the rank environment is missing or malformed */
    TERN_ETIMEDOUT = -3,   /* a rank never arrived, or a call made no progress */
    TERN_EPEER = -4,       /* a peer died or its connection broke */
    TERN_EBROKEN = -5,     /* an earlier call failed; the communicator is unusable */
    TERN_ENOMEM = -6,
    TERN_ESYS = -7,        /* a system call failed */
    TERN_EBACKEND = -8,    /* NCCL or MPI said no */
    TERN_EFENCED = -9,     /* a later attempt of this job owns the checkpoints */
};

/* Options for tern_comm_init_opts; zero means "from the environment". */
typedef struct tern_comm_opts {
    int rank, world_size;          /* world_size 0: RANK and WORLD_SIZE */
    const char *master_addr;       /* NULL: MASTER_ADDR */
    int master_port;               /* 0: MASTER_PORT */
    double init_timeout_s;         /* 0: TERN_INIT_TIMEOUT or 60 */
    const char *transport;         /* NULL: TERN_COLL_TRANSPORT; "auto", "tcp" (no shared memory) */
} tern_comm_opts;

/* Creates a communicator from the rank environment. Collective: every rank
 * calls it. On failure *out is NULL and, when 'errbuf' is given, it holds
 * the reason, e.g. "rendezvous at 10.0.0.1:29500: ranks 3, 5 never arrived
 * within 60 s". */
TERN_API int tern_comm_init(tern_comm **out, char *errbuf, size_t errlen);
TERN_API int tern_comm_init_opts(tern_comm **out, const tern_comm_opts *opts, char *errbuf,
                                 size_t errlen);

/* Frees the communicator; accepts NULL. Not collective. */
TERN_API void tern_comm_destroy(tern_comm **comm);

TERN_API int tern_comm_rank(const tern_comm *comm);
TERN_API int tern_comm_size(const tern_comm *comm);
/* "cpu", "nccl" or "mpi". */
TERN_API const char *tern_comm_backend(const tern_comm *comm);
/* The last error, one line ("" when none). Valid until the next call. */
TERN_API const char *tern_comm_error(const tern_comm *comm);

/* recv = op over all ranks of send, 'count' elements; send == recv is
 * allowed (in place). */
TERN_API int tern_allreduce(tern_comm *comm, const void *send, void *recv, size_t count,
                            tern_dtype dtype, tern_op op);
/* Rank 'root's buf to every rank. */
TERN_API int tern_broadcast(tern_comm *comm, void *buf, size_t count, tern_dtype dtype, int root);
/* recv (count x world size elements) = every rank's send, in rank order. */
TERN_API int tern_allgather(tern_comm *comm, const void *send, void *recv, size_t count,
                            tern_dtype dtype);
TERN_API int tern_barrier(tern_comm *comm);

/* Bytes per element of 'dtype' (0 for an unknown one). */
TERN_API size_t tern_dtype_size(tern_dtype dtype);

/* ---- Checkpoints ----
 *
 * TERN_CHECKPOINT_DIR/step-<N>/shard-<rank>-of-<world> plus a MANIFEST
 * (step, job, attempt, world size, and every shard's size and XXH3-64
 * checksum). A save is collective: every rank writes and fsyncs its shard
 * into step-<N>.tmp/; once all have, rank 0 writes the manifest, fsyncs it,
 * renames the directory to step-<N>/, fsyncs the parent and then replaces
 * LATEST (one line, "step-<N>") by rename. A crash at any point leaves the
 * previous complete step or the new one, never a mixture. Retention keeps
 * the newest 'keep' complete steps; it never removes the step just written.
 *
 * Load is collective too: it takes the newest complete step whose manifest
 * and checksums verify, and rank 0 says on stderr which newer steps it
 * skipped and why ("step 50 skipped: shard-1-of-2: checksum mismatch").
 *
 * The checkpointer forms its own communicator (CPU backend, on the host
 * of rank 0), so that a save finishing in the background never shares one
 * with the training loop's collectives.
 *
 * Tests may set TERN_CKPT_FAULT=kill:PHASE (shard, manifest, rename,
 * latest) to have the process killed with SIGKILL at that point of a save:
 * halfway through its shard, or, on rank 0, before the manifest, before
 * the directory's rename, before LATEST. */
typedef struct tern_ckpt tern_ckpt;

typedef struct tern_ckpt_opts {
    const char *dir;               /* NULL: TERN_CHECKPOINT_DIR */
    int keep;                      /* complete steps kept; 0: TERN_CKPT_KEEP or 2 */
} tern_ckpt_opts;

/* Opens the checkpoint directory (creating it) for the ranks of 'comm'.
 * Collective. On failure *out is NULL and errbuf holds the reason. */
TERN_API int tern_ckpt_open(tern_ckpt **out, tern_comm *comm, const tern_ckpt_opts *opts,
                            char *errbuf, size_t errlen);
/* Waits for a save in flight and frees; accepts NULL. Returns that save's
 * result. Collective when a save is in flight. */
TERN_API int tern_ckpt_close(tern_ckpt **ck);

/* Saves this rank's shard ('len' bytes, any size, may differ between
 * ranks) as step 'step' (>= 0), and returns once the step is committed or
 * failed, the same result on every rank. A background save in flight is
 * waited for; if it failed, this save's result supersedes it. Collective. */
TERN_API int tern_ckpt_save(tern_ckpt *ck, int64_t step, const void *data, size_t len);
/* Copies the shard into a host staging buffer and returns; a background
 * thread writes and commits it. One save is in flight at a time: this
 * first waits for the previous one, and when that failed returns its error
 * without starting another. Collective. */
TERN_API int tern_ckpt_save_async(tern_ckpt *ck, int64_t step, const void *data, size_t len);
/* Waits for the save in flight, if any, and returns its result. */
TERN_API int tern_ckpt_wait(tern_ckpt *ck);

/* Loads this rank's shard of the newest complete step whose checksums
 * verify: *data (malloc'd, the caller frees) and *len. When there is none,
 * *step is -1 and *data NULL. A step saved by another number of ranks is
 * an error here; see tern_ckpt_load_all. Collective. */
TERN_API int tern_ckpt_load(tern_ckpt *ck, int64_t *step, void **data, size_t *len);
/* The same, but every shard of the step in rank order, concatenated (for
 * state that every rank holds whole and saved a slice of); any world size. */
TERN_API int tern_ckpt_load_all(tern_ckpt *ck, int64_t *step, void **data, size_t *len);

/* The last error, one line ("" when none). */
TERN_API const char *tern_ckpt_error(const tern_ckpt *ck);
/* What the last load skipped, one line per step ("" when nothing). Rank
 * 0 has every line; the others only those a verification on them found. */
TERN_API const char *tern_ckpt_skipped(const tern_ckpt *ck);

/* ---- Preemption ----
 *
 * Before a preemption or a time limit tern sends the ranks
 * TERN_PREEMPT_SIGNAL (default SIGUSR1); a program should then save one
 * consistent step and exit with TERN_EXIT_REQUEUE, which tern counts as
 * preempted, not failed, and requeues. The ranks must agree on the step:
 * the signal reaches them at different moments. Let the flag travel with
 * the step's all-reduce (one more element, nonzero on any rank that was
 * told) or call tern_preempt_agree once per step. */
#define TERN_EXIT_REQUEUE 75

/* Installs handlers for TERN_PREEMPT_SIGNAL (or SIGUSR1) and SIGTERM that
 * set the flag. Call it early: until it runs, those signals kill. Returns
 * 0; TERN_EINVAL when TERN_PREEMPT_SIGNAL names no signal; TERN_ESYS when
 * it names one that cannot be caught (SIGKILL, SIGSTOP). */
TERN_API int tern_preempt_watch(void);
/* Nonzero once this process got one of those signals (installs the
 * handlers on first use). */
TERN_API int tern_preempt_requested(void);
/* Collective: nonzero on every rank when any rank was told; < 0 on error. */
TERN_API int tern_preempt_agree(tern_comm *comm);

/* Tells tern the step the job has reached ('tern top' shows it): cheap
 * enough to call every step (it writes at most five times a second), a
 * no-op outside tern. Returns 0, or -1 when the file cannot be written. */
TERN_API int tern_report_step(int64_t step);

#ifdef __cplusplus
}
#endif

#endif
