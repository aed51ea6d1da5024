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

#ifdef __cplusplus
extern "C" {
#endif

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
int tern_comm_init(tern_comm **out, char *errbuf, size_t errlen);
int tern_comm_init_opts(tern_comm **out, const tern_comm_opts *opts, char *errbuf,
                        size_t errlen);

/* Frees the communicator; accepts NULL. Not collective. */
void tern_comm_destroy(tern_comm **comm);

int tern_comm_rank(const tern_comm *comm);
int tern_comm_size(const tern_comm *comm);
/* "cpu", "nccl" or "mpi". */
const char *tern_comm_backend(const tern_comm *comm);
/* The last error, one line ("" when none). Valid until the next call. */
const char *tern_comm_error(const tern_comm *comm);

/* recv = op over all ranks of send, 'count' elements; send == recv is
 * allowed (in place). */
int tern_allreduce(tern_comm *comm, const void *send, void *recv, size_t count,
                   tern_dtype dtype, tern_op op);
/* Rank 'root's buf to every rank. */
int tern_broadcast(tern_comm *comm, void *buf, size_t count, tern_dtype dtype, int root);
/* recv (count x world size elements) = every rank's send, in rank order. */
int tern_allgather(tern_comm *comm, const void *send, void *recv, size_t count,
                   tern_dtype dtype);
int tern_barrier(tern_comm *comm);

/* Bytes per element of 'dtype' (0 for an unknown one). */
size_t tern_dtype_size(tern_dtype dtype);

#ifdef __cplusplus
}
#endif

#endif
