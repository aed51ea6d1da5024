/* The interface of the backends other than the CPU one. They live in
 * plugins (libtern-nccl.so, libtern-mpi.so) that comm.c loads with dlopen;
 * each exports one coll_plugin as 'tern_coll_plugin' and nothing else.
 *
 * Ownership: 'state' is the plugin's, made by create and freed by destroy.
 * Errors: every call that can fail returns 0, or -1 with one line of why
 * in 'err' (errlen bytes, the caller's). 'alive' lets a plugin that waits
 * on a device ask libtern whether the peers are still there: 0, or < 0
 * once one is gone (then libtern has recorded the error itself). */
#ifndef TERN_COLL_PLUGIN_H
#define TERN_COLL_PLUGIN_H

#include <stddef.h>

#include "tern/tern.h"

#define COLL_PLUGIN_ABI 1

typedef struct coll_plugin {
    int abi;                       /* COLL_PLUGIN_ABI */
    const char *name;
    /* Rank 0 makes the id the others need (NCCL's unique id) into buf, of
     * *len bytes at most; sets *len. May be NULL: no id. */
    int (*make_id)(void *buf, size_t *len, char *err, size_t errlen);
    /* Forms the plugin's communicator within timeout_s; sets *state. */
    int (*create)(void **state, int rank, int size, const void *id, size_t idlen,
                  double timeout_s, char *err, size_t errlen);
    /* True when this backend should serve the buffer (a device pointer).
     * May be NULL: the plugin serves every operation (plugin_only). */
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
    /* Abandons whatever is in flight (ncclCommAbort). May be NULL. */
    void (*abort)(void *state);
    /* Frees 'state' (NULL allowed). */
    void (*destroy)(void *state);
    /* For MPI: rank and size as the launcher says (create then ignores its
     * own). 0, or -1 when MPI cannot start. May be NULL. */
    int (*world)(int *rank, int *size);
} coll_plugin;

#endif
