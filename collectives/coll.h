/* libtern's insides: the communicator, its links to the ring neighbours,
 * and the interface the backends implement. */
#ifndef TERN_COLL_H
#define TERN_COLL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tern/tern.h"

#define COLL_MAX_WORLD 65536

typedef struct coll_link coll_link;

/* What a rank published at the rendezvous. */
typedef struct coll_peer {
    char node_key[160];            /* host name + boot id: same value, same machine */
    char tcp_addr[64];             /* its listener, "IP:PORT" */
    pid_t pid;
} coll_peer;

/* Backends other than the CPU one live in plugins (libtern-nccl.so,
 * libtern-mpi.so) loaded with dlopen; this is what they export as
 * 'tern_coll_plugin'. 'alive' lets a plugin that waits on a device ask
 * libtern whether the peers are still there (0), or not (< 0). */
#define COLL_PLUGIN_ABI 1
typedef struct coll_plugin {
    int abi;
    const char *name;
    /* Rank 0 makes the id the others need (NCCL's unique id); may be NULL. */
    int (*make_id)(void *buf, size_t *len, char *err, size_t errlen);
    int (*create)(void **state, int rank, int size, const void *id, size_t idlen,
                  double timeout_s, char *err, size_t errlen);
    /* True when this backend should serve the buffer (a device pointer). */
    int (*owns)(void *state, const void *buf);
    int (*allreduce)(void *state, const void *send, void *recv, size_t count, tern_dtype dt,
                     tern_op op, int (*alive)(void *), void *alive_arg, char *err,
                     size_t errlen);
    int (*broadcast)(void *state, void *buf, size_t count, tern_dtype dt, int root,
                     int (*alive)(void *), void *alive_arg, char *err, size_t errlen);
    int (*allgather)(void *state, const void *send, void *recv, size_t count, tern_dtype dt,
                     int (*alive)(void *), void *alive_arg, char *err, size_t errlen);
    int (*barrier)(void *state, int (*alive)(void *), void *alive_arg, char *err,
                   size_t errlen);
    /* Abandons whatever is in flight (ncclCommAbort). */
    void (*abort)(void *state);
    void (*destroy)(void *state);
    /* For MPI: rank and size as the launcher says (create then ignores its own). */
    int (*world)(int *rank, int *size);
} coll_plugin;

struct tern_comm {
    int rank, size;
    char err[512];
    int code;                      /* of the last failure */
    bool broken;

    coll_peer *peers;              /* size entries */
    uint64_t session;              /* random, from rank 0: names shared segments */
    double dead_timeout_s;         /* a dead peer is an error within this */
    double progress_timeout_s;     /* no progress for this long is an error */
    bool shm_allowed;

    coll_link *next, *prev;        /* ring: to rank+1, from rank-1 */
    struct coll_node *node;        /* shared segment of the ranks of this machine */

    void *plugin_lib;              /* dlopen handle */
    const coll_plugin *plugin;
    void *plugin_state;
    bool plugin_only;              /* MPI: every operation through the plugin */

    /* Buffers kept between calls (fresh pages cost more than the copy). */
    void *scratch[2];              /* COLL_WORK: widened half types; COLL_GATHER: small ops */
    size_t scratch_len[2];
};

enum { COLL_WORK = 0, COLL_GATHER = 1 };

/* ---- comm.c ---- */
/* tern_comm_init_opts; with 'cpu_only' the CPU backend whatever TERN_COLL
 * or mpirun say (the checkpointer's own communicator). */
int coll_init(tern_comm **out, const tern_comm_opts *o, bool cpu_only, char *errbuf,
              size_t errlen);

/* Records a one-line error; 'code' is returned. Errors other than
 * TERN_EINVAL break the communicator. */
