/* libtern's insides: the communicator that tern_comm_init forms (comm.c)
 * and what every part of collectives/ knows of it. The parts have their
 * own headers: plugin.h (the backends in plugins), rendezvous.h (rank 0's
 * key-value store), shmseg.h (the shared-memory segments of one machine),
 * link.h (the ring links), progress.h (moving a ring step), ring.h (the
 * CPU algorithms), reduce.h (the arithmetic).
 *
 * Errors: a function that takes the communicator records its failure with
 * coll_fail (c->err, c->code) and returns the TERN_E* code, or -1 where
 * its prototype says so; the caller then reads c->code. */
#ifndef TERN_COLL_H
#define TERN_COLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tern/tern.h"
/* (The unit tests know the store's calls from here.) */
#include "collectives/rendezvous.h"

#define COLL_MAX_WORLD 65536

typedef struct coll_link coll_link;    /* link.h */
struct coll_plugin;                    /* plugin.h */
struct shmseg_map;                     /* shmseg.c */

/* What a rank published at the rendezvous. */
typedef struct coll_peer {
    char node_key[160];            /* host name + boot id: same value, same machine */
    char tcp_addr[64];             /* its listener, "IP:PORT" */
    pid_t pid;
} coll_peer;

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
    struct shmseg_map *shmsegs;    /* the segments of the ranks of this machine */

    void *plugin_lib;              /* dlopen handle */
    const struct coll_plugin *plugin;
    void *plugin_state;
    bool plugin_only;              /* MPI: every operation through the plugin */
    char plugin_err[512];          /* the plugin's reason for its last failure */

    /* Buffers kept between calls (fresh pages cost more than the copy). */
    void *scratch[2];              /* COLL_WORK: widened half types; COLL_GATHER: small ops */
    size_t scratch_len[2];
};

enum { COLL_WORK = 0, COLL_GATHER = 1 };

/* tern_comm_init_opts; with 'cpu_only' the CPU backend whatever TERN_COLL
 * or mpirun say (the checkpointer's own communicator). Sets *out to a
 * communicator the caller destroys with tern_comm_destroy and returns
 * TERN_OK; or sets *out to NULL and returns a TERN_E* code, the reason in
 * errbuf (which may be NULL). */
int coll_init(tern_comm **out, const tern_comm_opts *o, bool cpu_only, char *errbuf,
              size_t errlen);

/* Records a one-line error in c->err and c->code; returns 'code'. Errors
 * other than TERN_EINVAL break the communicator: the neighbours hear of it
 * at once (abort words, connections reset, the plugin aborted) and every
 * later call returns TERN_EBROKEN. */
int coll_fail(tern_comm *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Scratch buffer 'which' (COLL_WORK or COLL_GATHER), grown to at least
 * 'len' bytes; the communicator owns it, and the next call may move it.
 * NULL when out of memory (nothing recorded). */
void *coll_scratch(tern_comm *c, int which, size_t len);
/* Seconds on the monotonic clock. */
double coll_now(void);

/* The first element of canonical chunk 'c' of 'count' elements among 'n'
 * ranks (chunk c spans [start(c), start(c+1))). */
static inline size_t coll_chunk_start(size_t count, int n, int c)
{
    return (size_t)((unsigned __int128)count * (unsigned)c / (unsigned)n);
}

#endif