int coll_fail(tern_comm *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Grows scratch buffer 'which' to 'len' bytes. Returns it, or NULL (ENOMEM). */
void *coll_scratch(tern_comm *c, int which, size_t len);
double coll_now(void);

/* ---- rendezvous.c: rank 0's key-value store ---- */
typedef struct rdv rdv;
/* Rank 0 starts the store (a thread) on port; every rank connects. 'run'
 * names this run (job and attempt); keys are this run's only.
 * Returns NULL with the reason. */
rdv *rdv_open(int rank, int size, const char *run, const char *addr, int port,
              double timeout_s, char *err, size_t errlen);
int rdv_set(rdv *r, const char *key, const void *val, size_t len, char *err, size_t errlen);
/* Waits for keys prefix0..prefix(n-1); fills vals[i] (malloc'd, caller
 * frees) and lens[i]. On timeout: "ranks 3, 5 never arrived". */
int rdv_gather(rdv *r, const char *prefix, int n, void **vals, size_t *lens, char *err,
               size_t errlen);
/* Says this rank is done with the store and closes; rank 0 waits for every
 * rank's goodbye (or the timeout) before its store stops. */
void rdv_close(rdv **rp);

/* ---- links (link_shm.c, link_tcp.c): one direction of a ring edge ---- */
struct coll_link_ops {
    /* Takes up to len bytes; returns how many (0: no room now), -1 on error. */
    ssize_t (*try_send)(coll_link *l, const void *data, size_t len);
    /* Exposes up to len received bytes, whole multiples of 'align';
     * returns how many (0: none yet), -1 on error. */
    ssize_t (*try_recv)(coll_link *l, const void **data, size_t len, size_t align);
    void (*consumed)(coll_link *l, size_t n);
    /* Both sides call it between operations, so streams restart aligned. */
    void (*align)(coll_link *l);
    int (*fd)(coll_link *l);       /* for poll; -1 for shared memory */
    /* True once the rank at the other end is known to be gone (its process
     * exited, or it closed the connection). */
    bool (*gone)(coll_link *l);
    void (*destroy)(coll_link *l);
};

struct coll_link {
    const struct coll_link_ops *ops;
    int peer;                      /* the rank at the other end */
    bool shm;
};

/* ---- link_tcp.c ---- */
/* A listener for the inbound ring link; writes "IP:PORT" into addr. */
int tcp_listen(const char *route_to, char *addr, size_t len, int *fd);
/* Connects to rank 'to' at addr and accepts from 'from' on listen_fd. */
int tcp_links(tern_comm *c, int listen_fd, coll_link **out, coll_link **in, bool need_out,
              bool need_in);

/* ---- progress.c: moving data through the ring ---- */
/* A stage of a ring algorithm: 'slen' bytes from 'sbuf' to the next rank,
 * 'rlen' bytes from the previous one handed to 'sink' (offset into the
 * stage's stream, data, length; whole elements of 'align' bytes). Stages
 * send and receive in order on each link; a stage with gate k >= 0 sends
 * only bytes that stage k has already received (it forwards them), so the
 * steps of a ring pipeline overlap and the bytes forwarded are still warm
 * in the cache. */
typedef void (*coll_sink)(void *arg, size_t off, const void *data, size_t len);
typedef struct coll_stage {
    const char *sbuf;
    size_t slen, rlen;
    coll_sink sink;
    void *arg;
    int gate;                      /* -1: none */
} coll_stage;
int coll_stages(tern_comm *c, const coll_stage *st, int nst, size_t align);

/* Whether the peers are alive: 0, or < 0 after recording the error. */
int coll_alive(void *comm);

/* ---- ring.c: the CPU algorithms ---- */
int ring_allreduce(tern_comm *c, const void *send, void *recv, size_t count, tern_dtype dt,
                   tern_op op);
int ring_broadcast(tern_comm *c, void *buf, size_t bytes, int root);
int ring_allgather(tern_comm *c, const void *send, void *recv, size_t bytes);
int ring_barrier(tern_comm *c);

/* The canonical chunk c of 'count' elements among n ranks. */
static inline size_t coll_chunk_start(size_t count, int n, int c)
{
    return (size_t)((unsigned __int128)count * (unsigned)c / (unsigned)n);
}

#endif
